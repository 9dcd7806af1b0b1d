package sketch

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
)

// exactLimit is the number of distinct values a Numeric holds exactly before
// it switches to the t-digest. Up to it, quantiles, KS, Wasserstein and the
// binned statistics are those of the raw values, and the drift helper knows
// the number of distinct values (Evidently's auto rules treat numeric
// features with at most 5 values as categorical). 10,000 is where SciPy's
// ks_2samp stops computing the exact p-value: below it reckon's KS statistic
// and p-value are SciPy's; windows of a few thousand rows (issue 16: 5,000)
// get no sketch error at all, which a digest cannot give them (its error in
// D is of the order of √(centroid weight)/n, 0.001 at 5,000 rows).
const exactLimit = 10_000

// directLimit is the number of distinct values up to which Add updates the
// exact values directly (a binary search and an insertion); beyond it, new
// values are buffered and merged in batches of bufferSize, because an
// insertion into thousands of values costs microseconds.
const directLimit = 128

// bufferSize is the number of raw values Numeric.Add buffers before folding
// them into the digest (or, in exact mode past directLimit values, into the
// exact values) in one batch.
const bufferSize = 512

// Numeric summarises the values of one numeric feature (or the model score)
// in one window pane: a t-digest for quantiles and the CDF, an optional
// histogram on fixed edges for PSI and Jensen–Shannon, exact counts of
// finite, missing, NaN and ±Inf values, and the exact min, max, mean and
// variance of the finite values.
//
// While at most 10,000 distinct finite values have been seen, the sketch is
// exact: it keeps each value with its count, and every statistic is computed
// from the empirical distribution itself. The 10,001st distinct value turns
// it into a t-digest (compression DefaultCompression unless SetCompression
// says otherwise) for good; Reset turns it back.
//
// NaN and ±Inf are counted apart and take part in no statistic: quantiles,
// CDF, moments, histogram and drift statistics cover the finite values only,
// as Evidently drops them before its tests.
//
// Determinism: the state after a sequence of Add, Merge and Reset calls is a
// pure function of that sequence; MarshalBinary is lossless and does not
// flush anything, so a sketch restored from a checkpoint continues exactly as
// the original would have. Merge is commutative bit for bit (a.Merge(b) and
// b.Merge(a) encode identically) but, as with any t-digest, not associative
// once a digest is involved: merge partial sketches in a fixed order (by
// partition, say) to get results that do not depend on how work was spread
// over members. Exact-mode sketches merge associatively (the union of their
// values, as long as it stays within 10,000 distinct values). Counts, min,
// max and the histogram are exact under any merge order; mean and variance
// are exact up to floating-point rounding.
//
// The zero value is an empty sketch without histogram, ready to use. A
// Numeric is not safe for concurrent use: Add, AddMissing, Merge, Reset,
// SetCompression and UnmarshalBinary need exclusive access; the other
// methods and the statistics functions only read and may run concurrently
// with each other.
//
// Memory: up to 128 distinct values, under 2 KiB; in exact mode beyond,
// 16 bytes per distinct value plus an 8 KiB buffer, at most about 170 KiB
// (10,000 values, about 90 KiB encoded); in digest mode about 19 KiB (two
// centroid arrays of δ entries, the 512-value buffer and its sort
// workspace), about 3 KiB encoded at δ = 200; plus 8 bytes per bin
// (TestSketchSizes). Reset keeps all of it but the exact values of a sketch
// that left exact mode, so a recycled sketch does not allocate.
type Numeric struct {
	edges []float64 // interior cut points, finite, strictly increasing
	bins  []uint64  // len(edges)+1 when edges != nil; digest mode only

	missing, nan, posInf, negInf uint64

	// inexact is false in exact mode, where atomV (sorted, distinct) and
	// atomC hold the finite values with their counts, and buf the values
	// not merged into them yet (only once there are directLimit distinct
	// values); bins, the moments and the digest are not used.
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

// SetCompression sets the t-digest compression δ the sketch uses from its
// next compression pass on (DefaultCompression until then): about δ/2
// centroids, so memory, encoded size and the digest's error in the CDF all
// scale with it (ReferenceCompression for references). The setting is part
// of the sketch's state: encoded and kept by Reset and Clone. Merging a
// digest of a smaller compression lowers it to that one (see Merge). It
// returns an error wrapping ErrParams outside [MinCompression,
// MaxCompression].
func (n *Numeric) SetCompression(delta float64) error {
	if !validCompression(delta) {
		return fmt.Errorf("%w: compression %v not in [%d, %d]", ErrParams, delta, MinCompression, MaxCompression)
	}
	n.d.delta = delta
	return nil
}

// Compression returns the t-digest compression δ (see SetCompression).
func (n *Numeric) Compression() float64 { return n.d.compression() }

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
// the histogram and the moments: about 38 ns a value amortised. In exact mode
// it finds the value among the distinct values seen (a binary search, about
// 25 ns); past 128 distinct values, a value not found waits in the buffer,
// which is merged into the exact values when full (BenchmarkNumericAdd).
func (n *Numeric) Add(v float64) {
	if v-v != 0 { // NaN or ±Inf
		n.addNonFinite(v)
		return
	}
	if v == 0 {
		v = 0 // −0 and 0 compare equal; keep one of them, for one encoding
	}
	if !n.inexact && len(n.buf) == 0 && n.addExact(v) {
		return
	}
	if n.buf == nil {
		n.buf = make([]uint64, 0, bufferSize)
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

// addExact counts v among the exact values when it is one of them, or adds
// it while there are fewer than directLimit; it reports whether it did.
func (n *Numeric) addExact(v float64) bool {
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
		return true
	}
	if len(a) >= directLimit {
		return false
	}
	if len(n.atomV) == cap(n.atomV) {
		n.growAtoms(len(n.atomV) + 1)
	}
	n.atomV = slices.Insert(n.atomV, i, v)
	n.atomC = slices.Insert(n.atomC, i, 1)
	return true
}

// smallAtoms is the first capacity of the atoms: enough for booleans,
// ratings and the like without holding directLimit's 2 KiB.
const smallAtoms = 16

// growAtoms makes room for at least k atoms: first smallAtoms, then
// directLimit, instead of the doubling of append (a new pane's sketches grew
// them seven times each, BenchmarkNumericNewPane); beyond, by doubling.
func (n *Numeric) growAtoms(k int) {
	c := smallAtoms
	switch {
	case cap(n.atomV) >= directLimit:
		c = 2 * cap(n.atomV)
	case cap(n.atomV) >= smallAtoms:
		c = directLimit
	}
	c = max(c, k)
	n.atomV = append(make([]float64, 0, c), n.atomV...)
	n.atomC = append(make([]uint64, 0, c), n.atomC...)
}

// mergeKeys adds the values whose floatKeys are keys (sorted ascending) to
// the atoms, in place from the back.
func (n *Numeric) mergeKeys(keys []uint64) {
	if len(keys) == 0 {
		return
	}
	// Count the new distinct values to size the result.
	added, i := 0, 0
	for j := 0; j < len(keys); {
		v := keyFloat(keys[j])
		for i < len(n.atomV) && n.atomV[i] < v {
			i++
		}
		if i == len(n.atomV) || n.atomV[i] != v {
			added++
		}
		for k := keys[j]; j < len(keys) && keys[j] == k; j++ {
		}
	}
	old := len(n.atomV)
	if old+added > cap(n.atomV) {
		n.growAtoms(old + added)
	}
	n.atomV, n.atomC = n.atomV[:old+added], n.atomC[:old+added]
	av, ac := n.atomV, n.atomC
	i, out := old-1, old+added-1
	for j := len(keys) - 1; j >= 0; {
		k, v, c := keys[j], keyFloat(keys[j]), uint64(0)
		for ; j >= 0 && keys[j] == k; j-- {
			c++
		}
		for i >= 0 && av[i] > v {
			av[out], ac[out] = av[i], ac[i]
			i, out = i-1, out-1
		}
		if i >= 0 && av[i] == v {
			c += ac[i]
			i--
		}
		av[out], ac[out] = v, c
		out--
	}
}

// toDigest leaves exact mode: the atoms, with the buffer merged into them,
// become pure centroids and seed the moments, the extremes and the bins.
func (n *Numeric) toDigest() {
	n.flushExact()
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
	n.leaveExact()
}

// leaveExact marks the sketch inexact, releasing exact values of more than
// directLimit (up to 160 KiB that a digest-mode sketch would carry for
// nothing) and keeping smaller ones for the next life after Reset: a
// recycled pane refills them, and dropping them cost 17 allocations per
// pane (BenchmarkNumericPaneCycle).
func (n *Numeric) leaveExact() {
	if cap(n.atomV) > directLimit {
		n.atomV, n.atomC = nil, nil
	}
	n.atomV, n.atomC = n.atomV[:0], n.atomC[:0]
	n.inexact = true
	if n.buf == nil {
		n.buf = make([]uint64, 0, bufferSize)
	}
}

// flush folds the buffered values into the digest, or in exact mode into
// the exact values, leaving exact mode when they grow past exactLimit.
func (n *Numeric) flush() {
	if !n.inexact {
		n.flushExact()
		if len(n.atomV) > exactLimit {
			n.toDigest()
		}
		return
	}
	if len(n.buf) == 0 {
		return
	}
	n.sortBuffer()
	n.fold(nil, moments{}, n.buf)
	n.buf = n.buf[:0]
}

// flushExact merges the buffer into the exact values.
func (n *Numeric) flushExact() {
	if len(n.buf) == 0 {
		return
	}
	n.sortBuffer()
	n.mergeKeys(n.buf)
	n.buf = n.buf[:0]
}

func (n *Numeric) sortBuffer() {
	if cap(n.scratch) < len(n.buf) {
		n.scratch = make([]uint64, bufferSize)
	}
	radixSort(n.buf, n.scratch[:len(n.buf)])
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
//
// n keeps its compression unless other is a digest of a smaller one, which
// n then takes: a digest's centroids cannot be split again, and compressing
// them finer would only distort the CDF.
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
		// The union of every value of both, then the mode it calls for:
		// the same whichever side merges.
		n.flushExact()
		if len(other.buf) > 0 {
			n.mergeKeys(other.sortedKeys())
		}
		if len(other.atomV) > 0 {
			n.atomV, n.atomC = unionAtoms(n.atomV, n.atomC, other.atomV, other.atomC)
		}
		if len(n.atomV) > exactLimit {
			n.toDigest()
		}
		return nil
	}

	// A digest's centroids are never split again: re-compressing them
	// finer puts fine centroids beside coarse ones, whose weight the CDF
	// model then crams between their means (48 digests of 20,833 normal
	// values merged at δ = 1000 were off by 0.0020 in the CDF, at δ = 200
	// by 0.0004). So the merge keeps the coarser of the two compressions.
	if other.inexact {
		n.d.delta = min(n.d.compression(), other.d.compression())
	}

	// One pass over both sides' folded parts and both buffers: an exact
	// side contributes its values as pure centroids (not compressed first,
	// which would make a.Merge(b) differ from b.Merge(a)), a digest its
	// centroids, moments and bins.
	var items []centroid
	var st moments
	if !n.inexact {
		// n's buffer stays with the other buffered values, as other's does
		// below: the same groups of values in either order, so that even
		// the rounding of the moments is the same.
		cur := atomStats(n.atomV, n.atomC)
		n.n, n.mean, n.m2, n.min, n.max = cur.n, cur.mean, cur.m2, cur.min, cur.max
		if n.bins != nil {
			clear(n.bins)
			for i, v := range n.atomV {
				n.bins[binIndex(n.edges, v)] += n.atomC[i]
			}
		}
		// The digest is empty: the atoms take its place in the pass.
		n.d.cent = append(n.d.cent[:0], atomItems(n.atomV, n.atomC)...)
		n.d.total = float64(cur.n)
		n.leaveExact()
	}
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

// sortedKeys returns the buffered keys, ascending, in a new slice.
func (n *Numeric) sortedKeys() []uint64 {
	keys := slices.Clone(n.buf)
	slices.Sort(keys)
	return keys
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
		c := uint64(len(n.buf))
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
// (at most 10,000 distinct values seen, see Numeric).
func (n *Numeric) Exact() bool { return !n.inexact }

// Distinct returns the exact number of distinct finite values and true in
// exact mode, or 0 and false once the sketch has left it (more than 10,000).
func (n *Numeric) Distinct() (int, bool) {
	if n.inexact {
		return 0, false
	}
	vs, _ := n.atoms()
	return len(vs), true
}

// atoms returns the distinct finite values and their counts in exact mode,
// the buffer merged in: n's own slices when the buffer is empty, new ones
// otherwise.
func (n *Numeric) atoms() ([]float64, []uint64) {
	if len(n.buf) == 0 {
		return n.atomV, n.atomC
	}
	c := Numeric{atomV: slices.Clone(n.atomV), atomC: slices.Clone(n.atomC)}
	c.mergeKeys(n.sortedKeys())
	return c.atomV, c.atomC
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
	} else {
		copy(counts, n.bins)
	}
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
		st = atomStats(n.atoms())
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
		return atomModel(n.atoms())
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
