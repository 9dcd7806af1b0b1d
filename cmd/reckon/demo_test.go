package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestDemoShowsLiveFigures runs `reckon demo` briefly: it must start the
// embedded Kafka, print where /metrics is, and print live summaries with
// traffic flowing and windows of the simulated model being measured.
func TestDemoShowsLiveFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for 8s")
	}
	var out, errOut bytes.Buffer
	err := cmdDemo(context.Background(), []string{"--duration", "8s", "--every", "2s", "--listen", "127.0.0.1:0"}, &out, &errOut)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, errOut.String())
	}
	s := out.String()
	for _, want := range []string{"embedded Kafka (kfake)", "metrics: http://127.0.0.1:", "drift injected at simulated", "segment country=NL degrades on its own"} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q:\n%s", want, s)
		}
	}
	lines := regexp.MustCompile(`(?m)^\[.*\]\s+(\d+) events/s .*FPR\(5m\)`).FindAllStringSubmatch(s, -1)
	if len(lines) < 2 {
		t.Fatalf("want at least 2 summary lines, got %d:\n%s", len(lines), s)
	}
	if last := lines[len(lines)-1][1]; last == "0" {
		t.Errorf("no traffic in the last summary line:\n%s", s)
	}
	if !strings.Contains(s, "worst segment country=") {
		t.Errorf("no summary line shows a segment's FPR:\n%s", s)
	}
}
