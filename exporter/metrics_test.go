package exporter

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// samples gathers reg and returns every reckon_* counter and gauge sample
// as name{label="value",...} (labels sorted by name, as client_model sorts
// them) → value.
func samples(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "reckon_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				if l.GetValue() == "" {
					continue // Prometheus stores an empty label as none (segment="")
				}
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			k := mf.GetName() + "{" + strings.Join(ls, ",") + "}"
			switch {
			case m.Counter != nil:
				out[k] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[k] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

func TestSeriesLimit(t *testing.T) {
	m := New(prometheus.NewRegistry(), "test", 2)
	for i, labels := range [][3]string{
		{"a", "f", "missing"},
		{"a", "f", "range"},
		{"a", "f", "missing"}, // known: still counted at the limit
		{"a", "g", "missing"}, // dropped
		{"b", "f", "missing"}, // dropped
	} {
		m.AddSchemaViolations(labels[0], labels[1], labels[2], uint64(i+1))
	}
	got := samples(t, m.Registry)
	for k, want := range map[string]float64{
		`reckon_schema_violations_total{feature="f",kind="missing",model="a"}`: 1 + 3,
		`reckon_schema_violations_total{feature="f",kind="range",model="a"}`:   2,
		`reckon_series_dropped_total{}`:                                        2,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	for _, k := range []string{
		`reckon_schema_violations_total{feature="g",kind="missing",model="a"}`,
		`reckon_schema_violations_total{feature="f",kind="missing",model="b"}`,
	} {
		if _, ok := got[k]; ok {
			t.Errorf("%s exported beyond the series limit", k)
		}
	}
}

// TestModelVersionCap is issue 13, item 6: 12,000 junk versions of one
// model used to fill the global series_limit (10,000), so that a new
// version of another model never appeared. With a cap per model the junk
// folds into the junk model's own _other, which shows, and counts.
func TestModelVersionCap(t *testing.T) {
	const junk, limit = 12_000, 10_000
	for _, tc := range []struct {
		name string
		cap  int // 0: no per-model cap, only series_limit (as before)
		// want of the other model's new version, the junk model's _other
		// events and overflow count, and dropped updates
		fresh, other, overflow, dropped float64
		freshShown                      bool
	}{
		{name: "capped", cap: 100, freshShown: true, fresh: 7, other: junk - 100, overflow: junk - 100},
		{name: "series_limit only", cap: 0, freshShown: false, dropped: junk - (limit - 1) + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(prometheus.NewRegistry(), "test", limit, WithMaxModelVersions(tc.cap))
			m.AddModel("fraud")
			m.AddModel("spam")
			if m.AddPredictions("fraud", "v1", "ok", 3) {
				t.Fatal("fraud v1 folded")
			}
			for i := range junk {
				folded := m.AddPredictions("spam", "junk-"+strconv.Itoa(i), "ok", 1)
				if want := tc.cap > 0 && i >= tc.cap; folded != want {
					t.Fatalf("junk version %d: folded %v, want %v", i, folded, want)
				}
			}
			m.AddPredictions("fraud", "v2", "ok", 7)
			got := samples(t, m.Registry)
			v, shown := got[`reckon_predictions_total{model="fraud",model_version="v2",status="ok"}`]
			if shown != tc.freshShown || v != tc.fresh {
				t.Errorf("fraud v2 = %v (shown %v), want %v (shown %v)", v, shown, tc.fresh, tc.freshShown)
			}
			if v := got[`reckon_predictions_total{model="spam",model_version="_other",status="ok"}`]; v != tc.other {
				t.Errorf("spam _other = %v, want %v", v, tc.other)
			}
			for k, want := range map[string]float64{
				`reckon_label_overflow_total{label="model_version",model="spam"}`:                            tc.overflow,
				`reckon_label_overflow_total{label="model_version",model="fraud"}`:                           0,
				`reckon_series_dropped_total{}`:                                                              tc.dropped,
				`reckon_predictions_total{model="fraud",model_version="v1",status="ok"}`:                     3,
				fmt.Sprintf(`reckon_predictions_total{model="spam",model_version="junk-%d",status="ok"}`, 0): 1,
			} {
				if v, ok := got[k]; !ok || v != want {
					t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
				}
			}
			spam := 0
			for k := range got {
				if strings.HasPrefix(k, `reckon_predictions_total{model="spam"`) {
					spam++
				}
			}
			if tc.cap > 0 && spam != tc.cap+1 {
				t.Errorf("spam has %d series, want %d versions and _other", spam, tc.cap+1)
			}
		})
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
