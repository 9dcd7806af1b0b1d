package integration

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/results"
)

const driftConfig = `
kafka:
  group: %[1]s
  predictions_topic: %[1]s-predictions
  outcomes_topic: %[1]s-outcomes
  dead_letter_topic: %[1]s-dead
  results_topic: %[1]s-results
windows: [1m]
allowed_lateness: 0s
idle_timeout: 60s
max_clock_skew: 0s
models:
  - name: m
    reference: {from: "%[2]s", to: "%[3]s"}
    drift: {numeric_test: ks, categorical_test: chi2, p_value: 0.01}
    features:
      - {name: x_shift, type: numeric}
      - {name: x_stable, type: numeric}
      - {name: c_shift, type: categorical}
      - {name: c_stable, type: categorical}
`

// TestDriftEndToEnd streams an hour of reference traffic, two hours of the
// same distribution, then a shift in one numeric and one categorical
// feature. The shift must be flagged in the first closed window after it,
// the stationary features must not be, and the false-alarm rate over the
// stationary windows is measured against the configured p-value (0.01).
func TestDriftEndToEnd(t *testing.T) {
	group := uniqueName("drift")
	const parts = 3
	createTopics(t, parts, group+"-predictions", group+"-outcomes")

	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	refEnd := t0.Add(time.Hour)
	change := t0.Add(3 * time.Hour)
	end := change.Add(10 * time.Minute)
	rng := rand.New(rand.NewPCG(2026, 3))
	pick := func(probs []float64) string {
		u := rng.Float64()
		for i, p := range probs {
			if u < p {
				return string(rune('a' + i))
			}
			u -= p
		}
		return string(rune('a' + len(probs) - 1))
	}
	var recs []*kgo.Record
	i := 0
	for ts := t0; ts.Before(end); ts = ts.Add(300 * time.Millisecond) {
		shifted := !ts.Before(change)
		xs, cs := rng.NormFloat64(), pick([]float64{.5, .3, .2})
		if shifted {
			xs, cs = 0.8+rng.NormFloat64(), pick([]float64{.2, .3, .5})
		}
		id := fmt.Sprintf("d-%06d", i)
		i++
		v := fmt.Sprintf(`{"prediction_id":%q,"model":"m","timestamp":%d,"score":%.4f,"features":{"x_shift":%.6f,"x_stable":%.6f,"c_shift":%q,"c_stable":%q}}`,
			id, ts.UnixMilli(), rng.Float64(), xs, 10+3*rng.NormFloat64(), cs, pick([]float64{.6, .25, .15}))
		recs = append(recs, &kgo.Record{Topic: group + "-predictions", Key: []byte(id), Value: []byte(v)})
	}
	produceSync(t, newClient(t), recs...)
	produceSentinels(t, group+"-predictions", group+"-outcomes", parts, "m", end.Add(time.Hour))

	p := startReckon(t, fmt.Sprintf(driftConfig, group, t0.Format(time.RFC3339), refEnd.Format(time.RFC3339)))
	windows := int(end.Sub(t0) / time.Minute)
	p.waitFor(t, 90*time.Second, "every window closed", func(m map[string]*dto.MetricFamily) bool {
		v, _ := value(m, "reckon_windows_closed_total", map[string]string{"model": "m", "window": "1m"})
		return v == float64(windows)
	})
	mfs := p.scrape(t)
	if v, _ := value(mfs, "reckon_reference_complete", map[string]string{"model": "m"}); v != 1 {
		t.Fatalf("reckon_reference_complete = %v, want 1", v)
	}

	recsOut := readTopic(t, group+"-results", windows, 30*time.Second)
	byStart := map[time.Time]*results.Record{}
	for _, r := range recsOut {
		rec, err := results.Unmarshal(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		byStart[rec.Start] = rec
	}
	if len(byStart) != windows {
		t.Fatalf("results topic holds %d windows, want %d", len(byStart), windows)
	}

	// Here the whole backlog is read at once, so the reference completes in
	// the batch that closes every window; windows.TestReferenceLifecycle
	// covers a reference that is not complete yet.
	first := byStart[change]
	if first == nil {
		t.Fatalf("no window starting at the change %s", change)
	}
	for feature, want := range map[string]bool{"x_shift": true, "c_shift": true, "x_stable": false, "c_stable": false} {
		f := first.Features[feature]
		if f.Drifted == nil || *f.Drifted != want {
			t.Errorf("first window after the change: %s drifted = %v, want %v (stats %v, p %v)", feature, f.Drifted, want, f.Drift, f.PValue)
		}
	}
	if first.DatasetDriftShare == nil || *first.DatasetDriftShare != 0.5 {
		t.Errorf("dataset drift share after the change = %v, want 0.5", first.DatasetDriftShare)
	}

	// False alarms: every verdict of every feature on stationary windows
	// after the reference (all four features before the change).
	var tests, alarms int
	perFeature := map[string]int{}
	var starts []time.Time
	for start := range byStart {
		starts = append(starts, start)
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
	stationary := 0
	for _, start := range starts {
		if start.Before(refEnd) || !start.Before(change) {
			continue
		}
		stationary++
		for name, f := range byStart[start].Features {
			if f.Drifted == nil {
				t.Errorf("window %s: %s has no drift verdict", start, name)
				continue
			}
			tests++
			if *f.Drifted {
				alarms++
				perFeature[name]++
			}
		}
	}
	rate := float64(alarms) / float64(tests)
	t.Logf("false alarms at p_value 0.01: %d of %d verdicts over %d stationary 1m windows (rate %.4f; per feature %v)", alarms, tests, stationary, rate, perFeature)
	if stationary < 100 {
		t.Errorf("only %d stationary windows, want at least 100", stationary)
	}
	// At p = 0.01 the expected count is 0.01·tests (≈4.8 for 480); a
	// sketch error that inflated the KS statistic would show as many more.
	if alarms > 15 {
		t.Errorf("%d false alarms in %d verdicts: far above the 1%% the test promises", alarms, tests)
	}

	// The gauges describe the last closed window (after the change).
	for feature, want := range map[string]float64{"x_shift": 1, "c_shift": 1} {
		if v, ok := value(mfs, "reckon_feature_drifted", map[string]string{"model": "m", "feature": feature, "window": "1m"}); !ok || v != want {
			t.Errorf("reckon_feature_drifted{feature=%s} = %v (present %v), want %v", feature, v, ok, want)
		}
	}
	for _, q := range []string{"0.05", "0.5", "0.95", "0.99"} {
		if _, ok := value(mfs, "reckon_feature_quantile", map[string]string{"model": "m", "feature": "x_stable", "window": "1m", "quantile": q}); !ok {
			t.Errorf("reckon_feature_quantile{quantile=%s} missing", q)
		}
	}
	if v, ok := value(mfs, "reckon_feature_distinct", map[string]string{"model": "m", "feature": "c_stable", "window": "1m"}); !ok || v != 3 {
		t.Errorf("reckon_feature_distinct{c_stable} = %v, want 3", v)
	}
	for _, method := range []string{"ks", "psi", "wasserstein", "js"} {
		if _, ok := value(mfs, "reckon_feature_drift", map[string]string{"model": "m", "feature": "x_shift", "window": "1m", "method": method}); !ok {
			t.Errorf("reckon_feature_drift{method=%s} missing", method)
		}
		if _, ok := value(mfs, "reckon_prediction_drift", map[string]string{"model": "m", "window": "1m", "method": method}); !ok {
			t.Errorf("reckon_prediction_drift{method=%s} missing", method)
		}
	}
}
