package perf

import (
	"errors"
	"math"
	"math/bits"
)

// ErrEmptyReference is returned by [FitCalibrator] when the reference window
// holds no scored, labelled predictions to fit on.
var ErrEmptyReference = errors.New("perf: reference window has no scored predictions")

// Calibrator maps a model's score to a calibrated probability that the label
// is positive. It is a monotone (non-decreasing) function of the score,
// fitted by isotonic regression on a labelled reference (see
// [FitCalibrator]).
//
// The zero Calibrator, and a nil *Calibrator, is the identity calibration:
// it trusts the score as the probability. Use it when no reference labels
// are available.
//
// A fitted Calibrator is read-only, so unlike the accumulators it may be
// shared between goroutines once built (Calibrate does not modify it);
// UnmarshalBinary, like any write, must not race with readers.
type Calibrator struct {
	// Knots of a piecewise-linear function: x strictly increasing in [0,1],
	// y non-decreasing in [0,1], len(x) == len(y). Empty means identity.
	x, y []float64
}

// FitCalibrator fits an isotonic regression of label on score to the
// reference window ref, with the pool-adjacent-violators algorithm run on
// ref's fine score histograms ([NumScoreBins] bins, each weighted by its
// number of predictions). It works from this sketch alone, so the fit input
// is mergeable: fit on the [Window.Merge] of any number of partial reference
// windows.
//
// Each pooled block of bins becomes one knot, at the count-weighted mean of
// its bins' midpoints, with value its positive rate; [Calibrator.Calibrate]
// interpolates linearly between knots and is constant beyond the first and
// last. The fit is a deterministic function of ref's counts.
//
// Hazards: the fit is only as good as the reference. A score range the
// reference never saw is extrapolated flat; a small reference gives a
// coarse, step-like fit (isotonic regression pools until monotone, so with
// few labels it has few knots). It returns [ErrEmptyReference] if ref has
// no scored predictions.
func FitCalibrator(ref *Window) (*Calibrator, error) {
	if ref == nil || ref.scored == 0 {
		return nil, ErrEmptyReference
	}
	type block struct {
		n, pos uint64
		xsum   float64 // Σ n_b · midpoint_b
	}
	// Pool-adjacent-violators over the non-empty bins, left to right: push
	// each bin as a block, then merge the top two while the earlier one has
	// the strictly higher positive rate.
	blocks := make([]block, 0, 64)
	h := ref.hist // not nil: scored > 0
	for b := range NumScoreBins {
		n := h.pos[b] + h.neg[b]
		if n == 0 {
			continue
		}
		mid := (float64(b) + 0.5) / NumScoreBins
		blocks = append(blocks, block{n: n, pos: h.pos[b], xsum: float64(n) * mid})
		for len(blocks) > 1 {
			a, c := &blocks[len(blocks)-2], &blocks[len(blocks)-1]
			if !rateGreater(a.pos, a.n, c.pos, c.n) {
				break
			}
			a.n += c.n
			a.pos += c.pos
			a.xsum += c.xsum
			blocks = blocks[:len(blocks)-1]
		}
	}
	c := &Calibrator{x: make([]float64, len(blocks)), y: make([]float64, len(blocks))}
	for i, bl := range blocks {
		c.x[i] = bl.xsum / float64(bl.n)
		c.y[i] = float64(bl.pos) / float64(bl.n)
	}
	// Guard the strict increase of x against rounding (pooled blocks cover
	// disjoint, increasing bin ranges, so their mean midpoints increase).
	for i := 1; i < len(c.x); i++ {
		if c.x[i] <= c.x[i-1] {
			c.x[i] = math.Nextafter(c.x[i-1], 2)
		}
	}
	return c, nil
}

// rateGreater reports whether a/an > b/bn exactly, comparing a·bn with
// b·an as 128-bit products.
func rateGreater(a, an, b, bn uint64) bool {
	h1, l1 := bits.Mul64(a, bn)
	h2, l2 := bits.Mul64(b, an)
	return h1 > h2 || (h1 == h2 && l1 > l2)
}

// Calibrate returns the calibrated probability of a positive label for
// score. It is non-decreasing in score and returns a value in [0,1]; scores
// outside [0,1] are clamped first, NaN is returned as NaN. It does not
// allocate and takes O(log knots) time.
func (c *Calibrator) Calibrate(score float64) float64 {
	if isNaN(score) {
		return score
	}
	s := clamp01(score)
	if c == nil || len(c.x) == 0 {
		return s
	}
	x, y := c.x, c.y
	last := len(x) - 1
	if s <= x[0] {
		return y[0]
	}
	if s >= x[last] {
		return y[last]
	}
	// Find i with x[i] ≤ s < x[i+1].
	lo, hi := 0, last
	for hi-lo > 1 {
		m := int(uint(lo+hi) >> 1)
		if x[m] <= s {
			lo = m
		} else {
			hi = m
		}
	}
	t := (s - x[lo]) / (x[hi] - x[lo])
	v := y[lo] + float64(t*(y[hi]-y[lo]))
	// Interpolation stays within [y[lo], y[hi]] but for rounding; keep the
	// monotonicity promise exact.
	return min(max(v, y[lo]), y[hi])
}

// IsIdentity reports whether c is the identity calibration (zero or nil).
func (c *Calibrator) IsIdentity() bool { return c == nil || len(c.x) == 0 }

// Knots returns copies of the calibration function's knots: scores strictly
// increasing and probabilities non-decreasing. Both are empty for the
// identity.
func (c *Calibrator) Knots() (scores, probabilities []float64) {
	if c.IsIdentity() {
		return nil, nil
	}
	return append([]float64(nil), c.x...), append([]float64(nil), c.y...)
}

const calibratorVersion = 1

// MarshalBinary encodes c (version 1: the knots as float64 pairs). It never
// fails. The identity encodes as zero knots.
func (c *Calibrator) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// AppendBinary appends the encoding of c to b. It never fails.
func (c *Calibrator) AppendBinary(b []byte) ([]byte, error) {
	e := encoder{b}
	e.header(magicCalibrator, calibratorVersion)
	if c == nil {
		e.uvarint(0)
		return e.b, nil
	}
	e.uvarint(uint64(len(c.x)))
	for i := range c.x {
		e.f64(c.x[i])
		e.f64(c.y[i])
	}
	return e.b, nil
}

// UnmarshalBinary replaces c with the decoded calibrator. It rejects knots
// that break the invariants (non-finite, outside [0,1], x not strictly
// increasing, y decreasing, more than [NumScoreBins] knots). On error, which
// is a [*DecodeError], c is unchanged.
func (c *Calibrator) UnmarshalBinary(data []byte) error {
	d := newDecoder("Calibrator", data)
	if v := d.header(magicCalibrator); d.Err() == nil && v != calibratorVersion {
		d.fail(ErrVersion, "this build reads version %d", calibratorVersion)
	}
	k := d.Uvarint()
	if d.Err() == nil && (k > NumScoreBins || k*16 > uint64(d.Len())) {
		d.fail(ErrCorrupt, "%d knots do not fit", k)
	}
	if d.Err() != nil {
		return d.Err()
	}
	var t Calibrator
	if k > 0 {
		t.x, t.y = make([]float64, k), make([]float64, k)
	}
	for i := range t.x {
		t.x[i], t.y[i] = d.Float64(), d.Float64()
		if !(t.x[i] >= 0 && t.x[i] <= 1 && t.y[i] >= 0 && t.y[i] <= 1) ||
			(i > 0 && (t.x[i] <= t.x[i-1] || t.y[i] < t.y[i-1])) {
			d.fail(ErrCorrupt, "knot %d (%g, %g) breaks monotonicity or range", i, t.x[i], t.y[i])
			break
		}
	}
	if err := d.End(); err != nil {
		return err
	}
	*c = t
	return nil
}
