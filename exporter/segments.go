package exporter

import (
	"slices"

	"github.com/reckonhq/reckon/results"
)

// Segments (docs/configuration.md): a model's segment features split its
// per-window figures. The metrics they split carry a segment label, empty
// for the model as a whole (Prometheus stores an empty label as no label)
// and "<feature>=<value>" for a segment; the record holds at most
// max_values values per feature and "other", so the series are bounded by
// the configuration, whatever the data.

// SegmentLabel is the label of per-window metrics split by segment.
const SegmentLabel = "segment"

// segmentValue is a segment's label value.
func segmentValue(feature, value string) string { return feature + "=" + value }

// eachSegment calls f for every segment of r, in a deterministic order.
func eachSegment(r *results.Record, f func(label string, s *results.Segment)) {
	features := make([]string, 0, len(r.Segments))
	for name := range r.Segments {
		features = append(features, name)
	}
	slices.Sort(features)
	for _, name := range features {
		ss := r.Segments[name]
		values := make([]string, 0, len(ss.Values))
		for v := range ss.Values {
			values = append(values, v)
		}
		slices.Sort(values)
		for _, v := range values {
			s := ss.Values[v]
			f(segmentValue(name, v), &s)
		}
	}
}

// segmentedRate reads a {model, window, segment} gauge from a rate of the
// record and of each segment (realised when est is false, else
// estimated): no series where the rate is absent.
func segmentedRate(field func(*results.Rates) *float64, est bool) windowFunc {
	pick := func(real, estimated *results.Rates) *float64 {
		if est {
			return field(estimated)
		}
		return field(real)
	}
	return func(r *results.Record, emit func(float64, ...string)) {
		if v := pick(&r.Rates, &r.Estimated); v != nil {
			emit(*v, r.Model, r.Window, "")
		}
		eachSegment(r, func(label string, s *results.Segment) {
			if v := pick(&s.Rates, &s.Estimated); v != nil {
				emit(*v, r.Model, r.Window, label)
			}
		})
	}
}

// confusionCells emits a confusion matrix's cells.
func confusionCells(c results.Confusion, emit func(float64, ...string), model, window, segment string) {
	for _, cell := range [...]struct {
		name string
		n    uint64
	}{{"tp", c.TP}, {"fp", c.FP}, {"tn", c.TN}, {"fn", c.FN}} {
		emit(float64(cell.n), model, window, cell.name, segment)
	}
}

var lModelWindowSegment = []string{"model", "window", SegmentLabel}

// segmentMetrics are the per-window metrics that only segments have.
var segmentMetrics = []Metric{
	{Name: "reckon_segment_predictions", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "window", SegmentLabel, "status"},
		Help: "Prediction events of a segment by prediction time in the most recently closed window, by status (ok, error).",
		window: func(r *results.Record, emit func(float64, ...string)) {
			eachSegment(r, func(label string, s *results.Segment) {
				emit(float64(s.Predictions-s.Errors), r.Model, r.Window, label, "ok")
				emit(float64(s.Errors), r.Model, r.Window, label, "error")
			})
		}},
	{Name: "reckon_segment_rate_ratio", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "window", SegmentLabel, "rate"},
		Help: "A segment's rate (fpr, tpr) over the model's in the most recently closed window: the equalised-odds view; absent where either rate is undefined or the model's is 0.",
		window: func(r *results.Record, emit func(float64, ...string)) {
			eachSegment(r, func(label string, s *results.Segment) {
				for _, rate := range []string{"fpr", "tpr"} {
					if v, ok := s.RateRatio[rate]; ok {
						emit(v, r.Model, r.Window, label, rate)
					}
				}
			})
		}},
	{Name: "reckon_segment_overflow", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "window", "feature"},
		Help: "Predictions of the most recently closed window under the segment feature=other because their value was beyond the segment's max_values.",
		window: func(r *results.Record, emit func(float64, ...string)) {
			for name, ss := range r.Segments {
				emit(float64(ss.Overflow), r.Model, r.Window, name)
			}
		}},
}
