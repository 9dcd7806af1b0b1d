package sketch

import (
	"errors"
	"math"
	"testing"
)

func TestMethodText(t *testing.T) {
	for m := MethodAuto; m <= MethodChi2; m++ {
		b, err := m.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Method
		if err := back.UnmarshalText(b); err != nil || back != m {
			t.Errorf("%v round trip: %v, %v", m, back, err)
		}
	}
	want := map[Method]string{MethodAuto: "auto", MethodKS: "ks", MethodPSI: "psi", MethodWasserstein: "wasserstein", MethodJS: "js", MethodChi2: "chi2", 99: "Method(99)"}
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
	if !MethodKS.HasPValue() || !MethodChi2.HasPValue() || MethodPSI.HasPValue() {
		t.Error("HasPValue")
	}
}

func TestDriftParamsValidate(t *testing.T) {
	tests := []struct {
		name string
		p    DriftParams
		ok   bool
	}{
		{"zero means defaults", DriftParams{}, true},
		{"defaults", DefaultDriftParams(), true},
		{"explicit", DriftParams{Numeric: MethodPSI, Categorical: MethodChi2, PValue: 0.01, PSIThreshold: 0.1}, true},
		{"p-value above 1", DriftParams{PValue: 2}, false},
		{"negative p-value", DriftParams{PValue: -0.1}, false},
		{"negative threshold", DriftParams{PSIThreshold: -1}, false},
		{"infinite distance", DriftParams{DistanceThreshold: math.Inf(1)}, false},
		{"share above 1", DriftParams{DatasetShare: 1.5}, false},
		{"ks for categorical", DriftParams{Categorical: MethodKS}, false},
		{"wasserstein for categorical", DriftParams{Categorical: MethodWasserstein}, false},
		{"unknown method", DriftParams{Numeric: 42}, false},
	}
	for _, tt := range tests {
		if err := tt.p.Validate(); (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrParams)) {
			t.Errorf("%s: Validate = %v", tt.name, err)
		}
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
		{"small reference, two values: chi2", binary(500, 100), binary(1000, 210), MethodChi2, false},
		{"small reference, two values, shifted: chi2", binary(500, 100), binary(1000, 500), MethodChi2, true},
		{"large reference, two values: js", binary(5000, 1000), binary(1000, 210), MethodJS, false},
		{"large reference, two values, shifted: js", binary(5000, 1000), binary(1000, 500), MethodJS, true},
		{"six values are not few", seq(1, 6), seq(1, 6), MethodKS, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NumericDrift(numericOf(nil, tt.ref...), numericOf(nil, tt.cur...), DriftParams{})
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
	same := numericOf(edges, continuous(2, 20_000, 0)...)
	moved := numericOf(edges, continuous(3, 20_000, 0.5)...)
	for _, m := range []Method{MethodKS, MethodPSI, MethodWasserstein, MethodJS, MethodChi2} {
		for _, tt := range []struct {
			cur     *Numeric
			drifted bool
		}{{same, false}, {moved, true}} {
			d, err := NumericDrift(ref, tt.cur, DriftParams{Numeric: m})
			if err != nil {
				t.Fatalf("%v: %v", m, err)
			}
			if d.Method != m || d.Drifted != tt.drifted {
				t.Errorf("%v: drifted=%v (stat %v, p %v), want %v", m, d.Drifted, d.Stat, d.PValue, tt.drifted)
			}
		}
	}
	// Thresholds apply as documented: PSI at exactly the threshold drifts.
	d, _ := NumericDrift(ref, moved, DriftParams{Numeric: MethodPSI})
	d2, _ := NumericDrift(ref, moved, DriftParams{Numeric: MethodPSI, PSIThreshold: d.Stat})
	d3, _ := NumericDrift(ref, moved, DriftParams{Numeric: MethodPSI, PSIThreshold: math.Nextafter(d.Stat, 1)})
	if !d2.Drifted || d3.Drifted {
		t.Error("PSI threshold is not ≥")
	}
	if _, err := NumericDrift(ref, NewNumeric(nil), DriftParams{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty current: %v", err)
	}
	if _, err := NumericDrift(ref, same, DriftParams{PValue: 3}); !errors.Is(err, ErrParams) {
		t.Errorf("bad params: %v", err)
	}
	if _, err := NumericDrift(ref, numericOf(nil, 1, 2), DriftParams{Numeric: MethodPSI}); !errors.Is(err, ErrNoHistogram) {
		t.Errorf("psi without bins: %v", err)
	}
}

func TestCategoricalDrift(t *testing.T) {
	smallRef := categoricalOf(0, repeat("a", 500, "b", 300, "c", 200)...)
	bigRef := categoricalOf(0, repeat("a", 5000, "b", 3000, "c", 2000)...)
	same := categoricalOf(0, repeat("a", 510, "b", 290, "c", 200)...)
	moved := categoricalOf(0, repeat("a", 300, "b", 300, "c", 400)...)
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
	if _, err := CategoricalDrift(smallRef, same, DriftParams{Categorical: MethodKS}); !errors.Is(err, ErrParams) {
		t.Errorf("ks on categorical: %v", err)
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
