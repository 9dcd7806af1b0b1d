package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/reckonhq/reckon/consumer"
	"github.com/reckonhq/reckon/simulate"
)

func cmdSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "", "comma-separated seed brokers (required)")
	rate := fs.Float64("rate", simulate.DefaultRate, "predictions per wall-clock second")
	speed := fs.Float64("speed", simulate.DefaultSpeed, "simulated seconds per wall-clock second")
	duration := fs.Duration("duration", 0, "stop after this long (0: until interrupted)")
	partitions := fs.Int("partitions", 4, "partitions of the topics, when they must be created")
	predTopic := fs.String("predictions-topic", "predictions", "predictions topic")
	outTopic := fs.String("outcomes-topic", "outcomes", "outcomes topic")
	model := fs.String("model", "fraud", "model name in the records")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same records")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *brokers == "" {
		return &usageError{fmt.Errorf("simulate: --brokers is required")}
	}
	if !(*rate > 0 && *speed > 0) {
		return &usageError{fmt.Errorf("simulate: --rate and --speed must be positive")}
	}
	o := simulate.Demo()
	o.Models[0].Name = *model
	o.EventRate = *rate / *speed
	o.Seed = *seed
	if err := o.Validate(); err != nil {
		return &usageError{fmt.Errorf("simulate: %w", err)}
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	bs := strings.Split(*brokers, ",")
	if err := consumer.CreateTopicsOn(ctx, bs, int32(*partitions), *predTopic, *outTopic); err != nil {
		return err
	}
	prod, err := consumer.NewProducer(bs)
	if err != nil {
		return err
	}
	defer prod.Close()
	fmt.Fprintf(stdout, "simulating model %q into %s: %.0f predictions/s, drift at simulated %s\n",
		*model, *brokers, *rate, o.DriftTime().Format(time.RFC3339))
	sent := simulate.Run(ctx, simulate.New(o), prod, *speed, [2]string{*predTopic, *outTopic})
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := prod.Flush(fctx); err != nil {
		return fmt.Errorf("flushing: %w", err)
	}
	fmt.Fprintf(stdout, "sent %d records\n", sent)
	return nil
}
