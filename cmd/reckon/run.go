package main

import (
	"context"
	"errors"
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
	untilEnd := fs.Bool("until-end", false, "read every input partition up to the end offsets found at start, close every window that holds events, publish, commit and exit 0 (backfills, batch evaluation)")
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
	var opts []consumer.Option
	if *untilEnd {
		opts = append(opts, consumer.WithUntilEnd())
	}
	return serve(ctx, cfg, log, nil, opts...)
}

// errFinished ends serve when the processor has done its work (--until-end).
var errFinished = errors.New("the processor has read to the end")

// serve runs the processor and its HTTP server until ctx ends, or until the
// processor returns (consumer.WithUntilEnd). started, when not nil, is told
// the HTTP address once it is bound.
func serve(ctx context.Context, cfg *config.Config, slogger *slog.Logger, started func(addr string, m *exporter.Metrics), opts ...consumer.Option) error {
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
	p := consumer.New(cfg, m, append([]consumer.Option{
		consumer.WithLogger(slogger),
		consumer.WithReadiness(ready),
	}, opts...)...)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Serve(gctx) })
	g.Go(func() error {
		err := p.Run(gctx)
		if err != nil {
			return fmt.Errorf("processor: %w", err)
		}
		if gctx.Err() == nil {
			return errFinished // read to the end: stop serving
		}
		return nil
	})
	if err := g.Wait(); !errors.Is(err, errFinished) {
		return err
	}
	return nil
}

func version() string { return exporter.Version() }
