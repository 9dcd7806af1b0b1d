package windows

import (
	"math"
	"time"

	"github.com/reckonhq/reckon/results"
	"github.com/reckonhq/reckon/sketch"
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
	return rec
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
