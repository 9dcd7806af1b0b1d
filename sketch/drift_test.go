package sketch

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestMethodText(t *testing.T) {
	for m := range Method(numMethods) {
		b, err := m.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Method
		if err := back.UnmarshalText(b); err != nil || back != m {
			t.Errorf("%v round trip: %v, %v", m, back, err)
		}
	}
	want := map[Method]string{MethodAuto: "auto", MethodKS: "ks", MethodPSI: "psi", MethodWasserstein: "wasserstein", MethodJS: "js", MethodChi2: "chi2", MethodZ: "z", 99: "Method(99)"}
	for m, s := range want {
		if m.String() != s {
			t.Errorf("String(%d) = %q, want %q", m, m.String(), s)
		}
	}
	if _, err := ParseMethod("KS"); !errors.Is(err, ErrMethod) {
		t.Errorf("ParseMethod is case-sensitive like the metric labels: %v", err)
	}
	if _, err := Method(99).MarshalText(); !errors.Is(err, ErrMethod) {
		t.Error("MarshalText of an unknown method")
	}
	for m, want := range map[Method]bool{MethodKS: true, MethodChi2: true, MethodZ: true, MethodPSI: false, MethodJS: false, MethodWasserstein: false, MethodAuto: false} {
		if m.HasPValue() != want {
			t.Errorf("%v.HasPValue() = %v", m, !want)
		}
	}
}

// TestMethodsApply is the table of which methods apply to which kind of
// feature, and the errors that name them.
func TestMethodsApply(t *testing.T) {
	names := func(ms []Method) string {
		var out []string
		for _, m := range ms {
			out = append(out, m.String())
		}
		return strings.Join(out, " ")
	}
	if got := names(Methods(KindNumeric)); got != "auto ks psi wasserstein js" {
		t.Errorf("numeric methods: %s", got)
	}
	if got := names(Methods(KindCategorical)); got != "auto psi js chi2 z" {
		t.Errorf("categorical methods: %s", got)
	}
	tests := []struct {
		name string
		kind FeatureKind
		want Method
		msg  string // the error's Reason; "" when it parses
	}{
		{"ks", KindNumeric, MethodKS, ""},
		{"z", KindCategorical, MethodZ, ""},
		{"auto", KindCategorical, MethodAuto, ""},
		{"chi2", KindNumeric, 0, "chi2 does not apply to numeric features (want auto, ks, psi, wasserstein or js)"},
		{"ks", KindCategorical, 0, "ks does not apply to categorical features (want auto, psi, js, chi2 or z)"},
		{"kolmogorov", KindNumeric, 0, `unknown numeric test "kolmogorov" (want auto, ks, psi, wasserstein or js)`},
	}
	for _, tt := range tests {
		m, err := ParseMethodFor(tt.name, tt.kind)
		var me *MethodError
		switch {
		case tt.msg == "" && (err != nil || m != tt.want):
			t.Errorf("ParseMethodFor(%q, %v) = %v, %v", tt.name, tt.kind, m, err)
		case tt.msg != "" && (!errors.As(err, &me) || !errors.Is(err, ErrMethod) || me.Reason() != tt.msg):
			t.Errorf("ParseMethodFor(%q, %v): error %v, want %q", tt.name, tt.kind, err, tt.msg)
		}
	}
}

func TestDriftParamsCheck(t *testing.T) {
	tests := []struct {
		name string
		p    DriftParams
		want []Param // the parameters reported by Validate
	}{
		{"zero means defaults", DriftParams{}, nil},
		{"defaults", DefaultDriftParams(), nil},
		{"explicit", DriftParams{Numeric: MethodPSI, Categorical: MethodZ, PValue: 0.01, PSIThreshold: 0.1}, nil},
		{"p-value 1", DriftParams{PValue: 1}, []Param{ParamPValue}},
		{"p-value above 1", DriftParams{PValue: 2}, []Param{ParamPValue}},
		{"negative p-value", DriftParams{PValue: -0.1}, []Param{ParamPValue}},
		{"NaN p-value", DriftParams{PValue: math.NaN()}, []Param{ParamPValue}},
		{"negative threshold", DriftParams{PSIThreshold: -1}, []Param{ParamPSIThreshold}},
		{"infinite distance", DriftParams{DistanceThreshold: math.Inf(1)}, []Param{ParamDistanceThreshold}},
		{"share above 1", DriftParams{DatasetShare: 1.5}, []Param{ParamDatasetShare}},
		{"share 1", DriftParams{DatasetShare: 1}, nil},
		{"ks for categorical", DriftParams{Categorical: MethodKS}, []Param{ParamCategorical}},
		{"chi2 for numeric", DriftParams{Numeric: MethodChi2}, []Param{ParamNumeric}},
		{"unknown method and p-value", DriftParams{Numeric: 42, PValue: 7}, []Param{ParamNumeric, ParamPValue}},
		{"learned", DriftParams{Threshold: ThresholdLearned, K: 2.5}, nil},
		{"negative k", DriftParams{K: -1}, []Param{ParamK}},
		{"infinite k", DriftParams{K: math.Inf(1)}, []Param{ParamK}},
		{"unknown threshold", DriftParams{Threshold: 7}, []Param{ParamThreshold}},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		var got []Param
		for _, e := range tt.p.withDefaults().Check() {
			got = append(got, e.Param)
			if !errors.Is(e, ErrParams) {
				t.Errorf("%s: %v does not wrap ErrParams", tt.name, e)
			}
		}
		if !slices.Equal(got, tt.want) || (err == nil) != (len(tt.want) == 0) || err != nil && !errors.Is(err, ErrParams) {
			t.Errorf("%s: Check reports %v (Validate: %v), want %v", tt.name, got, err, tt.want)
		}
	}
	// Check takes the numbers as written: zero is out of bounds.
	if got := len(DriftParams{}.Check()); got != 5 {
		t.Errorf("Check of zero parameters: %d errors, want 5", got)
	}
	var pe *ParamError
	if err := (DriftParams{Categorical: MethodKS}).Validate(); !errors.As(err, &pe) || !errors.Is(err, ErrMethod) || pe.Param.String() != "categorical_test" {
		t.Errorf("method error: %v", err)
	}
}

func TestNumericDriftAuto(t *testing.T) {
	small, big := continuous(1, 800, 0), continuous(2, 5000, 0)
	shifted := continuous(3, 5000, 1)
	binary := func(k, ones int) []float64 {
		vs := make([]float64, k)
		for i := range ones {
			vs[i] = 1
		}
		return vs
	}
	tests := []struct {
		name     string
		ref, cur []float64
		method   Method
		drifted  bool
	}{
		{"small reference: ks", small, continuous(4, 3000, 0), MethodKS, false},
		{"small reference, shifted: ks", small, shifted, MethodKS, true},
		{"large reference: wasserstein", big, continuous(5, 3000, 0), MethodWasserstein, false},
		{"large reference, shifted: wasserstein", big, shifted, MethodWasserstein, true},
		{"small reference, two values: z", binary(500, 100), binary(1000, 210), MethodZ, false},
		{"small reference, two values, shifted: z", binary(500, 100), binary(1000, 500), MethodZ, true},
		{"small reference, one value in all: z", binary(500, 0), binary(1000, 0), MethodZ, false},
		{"small reference, three values: chi2", repeatF(0, 300, 1, 100, 2, 100), repeatF(0, 600, 1, 200, 2, 210), MethodChi2, false},
		{"small reference, three values, shifted: chi2", repeatF(0, 300, 1, 100, 2, 100), repeatF(0, 400, 1, 400, 2, 200), MethodChi2, true},
		{"1000 reference values are small", repeatF(0, 800, 1, 200), repeatF(0, 800, 1, 200), MethodZ, false},
		{"1001 reference values are not", repeatF(0, 801, 1, 200), repeatF(0, 800, 1, 200), MethodJS, false},
		{"large reference, two values: js", binary(5000, 1000), binary(1000, 210), MethodJS, false},
		{"large reference, two values, shifted: js", binary(5000, 1000), binary(1000, 500), MethodJS, true},
		{"six values are not few", seq(1, 6), seq(1, 6), MethodKS, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NumericDrift(numericOf(nil, tt.ref...), numericOf(nil, tt.cur...), nil, DriftParams{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Method != tt.method || d.Drifted != tt.drifted {
				t.Errorf("got %v drifted=%v (stat %v, p %v), want %v drifted=%v", d.Method, d.Drifted, d.Stat, d.PValue, tt.method, tt.drifted)
			}
			if d.Method.HasPValue() == math.IsNaN(d.PValue) {
				t.Errorf("p-value %v for %v", d.PValue, d.Method)
			}
		})
	}
}

func TestNumericDriftExplicit(t *testing.T) {
	ref := numericOf(nil, continuous(1, 20_000, 0)...)
	edges := QuantileEdges(ref, 10)
	same := numericOf(nil, continuous(2, 20_000, 0)...)
	moved := numericOf(nil, continuous(3, 20_000, 0.5)...)
	for _, m := range []Method{MethodKS, MethodPSI, MethodWasserstein, MethodJS} {
		for _, tt := range []struct {
			cur     *Numeric
			drifted bool
		}{{same, false}, {moved, true}} {
			d, err := NumericDrift(ref, tt.cur, edges, DriftParams{Numeric: m})
			if err != nil {
				t.Fatalf("%v: %v", m, err)
			}
			if d.Method != m || d.Drifted != tt.drifted {
				t.Errorf("%v: drifted=%v (stat %v, p %v), want %v", m, d.Drifted, d.Stat, d.PValue, tt.drifted)
			}
		}
	}
	// psi and js on the given edges equal PSIOn and JSOn.
	for m, want := range map[Method]func(*Numeric, *Numeric, []float64) (float64, error){MethodPSI: PSIOn, MethodJS: JSOn} {
		d, _ := NumericDrift(ref, moved, edges, DriftParams{Numeric: m})
		if w, _ := want(ref, moved, edges); d.Stat != w {
			t.Errorf("%v: %v, want %v", m, d.Stat, w)
		}
	}
	// Thresholds apply as documented: PSI at exactly the threshold drifts.
	d, _ := NumericDrift(ref, moved, edges, DriftParams{Numeric: MethodPSI})
	d2, _ := NumericDrift(ref, moved, edges, DriftParams{Numeric: MethodPSI, PSIThreshold: d.Stat})
	d3, _ := NumericDrift(ref, moved, edges, DriftParams{Numeric: MethodPSI, PSIThreshold: math.Nextafter(d.Stat, 1)})
	if !d2.Drifted || d3.Drifted {
		t.Error("PSI threshold is not ≥")
	}
	// ks drifts at p ≤ p_value, as Evidently's ks test.
	small := numericOf(nil, continuous(4, 500, 0)...)
	k, _ := NumericDrift(small, moved, nil, DriftParams{Numeric: MethodKS})
	if k2, _ := NumericDrift(small, moved, nil, DriftParams{Numeric: MethodKS, PValue: k.PValue}); k.PValue <= 0 || !k2.Drifted {
		t.Errorf("ks at p = p_value (%v): drifted=%v", k.PValue, k2.Drifted)
	}
	if _, err := NumericDrift(ref, NewNumeric(nil), nil, DriftParams{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty current: %v", err)
	}
	if _, err := NumericDrift(ref, same, nil, DriftParams{PValue: 3}); !errors.Is(err, ErrParams) {
		t.Errorf("bad params: %v", err)
	}
	if _, err := NumericDrift(ref, same, nil, DriftParams{Numeric: MethodChi2}); !errors.Is(err, ErrMethod) {
		t.Errorf("chi2 on a numeric feature: %v", err)
	}
	if _, err := NumericDrift(ref, same, nil, DriftParams{Numeric: MethodPSI}); !errors.Is(err, ErrNoHistogram) {
		t.Errorf("psi without bins: %v", err)
	}
}

func TestCategoricalDrift(t *testing.T) {
	smallRef := categoricalOf(0, repeat("a", 500, "b", 300, "c", 200)...)
	bigRef := categoricalOf(0, repeat("a", 5000, "b", 3000, "c", 2000)...)
	same := categoricalOf(0, repeat("a", 510, "b", 290, "c", 200)...)
	moved := categoricalOf(0, repeat("a", 300, "b", 300, "c", 400)...)
	twoRef := categoricalOf(0, repeat("yes", 400, "no", 400)...)
	twoSame := categoricalOf(0, repeat("yes", 2480, "no", 2520)...)
	twoMoved := categoricalOf(0, repeat("yes", 2700, "no", 2300)...)
	tests := []struct {
		name    string
		ref     *Categorical
		cur     *Categorical
		p       DriftParams
		method  Method
		drifted bool
	}{
		{"auto small: chi2", smallRef, same, DriftParams{}, MethodChi2, false},
		{"auto small moved: chi2", smallRef, moved, DriftParams{}, MethodChi2, true},
		{"auto small, two values: z", twoRef, twoSame, DriftParams{}, MethodZ, false},
		{"auto small, two values moved: z", twoRef, twoMoved, DriftParams{}, MethodZ, true},
		{"auto small, a new value makes three: chi2", twoRef, categoricalOf(0, repeat("yes", 500, "no", 480, "maybe", 20)...), DriftParams{}, MethodChi2, true},
		{"explicit z", twoRef, twoMoved, DriftParams{Categorical: MethodZ}, MethodZ, true},
		{"auto big: js", bigRef, same, DriftParams{}, MethodJS, false},
		{"auto big moved: js", bigRef, moved, DriftParams{}, MethodJS, true},
		{"psi", bigRef, moved, DriftParams{Categorical: MethodPSI}, MethodPSI, true},
		{"psi same", bigRef, same, DriftParams{Categorical: MethodPSI}, MethodPSI, false},
	}
	for _, tt := range tests {
		d, err := CategoricalDrift(tt.ref, tt.cur, tt.p)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if d.Method != tt.method || d.Drifted != tt.drifted {
			t.Errorf("%s: %v drifted=%v (stat %v p %v)", tt.name, d.Method, d.Drifted, d.Stat, d.PValue)
		}
	}
	if _, err := CategoricalDrift(smallRef, same, DriftParams{Categorical: MethodKS}); !errors.Is(err, ErrParams) || !errors.Is(err, ErrMethod) {
		t.Errorf("ks on categorical: %v", err)
	}
	if _, err := CategoricalDrift(smallRef, same, DriftParams{Categorical: MethodZ}); !errors.Is(err, ErrMethod) {
		t.Errorf("z on three values: %v", err)
	}
	if _, err := CategoricalDrift(smallRef, NewCategorical(0), DriftParams{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
}

func TestDatasetDrift(t *testing.T) {
	tests := []struct {
		drifted, total int
		share          float64
		ratio          float64
		drift          bool
	}{
		{0, 0, 0.5, 0, false},
		{1, 4, 0.5, 0.25, false},
		{2, 4, 0.5, 0.5, true}, // ≥, as Evidently
		{3, 4, 0, 0.75, true},  // share 0 means the default 0.5
		{1, 3, 0.3, 1.0 / 3, true},
	}
	for _, tt := range tests {
		r, d := DatasetDrift(tt.drifted, tt.total, tt.share)
		if r != tt.ratio || d != tt.drift {
			t.Errorf("DatasetDrift(%d, %d, %v) = %v, %v", tt.drifted, tt.total, tt.share, r, d)
		}
	}
}

// TestBand: the band is the mean and sample standard deviation of the
// values that are not NaN; its bounds are mean ∓ k·SD, the lower one no
// lower than the floor; fewer than two values give none.
func TestBand(t *testing.T) {
	xs := []float64{0.01, math.NaN(), 0.02, 0.03, 0.06}
	b := BandOf(xs)
	mean := (0.01 + 0.02 + 0.03 + 0.06) / 4
	ss := 0.0
	for _, x := range []float64{0.01, 0.02, 0.03, 0.06} {
		ss += (x - mean) * (x - mean)
	}
	sd := math.Sqrt(ss / 3)
	if b.N != 4 || math.Abs(b.Mean-mean) > 1e-15 || math.Abs(b.SD-sd) > 1e-15 {
		t.Errorf("band %+v, want mean %v, SD %v over 4", b, mean, sd)
	}
	lo, hi, ok := b.Bounds(1, 0)
	if !ok || math.Abs(lo-(mean-sd)) > 1e-15 || math.Abs(hi-(mean+sd)) > 1e-15 {
		t.Errorf("k = 1: [%v, %v] %v", lo, hi, ok)
	}
	if lo, _, _ := b.Bounds(3, 0); lo != 0 {
		t.Errorf("k = 3: lower bound %v, want the floor 0", lo)
	}
	if !Outside(0.1, lo, hi) || Outside(mean, lo, hi) {
		t.Error("Outside")
	}
	for _, few := range [][]float64{nil, {0.3}, {math.NaN(), 0.3}} {
		if _, _, ok := BandOf(few).Bounds(3, 0); ok {
			t.Errorf("a band of %v has bounds", few)
		}
	}
}
