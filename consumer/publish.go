package consumer

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
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

// driftParams returns a configuration drift block as the sketch package's
// parameters: config.Drift is sketch.DriftParams, parsed and checked by the
// configuration through package sketch, so there is nothing to convert and
// no error to lose.
func driftParams(d config.Drift) sketch.DriftParams { return d }

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

// forgetModelWindows deletes a model's per-window series: the member that
// aggregates the model exports them, and it no longer does.
func (p *Processor) forgetModelWindows(name string) {
	l := prometheus.Labels{"model": name}
	for _, v := range []interface {
		DeletePartialMatch(prometheus.Labels) int
	}{p.m.WindowEnd, p.m.WindowConfusion, p.m.EstimationGap, p.m.FeatureQuantile, p.m.FeatureDistinct,
		p.m.FeatureMissingRatio, p.m.FeatureDrift, p.m.FeatureDriftPValue, p.m.FeatureDrifted,
		p.m.PredictionDrift, p.m.DatasetDriftShare, p.m.ConceptDriftActive} {
		v.DeletePartialMatch(l)
	}
	for _, g := range p.m.WindowRates {
		g.DeletePartialMatch(l)
	}
}

// publishWindow sets the per-window gauges to a closed window's results.
// A value that cannot be computed (a rate with a zero denominator, drift
// without a reference) is removed rather than set, so that it goes stale
// instead of showing a number that was never measured.
func (p *Processor) publishWindow(r *windows.Result, rep *windows.DriftReport) {
	spec := p.schema.Model(r.Model)
	name, win := spec.Name, p.cfg.Windows[r.Window].Text
	p.m.WindowEnd.WithLabelValues(name, win).Set(float64(r.End) / 1000)
	p.m.WindowsClosed.WithLabelValues(name, win).Inc()
	c := r.Perf.Confusion()
	for i, v := range [4]uint64{c.TP, c.FP, c.TN, c.FN} {
		p.m.WindowConfusion.WithLabelValues(name, win, cellNames[i]).Set(float64(v))
	}
	set := func(metric string, v float64, ok bool) {
		g := p.m.WindowRates[metric]
		if ok {
			g.WithLabelValues(name, win).Set(v)
		} else {
			g.DeleteLabelValues(name, win)
		}
	}
	fpr, fprOK := r.Perf.FPR()
	set("reckon_false_positive_rate", fpr, fprOK)
	v, ok := r.Perf.TPR()
	set("reckon_true_positive_rate", v, ok)
	v, ok = r.Perf.Precision()
	set("reckon_precision", v, ok)
	v, ok = r.Perf.Accuracy()
	set("reckon_accuracy", v, ok)
	v, ok = r.Perf.AUC()
	set("reckon_roc_auc", v, ok)
	v, ok = r.Perf.Brier()
	set("reckon_brier_score", v, ok)
	v, ok = r.Perf.ECE()
	set("reckon_expected_calibration_error", v, ok)
	est, estOK := r.Estimate.FPR()
	set("reckon_estimated_false_positive_rate", est, estOK)
	if estOK && fprOK {
		p.m.EstimationGap.WithLabelValues(name, win, "fpr").Set(est - fpr)
	} else {
		p.m.EstimationGap.DeleteLabelValues(name, win, "fpr")
	}

	// Data quality: independent of any reference.
	for i, f := range r.Features {
		feature := spec.Features[i].Name
		var total, missing uint64
		if f.Num != nil {
			total, missing = f.Num.Total(), f.Num.Missing()
			for _, q := range FeatureQuantiles {
				if f.Num.Count() > 0 {
					p.m.FeatureQuantile.WithLabelValues(name, feature, win, q.Label).Set(f.Num.Quantile(q.Q))
				} else {
					p.m.FeatureQuantile.DeleteLabelValues(name, feature, win, q.Label)
				}
			}
		} else {
			total, missing = f.Cat.Total(), f.Cat.Missing()
			p.m.FeatureDistinct.WithLabelValues(name, feature, win).Set(float64(f.Cat.Distinct()))
		}
		if total > 0 {
			p.m.FeatureMissingRatio.WithLabelValues(name, feature, win).Set(float64(missing) / float64(total))
		} else {
			p.m.FeatureMissingRatio.DeleteLabelValues(name, feature, win)
		}
	}

	if rep == nil {
		return
	}
	for i, fd := range rep.Features {
		feature := spec.Features[i].Name
		for _, s := range fd.Stats {
			setOrDelete(p.m.FeatureDrift.WithLabelValues, p.m.FeatureDrift.DeleteLabelValues, s.Value, name, feature, win, s.Method.String())
		}
		for _, s := range fd.PValues {
			setOrDelete(p.m.FeatureDriftPValue.WithLabelValues, p.m.FeatureDriftPValue.DeleteLabelValues, s.Value, name, feature, win, s.Method.String())
		}
		if fd.OK {
			p.m.FeatureDrifted.WithLabelValues(name, feature, win).Set(b2f(fd.Decision.Drifted))
		} else {
			p.m.FeatureDrifted.DeleteLabelValues(name, feature, win)
		}
	}
	for _, s := range rep.Score.Stats {
		setOrDelete(p.m.PredictionDrift.WithLabelValues, p.m.PredictionDrift.DeleteLabelValues, s.Value, name, win, s.Method.String())
	}
	if rep.ShareOK {
		p.m.DatasetDriftShare.WithLabelValues(name, win).Set(rep.Share)
	} else {
		p.m.DatasetDriftShare.DeleteLabelValues(name, win)
	}
}

func setOrDelete[G interface{ Set(float64) }](get func(...string) G, del func(...string) bool, v float64, labels ...string) {
	if math.IsNaN(v) {
		del(labels...)
		return
	}
	get(labels...).Set(v)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (p *Processor) resultRecord(r *windows.Result, rep *windows.DriftReport) (*kgo.Record, error) {
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
	b, err := results.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encoding result: %w", err)
	}
	return &kgo.Record{Topic: p.cfg.Kafka.ResultsTopic, Key: []byte(spec.Name), Value: b}, nil
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
