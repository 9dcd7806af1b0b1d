package perf

import (
	"math"
	"math/bits"
)

// fixedOne is 1.0 in the fixed-point representation of sum128: values in
// [0,1] are stored as integer multiples of 2⁻⁵².
const fixedOne = 1 << 52

// sum128 is an exact, order-independent sum of values in [0,1]. Each value
// is rounded to the nearest multiple of 2⁻⁵² (an absolute error of at most
// 2⁻⁵³, below float64's own precision near 1) and added as an integer to a
// 128-bit accumulator, so sums merge associatively and commutatively: the
// same multiset of values gives the same bits however it was partitioned.
// It cannot overflow before 2⁷⁶ additions.
type sum128 struct{ hi, lo uint64 }

// quantize maps v to its fixed-point integer. v must be in [0,1]; callers
// clamp before calling.
func quantize(v float64) uint64 {
	// v*2^52 is exact (a power-of-two scaling); adding 0.5 and truncating
	// rounds half up, deterministically.
	return uint64(v*fixedOne + 0.5)
}

// add adds v, which must be in [0,1].
func (s *sum128) add(v float64) { s.addFixed(quantize(v)) }

// addFixed adds an already quantised value.
func (s *sum128) addFixed(q uint64) {
	var c uint64
	s.lo, c = bits.Add64(s.lo, q, 0)
	s.hi += c
}

// merge adds o into s.
func (s *sum128) merge(o sum128) {
	var c uint64
	s.lo, c = bits.Add64(s.lo, o.lo, 0)
	s.hi, _ = bits.Add64(s.hi, o.hi, c)
}

// float returns the sum as a float64 (rounded once per 64-bit half).
func (s sum128) float() float64 {
	return (float64(s.hi)*0x1p64 + float64(s.lo)) * 0x1p-52
}

// complementOf returns n − s, that is Σ(1 − vᵢ) when s = Σvᵢ over n values.
// It is exact because each 1 − vᵢ is represented as fixedOne − quantize(vᵢ).
func complementOf(n uint64, s sum128) sum128 {
	// n·2^52 as a 128-bit integer.
	nh, nl := n>>12, n<<52
	lo, b := bits.Sub64(nl, s.lo, 0)
	hi, _ := bits.Sub64(nh, s.hi, b)
	return sum128{hi, lo}
}

// lessEq reports whether s ≤ n·2^52, i.e. whether a sum over n values of
// [0,1] is consistent with its count. Used to validate decoded state.
func (s sum128) lessEqCount(n uint64) bool {
	nh, nl := n>>12, n<<52
	return s.hi < nh || (s.hi == nh && s.lo <= nl)
}

// clamp01 clamps v into [0,1]. NaN is returned unchanged.
func clamp01(v float64) float64 {
	switch {
	case v < 0:
		return 0
	case v > 1:
		return 1
	}
	return v
}

// isNaN is math.IsNaN, named here so the hot paths read plainly.
func isNaN(v float64) bool { return math.IsNaN(v) }
