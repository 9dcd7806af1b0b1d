package sketch

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"testing"
)

// oldCategoricalEncoding is Categorical.AppendBinary as it was before it
// stopped allocating: the reference the encoding must stay equal to.
func oldCategoricalEncoding(c *Categorical) []byte {
	var b []byte
	b = append(b, categoricalVersion, kindCategorical)
	b = binary.AppendUvarint(b, uint64(c.Limit()))
	b = binary.AppendUvarint(b, c.missing)
	b = binary.AppendUvarint(b, c.other)
	b = binary.AppendUvarint(b, uint64(len(c.values)))
	for _, i := range c.sortedOrder() {
		b = binary.AppendUvarint(b, uint64(len(c.values[i])))
		b = append(b, c.values[i]...)
		b = binary.AppendUvarint(b, c.counts[i])
	}
	if c.hll == nil || len(c.values) == 0 && c.other == 0 {
		return binary.AppendUvarint(b, 0)
	}
	h := c.hll.Clone()
	h.Estimate()
	hb, err := h.MarshalBinary()
	if err != nil {
		panic(err)
	}
	b = binary.AppendUvarint(b, uint64(len(hb)))
	return append(b, hb...)
}

// TestCategoricalEncodingUnchanged checks the encoding against the old
// encoder in every HyperLogLog state: sparse with a temporary set,
// compacted (decoded), merged, dense, and reset.
func TestCategoricalEncodingUnchanged(t *testing.T) {
	cases := categoricalCases()
	dense := NewCategorical(0)
	for i := range 30_000 {
		dense.AddString("d" + strconv.Itoa(i))
	}
	cases["dense"] = dense
	many := NewCategorical(0)
	for i := range 300 {
		many.AddString("m" + strconv.Itoa(i))
	}
	cases["300 values"] = many
	for name, c := range categoricalCases() {
		var d Categorical
		if err := d.UnmarshalBinary(mustMarshal(t, c)); err != nil {
			t.Fatal(err)
		}
		cases[name+", decoded"] = &d
		m := d.Clone()
		m.AddString("another")
		if err := m.Merge(&d); err != nil {
			t.Fatal(err)
		}
		cases[name+", merged"] = m
		r := c.Clone()
		r.Reset()
		cases[name+", reset"] = r
	}
	for name, c := range cases {
		want := oldCategoricalEncoding(c)
		got, err := c.AppendBinary([]byte("prefix"))
		if err != nil || !bytes.Equal(got[6:], want) {
			t.Errorf("%s: encoding differs from the old encoder's (err %v)", name, err)
		}
	}
}

// TestCategoricalAppendBinaryAllocs: a decoded sketch (as the merger's
// aggregator holds and checkpoints) encodes into a buffer with room
// without allocating.
func TestCategoricalAppendBinaryAllocs(t *testing.T) {
	c := NewCategorical(0)
	for i := range 1000 {
		c.AddString("value-" + strconv.Itoa(i%20))
	}
	var d Categorical
	if err := d.UnmarshalBinary(mustMarshal(t, c)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	if a := testing.AllocsPerRun(10, func() { buf, _ = d.AppendBinary(buf[:0]) }); a != 0 {
		t.Errorf("%v allocs per AppendBinary of a decoded sketch, want 0", a)
	}
}

// TestUnmarshalReuses decodes into sketches that held other states, as the
// merger's recycled partials do: the result must equal a fresh decode, and
// a Numeric must not allocate, a Categorical no more than its HyperLogLog.
func TestUnmarshalReuses(t *testing.T) {
	nums := numericCases()
	for an, a := range nums {
		for bn, b := range nums {
			ea, eb := mustMarshal(t, a), mustMarshal(t, b)
			var n Numeric
			if err := n.UnmarshalBinary(ea); err != nil {
				t.Fatal(err)
			}
			if err := n.UnmarshalBinary(eb); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(mustMarshal(t, &n), eb) {
				t.Errorf("numeric %s decoded over %s re-encodes differently", bn, an)
			}
			// A failed decode leaves it unchanged.
			if err := n.UnmarshalBinary(ea[:len(ea)-1]); err == nil || !bytes.Equal(mustMarshal(t, &n), eb) {
				t.Errorf("numeric %s: a failed decode changed it (err %v)", bn, err)
			}
			if a := testing.AllocsPerRun(5, func() { n.UnmarshalBinary(eb) }); a != 0 {
				t.Errorf("numeric %s: %v allocs decoding into a recycled sketch, want 0", bn, a)
			}
		}
	}
	cats := categoricalCases()
	for an, a := range cats {
		for bn, b := range cats {
			ea, eb := mustMarshal(t, a), mustMarshal(t, b)
			var c Categorical
			if err := c.UnmarshalBinary(ea); err != nil {
				t.Fatal(err)
			}
			if err := c.UnmarshalBinary(eb); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(mustMarshal(t, &c), eb) || !equalCounts(&c, b) {
				t.Errorf("categorical %s decoded over %s differs", bn, an)
			}
			if err := c.UnmarshalBinary(ea[:len(ea)-1]); err == nil || !bytes.Equal(mustMarshal(t, &c), eb) {
				t.Errorf("categorical %s: a failed decode changed it (err %v)", bn, err)
			}
			hll := 0.0
			if b.hll != nil && (len(b.values) > 0 || b.other > 0) {
				h := b.hll.Clone()
				h.Estimate()
				hb, _ := h.MarshalBinary()
				hll = 1 + testing.AllocsPerRun(5, func() { h.UnmarshalBinary(hb) })
			}
			if a := testing.AllocsPerRun(5, func() { c.UnmarshalBinary(eb) }); a > hll {
				t.Errorf("categorical %s: %v allocs decoding into a recycled sketch, want at most the HyperLogLog's %v", bn, a, hll)
			}
			// The recycled sketch keeps counting like a fresh one.
			var fresh Categorical
			fresh.UnmarshalBinary(eb)
			for _, s := range []*Categorical{&c, &fresh} {
				s.AddString("x")
				s.AddString("a")
			}
			if !bytes.Equal(mustMarshal(t, &c), mustMarshal(t, &fresh)) {
				t.Errorf("categorical %s decoded over %s diverges after Add", bn, an)
			}
		}
	}
}

// TestPaneAllocs pins the allocations of a pane's sketches: none for a
// recycled one (Reset, refill), and a handful for a new numeric one.
func TestPaneAllocs(t *testing.T) {
	vals := continuous(1, 1000, 0)
	n := NewNumeric(nil)
	if a := testing.AllocsPerRun(5, func() {
		n.Reset()
		for _, v := range vals {
			n.Add(v)
		}
	}); a != 0 {
		t.Errorf("%v allocs per recycled numeric pane, want 0", a)
	}
	// The struct, atoms (twice 2), centroids, spare, buffer and scratch.
	if a := testing.AllocsPerRun(5, func() {
		n := NewNumeric(nil)
		for _, v := range vals {
			n.Add(v)
		}
	}); a > 9 {
		t.Errorf("%v allocs per new numeric pane, want at most 9", a)
	}
	c := NewCategorical(0)
	cats := make([][]byte, 1000)
	for i := range cats {
		cats[i] = []byte("value-" + strconv.Itoa(i%20))
	}
	if a := testing.AllocsPerRun(100, func() {
		c.Reset()
		for _, v := range cats {
			c.Add(v)
		}
	}); a != 0 {
		t.Errorf("%v allocs per recycled categorical pane, want 0", a)
	}
}

// TestCategoricalDecodeCopiesOnce: a new sketch decoding 20 values copies
// them in one allocation, not one each.
func TestCategoricalDecodeCopiesOnce(t *testing.T) {
	c := NewCategorical(0)
	for i := range 1000 {
		c.AddString("value-" + strconv.Itoa(i%20))
	}
	enc := mustMarshal(t, c)
	h := c.hll.Clone()
	h.Estimate()
	hb, _ := h.MarshalBinary()
	hll := 1 + testing.AllocsPerRun(5, func() { h.UnmarshalBinary(hb) })
	a := testing.AllocsPerRun(5, func() {
		var d Categorical
		if err := d.UnmarshalBinary(enc); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%v allocs, %v of them the HyperLogLog's", a, hll)
	// The sketch, the index (a map of 20: up to 3), values, counts and
	// the values' copies, beside the HyperLogLog; copying each value
	// would be 20 more.
	limit := hll + 8
	if raceEnabled {
		limit++ // the race build's map makes one allocation more
	}
	if a > limit {
		t.Errorf("%v allocs decoding 20 values into a new sketch, want at most %v", a, limit)
	}
}

// TestModelAllocs: a sketch's CDF model, built for each drift statistic of
// each closed window, is one allocation (its three knot slices share it).
func TestModelAllocs(t *testing.T) {
	digest := numericOf(nil, continuous(1, 4*bufferSize, 0)...)
	digest.flush() // with buffered values, it adds their steps: 3 more
	exact := numericOf(nil, 1, 2, 2, 3)
	for name, n := range map[string]*Numeric{"digest": digest, "exact": exact} {
		if a := testing.AllocsPerRun(5, func() { n.model() }); a != 1 {
			t.Errorf("%s: %v allocs per model, want 1", name, a)
		}
	}
}
