package perf

import (
	"math"
	"math/big"
	"math/bits"
)

// exactWords is the width of an exactSum: every finite float64 is an
// integer multiple of 2⁻¹⁰⁷⁴ below 2¹⁰²⁴, 2098 bits, and one more word
// holds the carries of 2⁶⁴ additions.
const exactWords = (1074+1024+63)/64 + 1

// exactSum is an exact sum of non-negative float64 values (a Kulisch
// accumulator): each value is added as the integer it is in units of
// 2⁻¹⁰⁷⁴, so no addition rounds. The same multiset of values gives the same
// bits however it was split into panes and partitions and in whatever
// order they merge, which float64 addition does not; the float64 of the
// sum is rounded once, to nearest. +Inf values are counted apart (the sum
// is then +Inf). Adding costs a shift and two or three word additions.
type exactSum struct {
	w   [exactWords]uint64 // little-endian words
	inf uint64             // +Inf values added
}

// add adds x, which must be >= 0 (NaN and negative values are the caller's
// bug and are ignored).
func (s *exactSum) add(x float64) {
	switch {
	case !(x > 0):
		return
	case math.IsInf(x, 1):
		s.inf++
		return
	}
	b := math.Float64bits(x)
	exp := int(b >> 52 & 0x7ff)
	m := b & (1<<52 - 1)
	off := 0 // bit offset of m's lowest bit, in units of 2⁻¹⁰⁷⁴
	if exp > 0 {
		m |= 1 << 52
		off = exp - 1
	}
	i, sh := off/64, uint(off%64)
	lo, hi := m<<sh, uint64(0)
	if sh > 0 {
		hi = m >> (64 - sh)
	}
	var c uint64
	s.w[i], c = bits.Add64(s.w[i], lo, 0)
	s.w[i+1], c = bits.Add64(s.w[i+1], hi, c)
	for j := i + 2; c != 0 && j < exactWords; j++ {
		s.w[j], c = bits.Add64(s.w[j], 0, c)
	}
}

// merge adds o into s.
func (s *exactSum) merge(o *exactSum) {
	var c uint64
	for i := range s.w {
		s.w[i], c = bits.Add64(s.w[i], o.w[i], c)
	}
	s.inf += o.inf
}

// isZero reports whether nothing but zeros was added.
func (s *exactSum) isZero() bool { return s.inf == 0 && s.w == [exactWords]uint64{} }

// int returns the sum in units of 2⁻¹⁰⁷⁴.
func (s *exactSum) int() *big.Int {
	ws := make([]big.Word, 0, exactWords*64/bits.UintSize)
	for _, w := range s.w {
		if bits.UintSize == 64 {
			ws = append(ws, big.Word(w))
		} else {
			ws = append(ws, big.Word(uint32(w)), big.Word(w>>32))
		}
	}
	return new(big.Int).SetBits(ws)
}

// float returns the sum rounded to the nearest float64.
func (s *exactSum) float() float64 {
	if s.inf > 0 {
		return math.Inf(1)
	}
	return unitsFloat(s.int())
}

// unitsFloat converts an integer number of units of 2⁻¹⁰⁷⁴ to the nearest
// float64 (±Inf beyond its range).
func unitsFloat(i *big.Int) float64 {
	f := new(big.Float).SetInt(i) // exact: the precision is i's bit length
	f.SetMantExp(f, -1074)
	v, _ := f.Float64()
	return v
}

// appendTo appends the sum: its non-zero words, as (index, word) pairs,
// and the count of infinities.
func (s *exactSum) appendTo(e *encoder) {
	n := 0
	for _, w := range s.w {
		if w != 0 {
			n++
		}
	}
	e.uvarint(uint64(n))
	for i, w := range s.w {
		if w != 0 {
			e.uvarint(uint64(i))
			e.uvarint(w)
		}
	}
	e.uvarint(s.inf)
}

// read reads what appendTo wrote.
func (d *decoder) exactSum() exactSum {
	var s exactSum
	n := d.Uvarint()
	if n > exactWords {
		d.fail(ErrCorrupt, "exact sum of %d words", n)
		return s
	}
	last := -1
	for range n {
		i := d.Uvarint()
		w := d.Uvarint()
		if d.Err() != nil {
			return s
		}
		if i >= exactWords || int(i) <= last || w == 0 {
			d.fail(ErrCorrupt, "exact sum word %d out of order or zero", i)
			return s
		}
		last = int(i)
		s.w[i] = w
	}
	s.inf = d.Uvarint()
	return s
}
