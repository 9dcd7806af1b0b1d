package exporter

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Snapshot is a point-in-time reading of the figures `reckon demo` prints,
// taken from the registry exactly as Prometheus would scrape it.
type Snapshot struct {
	Predictions, Errors float64 // reckon_predictions_total by status
	Consumed            float64 // reckon_records_consumed_total
	DeadLetters         float64
	Windows             float64 // reckon_windows_closed_total
	Violations          float64
	// Of the most recently closed window of the length asked for, over
	// all models: the realised and estimated false-positive rates (NaN
	// when not measured) and the features whose drift test says drift.
	FPR, EstimatedFPR float64
	Drifted           []string // model/feature
	// WorstSegment is the segment with the highest false-positive rate in
	// that window ("" without segments), and WorstSegmentFPR its rate.
	WorstSegment    string
	WorstSegmentFPR float64
	latency         []bucket // cumulative, summed over models
}

type bucket struct{ upper, count float64 }

// TakeSnapshot gathers g; window selects the per-window gauges read.
func TakeSnapshot(g prometheus.Gatherer, window string) (Snapshot, error) {
	s := Snapshot{FPR: math.NaN(), EstimatedFPR: math.NaN()}
	mfs, err := g.Gather()
	if err != nil {
		return s, err
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "reckon_predictions_total":
				v := m.GetCounter().GetValue()
				s.Predictions += v
				if label(m, "status") == "error" {
					s.Errors += v
				}
			case "reckon_records_consumed_total":
				s.Consumed += m.GetCounter().GetValue()
			case "reckon_dead_letter_total":
				s.DeadLetters += m.GetCounter().GetValue()
			case "reckon_windows_closed_total":
				s.Windows += m.GetCounter().GetValue()
			case "reckon_schema_violations_total":
				s.Violations += m.GetCounter().GetValue()
			case "reckon_false_positive_rate":
				v := m.GetGauge().GetValue()
				switch seg := label(m, SegmentLabel); {
				case label(m, "window") != window:
				case seg == "":
					s.FPR = v
				case s.WorstSegment == "" || v > s.WorstSegmentFPR:
					s.WorstSegment, s.WorstSegmentFPR = seg, v
				}
			case "reckon_estimated_false_positive_rate":
				if label(m, "window") == window && label(m, SegmentLabel) == "" {
					s.EstimatedFPR = m.GetGauge().GetValue()
				}
			case "reckon_feature_drifted":
				if label(m, "window") == window && m.GetGauge().GetValue() == 1 {
					s.Drifted = append(s.Drifted, label(m, "model")+"/"+label(m, "feature"))
				}
			case "reckon_prediction_latency_seconds":
				for i, b := range m.GetHistogram().GetBucket() {
					if i >= len(s.latency) {
						s.latency = append(s.latency, bucket{upper: b.GetUpperBound()})
					}
					s.latency[i].count += float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return s, nil
}

// LatencyQuantile estimates the q-quantile of latencies observed between
// prev and s, interpolating within classic buckets as PromQL's
// histogram_quantile does. NaN when nothing was observed.
func (s Snapshot) LatencyQuantile(prev Snapshot, q float64) float64 {
	if len(s.latency) == 0 {
		return math.NaN()
	}
	delta := make([]bucket, len(s.latency))
	for i, b := range s.latency {
		delta[i] = b
		if i < len(prev.latency) {
			delta[i].count -= prev.latency[i].count
		}
	}
	total := delta[len(delta)-1].count
	// The +Inf bucket is implicit in client_model: total is the count of
	// the last finite bucket, which underestimates only beyond 10s.
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for _, b := range delta {
		if b.count >= rank {
			if b.count == below {
				return b.upper
			}
			return lower + (b.upper-lower)*(rank-below)/(b.count-below)
		}
		lower, below = b.upper, b.count
	}
	return delta[len(delta)-1].upper
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
