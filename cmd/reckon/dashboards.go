package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/dashboards"
)

// cmdDashboards writes the Grafana dashboards for the configured models:
// `reckon dashboards --config reckon.yaml [--out DIR] [--only FILE]`.
func cmdDashboards(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dashboards", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "reckon.yaml", "configuration file")
	out := fs.String("out", "", "directory to write the dashboards into, one JSON file each (default: standard output, one JSON document after the other)")
	only := fs.String("only", "", "write only this dashboard ("+dashboards.OverviewFile+", "+dashboards.DriftFile+", …)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Errorf("dashboards: unexpected arguments %q", fs.Args())}
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return &usageError{err}
	}
	files, err := dashboards.Dashboards(cfg)
	if err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(files))
	if *only != "" {
		if _, ok := files[*only]; !ok {
			return &usageError{fmt.Errorf("dashboards: --only %q: want one of %q", *only, names)}
		}
		names = []string{*only}
	}
	if *out == "" {
		for _, name := range names {
			if _, err := stdout.Write(files[name]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(*out, name), files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}
