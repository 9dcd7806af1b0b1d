package sketch

import (
	"math"
	"slices"
)

// This file holds the merging t-digest behind Numeric (Dunning and Ertl,
// "Computing Extremely Accurate Quantiles Using t-Digests", 2019: the
// MergingDigest variant with the k1 = δ/2π·asin(2q−1) scale function), with
// two additions: tail centroids that grow geometrically from singletons
// (tailGrowth) and heavy atoms kept apart from their neighbours (atomShare).
//
// Why not github.com/caio/go-tdigest v4, the t-digest first planned as a dependency:
// measured on this machine, its Add costs 330 ns at compression 100 and
// 530 ns at 200, keeping 1,500–2,750 centroids (9–16 KiB encoded); it picks
// merge candidates with a random number generator whose state cannot be
// saved; and its encoding stores centroid means as float32 deltas, and the
// only other way to rebuild a digest (AddWeighted) re-clusters. The last two
// make a sketch restored from a checkpoint diverge from the one that was
// saved, which breaks docs/semantics.md (after a restart every windowed result
// must equal that of an uninterrupted run). The merging variant has no
// randomness, a lossless encoding, a Merge that is commutative bit for bit,
// and costs about 38 ns per value (BenchmarkNumericAdd).

// DefaultCompression is the t-digest compression δ of every Numeric unless
// SetCompression says otherwise: the panes that partition workers fill, one
// Add per event. A digest keeps about δ/2 centroids for the body of the
// distribution plus about 2·log₂(n/δ²) in the tails and at most a few dozen
// more for heavy atoms (TestDigestSize: 140–160 on 300,000 values), so its
// memory and encoding are O(δ) whatever the number of values. 200 was chosen
// by measurement (sketch/accuracy_test.go, 200,000 values per side, eight
// distributions): quantile rank errors below 0.001, about 3 KiB encoded;
// δ = 100 saves a fifth of that but doubles the rank error. A pass costs
// O(δ) per flush, so a larger δ makes Add slower: δ = 1000 doubled it.
// Where the digest falls short is KS on multimodal data: centroids that
// straddle the sparse region between two modes bend the CDF (up to 0.0026
// in D on a bimodal mixture, against 0.0010 at most on the other seven
// distributions of TestAccuracy); windows of up to 10,000 values are exact
// and do not have that error.
const DefaultCompression = 200

// Compression bounds accepted by SetCompression and the decoders.
const (
	MinCompression = 10
	MaxCompression = 10_000
)

// ReferenceCompression is the compression of reference sketches (windows'
// stream references and reference profile files). A reference is one
// sketch per feature, compared with every window, so its resolution is
// cheap (about 10 KiB encoded, 50 KiB in memory) and pays off: a window of
// up to 10,000 values is exact, and its KS statistic against a δ = 1000
// reference of 50,000 values is within 0.0006 of the exact one, against
// 0.004 at δ = 200 on bimodal data, where centroids straddling the gap
// between the modes bend the reference's CDF (sketch/ks_test.go).
const ReferenceCompression = 1000

// centroid is a weighted point of the digest. pure reports that every value
// folded into it was equal to mean, i.e. it is a point mass (an atom of a
// discrete or zero-inflated feature) rather than a spread cluster; the CDF
// model treats the two differently.
type centroid struct {
	mean   float64
	weight float64 // an integer: a count of values
	pure   bool
}

// itemLess is the total order in which items enter a compression pass. Ties
// in mean are broken by weight and purity, so the sorted sequence, and hence
// the pass, depends only on the multiset of items: this is what makes
// Numeric.Merge commutative bit for bit.
func itemLess(a, b centroid) bool {
	if a.mean != b.mean {
		return a.mean < b.mean
	}
	if a.weight != b.weight {
		return a.weight < b.weight
	}
	return !a.pure && b.pure
}

// digest is a merging t-digest without a buffer of its own: Numeric buffers
// raw values and hands them over sorted.
//
// Invariants: cent is sorted by itemLess's mean order, every weight is a
// positive integer, total is the sum of the weights, and means are finite.
type digest struct {
	delta float64
	total float64
	cent  []centroid
	spare []centroid // output of the next pass; swapped with cent
}

// compression returns δ (DefaultCompression for a zero digest).
func (d *digest) compression() float64 {
	if d.delta == 0 {
		return DefaultCompression
	}
	return d.delta
}

// nextLimit returns the largest q' with k(q') − k(q) ≤ 1 for the k1 scale
// function k(q) = δ/(2π)·asin(2q−1), i.e. q' = (sin(θ+φ)+1)/2 with
// sin θ = 2q−1 and φ = 2π/δ, expanded as s·cos φ + √(1−s²)·sin φ so that a
// pass costs one square root per centroid instead of an asin and a sin.
// cosPhi and sinPhi are cos φ and sin φ.
func nextLimit(q, cosPhi, sinPhi float64) float64 {
	s := 2*q - 1
	if s >= cosPhi { // θ+φ ≥ π/2
		return 1
	}
	return (s*cosPhi + math.Sqrt(max(0, 1-s*s))*sinPhi + 1) / 2
}

// tailGrowth bounds centroid weights in the tails: a centroid may hold at
// most tailGrowth times the weight on its outer side (the weight before it,
// or after it). Tail centroids thus grow geometrically from singletons at
// the extremes, where the k1 scale function alone would put (π/δ)²·n values
// (≈50 of 200,000) into each outermost centroid and spread them linearly up
// to the minimum or maximum. That matters for heavy tails: it costs about
// 2·log₂((2π/δ)²·n) extra centroids (≈20 at δ = 200, n = 200,000) and cuts the
// Wasserstein error on Student-t(2) data by an order of magnitude.
const tailGrowth = 1.0

// atomShare decides which point masses a pass keeps apart: a run of equal
// values whose weight reaches atomShare times the weight a centroid may hold
// at that position is never merged with different values, so heavy atoms
// (the zeros of a zero-inflated feature, an imputed constant) stay pure and
// the CDF model keeps their jump; lighter runs merge as usual. Without it,
// a centroid straddling such an atom and the continuous values next to it
// smears up to a centroid's weight across the jump (a KS error of 0.014 was
// measured on 30%-zero data). The number of centroids stays O(δ): a heavy run
// outweighs half a centroid, and in the tails the run weights grow
// geometrically like the centroids do.
const atomShare = 0.5

// pass is one compression over a sorted stream of items. A centroid may
// grow while the quantile span it covers stays within one unit of k,
// k(q_right) − k(q_left) ≤ 1, and within the tail bound (tailGrowth), and
// while it does not mix a heavy atom with other values (atomShare).
type pass struct {
	total          float64
	cosPhi, sinPhi float64
	out            []centroid
	cur            centroid
	have           bool
	done, limit    float64 // weight already emitted; weight bound of cur's right edge
	runHeavy       bool    // the run of the last item pushed is a heavy atom
}

func newPass(delta, total float64, out []centroid) pass {
	phi := 2 * math.Pi / delta
	return pass{total: total, cosPhi: math.Cos(phi), sinPhi: math.Sin(phi), out: out}
}

// capacity is the weight a centroid starting at the current position may
// reach.
func (p *pass) capacity() float64 {
	return min(p.limit-p.done, tailGrowth*min(p.done, p.total-p.done))
}

// push adds the next item. runStart reports that x's mean differs from the
// previous item's; atomW is then the weight of all the items equal to x (x
// included) still to come if they are all pure, 0 otherwise.
func (p *pass) push(x centroid, runStart bool, atomW float64) {
	if !p.have {
		p.cur, p.have = x, true
		p.limit = p.total * nextLimit(0, p.cosPhi, p.sinPhi)
		p.runHeavy = atomW > 0 && atomW >= atomShare*p.capacity()
		return
	}
	curHeavy := p.runHeavy
	if runStart {
		p.runHeavy = atomW > 0 && atomW >= atomShare*p.capacity()
	}
	w := p.cur.weight + x.weight
	ok := p.done+w <= p.limit && w <= tailGrowth*min(p.done, p.total-p.done-w)
	if ok && runStart && (p.runHeavy || curHeavy && p.cur.pure) {
		ok = false // keep a heavy atom apart from its neighbours
	}
	if ok {
		p.cur.pure = p.cur.pure && x.pure && x.mean == p.cur.mean
		if x.mean != p.cur.mean {
			p.cur.mean += (x.mean - p.cur.mean) * x.weight / w
		}
		p.cur.weight = w
		return
	}
	p.out = append(p.out, p.cur)
	p.done += p.cur.weight
	p.limit = p.total * nextLimit(p.done/p.total, p.cosPhi, p.sinPhi)
	p.cur = x
	if runStart {
		// The run's heaviness is judged where its first centroid starts.
		p.runHeavy = atomW > 0 && atomW >= atomShare*p.capacity()
	}
}

func (p *pass) finish() {
	if p.have {
		p.out = append(p.out, p.cur)
		p.have = false
	}
}

// compress folds items (sorted by itemLess) and the values whose floatKeys
// are vals (sorted ascending; each a pure item of weight 1) into the digest
// with one compression pass. The result depends only on the multiset of
// d.cent ∪ items ∪ vals.
//
// Passes alternate between left-to-right and right-to-left, as in Dunning's
// MergingDigest, so that greedy filling does not favour one side. The
// direction is a function of the new total weight (its bufferSize bit), so
// it alternates between consecutive flushes and is the same for a.Merge(b)
// and b.Merge(a).
func (d *digest) compress(items []centroid, vals []uint64) {
	if len(items) == 0 && len(vals) == 0 {
		return
	}
	d.pass(items, vals)
}

// compressAtoms sets the empty digest to the summary of distinct values vs
// (ascending) with counts cs, as a sketch leaving exact mode does: in
// passes of about bufferSize values each, the k-th taking every
// ⌈len(vs)/bufferSize⌉-th value from the k-th on, so that each pass spans
// the whole range as a buffer of values arriving in random order would.
// One pass over all of them (up to exactLimit) would make every centroid as
// large as the scale function allows at once, and later passes could only
// add beside them: that raised the bin-mass error of digests of 200,000
// values by 40% (0.00048 against 0.00029 on normal data, measured over 20
// seeds), while the interleaved passes do as well as a digest built from
// the first value on.
func (d *digest) compressAtoms(vs []float64, cs []uint64) {
	d.cent, d.total = d.cent[:0], 0
	k := (len(vs) + bufferSize - 1) / bufferSize
	items := make([]centroid, 0, bufferSize+1)
	for j := range k {
		items = items[:0]
		for i := j; i < len(vs); i += k {
			items = append(items, centroid{mean: vs[i], weight: float64(cs[i]), pure: true})
		}
		d.compress(items, nil)
	}
}

// pass is compress without the shortcut for nothing to add.
func (d *digest) pass(items []centroid, vals []uint64) {
	if len(items) == 0 {
		d.passVals(vals)
	} else {
		d.passStream(items, vals)
	}
}

// begin sets up a pass over d.cent and n more weight, and says its
// direction.
func (d *digest) begin(n float64) (p pass, back bool) {
	d.delta = d.compression()
	total := d.total + n
	if d.spare == nil {
		// Room for the usual ~δ/2 + tail + atom centroids without regrowth.
		d.spare = make([]centroid, 0, int(d.delta))
	}
	return newPass(d.delta, total, d.spare[:0]), (uint64(total)/bufferSize)&1 == 1
}

// end installs the pass's output as the digest.
func (d *digest) end(p *pass, back bool) {
	p.finish()
	if back {
		slices.Reverse(p.out)
	}
	d.spare = d.cent[:0]
	d.cent = p.out
	d.total = p.total
}

// passStream is the general pass, over the union of d.cent, items and vals.
func (d *digest) passStream(items []centroid, vals []uint64) {
	n := float64(len(vals))
	for _, it := range items {
		n += it.weight
	}
	p, back := d.begin(n)
	s := stream{a: d.cent, b: items, v: vals, back: back}
	s.init()
	prev := math.NaN()
	for {
		x, src := s.head()
		if src < 0 {
			break
		}
		s.advance(src)
		runStart := x.mean != prev
		atomW := 0.0 // weight of the run if it is a point mass
		if runStart && x.pure {
			atomW = x.weight
			if s.headEquals(x.mean) { // rare for continuous data
				if w, pure := s.runWeight(x.mean); pure {
					atomW += w
				} else {
					atomW = 0
				}
			}
		}
		p.push(x, runStart, atomW)
		prev = x.mean
	}
	d.end(&p, back)
}

// passVals is passStream without items, the pass of every flush: the same
// pushes in the same order, from a two-way merge of d.cent and vals written
// out, which saves about a fifth of a digest-mode Numeric.Add over the
// general three-way stream (TestPassValsMatchesStream checks they agree).
func (d *digest) passVals(vals []uint64) {
	p, back := d.begin(float64(len(vals)))
	a := d.cent
	// ia and iv are the positions of the next centroid and value, moving
	// by step; ra and rv count those left.
	ia, iv, step := 0, 0, 1
	if back {
		ia, iv, step = len(a)-1, len(vals)-1, -1
	}
	ra, rv := len(a), len(vals)
	prev := math.NaN()
	for ra > 0 || rv > 0 {
		var x centroid
		fromVal := rv > 0
		if ra > 0 && rv > 0 {
			// The stream's itemLess between a centroid c and a value,
			// a pure item of weight 1; ties go to the centroid.
			c, vm := &a[ia], keyFloat(vals[iv])
			if back {
				fromVal = c.mean < vm || c.mean == vm && c.weight == 1 && !c.pure
			} else {
				fromVal = vm < c.mean || vm == c.mean && c.weight > 1
			}
		}
		if fromVal {
			x = centroid{mean: keyFloat(vals[iv]), weight: 1, pure: true}
			iv += step
			rv--
		} else {
			x = a[ia]
			ia += step
			ra--
		}
		runStart := x.mean != prev
		atomW := 0.0 // weight of the run if it is a point mass
		if runStart && x.pure {
			atomW = x.weight
			if ra > 0 && a[ia].mean == x.mean || rv > 0 && keyFloat(vals[iv]) == x.mean {
				// The rest of the run (rare for continuous data), as
				// stream.runWeight sums it.
				pure := true
				for i, k := ia, ra; k > 0 && a[i].mean == x.mean; i, k = i+step, k-1 {
					atomW += a[i].weight
					pure = pure && a[i].pure
				}
				for i, k := iv, rv; k > 0 && keyFloat(vals[i]) == x.mean; i, k = i+step, k-1 {
					atomW++
				}
				if !pure {
					atomW = 0
				}
			}
		}
		p.push(x, runStart, atomW)
		prev = x.mean
	}
	d.end(&p, back)
}

// stream walks the union of two sorted centroid lists and a sorted list of
// value keys, ascending by itemLess, or descending when back is set.
type stream struct {
	a, b  []centroid
	v     []uint64
	back  bool
	pos   [3]int // items consumed from a, b, v
	heads [3]centroid
	ok    [3]bool
}

func (s *stream) load(src int) {
	n := [3]int{len(s.a), len(s.b), len(s.v)}[src]
	i := s.pos[src]
	if i >= n {
		s.ok[src] = false
		return
	}
	if s.back {
		i = n - 1 - i
	}
	s.ok[src] = true
	switch src {
	case 0:
		s.heads[0] = s.a[i]
	case 1:
		s.heads[1] = s.b[i]
	default:
		s.heads[2] = centroid{mean: keyFloat(s.v[i]), weight: 1, pure: true}
	}
}

func (s *stream) init() {
	for src := range 3 {
		s.load(src)
	}
}

// head returns the next item and its source, or src −1 at the end.
func (s *stream) head() (x centroid, src int) {
	src = -1
	for k := range 3 {
		if !s.ok[k] {
			continue
		}
		if src < 0 || (!s.back && itemLess(s.heads[k], x)) || (s.back && itemLess(x, s.heads[k])) {
			x, src = s.heads[k], k
		}
	}
	return x, src
}

func (s *stream) advance(src int) {
	s.pos[src]++
	s.load(src)
}

// headEquals reports whether the next item of some source has mean m.
func (s *stream) headEquals(m float64) bool {
	for k := range 3 {
		if s.ok[k] && s.heads[k].mean == m {
			return true
		}
	}
	return false
}

// runWeight sums the weights of the items not yet consumed whose mean is m
// (they are contiguous at the heads of the sources) and reports whether all
// of them are pure, i.e. whether the run is a point mass.
func (s *stream) runWeight(m float64) (w float64, pure bool) {
	pure = true
	for src, n := range [3]int{len(s.a), len(s.b), len(s.v)} {
		for i := s.pos[src]; i < n; i++ {
			k := i
			if s.back {
				k = n - 1 - i
			}
			var c centroid
			switch src {
			case 0:
				c = s.a[k]
			case 1:
				c = s.b[k]
			default:
				c = centroid{mean: keyFloat(s.v[k]), weight: 1, pure: true}
			}
			if c.mean != m {
				break
			}
			w += c.weight
			pure = pure && c.pure
		}
	}
	return w, pure
}

func (d *digest) clone() digest {
	c := digest{delta: d.delta, total: d.total}
	if len(d.cent) > 0 {
		c.cent = append(make([]centroid, 0, cap(d.cent)), d.cent...)
	}
	return c
}
