package consumer

import (
	"fmt"
	"math"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/exporter"
	"github.com/reckonhq/reckon/results"
	"github.com/reckonhq/reckon/windows"
	"github.com/reckonhq/reckon/windows/conceptdrift"
	"github.com/reckonhq/reckon/windows/perf"
)

// initMetrics pre-creates the series that increase() must see from zero,
// and keeps each model's histograms at hand.
func (p *Processor) initMetrics() {
	m := p.m
	for _, mc := range p.cfg.Models {
		m.ReferenceComplete.WithLabelValues(mc.Name).Set(0)
		p.latency = append(p.latency, m.Latency.WithLabelValues(mc.Name))
		p.score = append(p.score, m.Score.WithLabelValues(mc.Name))
		p.labelDelay = append(p.labelDelay, m.LabelDelay.WithLabelValues(mc.Name))
		for _, name := range conceptdrift.Names() {
			m.ConceptDrifts.WithLabelValues(mc.Name, name)
		}
		for _, r := range []string{"joined", "duplicate", "orphaned"} {
			m.Outcomes.WithLabelValues(mc.Name, r)
		}
		m.Expired.WithLabelValues(mc.Name)
		for c := range perf.NumCells {
			m.Confusion.WithLabelValues(mc.Name, c.String())
		}
	}
	for _, t := range p.topics {
		m.RecordsConsumed.WithLabelValues(t)
		for _, r := range event.Reasons() {
			m.DeadLetters.WithLabelValues(t, r.String())
		}
	}
}

func (p *Processor) setLag(topic string, part int32, lag int64) {
	p.m.ConsumerLag.WithLabelValues(topic, strconv.Itoa(int(part))).Set(float64(lag))
}

func (p *Processor) deleteLag(topic string, part int32) {
	p.m.ConsumerLag.DeleteLabelValues(topic, strconv.Itoa(int(part)))
}

// resultRecord is the results-topic record of a closed window.
func (p *Processor) resultRecord(rec *results.Record) (*kgo.Record, error) {
	b, err := results.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encoding result: %w", err)
	}
	return &kgo.Record{Topic: p.cfg.Kafka.ResultsTopic, Key: []byte(rec.Model), Value: b}, nil
}

// observe adds a committed transaction's histogram observations to the
// metrics while every task waits. Each goroutine owns one histogram and
// hands it every task's values with one ObserveBatch each: batches cost
// ~12 ns a value (client_golang's Observe ~80, more when goroutines share
// a histogram), and the tasks' idle cores still cut the time when free.
func (p *Processor) observe() {
	var wg sync.WaitGroup
	for mi := range p.latency {
		for _, h := range [...]struct {
			h    *exporter.BatchHistogram
			vals func(*windows.ModelCounts) *[]float64
		}{
			{p.latency[mi], func(mc *windows.ModelCounts) *[]float64 { return &mc.Latencies }},
			{p.score[mi], func(mc *windows.ModelCounts) *[]float64 { return &mc.Scores }},
			{p.labelDelay[mi], func(mc *windows.ModelCounts) *[]float64 { return &mc.LabelDelays }},
		} {
			wg.Go(func() {
				for _, t := range p.tasks {
					vs := h.vals(&t.part.Counts().Models[mi])
					h.h.ObserveBatch(*vs)
					*vs = (*vs)[:0]
				}
			})
		}
	}
	wg.Wait()
}

// applyRecordStats adds a committed transaction's record counts to the
// metrics and resets them.
func (p *Processor) applyRecordStats(s *recordStats) {
	for ti, topic := range p.topics {
		if n := s.consumed[ti]; n > 0 {
			p.m.RecordsConsumed.WithLabelValues(topic).Add(float64(n))
		}
		for r, n := range s.dead[ti] {
			if n > 0 {
				p.m.DeadLetters.WithLabelValues(topic, event.Reason(r).String()).Add(float64(n))
			}
		}
		if n := s.misKeyed[ti]; n > 0 {
			p.m.MisKeyed.WithLabelValues(topic).Add(float64(n))
		}
		if n := s.rekeyed[ti]; n > 0 {
			p.m.Rekeyed.WithLabelValues(topic).Add(float64(n))
		}
	}
	*s = recordStats{}
}

// applyCounts adds a partition's committed counts to the metrics.
func (p *Processor) applyCounts(c *windows.Counts) {
	for mi := range c.Models {
		ms := &c.Models[mi]
		mc := &p.cfg.Models[mi]
		for version, n := range ms.Versions {
			for st, status := range [2]string{"ok", "error"} {
				if n[st] > 0 && p.m.SeriesAllowed("reckon_predictions_total", mc.Name, version, status) {
					p.m.Predictions.WithLabelValues(mc.Name, version, status).Add(float64(n[st]))
				}
			}
		}
		for _, o := range [...]struct {
			result string
			n      uint64
		}{{"joined", ms.Joined}, {"duplicate", ms.DuplicateOutcomes}, {"orphaned", ms.Orphaned}} {
			if o.n > 0 {
				p.m.Outcomes.WithLabelValues(mc.Name, o.result).Add(float64(o.n))
			}
		}
		if ms.Expired > 0 {
			p.m.Expired.WithLabelValues(mc.Name).Add(float64(ms.Expired))
		}
		if ms.DuplicatePredictions > 0 {
			p.m.DuplicatePredictions.WithLabelValues(mc.Name).Add(float64(ms.DuplicatePredictions))
		}
		for c, n := range ms.Confusion {
			if n > 0 {
				p.m.Confusion.WithLabelValues(mc.Name, perf.Cell(c).String()).Add(float64(n))
			}
		}
		if cost := mc.Cost; cost != nil {
			if v := float64(ms.Confusion[perf.CellFP])*cost.FalsePositive + float64(ms.Confusion[perf.CellFN])*cost.FalseNegative; v > 0 {
				p.m.BusinessCost.WithLabelValues(mc.Name).Add(v)
			}
		}
		if ms.Late > 0 {
			p.m.LateEvents.WithLabelValues(mc.Name).Add(float64(ms.Late))
		}
		for fi := range ms.Violations {
			feature := config.ReservedFeature
			if fi > 0 {
				feature = mc.Features[fi-1].Name
			}
			for k, n := range ms.Violations[fi] {
				if n > 0 {
					kind := event.ViolationKind(k).String()
					if p.m.SeriesAllowed("reckon_schema_violations_total", mc.Name, feature, kind) {
						p.m.SchemaViolations.WithLabelValues(mc.Name, feature, kind).Add(float64(n))
					}
				}
			}
		}
	}
}

// applyOutput applies a committed transaction's aggregation output.
func (p *Processor) applyOutput(a *windows.Aggregation) {
	out := a.Output()
	for mi, n := range out.Late {
		if n > 0 {
			p.m.LateEvents.WithLabelValues(p.cfg.Models[mi].Name).Add(float64(n))
		}
	}
	for mi, ds := range out.Detections {
		if !a.Owns(mi) {
			continue
		}
		name := p.cfg.Models[mi].Name
		for di, d := range a.Detectors(mi) {
			if n := ds[di]; n > 0 {
				p.m.ConceptDrifts.WithLabelValues(name, d.Name()).Add(float64(n))
			}
			p.m.ConceptDriftActive.WithLabelValues(name, d.Name()).Set(b2f(d.InDrift()))
		}
	}
	for _, rec := range out.Closed {
		p.publishWindow(rec)
	}
	for _, mi := range out.Completed {
		ref := a.Reference(mi)
		p.log.Info("reference complete", "model", p.cfg.Models[mi].Name, "predictions", ref.Predictions, "joined", ref.Perf.Count())
		p.m.ReferenceComplete.WithLabelValues(p.cfg.Models[mi].Name).Set(1)
	}
}

// forgetModelWindows deletes a model's per-window series: the member that
// aggregates the model exports them, and it no longer does.
func (p *Processor) forgetModelWindows(mi int) {
	l := prometheus.Labels{"model": p.cfg.Models[mi].Name}
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
func (p *Processor) publishWindow(rec *results.Record) {
	name, win := rec.Model, rec.Window
	p.m.WindowEnd.WithLabelValues(name, win).Set(float64(rec.End.UnixMilli()) / 1000)
	p.m.WindowsClosed.WithLabelValues(name, win).Inc()
	c := rec.Confusion
	for i, v := range [4]uint64{c.TP, c.FP, c.TN, c.FN} {
		p.m.WindowConfusion.WithLabelValues(name, win, perf.Cell(i).String()).Set(float64(v))
	}
	set := func(metric string, v *float64) {
		g := p.m.WindowRates[metric]
		if v != nil {
			g.WithLabelValues(name, win).Set(*v)
		} else {
			g.DeleteLabelValues(name, win)
		}
	}
	set("reckon_false_positive_rate", rec.Rates.FPR)
	set("reckon_true_positive_rate", rec.Rates.TPR)
	set("reckon_precision", rec.Rates.Precision)
	set("reckon_accuracy", rec.Rates.Accuracy)
	set("reckon_roc_auc", rec.Rates.AUC)
	set("reckon_brier_score", rec.Rates.Brier)
	set("reckon_expected_calibration_error", rec.Rates.ECE)
	set("reckon_estimated_false_positive_rate", rec.Estimated.FPR)
	if rec.Estimated.FPR != nil && rec.Rates.FPR != nil {
		p.m.EstimationGap.WithLabelValues(name, win, "fpr").Set(*rec.Estimated.FPR - *rec.Rates.FPR)
	} else {
		p.m.EstimationGap.DeleteLabelValues(name, win, "fpr")
	}
	for feature, f := range rec.Features {
		for _, q := range windows.FeatureQuantiles {
			if v, ok := f.Quantiles[q.Label]; ok {
				p.m.FeatureQuantile.WithLabelValues(name, feature, win, q.Label).Set(v)
			} else {
				p.m.FeatureQuantile.DeleteLabelValues(name, feature, win, q.Label)
			}
		}
		if f.Distinct != nil {
			p.m.FeatureDistinct.WithLabelValues(name, feature, win).Set(float64(*f.Distinct))
		}
		if total := f.Count + f.Missing; total > 0 {
			p.m.FeatureMissingRatio.WithLabelValues(name, feature, win).Set(float64(f.Missing) / float64(total))
		} else {
			p.m.FeatureMissingRatio.DeleteLabelValues(name, feature, win)
		}
		if f.Drift == nil && f.Drifted == nil {
			continue
		}
		for method, v := range f.Drift {
			setOrDelete(p.m.FeatureDrift.WithLabelValues, p.m.FeatureDrift.DeleteLabelValues, v, name, feature, win, method)
		}
		for test, v := range f.PValue {
			setOrDelete(p.m.FeatureDriftPValue.WithLabelValues, p.m.FeatureDriftPValue.DeleteLabelValues, v, name, feature, win, test)
		}
		if f.Drifted != nil {
			p.m.FeatureDrifted.WithLabelValues(name, feature, win).Set(b2f(*f.Drifted))
		} else {
			p.m.FeatureDrifted.DeleteLabelValues(name, feature, win)
		}
	}
	for method, v := range rec.PredictionDrift {
		setOrDelete(p.m.PredictionDrift.WithLabelValues, p.m.PredictionDrift.DeleteLabelValues, v, name, win, method)
	}
	if rec.DatasetDriftShare != nil {
		p.m.DatasetDriftShare.WithLabelValues(name, win).Set(*rec.DatasetDriftShare)
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
