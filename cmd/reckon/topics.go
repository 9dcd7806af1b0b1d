package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/reckonhq/reckon/consumer"
)

// cmdTopics is `reckon topics create`: the input topics (co-partitioned)
// and every topic reckon writes, as `reckon run` would create them, for
// users without Kafka's command-line tools or whose principal reckon runs
// as may not create topics.
func cmdTopics(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return &usageError{errors.New("usage: reckon topics create --config reckon.yaml [--partitions N] [--brokers host:port,...]")}
	}
	fs := flag.NewFlagSet("topics create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "reckon.yaml", "configuration file")
	partitions := fs.Int("partitions", 0, "partitions of the input topics, when they are created; 0: they must exist, and the others get their count")
	brokers := fs.String("brokers", "", "comma-separated seed brokers, overriding kafka.brokers")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *partitions < 0 {
		return &usageError{fmt.Errorf("--partitions %d: want 0 or more", *partitions)}
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *brokers != "" {
		cfg.Kafka.Brokers = strings.Split(*brokers, ",")
	}
	created, err := consumer.CreateTopics(ctx, cfg, int32(*partitions))
	for _, t := range created {
		fmt.Fprintf(stdout, "created %s\n", t)
	}
	if err != nil {
		return err
	}
	if len(created) == 0 {
		fmt.Fprintln(stdout, "every topic exists already, as reckon needs it")
	}
	return nil
}
