package windows

import (
	"math"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/results"
	"github.com/reckonhq/reckon/sketch"
	"github.com/reckonhq/reckon/windows/perf"
)

// FeatureQuantiles are the quantiles reported per numeric feature, with
// their label values (docs/metrics.md).
var FeatureQuantiles = []struct {
	Q     float64
	Label string
}{{0.05, "0.05"}, {0.5, "0.5"}, {0.95, "0.95"}, {0.99, "0.99"}}

// Record is the results-topic record of a closed window (docs/metrics.md):
// the plain value that the runtime publishes and the exporter shows. rep is
// nil when the model has no complete reference for the window.
func (s *Settings) Record(r *Result, rep *DriftReport) *results.Record {
	rec := &results.Record{
		Model:       s.Models[r.Model],
		Window:      s.Texts[r.Window],
		Start:       time.UnixMilli(r.Start).UTC(),
		End:         time.UnixMilli(r.End).UTC(),
		Predictions: r.Predictions,
		Errors:      r.Errors,
		Outcomes:    r.Outcomes,
		Confusion:   confusionOf(r.Partial),
		Rates:       realisedRates(r.Partial),
		Estimated:   estimatedRates(r.Partial),
		Features:    make(map[string]results.Feature, len(r.Features)),
	}
	for i, f := range r.Features {
		var fr results.Feature
		if f.Num != nil {
			fr.Count, fr.Missing = f.Num.Count(), f.Num.Missing()
			fr.NonFinite = f.Num.NaN() + f.Num.PosInf() + f.Num.NegInf()
			if f.Num.Count() > 0 {
				fr.Quantiles = map[string]float64{}
				for _, q := range FeatureQuantiles {
					fr.Quantiles[q.Label] = f.Num.Quantile(q.Q)
				}
			}
		} else {
			fr.Count, fr.Missing = f.Cat.NonMissing(), f.Cat.Missing()
			d := f.Cat.Distinct()
			fr.Distinct = &d
		}
		if rep != nil {
			fd := rep.Features[i]
			fr.Drift, fr.PValue = statMap(fd.Stats), statMap(fd.PValues)
			fr.DriftThreshold = boundsMap(fd.Bounds)
			if fd.OK {
				drifted := fd.Decision.Drifted
				fr.Drifted = &drifted
				fr.Test = fd.Decision.Method.String()
				if fd.Learned {
					fr.Threshold = sketch.ThresholdLearned.String()
				}
			}
		}
		rec.Features[s.featureName(r.Model, i)] = fr
	}
	addEstimates(rec, r)
	if rep != nil {
		rec.PredictionDrift = statMap(rep.Score.Stats)
		rec.PredictionDriftThreshold = boundsMap(rep.Score.Bounds)
		if md := rep.Multivariate; md != nil {
			rec.Multivariate = &results.Multivariate{Error: md.Error}
			if md.BandOK {
				drifted := md.Drifted
				rec.Multivariate.Threshold = &results.Bounds{Lower: md.Lower, Upper: md.Upper}
				rec.Multivariate.Drifted = &drifted
			}
		}
		if rep.ShareOK {
			rec.DatasetDriftShare = &rep.Share
			rec.DatasetDrift = &rep.DatasetDrift
		}
	}
	switch s.Kinds[r.Model] {
	case config.KindRegression:
		rec.Regression = regressionRecord(r.Partial, rep)
	case config.KindMulticlass:
		rec.Multiclass = multiclassRecord(s.Classes[r.Model], r.Partial, rep)
		rec.Rates = results.Rates{Accuracy: rec.Multiclass.Accuracy}
		rec.Estimated = results.Rates{Accuracy: rec.Multiclass.EstimatedAccuracy}
	}
	return rec
}

// regressionRecord is a regression model's part of the record.
func regressionRecord(p *Partial, rep *DriftReport) *results.Regression {
	out := &results.Regression{}
	if rep != nil && rep.Label != nil {
		out.LabelDrift = statMap(rep.Label.Stats)
	}
	if rep != nil && rep.RegressionEstimate != nil {
		out.EstimatedMAE, out.EstimatedRMSE = finite(rep.RegressionEstimate.MAE), finite(rep.RegressionEstimate.RMSE)
	}
	if p.Reg == nil {
		return out
	}
	out.Count, out.ZeroLabels = p.Reg.Perf.Count(), p.Reg.Perf.ZeroLabels()
	e := p.Reg.Perf.Error()
	out.MAE, out.RMSE, out.MAPE, out.Bias = finite(e.MAE), finite(e.RMSE), finite(e.MAPE), finite(e.Bias)
	if p.Reg.Residuals.Count() > 0 {
		out.ResidualQuantiles = map[string]float64{}
		for _, q := range FeatureQuantiles {
			out.ResidualQuantiles[q.Label] = p.Reg.Residuals.Quantile(q.Q)
		}
	}
	return out
}

// multiclassRecord is a multiclass model's part of the record.
func multiclassRecord(classes []string, p *Partial, rep *DriftReport) *results.Multiclass {
	k := len(classes)
	out := &results.Multiclass{Classes: classes, Confusion: make([][]uint64, k)}
	for i := range out.Confusion {
		out.Confusion[i] = make([]uint64, k)
	}
	if rep != nil && rep.Label != nil {
		out.LabelDrift = statMap(rep.Label.Stats)
	}
	m := p.Multi
	if m == nil || m.Perf.Classes() != k {
		return out
	}
	for y := range k {
		for x := range k {
			out.Confusion[y][x] = m.Perf.Cell(y, x)
		}
	}
	out.Undeclared = m.Perf.Undeclared()
	out.Accuracy = results.Opt(m.Perf.Accuracy())
	if macro, weighted, ok := m.Perf.F1(); ok {
		out.F1Macro, out.F1Weighted = &macro, &weighted
	}
	if m.Perf.Count() > 0 {
		out.PerClass = make(map[string]results.ClassRates, k)
		for c, name := range classes {
			cc := m.Perf.ClassConfusion(c)
			out.PerClass[name] = results.ClassRates{
				Precision: results.Opt(cc.Precision()),
				Recall:    results.Opt(cc.TPR()),
				FPR:       results.Opt(cc.FPR()),
				F1:        results.Opt(cc.F1()),
			}
		}
	}
	out.Scored = m.Estimate.Count()
	if out.Scored > 0 {
		out.EstimatedAccuracy = results.Opt(m.Estimate.Accuracy())
		out.Estimated = make(map[string]results.ClassRates, k)
		for c, name := range classes {
			ec := m.Estimate.Expected(c)
			out.Estimated[name] = results.ClassRates{
				Precision: results.Opt(ec.Precision()),
				Recall:    results.Opt(ec.TPR()),
				FPR:       results.Opt(ec.FPR()),
				F1:        results.Opt(ec.Rate(perf.MetricF1)),
			}
		}
	}
	return out
}

// finite is &v, or nil when v is NaN or infinite (JSON has neither).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func boundsMap(bs []Bounds) map[string]results.Bounds {
	if len(bs) == 0 {
		return nil
	}
	m := make(map[string]results.Bounds, len(bs))
	for _, b := range bs {
		m[b.Method.String()] = results.Bounds{Lower: b.Lower, Upper: b.Upper}
	}
	return m
}

func statMap(stats []Statistic) map[string]float64 {
	m := make(map[string]float64, len(stats))
	for _, s := range stats {
		if !math.IsNaN(s.Value) {
			m[s.Method.String()] = s.Value
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}
