package exporter

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/results"
	"github.com/reckonhq/reckon/windows"
	"github.com/reckonhq/reckon/windows/join"
)

// TestSegmentSeriesCapped sends 100,000 distinct values of a segment
// feature (max_values 50), spread over two partitions, through the core
// and the exporter: every window's record keeps the 50 smallest values
// apart and counts every other prediction as overflow, and the exported
// series stay within 50 values plus other per metric, whatever the data.
func TestSegmentSeriesCapped(t *testing.T) {
	cfg, err := config.Parse("seg.yaml", []byte(`windows: [1m, 5m]
allowed_lateness: 0s
models:
  - name: fraud
    features: [{name: country, type: categorical}]
    segments: [{feature: country, max_values: 50}]
`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := windows.NewSettings(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	const parts, n, max = 2, 100_000, 50
	set.SetTopology(parts, []int32{0})
	now := time.Unix(1_000_000, 0)
	cals := windows.NewCalibrations(set)
	agg := windows.NewAggregation(set, 0)
	base := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC).UnixMilli()
	rng := rand.New(rand.NewPCG(1, 7))
	order := rng.Perm(n)
	ps := make([]*windows.Partition, parts)
	for i := range ps {
		st, err := join.Open(t.TempDir(), set.LabelTTL)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Restored(0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		ps[i] = windows.NewPartition(set, cals, int32(i), now, st)
	}
	for i, v := range order {
		p := ps[i%parts]
		id := []byte(fmt.Sprintf("id-%d", i))
		ms := base + int64(i)*12/5 // four minutes: four 1m windows, one 5m
		e := &event.Prediction{ID: id, Model: 0, TimeMs: ms, Score: 0.9, Predicted: i%2 == 0,
			Cat: [][]byte{[]byte(fmt.Sprintf("v%06d", v))}, Missing: []bool{false}, Num: []float64{0}}
		p.Observe(windows.Predictions, ms)
		p.Prediction(e)
		p.Observe(windows.Outcomes, ms)
		p.Outcome(&event.Outcome{ID: id, Model: 0, TimeMs: ms, Label: i%3 == 0})
	}
	for _, p := range ps {
		p.Finish()
		panes, pr, _ := p.Report(now, windows.Unset, nil)
		for _, pane := range panes {
			msg, err := windows.AppendPaneMessage(nil, pane)
			if err != nil {
				t.Fatal(err)
			}
			if err := agg.Receive(windows.KindPane, msg); err != nil {
				t.Fatal(err)
			}
		}
		p.Release(panes)
		if err := agg.Receive(windows.KindProgress, windows.AppendProgressMessage(nil, pr)); err != nil {
			t.Fatal(err)
		}
	}
	if err := agg.Advance(); err != nil {
		t.Fatal(err)
	}
	closed := agg.Output().Closed
	if len(closed) != 5 {
		t.Fatalf("%d windows closed, want 5", len(closed))
	}
	m := New(prometheus.NewRegistry(), "test", 0)
	var overflow uint64
	for _, rec := range closed {
		s := rec.Segments["country"]
		if len(s.Values) != max+1 {
			t.Fatalf("window %s@%s keeps %d values, want %d and other", rec.Window, rec.Start, len(s.Values), max)
		}
		// Ground truth: the values of the window, sorted; the first 50
		// kept, every other one's prediction overflowed.
		var kept uint64
		for v, seg := range s.Values {
			if v != "other" {
				kept += seg.Predictions
			}
		}
		if kept+s.Overflow != rec.Predictions || s.Values["other"].Predictions != s.Overflow {
			t.Errorf("window %s@%s: %d kept + %d overflow, %d under other, of %d predictions",
				rec.Window, rec.Start, kept, s.Overflow, s.Values["other"].Predictions, rec.Predictions)
		}
		if rec.Window == "5m" {
			overflow = s.Overflow
		}
		m.ApplyWindow(rec)
	}
	if overflow != n-max {
		t.Errorf("the 5m window overflowed %d predictions, want %d", overflow, n-max)
	}
	got := samples(t, m.Registry)
	segments := map[string]map[string]bool{} // by window length
	perMetric := map[string]int{}
	label := func(k, name string) string {
		i := strings.Index(k, name+`="`)
		if i < 0 {
			return ""
		}
		v := k[i+len(name)+2:]
		return v[:strings.IndexByte(v, '"')]
	}
	for k := range got {
		if seg := label(k, "segment"); seg != "" {
			w := label(k, "window")
			if segments[w] == nil {
				segments[w] = map[string]bool{}
			}
			segments[w][seg] = true
			perMetric[k[:strings.IndexByte(k, '{')]]++
		}
	}
	for _, w := range []string{"1m", "5m"} {
		if len(segments[w]) != max+1 {
			t.Errorf("window %s: %d segment label values exported, want %d and other", w, len(segments[w]), max)
		}
	}
	// Per metric: two window lengths, 51 segments, and per segment at most
	// four confusion cells or two statuses or two rates, or twelve
	// standard errors.
	for name, c := range perMetric {
		per := 4
		if name == "reckon_standard_error" {
			per = 2 * len(StandardErrorMetrics)
		}
		if c > 2*(max+1)*per {
			t.Errorf("%s has %d segment series", name, c)
		}
	}
	if v := got[`reckon_segment_overflow{feature="country",model="fraud",window="5m"}`]; v != n-max {
		t.Errorf("reckon_segment_overflow of the 5m window = %v, want %d", v, n-max)
	}
	t.Logf("%d series with a segment label over %d metrics", func() int {
		s := 0
		for _, c := range perMetric {
			s += c
		}
		return s
	}(), len(perMetric))
}

// A segment's series carry its label and go when the next window of the
// same length does not have it; the rate ratio is the segment's over the
// model's.
func TestSegmentSeriesFollowTheRecord(t *testing.T) {
	m := New(prometheus.NewRegistry(), "test", 0)
	rec := fullRecord()
	rec.Segments = map[string]results.Segments{"country": {Overflow: 3, Values: map[string]results.Segment{
		"BR": {Predictions: 10, Errors: 1, Outcomes: 4, Confusion: results.Confusion{FP: 2, TN: 2},
			Rates: results.Rates{FPR: ptr(0.5)}, RateRatio: map[string]float64{"fpr": 0.5 / 0.2}},
		"other": {Predictions: 3},
	}}}
	m.ApplyWindow(rec)
	got := samples(t, m.Registry)
	for k, want := range map[string]float64{
		`reckon_false_positive_rate{model="fraud",segment="country=BR",window="5m"}`:                0.5,
		`reckon_false_positive_rate{model="fraud",window="5m"}`:                                     0.2,
		`reckon_segment_rate_ratio{model="fraud",rate="fpr",segment="country=BR",window="5m"}`:      2.5,
		`reckon_segment_predictions{model="fraud",segment="country=BR",status="ok",window="5m"}`:    9,
		`reckon_segment_predictions{model="fraud",segment="country=BR",status="error",window="5m"}`: 1,
		`reckon_segment_predictions{model="fraud",segment="country=other",status="ok",window="5m"}`: 3,
		`reckon_window_confusion{model="fraud",outcome="fp",segment="country=BR",window="5m"}`:      2,
		`reckon_segment_overflow{feature="country",model="fraud",window="5m"}`:                      3,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	next := fullRecord()
	next.Start, next.End = next.End, next.End.Add(5*time.Minute)
	m.ApplyWindow(next)
	for k := range samples(t, m.Registry) {
		if strings.Contains(k, "segment=") || strings.HasPrefix(k, "reckon_segment_") {
			t.Errorf("series %s outlived its window", k)
		}
	}
}
