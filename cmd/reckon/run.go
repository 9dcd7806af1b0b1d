package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/consumer"
	"github.com/reckonhq/reckon/exporter"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "reckon.yaml", "configuration file")
	brokers := fs.String("brokers", "", "comma-separated seed brokers, overriding kafka.brokers")
	listen := fs.String("listen", "", "HTTP listen address, overriding listen")
	instanceID := fs.String("instance-id", "", "static group membership id (Kafka group.instance.id), overriding kafka.instance_id")
	logLevel := fs.String("log.level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Every file the run reads is checked before anything touches Kafka.
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *brokers != "" {
		cfg.Kafka.Brokers = strings.Split(*brokers, ",")
	}
	if *instanceID != "" {
		cfg.Kafka.InstanceID = *instanceID
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, log, nil)
}

// serve runs the processor and its HTTP server until ctx ends. started,
// when not nil, is told the HTTP address once it is bound.
func serve(ctx context.Context, cfg *config.Config, slogger *slog.Logger, started func(addr string, m *exporter.Metrics)) error {
	reg := prometheus.NewRegistry()
	m := exporter.New(reg, version(), cfg.SeriesLimit, exporter.WithMaxModelVersions(cfg.MaxModelVersions))
	ready := new(exporter.Readiness)
	srv, err := exporter.Listen(cfg.Listen, cfg.WebConfigFile, exporter.Handler(reg, ready), slogger, exporter.WithProbes(cfg.ProbeListen, ready))
	if err != nil {
		return &usageError{fmt.Errorf("listen %s: %w", cfg.Listen, err)}
	}
	slogger.Info("serving metrics", "addr", srv.Addr(), "brokers", cfg.Kafka.Brokers, "group", cfg.Kafka.Group)
	if started != nil {
		started(srv.Addr(), m)
	}
	p := consumer.New(cfg, m,
		consumer.WithLogger(slogger),
		consumer.WithReadiness(ready),
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Serve(gctx) })
	g.Go(func() error {
		err := p.Run(gctx)
		if err != nil {
			return fmt.Errorf("processor: %w", err)
		}
		// The processor only returns cleanly when ctx ended; stop serving.
		<-gctx.Done()
		return nil
	})
	return g.Wait()
}

func version() string { return exporter.Version() }
