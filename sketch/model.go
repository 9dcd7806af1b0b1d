package sketch

import (
	"math"
	"sort"
)

// model is the cumulative distribution a Numeric stands for: a piecewise
// linear function with jumps, given by knots. At knot i, F(x_i−) = lo[i]/w and
// F(x_i) = hi[i]/w; between two knots F is linear from hi[i] to lo[i+1]; F is 0
// before the first knot and 1 from the last one on.
//
// It is built from the digest's centroids (plus buffered raw values):
//   - a pure centroid (a point mass: all its values are equal) is a jump of its
//     whole weight at its mean, so discrete and zero-inflated features keep
//     their atoms (and an exact-mode sketch is exactly its empirical CDF);
//   - a spread centroid puts half its weight on each side of its mean: F at the
//     mean is (weight before + half its weight)/w, the usual t-digest
//     interpolation;
//   - the exact min and max anchor both ends (F = 0 at min, 1 at max, when the
//     first or last centroid is spread).
//
// Knot positions are strictly increasing; lo[i] ≤ hi[i] ≤ lo[i+1].
type model struct {
	x, lo, hi []float64
	w         float64
}

// knots returns empty knot slices with room for n knots each, in one
// allocation: models are built for every statistic of every feature of
// every closed window, and three allocations each added up.
func knots(n int) (x, lo, hi []float64) {
	b := make([]float64, 3*n)
	return b[0:0:n], b[n : n : 2*n], b[2*n : 2*n : 3*n]
}

func (m *model) addKnot(x, lo, hi float64) {
	if n := len(m.x); n > 0 && m.x[n-1] == x {
		// Coinciding positions form one knot: jump from the first left
		// value to the last right value.
		m.hi[n-1] = hi
		return
	}
	m.x = append(m.x, x)
	m.lo = append(m.lo, lo)
	m.hi = append(m.hi, hi)
}

// newModel builds the model from items sorted by mean, whose weights sum to
// w, with the exact extremes min and max of the values.
func newModel(items []centroid, w, min, max float64) model {
	m := model{w: w}
	if len(items) == 0 {
		return m
	}
	m.x, m.lo, m.hi = knots(len(items) + 2)
	if !items[0].pure && min < items[0].mean {
		m.addKnot(min, 0, 0)
	}
	cum := 0.0
	for _, it := range items {
		// A weighted mean may land an ulp outside [min, max] (or further
		// for a decoded sketch that lies); clamping keeps every quantile
		// within the extremes.
		x := math.Max(min, math.Min(max, it.mean))
		if it.pure {
			m.addKnot(x, cum, cum+it.weight)
		} else {
			c := cum + it.weight/2
			m.addKnot(x, c, c)
		}
		cum += it.weight
	}
	if last := items[len(items)-1]; !last.pure && max > last.mean {
		m.addKnot(max, w, w)
	} else if !last.pure {
		// max == mean of a spread centroid cannot happen with exact
		// arithmetic; under rounding, close the distribution at the last knot.
		m.hi[len(m.hi)-1] = w
	}
	return m
}

// plusSteps returns the model of the union of m's values and vals (sorted):
// F(x) = Fm(x) + #{v ∈ vals : v ≤ x}, with knots at m's knots and at vals.
// Interleaving vals as knots of their own would instead shift the half
// weights of m's spread centroids and bias the CDF by up to half a centroid.
func (m *model) plusSteps(vals []float64) model {
	out := model{w: m.w + float64(len(vals))}
	n := len(m.x) + len(vals)
	out.x, out.lo, out.hi = knots(n)
	c := cursor{m: m}
	i, j := 0, 0
	for i < len(m.x) || j < len(vals) {
		var x float64
		if j == len(vals) || (i < len(m.x) && m.x[i] <= vals[j]) {
			x = m.x[i]
		} else {
			x = vals[j]
		}
		for i < len(m.x) && m.x[i] <= x {
			i++
		}
		below := float64(j)
		for j < len(vals) && vals[j] <= x {
			j++
		}
		l, r := c.at(x)
		out.x = append(out.x, x)
		out.lo = append(out.lo, l+below)
		out.hi = append(out.hi, r+float64(j))
	}
	return out
}

// cursor evaluates a model at non-decreasing positions in amortised O(1).
type cursor struct {
	m *model
	i int // number of knots strictly left of the last position
}

// at returns F(x−) and F(x), as weights (not yet divided by m.w).
func (c *cursor) at(x float64) (left, right float64) {
	m := c.m
	for c.i < len(m.x) && m.x[c.i] < x {
		c.i++
	}
	i := c.i
	switch {
	case i < len(m.x) && m.x[i] == x:
		return m.lo[i], m.hi[i]
	case i == 0:
		return 0, 0
	case i == len(m.x):
		return m.w, m.w
	}
	x0, x1 := m.x[i-1], m.x[i]
	y0, y1 := m.hi[i-1], m.lo[i]
	v := y0 + (y1-y0)*((x-x0)/(x1-x0))
	return v, v
}

// cdf returns F(x) in [0, 1].
func (m *model) cdf(x float64) float64 {
	if m.w == 0 {
		return math.NaN()
	}
	c := cursor{m: m, i: sort.SearchFloat64s(m.x, x)}
	_, r := c.at(x)
	return clamp01(r / m.w)
}

// quantile returns the generalised inverse inf{x : F(x) ≥ q}. For q ≤ 0 it
// is the minimum, for q ≥ 1 the maximum.
func (m *model) quantile(q float64) float64 {
	n := len(m.x)
	if n == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	if q <= 0 {
		return m.x[0]
	}
	if q >= 1 {
		return m.x[n-1]
	}
	t := q * m.w
	// First knot whose right value reaches t.
	i := sort.Search(n, func(i int) bool { return m.hi[i] >= t })
	if i == n {
		return m.x[n-1]
	}
	if i == 0 || m.lo[i] < t {
		// t falls inside the jump at knot i (or before the first knot).
		return m.x[i]
	}
	// t falls on the linear piece between knots i−1 and i.
	y0, y1 := m.hi[i-1], m.lo[i]
	if y1 <= y0 {
		return m.x[i]
	}
	x0, x1 := m.x[i-1], m.x[i]
	return x0 + (x1-x0)*((t-y0)/(y1-y0))
}

// ksDistance is sup_x |Fa(x) − Fb(x)| between two models, and the first
// knot where it is attained. Both CDFs are linear between consecutive knots
// of the merged knot set, so the supremum is attained at a knot, as a left or
// a right limit; evaluating there is exact for the models.
func ksDistance(a, b *model) (d, at float64) {
	ca, cb := cursor{m: a}, cursor{m: b}
	i, j := 0, 0
	for i < len(a.x) || j < len(b.x) {
		var x float64
		switch {
		case j == len(b.x) || (i < len(a.x) && a.x[i] <= b.x[j]):
			x = a.x[i]
		default:
			x = b.x[j]
		}
		for i < len(a.x) && a.x[i] <= x {
			i++
		}
		for j < len(b.x) && b.x[j] <= x {
			j++
		}
		al, ar := ca.at(x)
		bl, br := cb.at(x)
		if v := math.Max(math.Abs(al/a.w-bl/b.w), math.Abs(ar/a.w-br/b.w)); v > d {
			d, at = v, x
		}
	}
	return d, at
}

// wasserstein1 is ∫|Fa(x) − Fb(x)| dx, which equals ∫₀¹|Fa⁻¹(q) − Fb⁻¹(q)| dq.
// On each interval between consecutive merged knots the difference is
// linear, so the integral is computed exactly for the models (no grid).
func wasserstein1(a, b *model) float64 {
	ca, cb := cursor{m: a}, cursor{m: b}
	var xs []float64
	xs = mergeSorted(xs, a.x, b.x)
	sum := 0.0
	for k := 0; k+1 < len(xs); k++ {
		x0, x1 := xs[k], xs[k+1]
		h := x1 - x0
		if h <= 0 {
			continue
		}
		_, a0 := ca.at(x0)
		_, b0 := cb.at(x0)
		a1, _ := ca.at(x1)
		b1, _ := cb.at(x1)
		// ca/cb must not move backwards: evaluate x0's right limits before
		// x1's left limits, as above.
		d0 := a0/a.w - b0/b.w
		d1 := a1/a.w - b1/b.w
		if (d0 >= 0) == (d1 >= 0) {
			sum += h * (math.Abs(d0) + math.Abs(d1)) / 2
		} else {
			sum += h * (d0*d0 + d1*d1) / (2 * (math.Abs(d0) + math.Abs(d1)))
		}
	}
	return sum
}

// masses returns the weight of the model in each bin of edges: bin 0 is
// (−∞, e0), bin i is [e(i−1), e(i)), the last is [e(n−1), +∞). Left limits are
// used, so a jump at an edge belongs to the bin that starts there.
func (m *model) masses(edges []float64) []float64 {
	out := make([]float64, len(edges)+1)
	c := cursor{m: m}
	prev := 0.0
	for i, e := range edges {
		l, _ := c.at(e)
		out[i] = l - prev
		prev = l
	}
	out[len(edges)] = m.w - prev
	for i, v := range out {
		if v < 0 { // rounding
			out[i] = 0
		}
	}
	return out
}

// mergeSorted appends the sorted union (with duplicates removed) of two
// sorted slices to dst.
func mergeSorted(dst, a, b []float64) []float64 {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var x float64
		if j == len(b) || (i < len(a) && a[i] <= b[j]) {
			x = a[i]
		} else {
			x = b[j]
		}
		for i < len(a) && a[i] <= x {
			i++
		}
		for j < len(b) && b[j] <= x {
			j++
		}
		dst = append(dst, x)
	}
	return dst
}

func clamp01(v float64) float64 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}
