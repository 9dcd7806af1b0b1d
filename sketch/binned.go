package sketch

import (
	"math"
	"slices"
)

// PSIOn is PSI on the given bin edges rather than the sketches' own
// histograms: a sketch whose histogram has exactly these edges contributes
// its exact bin counts; an exact-mode sketch its exact values; otherwise
// the t-digest's masses between the edges. It serves references that are
// only known after the current sketches were created (a reference range of
// the stream), whose quantile edges no pane could use from the start.
func PSIOn(ref, cur *Numeric, edges []float64) (float64, error) {
	r, c, err := massesOn(ref, cur, edges)
	if err != nil {
		return math.NaN(), err
	}
	return psi(r, c), nil
}

// JSOn is the Jensen–Shannon distance on the given bin edges, as PSIOn.
func JSOn(ref, cur *Numeric, edges []float64) (float64, error) {
	r, c, err := massesOn(ref, cur, edges)
	if err != nil {
		return math.NaN(), err
	}
	return jsDistance(r, c), nil
}

func massesOn(ref, cur *Numeric, edges []float64) (r, c []float64, err error) {
	if ref.Count() == 0 || cur.Count() == 0 {
		return nil, nil, ErrEmpty
	}
	if edges == nil {
		return nil, nil, ErrNoHistogram
	}
	return massesOf(ref, edges), massesOf(cur, edges), nil
}

func massesOf(n *Numeric, edges []float64) []float64 {
	if n.edges != nil && !slices.Equal(n.edges, edges) {
		// Its own histogram is on other edges: use the exact values or
		// the digest instead.
		c := *n
		c.edges = nil
		return binMassesOf(&c, edges)
	}
	return binMassesOf(n, edges)
}
