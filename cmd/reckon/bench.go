package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/reckonhq/reckon/bench"
	"github.com/reckonhq/reckon/simulate"
)

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o := bench.Defaults()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	features := fs.Int("features", len(o.Traffic.Models[0].Features), "declared features per model (60% numeric, 40% categorical)")
	models := fs.Int("models", len(o.Traffic.Models), "models")
	fs.IntVar(&o.Events, "events", o.Events, "records to publish and consume: predictions and outcomes together")
	fs.IntVar(&o.Partitions, "partitions", o.Partitions, "partitions of each input topic")
	fs.IntVar(&o.Repeat, "repeat", o.Repeat, "run ceiling and full pipeline this many times in turn and report the median ratio")
	fs.Float64Var(&o.Traffic.LabelRate, "label-rate", o.Traffic.LabelRate, "share of ok predictions that get an outcome")
	fs.Float64Var(&o.Traffic.EventRate, "event-rate", o.Traffic.EventRate, "predictions per second of event time (how many a window holds)")
	fs.Uint64Var(&o.Traffic.Seed, "seed", o.Traffic.Seed, "random seed of the generated records")
	brokers := fs.String("brokers", "", "comma-separated seed brokers of a real Kafka to measure too, first (topics reckon-bench-* are created and deleted)")
	fs.DurationVar(&o.CommitInterval, "commit-interval", 0, "the full pipeline's commit_interval (default: the configuration's, 1s)")
	fs.BoolVar(&o.SkipEmbedded, "skip-embedded", false, "measure only the Kafka of --brokers, not the in-process kfake")
	fs.DurationVar(&o.LatencyDuration, "latency-duration", o.LatencyDuration, "length of the latency phase (0 skips it)")
	fs.Float64Var(&o.LatencyRate, "latency-rate", o.LatencyRate, "background records per second during the latency phase")
	fs.Float64Var(&o.ProbeRate, "probe-rate", o.ProbeRate, "latency probes per second")
	fs.BoolVar(&o.Profile, "profile", o.Profile, "CPU-profile each phase to attribute CPU to reckon, the client and the broker")
	fs.StringVar(&o.ProfileDir, "profile-dir", "", "write the CPU profiles to this directory")
	fs.IntVar(&o.Pending, "pending", 0, "load this many predictions that stay pending (no outcome, --label-ttl long) and measure the pipeline on top of them, at a steady rate, and restarting warm and cold")
	labelTTL := fs.Duration("label-ttl", 0, "the configuration's label_ttl (default 15m, or 720h with --pending)")
	stateMemory := fs.Int64("state-memory-mib", 0, "state_memory in MiB (default the configuration's, 1024)")
	fs.StringVar(&o.StateDir, "state-dir", "", "where --pending puts state_dir (default a temporary directory)")
	jsonFile := fs.String("json", "", "also write the report as JSON to this file")
	timeout := fs.Duration("timeout", o.PhaseTimeout, "give up on a phase after this long")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	kinds := fs.Bool("kinds", false, "three models, one of each kind (binary, regression, multiclass), instead of --models binary ones")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Errorf("bench: unexpected arguments %q", fs.Args())}
	}
	if *features < 1 || *models < 1 {
		return &usageError{fmt.Errorf("bench: features and models must be at least 1, got %d and %d", *features, *models)}
	}
	o.Traffic.Models = simulate.Fleet(*models, *features)
	if *kinds {
		o.Traffic.Models = simulate.FleetKinds(*features)
	}
	switch {
	case *labelTTL > 0:
		o.Traffic.LabelTTL = *labelTTL
	case o.Pending > 0:
		o.Traffic.LabelTTL = 720 * time.Hour
	}
	o.StateMemory = *stateMemory << 20
	if *brokers != "" {
		o.Brokers = strings.Split(*brokers, ",")
	}
	o.PhaseTimeout = *timeout
	if !*quiet {
		o.Log = stderr
	}
	if err := o.Validate(); err != nil {
		return &usageError{fmt.Errorf("bench: %w", err)}
	}
	if o.ProfileDir != "" {
		if err := os.MkdirAll(o.ProfileDir, 0o755); err != nil {
			return err
		}
	}
	start := time.Now()
	r, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	if err := bench.WriteTable(stdout, r); err != nil {
		return err
	}
	if !*quiet {
		fmt.Fprintf(stderr, "bench: done in %s\n", time.Since(start).Round(time.Second))
	}
	if *jsonFile != "" {
		f, err := os.Create(*jsonFile)
		if err != nil {
			return err
		}
		if err := bench.WriteJSON(f, r); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return nil
}
