package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/reckonhq/reckon/consumer"
	"github.com/reckonhq/reckon/exporter"
	"github.com/reckonhq/reckon/simulate"
)

// demoGroup is the demo's consumer group.
const demoGroup = "reckon-demo"

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 0, "stop after this long (0: until interrupted)")
	listen := fs.String("listen", "127.0.0.1:9464", "HTTP listen address for /metrics")
	rate := fs.Float64("rate", simulate.DefaultRate, "simulated predictions per second")
	every := fs.Duration("every", 5*time.Second, "how often to print the live summary")
	logLevel := fs.String("log.level", "warn", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !(*rate > 0) {
		return &usageError{fmt.Errorf("demo: --rate must be positive")}
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}

	// The traffic of package simulate, and the configuration that declares
	// its model: event time runs DefaultSpeed times faster than the wall
	// clock, so a 5m window closes every 2.5 s and a 1h one every 30 s.
	speed := float64(simulate.DefaultSpeed)
	o := simulate.Demo()
	o.EventRate = *rate / speed
	o.Seed = uint64(time.Now().UnixNano())
	cfg, err := simulate.Config(o, false)
	if err != nil {
		return &usageError{fmt.Errorf("demo: %w", err)}
	}
	cfg.Listen = *listen
	cfg.Kafka.Group = demoGroup

	kafka, err := consumer.NewEmbedded(0)
	if err != nil {
		return err
	}
	defer kafka.Close()
	cfg.Kafka.Brokers = kafka.Brokers()
	if err := consumer.CreateTopicsOn(ctx, cfg.Kafka.Brokers, 4, cfg.Kafka.PredictionsTopic, cfg.Kafka.OutcomesTopic); err != nil {
		return err
	}
	prod, err := consumer.NewProducer(cfg.Kafka.Brokers)
	if err != nil {
		return err
	}
	defer prod.Close()
	gen := simulate.New(o)

	var wg sync.WaitGroup
	defer wg.Wait()
	started := func(addr string, m *exporter.Metrics) {
		fmt.Fprintf(stdout, "reckon demo: embedded Kafka (kfake) at %s, topics %s and %s\n", cfg.Kafka.Brokers[0], cfg.Kafka.PredictionsTopic, cfg.Kafka.OutcomesTopic)
		fmt.Fprintf(stdout, "simulated models %q (binary), %q (regression) and %q (multiclass): %.0f predictions/s, simulated time %gx the wall clock from %s;\n",
			o.Models[0].Name, o.Models[1].Name, o.Models[2].Name, *rate, speed, o.Start.Format(time.RFC3339))
		fmt.Fprintf(stdout, "  drift injected at simulated %s (after %s of wall time)\n",
			o.DriftTime().Format(time.RFC3339), time.Duration(float64(o.Drift.At)/speed).Round(time.Second))
		if o.Drift.Segment != "" {
			fmt.Fprintf(stdout, "  segment %s=%s degrades on its own at simulated %s (after %s): its FPR rises, the model's barely moves\n"+
				"  (reckon_false_positive_rate{segment=\"%[1]s=%[2]s\"}, reckon_segment_rate_ratio)\n",
				o.Models[0].Segments[0], o.Drift.Segment, o.SegmentDriftTime().Format(time.RFC3339),
				time.Duration(float64(o.Drift.SegmentAt)/speed).Round(time.Second))
		}
		fmt.Fprintf(stdout, "metrics: http://%s/metrics   (point Prometheus at it:\n", addr)
		fmt.Fprintf(stdout, "  scrape_configs: [{job_name: reckon, scrape_interval: 5s, static_configs: [{targets: [\"%s\"]}]}])\n\n", addr)
		wg.Go(func() {
			simulate.Run(ctx, gen, prod, speed, [2]string{cfg.Kafka.PredictionsTopic, cfg.Kafka.OutcomesTopic})
		})
		wg.Go(func() { printSummaries(ctx, stdout, m, *every, speed, cfg.Windows[0].Text) })
	}
	err = serve(ctx, cfg, log, started)
	if ctx.Err() != nil {
		err = nil // --duration or Ctrl-C: a normal end
	}
	return err
}

// printSummaries prints one line of live figures every interval, computed
// from the metrics registry as Prometheus would see it.
func printSummaries(ctx context.Context, w io.Writer, m *exporter.Metrics, every time.Duration, speed float64, window string) {
	t := time.NewTicker(every)
	defer t.Stop()
	prev, _ := exporter.TakeSnapshot(m.Registry, window)
	prevAt, start := time.Now(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			cur, err := exporter.TakeSnapshot(m.Registry, window)
			if err != nil {
				fmt.Fprintln(w, "summary:", err)
				continue
			}
			dt := now.Sub(prevAt).Seconds()
			preds := cur.Predictions - prev.Predictions
			errRate := math.NaN()
			if preds > 0 {
				errRate = (cur.Errors - prev.Errors) / preds
			}
			drifted := "none"
			if len(cur.Drifted) > 0 {
				drifted = strings.Join(cur.Drifted, ",")
			}
			worst := ""
			if cur.WorstSegment != "" {
				worst = fmt.Sprintf("  worst segment %s %s", cur.WorstSegment, pct(cur.WorstSegmentFPR))
			}
			fmt.Fprintf(w, "[%5s | sim +%-6s] %6.0f events/s  errors %5.2f%%  p95 latency %5.1f ms  FPR(%s) %s est. %s%s  drifted: %s  dead letters %.0f  violations %.0f\n",
				now.Sub(start).Round(time.Second), time.Duration(now.Sub(start).Seconds()*speed*float64(time.Second)).Round(time.Minute),
				(cur.Consumed-prev.Consumed)/dt, 100*errRate, 1000*cur.LatencyQuantile(prev, 0.95),
				window, pct(cur.FPR), pct(cur.EstimatedFPR), worst, drifted, cur.DeadLetters, cur.Violations)
			prev, prevAt = cur, now
		}
	}
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "  -  "
	}
	return fmt.Sprintf("%4.1f%%", 100*v)
}
