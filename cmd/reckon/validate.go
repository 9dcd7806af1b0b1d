package main

import (
	"flag"
	"fmt"
	"io"
)

func cmdValidate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "reckon.yaml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	features := 0
	for _, m := range cfg.Models {
		features += len(m.Features)
	}
	fmt.Fprintf(stdout, "%s: ok (%d models, %d features, windows %v)\n", *cfgPath, len(cfg.Models), features, cfg.Windows)
	return nil
}
