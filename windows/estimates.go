package windows

import (
	"github.com/reckonhq/reckon/results"
	"github.com/reckonhq/reckon/windows/perf"
)

// addEstimates adds to a closed window's record what is computed when the
// window closes rather than per event: the estimated ROC AUC (CBPE over
// the window's score sketch, calibrated by r.Calibrator) and F1 beside the
// four estimated rates, and the standard error of every realised and
// estimated rate (package perf, Sampling error).
func addEstimates(rec *results.Record, r *Result) {
	c, est := r.Perf.Confusion(), r.Estimate.Expected()
	scores, weights := r.Score.Masses()
	auc, aucSE, aucOK := perf.EstimatedAUC(scores, weights, r.Calibrator)
	rec.Estimated.AUC = results.Opt(auc, aucOK)
	rec.Estimated.F1 = results.Opt(est.F1())
	rec.StandardError = &results.StandardErrors{
		Rates: results.Rates{
			FPR:       results.Opt(c.StandardError(perf.MetricFPR)),
			TPR:       results.Opt(c.StandardError(perf.MetricTPR)),
			Precision: results.Opt(c.StandardError(perf.MetricPrecision)),
			Accuracy:  results.Opt(c.StandardError(perf.MetricAccuracy)),
			AUC:       results.Opt(r.Perf.AUCStandardError()),
			F1:        results.Opt(c.StandardError(perf.MetricF1)),
		},
		Estimated: results.Rates{
			FPR:       results.Opt(est.StandardError(perf.MetricFPR)),
			TPR:       results.Opt(est.StandardError(perf.MetricTPR)),
			Precision: results.Opt(est.StandardError(perf.MetricPrecision)),
			Accuracy:  results.Opt(est.StandardError(perf.MetricAccuracy)),
			AUC:       results.Opt(aucSE, aucOK),
			F1:        results.Opt(est.StandardError(perf.MetricF1)),
		},
	}
}
