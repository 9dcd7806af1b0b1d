package perf

import (
	"bytes"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// bigSum is the exact sum of xs rounded once to float64: the ground truth
// of exactSum.
func bigSum(xs []float64) float64 {
	s := new(big.Float).SetPrec(4096)
	for _, x := range xs {
		s.Add(s, new(big.Float).SetPrec(4096).SetFloat64(x))
	}
	v, _ := s.Float64()
	return v
}

func TestExactSumMatchesBigFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gens := map[string]func() float64{
		"uniform":    func() float64 { return r.Float64() },
		"wide":       func() float64 { return math.Ldexp(r.Float64(), r.IntN(2000)-1000) },
		"subnormals": func() float64 { return math.Float64frombits(r.Uint64N(1 << 52)) },
		"huge":       func() float64 { return math.MaxFloat64 * r.Float64() },
		"cancelling": func() float64 { return []float64{1e300, 1, 1e-300}[r.IntN(3)] },
	}
	for name, gen := range gens {
		t.Run(name, func(t *testing.T) {
			xs := make([]float64, 5000)
			for i := range xs {
				xs[i] = gen()
			}
			want := bigSum(xs)
			// Three splits merged in different orders give the same bits.
			var parts [3]exactSum
			for i, x := range xs {
				parts[r.IntN(3)].add(x)
				_ = i
			}
			var a, b exactSum
			a.merge(&parts[0])
			a.merge(&parts[1])
			a.merge(&parts[2])
			b.merge(&parts[2])
			b.merge(&parts[0])
			b.merge(&parts[1])
			if a != b {
				t.Fatal("merge order changed the sum")
			}
			if got := a.float(); got != want && !(math.IsInf(got, 1) && math.IsInf(want, 1)) {
				t.Errorf("sum %v, want %v", got, want)
			}
			var e encoder
			a.appendTo(&e)
			d := newDecoder("test", e.b)
			if c := d.exactSum(); c != a || d.End() != nil {
				t.Errorf("round trip differs")
			}
		})
	}
}

func TestRegressionMatchesGroundTruth(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	type pair struct{ v, y float64 }
	pairs := make([]pair, 3000)
	for i := range pairs {
		y := math.Round(r.NormFloat64()*50+100) / 4
		if i%17 == 0 {
			y = 0
		}
		pairs[i] = pair{y + r.NormFloat64()*3 + 0.5, y}
	}
	var abs, sq, ape, signed []float64
	var neg []float64
	nonzero := 0
	for _, p := range pairs {
		e := p.v - p.y
		abs = append(abs, math.Abs(e))
		sq = append(sq, e*e)
		if e >= 0 {
			signed = append(signed, e)
		} else {
			neg = append(neg, -e)
		}
		if p.y != 0 {
			ape = append(ape, math.Abs(e)/math.Abs(p.y))
			nonzero++
		}
	}
	n := float64(len(pairs))
	bias := new(big.Float).SetPrec(4096)
	for _, x := range signed {
		bias.Add(bias, big.NewFloat(x).SetPrec(4096))
	}
	for _, x := range neg {
		bias.Sub(bias, big.NewFloat(x).SetPrec(4096))
	}
	b, _ := bias.Float64()
	want := RegressionError{MAE: bigSum(abs) / n, RMSE: math.Sqrt(bigSum(sq) / n), MAPE: bigSum(ape) / float64(nonzero), Bias: b / n}

	var parts [4]Regression
	for _, p := range pairs {
		parts[r.IntN(4)].Add(p.v, p.y)
	}
	var whole Regression
	for i := range parts {
		data, _ := parts[i].AppendBinary(nil)
		var back Regression
		if err := back.UnmarshalBinary(data); err != nil {
			t.Fatal(err)
		}
		again, _ := back.AppendBinary(nil)
		if !bytes.Equal(data, again) {
			t.Fatal("encoding does not round-trip")
		}
		whole.Merge(&back)
	}
	if got := whole.Error(); got != want {
		t.Errorf("error %+v, want %+v", got, want)
	}
	if whole.Count() != uint64(len(pairs)) || whole.ZeroLabels() != uint64(len(pairs)-nonzero) {
		t.Errorf("count %d zero %d", whole.Count(), whole.ZeroLabels())
	}
}

func TestMulticlassMatchesGroundTruth(t *testing.T) {
	const k = 4
	r := rand.New(rand.NewPCG(5, 6))
	var conf [k][k]uint64
	var m, m2 Multiclass
	m.Init(k)
	m2.Init(k)
	undeclared := uint64(0)
	for i := range 5000 {
		y := r.IntN(k+1) - 1 // -1: undeclared
		p := y
		if r.IntN(3) == 0 || y < 0 {
			p = r.IntN(k+1) - 1
		}
		if i%2 == 0 {
			m.Add(p, y)
		} else {
			m2.Add(p, y)
		}
		if p < 0 || y < 0 {
			undeclared++
			continue
		}
		conf[y][p]++
	}
	m.Merge(&m2)
	if m.Undeclared() != undeclared {
		t.Errorf("undeclared %d, want %d", m.Undeclared(), undeclared)
	}
	var n, diag uint64
	for y := range k {
		for p := range k {
			n += conf[y][p]
			if y == p {
				diag += conf[y][p]
			}
		}
	}
	if acc, _ := m.Accuracy(); acc != float64(diag)/float64(n) {
		t.Errorf("accuracy %v, want %v", acc, float64(diag)/float64(n))
	}
	var f1s []float64
	var wsum float64
	for c := range k {
		var tp, fp, fn uint64
		tp = conf[c][c]
		for j := range k {
			if j != c {
				fp += conf[j][c]
				fn += conf[c][j]
			}
		}
		tn := n - tp - fp - fn
		if got := m.ClassConfusion(c); got != (Confusion{TP: tp, FP: fp, TN: tn, FN: fn}) {
			t.Errorf("class %d: %+v", c, got)
		}
		f1 := float64(2*tp) / float64(2*tp+fp+fn)
		f1s = append(f1s, f1)
		wsum += f1 * float64(tp+fn)
	}
	macro, weighted, ok := m.F1()
	wantMacro := (f1s[0] + f1s[1] + f1s[2] + f1s[3]) / 4
	if !ok || macro != wantMacro || weighted != wsum/float64(n) {
		t.Errorf("F1 %v %v, want %v %v", macro, weighted, wantMacro, wsum/float64(n))
	}
	data, _ := m.AppendBinary(nil)
	var back Multiclass
	if err := back.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if again, _ := back.AppendBinary(nil); !bytes.Equal(data, again) || back.Count() != n {
		t.Error("encoding does not round-trip")
	}
}

func TestClassEstimateMatchesGroundTruth(t *testing.T) {
	const k = 3
	r := rand.New(rand.NewPCG(7, 8))
	var e, e2 ClassEstimate
	e.Init(k)
	e2.Init(k)
	var want [k]ExpectedConfusion
	var acc float64
	n := 0
	for i := range 2000 {
		s := []float64{r.Float64(), r.Float64(), r.Float64()}
		tot := s[0] + s[1] + s[2]
		for c := range s {
			s[c] /= tot
		}
		pred := r.IntN(k)
		if i%3 == 0 {
			e.Add(pred, s)
		} else {
			e2.Add(pred, s)
		}
		n++
		acc += s[pred]
		for c := range k {
			if c == pred {
				want[c].TP += s[c]
				want[c].FP += 1 - s[c]
			} else {
				want[c].FN += s[c]
				want[c].TN += 1 - s[c]
			}
		}
	}
	e.Add(0, nil)
	e.Merge(&e2)
	for c := range k {
		got := e.Expected(c)
		for _, d := range []float64{got.TP - want[c].TP, got.FP - want[c].FP, got.TN - want[c].TN, got.FN - want[c].FN} {
			if math.Abs(d) > 1e-9 {
				t.Errorf("class %d: %+v, want %+v", c, got, want[c])
			}
		}
	}
	if a, _ := e.Accuracy(); math.Abs(a-acc/float64(n)) > 1e-12 || e.Unscored() != 1 {
		t.Errorf("accuracy %v, want %v; unscored %d", a, acc/float64(n), e.Unscored())
	}
	data, _ := e.AppendBinary(nil)
	var back ClassEstimate
	if err := back.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if again, _ := back.AppendBinary(nil); !bytes.Equal(data, again) {
		t.Error("encoding does not round-trip")
	}
}

func BenchmarkRegressionAdd(b *testing.B) {
	var r Regression
	x := 1.0
	b.ReportAllocs()
	for b.Loop() {
		x += 0.37
		r.Add(x, 3.5)
	}
}

// TestRegressionEstimateOnDrift measures RegressionEstimate on a model
// whose error grows with its predicted value (sd 10% of it): the
// reference's predictions are uniform on [10, 100]; window "same" is
// drawn like it, window "shifted" predicts on [60, 100] only (covariate
// shift: a larger error expected and realised), window "concept" like the
// reference but with twice the error (concept drift: not seen before
// labels). The estimate must be within 5% of the realised MAE and RMSE in
// the first two, and stays near the reference's in the third.
func TestRegressionEstimateOnDrift(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	pair := func(lo, hi, noise float64) (v, y float64) {
		v = lo + rng.Float64()*(hi-lo)
		return v, v + rng.NormFloat64()*noise*v
	}
	var ref Regression
	for range 50000 {
		ref.Add(pair(10, 100, 0.1))
	}
	for _, w := range []struct {
		name          string
		lo, hi, noise float64
		within        bool
	}{{"same", 10, 100, 0.1, true}, {"shifted", 60, 100, 0.1, true}, {"concept", 10, 100, 0.2, false}} {
		var counts [NumValueBuckets]uint64
		var real Regression
		for range 20000 {
			v, y := pair(w.lo, w.hi, w.noise)
			counts[ValueBucket(v)]++
			real.Add(v, y)
		}
		est, ok := RegressionEstimate(&ref, &counts)
		got := real.Error()
		if !ok {
			t.Fatalf("%s: no estimate", w.name)
		}
		errMAE, errRMSE := est.MAE/got.MAE-1, est.RMSE/got.RMSE-1
		t.Logf("%s: estimated MAE %.3f RMSE %.3f, realised %.3f %.3f: %+.1f%% %+.1f%%", w.name, est.MAE, est.RMSE, got.MAE, got.RMSE, 100*errMAE, 100*errRMSE)
		inside := math.Abs(errMAE) < 0.05 && math.Abs(errRMSE) < 0.05
		if inside != w.within {
			t.Errorf("%s: estimate within 5%%: %v, want %v", w.name, inside, w.within)
		}
	}
	var none [NumValueBuckets]uint64
	if _, ok := RegressionEstimate(&ref, &none); ok {
		t.Error("an estimate without predictions")
	}
}
