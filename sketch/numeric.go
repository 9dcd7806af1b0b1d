package sketch

import (
	"math"
	"slices"
	"sort"
	"strconv"
)

// exactLimit is the number of distinct values a Numeric holds exactly before
// it switches to the t-digest. Booleans, ratings, hours, ages and small counts
// stay exact, so their quantiles, KS and Wasserstein are exact and the drift
// helper knows their number of distinct values (Evidently's auto rules treat
// numeric features with at most 5 values as categorical).
const exactLimit = 128

// bufferSize is the number of raw values Numeric.Add buffers before folding
// them into the digest, the histogram and the moments in one batch.
const bufferSize = 512

// Numeric summarises the values of one numeric feature (or the model score)
// in one window pane: a t-digest for quantiles and the CDF, an optional
// histogram on fixed edges for PSI and Jensen–Shannon, exact counts of
// finite, missing, NaN and ±Inf values, and the exact min, max, mean and
// variance of the finite values.
//
// While at most 128 distinct finite values have been seen, the sketch is
// exact: it keeps each value with its count, and every statistic is computed
// from the empirical distribution itself. The 129th distinct value turns it
// into a t-digest (compression DefaultCompression) for good; Reset turns it
// back.
//
// NaN and ±Inf are counted apart and take part in no statistic: quantiles,
// CDF, moments, histogram and drift statistics cover the finite values only,
// as Evidently drops them before its tests.
//
// Determinism: the state after a sequence of Add, Merge and Reset calls is a
// pure function of that sequence; MarshalBinary is lossless and does not
// flush anything, so a sketch restored from a checkpoint continues exactly as
// the original would have. Merge is commutative bit for bit (a.Merge(b) and
// b.Merge(a) encode identically) but, as with any t-digest, not associative:
// merge partial sketches in a fixed order (by partition, say) to get results
// that do not depend on how work was spread over members. Counts, min, max
// and the histogram are exact under any merge order; mean and variance are
// exact up to floating-point rounding.
//
// The zero value is an empty sketch without histogram, ready to use. A
// Numeric is not safe for concurrent use: Add, AddMissing, Merge, Reset and
// UnmarshalBinary need exclusive access; the other methods and the statistics
// functions only read and may run concurrently with each other.
//
// Memory: about 19 KiB in digest mode (two centroid arrays of δ entries, the
// 512-value buffer and its sort workspace, and the exact mode's 2 KiB, kept
// for reuse after Reset), under 2 KiB in exact mode, plus 8 bytes per bin;
// about 3 KiB encoded in digest mode (TestSketchSizes). Reset keeps all of
// it, so a recycled sketch does not allocate.
type Numeric struct {
	edges []float64 // interior cut points, finite, strictly increasing
	bins  []uint64  // len(edges)+1 when edges != nil; digest mode only

	missing, nan, posInf, negInf uint64

	// inexact is false in exact mode, where atomV (sorted, distinct) and
	// atomC hold every finite value with its count and nothing else below
	// is used.
	inexact bool
	atomV   []float64
	atomC   []uint64

	// Digest mode: n finite values have been folded into the moments, the
	// bins and the digest; buf holds the rest.
	n        uint64
	min, max float64
	mean, m2 float64
	d        digest
	buf      []uint64 // floatKey of each buffered value, in arrival order
	scratch  []uint64 // radix sort and Merge workspace
}

// NewNumeric returns an empty sketch. With nil edges it keeps no histogram;
// otherwise edges are the interior cut points of the histogram used by PSI and
// Jensen–Shannon: len(edges)+1 bins (−∞, e0), [e0, e1), …, [e(n−1), +∞).
// QuantileEdges derives them from a reference sketch. The edges are copied.
//
// NewNumeric panics if edges are not finite and strictly increasing (the
// condition ValidateEdges checks): validate edges that come from outside the
// program, such as a reference profile file, with ValidateEdges first.
func NewNumeric(edges []float64) *Numeric {
	if err := ValidateEdges(edges); err != nil {
		panic(err)
	}
	n := &Numeric{}
	if edges != nil {
		n.edges = slices.Clone(edges)
		n.bins = make([]uint64, len(edges)+1)
	}
	return n
}

// ValidateEdges reports whether edges can serve as histogram cut points: every
// edge finite and each strictly greater than the one before. An empty non-nil
// slice is valid (a single bin).
func ValidateEdges(edges []float64) error {
	for i, e := range edges {
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return &edgesInvalid{i: i, reason: "is not finite"}
		}
		if i > 0 && !(e > edges[i-1]) {
			return &edgesInvalid{i: i, reason: "is not greater than the edge before it"}
		}
	}
	return nil
}

type edgesInvalid struct {
	i      int
	reason string
}

func (e *edgesInvalid) Error() string {
	return "sketch: invalid histogram edges: edge " + strconv.Itoa(e.i) + " " + e.reason
}

func (e *edgesInvalid) Unwrap() error { return ErrInvalidEdges }

// Add records one value. NaN and ±Inf are only counted (see Numeric); −0 is
// recorded as 0.
//
// Add does not allocate in steady state. In digest mode it appends to a
// buffer and every 512th call sorts the buffer and folds it into the digest,
// the histogram and the moments: about 38 ns a value amortised; in exact
// mode a binary search among the distinct values, about 25 ns
// (BenchmarkNumericAdd).
func (n *Numeric) Add(v float64) {
	if v-v != 0 { // NaN or ±Inf
		n.addNonFinite(v)
		return
	}
	if v == 0 {
		v = 0 // −0 and 0 compare equal; keep one of them, for one encoding
	}
	if !n.inexact {
		n.addExact(v)
		return
	}
	n.buf = append(n.buf, floatKey(v))
	if len(n.buf) >= bufferSize {
		n.flush()
	}
}

// AddMissing records a missing value (null, absent or of the wrong type).
func (n *Numeric) AddMissing() { n.missing++ }

func (n *Numeric) addNonFinite(v float64) {
	switch {
	case math.IsNaN(v):
		n.nan++
	case v > 0:
		n.posInf++
	default:
		n.negInf++
	}
}

func (n *Numeric) addExact(v float64) {
	// Binary search with a plain <: values are never NaN here, so the
	// NaN-aware comparisons of slices.BinarySearch are not needed.
	a := n.atomV
	i, j := 0, len(a)
	for i < j {
		h := int(uint(i+j) >> 1)
		if a[h] < v {
			i = h + 1
		} else {
			j = h
		}
	}
	if i < len(a) && a[i] == v {
		n.atomC[i]++
		return
	}
	if len(n.atomV) >= exactLimit {
		n.toDigest()
		n.buf = append(n.buf, floatKey(v))
		return
	}
	if len(n.atomV) == cap(n.atomV) {
		n.growAtoms()
	}
	n.atomV = slices.Insert(n.atomV, i, v)
	n.atomC = slices.Insert(n.atomC, i, 1)
}

// smallAtoms is the first capacity of the atoms: enough for booleans,
// ratings and the like without holding exactLimit's 2 KiB.
const smallAtoms = 16

// growAtoms makes room for more atoms in two steps, smallAtoms then
// exactLimit, instead of the doubling of append: a new pane's sketches
// grew them seven times each (BenchmarkNumericNewPane).
func (n *Numeric) growAtoms() {
	c := smallAtoms
	if cap(n.atomV) >= smallAtoms {
		c = exactLimit
	}
	n.atomV = append(make([]float64, 0, c), n.atomV...)
	n.atomC = append(make([]uint64, 0, c), n.atomC...)
}

// toDigest leaves exact mode: the atoms become pure centroids and seed the
// moments, the extremes and the bins.
func (n *Numeric) toDigest() {
	st := atomStats(n.atomV, n.atomC)
	n.n, n.mean, n.m2, n.min, n.max = st.n, st.mean, st.m2, st.min, st.max
	for i := range n.bins {
		n.bins[i] = 0
	}
	if n.bins != nil {
		for i, v := range n.atomV {
			n.bins[binIndex(n.edges, v)] += n.atomC[i]
		}
	}
	n.d.compressAtoms(n.atomV, n.atomC)
	// Keep the atoms' memory (2 KiB) for the next life after Reset: a
	// recycled pane refills it, and dropping it here cost 17 allocations
	// per pane (BenchmarkNumericPaneCycle).
	n.atomV, n.atomC = n.atomV[:0], n.atomC[:0]
	n.inexact = true
	if n.buf == nil {
		n.buf = make([]uint64, 0, bufferSize)
	}
}

// flush folds the buffered values into the moments, bins and digest.
func (n *Numeric) flush() {
	if len(n.buf) == 0 {
		return
	}
	if cap(n.scratch) < len(n.buf) {
		n.scratch = make([]uint64, bufferSize)
	}
	radixSort(n.buf, n.scratch[:len(n.buf)])
	n.fold(nil, moments{}, n.buf)
	n.buf = n.buf[:0]
}

// fold adds items (sorted by itemLess, with moments st, already counted in
// bins by the caller) and the raw values whose sorted keys are keys to the
// digest-mode state. The order of additions is fixed so that the result
// depends only on the multisets involved.
func (n *Numeric) fold(items []centroid, st moments, keys []uint64) {
	cur := moments{n: n.n, mean: n.mean, m2: n.m2, min: n.min, max: n.max}
	cur = cur.combine(st).combine(sortedKeyStats(keys))
	n.n, n.mean, n.m2, n.min, n.max = cur.n, cur.mean, cur.m2, cur.min, cur.max
	if n.bins != nil {
		e := 0
		for _, k := range keys {
			v := keyFloat(k)
			for e < len(n.edges) && v >= n.edges[e] {
				e++
			}
			n.bins[e]++
		}
	}
	n.d.compress(items, keys)
}

// Merge adds other's values to n. other is not modified. Both must have the
// same histogram edges (or both none); otherwise Merge returns an *EdgesError
// and leaves n unchanged. See Numeric for the algebra of Merge.
func (n *Numeric) Merge(other *Numeric) error {
	if other == nil {
		return nil
	}
	if !slices.Equal(n.edges, other.edges) || (n.edges == nil) != (other.edges == nil) {
		return &EdgesError{Want: slices.Clone(n.edges), Got: slices.Clone(other.edges)}
	}
	if other == n {
		other = n.Clone()
	}
	n.missing += other.missing
	n.nan += other.nan
	n.posInf += other.posInf
	n.negInf += other.negInf

	if !n.inexact && !other.inexact {
		n.atomV, n.atomC = unionAtoms(n.atomV, n.atomC, other.atomV, other.atomC)
		if len(n.atomV) > exactLimit {
			n.toDigest()
		}
		return nil
	}
	if !n.inexact {
		n.toDigest()
	}

	// other's folded part: its atoms or its centroids, moments and bins.
	var items []centroid
	var st moments
	if !other.inexact {
		items = atomItems(other.atomV, other.atomC)
		st = atomStats(other.atomV, other.atomC)
		if n.bins != nil {
			for i, v := range other.atomV {
				n.bins[binIndex(n.edges, v)] += other.atomC[i]
			}
		}
	} else {
		items = other.d.cent
		st = moments{n: other.n, mean: other.mean, m2: other.m2, min: other.min, max: other.max}
		for i, c := range other.bins {
			n.bins[i] += c
		}
	}
	// Both buffers, as one sorted batch.
	keys := append(n.scratch[:0], n.buf...)
	keys = append(keys, other.buf...)
	slices.Sort(keys)
	n.fold(items, st, keys)
	n.scratch = keys[:0]
	n.buf = n.buf[:0]
	return nil
}

// Reset empties the sketch for reuse, keeping its edges and its memory.
func (n *Numeric) Reset() {
	edges, bins := n.edges, n.bins
	for i := range bins {
		bins[i] = 0
	}
	*n = Numeric{
		edges:   edges,
		bins:    bins,
		atomV:   n.atomV[:0],
		atomC:   n.atomC[:0],
		d:       digest{delta: n.d.delta, cent: n.d.cent[:0], spare: n.d.spare[:0]},
		buf:     n.buf[:0],
		scratch: n.scratch[:0],
	}
}

// Clone returns a deep copy of n.
func (n *Numeric) Clone() *Numeric {
	c := &Numeric{
		edges:   slices.Clone(n.edges),
		bins:    slices.Clone(n.bins),
		missing: n.missing, nan: n.nan, posInf: n.posInf, negInf: n.negInf,
		inexact: n.inexact,
		atomV:   slices.Clone(n.atomV),
		atomC:   slices.Clone(n.atomC),
		n:       n.n, min: n.min, max: n.max, mean: n.mean, m2: n.m2,
		d: n.d.clone(),
	}
	if n.buf != nil {
		c.buf = append(make([]uint64, 0, bufferSize), n.buf...)
	}
	return c
}

// Edges returns the histogram cut points (nil without histogram). The slice
// must not be modified.
func (n *Numeric) Edges() []float64 { return n.edges }

// Count returns the number of finite values.
func (n *Numeric) Count() uint64 {
	if !n.inexact {
		var c uint64
		for _, v := range n.atomC {
			c += v
		}
		return c
	}
	return n.n + uint64(len(n.buf))
}

// Missing returns the number of missing values (AddMissing).
func (n *Numeric) Missing() uint64 { return n.missing }

// NaN returns the number of NaN values.
func (n *Numeric) NaN() uint64 { return n.nan }

// PosInf returns the number of +Inf values.
func (n *Numeric) PosInf() uint64 { return n.posInf }

// NegInf returns the number of −Inf values.
func (n *Numeric) NegInf() uint64 { return n.negInf }

// Total returns the number of recorded events: finite, missing, NaN and ±Inf.
func (n *Numeric) Total() uint64 {
	return n.Count() + n.missing + n.nan + n.posInf + n.negInf
}

// Exact reports whether the sketch still holds every finite value exactly
// (at most 128 distinct values seen, see Numeric).
func (n *Numeric) Exact() bool { return !n.inexact }

// Distinct returns the exact number of distinct finite values and true in
// exact mode, or 0 and false once the sketch has left it (more than 128).
func (n *Numeric) Distinct() (int, bool) {
	if n.inexact {
		return 0, false
	}
	return len(n.atomV), true
}

// Min returns the smallest finite value, NaN if there is none.
func (n *Numeric) Min() float64 { return n.moments().min }

// Max returns the largest finite value, NaN if there is none.
func (n *Numeric) Max() float64 { return n.moments().max }

// Mean returns the mean of the finite values, NaN if there is none.
func (n *Numeric) Mean() float64 { return n.moments().mean }

// Variance returns the population variance (divisor n, as numpy.var and the
// standard deviation Evidently normalises Wasserstein by) of the finite
// values, NaN if there is none.
func (n *Numeric) Variance() float64 {
	m := n.moments()
	if m.n == 0 {
		return math.NaN()
	}
	return m.m2 / float64(m.n)
}

// StdDev returns the population standard deviation, the square root of
// Variance.
func (n *Numeric) StdDev() float64 { return math.Sqrt(n.Variance()) }

// Histogram returns the edges and the count of finite values in each bin
// (len(edges)+1 of them), or nil, nil without histogram. The counts are exact
// and freshly allocated.
func (n *Numeric) Histogram() (edges []float64, counts []uint64) {
	if n.edges == nil {
		return nil, nil
	}
	counts = make([]uint64, len(n.edges)+1)
	if !n.inexact {
		for i, v := range n.atomV {
			counts[binIndex(n.edges, v)] += n.atomC[i]
		}
		return n.edges, counts
	}
	copy(counts, n.bins)
	for _, k := range n.buf {
		counts[binIndex(n.edges, keyFloat(k))]++
	}
	return n.edges, counts
}

// Quantile returns the q-quantile of the finite values (the generalised
// inverse of CDF: the smallest x with CDF(x) ≥ q; the minimum for q ≤ 0 and the
// maximum for q ≥ 1). In exact mode it is an observed value (inverse of the
// empirical CDF); otherwise the t-digest's interpolation. NaN when the sketch
// has no finite value or q is NaN.
func (n *Numeric) Quantile(q float64) float64 {
	m := n.model()
	return m.quantile(q)
}

// Quantiles is Quantile for several q at the cost of one.
func (n *Numeric) Quantiles(qs []float64) []float64 {
	m := n.model()
	out := make([]float64, len(qs))
	for i, q := range qs {
		out[i] = m.quantile(q)
	}
	return out
}

// CDF returns the fraction of finite values ≤ x (exact in exact mode,
// interpolated by the t-digest otherwise); NaN for an empty sketch.
func (n *Numeric) CDF(x float64) float64 {
	m := n.model()
	return m.cdf(x)
}

// moments returns count, mean, M2, min and max over all finite values.
func (n *Numeric) moments() moments {
	var st moments
	if !n.inexact {
		st = atomStats(n.atomV, n.atomC)
	} else {
		st = moments{n: n.n, mean: n.mean, m2: n.m2, min: n.min, max: n.max}
		st = st.combine(sortedStats(n.sortedBuffer()))
	}
	if st.n == 0 {
		return moments{mean: math.NaN(), m2: math.NaN(), min: math.NaN(), max: math.NaN()}
	}
	return st
}

// model builds the CDF model of the finite values without modifying n: the
// digest's model plus the step function of the buffered values.
func (n *Numeric) model() model {
	if !n.inexact {
		return atomModel(n.atomV, n.atomC)
	}
	m := newModel(n.d.cent, n.d.total, n.min, n.max)
	if len(n.buf) == 0 {
		return m
	}
	return m.plusSteps(n.sortedBuffer())
}

// sortedBuffer returns the buffered values, ascending, in a new slice.
func (n *Numeric) sortedBuffer() []float64 {
	keys := slices.Clone(n.buf)
	slices.Sort(keys)
	vals := make([]float64, len(keys))
	for i, k := range keys {
		vals[i] = keyFloat(k)
	}
	return vals
}

// floatKey maps a float64 to a uint64 with the same order (for non-NaN
// values; −0 sorts just before +0, which compare equal as floats anyway), so
// that the buffer can be radix sorted.
func floatKey(v float64) uint64 {
	u := math.Float64bits(v)
	return u ^ (uint64(int64(u)>>63) | 1<<63)
}

// keyFloat inverts floatKey.
func keyFloat(k uint64) float64 {
	return math.Float64frombits(k ^ (^uint64(int64(k)>>63) | 1<<63))
}

// radixSort sorts keys ascending, using tmp (same length) as workspace.
//
// It is an LSD radix sort on the top three bytes of the keys (sign,
// exponent and the top 12 bits of the mantissa), then a sort of each run of
// keys whose top bytes are equal: by insertion for short runs, by a radix
// sort on the five low bytes for long ones. Continuous data rarely share
// their top bytes within a buffer of 512, so this does three byte passes
// instead of eight: 6.6 µs instead of 10.5 per buffer of normal values
// (BenchmarkRadixSort), where sorting was 38% of Numeric.Add. Data that do
// share them, such as epoch milliseconds, take the eight passes of a plain
// radix sort and about 10% longer than one. Unlike a comparison sort, the
// passes have no data-dependent branches, which makes them 2–3× faster on
// random values.
func radixSort(keys, tmp []uint64) {
	if len(keys) < 2 {
		return
	}
	var count [8][256]uint32
	countTop(&count, keys)
	if radixPasses(keys, tmp, &count, split, 8) == 0 {
		// All keys share their top bytes: one run, no need to look for it.
		countLow(&count, keys)
		radixPasses(keys, tmp, &count, 0, split)
		return
	}
	for i := 0; i < len(keys); {
		top := keys[i] >> (8 * split)
		j := i + 1
		for j < len(keys) && keys[j]>>(8*split) == top {
			j++
		}
		switch run := keys[i:j]; {
		case len(run) > 32:
			countLow(&count, run)
			radixPasses(run, tmp[i:j], &count, 0, split)
		case len(run) > 1:
			insertionSort(run)
		}
		i = j
	}
}

// split is the number of low bytes radixSort leaves for the runs.
const split = 5

// countTop sets count[d][b], for the top bytes d ≥ split, to the number of
// keys whose byte d is b. countLow does the same for the low bytes. The
// loops have constant bounds so that the compiler unrolls them: counting is
// half the cost of a sort.
func countTop(count *[8][256]uint32, keys []uint64) {
	clear(count[split:])
	for _, k := range keys {
		for d := split; d < 8; d++ {
			count[d][byte(k>>(8*d))]++
		}
	}
}

func countLow(count *[8][256]uint32, keys []uint64) {
	clear(count[:split])
	for _, k := range keys {
		for d := range split {
			count[d][byte(k>>(8*d))]++
		}
	}
}

// radixPasses sorts keys stably by their bytes lo to hi−1 (0 is the least
// significant), one LSD pass per byte, leaving the result in keys; count
// holds the keys' byte counts (countTop, countLow) and is used up. It returns the
// number of passes made: bytes that all keys share need none.
func radixPasses(keys, tmp []uint64, count *[8][256]uint32, lo, hi int) (passes int) {
	src, dst := keys, tmp
	for d := lo; d < hi; d++ {
		c := &count[d]
		shift := uint(8 * d)
		if int(c[byte(src[0]>>shift)]) == len(src) {
			continue // every key has the same byte here
		}
		sum := uint32(0)
		for i := range c {
			c[i], sum = sum, sum+c[i]
		}
		for _, k := range src {
			b := byte(k >> shift)
			dst[c[b]] = k
			c[b]++
		}
		src, dst = dst, src
		passes++
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
	return passes
}

// insertionSort sorts a few keys ascending.
func insertionSort(keys []uint64) {
	for i := 1; i < len(keys); i++ {
		k := keys[i]
		j := i
		for ; j > 0 && keys[j-1] > k; j-- {
			keys[j] = keys[j-1]
		}
		keys[j] = k
	}
}

// atomModel is the exact empirical CDF of atoms.
func atomModel(vs []float64, cs []uint64) model {
	var m model
	m.x, m.lo, m.hi = knots(len(vs))
	m.x, m.lo, m.hi = m.x[:len(vs)], m.lo[:len(vs)], m.hi[:len(vs)]
	cum := 0.0
	for i, v := range vs {
		m.x[i] = v
		m.lo[i] = cum
		cum += float64(cs[i])
		m.hi[i] = cum
	}
	m.w = cum
	return m
}

// binIndex returns the histogram bin of v: the number of edges ≤ v.
func binIndex(edges []float64, v float64) int {
	return sort.Search(len(edges), func(i int) bool { return edges[i] > v })
}

// atomItems returns the atoms as pure centroids.
func atomItems(vs []float64, cs []uint64) []centroid {
	items := make([]centroid, len(vs))
	for i, v := range vs {
		items[i] = centroid{mean: v, weight: float64(cs[i]), pure: true}
	}
	return items
}

// unionAtoms merges two sorted atom lists, summing the counts of equal values.
func unionAtoms(av []float64, ac []uint64, bv []float64, bc []uint64) ([]float64, []uint64) {
	if len(bv) == 0 {
		return av, ac
	}
	v := make([]float64, 0, len(av)+len(bv))
	c := make([]uint64, 0, len(av)+len(bv))
	i, j := 0, 0
	for i < len(av) || j < len(bv) {
		switch {
		case j == len(bv) || (i < len(av) && av[i] < bv[j]):
			v, c = append(v, av[i]), append(c, ac[i])
			i++
		case i == len(av) || bv[j] < av[i]:
			v, c = append(v, bv[j]), append(c, bc[j])
			j++
		default:
			v, c = append(v, av[i]), append(c, ac[i]+bc[j])
			i++
			j++
		}
	}
	return v, c
}

// moments are the count, mean, sum of squared deviations (M2) and extremes
// of a set of values.
type moments struct {
	n        uint64
	mean, m2 float64
	min, max float64
}

// combine is the parallel (Chan et al.) update. Written so that
// a.combine(b) and b.combine(a) are equal bit for bit.
func (a moments) combine(b moments) moments {
	if b.n == 0 {
		return a
	}
	if a.n == 0 {
		return b
	}
	na, nb := float64(a.n), float64(b.n)
	n := na + nb
	d := b.mean - a.mean
	return moments{
		n:    a.n + b.n,
		mean: (na*a.mean + nb*b.mean) / n,
		m2:   a.m2 + b.m2 + d*d*(na*nb)/n,
		min:  math.Min(a.min, b.min),
		max:  math.Max(a.max, b.max),
	}
}

// sortedStats computes the moments of ascending values with two passes.
func sortedStats(vs []float64) moments {
	if len(vs) == 0 {
		return moments{}
	}
	sum := 0.0
	for _, v := range vs {
		sum += v
	}
	mean := sum / float64(len(vs))
	m2 := 0.0
	for _, v := range vs {
		d := v - mean
		m2 += d * d
	}
	return moments{n: uint64(len(vs)), mean: mean, m2: m2, min: vs[0], max: vs[len(vs)-1]}
}

// sortedKeyStats is sortedStats for sorted keys.
func sortedKeyStats(keys []uint64) moments {
	if len(keys) == 0 {
		return moments{}
	}
	sum := 0.0
	for _, k := range keys {
		sum += keyFloat(k)
	}
	mean := sum / float64(len(keys))
	m2 := 0.0
	for _, k := range keys {
		d := keyFloat(k) - mean
		m2 += d * d
	}
	return moments{n: uint64(len(keys)), mean: mean, m2: m2, min: keyFloat(keys[0]), max: keyFloat(keys[len(keys)-1])}
}

// atomStats computes the moments of atoms exactly as a function of the atoms.
func atomStats(vs []float64, cs []uint64) moments {
	if len(vs) == 0 {
		return moments{}
	}
	var n uint64
	sum := 0.0
	for i, v := range vs {
		n += cs[i]
		sum += v * float64(cs[i])
	}
	mean := sum / float64(n)
	m2 := 0.0
	for i, v := range vs {
		d := v - mean
		m2 += d * d * float64(cs[i])
	}
	return moments{n: n, mean: mean, m2: m2, min: vs[0], max: vs[len(vs)-1]}
}
