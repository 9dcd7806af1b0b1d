package sketch

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// evidentlySpec is a column of testdata/evidently_auto.py, rebuilt here bit
// for bit.
type evidentlySpec struct {
	N      int     `json:"n"`
	Seed   uint64  `json:"seed"`
	Gen    string  `json:"gen"`
	P      float64 `json:"p"`
	K      int     `json:"k"`
	Square bool    `json:"square"`
	Shift  float64 `json:"shift"`
}

func (s evidentlySpec) numeric() []float64 {
	u := lcgUniforms(s.N, s.Seed)
	for i, x := range u {
		switch s.Gen {
		case "binary":
			u[i] = 0
			if x < s.P {
				u[i] = 1
			}
		case "levels":
			u[i] = math.Floor(x * float64(s.K))
		case "uniform":
			if s.Square {
				x *= x
			}
			u[i] = x + s.Shift
		}
	}
	return u
}

func (s evidentlySpec) categorical() []string {
	vs := s.numeric()
	out := make([]string, len(vs))
	for i, v := range vs {
		switch s.Gen {
		case "binary":
			out[i] = "no"
			if v == 1 {
				out[i] = "yes"
			}
		default:
			out[i] = "c" + strconv.Itoa(int(v))
		}
	}
	return out
}

// evidentlyMethods maps Evidently's test names to reckon's methods.
var evidentlyMethods = map[string]Method{
	"z": MethodZ, "chisquare": MethodChi2, "ks": MethodKS, "wasserstein": MethodWasserstein, "jensenshannon": MethodJS,
}

// TestAutoMatchesEvidently checks auto against what Evidently 0.7.23 does
// with the same columns (testdata/evidently_auto.json, written by
// testdata/evidently_auto.py): the test chosen in every branch of its
// _get_default_stattest, the score and the verdict at the default
// threshold. Scores agree to 1e-12 relative (ks, z, chi2 p-values; js and
// Wasserstein distances). It also counts what the chi-square
// goodness-of-fit test that auto used before for two-valued features would
// have flagged over the 20 windows of issue 16.
func TestAutoMatchesEvidently(t *testing.T) {
	b, err := os.ReadFile("testdata/evidently_auto.json")
	if err != nil {
		t.Fatal(err)
	}
	var data struct {
		Evidently string `json:"evidently"`
		Cases     []struct {
			Name, Kind string
			Ref, Cur   evidentlySpec
			Test       string
			Score      float64
			Drifted    bool
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &data); err != nil {
		t.Fatal(err)
	}
	seen := map[Method]bool{}
	windows, evidentlyFlags, oldFlags := 0, 0, 0
	for _, c := range data.Cases {
		want, ok := evidentlyMethods[c.Test]
		if !ok {
			t.Fatalf("%s: unknown Evidently test %q", c.Name, c.Test)
		}
		var d Drift
		var err error
		if c.Kind == "numeric" {
			ref, cur := numericOf(nil, c.Ref.numeric()...), numericOf(nil, c.Cur.numeric()...)
			d, err = NumericDrift(ref, cur, nil, DefaultDriftParams())
			if strings.HasPrefix(c.Name, "windows") {
				windows++
				if c.Drifted {
					evidentlyFlags++
				}
				if _, p := chiSquare(atomCounts(ref, cur)); p < 0.05 {
					oldFlags++
				}
			}
		} else {
			ref, cur := NewCategorical(0), NewCategorical(0)
			for _, v := range c.Ref.categorical() {
				ref.AddString(v)
			}
			for _, v := range c.Cur.categorical() {
				cur.AddString(v)
			}
			d, err = CategoricalDrift(ref, cur, DefaultDriftParams())
		}
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		score := d.PValue
		if !want.HasPValue() {
			score = d.Stat
		}
		if d.Method != want || d.Drifted != c.Drifted || !closeP(score, c.Score, 1e-12) {
			t.Errorf("%s %s: %v %.17g drifted=%v; Evidently %s: %v %.17g drifted=%v", c.Kind, c.Name, d.Method, score, d.Drifted, data.Evidently, want, c.Score, c.Drifted)
		}
		seen[want] = true
	}
	if len(seen) != len(evidentlyMethods) {
		t.Errorf("the cases reach %d of Evidently's %d auto tests", len(seen), len(evidentlyMethods))
	}
	t.Logf("%d cases agree with Evidently %s; of %d windows of a two-valued feature against an 800-row reference, Evidently and reckon flag %d, the chi-square goodness-of-fit test would flag %d",
		len(data.Cases), data.Evidently, windows, evidentlyFlags, oldFlags)
}
