package perf

import "math"

// Sampling error
//
// Every per-window rate, realised or estimated, comes with a standard error
// computed from the window alone (no reference needed): the standard
// deviation the rate would have over windows of the same size drawn from
// the same population. reckon draws a band of ±3 standard errors; a move
// inside it may be noise.
//
//   - A ratio rate k/n (FPR, TPR, precision, accuracy) is a binomial
//     proportion over its denominator: SE = √(r(1−r)/n). For an estimate,
//     r and n are the estimated rate and the expected denominator (E[FP] +
//     E[TN] for the FPR, say).
//   - F1 = 2J/(1+J) with J = TP/(TP+FP+FN), a binomial proportion over the
//     m = TP+FP+FN predictions that are predicted or labelled positive; by
//     the delta method SE = 2/(1+J)² · √(J(1−J)/m).
//   - ROC AUC uses DeLong's variance (DeLong, DeLong and Clarke-Pearson,
//     1988): SE² = Var(V10)/P + Var(V01)/N, where V10 is a positive's
//     share of negatives scored below it and V01 a negative's share of
//     positives scored above it (ties one half), over the P positives and N
//     negatives. Hanley and McNeil's closed form, which assumes exponential
//     score distributions, overstated the spread by 20% on the test data.
//
// NannyML derives the same quantities from the reference instead (the
// spread of each metric's per-row contributions there, scaled to the
// window's size); under stationarity the two agree, and the per-window form
// follows the window when its class balance moves. For an estimate the
// binomial SE bounds the spread of realised − estimated: given the scores,
// the realised count of a cell varies by Σp(1−p) ≤ Σ(1−p) (or Σp), so the
// band around an estimate is conservative when the calibration is right.

// binomialSE is √(r(1−r)/n), or ok=false when n is not positive.
func binomialSE(r, n float64) (float64, bool) {
	if !(n > 0) {
		return 0, false
	}
	v := r * (1 - r) / n
	if v < 0 { // rounding just outside [0,1]
		v = 0
	}
	return math.Sqrt(v), true
}

// rateSE is the standard error of metric m over the four cells.
func rateSE(m Metric, tp, fp, tn, fn float64) (float64, bool) {
	r, ok := rate(m, tp, fp, tn, fn)
	if !ok {
		return 0, false
	}
	switch m {
	case MetricFPR:
		return binomialSE(r, fp+tn)
	case MetricTPR:
		return binomialSE(r, tp+fn)
	case MetricPrecision:
		return binomialSE(r, tp+fp)
	case MetricAccuracy:
		return binomialSE(r, tp+fp+tn+fn)
	case MetricF1:
		n := tp + fp + fn
		j := tp / n
		se, ok := binomialSE(j, n)
		d := 1 + j
		return 2 / (d * d) * se, ok
	}
	return 0, false
}

// StandardError returns the standard error of metric m over the window's
// confusion counts (see the package's Sampling error section); ok is false
// when the rate is undefined.
func (c Confusion) StandardError(m Metric) (float64, bool) {
	return rateSE(m, float64(c.TP), float64(c.FP), float64(c.TN), float64(c.FN))
}

// StandardError returns the standard error of the estimate of metric m,
// from the expected counts; ok is false when the estimate is undefined.
func (c ExpectedConfusion) StandardError(m Metric) (float64, bool) {
	return rateSE(m, c.TP, c.FP, c.TN, c.FN)
}

// F1 returns the estimated F1 2E[TP]/(2E[TP]+E[FP]+E[FN]), as NannyML's
// CBPE estimates it; ok is false when that is 0/0.
func (c ExpectedConfusion) F1() (v float64, ok bool) { return c.Rate(MetricF1) }

// F1 returns the estimated F1 (see [ExpectedConfusion.F1]).
func (e *Estimate) F1() (v float64, ok bool) { return e.Expected().F1() }

// aucPlacements computes an ROC AUC and its DeLong standard error over
// groups of tied scores in ascending order: group i holds pos(i) positives
// and neg(i) negatives (weights, possibly fractional). With the placement of
// a positive V10 = (negatives below + ½ tied)/N and of a negative V01 =
// (positives above + ½ tied)/P, AUC is the mean V10 and
// SE² = Var(V10)/P + Var(V01)/N (DeLong, DeLong and Clarke-Pearson 1988).
// Products are converted explicitly so that no fused multiply-add forms.
func aucPlacements(pos, neg []float64) (auc, se, p, q float64, ok bool) {
	var num float64
	for i, pk := range pos {
		nk := neg[i]
		num += float64(pk * float64(2*q+nk)) // q: negatives below so far
		q += nk
		p += pk
	}
	if !(p > 0 && q > 0) {
		return 0, 0, p, q, false
	}
	auc = num / (2 * p * q)
	var below, above, v10, v01 float64
	above = p
	for i, pk := range pos {
		nk := neg[i]
		above -= pk
		d10 := float64(below+nk/2)/q - auc
		d01 := float64(above+pk/2)/p - auc
		v10 += float64(pk * float64(d10*d10))
		v01 += float64(nk * float64(d01*d01))
		below += nk
	}
	return auc, math.Sqrt(v10/(p*p) + v01/(q*q)), p, q, true
}

// AUCStandardError returns the standard error of [Window.AUC]: DeLong's,
// from the placements of the window's scored positives and negatives
// (tied within a histogram bin, as the AUC itself counts them).
func (w *Window) AUCStandardError() (float64, bool) {
	pos, neg := make([]float64, NumScoreBins), make([]float64, NumScoreBins)
	for b := range NumScoreBins {
		pos[b], neg[b] = float64(w.pos[b]), float64(w.neg[b])
	}
	_, se, _, _, ok := aucPlacements(pos, neg)
	return se, ok
}

// EstimatedAUC is CBPE's estimate of the ROC AUC of predictions whose
// scores are given as point masses: weights[i] predictions scored
// scores[i], scores ascending (a score sketch's masses). Each prediction of
// calibrated probability p = cal.Calibrate(score) counts as p of a positive
// and 1−p of a negative at its score; the estimate is the AUC of that
// weighted sample, P(positive mass scores above negative mass), ties one
// half:
//
//	AUC = Σ_k P_k·(2·Σ_{j<k} N_j + N_k) / (2·P·N),  P_k = w_k·p_k, N_k = w_k·(1−p_k).
//
// This is what NannyML's estimate_roc_auc computes (cumulative sums of the
// calibrated probabilities in score order, integrated by trapezoids),
// including its half of each prediction paired with itself. pos and neg are
// DeLong standard error of the estimate, computed as [Window.AUCStandardError]
// with the expected positives and negatives in place of the counted ones.
// ok is false when there is no expected positive or negative. A nil cal is
// the identity.
func EstimatedAUC(scores, weights []float64, cal *Calibrator) (auc, se float64, ok bool) {
	pos, neg := make([]float64, len(scores)), make([]float64, len(scores))
	for i, s := range scores {
		if w := weights[i]; w > 0 && !isNaN(s) {
			p := cal.Calibrate(s)
			pos[i], neg[i] = float64(w*p), float64(w*(1-p))
		}
	}
	auc, se, _, _, ok = aucPlacements(pos, neg)
	return auc, se, ok
}
