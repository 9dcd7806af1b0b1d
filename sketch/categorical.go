package sketch

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"iter"
	"slices"
	"strings"

	"github.com/axiomhq/hyperloglog"
)

// DefaultCategoricalLimit is the number of distinct values a Categorical
// counts exactly when NewCategorical is given no limit.
const DefaultCategoricalLimit = 1000

// maxCategoricalLimit bounds the limit a decoded sketch may claim.
const maxCategoricalLimit = 1 << 24

// Categorical summarises the values of one categorical feature in one window
// pane: exact counts of up to Limit() distinct values, an "other" count for
// the rest, a missing count, and a HyperLogLog (precision 14, about 0.8%
// standard error) of every distinct value seen.
//
// Capping semantics (first come, then heaviest on merge):
//   - Add tracks a value from its first occurrence while fewer than Limit()
//     values are tracked; once the cap is reached, occurrences of values that
//     are not tracked are counted in Other, while tracked values keep counting.
//   - Merge adds the counts of values tracked on both sides; if the union of
//     tracked values exceeds the cap, it keeps the Limit() values with the
//     largest counts (ties: smaller byte string first) and moves the counts of
//     the others to Other.
//
// Guarantees, under any sequence of Add and Merge: the tracked counts, Other
// and Missing add up to Total exactly; Count(v) never exceeds the true number
// of occurrences of v, and the true number never exceeds Count(v) + Other. While
// Other is 0 — at most Limit() distinct values ever seen — every count is
// exact and Distinct is exact too; after that Distinct is the HyperLogLog
// estimate. Statistics treat Other as one more category.
//
// Merge is commutative but not associative once the cap is hit (which values
// survive depends on the merge tree); merge in a fixed order for reproducible
// results. The zero value is an empty sketch with DefaultCategoricalLimit. A
// Categorical is not safe for concurrent use; read-only methods may run
// concurrently with each other.
type Categorical struct {
	limit int
	// index maps a tracked value to its position i ≥ 0 in values and
	// counts, and a value of the sketch's previous life (before Reset) that
	// is not tracked in this one to ^j < 0, its position in prev, so that
	// a recycled sketch tracks it again without copying it.
	index   map[string]int
	values  []string
	prev    []string // values before the last Reset
	counts  []uint64
	other   uint64
	missing uint64
	hll     *hyperloglog.Sketch // nil until the first value
}

// NewCategorical returns an empty sketch counting up to limit distinct values
// exactly; limit ≤ 0 means DefaultCategoricalLimit.
func NewCategorical(limit int) *Categorical {
	c := &Categorical{}
	c.limit = c.effLimit(limit)
	return c
}

func (c *Categorical) effLimit(limit int) int {
	if limit <= 0 {
		return DefaultCategoricalLimit
	}
	return min(limit, maxCategoricalLimit)
}

// Limit returns the number of distinct values counted exactly.
func (c *Categorical) Limit() int { return c.effLimit(c.limit) }

// Add records one occurrence of v. It does not allocate when v is already
// tracked (the map is looked up with string(v) without copying) nor, past
// the cap, for untracked values beyond what the HyperLogLog's sparse form
// needs; the first occurrence of a value below the cap copies it, unless the
// sketch tracked it before its last Reset.
func (c *Categorical) Add(v []byte) {
	i, ok := c.index[string(v)]
	if ok && i >= 0 {
		c.counts[i]++
		return
	}
	c.insertHLL(v)
	switch {
	case len(c.values) >= c.Limit():
		c.other++
	case ok:
		c.track(c.prev[^i])
	default:
		c.track(string(v))
	}
}

// AddString is Add for a string.
func (c *Categorical) AddString(v string) {
	i, ok := c.index[v]
	if ok && i >= 0 {
		c.counts[i]++
		return
	}
	c.insertHLL([]byte(v))
	switch {
	case len(c.values) >= c.Limit():
		c.other++
	case ok:
		c.track(c.prev[^i])
	default:
		// Clone so that a tracked key never pins a larger string it was
		// sliced from (a decoded record, say).
		c.track(strings.Clone(v))
	}
}

func (c *Categorical) insertHLL(v []byte) {
	if c.hll == nil {
		c.hll = hyperloglog.New14()
	}
	c.hll.Insert(v)
}

// track starts counting a new value, below the cap. v must not alias memory
// the caller may modify.
func (c *Categorical) track(v string) {
	if c.index == nil {
		c.makeIndex()
	}
	c.index[v] = len(c.values)
	c.values = append(c.values, v)
	c.counts = append(c.counts, 1)
}

// smallValues is the number of values a Categorical first makes room for.
const smallValues = 32

// makeIndex makes the index of a new sketch, with room for a usual number
// of values at once: growing from nothing cost a new pane's sketch about 15
// allocations (BenchmarkCategoricalNewPane), and a window's result as many.
func (c *Categorical) makeIndex() {
	c.index = make(map[string]int, smallValues)
	if c.values == nil {
		c.values = make([]string, 0, smallValues)
		c.counts = make([]uint64, 0, smallValues)
	}
}

// AddMissing records a missing value (null, absent or of the wrong type).
func (c *Categorical) AddMissing() { c.missing++ }

// Count returns the count of v (0 if v is not tracked; see Categorical for
// what that means once Other > 0).
func (c *Categorical) Count(v string) uint64 {
	if i, ok := c.index[v]; ok && i >= 0 {
		return c.counts[i]
	}
	return 0
}

// Other returns the number of occurrences of untracked values.
func (c *Categorical) Other() uint64 { return c.other }

// Missing returns the number of missing values.
func (c *Categorical) Missing() uint64 { return c.missing }

// Len returns the number of tracked values.
func (c *Categorical) Len() int { return len(c.values) }

// NonMissing returns the number of non-missing values: the tracked counts
// plus Other.
func (c *Categorical) NonMissing() uint64 {
	s := c.other
	for _, n := range c.counts {
		s += n
	}
	return s
}

// Total returns the number of recorded events, missing included.
func (c *Categorical) Total() uint64 { return c.NonMissing() + c.missing }

// Exact reports whether every count is exact (no value ever went to Other).
func (c *Categorical) Exact() bool { return c.other == 0 }

// All iterates over the tracked values and their counts in ascending byte
// order of the values.
func (c *Categorical) All() iter.Seq2[string, uint64] {
	order := c.sortedOrder()
	return func(yield func(string, uint64) bool) {
		for _, i := range order {
			if !yield(c.values[i], c.counts[i]) {
				return
			}
		}
	}
}

// ValueCount is a value with its count.
type ValueCount struct {
	Value string
	Count uint64
}

// Top returns the k most frequent tracked values, by decreasing count, ties
// by ascending value; k ≤ 0 or k > Len() returns them all.
func (c *Categorical) Top(k int) []ValueCount {
	out := make([]ValueCount, len(c.values))
	for i, v := range c.values {
		out[i] = ValueCount{v, c.counts[i]}
	}
	slices.SortFunc(out, heavierFirst)
	if k > 0 && k < len(out) {
		out = out[:k]
	}
	return out
}

func heavierFirst(a, b ValueCount) int {
	if a.Count != b.Count {
		return cmp.Compare(b.Count, a.Count)
	}
	return cmp.Compare(a.Value, b.Value)
}

// Distinct returns the number of distinct non-missing values: exact while
// Exact() is true, the HyperLogLog estimate (precision 14) after that.
func (c *Categorical) Distinct() uint64 {
	if c.other == 0 {
		return uint64(len(c.values))
	}
	// Estimate compacts the sketch's sparse form; work on a copy so that
	// Distinct stays read-only.
	return c.hll.Clone().Estimate()
}

// Merge adds other's values to c (see Categorical for the capping rule).
// other is not modified. The limit of c applies.
func (c *Categorical) Merge(other *Categorical) error {
	if other == nil {
		return nil
	}
	if other == c {
		other = c.Clone()
	}
	if other.hll != nil {
		if c.hll == nil {
			c.hll = hyperloglog.New14()
		}
		if err := c.hll.Merge(other.hll); err != nil {
			return err
		}
	}
	c.missing += other.missing
	c.other += other.other
	for i, v := range other.values {
		if j, ok := c.index[v]; ok && j >= 0 {
			c.counts[j] += other.counts[i]
			continue
		}
		if c.index == nil {
			c.makeIndex()
		}
		c.index[v] = len(c.values)
		c.values = append(c.values, v)
		c.counts = append(c.counts, other.counts[i])
	}
	if len(c.values) > c.Limit() {
		all := make([]ValueCount, len(c.values))
		for i, v := range c.values {
			all[i] = ValueCount{v, c.counts[i]}
		}
		slices.SortFunc(all, heavierFirst)
		for _, vc := range all[c.Limit():] {
			c.other += vc.Count
		}
		c.rebuild(all[:c.Limit()])
	}
	return nil
}

// rebuild replaces the tracked values.
func (c *Categorical) rebuild(vcs []ValueCount) {
	c.index = make(map[string]int, len(vcs))
	clear(c.prev)
	c.prev = c.prev[:0]
	c.values = c.values[:0]
	c.counts = c.counts[:0]
	for i, vc := range vcs {
		c.index[vc.Value] = i
		c.values = append(c.values, vc.Value)
		c.counts = append(c.counts, vc.Count)
	}
}

// Reset empties the sketch for reuse, keeping its limit and its memory. The
// values it tracked stay known (see index), so that a recycled pane's
// sketch does not copy them again: 20 allocations per pane for 20 values
// (BenchmarkCategoricalPaneCycle). Values of earlier lives are forgotten.
func (c *Categorical) Reset() {
	for v, i := range c.index {
		if i < 0 {
			delete(c.index, v)
		} else {
			c.index[v] = ^i
		}
	}
	clear(c.prev)
	if cap(c.prev) < len(c.values) {
		// The next life's values: one allocation instead of append's
		// doubling, on the first Reset of a new sketch.
		c.prev = make([]string, 0, cap(c.values))
	}
	c.prev, c.values = c.values, c.prev[:0]
	c.counts = c.counts[:0]
	c.other, c.missing = 0, 0
	if c.hll != nil {
		c.hll.Reset()
	}
}

// Clone returns a deep copy of c.
func (c *Categorical) Clone() *Categorical {
	d := &Categorical{
		limit:   c.limit,
		values:  slices.Clone(c.values),
		counts:  slices.Clone(c.counts),
		other:   c.other,
		missing: c.missing,
	}
	if c.index != nil {
		d.index = make(map[string]int, len(c.values))
		for k, v := range c.index {
			if v >= 0 {
				d.index[k] = v
			}
		}
	}
	if c.hll != nil {
		d.hll = c.hll.Clone()
	}
	return d
}

// sortedOrder returns the positions of the tracked values in ascending byte
// order of the values. Statistics iterate in this order so that their
// floating-point sums do not depend on insertion history.
func (c *Categorical) sortedOrder() []int {
	return c.appendSortedOrder(make([]int, 0, len(c.values)))
}

// appendSortedOrder is sortedOrder appending to dst, which may live on the
// caller's stack.
func (c *Categorical) appendSortedOrder(dst []int) []int {
	n := len(dst)
	for i := range c.values {
		dst = append(dst, i)
	}
	slices.SortFunc(dst[n:], func(a, b int) int { return cmp.Compare(c.values[a], c.values[b]) })
	return dst
}

// stackOrder is how many values AppendBinary sorts without allocating.
const stackOrder = 128

// MarshalBinary implements encoding.BinaryMarshaler. Values are written in
// byte order and the HyperLogLog compacted, so the encoding does not depend
// on insertion order.
func (c *Categorical) MarshalBinary() ([]byte, error) {
	return c.AppendBinary(nil)
}

// AppendBinary implements encoding.BinaryAppender.
func (c *Categorical) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, categoricalVersion, kindCategorical)
	b = binary.AppendUvarint(b, uint64(c.Limit()))
	b = binary.AppendUvarint(b, c.missing)
	b = binary.AppendUvarint(b, c.other)
	b = binary.AppendUvarint(b, uint64(len(c.values)))
	// Every pane and checkpoint encodes its sketches: sort the positions of
	// a usual number of values in an array on the stack.
	var stack [stackOrder]int
	for _, i := range c.appendSortedOrder(stack[:0]) {
		b = binary.AppendUvarint(b, uint64(len(c.values[i])))
		b = append(b, c.values[i]...)
		b = binary.AppendUvarint(b, c.counts[i])
	}
	if c.hll == nil || len(c.values) == 0 && c.other == 0 {
		// Without a value the HyperLogLog is empty, and a sketch emptied
		// by Reset encodes as a new one.
		return binary.AppendUvarint(b, 0), nil
	}
	// The HyperLogLog's encoding lists its sparse temporary set in map
	// order; compacting a copy first (Estimate merges that set into the
	// sorted list) makes the bytes a function of the distinct values. A
	// sketch that Estimate would not change (decoded, say) is encoded as it
	// is, without the copy and its allocations.
	start := len(b)
	if hb, err := c.hll.AppendBinary(b); err == nil && hllCompact(hb[start:]) {
		return prefixLength(hb, start), nil
	}
	h := c.hll.Clone()
	h.Estimate()
	b, err := h.AppendBinary(b[:start])
	if err != nil {
		return nil, err
	}
	return prefixLength(b, start), nil
}

// hllCompact reports whether enc, a HyperLogLog encoding (axiomhq/hyperloglog
// version 2), is one Estimate would leave as it is: dense, or sparse with an
// empty temporary set and a sparse list of at most m bytes (beyond, Estimate
// turns the sketch dense).
func hllCompact(enc []byte) bool {
	if len(enc) < 8 || enc[0] != 2 || enc[3] > 1 {
		return false
	}
	if enc[3] == 0 {
		return true // dense
	}
	// Sparse: tmp set size, then the list's count, last and byte length.
	if len(enc) < 20 || binary.BigEndian.Uint32(enc[4:8]) != 0 {
		return false
	}
	m := uint32(1) << enc[1]
	return binary.BigEndian.Uint32(enc[16:20]) <= m
}

// prefixLength inserts before b[start:] its length as a uvarint.
func prefixLength(b []byte, start int) []byte {
	n := len(b) - start
	var prefix [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(prefix[:], uint64(n))
	b = append(b, prefix[:k]...)
	copy(b[start+k:], b[start:start+n])
	copy(b[start:], prefix[:k])
	return b
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler. On error c is
// unchanged.
//
// It reuses c's memory as Reset does: the merger decodes every partition's
// panes into recycled partials, whose sketches mostly see the same values
// again, so a first pass only validates and a second one fills c, copying
// only values c did not track in its current or previous life. The
// HyperLogLog is decoded afresh (its package has no decoding in place).
//
// The values it copies share one allocation: a decoded sketch copied each
// of them apart, 20 allocations for a usual pane's feature.
func (c *Categorical) UnmarshalBinary(data []byte) error {
	h, size, err := c.decode(data, false, 0)
	if err != nil {
		return err
	}
	_, _, err = c.decode(data, true, size)
	c.hll = h
	return err
}

// decode validates data and, with store, replaces c's state but its
// HyperLogLog with it, copying values into one string of size bytes at
// most. Without store it does not touch c, and it returns the decoded
// HyperLogLog and the size of the values.
func (c *Categorical) decode(data []byte, store bool, size int) (*hyperloglog.Sketch, int, error) {
	r := reader{typ: "categorical", b: data}
	if _, err := r.header(kindCategorical, categoricalVersion); err != nil {
		return nil, 0, err
	}
	limit := r.uvarint()
	missing := r.uvarint()
	other := r.uvarint()
	if r.err != nil {
		return nil, 0, r.err
	}
	if limit == 0 || limit > maxCategoricalLimit {
		return nil, 0, r.fail("limit out of range")
	}
	nv := r.count(2)
	if uint64(nv) > limit {
		return nil, 0, r.fail("more values than the limit")
	}
	if store {
		c.Reset()
		c.limit, c.missing, c.other = int(limit), missing, other
		if c.index == nil {
			c.index = make(map[string]int, nv)
		}
		if cap(c.values) < nv {
			c.values = slices.Grow(c.values, nv)
		}
		if cap(c.counts) < nv {
			c.counts = slices.Grow(c.counts, nv)
		}
	}
	var prev []byte
	var copies strings.Builder // of the values c did not know
	for i := 0; i < nv && r.err == nil; i++ {
		l := r.count(1)
		v := r.bytes(l)
		cnt := r.uvarint()
		if r.err != nil {
			break
		}
		if cnt == 0 || (i > 0 && bytes.Compare(prev, v) >= 0) {
			return nil, 0, r.fail("values not strictly increasing or count zero")
		}
		prev = v
		if !store {
			size += len(v)
		} else {
			s, ok := "", false
			if j, known := c.index[string(v)]; known && j < 0 {
				s, ok = c.prev[^j], true // tracked before: no copy
			}
			if !ok {
				// Grown once to the size of every value, the builder
				// never moves: earlier values stay valid substrings.
				if copies.Cap() == 0 {
					copies.Grow(size)
				}
				start := copies.Len()
				copies.Write(v)
				s = copies.String()[start:]
			}
			c.index[s] = i
			c.values = append(c.values, s)
			c.counts = append(c.counts, cnt)
		}
	}
	hl := r.count(1)
	h := r.bytes(hl)
	if err := r.end(); err != nil {
		return nil, 0, err
	}
	if store {
		return nil, 0, nil
	}
	if hl > 0 {
		// Byte 1 of the HyperLogLog encoding is its precision; Merge needs
		// equal precisions, so accept 14 only.
		r.off -= hl
		if hl < 2 || h[1] != 14 {
			return nil, 0, r.fail("hyperloglog precision is not 14")
		}
		s := &hyperloglog.Sketch{}
		if err := s.UnmarshalBinary(h); err != nil {
			return nil, 0, r.fail("hyperloglog: " + err.Error())
		}
		return s, size, nil
	} else if nv > 0 || other > 0 {
		return nil, 0, r.fail("values without hyperloglog")
	}
	return nil, size, nil
}
