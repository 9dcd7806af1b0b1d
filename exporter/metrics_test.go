package exporter

import (
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestSeriesLimit(t *testing.T) {
	m := New(prometheus.NewRegistry(), "test", 2)
	for i, tc := range []struct {
		labels []string
		want   bool
	}{
		{[]string{"a", "v1"}, true},
		{[]string{"a", "v2"}, true},
		{[]string{"a", "v1"}, true}, // known: still allowed at the limit
		{[]string{"a", "v3"}, false},
		{[]string{"b", "v1"}, false},
	} {
		if got := m.SeriesAllowed("reckon_predictions_total", tc.labels...); got != tc.want {
			t.Errorf("call %d %v: allowed %v, want %v", i, tc.labels, got, tc.want)
		}
	}
	if got := testutil.ToFloat64(m.SeriesDropped); got != 2 {
		t.Errorf("reckon_series_dropped_total = %v, want 2", got)
	}
}

// TestLatencyQuantile checks the demo's p95 against a hand computation of
// Prometheus' histogram_quantile interpolation.
func TestLatencyQuantile(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, "test", 0)
	prev, err := TakeSnapshot(reg, "5m")
	if err != nil {
		t.Fatal(err)
	}
	if q := prev.LatencyQuantile(prev, 0.95); !math.IsNaN(q) {
		t.Errorf("quantile of nothing = %v, want NaN", q)
	}
	h := m.Latency.WithLabelValues("m")
	for range 90 {
		h.Observe(0.003) // bucket (0.0025, 0.005]
	}
	for range 10 {
		h.Observe(0.12) // bucket (0.1, 0.15]
	}
	cur, err := TakeSnapshot(reg, "5m")
	if err != nil {
		t.Fatal(err)
	}
	// Rank 95 of 100 falls in (0.1, 0.15], which holds ranks 91..100:
	// 0.1 + 0.05·(95−90)/10.
	if got, want := cur.LatencyQuantile(prev, 0.95), 0.125; math.Abs(got-want) > 1e-12 {
		t.Errorf("p95 = %v, want %v", got, want)
	}
}
