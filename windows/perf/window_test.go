package perf

import (
	"bytes"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"testing"

	"gonum.org/v1/gonum/integrate"
	"gonum.org/v1/gonum/stat"
)

// opt is an optional float64 result: want ok and, if ok, v.
type opt struct {
	v  float64
	ok bool
}

func some(v float64) opt { return opt{v, true} }

var none = opt{}

func checkOpt(t *testing.T, name string, v float64, ok bool, want opt) {
	t.Helper()
	if ok != want.ok || (ok && math.Abs(v-want.v) > 1e-12) {
		t.Errorf("%s = (%v, %v), want (%v, %v)", name, v, ok, want.v, want.ok)
	}
}

func TestWindowSmall(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name                string
		in                  []triple
		conf                Confusion
		scored              uint64
		fpr, tpr, prec, acc opt
		f1                  opt
		brier, ece, auc     opt
		aucBound            float64
	}{
		{name: "empty", fpr: none, tpr: none, prec: none, acc: none, f1: none, brier: none, ece: none, auc: none},
		{
			name: "one of each cell",
			in:   []triple{{0.9, true, true}, {0.8, true, false}, {0.3, false, true}, {0.1, false, false}},
			conf: Confusion{TP: 1, FP: 1, TN: 1, FN: 1}, scored: 4,
			fpr: some(0.5), tpr: some(0.5), prec: some(0.5), acc: some(0.5),
			f1: some(0.5), // 2·1 / (2·1 + 1 + 1)
			// (0.1² + 0.8² + 0.7² + 0.1²)/4
			brier: some(1.15 / 4),
			// one triple per ECE bin: (|0.9−1| + |0.8−0| + |0.3−1| + |0.1−0|)/4
			ece: some(1.7 / 4),
			// positives {0.9, 0.3} vs negatives {0.8, 0.1}: 3 of 4 pairs ordered
			auc: some(0.75),
		},
		{
			name: "only positives",
			in:   []triple{{0.7, true, true}, {0.2, false, true}},
			conf: Confusion{TP: 1, FN: 1}, scored: 2,
			fpr: none, tpr: some(0.5), prec: some(1), acc: some(0.5),
			f1:    some(2.0 / 3), // 2/(2+0+1), = 2·1·0.5/(1+0.5)
			brier: some((0.09 + 0.64) / 2), ece: some((0.3 + 0.8) / 2), auc: none,
		},
		{
			name: "tied scores count one half",
			in:   []triple{{0.5, true, true}, {0.5, true, false}},
			conf: Confusion{TP: 1, FP: 1}, scored: 2,
			fpr: some(1), tpr: some(1), prec: some(0.5), acc: some(0.5),
			f1:    some(2.0 / 3), // 2/(2+1+0)
			brier: some(0.25), ece: some(0), auc: some(0.5), aucBound: 0.5,
		},
		{
			name: "NaN score counts in confusion only",
			in:   []triple{{nan, false, true}, {0.25, false, false}, {0.75, true, true}},
			conf: Confusion{TP: 1, TN: 1, FN: 1}, scored: 2,
			fpr: some(0), tpr: some(0.5), prec: some(1), acc: some(2.0 / 3),
			f1:    some(2.0 / 3), // 2/(2+0+1)
			brier: some((0.0625 + 0.0625) / 2), ece: some((0.25 + 0.25) / 2), auc: some(1),
		},
		{
			name: "out-of-range scores are clamped",
			in:   []triple{{1.5, true, true}, {-2, false, false}},
			conf: Confusion{TP: 1, TN: 1}, scored: 2,
			fpr: some(0), tpr: some(1), prec: some(1), acc: some(1), f1: some(1),
			brier: some(0), ece: some(0), auc: some(1),
		},
		{
			name: "predicted independent of score",
			in:   []triple{{0.1, true, false}, {0.9, false, true}},
			conf: Confusion{FP: 1, FN: 1}, scored: 2,
			fpr: some(1), tpr: some(0), prec: some(0), acc: some(0),
			f1:    some(0), // 0/(0+1+1)
			brier: some(0.01), ece: some(0.1), auc: some(1),
		},
		{
			name: "only true negatives: F1 undefined",
			in:   []triple{{0.2, false, false}},
			conf: Confusion{TN: 1}, scored: 1,
			fpr: some(0), tpr: none, prec: none, acc: some(1), f1: none,
			brier: some(0.04), ece: some(0.2), auc: none,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := windowOf(tt.in)
			if got := w.Confusion(); got != tt.conf {
				t.Errorf("Confusion = %+v, want %+v", got, tt.conf)
			}
			if w.Count() != tt.conf.Total() || w.Scored() != tt.scored {
				t.Errorf("Count, Scored = %d, %d, want %d, %d", w.Count(), w.Scored(), tt.conf.Total(), tt.scored)
			}
			v, ok := w.FPR()
			checkOpt(t, "FPR", v, ok, tt.fpr)
			v, ok = w.TPR()
			checkOpt(t, "TPR", v, ok, tt.tpr)
			v, ok = w.Precision()
			checkOpt(t, "Precision", v, ok, tt.prec)
			v, ok = w.Accuracy()
			checkOpt(t, "Accuracy", v, ok, tt.acc)
			v, ok = w.F1()
			checkOpt(t, "F1", v, ok, tt.f1)
			v, ok = w.Brier()
			checkOpt(t, "Brier", v, ok, tt.brier)
			v, ok = w.ECE()
			checkOpt(t, "ECE", v, ok, tt.ece)
			v, ok = w.AUC()
			checkOpt(t, "AUC", v, ok, tt.auc)
			if got := w.AUCErrorBound(); math.Abs(got-tt.aucBound) > 1e-12 {
				t.Errorf("AUCErrorBound = %v, want %v", got, tt.aucBound)
			}
		})
	}
}

// TestAUCAgainstExact measures the histogram AUC against the exact,
// sort-based AUC on 100k samples per distribution and checks it against the
// documented bound. The exact AUC is itself cross-checked with gonum's ROC
// curve integrated by the trapezoidal rule.
func TestAUCAgainstExact(t *testing.T) {
	const n = 100_000
	normal := func(mu, sigma float64) func(*rand.Rand) float64 {
		return func(r *rand.Rand) float64 { return sigmoid(mu + sigma*r.NormFloat64()) }
	}
	tests := []struct {
		name     string
		pos, neg func(*rand.Rand) float64
		maxErr   float64 // asserted on top of the data-dependent bound
	}{
		{"well separated", normal(1.5, 1), normal(-1.5, 1), 1e-3},
		{"overlapping", normal(0.3, 1), normal(-0.3, 1), 1e-3},
		{"uniform scores", func(r *rand.Rand) float64 { return r.Float64() }, func(r *rand.Rand) float64 { return r.Float64() * 0.9 }, 1e-3},
		// Scores concentrated near 1: dense bins, the hardest case for the
		// histogram.
		{"concentrated near 1", normal(5, 0.6), normal(4.6, 0.6), 5e-3},
		// Scores rounded to two decimals: each distinct score has its own
		// bin, so ties are handled exactly as the exact AUC does.
		{"rounded scores", func(r *rand.Rand) float64 { return math.Round(100*sigmoid(0.5+r.NormFloat64())) / 100 },
			func(r *rand.Rand) float64 { return math.Round(100*sigmoid(-0.5+r.NormFloat64())) / 100 }, 1e-12},
	}
	t.Logf("| distribution | exact AUC | histogram AUC | |error| | bound Σ P_b·N_b/(2PN) |")
	t.Logf("|---|---|---|---|---|")
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRand(uint64(100 + i))
			ts := make([]triple, n)
			for j := range ts {
				label := r.Float64() < 0.3
				s := tt.neg(r)
				if label {
					s = tt.pos(r)
				}
				ts[j] = triple{score: s, label: label}
			}
			exact := exactAUC(ts)
			if g := gonumAUC(ts); math.Abs(g-exact) > 1e-9 {
				t.Fatalf("exact AUC %v disagrees with gonum ROC+trapezoid %v", exact, g)
			}
			w := windowOf(ts)
			got, ok := w.AUC()
			if !ok {
				t.Fatal("AUC not ok")
			}
			bound := w.AUCErrorBound()
			diff := math.Abs(got - exact)
			t.Logf("| %s | %.6f | %.6f | %.2e | %.2e |", tt.name, exact, got, diff, bound)
			if diff > bound+1e-12 {
				t.Errorf("|AUC − exact| = %g exceeds the bound %g", diff, bound)
			}
			if diff > tt.maxErr {
				t.Errorf("|AUC − exact| = %g > %g", diff, tt.maxErr)
			}
		})
	}
}

// gonumAUC integrates gonum's ROC curve, an independent exact AUC.
func gonumAUC(ts []triple) float64 {
	s := slices.Clone(ts)
	sort.SliceStable(s, func(i, j int) bool { return s[i].score < s[j].score })
	y := make([]float64, len(s))
	classes := make([]bool, len(s))
	for i, t := range s {
		y[i], classes[i] = t.score, t.label
	}
	tpr, fpr, _ := stat.ROC(nil, y, classes, nil)
	return integrate.Trapezoidal(fpr, tpr)
}

// TestWindowMergeDeterministic checks that partial windows merged in any
// order and grouping are bit-for-bit the window of the whole stream, which
// is what makes results identical whether one member or several did the
// work (docs/semantics.md).
func TestWindowMergeDeterministic(t *testing.T) {
	r := newRand(7)
	ts := labelled(r, 50_000, func(r *rand.Rand) float64 { return sigmoid(-1 + 1.5*r.NormFloat64()) },
		func(s float64) float64 { return s }, 0.5)
	whole := windowOf(ts)
	want, _ := whole.MarshalBinary()

	const parts = 7
	partial := make([]*Window, parts)
	for i := range partial {
		partial[i] = new(Window)
	}
	for _, tr := range ts {
		partial[r.IntN(parts)].Add(tr.score, tr.predicted, tr.label)
	}
	orders := [][]int{{0, 1, 2, 3, 4, 5, 6}, {6, 5, 4, 3, 2, 1, 0}, {3, 0, 6, 1, 5, 2, 4}}
	for _, order := range orders {
		m := new(Window)
		for _, i := range order {
			m.Merge(partial[i])
		}
		got, _ := m.MarshalBinary()
		if !bytes.Equal(got, want) {
			t.Fatalf("merge in order %v differs from the whole window", order)
		}
	}
	// Tree-shaped grouping: ((0+1)+(2+3)) + ((4+5)+6).
	a, b, c, d := new(Window), new(Window), new(Window), new(Window)
	a.Merge(partial[0])
	a.Merge(partial[1])
	b.Merge(partial[2])
	b.Merge(partial[3])
	c.Merge(partial[4])
	c.Merge(partial[5])
	d.Merge(partial[6])
	a.Merge(b)
	c.Merge(d)
	c.Merge(a)
	got, _ := c.MarshalBinary()
	if !bytes.Equal(got, want) {
		t.Fatal("tree-shaped merge differs from the whole window")
	}
	b1, _ := whole.Brier()
	b2, _ := c.Brier()
	e1, _ := whole.ECE()
	e2, _ := c.ECE()
	if b1 != b2 || e1 != e2 {
		t.Fatalf("derived values differ: Brier %v vs %v, ECE %v vs %v", b1, b2, e1, e2)
	}

	// Merging with itself doubles; nil is a no-op.
	dbl := windowOf(ts)
	dbl.Merge(dbl)
	dbl.Merge(nil)
	if dbl.Count() != 2*whole.Count() || dbl.Scored() != 2*whole.Scored() {
		t.Fatalf("self-merge: count %d, want %d", dbl.Count(), 2*whole.Count())
	}
	if a1, _ := whole.AUC(); func() float64 { v, _ := dbl.AUC(); return v }() != a1 {
		t.Fatal("self-merge changed the AUC")
	}
}

func TestWindowBrierAndECEMatchDirect(t *testing.T) {
	r := newRand(11)
	ts := labelled(r, 20_000, func(r *rand.Rand) float64 { return r.Float64() },
		func(s float64) float64 { return s * s }, 0.5)
	w := windowOf(ts)
	var brier float64
	var n, sumS, sumY [NumCalibrationBins]float64
	for _, tr := range ts {
		y := 0.0
		if tr.label {
			y = 1
		}
		brier += (tr.score - y) * (tr.score - y)
		b := min(int(tr.score*10), 9)
		n[b]++
		sumS[b] += tr.score
		sumY[b] += y
	}
	var ece float64
	for b := range n {
		if n[b] > 0 {
			ece += n[b] / float64(len(ts)) * math.Abs(sumS[b]/n[b]-sumY[b]/n[b])
		}
	}
	brier /= float64(len(ts))
	if got, _ := w.Brier(); math.Abs(got-brier) > 1e-12 {
		t.Errorf("Brier = %v, direct %v", got, brier)
	}
	if got, _ := w.ECE(); math.Abs(got-ece) > 1e-12 {
		t.Errorf("ECE = %v, direct %v", got, ece)
	}
	// Scores uniform, labels Bernoulli(s²): ECE ≈ ∫|s−s²|ds = 1/6.
	if got, _ := w.ECE(); math.Abs(got-1.0/6) > 0.01 {
		t.Errorf("ECE = %v, want ≈ 1/6", got)
	}
}

func TestWindowAddDoesNotAllocate(t *testing.T) {
	w := new(Window)
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		w.Add(float64(i%1000)/1000, i%3 == 0, i%2 == 0)
	})
	if allocs != 0 {
		t.Fatalf("Add allocates %v times", allocs)
	}
}

func TestWindowReset(t *testing.T) {
	w := windowOf([]triple{{0.4, false, true}})
	w.Reset()
	if w.Count() != 0 || w.Scored() != 0 {
		t.Fatal("Reset left data behind")
	}
	if got, _ := w.MarshalBinary(); !bytes.Equal(got, mustMarshal(t, new(Window))) {
		t.Fatal("Reset window encodes differently from a new one")
	}
}

// allocated is the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestWindowMemory: a window holds its 32 KiB of score histograms only once
// it has a scored triple (a pane that only counts outcomes, or joins
// without scores, stays small), keeps them through Reset so that a
// recycled window's Add allocates nothing, and decodes into them.
func TestWindowMemory(t *testing.T) {
	const n = 100
	ws := make([]*Window, n)
	if b := allocated(func() {
		for i := range ws {
			ws[i] = NewWindow()
			ws[i].Add(math.NaN(), i%2 == 0, i%3 == 0)
		}
	}); b > n*1024 {
		t.Errorf("%d windows without a scored triple take %d bytes, want at most 1 KiB each", n, b)
	}
	if b := allocated(func() { ws[0].Add(0.3, false, true) }); b < 2*NumScoreBins*8 {
		t.Errorf("the first scored triple allocated %d bytes: where are the histograms?", b)
	}

	full := windowOf([]triple{{0.1, false, false}, {0.9, true, true}, {0.5, true, false}})
	full.Reset()
	if a := testing.AllocsPerRun(100, func() { full.Add(0.7, true, true) }); a != 0 {
		t.Errorf("Add after Reset allocates %v times", a)
	}
	// Decoding into a window that has histograms: the same as into a new
	// one, for an empty and a full encoding, and nothing changes on error.
	for _, src := range []*Window{new(Window), windowOf([]triple{{0.2, true, false}, {0.8, true, true}})} {
		data := mustMarshal(t, src)
		if err := full.UnmarshalBinary(data); err != nil {
			t.Fatal(err)
		}
		if got := mustMarshal(t, full); !bytes.Equal(got, data) {
			t.Errorf("decoded into a used window, %d scored: encodes differently", src.Scored())
		}
		a1, ok1 := full.AUC()
		a2, ok2 := src.AUC()
		if a1 != a2 || ok1 != ok2 {
			t.Errorf("decoded into a used window, %d scored: AUC %v %v, want %v %v", src.Scored(), a1, ok1, a2, ok2)
		}
	}
	before := mustMarshal(t, full)
	bad := bytes.Clone(before)
	bad[5+4]++ // scored disagrees with the histograms
	if err := full.UnmarshalBinary(bad); err == nil {
		t.Fatal("inconsistent window accepted")
	}
	if !bytes.Equal(mustMarshal(t, full), before) {
		t.Error("receiver with histograms changed on error")
	}
}
