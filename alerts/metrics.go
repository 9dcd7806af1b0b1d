package alerts

import (
	"slices"
	"strings"
)

// MetricType is the Prometheus type of a metric family.
type MetricType string

// Metric types.
const (
	Counter   MetricType = "counter"
	Gauge     MetricType = "gauge"
	Histogram MetricType = "histogram"
)

// Metric is a metric family that reckon exports, that Prometheus adds
// (up), or that a recording rule of this package defines.
type Metric struct {
	Name string
	Type MetricType
	// Labels are the family's own labels; the target labels job and
	// instance come on top of them, and `le` on a histogram's _bucket series.
	Labels []string
	// Rule is true for a recording rule of this package (not exported by
	// reckon itself, present only where the generated rules are loaded).
	Rule bool
}

// KnownMetrics returns every metric name that the rules and dashboards
// reckon ships may use: DESIGN.md §3, the exporter's operational extras,
// Prometheus's `up`, and the recording rules this package defines. The
// result is a new slice, sorted by name, that the caller may keep.
//
// It is written down here once so that the alerts and dashboards tests can
// check every query against it (see package alerts/promqlcheck).
//
// TestKnownMetricsAreExported checks the exported part against the
// exporter's descriptors, both ways, so this list cannot drift from what
// reckon actually exports.
func KnownMetrics() []Metric {
	mw := []string{"model", "window"}
	mfw := []string{"model", "feature", "window"}
	ms := []Metric{
		// DESIGN.md §3, golden signals.
		{Name: "reckon_predictions_total", Type: Counter, Labels: []string{"model", "model_version", "status"}},
		{Name: "reckon_prediction_latency_seconds", Type: Histogram, Labels: []string{"model"}},
		{Name: "reckon_prediction_score", Type: Histogram, Labels: []string{"model"}},
		{Name: "reckon_outcomes_total", Type: Counter, Labels: []string{"model", "result"}},
		{Name: "reckon_predictions_expired_total", Type: Counter, Labels: []string{"model"}},
		{Name: "reckon_label_delay_seconds", Type: Histogram, Labels: []string{"model"}},
		{Name: "reckon_confusion_total", Type: Counter, Labels: []string{"model", "outcome"}},
		// DESIGN.md §3, per closed window.
		{Name: "reckon_window_end_timestamp_seconds", Type: Gauge, Labels: mw},
		{Name: "reckon_false_positive_rate", Type: Gauge, Labels: mw},
		{Name: "reckon_true_positive_rate", Type: Gauge, Labels: mw},
		{Name: "reckon_precision", Type: Gauge, Labels: mw},
		{Name: "reckon_accuracy", Type: Gauge, Labels: mw},
		{Name: "reckon_window_confusion", Type: Gauge, Labels: []string{"model", "window", "outcome"}},
		{Name: "reckon_roc_auc", Type: Gauge, Labels: mw},
		{Name: "reckon_brier_score", Type: Gauge, Labels: mw},
		{Name: "reckon_expected_calibration_error", Type: Gauge, Labels: mw},
		{Name: "reckon_estimated_false_positive_rate", Type: Gauge, Labels: mw},
		{Name: "reckon_feature_drift", Type: Gauge, Labels: []string{"model", "feature", "window", "method"}},
		{Name: "reckon_feature_drift_pvalue", Type: Gauge, Labels: []string{"model", "feature", "window", "test"}},
		{Name: "reckon_feature_drifted", Type: Gauge, Labels: mfw},
		{Name: "reckon_dataset_drift_share", Type: Gauge, Labels: mw},
		{Name: "reckon_prediction_drift", Type: Gauge, Labels: []string{"model", "window", "method"}},
		{Name: "reckon_feature_quantile", Type: Gauge, Labels: []string{"model", "feature", "window", "quantile"}},
		{Name: "reckon_feature_missing_ratio", Type: Gauge, Labels: mfw},
		{Name: "reckon_feature_distinct", Type: Gauge, Labels: mfw},
		{Name: "reckon_concept_drift_active", Type: Gauge, Labels: []string{"model", "detector"}},
		{Name: "reckon_concept_drift_total", Type: Counter, Labels: []string{"model", "detector"}},
		// DESIGN.md §3, data quality and the pipeline.
		{Name: "reckon_schema_violations_total", Type: Counter, Labels: []string{"model", "feature", "kind"}},
		{Name: "reckon_records_consumed_total", Type: Counter, Labels: []string{"topic"}},
		{Name: "reckon_dead_letter_total", Type: Counter, Labels: []string{"topic", "reason"}},
		{Name: "reckon_late_events_total", Type: Counter, Labels: []string{"model"}},
		{Name: "reckon_consumer_lag_records", Type: Gauge, Labels: []string{"topic", "partition"}},
		{Name: "reckon_pending_predictions", Type: Gauge},
		{Name: "reckon_build_info", Type: Gauge, Labels: []string{"version", "goversion"}},
		// The exporter's operational extras (exporter/metrics.go).
		{Name: "reckon_ready", Type: Gauge},
		{Name: "reckon_assigned_partitions", Type: Gauge},
		{Name: "reckon_windows_closed_total", Type: Counter, Labels: mw},
		{Name: "reckon_miskeyed_records_total", Type: Counter, Labels: []string{"topic"}},
		{Name: "reckon_rekeyed_records_total", Type: Counter, Labels: []string{"topic"}},
		{Name: "reckon_series_dropped_total", Type: Counter},
		{Name: "reckon_duplicate_predictions_total", Type: Counter, Labels: []string{"model"}},
		{Name: "reckon_business_cost_total", Type: Counter, Labels: []string{"model"}},
		{Name: "reckon_estimation_gap", Type: Gauge, Labels: []string{"model", "window", "metric"}},
		{Name: "reckon_reference_complete", Type: Gauge, Labels: []string{"model"}},
		// Added by Prometheus to every scrape.
		{Name: "up", Type: Gauge},
	}
	ms = append(ms, recordingRules()...)
	slices.SortFunc(ms, func(a, b Metric) int { return strings.Compare(a.Name, b.Name) })
	return ms
}

// LookupMetric returns the known metric (KnownMetrics) that a series name
// belongs to: the metric itself, or the histogram whose _bucket, _sum or
// _count series it is. The second result reports whether name is a
// histogram's _bucket series, which carries the extra label `le`.
func LookupMetric(name string) (m Metric, bucket, ok bool) {
	known := KnownMetrics()
	find := func(n string) (Metric, bool) {
		i, found := slices.BinarySearchFunc(known, n, func(m Metric, n string) int { return strings.Compare(m.Name, n) })
		if !found {
			return Metric{}, false
		}
		return known[i], true
	}
	if m, ok := find(name); ok {
		return m, false, true
	}
	for _, s := range [...]string{"_bucket", "_sum", "_count"} { // a classic histogram's series
		base, cut := strings.CutSuffix(name, s)
		if !cut {
			continue
		}
		if m, ok := find(base); ok && m.Type == Histogram {
			return m, s == "_bucket", true
		}
	}
	return Metric{}, false, false
}
