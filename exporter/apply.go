package exporter

import (
	"sync"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/windows"
	"github.com/reckonhq/reckon/windows/conceptdrift"
	"github.com/reckonhq/reckon/windows/perf"
)

// Applying the core's committed work (package windows) to the metrics. The
// runtime calls these from its loop, once a transaction has committed, so
// counters advance only with committed work.

// InitModels creates the per-model series that increase() must see from
// zero, before anything is counted.
func (m *Metrics) InitModels(set *windows.Settings) {
	for _, name := range set.Models {
		m.AddModel(name)
		m.ReferenceComplete.WithLabelValues(name).Set(0)
		for _, d := range conceptdrift.Names() {
			m.ConceptDrifts.WithLabelValues(name, d)
		}
		for _, r := range []string{"joined", "duplicate", "orphaned"} {
			m.Outcomes.WithLabelValues(name, r)
		}
		m.Expired.WithLabelValues(name)
		for c := range perf.NumCells {
			m.Confusion.WithLabelValues(name, c.String())
		}
	}
	for i, f := range set.Files {
		if f != nil {
			m.ReferenceComplete.WithLabelValues(set.Models[i]).Set(1)
			m.ApplyCalibration(set.Models[i], f.CalibrationReport())
		}
	}
}

// ObserveCounts adds the histogram observations of committed counts and
// empties them. Each goroutine owns one histogram and hands it every
// partition's values with one ObserveBatch: batches cost ~12 ns a value
// (client_golang's Observe ~80, more when goroutines share a histogram),
// and the partitions' idle cores still cut the time when free.
func (m *Metrics) ObserveCounts(set *windows.Settings, counts []*windows.Counts) {
	var wg sync.WaitGroup
	for mi, name := range set.Models {
		for _, h := range [...]struct {
			h    *BatchHistogram
			vals func(*windows.ModelCounts) *[]float64
		}{
			{m.Latency.WithLabelValues(name), func(mc *windows.ModelCounts) *[]float64 { return &mc.Latencies }},
			{m.Score.WithLabelValues(name), func(mc *windows.ModelCounts) *[]float64 { return &mc.Scores }},
			{m.LabelDelay.WithLabelValues(name), func(mc *windows.ModelCounts) *[]float64 { return &mc.LabelDelays }},
		} {
			wg.Go(func() {
				for _, c := range counts {
					vs := h.vals(&c.Models[mi])
					h.h.ObserveBatch(*vs)
					*vs = (*vs)[:0]
				}
			})
		}
	}
	wg.Wait()
}

// ApplyCounts adds a partition's committed counts to the metrics and
// resets them. Versions folded into the overflow value are dropped from
// c, so that a stream of junk versions cannot grow it without bound.
func (m *Metrics) ApplyCounts(set *windows.Settings, c *windows.Counts) {
	for mi := range c.Models {
		ms := &c.Models[mi]
		name := set.Models[mi]
		for version, n := range ms.Versions {
			folded := false
			for st, status := range [2]string{"ok", "error"} {
				if n[st] > 0 {
					folded = m.AddPredictions(name, version, status, n[st])
				}
			}
			if folded {
				delete(ms.Versions, version)
			}
		}
		for _, o := range [...]struct {
			result string
			n      uint64
		}{{"joined", ms.Joined}, {"duplicate", ms.DuplicateOutcomes}, {"orphaned", ms.Orphaned}} {
			if o.n > 0 {
				m.Outcomes.WithLabelValues(name, o.result).Add(float64(o.n))
			}
		}
		if ms.Expired > 0 {
			m.Expired.WithLabelValues(name).Add(float64(ms.Expired))
		}
		if ms.DuplicatePredictions > 0 {
			m.DuplicatePredictions.WithLabelValues(name).Add(float64(ms.DuplicatePredictions))
		}
		for cell, n := range ms.Confusion {
			if n > 0 {
				m.Confusion.WithLabelValues(name, perf.Cell(cell).String()).Add(float64(n))
			}
		}
		if cost := set.Costs[mi]; cost != nil {
			if v := float64(ms.Confusion[perf.CellFP])*cost.FalsePositive + float64(ms.Confusion[perf.CellFN])*cost.FalseNegative; v > 0 {
				m.BusinessCost.WithLabelValues(name).Add(v)
			}
		}
		if ms.Late > 0 {
			m.LateEvents.WithLabelValues(name).Add(float64(ms.Late))
		}
		for fi := range ms.Violations {
			feature := config.ReservedFeature
			switch nf := len(set.Features[mi]); {
			case fi == 0:
			case fi <= nf:
				feature = set.Features[mi][fi-1]
			case fi == nf+1:
				feature = event.PseudoPredicted
			default:
				feature = event.PseudoLabel
			}
			for k, n := range ms.Violations[fi] {
				if n > 0 {
					m.AddSchemaViolations(name, feature, event.ViolationKind(k).String(), n)
				}
			}
		}
	}
	c.Reset()
}

// ApplyOutput applies what an aggregation produced in a committed
// transaction: late panes, concept drift, closed windows and completed
// references.
func (m *Metrics) ApplyOutput(set *windows.Settings, out *windows.Output) {
	for mi, n := range out.Late {
		if n > 0 {
			m.LateEvents.WithLabelValues(set.Models[mi]).Add(float64(n))
		}
	}
	names := conceptdrift.Names()
	for mi, ds := range out.Detectors {
		for di, d := range ds {
			if d.Detections > 0 {
				m.ConceptDrifts.WithLabelValues(set.Models[mi], names[di]).Add(float64(d.Detections))
			}
			m.ConceptDriftActive.WithLabelValues(set.Models[mi], names[di]).Set(b2f(d.Active))
		}
	}
	for _, rec := range out.Closed {
		m.ApplyWindow(rec)
	}
	for i, mi := range out.Completed {
		m.ReferenceComplete.WithLabelValues(set.Models[mi]).Set(1)
		if i < len(out.Calibrations) {
			m.ApplyCalibration(set.Models[mi], out.Calibrations[i])
		}
	}
}

// estimatedNames are the metric label values of the estimates of
// reckon_reference_calibration_shift: the names of their gauges without
// reckon_.
var estimatedNames = map[perf.Metric]string{
	perf.MetricFPR:       "estimated_false_positive_rate",
	perf.MetricTPR:       "estimated_true_positive_rate",
	perf.MetricPrecision: "estimated_precision",
	perf.MetricAccuracy:  "estimated_accuracy",
	perf.MetricF1:        "estimated_f1",
}

// ApplyCalibration sets the calibration gauges of model from its
// reference's report: the errors when the reference had labels, the shifts
// and the verdict when they could be computed; the others are left absent.
func (m *Metrics) ApplyCalibration(model string, rep windows.CalibrationReport) {
	if rep.ECEOK {
		m.CalibrationError.WithLabelValues(model, "raw").Set(rep.RawECE)
		m.CalibrationError.WithLabelValues(model, "calibrated").Set(rep.CalibratedECE)
	}
	if !rep.ShiftOK {
		return
	}
	for _, pm := range perf.Metrics() {
		if v, ok := rep.Shift[pm]; ok {
			m.CalibrationShift.WithLabelValues(model, estimatedNames[pm]).Set(v)
		}
	}
	m.CalibrationMatters.WithLabelValues(model).Set(b2f(rep.Matters))
}
