package perf

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// CalibrationFolds is the number of folds of the cross-validation behind
// [CalibrationErrors].
const CalibrationFolds = 10

// CalibrationErrors reports how well calibrated a reference window's scores
// are, before and after the isotonic calibration [FitCalibrator] fits on it:
// raw is the Expected Calibration Error of the scores ([Window.ECE], ten
// equal-width bins), calibrated that of the calibrated probabilities.
//
// An isotonic fit is calibrated on its own data almost by construction
// (each pooled block's probability is its positive rate), so calibrated is
// cross-validated, as NannyML's needs_calibration does: the labelled
// predictions are split at random into [CalibrationFolds] folds, a
// calibrator is fitted on all folds but one and applied to the one left
// out, and the ECE is taken over every held-out prediction. The split is of
// the fine score histograms' counts (predictions in one bin of width 1/2048
// are alike to the fit), drawn from a fixed seed, so the result is
// reproducible: the same for the same ref (on one platform: the binomial
// draws use the math library's floating point). Held-out predictions are
// scored at their bin's midpoint. It is a report, not part of any window's
// state.
//
// ok is false when ref has no scored prediction.
func CalibrationErrors(ref *Window) (raw, calibrated float64, ok bool) {
	raw, ok = ref.ECE()
	if !ok {
		return 0, 0, false
	}
	const k = CalibrationFolds
	src := rand.NewPCG(0x6361_6c69_6272, 0x6174_696f_6e)
	// fold[f] holds fold f's share of each bin: negatives, then positives.
	fold := make([][2][NumScoreBins]uint64, k)
	split := func(n uint64, out func(f int, c uint64)) {
		for f := range k - 1 {
			if n == 0 {
				return
			}
			c := uint64(distuv.Binomial{N: float64(n), P: 1 / float64(k-f), Src: src}.Rand())
			c = min(c, n)
			out(f, c)
			n -= c
		}
		out(k-1, n)
	}
	for b := range NumScoreBins {
		split(ref.neg[b], func(f int, c uint64) { fold[f][0][b] = c })
		split(ref.pos[b], func(f int, c uint64) { fold[f][1][b] = c })
	}
	var bins [NumCalibrationBins]struct{ n, pos, sum float64 }
	train := new(Window)
	for f := range k {
		train.scored = 0
		for b := range NumScoreBins {
			train.neg[b] = ref.neg[b] - fold[f][0][b]
			train.pos[b] = ref.pos[b] - fold[f][1][b]
			train.scored += train.neg[b] + train.pos[b]
		}
		cal, err := FitCalibrator(train)
		if err != nil {
			continue // every prediction fell in this fold: nothing to fit on
		}
		for b := range NumScoreBins {
			neg, pos := float64(fold[f][0][b]), float64(fold[f][1][b])
			if neg+pos == 0 {
				continue
			}
			p := cal.Calibrate((float64(b) + 0.5) / NumScoreBins)
			e := &bins[calibrationBin(p)]
			e.n += neg + pos
			e.pos += pos
			e.sum += float64((neg + pos) * p)
		}
	}
	var n, sum float64
	for _, e := range bins {
		n += e.n
		sum += math.Abs(e.sum - e.pos)
	}
	if n == 0 {
		return raw, 0, false
	}
	return raw, sum / n, true
}
