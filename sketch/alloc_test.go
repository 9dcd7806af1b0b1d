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
	b = append(b, formatVersion, kindCategorical)
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
