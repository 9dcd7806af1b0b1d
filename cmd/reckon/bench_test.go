package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestTrafficFlagErrors checks that the commands built on package simulate
// refuse impossible traffic as a usage error naming the flag, before
// starting anything.
func TestTrafficFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  func(context.Context, []string, io.Writer, io.Writer) error
		args []string
		want string
	}{
		{"bench features", cmdBench, []string{"--features", "0"}, "features and models must be at least 1"},
		{"bench models", cmdBench, []string{"--models", "0"}, "features and models must be at least 1"},
		{"bench label rate", cmdBench, []string{"--label-rate", "2"}, "label rate must be in [0,1]"},
		{"demo rate", cmdDemo, []string{"--rate", "0"}, "--rate must be positive"},
		{"simulate speed", cmdSimulate, []string{"--brokers", "127.0.0.1:1", "--speed", "0"}, "--rate and --speed must be positive"},
		{"simulate model", cmdSimulate, []string{"--brokers", "127.0.0.1:1", "--model", ""}, "model name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cmd(context.Background(), tc.args, io.Discard, io.Discard)
			var ue *usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: %v, want a usage error with %q", tc.args, err, tc.want)
			}
		})
	}
}
