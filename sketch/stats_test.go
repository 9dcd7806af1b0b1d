package sketch

import (
	"errors"
	"math"
	"testing"
)

// TestStatisticsExact checks every statistic on small inputs held exactly,
// against SciPy 1.17 (ks_2samp, wasserstein_distance, jensenshannon,
// chisquare) or hand computation.
func TestStatisticsExact(t *testing.T) {
	t.Run("KS", func(t *testing.T) {
		tests := []struct {
			ref, cur []float64
			want     float64
		}{
			{[]float64{1, 2, 3, 4, 5}, []float64{3, 4, 5, 6, 7, 8}, 0.5},
			{[]float64{1, 1, 2, 2, 2, 3}, []float64{2, 3, 3, 3, 4}, 0.6333333333333333}, // ties
			{[]float64{1, 2}, []float64{1, 2}, 0},
			{[]float64{1}, []float64{2}, 1},
		}
		for _, tt := range tests {
			d, p, err := KS(numericOf(nil, tt.ref...), numericOf(nil, tt.cur...))
			if err != nil || math.Abs(d-tt.want) > 1e-15 || !(p >= 0 && p <= 1) {
				t.Errorf("KS(%v, %v) = %v, %v, %v; want %v", tt.ref, tt.cur, d, p, err, tt.want)
			}
		}
	})
	t.Run("Wasserstein", func(t *testing.T) {
		tests := []struct {
			ref, cur []float64
			want     float64
		}{
			{[]float64{0, 1, 3}, []float64{5, 6, 8}, 5 / 1.247219128924647},
			{[]float64{0, 0, 1, 5}, []float64{2, 3}, 2 / math.Sqrt(4.25)},
			{[]float64{7, 7}, []float64{7}, 0},
			{[]float64{7, 7}, []float64{8}, 1 / 0.001}, // std floored at 0.001
		}
		for _, tt := range tests {
			got, err := Wasserstein(numericOf(nil, tt.ref...), numericOf(nil, tt.cur...))
			if err != nil || math.Abs(got-tt.want) > 1e-12*math.Max(1, tt.want) {
				t.Errorf("Wasserstein(%v, %v) = %v, %v; want %v", tt.ref, tt.cur, got, err, tt.want)
			}
		}
	})
	t.Run("PSI and JS on bins", func(t *testing.T) {
		edges := []float64{1, 2, 3}
		ref := numericOf(edges, 0.5, 1.5, 2.5, 3.5)
		cur := numericOf(edges, 0.5, 1.5, 1.5, 2.5, 2.5, 2.5, 3.5, 3.5, 3.5, 3.5)
		psi, err := PSI(ref, cur)
		checkFloat(t, "PSI", psi, 0.22821740957339184, 1e-14)
		if err != nil {
			t.Error(err)
		}
		// Reference without histogram: masses from its (exact) distribution.
		psi2, _ := PSI(numericOf(nil, 0.5, 1.5, 2.5, 3.5), cur)
		checkFloat(t, "PSI, reference without edges", psi2, psi, 1e-14)
		js, _ := JS(numericOf(edges, 0.5), numericOf(edges, 3.5))
		checkFloat(t, "JS of disjoint", js, math.Sqrt(math.Ln2), 1e-15)
		js, _ = JS(ref, ref)
		checkFloat(t, "JS of itself", js, 0, 0)
	})
	t.Run("PSI empty bins", func(t *testing.T) {
		edges := []float64{1}
		ref, cur := numericOf(edges, 0, 0, 0, 2), numericOf(edges, 0, 0, 0, 0)
		// cur's empty bin becomes 0.0001 (smallest non-zero 1 > 0.0001).
		want := (0.75-1)*math.Log(0.75/1) + (0.25-0.0001)*math.Log(0.25/0.0001)
		got, _ := PSI(ref, cur)
		checkFloat(t, "PSI", got, want, 1e-14)
	})
	t.Run("categorical", func(t *testing.T) {
		ref := categoricalOf(0, repeat("a", 50, "b", 30, "c", 20)...)
		cur := categoricalOf(0, repeat("a", 40, "b", 35, "c", 25)...)
		chi2, p, err := ChiSquare(ref, cur)
		checkFloat(t, "chi2", chi2, 4.083333333333334, 1e-14)
		checkFloat(t, "chi2 p", p, 0.12981217685543797, 1e-9)
		if err != nil {
			t.Error(err)
		}
		js, _ := CategoricalJS(ref, cur)
		checkFloat(t, "JS", js, 0.07167825088993672, 1e-14)
		psi, _ := CategoricalPSI(ref, cur)
		checkFloat(t, "PSI", psi, (0.5-0.4)*math.Log(0.5/0.4)+(0.3-0.35)*math.Log(0.3/0.35)+(0.2-0.25)*math.Log(0.2/0.25), 1e-14)
	})
	t.Run("chi2 new category", func(t *testing.T) {
		ref := categoricalOf(0, repeat("a", 50, "b", 50)...)
		for _, tt := range []struct {
			newCount int
			drift    bool
		}{{1, false}, {20, true}} {
			cur := categoricalOf(0, repeat("a", 500, "b", 500, "new", tt.newCount)...)
			chi2, p, _ := ChiSquare(ref, cur)
			// The new value counts as half an occurrence in the reference.
			n := 1000 + float64(tt.newCount)
			want := 0.0
			for _, oc := range [][2]float64{{500, 50}, {500, 50}, {float64(tt.newCount), 0.5}} {
				e := n * oc[1] / 100.5
				want += (oc[0] - e) * (oc[0] - e) / e
			}
			checkFloat(t, "chi2", chi2, want, 1e-12)
			if (p < 0.05) != tt.drift {
				t.Errorf("%d new: p = %v", tt.newCount, p)
			}
		}
	})
	t.Run("other bucket", func(t *testing.T) {
		ref := categoricalOf(1, "a", "a", "b", "c")
		cur := categoricalOf(1, "a", "b", "b", "b")
		r, c, _ := categoryCounts(ref, cur)
		if len(r) != 2 || r[0] != 2 || r[1] != 2 || c[0] != 1 || c[1] != 3 {
			t.Errorf("counts %v %v, want [a other] = [2 2] [1 3]", r, c)
		}
	})
}

func repeat(pairs ...any) []string {
	var out []string
	for i := 0; i < len(pairs); i += 2 {
		for range pairs[i+1].(int) {
			out = append(out, pairs[i].(string))
		}
	}
	return out
}

func TestStatisticsErrors(t *testing.T) {
	empty, one := NewNumeric(nil), numericOf(nil, 1)
	onlyNaN := numericOf(nil, math.NaN())
	if _, _, err := KS(empty, one); !errors.Is(err, ErrEmpty) {
		t.Errorf("KS empty: %v", err)
	}
	if _, err := Wasserstein(one, onlyNaN); !errors.Is(err, ErrEmpty) {
		t.Errorf("Wasserstein NaN only: %v", err)
	}
	if _, err := PSI(one, one); !errors.Is(err, ErrNoHistogram) {
		t.Errorf("PSI without edges: %v", err)
	}
	var ee *EdgesError
	if _, err := JS(numericOf([]float64{1}, 1), numericOf([]float64{2}, 1)); !errors.As(err, &ee) {
		t.Errorf("JS different edges: %v", err)
	}
	c := NewCategorical(0)
	c.AddMissing()
	if _, _, err := ChiSquare(c, categoricalOf(0, "a")); !errors.Is(err, ErrEmpty) {
		t.Errorf("chi2 of only missing: %v", err)
	}
	if _, err := CategoricalJS(categoricalOf(0, "a"), NewCategorical(0)); !errors.Is(err, ErrEmpty) {
		t.Errorf("JS empty: %v", err)
	}
	if chi2, p, _ := ChiSquare(categoricalOf(0, "a"), categoricalOf(0, "a", "a")); chi2 != 0 || p != 1 {
		t.Errorf("one category: %v %v", chi2, p)
	}
}

func TestQuantileEdges(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		bins   int
		want   []float64
	}{
		{"empty", nil, 10, nil},
		{"one bin", []float64{1, 2}, 1, nil},
		{"uniform integers", seq(1, 100), 4, []float64{25, 50, 75}},
		{"discrete deduplicated", repeatF(0, 70, 1, 30), 10, []float64{0, 1}},
		{"constant", repeatF(3, 10), 5, []float64{3}},
	}
	for _, tt := range tests {
		got := QuantileEdges(numericOf(nil, tt.values...), tt.bins)
		if !equalF(got, tt.want) {
			t.Errorf("%s: QuantileEdges = %v, want %v", tt.name, got, tt.want)
		}
		if err := ValidateEdges(got); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	// Continuous: about equal reference mass per bin. Edges sit on
	// centroid means, each up to half a centroid (at most π/2δ of the
	// values) from its target, so a bin holds 1/10 give or take π/δ: 1.6%
	// at the default compression, 0.31% at a reference's.
	vs := continuous(1, 50_000, 0)
	for _, delta := range []float64{DefaultCompression, ReferenceCompression} {
		ref := NewNumeric(nil)
		if err := ref.SetCompression(delta); err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			ref.Add(v)
		}
		edges := QuantileEdges(ref, 10)
		_, counts := numericOf(edges, vs...).Histogram()
		for i, c := range counts {
			if math.Abs(float64(c)/50_000-0.1) > math.Pi/delta {
				t.Errorf("δ = %v: bin %d holds %d of 50000", delta, i, c)
			}
		}
	}
}

func seq(lo, hi int) []float64 {
	var out []float64
	for i := lo; i <= hi; i++ {
		out = append(out, float64(i))
	}
	return out
}

func repeatF(pairs ...float64) []float64 {
	var out []float64
	for i := 0; i < len(pairs); i += 2 {
		for range int(pairs[i+1]) {
			out = append(out, pairs[i])
		}
	}
	return out
}

func equalF(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
