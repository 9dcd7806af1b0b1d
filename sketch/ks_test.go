package sketch

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// ksSciPy is testdata/ks_pvalues.json, written by testdata/ks_pvalues.py.
type ksSciPy struct {
	SciPy string `json:"scipy"`
	KSTwo []struct {
		N  int     `json:"n"`
		D  float64 `json:"d"`
		SF float64 `json:"sf"`
	} `json:"kstwo"`
	PValues []struct {
		N, M  uint64
		D, DR float64
		P     float64
		Mode  string
	} `json:"pvalues"`
	Samples []struct {
		N, M   int
		Square bool
		Shift  float64
		Digits int
		D, P   float64
	} `json:"samples"`
}

func loadKSSciPy(t *testing.T) *ksSciPy {
	t.Helper()
	b, err := os.ReadFile("testdata/ks_pvalues.json")
	if err != nil {
		t.Fatal(err)
	}
	var k ksSciPy
	if err := json.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	if len(k.KSTwo) == 0 || len(k.PValues) == 0 || len(k.Samples) == 0 {
		t.Fatal("empty tables")
	}
	return &k
}

// closeP reports whether p is within rel of want (or both below 1e-300).
func closeP(p, want, rel float64) bool {
	return math.Abs(p-want) <= rel*math.Abs(want) || math.Abs(p-want) < 1e-300
}

// TestKSTwoSciPy checks kstwoSF against scipy.stats.kstwo.sf on a grid that
// reaches every branch of SciPy's _kolmogn: Ruben–Gambino at both ends, the
// Durbin matrix, Pomeranz, Pelz–Good and Smirnov's sum (and its large-n
// approximation).
func TestKSTwoSciPy(t *testing.T) {
	k := loadKSSciPy(t)
	worst := 0.0
	for _, c := range k.KSTwo {
		got := kstwoSF(c.N, c.D)
		if !closeP(got, c.SF, 1e-10) {
			t.Errorf("kstwo.sf(%v, %d): got %.17g, SciPy %s %.17g", c.D, c.N, got, k.SciPy, c.SF)
		}
		worst = math.Max(worst, relErr(got, c.SF))
	}
	t.Logf("%d cases, largest relative difference from SciPy %s: %.1e", len(k.KSTwo), k.SciPy, worst)
}

// relErr is |got − want|/|want|, 0 when both are 0.
func relErr(got, want float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / math.Abs(want)
}

// TestKSPValueSciPy checks ksPValue's choice of method, its lattice rounding
// of D and the p-value against ks_2samp's on (n, m, D) cases, exact and
// asymptotic.
func TestKSPValueSciPy(t *testing.T) {
	k := loadKSSciPy(t)
	exact := 0
	worst := map[string]float64{}
	for _, c := range k.PValues {
		p, dr := ksPValue(c.D, c.N, c.M)
		if !closeP(p, c.P, 1e-10) || dr != c.DR {
			t.Errorf("n=%d m=%d D=%v (%s): got p %.17g D %.17g, SciPy p %.17g D %.17g", c.N, c.M, c.D, c.Mode, p, dr, c.P, c.DR)
		}
		if c.Mode == "exact" {
			exact++
		}
		worst[c.Mode] = math.Max(worst[c.Mode], relErr(p, c.P))
	}
	t.Logf("%d cases (%d exact), largest relative difference from SciPy %s: exact %.1e, asymptotic %.1e", len(k.PValues), exact, k.SciPy, worst["exact"], worst["asymp"])
	if exact == 0 || exact == len(k.PValues) {
		t.Errorf("%d of %d cases exact: the table must have both methods", exact, len(k.PValues))
	}
}

// lcgUniforms is ks_pvalues.py's lcg_uniforms: k uniforms in [0, 1) from a
// 64-bit linear congruential generator.
func lcgUniforms(k int, seed uint64) []float64 {
	out := make([]float64, k)
	x := seed
	for i := range out {
		x = x*6364136223846793005 + 1442695040888963407
		out[i] = float64(x>>11) * 0x1p-53
	}
	return out
}

// TestKSSamplesSciPy runs KS on sketches of samples and compares the
// statistic and p-value with ks_2samp on the same values: exact sketches,
// exact and asymptotic p-values.
func TestKSSamplesSciPy(t *testing.T) {
	k := loadKSSciPy(t)
	for _, c := range k.Samples {
		a, b := lcgUniforms(c.N, 1), lcgUniforms(c.M, 2)
		for i := range a {
			if c.Square {
				a[i] *= a[i]
			}
			if c.Digits >= 0 {
				a[i] = roundDigits(a[i], c.Digits)
			}
		}
		for i := range b {
			if c.Square {
				b[i] *= b[i]
			}
			b[i] += c.Shift
			if c.Digits >= 0 {
				b[i] = roundDigits(b[i], c.Digits)
			}
		}
		ref, cur := numericOf(nil, a...), numericOf(nil, b...)
		if !ref.Exact() || !cur.Exact() {
			t.Fatalf("n=%d m=%d: sketches not exact", c.N, c.M)
		}
		d, p, err := KS(ref, cur)
		if err != nil {
			t.Fatal(err)
		}
		if d != c.D || !closeP(p, c.P, 1e-9) {
			t.Errorf("n=%d m=%d: KS = %.17g (p %.17g), ks_2samp %.17g (p %.17g)", c.N, c.M, d, p, c.D, c.P)
		}
	}
}

// roundDigits is numpy.round(v, digits).
func roundDigits(v float64, digits int) float64 {
	s := math.Pow(10, float64(digits))
	return math.RoundToEven(v*s) / s
}
