package perf

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

func TestEstimateSmall(t *testing.T) {
	var e Estimate
	e.Add(0.8, true)  // TP .8, FP .2
	e.Add(0.3, false) // FN .3, TN .7
	e.Add(1.4, true)  // clamped: TP 1
	e.Add(math.NaN(), true)
	want := ExpectedConfusion{TP: 1.8, FP: 0.2, TN: 0.7, FN: 0.3}
	got := e.Expected()
	if math.Abs(got.TP-want.TP) > 1e-15 || math.Abs(got.FP-want.FP) > 1e-15 ||
		math.Abs(got.TN-want.TN) > 1e-15 || math.Abs(got.FN-want.FN) > 1e-15 {
		t.Fatalf("Expected = %+v, want %+v", got, want)
	}
	if e.Count() != 3 || e.Skipped() != 1 {
		t.Fatalf("Count, Skipped = %d, %d", e.Count(), e.Skipped())
	}
	// E[TP]+E[FP] is exactly the number of predicted positives.
	if got.TP+got.FP != 2 || got.TN+got.FN != 1 {
		t.Fatalf("row sums %v, %v", got.TP+got.FP, got.TN+got.FN)
	}
	checks := []struct {
		name string
		f    func() (float64, bool)
		want opt
	}{
		{"FPR", e.FPR, some(0.2 / 0.9)},
		{"TPR", e.TPR, some(1.8 / 2.1)},
		{"Precision", e.Precision, some(0.9)},
		{"Accuracy", e.Accuracy, some(2.5 / 3)},
	}
	for _, c := range checks {
		v, ok := c.f()
		checkOpt(t, c.name, v, ok, c.want)
	}
	var empty Estimate
	for _, m := range Metrics() {
		if _, ok := empty.Expected().Rate(m); ok {
			t.Errorf("empty estimate: %v ok", m)
		}
	}
	var sure Estimate
	sure.Add(1, true)
	if _, ok := sure.FPR(); ok {
		t.Error("FPR of p=1 only is 0/0 but ok")
	}
}

func TestEstimateMergeDeterministic(t *testing.T) {
	r := newRand(5)
	var whole Estimate
	parts := make([]Estimate, 5)
	for range 30_000 {
		p := r.Float64()
		pred := r.Float64() < 0.4
		whole.Add(p, pred)
		parts[r.IntN(len(parts))].Add(p, pred)
	}
	var m Estimate
	for i := len(parts) - 1; i >= 0; i-- {
		m.Merge(&parts[i])
	}
	m.Merge(nil)
	a, _ := whole.MarshalBinary()
	b, _ := m.MarshalBinary()
	if !bytes.Equal(a, b) || whole.Expected() != m.Expected() {
		t.Fatal("merged estimate differs from the whole")
	}
}

func TestEstimateAddDoesNotAllocate(t *testing.T) {
	var e Estimate
	if a := testing.AllocsPerRun(1000, func() { e.Add(0.42, true) }); a != 0 {
		t.Fatalf("Add allocates %v times", a)
	}
}

func TestGap(t *testing.T) {
	est := ExpectedConfusion{TP: 8, FP: 2, TN: 6, FN: 4}
	real := Confusion{TP: 7, FP: 3, TN: 5, FN: 5}
	tests := []struct {
		m    Metric
		want float64
	}{
		{MetricFPR, 2.0/8 - 3.0/8},
		{MetricTPR, 8.0/12 - 7.0/12},
		{MetricPrecision, 0.8 - 0.7},
		{MetricAccuracy, 0.7 - 0.6},
	}
	for _, tt := range tests {
		got, ok := Gap(tt.m, est, real)
		if !ok || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Gap(%v) = %v, %v, want %v", tt.m, got, ok, tt.want)
		}
	}
	if _, ok := Gap(MetricFPR, est, Confusion{TP: 1}); ok {
		t.Error("Gap with undefined realised FPR is ok")
	}
	if _, ok := Gap(MetricFPR, ExpectedConfusion{}, real); ok {
		t.Error("Gap with undefined estimate is ok")
	}
	if _, ok := Gap(Metric(0), est, real); ok {
		t.Error("Gap of an unknown metric is ok")
	}
	if MetricFPR.String() != "fpr" || Metric(9).String() != "Metric(9)" {
		t.Error("Metric.String")
	}
}

// TestCBPE checks confidence-based performance estimation end to end on
// synthetic streams of 200k predictions with fixed seeds:
//
//   - calibrated scores (labels ~ Bernoulli(score)): the identity estimate
//     is within 0.01 of the realised rates;
//   - miscalibrated but monotone scores (labels ~ Bernoulli(g(score)) for
//     increasing g ≠ identity): the identity estimate is off, and an
//     isotonic Calibrator fitted on a separate 200k reference brings it
//     within 0.01;
//   - a concept change after fitting (labels now ~ Bernoulli(g′(score))):
//     the estimate keeps describing the reference relation, and the gap to
//     the realised FPR opens beyond 0.05.
func TestCBPE(t *testing.T) {
	const n = 200_000
	const threshold = 0.5
	score := func(r *rand.Rand) float64 { return sigmoid(-1 + 1.5*r.NormFloat64()) }
	identity := func(s float64) float64 { return s }
	square := func(s float64) float64 { return s * s }
	// A model that has become overconfident in its negatives.
	shifted := func(s float64) float64 { return math.Min(1, math.Sqrt(s)+0.05) }

	tests := []struct {
		name      string
		reference func(float64) float64 // nil: identity calibration
		current   func(float64) float64
		within    float64 // every |gap| must be ≤ within; 0 = unchecked
		fprAbove  float64 // |FPR gap| must be > fprAbove; 0 = unchecked
	}{
		{name: "calibrated, identity", current: identity, within: 0.01},
		{name: "miscalibrated s², identity", current: square, fprAbove: 0.02},
		{name: "miscalibrated s², isotonic", reference: square, current: square, within: 0.01},
		{name: "concept change s² → √s+0.05, isotonic", reference: square, current: shifted, fprAbove: 0.05},
	}
	t.Logf("| scenario | est FPR | real FPR | FPR gap | TPR gap | precision gap | accuracy gap |")
	t.Logf("|---|---|---|---|---|---|---|")
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cal *Calibrator // identity
			if tt.reference != nil {
				ref := windowOf(labelled(newRand(uint64(1000+i)), n, score, tt.reference, threshold))
				var err error
				if cal, err = FitCalibrator(ref); err != nil {
					t.Fatal(err)
				}
			}
			cur := labelled(newRand(uint64(2000+i)), n, score, tt.current, threshold)
			var est Estimate
			realised := new(Window)
			for _, tr := range cur {
				est.Add(cal.Calibrate(tr.score), tr.predicted)
				realised.Add(tr.score, tr.predicted, tr.label)
			}
			var gaps [5]float64
			for j, m := range Metrics() {
				g, ok := Gap(m, est.Expected(), realised.Confusion())
				if !ok {
					t.Fatalf("%v gap undefined", m)
				}
				gaps[j] = g
				if tt.within > 0 && math.Abs(g) > tt.within {
					t.Errorf("%v gap %.4f exceeds %.2f", m, g, tt.within)
				}
			}
			ef, _ := est.FPR()
			rf, _ := realised.FPR()
			t.Logf("| %s | %.4f | %.4f | %+.4f | %+.4f | %+.4f | %+.4f |", tt.name, ef, rf, gaps[0], gaps[1], gaps[2], gaps[3])
			if tt.fprAbove > 0 && math.Abs(gaps[0]) <= tt.fprAbove {
				t.Errorf("FPR gap %.4f, want |gap| > %.2f", gaps[0], tt.fprAbove)
			}
		})
	}
}
