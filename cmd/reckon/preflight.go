package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/reference"
	"github.com/reckonhq/reckon/windows"
)

// loadConfig loads the configuration file at path and checks every file it
// names (checkFiles): what `reckon validate` reports and what `reckon run`
// checks before it touches Kafka. Any problem is a *usageError (exit 2).
func loadConfig(path string) (*config.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &usageError{fmt.Errorf("config: %w", err)}
	}
	cfg, err := config.Parse(path, data)
	if err != nil {
		return nil, &usageError{err}
	}
	if err := checkFiles(path, data, cfg); err != nil {
		return nil, &usageError{err}
	}
	return cfg, nil
}

// checkFiles checks the files a run of cfg reads that the configuration
// package cannot: the models' reference profiles (loaded and matched
// against the configuration by reference.Load, as the processor loads
// them) and the web config file (exporter-toolkit's own validation, as the
// HTTP server runs it). Parsing the configuration checked the Kafka TLS
// and password files. path and data are the configuration file's, for
// positions. Every problem is a *config.Error naming the file, the line
// and the key; they are joined.
func checkFiles(path string, data []byte, cfg *config.Config) error {
	var errs []error
	bad := func(key string, err error) {
		errs = append(errs, &config.Error{File: path, Line: config.Line(data, key), Key: key, Msg: err.Error()})
	}
	layout := windows.LayoutOf(cfg)
	for i := range cfg.Models {
		m := &cfg.Models[i]
		if m.Reference == nil || m.Reference.IsRange() {
			continue
		}
		ref, err := reference.Load(m.Reference.File, m, layout, i)
		if err == nil {
			if err = windows.CheckFile(ref, m, cfg.Windows); err != nil {
				err = fmt.Errorf("reference profile %s: %w", m.Reference.File, err)
			}
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				err = fmt.Errorf("%w (`reckon reference --model %s` builds it)", err, m.Name)
			}
			bad(fmt.Sprintf("models[%d].reference.file", i), err)
		}
	}
	if cfg.WebConfigFile != "" {
		if err := web.Validate(cfg.WebConfigFile); err != nil {
			bad("web_config_file", fmt.Errorf("%s: %w", cfg.WebConfigFile, err))
		}
	}
	return errors.Join(errs...)
}
