package consumer

import (
	"fmt"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/reference"
	"github.com/reckonhq/reckon/results"
	"github.com/reckonhq/reckon/sketch"
	"github.com/reckonhq/reckon/windows"
)

// FeatureQuantiles are the quantiles exported per numeric feature, with
// their label values (DESIGN.md §3).
var FeatureQuantiles = []struct {
	Q     float64
	Label string
}{{0.05, "0.05"}, {0.5, "0.5"}, {0.95, "0.95"}, {0.99, "0.99"}}

// driftParams maps a configuration drift block to the sketch package's
// parameters. The configuration has validated the test names.
func driftParams(d config.Drift) sketch.DriftParams {
	num, _ := sketch.ParseMethod(d.NumericTest)
	cat, _ := sketch.ParseMethod(d.CategoricalTest)
	return sketch.DriftParams{
		Numeric:           num,
		Categorical:       cat,
		PValue:            d.PValue,
		PSIThreshold:      d.PSIThreshold,
		DistanceThreshold: d.DistanceThreshold,
		DatasetShare:      d.DatasetShare,
	}
}

// loadReferences loads the models' reference profile files, before
// anything touches Kafka: a missing or mismatched profile is a
// configuration error.
func (p *Processor) loadReferences() error {
	for i := range p.cfg.Models {
		mc := &p.cfg.Models[i]
		if mc.Reference == nil || mc.Reference.IsRange() {
			continue
		}
		ref, err := reference.Load(mc.Reference.File, mc, p.layout, i)
		if err != nil {
			return fmt.Errorf("models[%d] (%s) reference file: %w", i, mc.Name, err)
		}
		p.fileRefs[i] = ref
		p.cal[i] = calibration{from: math.MinInt64, known: true, c: ref.Calibrator}
		p.m.ReferenceComplete.WithLabelValues(mc.Name).Set(1)
		p.log.Info("reference loaded", "model", mc.Name, "file", mc.Reference.File, "predictions", ref.Predictions)
	}
	return nil
}

// compare is the drift report of a closed window, or nil when its model has
// no complete reference.
func (p *Processor) compare(m *merger, r *windows.Result) *windows.DriftReport {
	ref := p.fileRefs[r.Model]
	if ref == nil {
		ref = m.refs[r.Model]
	}
	// A window ending before a stream reference's end closes before or
	// with the reference's completion depending on how event time moved
	// (one step or two): it never gets drift, so that results do not
	// depend on timing.
	if ref == nil || !ref.Complete || r.End < ref.To {
		return nil
	}
	rep := windows.Compare(ref, r.Partial, p.driftParams[r.Model], p.scoreParams[r.Model])
	return &rep
}

// forgetModelWindows deletes a model's per-window series (and the others
// only its aggregating member exports): this member no longer aggregates
// it.
func (p *Processor) forgetModelWindows(name string) { p.m.ForgetModel(name) }

// publishWindow applies a closed window's results to the metrics: the
// per-window gauges show exactly what its results record holds.
func (p *Processor) publishWindow(r *windows.Result, rep *windows.DriftReport) {
	p.m.ApplyWindow(p.windowRecord(r, rep))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// resultRecord is the results-topic record of a closed window.
func (p *Processor) resultRecord(r *windows.Result, rep *windows.DriftReport) (*kgo.Record, error) {
	rec := p.windowRecord(r, rep)
	b, err := results.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encoding result: %w", err)
	}
	return &kgo.Record{Topic: p.cfg.Kafka.ResultsTopic, Key: []byte(rec.Model), Value: b}, nil
}

// windowRecord describes a closed window and its drift report (nil: no
// complete reference) as the results topic and the per-window metrics
// show it.
func (p *Processor) windowRecord(r *windows.Result, rep *windows.DriftReport) *results.Record {
	spec := p.schema.Model(r.Model)
	c := r.Perf.Confusion()
	rec := &results.Record{
		Model:       spec.Name,
		Window:      p.cfg.Windows[r.Window].Text,
		Start:       time.UnixMilli(r.Start).UTC(),
		End:         time.UnixMilli(r.End).UTC(),
		Predictions: r.Predictions,
		Errors:      r.Errors,
		Outcomes:    r.Outcomes,
		Confusion:   results.Confusion{TP: c.TP, FP: c.FP, TN: c.TN, FN: c.FN},
		Rates: results.Rates{
			FPR:       results.Opt(r.Perf.FPR()),
			TPR:       results.Opt(r.Perf.TPR()),
			Precision: results.Opt(r.Perf.Precision()),
			Accuracy:  results.Opt(r.Perf.Accuracy()),
			AUC:       results.Opt(r.Perf.AUC()),
			Brier:     results.Opt(r.Perf.Brier()),
			ECE:       results.Opt(r.Perf.ECE()),
			F1:        results.Opt(r.Perf.F1()),
		},
		Estimated: results.Rates{
			FPR:       results.Opt(r.Estimate.FPR()),
			TPR:       results.Opt(r.Estimate.TPR()),
			Precision: results.Opt(r.Estimate.Precision()),
			Accuracy:  results.Opt(r.Estimate.Accuracy()),
		},
		Features: make(map[string]results.Feature, len(r.Features)),
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
			if fd.OK {
				drifted := fd.Decision.Drifted
				fr.Drifted = &drifted
				fr.Test = fd.Decision.Method.String()
			}
		}
		rec.Features[spec.Features[i].Name] = fr
	}
	if rep != nil {
		rec.PredictionDrift = statMap(rep.Score.Stats)
		if rep.ShareOK {
			rec.DatasetDriftShare = &rep.Share
			rec.DatasetDrift = &rep.DatasetDrift
		}
	}
	return rec
}

func statMap(stats []windows.Statistic) map[string]float64 {
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
