package sketch

import (
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Statistics between a reference sketch and a current sketch.
//
// All of them cover finite, non-missing values only, are deterministic
// functions of the two sketches' states (no map-order or buffer-order
// effects), and return ErrEmpty when either side has no value.

// KS returns the two-sample Kolmogorov–Smirnov statistic D = sup|Fref − Fcur|
// and its p-value as SciPy's ks_2samp(ref, cur) computes them (Evidently's
// ks test): the exact p-value when neither side has more than 10,000
// values, the asymptotic one otherwise (see ksPValue).
//
// While both sketches are exact (at most 10,000 distinct values each) D is
// the exact two-sample statistic, ties included, and both numbers are
// SciPy's. Once a sketch is a t-digest, D is computed exactly for the two
// sketches' CDF models (see model), which are linear between centroids: that
// removes the sampling fluctuation of the empirical CDF within each
// centroid, and the supremum of a fluctuating curve looked at in fewer
// places is smaller, by 4–9% of D on unimodal data at δ = 200 (which
// lowered false alarms at α = 0.05 to about 0.03). KS adds the expected loss
// back (ksLoss), after bringing two digests to the same compression
// (sameCompression). Digests of multimodal data are less accurate: a
// centroid that straddles the sparse region between two modes bends the CDF
// by up to half its weight. docs/drift.md lists the measured errors.
func KS(ref, cur *Numeric) (d, pvalue float64, err error) {
	n, m := ref.Count(), cur.Count()
	if n == 0 || m == 0 {
		return math.NaN(), math.NaN(), ErrEmpty
	}
	ref, cur = sameCompression(ref, cur)
	a, b := ref.model(), cur.model()
	d, at := ksDistance(&a, &b)
	if ref.inexact || cur.inexact {
		d = math.Min(1, d+ksLoss(ref, cur, at))
	}
	pvalue, d = ksPValue(d, n, m)
	return d, pvalue, nil
}

// sameCompression returns a and b, the finer of two digests replaced by a
// copy compressed again at the coarser one's compression. A digest's CDF
// has systematic errors, a function of the data's shape and of δ (straight
// lines across the sparse region next to an atom or between two modes);
// two digests of the same distribution at the same δ make nearly the same
// ones, which D then does not see, while a finer reference against a coarser
// window shows the window's in full (TestAccuracy's zero-inflated data:
// 0.0025 against 0.0008).
func sameCompression(a, b *Numeric) (*Numeric, *Numeric) {
	if !a.inexact || !b.inexact || a.d.compression() == b.d.compression() {
		return a, b
	}
	coarse := min(a.d.compression(), b.d.compression())
	recompress := func(n *Numeric) *Numeric {
		if n.d.compression() == coarse {
			return n
		}
		c := n.Clone()
		c.d.delta = coarse
		c.d.pass(nil, nil)
		return c
	}
	return recompress(a), recompress(b)
}

// ksBeta is −ζ(1/2)/√(2π): a Brownian motion with variance σ² per unit of
// time, looked at every Δ, has a maximum smaller on average by β·σ·√Δ than
// looked at continuously (Asmussen, Glynn and Pitman 1995; the continuity
// correction of Broadie, Glasserman and Kou 1997).
const ksBeta = 0.5825971579390106

// ksLoss is the expected amount by which the sketches' D falls short of the
// raw samples' where the supremum is attained (at x). Under the null,
// Fref − Fcur is a Brownian bridge in the quantile q with variance
// σ² = 1/n + 1/m per unit of q, 1/n of it from the reference's side. A
// digest replaces a centroid of w values out of n by a straight line,
// losing that side's fluctuation over a span h = w/n of q; the supremum then
// loses β·σ·√h when all of the variance is lost that way (β above), and
// about s·β·σ·√h when the side holds a share s = (1/n)/σ² of it (an exact
// other side still shows its own fluctuation). Measured over 100–1,000
// windows per case (sketch/ks_test.go), this takes the mean error of D from
// −4…−9% of D to about ±2% on normal, lognormal and Student-t data at 20,000
// to 1,000,000 values per side.
func ksLoss(ref, cur *Numeric, x float64) float64 {
	n, m := float64(ref.Count()), float64(cur.Count())
	sigma := math.Sqrt(1/n + 1/m)
	loss := 0.0
	for _, side := range [...]struct {
		s *Numeric
		k float64
	}{{ref, n}, {cur, m}} {
		if w := side.s.spreadWeight(x); w > 0 {
			// s·β·σ·√h = (1/k)/σ²·β·σ·√(w/k)
			loss += ksBeta * math.Sqrt(w/side.k) / side.k / sigma
		}
	}
	return loss
}

// spreadWeight is the weight of the larger spread (not pure) centroid of the
// two whose means surround x: the values whose fluctuation the CDF model
// does not follow there. 0 in exact mode.
func (n *Numeric) spreadWeight(x float64) float64 {
	if !n.inexact {
		return 0
	}
	c := n.d.cent
	i := sort.Search(len(c), func(i int) bool { return c[i].mean >= x })
	w := 0.0
	for _, j := range [...]int{i - 1, i} {
		if j >= 0 && j < len(c) && !c[j].pure {
			w = math.Max(w, c[j].weight)
		}
	}
	return w
}

// Wasserstein returns the first Wasserstein (earth mover's) distance between
// the two distributions divided by the reference's population standard
// deviation, floored at 0.001 as Evidently does
// (wasserstein_distance(ref, cur) / max(std(ref), 0.001)).
//
// The distance is ∫|Fref(x) − Fcur(x)| dx, equal to ∫₀¹|F⁻¹ref(q) − F⁻¹cur(q)| dq,
// integrated exactly over the two sketches' CDF models (piecewise linear
// between the merged knots), not on a quantile grid: a grid would need
// thousands of points to resolve heavy tails as well. The standard deviation
// is the exact one of the reference values.
func Wasserstein(ref, cur *Numeric) (float64, error) {
	if ref.Count() == 0 || cur.Count() == 0 {
		return math.NaN(), ErrEmpty
	}
	a, b := ref.model(), cur.model()
	return wasserstein1(&a, &b) / math.Max(ref.StdDev(), 0.001), nil
}

// PSI returns the population stability index Σ (r − c)·ln(r/c) over the
// histogram bins, r and c being the reference and current proportions.
//
// Bins: those of cur, or of ref when cur has no histogram; ErrNoHistogram
// when neither has one and an *EdgesError when both have different edges. A
// sketch with a histogram on those edges contributes its exact counts; a
// sketch without one contributes bin masses read off its distribution
// (exact in exact mode, the t-digest's CDF otherwise). The usual case is a
// reference without histogram whose QuantileEdges define the bins of the
// current panes.
//
// Empty bins: as Evidently (get_binned_data with feel_zeroes), each side's
// zero proportions are replaced by 0.0001, or by a millionth of that side's
// smallest non-zero proportion when that is itself ≤ 0.0001; proportions are
// not renormalised afterwards.
func PSI(ref, cur *Numeric) (float64, error) {
	r, c, err := binMasses(ref, cur)
	if err != nil {
		return math.NaN(), err
	}
	return psi(r, c), nil
}

// JS returns the Jensen–Shannon distance (the square root of the divergence,
// natural logarithm, so between 0 and √ln2 ≈ 0.833) between the binned
// distributions, on the bins PSI uses. This is SciPy's
// scipy.spatial.distance.jensenshannon with its default base e, which
// Evidently calls with the 0.1 threshold; no epsilon is needed (0·ln0 = 0).
func JS(ref, cur *Numeric) (float64, error) {
	r, c, err := binMasses(ref, cur)
	if err != nil {
		return math.NaN(), err
	}
	return jsDistance(r, c), nil
}

// CategoricalPSI is PSI over categories: every tracked value of either
// sketch, plus Other as one more category when either has it.
func CategoricalPSI(ref, cur *Categorical) (float64, error) {
	r, c, err := categoryCounts(ref, cur)
	if err != nil {
		return math.NaN(), err
	}
	return psi(r, c), nil
}

// CategoricalJS is JS over the categories CategoricalPSI uses.
func CategoricalJS(ref, cur *Categorical) (float64, error) {
	r, c, err := categoryCounts(ref, cur)
	if err != nil {
		return math.NaN(), err
	}
	return jsDistance(r, c), nil
}

// ChiSquare returns Pearson's chi-square goodness-of-fit statistic of the
// current counts against the reference proportions, and its p-value from
// the chi-square distribution with K−1 degrees of freedom (gonum
// distuv.ChiSquared), K being the number of categories seen on either side
// (Other counting as one). This is Evidently's chisquare test: expected =
// reference count × (current total / reference total).
//
// Categories absent from the reference would have expected count 0 and an
// infinite statistic (SciPy, hence Evidently, then reports p = 0 for a single
// occurrence of a new value). Instead each such category is counted as if the
// reference had seen it half a time (the Jeffreys / Krichevsky–Trofimov
// pseudo-count) before the reference proportions are formed: with the small
// references chi2 is meant for (auto uses it up to 1000 values), one
// occurrence of a new value barely moves the statistic, while a new value
// taking a noticeable share drives p to 0. With one category (K = 1) the
// statistic is 0 and p is 1.
func ChiSquare(ref, cur *Categorical) (chi2, pvalue float64, err error) {
	r, c, err := categoryCounts(ref, cur)
	if err != nil {
		return math.NaN(), math.NaN(), err
	}
	chi2, pvalue = chiSquare(r, c)
	return chi2, pvalue, nil
}

// ZTest returns Evidently's two-proportion Z-test of a categorical feature
// with at most two values (over reference and current together): the
// statistic z and its two-sided p-value 2·(1 − Φ(|z|)), computed as
// Evidently's z_stat_test does. With p₁ and p₂ the shares of the values
// other than the first (in byte order) in reference and current, n₁ and n₂
// their counts and P the pooled share,
//
//	z = (p₁ − p₂) / √(P(1 − P)(1/n₁ + 1/n₂)).
//
// When both sides hold the same single value, z is 0 and p is 1. With more
// than two values (Other counting as one) it returns ErrMethod: the test
// compares two proportions.
func ZTest(ref, cur *Categorical) (z, pvalue float64, err error) {
	r, c, err := categoryCounts(ref, cur)
	if err != nil {
		return math.NaN(), math.NaN(), err
	}
	if len(nonEmpty(r, c)) > AutoZMaxValues {
		return math.NaN(), math.NaN(), &MethodError{Name: MethodZ.String(), Kind: KindCategorical}
	}
	z, pvalue = zTest(r, c)
	return z, pvalue, nil
}

// nonEmpty returns the indexes of the categories with a count on either
// side.
func nonEmpty(r, c []float64) []int {
	var out []int
	for i := range r {
		if r[i] > 0 || c[i] > 0 {
			out = append(out, i)
		}
	}
	return out
}

// zTest is the test of ZTest on aligned counts of at most two non-empty
// categories, with the operations of Evidently's
// proportions_diff_z_stat_ind in their order, so that the p-value is
// Evidently's to the last bits.
func zTest(r, c []float64) (z, pvalue float64) {
	idx := nonEmpty(r, c)
	n1, n2 := 0.0, 0.0
	for _, i := range idx {
		n1 += r[i]
		n2 += c[i]
	}
	if len(idx) == 1 {
		return 0, 1 // Evidently: both sides have the same single value
	}
	first := idx[0]
	p1 := (n1 - r[first]) / n1 // share of the other value
	p2 := (n2 - c[first]) / n2
	pooled := (p1*n1 + p2*n2) / (n1 + n2)
	z = (p1 - p2) / math.Sqrt(pooled*(1-pooled)*(1.0/n1+1.0/n2))
	return z, 2 * (1 - distuv.UnitNormal.CDF(math.Abs(z)))
}

// binMasses returns the reference and current weights on common bins.
func binMasses(ref, cur *Numeric) (r, c []float64, err error) {
	if ref.Count() == 0 || cur.Count() == 0 {
		return nil, nil, ErrEmpty
	}
	edges := cur.edges
	if edges == nil {
		edges = ref.edges
	}
	switch {
	case edges == nil:
		return nil, nil, ErrNoHistogram
	case ref.edges != nil && cur.edges != nil && !slices.Equal(ref.edges, cur.edges):
		return nil, nil, &EdgesError{Want: slices.Clone(ref.edges), Got: slices.Clone(cur.edges)}
	}
	return binMassesOf(ref, edges), binMassesOf(cur, edges), nil
}

func binMassesOf(n *Numeric, edges []float64) []float64 {
	out := make([]float64, len(edges)+1)
	switch {
	case n.edges != nil:
		_, counts := n.Histogram()
		for i, c := range counts {
			out[i] = float64(c)
		}
	case !n.inexact:
		vs, cs := n.atoms()
		for i, v := range vs {
			out[binIndex(edges, v)] += float64(cs[i])
		}
	default:
		m := n.model()
		out = m.masses(edges)
	}
	return out
}

// categoryCounts aligns the two sketches' counts on the union of their
// categories, in byte order of the values, Other last.
func categoryCounts(ref, cur *Categorical) (r, c []float64, err error) {
	if ref.NonMissing() == 0 || cur.NonMissing() == 0 {
		return nil, nil, ErrEmpty
	}
	keys := slices.Clone(ref.values)
	for _, v := range cur.values {
		if i, ok := ref.index[v]; !ok || i < 0 {
			keys = append(keys, v)
		}
	}
	slices.Sort(keys)
	r = make([]float64, len(keys), len(keys)+1)
	c = make([]float64, len(keys), len(keys)+1)
	for i, k := range keys {
		r[i] = float64(ref.Count(k))
		c[i] = float64(cur.Count(k))
	}
	if ref.other > 0 || cur.other > 0 {
		r = append(r, float64(ref.other))
		c = append(c, float64(cur.other))
	}
	return r, c, nil
}

// atomCounts aligns two exact-mode sketches' counts on the union of their
// values, ascending.
func atomCounts(ref, cur *Numeric) (r, c []float64) {
	rv, rc := ref.atoms()
	cv, cc := cur.atoms()
	i, j := 0, 0
	for i < len(rv) || j < len(cv) {
		switch {
		case j == len(cv) || (i < len(rv) && rv[i] < cv[j]):
			r, c = append(r, float64(rc[i])), append(c, 0)
			i++
		case i == len(rv) || cv[j] < rv[i]:
			r, c = append(r, 0), append(c, float64(cc[j]))
			j++
		default:
			r, c = append(r, float64(rc[i])), append(c, float64(cc[j]))
			i++
			j++
		}
	}
	return r, c
}

// proportions returns w / Σw.
func proportions(w []float64) []float64 {
	s := 0.0
	for _, v := range w {
		s += v
	}
	p := make([]float64, len(w))
	for i, v := range w {
		p[i] = v / s
	}
	return p
}

// fillZeros replaces zero proportions as Evidently's get_binned_data does.
func fillZeros(p []float64) {
	minNZ := math.Inf(1)
	for _, v := range p {
		if v > 0 && v < minNZ {
			minNZ = v
		}
	}
	eps := 0.0001
	if minNZ <= 0.0001 {
		eps = minNZ / 1e6
	}
	for i, v := range p {
		if v == 0 {
			p[i] = eps
		}
	}
}

func psi(r, c []float64) float64 {
	pr, pc := proportions(r), proportions(c)
	fillZeros(pr)
	fillZeros(pc)
	s := 0.0
	for i := range pr {
		s += (pr[i] - pc[i]) * math.Log(pr[i]/pc[i])
	}
	return s
}

func jsDistance(r, c []float64) float64 {
	return math.Sqrt(math.Max(0, stat.JensenShannon(proportions(r), proportions(c))))
}

// chiSquare is the goodness-of-fit test of counts c against the proportions
// of counts r (see ChiSquare). Categories empty on both sides are ignored.
func chiSquare(r, c []float64) (chi2, pvalue float64) {
	var rs, cs []float64
	for i := range r {
		if r[i] > 0 || c[i] > 0 {
			rs, cs = append(rs, r[i]), append(cs, c[i])
		}
	}
	if len(rs) < 2 {
		return 0, 1
	}
	for i, v := range rs {
		if v == 0 {
			rs[i] = 0.5
		}
	}
	pr := proportions(rs)
	total := 0.0
	for _, v := range cs {
		total += v
	}
	for i, o := range cs {
		e := total * pr[i]
		chi2 += (o - e) * (o - e) / e
	}
	pvalue = distuv.ChiSquared{K: float64(len(rs) - 1)}.Survival(chi2)
	return chi2, pvalue
}

// QuantileEdges returns histogram cut points for bins bins of roughly equal
// reference mass: the reference's quantiles at 1/bins, 2/bins, …,
// (bins−1)/bins, with repeated values removed, so that discrete data yield
// fewer, value-aligned bins (with bins [e(i−1), e(i)) each atom gets a bin of
// its own). It returns nil when ref has no finite value or bins < 2. The
// result is valid for NewNumeric.
//
// In exact mode the quantiles are observed values. Otherwise each one is
// moved to the t-digest centroid whose cumulative weight at its mean is
// closest to the target: that is where the digest's CDF is most accurate
// (half of a centroid's weight lies below its mean; exactly all of an atom's
// weight lies at it), so a reference without histogram reads its bin masses
// at the edges accurately. Between centroids the CDF is interpolated, which
// across a gap between two modes can be off by a tenth of a centroid: on
// bimodal data, unsnapped decile edges gave one-pass PSI errors of 2.4%,
// snapped ones 0.35% (sketch/accuracy_test.go). Bins then hold 1/bins of the
// reference give or take half a centroid (under 1%).
func QuantileEdges(ref *Numeric, bins int) []float64 {
	if bins < 2 || ref.Count() == 0 {
		return nil
	}
	m := ref.model()
	// Candidate edges: the digest's centroids, each with the cumulative
	// weight (in the full model) to the left of an edge placed there.
	var knots, at []float64
	if ref.inexact && len(ref.d.cent) > 0 {
		c := cursor{m: &m}
		for i, ct := range ref.d.cent {
			x := math.Max(ref.min, math.Min(ref.max, ct.mean))
			if i > 0 && x == knots[len(knots)-1] {
				continue
			}
			l, r := c.at(x)
			knots = append(knots, x)
			at = append(at, (l+r)/2/m.w)
		}
	}
	edges := make([]float64, 0, bins-1)
	for i := 1; i < bins; i++ {
		q := float64(i) / float64(bins)
		e := m.quantile(q)
		if len(knots) > 0 {
			k, _ := slices.BinarySearch(at, q)
			if k == len(at) || (k > 0 && q-at[k-1] <= at[k]-q) {
				k--
			}
			e = knots[k]
		}
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	return edges
}
