package alerts

import (
	"testing"

	"github.com/reckonhq/reckon/exporter"
)

// TestKnownMetrics checks that KnownMetrics holds the whole catalogue with
// its labels and kinds, and that no name is known twice (a recording rule
// named like an exported metric would shadow it in the PromQL checks).
func TestKnownMetrics(t *testing.T) {
	known := map[string]Metric{}
	for _, m := range KnownMetrics() {
		if _, dup := known[m.Name]; dup {
			t.Errorf("%s is known twice", m.Name)
		}
		known[m.Name] = m
	}
	for _, c := range exporter.Catalogue() {
		k, ok := known[c.Name]
		switch {
		case !ok:
			t.Errorf("catalogue metric %s is not in KnownMetrics", c.Name)
		case k.Rule || k.Kind != c.Kind || len(k.Labels) != len(c.Labels):
			t.Errorf("KnownMetrics has %+v for catalogue metric %+v", k, c)
		}
	}
	if up, ok := known["up"]; !ok || up.Kind != exporter.Gauge {
		t.Errorf("up = %+v, %v", up, ok)
	}
}
