package windows

import (
	"github.com/reckonhq/reckon/results"
	"github.com/reckonhq/reckon/sketch"
)

// realisedRates are the rates of p's joined outcomes.
func realisedRates(p *Partial) results.Rates {
	return results.Rates{
		FPR:       results.Opt(p.Perf.FPR()),
		TPR:       results.Opt(p.Perf.TPR()),
		Precision: results.Opt(p.Perf.Precision()),
		Accuracy:  results.Opt(p.Perf.Accuracy()),
		AUC:       results.Opt(p.Perf.AUC()),
		Brier:     results.Opt(p.Perf.Brier()),
		ECE:       results.Opt(p.Perf.ECE()),
		F1:        results.Opt(p.Perf.F1()),
	}
}

// estimatedRates are the rates p's calibrated scores estimate.
func estimatedRates(p *Partial) results.Rates {
	return results.Rates{
		FPR:       results.Opt(p.Estimate.FPR()),
		TPR:       results.Opt(p.Estimate.TPR()),
		Precision: results.Opt(p.Estimate.Precision()),
		Accuracy:  results.Opt(p.Estimate.Accuracy()),
	}
}

func confusionOf(p *Partial) results.Confusion {
	c := p.Perf.Confusion()
	return results.Confusion{TP: c.TP, FP: c.FP, TN: c.TN, FN: c.FN}
}

// addSegments adds the segments of closed window r to its record rec: each
// split value's figures, computed as the window's are, its prediction drift
// against the same value of ref (a complete stream reference, or nil), and
// its rates over the model's.
func (s *Settings) addSegments(rec *results.Record, r *Result, ref *Reference) {
	specs := s.segments(r.Model)
	if len(specs) == 0 || len(r.Segments) == 0 {
		return
	}
	rec.Segments = make(map[string]results.Segments, len(specs))
	for k := range r.Segments {
		if k >= len(specs) {
			break
		}
		split := &r.Segments[k]
		var refSplit *SegmentSplit
		if ref != nil && k < len(ref.Segments) {
			refSplit = &ref.Segments[k]
		}
		out := results.Segments{Overflow: split.Overflow, Values: make(map[string]results.Segment, len(split.Values)+1)}
		add := func(v string, sub, refSub *Partial) {
			if sub.Predictions == 0 && sub.Outcomes == 0 {
				return
			}
			seg := results.Segment{
				Predictions: sub.Predictions,
				Errors:      sub.Errors,
				Outcomes:    sub.Outcomes,
				Confusion:   confusionOf(sub),
				Rates:       realisedRates(sub),
				Estimated:   estimatedRates(sub),
				RateRatio:   rateRatio(realisedRates(sub), rec.Rates),
			}
			// The window's estimates and standard errors, computed alike.
			tmp := results.Record{Estimated: seg.Estimated}
			addEstimates(&tmp, &Result{Window: r.Window, Partial: sub, Calibrator: r.Calibrator})
			seg.Estimated, seg.StandardError = tmp.Estimated, tmp.StandardError
			if refSub != nil {
				fd := numericDrift(refSub.Score, sub.Score, sketch.QuantileEdges(refSub.Score, ReferenceBins), s.ScoreDrift[r.Model])
				seg.PredictionDrift = statMap(fd.Stats)
			}
			out.Values[v] = seg
		}
		for i, v := range split.Values {
			var refSub *Partial
			if refSplit != nil {
				refSub = refSplit.Lookup(v)
			}
			add(v, split.Part(i), refSub)
		}
		var refOther *Partial
		if refSplit != nil {
			refOther = refSplit.Other
		}
		add(OtherSegment, split.Other, refOther)
		rec.Segments[specs[k].Name] = out
	}
}

// rateRatio is a segment's FPR and TPR over the model's, where both are
// defined and the model's is not 0.
func rateRatio(seg, model results.Rates) map[string]float64 {
	m := map[string]float64{}
	for _, r := range []struct {
		name       string
		seg, model *float64
	}{{"fpr", seg.FPR, model.FPR}, {"tpr", seg.TPR, model.TPR}} {
		if r.seg != nil && r.model != nil && *r.model != 0 {
			m[r.name] = *r.seg / *r.model
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}
