package windows

import (
	"math/rand/v2"
	"testing"

	"github.com/reckonhq/reckon/sketch"
)

// TestCompareEveryMethod: every method the configuration accepts gives a
// verdict, by that method, on a window compared with a stream reference,
// and says drift for a shifted window only. A configured psi or js on a
// numeric feature uses the reference's bin edges (sketches carry none).
func TestCompareEveryMethod(t *testing.T) {
	layout := Layout{{false, true, true}}
	r := rand.New(rand.NewPCG(16, 7))
	pane := func(start int64, rows int, shift float64, share float64) *Partial {
		p := layout.NewPartial(0)
		p.Start, p.End = start, start+60_000
		for range rows {
			p.Features[0].Num.Add(r.NormFloat64() + shift)
			c := "a"
			if r.Float64() < share {
				c = "b"
			}
			p.Features[1].Cat.Add([]byte(c))                                // two values
			p.Features[2].Cat.Add([]byte{'a' + byte(r.IntN(3)+int(shift))}) // three values, or others when shifted
			p.Score.Add(r.Float64())
			p.Predictions++
		}
		return p
	}
	ref := NewStreamReference(layout, 0, 0, 120_000)
	for _, p := range []*Partial{pane(0, 400, 0, 0.3), pane(60_000, 400, 0, 0.3)} {
		if err := ref.Offer(p); err != nil {
			t.Fatal(err)
		}
	}
	ref.Finish()
	if c := ref.Features[0].Num.Compression(); c != sketch.ReferenceCompression {
		t.Errorf("stream reference compression %v", c)
	}
	same, shifted := pane(0, 3000, 0, 0.3), pane(0, 3000, 1, 0.65)

	for kind, methods := range map[sketch.FeatureKind][]int{sketch.KindNumeric: {0}, sketch.KindCategorical: {1, 2}} {
		for _, m := range sketch.Methods(kind) {
			for _, f := range methods {
				if m == sketch.MethodZ && f == 2 {
					continue // three values: z does not apply
				}
				p := sketch.DriftParams{Numeric: sketch.MethodKS, Categorical: sketch.MethodChi2}
				if kind == sketch.KindNumeric {
					p.Numeric = m
				} else {
					p.Categorical = m
				}
				params := []sketch.DriftParams{p, p, p}
				for _, tc := range []struct {
					cur   *Partial
					drift bool
				}{{same, false}, {shifted, true}} {
					fd := Compare(ref, tc.cur, params, p).Features[f]
					want := m
					if m == sketch.MethodAuto {
						want = fd.Decision.Method // Evidently's choice; sketch tests it
					}
					if !fd.OK || fd.Decision.Method != want || fd.Decision.Drifted != tc.drift {
						t.Errorf("feature %d, %v: ok=%v method %v drifted=%v (stat %v, p %v), want drifted=%v",
							f, m, fd.OK, fd.Decision.Method, fd.Decision.Drifted, fd.Decision.Stat, fd.Decision.PValue, tc.drift)
					}
				}
			}
		}
	}
}
