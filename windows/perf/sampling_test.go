package perf

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/reckonhq/reckon/sketch"
)

// nannyCBPE is an independent implementation of NannyML's CBPE for ROC AUC
// and F1 (nannyml/performance_estimation/confidence_based/metrics.py,
// estimate_roc_auc and estimate_f1), on the calibrated probabilities p of
// predictions with scores s and predicted classes pred. It shares no code
// with the package: it sorts, takes cumulative sums and integrates by
// trapezoids as NannyML does.
func nannyCBPE(s, p []float64, pred []bool) (auc, f1 float64) {
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	// np.argsort(model_y_pred_proba)[::-1]: descending score.
	sort.SliceStable(idx, func(a, b int) bool { return s[idx[a]] > s[idx[b]] })
	tps := make([]float64, len(s)+1)
	fps := make([]float64, len(s)+1)
	for k, i := range idx {
		tps[k+1] = tps[k] + p[i]
		fps[k+1] = float64(k+1) - tps[k+1]
	}
	T, F := tps[len(s)], fps[len(s)]
	for k := 1; k <= len(s); k++ { // sklearn.metrics.auc: trapezoids over (fpr, tpr)
		auc += (fps[k] - fps[k-1]) / F * (tps[k] + tps[k-1]) / T / 2
	}
	var tp, fp, fn float64
	for i := range s {
		if pred[i] {
			tp += p[i]
			fp += 1 - p[i]
		} else {
			fn += p[i]
		}
	}
	return auc, tp / (tp + 0.5*(fp+fn))
}

// isotonic is an independent isotonic regression of labels on scores, as
// sklearn's IsotonicRegression(out_of_bounds="clip") that NannyML uses:
// pool-adjacent-violators over the rows sorted by score (equal scores
// pooled first), then linear interpolation between the fitted points.
type isotonic struct{ x, y []float64 }

func fitIsotonic(s []float64, label []bool) isotonic {
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return s[idx[a]] < s[idx[b]] })
	type block struct{ x, sum, n float64 }
	var bs []block
	for k := 0; k < len(idx); {
		j, sum := k, 0.0
		for ; j < len(idx) && s[idx[j]] == s[idx[k]]; j++ {
			if label[idx[j]] {
				sum++
			}
		}
		bs = append(bs, block{x: s[idx[k]], sum: sum, n: float64(j - k)})
		k = j
	}
	// PAV on the unique scores, remembering each point's block.
	type pool struct {
		sum, n   float64
		from, to int // points [from, to)
	}
	var ps []pool
	for i, b := range bs {
		ps = append(ps, pool{b.sum, b.n, i, i + 1})
		for len(ps) > 1 && ps[len(ps)-2].sum/ps[len(ps)-2].n > ps[len(ps)-1].sum/ps[len(ps)-1].n {
			a, c := ps[len(ps)-2], ps[len(ps)-1]
			ps = append(ps[:len(ps)-2], pool{a.sum + c.sum, a.n + c.n, a.from, c.to})
		}
	}
	iso := isotonic{x: make([]float64, len(bs)), y: make([]float64, len(bs))}
	for _, p := range ps {
		for i := p.from; i < p.to; i++ {
			iso.x[i], iso.y[i] = bs[i].x, p.sum/p.n
		}
	}
	return iso
}

func (iso isotonic) predict(s float64) float64 { // np.interp
	x, y := iso.x, iso.y
	if s <= x[0] {
		return y[0]
	}
	if s >= x[len(x)-1] {
		return y[len(y)-1]
	}
	i := sort.SearchFloat64s(x, s) // x[i-1] < s ≤ x[i]
	if x[i] == s {
		return y[i]
	}
	return y[i-1] + (y[i]-y[i-1])*(s-x[i-1])/(x[i]-x[i-1])
}

// TestEstimatedAUCF1 is the acceptance test of the estimated ROC AUC and F1
// and of the standard errors, on simulated data whose truth is known:
// scores sigmoid(−1 + 1.5·z), labels Bernoulli(g(score)) for a
// miscalibrated g, predicted positive at score ≥ 0.5. A 50,000-row
// labelled reference fits the calibrator; then 400 stationary windows of
// 5,000 predictions each are estimated (the calibrated estimate from the
// package, the estimated AUC from the window's score sketch) and realised.
//
//   - The estimated AUC and F1 are within 0.01 of NannyML's CBPE computed
//     independently above (its own isotonic fit and formulas).
//   - The realised AUC and F1 (and the four rates) lie inside the estimate
//     ± 3 standard errors in at least 95% of the windows.
//   - The standard errors are right: over the windows, the standard
//     deviation of each realised figure is within 15% of its mean standard
//     error, and the realised value ± 3 SE covers the population's value in
//     at least 95% of windows.
func TestEstimatedAUCF1(t *testing.T) {
	const (
		refN      = 50_000
		windows   = 400
		winN      = 5_000
		threshold = 0.5
	)
	r := newRand(16)
	score := func() float64 { return sigmoid(-1 + 1.5*r.NormFloat64()) }
	g := func(s float64) float64 { return sigmoid(1.4*math.Log(s/(1-s)) - 0.3) }
	draw := func(n int) (s []float64, pred, label []bool) {
		s, pred, label = make([]float64, n), make([]bool, n), make([]bool, n)
		for i := range s {
			s[i] = score()
			pred[i] = s[i] >= threshold
			label[i] = r.Float64() < g(s[i])
		}
		return s, pred, label
	}

	rs, rpred, rlabel := draw(refN)
	ref := new(Window)
	for i := range rs {
		ref.Add(rs[i], rpred[i], rlabel[i])
	}
	cal, err := FitCalibrator(ref)
	if err != nil {
		t.Fatal(err)
	}
	iso := fitIsotonic(rs, rlabel)

	// The population's values, from one large sample.
	ps, ppred, plabel := draw(1_000_000)
	pop := new(Window)
	for i := range ps {
		pop.Add(ps[i], ppred[i], plabel[i])
	}
	popAUC, _ := pop.AUC()
	popRate := map[Metric]float64{}
	for _, m := range Metrics() {
		popRate[m], _ = pop.Confusion().Rate(m)
	}

	type stat struct {
		name                 string
		realised, se, estSE  []float64
		est                  []float64
		inEstBand, coversPop int
	}
	stats := map[string]*stat{}
	add := func(name string, realised, se, est, estSE, popValue float64) {
		st := stats[name]
		if st == nil {
			st = &stat{name: name}
			stats[name] = st
		}
		st.realised = append(st.realised, realised)
		st.se = append(st.se, se)
		st.est = append(st.est, est)
		st.estSE = append(st.estSE, estSE)
		if math.Abs(realised-est) <= 3*estSE {
			st.inEstBand++
		}
		if math.Abs(realised-popValue) <= 3*se {
			st.coversPop++
		}
	}
	var maxAUCDiff, maxF1Diff float64
	for range windows {
		s, pred, label := draw(winN)
		var est Estimate
		w := new(Window)
		sk := sketch.NewNumeric(nil)
		for i := range s {
			est.Add(cal.Calibrate(s[i]), pred[i])
			w.Add(s[i], pred[i], label[i])
			sk.Add(s[i])
		}
		vs, ws := sk.Masses()
		eAUC, eAUCSE, ok := EstimatedAUC(vs, ws, cal)
		if !ok {
			t.Fatal("estimated AUC undefined")
		}
		eF1, ok := est.F1()
		if !ok {
			t.Fatal("estimated F1 undefined")
		}
		p := make([]float64, len(s))
		for i := range s {
			p[i] = iso.predict(s[i])
		}
		nAUC, nF1 := nannyCBPE(s, p, pred)
		maxAUCDiff = max(maxAUCDiff, math.Abs(eAUC-nAUC))
		maxF1Diff = max(maxF1Diff, math.Abs(eF1-nF1))

		rAUC, _ := w.AUC()
		rAUCSE, _ := w.AUCStandardError()
		add("auc", rAUC, rAUCSE, eAUC, eAUCSE, popAUC)
		ex := est.Expected()
		for _, m := range Metrics() {
			rv, _ := w.Confusion().Rate(m)
			rse, ok1 := w.Confusion().StandardError(m)
			ev, _ := ex.Rate(m)
			ese, ok2 := ex.StandardError(m)
			if !ok1 || !ok2 {
				t.Fatalf("%v: SE undefined", m)
			}
			add(m.String(), rv, rse, ev, ese, popRate[m])
		}
	}
	t.Logf("max |estimated − NannyML CBPE|: AUC %.5f, F1 %.5f", maxAUCDiff, maxF1Diff)
	if maxAUCDiff > 0.01 || maxF1Diff > 0.01 {
		t.Errorf("estimates differ from NannyML's CBPE by up to AUC %.4f, F1 %.4f; want ≤ 0.01", maxAUCDiff, maxF1Diff)
	}
	names := make([]string, 0, len(stats))
	for n := range stats {
		names = append(names, n)
	}
	slices.Sort(names)
	t.Logf("| metric | SD of realised | mean SE | mean estimated SE | realised in estimate ± 3 SE | population in realised ± 3 SE |")
	for _, n := range names {
		st := stats[n]
		sd := stddev(st.realised)
		meanSE, meanEstSE := mean(st.se), mean(st.estSE)
		t.Logf("| %s | %.5f | %.5f | %.5f | %.1f%% | %.1f%% |", n, sd, meanSE, meanEstSE,
			100*float64(st.inEstBand)/windows, 100*float64(st.coversPop)/windows)
		if st.inEstBand < windows*95/100 {
			t.Errorf("%s: realised inside estimate ± 3 SE in %d of %d windows, want ≥ 95%%", n, st.inEstBand, windows)
		}
		if st.coversPop < windows*95/100 {
			t.Errorf("%s: population value inside realised ± 3 SE in %d of %d windows, want ≥ 95%%", n, st.coversPop, windows)
		}
		if ratio := sd / meanSE; ratio < 0.85 || ratio > 1.15 {
			t.Errorf("%s: SD of the realised value %.5f vs mean SE %.5f (ratio %.3f), want within 15%%", n, sd, meanSE, ratio)
		}
		if ratio := meanEstSE / meanSE; ratio < 0.85 || ratio > 1.15 {
			t.Errorf("%s: mean SE of the estimate %.5f vs of the realised value %.5f, want within 15%%", n, meanEstSE, meanSE)
		}
	}
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func stddev(xs []float64) float64 {
	m := mean(xs)
	var s float64
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(xs)-1))
}

// TestEstimatedAUCDigest checks the estimated AUC from a score sketch that
// left exact mode (a window of 100,000 predictions: a t-digest) against
// the same estimate over the raw scores, and both against NannyML's.
func TestEstimatedAUCDigest(t *testing.T) {
	r := newRand(7)
	const n = 100_000
	s, pred := make([]float64, n), make([]bool, n)
	sk := sketch.NewNumeric(nil)
	for i := range s {
		s[i] = sigmoid(-0.5 + 2*r.NormFloat64())
		pred[i] = s[i] >= 0.5
		sk.Add(s[i])
	}
	if sk.Exact() {
		t.Fatal("sketch still exact")
	}
	cal := &Calibrator{x: []float64{0.1, 0.5, 0.9}, y: []float64{0.02, 0.3, 0.97}}
	vs, ws := sk.Masses()
	got, _, ok := EstimatedAUC(vs, ws, cal)
	if !ok {
		t.Fatal("undefined")
	}
	p := make([]float64, n)
	for i := range s {
		p[i] = cal.Calibrate(s[i])
	}
	want, _ := nannyCBPE(s, p, pred)
	if math.Abs(got-want) > 0.001 {
		t.Errorf("estimated AUC from the digest %.5f, NannyML's from the raw scores %.5f", got, want)
	}
}

func TestStandardErrorSmall(t *testing.T) {
	c := Confusion{TP: 30, FP: 10, TN: 50, FN: 10}
	tests := []struct {
		m    Metric
		want float64
	}{
		{MetricFPR, math.Sqrt(10.0 / 60 * 50 / 60 / 60)},
		{MetricTPR, math.Sqrt(0.75 * 0.25 / 40)},
		{MetricPrecision, math.Sqrt(0.75 * 0.25 / 40)},
		{MetricAccuracy, math.Sqrt(0.8 * 0.2 / 100)},
		// J = 30/50: 2/(1.6)² · √(0.6·0.4/50).
		{MetricF1, 2 / (1.6 * 1.6) * math.Sqrt(0.6*0.4/50)},
	}
	for _, tt := range tests {
		got, ok := c.StandardError(tt.m)
		if !ok || math.Abs(got-tt.want) > 1e-15 {
			t.Errorf("%v: SE = %v, %v; want %v", tt.m, got, ok, tt.want)
		}
		ex := ExpectedConfusion{TP: 30, FP: 10, TN: 50, FN: 10}
		if got2, _ := ex.StandardError(tt.m); got2 != got {
			t.Errorf("%v: expected-count SE %v ≠ count SE %v", tt.m, got2, got)
		}
	}
	if _, ok := (Confusion{TP: 3}).StandardError(MetricFPR); ok {
		t.Error("SE of an undefined FPR is ok")
	}
	// DeLong's standard error against its definition computed pair by
	// pair, on integer scores with ties.
	r := newRand(3)
	var ts []triple
	w := new(Window)
	for range 300 {
		tr := triple{score: float64(r.IntN(40)) / 40}
		tr.label = r.Float64() < tr.score
		ts = append(ts, tr)
		w.Add(tr.score, false, tr.label)
	}
	var pos, neg []float64
	for _, tr := range ts {
		if tr.label {
			pos = append(pos, tr.score)
		} else {
			neg = append(neg, tr.score)
		}
	}
	psi := func(x, y float64) float64 {
		switch {
		case x > y:
			return 1
		case x == y:
			return 0.5
		}
		return 0
	}
	v10, v01 := make([]float64, len(pos)), make([]float64, len(neg))
	for i, x := range pos {
		for j, y := range neg {
			v10[i] += psi(x, y) / float64(len(neg))
			v01[j] += psi(x, y) / float64(len(pos))
		}
	}
	popVar := func(v []float64) float64 { // Σ(v−mean)²/n
		m := mean(v)
		var s float64
		for _, x := range v {
			s += (x - m) * (x - m)
		}
		return s / float64(len(v))
	}
	want := math.Sqrt(popVar(v10)/float64(len(pos)) + popVar(v01)/float64(len(neg)))
	if got, ok := w.AUCStandardError(); !ok || math.Abs(got-want) > 1e-12 {
		t.Errorf("AUCStandardError = %v, %v; want %v", got, ok, want)
	}
	if _, ok := new(Window).AUCStandardError(); ok {
		t.Error("AUC SE of an empty window is ok")
	}
}

// TestCalibrationErrors checks the reference calibration report: raw
// scores labelled Bernoulli(g(score)) with g far from the identity have an
// ECE near the population's (the mean |E[score − g(score)]| per bin), the
// cross-validated ECE after the isotonic fit is near the noise floor of a
// calibrated model's, and the result is a deterministic function of the
// window.
func TestCalibrationErrors(t *testing.T) {
	const n = 50_000
	score := func(r *rand.Rand) float64 { return sigmoid(-1 + 1.5*r.NormFloat64()) }
	tests := []struct {
		name         string
		g            func(float64) float64
		rawMin       float64 // raw ECE at least
		calibMax     float64 // calibrated ECE at most
		improveRatio float64 // calibrated ≤ ratio · raw; 0 = unchecked
	}{
		{"square", func(s float64) float64 { return s * s }, 0.1, 0.01, 0.1},
		{"calibrated", func(s float64) float64 { return s }, 0, 0.015, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := windowOf(labelled(newRand(9), n, score, tt.g, 0.5))
			raw, calib, ok := CalibrationErrors(w)
			if !ok {
				t.Fatal("not ok")
			}
			if want, _ := w.ECE(); raw != want {
				t.Errorf("raw ECE %v, want Window.ECE %v", raw, want)
			}
			t.Logf("raw %.4f, calibrated (10-fold) %.4f", raw, calib)
			if raw < tt.rawMin || calib > tt.calibMax || (tt.improveRatio > 0 && calib > tt.improveRatio*raw) {
				t.Errorf("raw %.4f (want ≥ %v), calibrated %.4f (want ≤ %v)", raw, tt.rawMin, calib, tt.calibMax)
			}
			raw2, calib2, _ := CalibrationErrors(w)
			if raw2 != raw || calib2 != calib {
				t.Error("not deterministic")
			}
		})
	}
	if _, _, ok := CalibrationErrors(new(Window)); ok {
		t.Error("empty window ok")
	}
}
