package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/consumer"
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

// checkFiles checks every file a run of cfg reads, in the ways the run
// reads them: the models' reference profiles (loaded and matched against
// the configuration by reference.Load, as the processor loads them), the
// web config file (exporter-toolkit's own validation, as the HTTP server
// runs it) and the Kafka TLS files (read and parsed by consumer.ClientOpts,
// as the Kafka client is built). path and data are the configuration
// file's, for positions. Every problem is a *config.Error naming the file,
// the line and the key; they are joined.
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
		if _, err := reference.Load(m.Reference.File, m, layout, i); err != nil {
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
	if t := cfg.Kafka.TLS; t != nil && t.Enabled {
		// ClientOpts reads the files without connecting. It is given one
		// key's files at a time, so that a problem names its key.
		check := func(key string, only config.TLS) {
			k := cfg.Kafka
			only.Enabled = true
			k.TLS, k.SASL = &only, nil
			if _, err := consumer.ClientOpts(&k); err != nil {
				bad(key, err)
			}
		}
		if t.CAFile != "" {
			check("kafka.tls.ca_file", config.TLS{CAFile: t.CAFile})
		}
		if t.CertFile != "" {
			check("kafka.tls.cert_file", config.TLS{CertFile: t.CertFile, KeyFile: t.KeyFile})
		}
	}
	return errors.Join(errs...)
}
