package sketch

import (
	"errors"
	"math"
	"testing"
)

// TestKolmogorovSurvival checks the series against SciPy 1.17
// (scipy.special.kolmogorov) and the classical critical values
// (scipy.special.kolmogi), which are the table every KS reference prints.
func TestKolmogorovSurvival(t *testing.T) {
	tests := []struct{ x, want float64 }{
		{0, 1},
		{0.2, 0.999999999999495},
		{0.3, 0.9999906941986655},
		{0.5, 0.9639452436648751},
		{0.8, 0.5441424115741981},
		{0.99, 0.2808738392255489},
		{1.0, 0.26999967167735456},
		{1.1, 0.1777181926064012},
		{1.2, 0.11224966667072497},
		{1.36, 0.049485876755377876},
		{1.5, 0.022217962616525127},
		{2.0, 0.0006709252557796953},
		{2.5, 7.453306344157342e-06},
		{3.0, 3.045995948942526e-08},
		{4.0, 2.532833109818835e-14},
		// Critical values K(1−α) for α = 0.2, 0.1, 0.05, 0.025, 0.01, 0.001.
		{1.072749174939648, 0.2},
		{1.2238478702170823, 0.1},
		{1.3580986393225507, 0.05},
		{1.4802068574249225, 0.025},
		{1.6276236115189504, 0.01},
		{1.9494746035043753, 0.001},
	}
	for _, tt := range tests {
		got := kolmogorovSurvival(tt.x)
		if math.Abs(got-tt.want) > 1e-12*math.Max(1e-3, tt.want) && math.Abs(got-tt.want) > 1e-15 {
			t.Errorf("kolmogorovSurvival(%v) = %.17g, want %.17g", tt.x, got, tt.want)
		}
	}
	if !math.IsNaN(kolmogorovSurvival(math.NaN())) || kolmogorovSurvival(-1) != 1 || kolmogorovSurvival(40) != 0 {
		t.Error("special cases")
	}
	// Continuity where the two series meet.
	if a, b := kolmogorovSurvival(math.Nextafter(1, 0)), kolmogorovSurvival(1); math.Abs(a-b) > 1e-14 {
		t.Errorf("discontinuity at 1: %v vs %v", a, b)
	}
}

// TestKSPValue compares the p-value with SciPy's finite-sample Kolmogorov
// distribution kstwo.sf(D, n), which ks_2samp(method="asymp") evaluates at
// n = round(n·m/(n+m)); equal sample sizes 2n give nₑ = n.
func TestKSPValue(t *testing.T) {
	tests := []struct {
		ne       int
		d, scipy float64
	}{
		{50, 0.1, 0.6623112704658186},
		{50, 0.2, 0.03143877776953241},
		{100, 0.1, 0.2526927570063874},
		{100, 0.2, 0.0005551927327988775},
		{500, 0.05, 0.15866260223815387},
		{500, 0.1, 8.342293067263533e-05},
		{1000, 0.05, 0.013012074781090332},
		{5000, 0.05, 2.6523052328711187e-11},
	}
	for _, tt := range tests {
		s := math.Sqrt(float64(tt.ne))
		got := kolmogorovSurvival((s + 0.12 + 0.11/s) * tt.d)
		if rel := math.Abs(got-tt.scipy) / tt.scipy; rel > 0.05 {
			t.Errorf("nₑ=%d D=%v: p = %.6g, SciPy %.6g (%.1f%% off)", tt.ne, tt.d, got, tt.scipy, 100*rel)
		}
	}
}

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
	// Continuous: about equal reference mass per bin, give or take half a
	// centroid (π/2δ ≈ 0.8%) since edges sit on centroid means.
	vs := continuous(1, 50_000, 0)
	ref := numericOf(nil, vs...)
	edges := QuantileEdges(ref, 10)
	_, counts := numericOf(edges, vs...).Histogram()
	for i, c := range counts {
		if math.Abs(float64(c)/50_000-0.1) > 0.01 {
			t.Errorf("bin %d holds %d of 50000", i, c)
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
