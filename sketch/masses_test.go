package sketch

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestMasses(t *testing.T) {
	t.Run("exact", func(t *testing.T) {
		n := NewNumeric(nil)
		for _, v := range []float64{0.3, 0.1, 0.3, 0.9, math.NaN(), math.Inf(1), 0.1, 0.1} {
			n.Add(v)
		}
		n.AddMissing()
		vs, ws := n.Masses()
		if !slices.Equal(vs, []float64{0.1, 0.3, 0.9}) || !slices.Equal(ws, []float64{3, 2, 1}) {
			t.Fatalf("Masses = %v, %v", vs, ws)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if vs, ws := NewNumeric(nil).Masses(); vs != nil || ws != nil {
			t.Fatalf("empty: %v, %v", vs, ws)
		}
	})
	t.Run("digest", func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		n := NewNumeric(nil)
		raw := make([]float64, 50_000)
		for i := range raw {
			raw[i] = r.NormFloat64()
			n.Add(raw[i])
		}
		for range 100 { // atoms survive the digest as masses
			n.Add(7)
		}
		if n.Exact() {
			t.Fatal("sketch still exact")
		}
		vs, ws := n.Masses()
		if !slices.IsSorted(vs) {
			t.Fatal("values not ascending")
		}
		var total, mean float64
		for i := range vs {
			total += ws[i]
			mean += ws[i] * vs[i]
		}
		if math.Abs(total-float64(n.Count())) > 1e-6 {
			t.Fatalf("weights sum to %v, want %d", total, n.Count())
		}
		// The masses' CDF follows the values': at the deciles of the raw
		// values, within a digest's error.
		slices.Sort(raw)
		for _, q := range []float64{0.1, 0.5, 0.9} {
			x := raw[int(q*float64(len(raw)))]
			var below float64
			for i, v := range vs {
				if v <= x {
					below += ws[i]
				}
			}
			want := q * float64(len(raw)) / float64(n.Count())
			if got := below / float64(n.Count()); math.Abs(got-want) > 0.003 {
				t.Errorf("CDF of masses at the %v quantile = %v, want %v", q, got, want)
			}
		}
		if i := slices.Index(vs, 7); i < 0 || ws[i] < 99.5 {
			t.Errorf("atom at 7 lost: %v", vs[len(vs)-3:])
		}
	})
}
