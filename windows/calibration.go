package windows

import (
	"math"

	"github.com/reckonhq/reckon/sketch"
	"github.com/reckonhq/reckon/windows/perf"
)

// CalibrationMatters is the amount by which calibrating the scores must
// move an estimated rate on the reference for calibration to be said to
// matter (CalibrationReport.Matters): 0.01, a percentage point.
const CalibrationMatters = 0.01

// thresholdTolerance is how far the mean score of a reference's predicted
// positives (or negatives) may be from that of its top (bottom) scores for
// the predicted class to count as a threshold of the score.
const thresholdTolerance = 0.005

// CalibrationReport says how miscalibrated a model's scores are on its
// reference, and whether the calibrator reckon fits there changes the
// estimates.
type CalibrationReport struct {
	// RawECE is the Expected Calibration Error of the reference's joined
	// scores, CalibratedECE that of their calibrated probabilities,
	// cross-validated (perf.CalibrationErrors); ECEOK is false without a
	// scored, labelled prediction.
	RawECE, CalibratedECE float64
	ECEOK                 bool
	// Shift holds, by metric of perf.Metrics (FPR, TPR, precision,
	// accuracy, F1), |estimate with calibration − estimate without| over
	// the reference's predictions; a metric whose estimate is undefined is
	// absent.
	// ShiftOK is false when that cannot be computed: no calibrator, or a
	// predicted class that is not a threshold of the score (see
	// Reference.CalibrationReport).
	Shift   map[perf.Metric]float64
	ShiftOK bool
	// Matters is whether some Shift exceeds CalibrationMatters.
	Matters bool
}

// CalibrationReport reports on the calibration of a complete reference's
// scores (see CalibrationReport).
//
// The shifts compare the CBPE estimates of the reference's own predictions
// with and without its calibrator. The reference keeps its predictions'
// scores as a sketch and their estimate (identity-calibrated, as its
// predictions were processed before the calibrator existed) as sums per
// predicted class, not each score with its class; so the predicted
// positives are taken to be the highest-scored ones, as they are when the
// predicted class is score ≥ a threshold (the model's threshold, or the
// model's own). That is checked: the mean score of the top ones must be
// within 0.005 of the predicted positives' mean kept in the estimate, and
// likewise for the negatives; otherwise ShiftOK is false.
func (r *Reference) CalibrationReport() CalibrationReport {
	rep := CalibrationReport{}
	rep.RawECE, rep.CalibratedECE, rep.ECEOK = perf.CalibrationErrors(&r.Perf)
	if r.Calibrator.IsIdentity() {
		return rep
	}
	rep.Shift, rep.ShiftOK = calibrationShift(r.Score, &r.Estimate, r.Calibrator)
	for _, s := range rep.Shift {
		if s > CalibrationMatters {
			rep.Matters = true
		}
	}
	return rep
}

// calibrationShift computes CalibrationReport.Shift from a reference's
// score sketch and identity-calibrated estimate.
func calibrationShift(score *sketch.Numeric, est *perf.Estimate, cal *perf.Calibrator) (shift map[perf.Metric]float64, ok bool) {
	vs, ws := score.Masses()
	n := float64(est.Count())
	var total float64
	for _, w := range ws {
		total += w
	}
	if n == 0 || math.Abs(total-n) > 0.5 {
		return nil, false // the sketch and the estimate do not cover the same predictions
	}
	kept := est.Expected()
	posN, negN := kept.TP+kept.FP, kept.TN+kept.FN
	// The top posN of the masses are the predicted positives.
	var raw, calibrated perf.ExpectedConfusion
	left := posN
	for i := len(vs) - 1; i >= 0; i-- {
		s, p := vs[i], cal.Calibrate(vs[i])
		pos := min(ws[i], left)
		neg := ws[i] - pos
		left -= pos
		raw.TP += pos * s
		raw.FP += pos * (1 - s)
		raw.FN += neg * s
		raw.TN += neg * (1 - s)
		calibrated.TP += pos * p
		calibrated.FP += pos * (1 - p)
		calibrated.FN += neg * p
		calibrated.TN += neg * (1 - p)
	}
	if (posN > 0 && math.Abs(raw.TP-kept.TP)/posN > thresholdTolerance) ||
		(negN > 0 && math.Abs(raw.FN-kept.FN)/negN > thresholdTolerance) {
		return nil, false
	}
	shift = make(map[perf.Metric]float64)
	for _, m := range perf.Metrics() {
		a, okA := raw.Rate(m)
		b, okB := calibrated.Rate(m)
		if okA && okB {
			shift[m] = math.Abs(b - a)
		}
	}
	return shift, true
}
