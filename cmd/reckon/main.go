// Command reckon monitors ML models in production from their Kafka traffic
// and publishes what it finds as Prometheus metrics. See the README for the
// subcommands; this file only dispatches to them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `reckon: model monitoring from Kafka to Prometheus

Usage:
  reckon run --config reckon.yaml [--brokers host:port,...] [--listen addr] [--until-end]
  reckon topics create --config reckon.yaml [--partitions N] [--brokers host:port,...]
  reckon demo [--duration 2m] [--listen addr]
  reckon simulate --brokers host:port,... [--rate 500] [--speed 120] [--duration 0]
  reckon validate --config reckon.yaml [--acls User:reckon]
  reckon reference --config reckon.yaml [--model M] --input data.csv|data.jsonl [--out ref.json]
  reckon rules --config reckon.yaml [--out FILE|DIR] [--format prometheus|prometheusrule]
  reckon dashboards --config reckon.yaml [--out DIR]
  reckon bench [--events N] [--features 10] [--models 3] [--brokers host:port,...] [--json FILE]
  reckon version

Run 'reckon <command> -h' for a command's flags.
`

// exitUsage is the exit status for a wrong command line or configuration.
const exitUsage = 2

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		err = cmdRun(ctx, rest, stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, rest, stdout, stderr)
	case "simulate":
		err = cmdSimulate(ctx, rest, stdout, stderr)
	case "validate":
		err = cmdValidate(rest, stdout, stderr)
	case "topics":
		err = cmdTopics(ctx, rest, stdout, stderr)
	case "reference":
		err = cmdReference(rest, stdout, stderr)
	case "bench":
		err = cmdBench(ctx, rest, stdout, stderr)
	case "rules":
		err = cmdRules(rest, stdout, stderr)
	case "dashboards":
		err = cmdDashboards(rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "reckon", version())
		return 0
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "reckon: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "reckon:", ue.err)
		return exitUsage
	default:
		fmt.Fprintln(stderr, "reckon:", err)
		return 1
	}
}

// usageError marks errors in the command line or configuration: exit 2,
// before anything touches Kafka.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, &usageError{fmt.Errorf("--log.level: %w", err)}
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
