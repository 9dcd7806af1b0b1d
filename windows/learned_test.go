package windows

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/sketch"
)

// learnedConfig has a stream reference of 8 hourly windows; the features
// take at most 40 integer values, so every sketch is exact and the
// statistics do not depend on how panes were merged.
const learnedConfig = `
windows: [1h]
models:
  - name: m
    reference: {from: 2026-12-08T00:00:00Z, to: 2026-12-08T08:00:00Z}
    drift: {threshold: learned, k: 2}
    features:
      - {name: x, type: numeric}
      - {name: c, type: categorical}
`

// learnedRows draws n events per hour for hours hours from hour h0: x a
// rounded normal of mean mu(h), c one of four values.
func learnedRows(rng *rand.Rand, h0, hours, n int, mu func(h int) float64) []*event.Prediction {
	cats := []string{"a", "b", "c", "d"}
	var out []*event.Prediction
	for h := h0; h < h0+hours; h++ {
		for i := range n {
			x := math.Round(mu(h) + 4*rng.NormFloat64())
			x = max(-20, min(20, x))
			e := &event.Prediction{ID: []byte{byte(h), byte(i >> 8), byte(i)}, TimeMs: base + int64(h)*hour + int64(i)*(hour/int64(n)),
				Score: rng.Float64(), LatencySeconds: math.NaN(), Num: []float64{x, 0}, Cat: [][]byte{nil, []byte(cats[rng.IntN(4)])},
				Missing: []bool{false, false}}
			e.Predicted = e.Score >= 0.5
			out = append(out, e)
		}
	}
	return out
}

// TestLearnedThresholds: a stream reference learns, for each feature, the
// score and every statistic, the band mean ± k·SD over its own hourly
// windows compared with it; the results record carries it, and a feature
// is judged on it. The ground truth is computed here: each reference
// window's sketches built apart, its statistic against the reference's
// (sketch.KS, sketch.Wasserstein, sketch.ChiSquare), and their mean and
// sample standard deviation. A file reference of the same rows learns the
// same values.
func TestLearnedThresholds(t *testing.T) {
	cfg, err := config.Parse("reckon.yaml", []byte(learnedConfig))
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSettings(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	const refHours, n = 8, 1500
	refRows := learnedRows(rng, 0, refHours, n, func(int) float64 { return 0 })
	// After the reference: two stationary hours, then x's mean moves by
	// half a standard deviation.
	after := learnedRows(rng, refHours, 3, n, func(h int) float64 {
		if h == refHours+2 {
			return 2
		}
		return 0
	})
	recs := runThrough(t, set, append(append([]*event.Prediction(nil), refRows...), after...))
	if len(recs) != refHours+3 {
		t.Fatalf("%d windows closed, want %d", len(recs), refHours+3)
	}

	// Ground truth.
	l := set.Layout
	whole := l.NewPartial(0)
	windows := make([]*Partial, refHours)
	for h := range windows {
		windows[h] = l.NewPartial(0)
	}
	for _, e := range refRows {
		whole.AddPrediction(e, nil, false)
		windows[(e.TimeMs-base)/hour].AddPrediction(e, nil, false)
	}
	var ks, ws, chi []float64
	for _, w := range windows {
		d, _, err := sketch.KS(whole.Features[0].Num, w.Features[0].Num)
		if err != nil {
			t.Fatal(err)
		}
		wd, err := sketch.Wasserstein(whole.Features[0].Num, w.Features[0].Num)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := sketch.ChiSquare(whole.Features[1].Cat, w.Features[1].Cat)
		if err != nil {
			t.Fatal(err)
		}
		ks, ws, chi = append(ks, d), append(ws, wd), append(chi, c)
	}
	band := func(xs []float64) (lo, hi float64) {
		mean := 0.0
		for _, x := range xs {
			mean += x
		}
		mean /= float64(len(xs))
		ss := 0.0
		for _, x := range xs {
			ss += (x - mean) * (x - mean)
		}
		sd := math.Sqrt(ss / float64(len(xs)-1))
		return max(0, mean-2*sd), mean + 2*sd
	}
	checks := []struct {
		feature, method string
		values          []float64
	}{{"x", "ks", ks}, {"x", "wasserstein", ws}, {"c", "chi2", chi}}
	for i, r := range recs {
		if i < refHours {
			// Drift starts with the window ending at the reference's end.
			if (r.Features["x"].DriftThreshold != nil) != (i == refHours-1) {
				t.Errorf("window %d inside the reference has thresholds", i)
			}
			continue
		}
		for _, c := range checks {
			lo, hi := band(c.values)
			got, ok := r.Features[c.feature].DriftThreshold[c.method]
			if !ok || math.Abs(got.Lower-lo) > 1e-12 || math.Abs(got.Upper-hi) > 1e-12 {
				t.Errorf("window %d: %s %s thresholds %+v, want [%v, %v]", i, c.feature, c.method, got, lo, hi)
			}
		}
		if _, ok := r.PredictionDriftThreshold["ks"]; !ok {
			t.Errorf("window %d: no learned threshold for the score's KS", i)
		}
		x := r.Features["x"]
		if want := i == refHours+2; x.Drifted == nil || *x.Drifted != want || x.Threshold != "learned" {
			t.Errorf("window %d: x drifted %v on %q thresholds (test %s, %v, bounds %v), want %v on learned", i, x.Drifted, x.Threshold, x.Test, x.Drift, x.DriftThreshold, want)
		}
	}

	// A file reference of the same rows learns the same values.
	ref := fileReference(t, cfg, refRows)
	stream := runReference(t, set, refRows)
	for _, c := range checks {
		fi := 0
		if c.feature == "c" {
			fi = 1
		}
		m, _ := sketch.ParseMethod(c.method)
		got, want := ref.Learned[hour].Features[fi][m], stream.Learned[hour].Features[fi][m]
		if len(got) != refHours || len(want) != refHours {
			t.Fatalf("%s %s: %d file and %d stream windows, want %d", c.feature, c.method, len(got), len(want), refHours)
		}
		for h := range got {
			if math.Abs(got[h]-want[h]) > 1e-12 || math.Abs(got[h]-c.values[h]) > 1e-12 {
				t.Errorf("%s %s window %d: file %v, stream %v, ground truth %v", c.feature, c.method, h, got[h], want[h], c.values[h])
			}
		}
	}
}

// runReference feeds events to a partition and an aggregation and returns
// model 0's completed stream reference.
func runReference(t *testing.T, set *Settings, events []*event.Prediction) *Reference {
	t.Helper()
	set.SetTopology(1, []int32{0})
	part := NewPartition(set, NewCalibrations(set), 0, t0, openStore(t, set))
	for _, e := range events {
		part.Observe(Predictions, e.TimeMs)
		part.Prediction(e)
	}
	part.Finish()
	panes, pr, _ := part.Report(t0, Unset, nil)
	a := NewAggregation(set, 0)
	for _, p := range panes {
		sendPane(a, t, p)
	}
	progress(a, t, pr.Source, pr.Watermark, pr.Idle, pr.Finished)
	if err := a.Advance(); err != nil {
		t.Fatal(err)
	}
	ref := a.Reference(0)
	if ref == nil || !ref.Complete || ref.Learned[hour] == nil {
		t.Fatal("the stream reference did not complete with learned windows")
	}
	return ref
}

// TestLearnedWindowsState: a stream reference's windows survive its state
// record, incomplete and complete, so a restored reference learns what the
// live one does.
func TestLearnedWindowsState(t *testing.T) {
	cfg, err := config.Parse("reckon.yaml", []byte(learnedConfig))
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSettings(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := set.Layout
	live := NewStreamReference(l, 0, base, base+8*hour)
	live.LearnWindows(set.Lengths)
	rng := rand.New(rand.NewPCG(9, 9))
	for h := range 8 {
		p := l.NewPartial(0)
		p.reset(0, base+int64(h)*hour, base+int64(h+1)*hour)
		for _, e := range learnedRows(rng, h, 1, 300, func(int) float64 { return 0 }) {
			p.AddPrediction(e, nil, false)
		}
		if err := live.Offer(p); err != nil {
			t.Fatal(err)
		}
		if h == 4 {
			if err := live.Fold(PaneKey{Start: base + 3*hour}); err != nil {
				t.Fatal(err)
			}
		}
	}
	roundTrip := func(r *Reference) *Reference {
		b, err := r.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := l.DecodeReference(0, b)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	restored := roundTrip(live)
	live.Finish()
	restored.Finish()
	complete := roundTrip(live)
	for name, r := range map[string]*Reference{"restored while incomplete": restored, "restored complete": complete} {
		want, got := live.Learned[hour], r.Learned[hour]
		if got == nil || got.Windows() != 8 {
			t.Fatalf("%s: learned %+v, want 8 windows", name, got)
		}
		for m, vs := range want.Features[0] {
			for i := range vs {
				if got.Features[0][m][i] != vs[i] {
					t.Errorf("%s: x %v window %d: %v, want %v", name, m, i, got.Features[0][m][i], vs[i])
				}
			}
		}
	}
}

// TestLearnedVerdictFallback: with a small reference, auto tests a numeric
// feature of three values with chi2 and a two-valued categorical one with
// z, neither of which has a statistic among a numeric feature's (or, for
// z, at all); learned thresholds then judge ks and chi2, and say so.
func TestLearnedVerdictFallback(t *testing.T) {
	const in = `
windows: [1h]
models:
  - name: m
    reference: {file: ref.json}
    drift: {threshold: learned}
    features:
      - {name: x, type: numeric}
      - {name: c, type: categorical}
`
	cfg, err := config.Parse("reckon.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	gen := func(h0, hours, n int, pTwo float64) []*event.Prediction {
		var out []*event.Prediction
		for h := h0; h < h0+hours; h++ {
			for i := range n {
				x := float64(rng.IntN(2))
				if rng.Float64() < pTwo {
					x = 2
				}
				c := "a"
				if rng.IntN(2) == 1 {
					c = "b"
				}
				out = append(out, &event.Prediction{TimeMs: base + int64(h)*hour + int64(i), Score: 0.5, LatencySeconds: math.NaN(),
					Num: []float64{x, 0}, Cat: [][]byte{nil, []byte(c)}, Missing: []bool{false, false}})
			}
		}
		return out
	}
	ref := fileReference(t, cfg, gen(0, 6, 150, 0.2)) // 900 rows: auto uses the tests
	for _, tc := range []struct {
		pTwo  float64
		drift bool
	}{{0.2, false}, {0.6, true}} {
		cur := LayoutOf(cfg).NewPartial(0)
		cur.reset(0, base+10*hour, base+11*hour)
		for _, e := range gen(10, 1, 150, tc.pTwo) {
			cur.AddPrediction(e, nil, false)
		}
		params := []sketch.DriftParams{cfg.Models[0].FeatureDrift(0), cfg.Models[0].FeatureDrift(1)}
		rep := Compare(ref, cur, params, cfg.Models[0].Drift)
		x, c := rep.Features[0], rep.Features[1]
		if !x.OK || !x.Learned || x.Decision.Method != sketch.MethodKS || !c.OK || !c.Learned || c.Decision.Method != sketch.MethodChi2 {
			t.Fatalf("x decided %v on %v (learned %v), c %v on %v (learned %v): want ks and chi2 on learned thresholds",
				x.OK, x.Decision.Method, x.Learned, c.OK, c.Decision.Method, c.Learned)
		}
		if x.Decision.Drifted != tc.drift {
			t.Errorf("share of 2s %v: x drifted %v (ks %v, bounds %+v), want %v", tc.pTwo, x.Decision.Drifted, x.Decision.Stat, x.Bounds, tc.drift)
		}
		// Without learned thresholds auto tests x with chi2.
		fixed := Compare(ref, cur, []sketch.DriftParams{sketch.DefaultDriftParams(), sketch.DefaultDriftParams()}, sketch.DefaultDriftParams())
		if m := fixed.Features[0].Decision.Method; m != sketch.MethodChi2 {
			t.Errorf("fixed thresholds: x tested with %v, want chi2 (the case this test is about)", m)
		}
	}
}
