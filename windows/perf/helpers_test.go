package perf

import (
	"math"
	"math/rand/v2"
	"slices"
)

// newRand returns a deterministic generator for seed.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed_0f_7ec0)) }

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// triple is one joined prediction.
type triple struct {
	score            float64
	predicted, label bool
}

// exactAUC is the Mann–Whitney AUC of scores against labels with ties
// counting one half, computed by sorting: the reference the histogram AUC
// is measured against.
func exactAUC(ts []triple) float64 {
	s := slices.Clone(ts)
	slices.SortFunc(s, func(a, b triple) int { return cmpFloat(a.score, b.score) })
	var num, below, p float64
	for i := 0; i < len(s); {
		j := i
		var pg, ng float64
		for ; j < len(s) && s[j].score == s[i].score; j++ {
			if s[j].label {
				pg++
			} else {
				ng++
			}
		}
		num += pg * (below + ng/2)
		below += ng
		p += pg
		i = j
	}
	return num / (p * below)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// labelled draws n scores from score(r) and labels each Bernoulli(prob(s)),
// predicting positive when s ≥ threshold.
func labelled(r *rand.Rand, n int, score func(*rand.Rand) float64, prob func(float64) float64, threshold float64) []triple {
	ts := make([]triple, n)
	for i := range ts {
		s := score(r)
		ts[i] = triple{score: s, predicted: s >= threshold, label: r.Float64() < prob(s)}
	}
	return ts
}

func windowOf(ts []triple) *Window {
	w := new(Window)
	for _, t := range ts {
		w.Add(t.score, t.predicted, t.label)
	}
	return w
}
