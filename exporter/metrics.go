// Package exporter defines reckon's Prometheus metrics (DESIGN.md §3) on an
// explicit registry, and serves them over HTTP with /healthz and /readyz.
//
// Nothing here is on the per-event path: partition workers count into plain
// per-batch structures, and the processor's coordinator applies those counts
// to the metrics below once the batch is committed, so exported counters
// advance only with committed work.
package exporter

import (
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// LatencyBuckets are the classic buckets of reckon_prediction_latency_seconds.
// They include 0.15 and 0.25 so that the default latency SLOs (150 ms, 250 ms)
// fall on a bucket boundary; native buckets are exported as well.
var LatencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .075, .1, .15, .25, .5, 1, 2.5, 5, 10}

// ScoreBuckets are the classic buckets of reckon_prediction_score: twenty
// equal bins of the probability, which a Grafana heatmap shows directly.
var ScoreBuckets = prometheus.LinearBuckets(0.05, 0.05, 20)

// LabelDelayBuckets span minutes to a week, the range labels arrive in.
var LabelDelayBuckets = []float64{1, 10, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400}

// Metrics are reckon's metrics. Fields are the metric vectors; use the
// methods that go through the series limit to create per-model series.
type Metrics struct {
	Registry *prometheus.Registry

	Predictions      *prometheus.CounterVec // model, model_version, status
	Latency          *BatchHistogramVec     // model
	Score            *BatchHistogramVec     // model
	RecordsConsumed  *prometheus.CounterVec // topic
	DeadLetters      *prometheus.CounterVec // topic, reason
	ConsumerLag      *prometheus.GaugeVec   // topic, partition
	SchemaViolations *prometheus.CounterVec // model, feature, kind
	LateEvents       *prometheus.CounterVec // model
	MisKeyed         *prometheus.CounterVec // topic
	Rekeyed          *prometheus.CounterVec // topic
	SeriesDropped    prometheus.Counter
	WindowEnd        *prometheus.GaugeVec // model, window
	WindowsClosed    *prometheus.CounterVec
	Ready            prometheus.Gauge
	Assigned         prometheus.Gauge

	// The delayed-label join, live.
	Outcomes             *prometheus.CounterVec // model, result = joined | duplicate | orphaned
	Expired              *prometheus.CounterVec // model
	DuplicatePredictions *prometheus.CounterVec // model
	LabelDelay           *BatchHistogramVec     // model
	Confusion            *prometheus.CounterVec // model, outcome = tp | fp | tn | fn
	BusinessCost         *prometheus.CounterVec // model
	Pending              prometheus.Gauge
	ConceptDriftActive   *prometheus.GaugeVec   // model, detector
	ConceptDrifts        *prometheus.CounterVec // model, detector

	// Per closed window: the most recently closed window of each length.
	WindowConfusion *prometheus.GaugeVec // model, window, outcome
	// WindowRate holds FPR, TPR, precision, accuracy, AUC, Brier and ECE,
	// each its own metric name; see WindowRates.
	WindowRates   map[string]*prometheus.GaugeVec // metric name → (model, window)
	EstimationGap *prometheus.GaugeVec            // model, window, metric

	// Drift and data quality per closed window.
	FeatureDrift        *prometheus.GaugeVec // model, feature, window, method
	FeatureDriftPValue  *prometheus.GaugeVec // model, feature, window, test
	FeatureDrifted      *prometheus.GaugeVec // model, feature, window
	DatasetDriftShare   *prometheus.GaugeVec // model, window
	PredictionDrift     *prometheus.GaugeVec // model, window, method
	FeatureQuantile     *prometheus.GaugeVec // model, feature, window, quantile
	FeatureMissingRatio *prometheus.GaugeVec // model, feature, window
	FeatureDistinct     *prometheus.GaugeVec // model, feature, window
	ReferenceComplete   *prometheus.GaugeVec // model

	limit      int
	series     map[string]struct{}
	collectors []prometheus.Collector // reckon's own, for Describe
}

// Describe sends the descriptors of every reckon_* metric family, whether
// or not it has series yet: the list that the shipped rules and dashboards
// are checked against.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors {
		c.Describe(ch)
	}
}

// New registers reckon's metrics, the Go and process collectors, and
// reckon_build_info on reg. seriesLimit caps the number of label sets that
// SeriesAllowed admits (0 = unlimited).
func New(reg *prometheus.Registry, version string, seriesLimit int) *Metrics {
	m := &Metrics{Registry: reg, limit: seriesLimit, series: make(map[string]struct{})}
	f := func(c prometheus.Collector) {
		reg.MustRegister(c)
		m.collectors = append(m.collectors, c)
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		f(c)
		return c
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		f(g)
		return g
	}
	// Histograms carry classic buckets and native ones (factor 1.1). They
	// are observed a committed transaction at a time, so in batches: see
	// BatchHistogramVec, whose output is client_golang's.
	histogram := func(name, help string, buckets []float64, labels ...string) *BatchHistogramVec {
		h := NewBatchHistogramVec(prometheus.HistogramOpts{
			Name: name, Help: help, Buckets: buckets,
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}, labels)
		f(h)
		return h
	}

	m.Predictions = counter("reckon_predictions_total",
		"Prediction events consumed, by model, model version and status (ok or error).",
		"model", "model_version", "status")
	m.Latency = histogram("reckon_prediction_latency_seconds",
		"Serving latency reported by the model server (latency_ms), in seconds.",
		LatencyBuckets, "model")
	m.Score = histogram("reckon_prediction_score",
		"Scores (positive-class probability) of ok predictions.",
		ScoreBuckets, "model")
	m.RecordsConsumed = counter("reckon_records_consumed_total",
		"Records read from an input topic, dead letters included.",
		"topic")
	m.DeadLetters = counter("reckon_dead_letter_total",
		"Records sent to the dead-letter topic, by source topic and reason code.",
		"topic", "reason")
	m.ConsumerLag = gauge("reckon_consumer_lag_records",
		"Records between this member's position and the partition's high watermark, as of the last fetch.",
		"topic", "partition")
	m.SchemaViolations = counter("reckon_schema_violations_total",
		"Feature values that do not match the declared schema, by kind (missing, type, range, unknown_feature, new_category).",
		"model", "feature", "kind")
	m.LateEvents = counter("reckon_late_events_total",
		"Events older than the watermark: counted live, not added to any window.",
		"model")
	m.MisKeyed = counter("reckon_miskeyed_records_total",
		"Records whose Kafka key is not their prediction_id.",
		"topic")
	m.Rekeyed = counter("reckon_rekeyed_records_total",
		"Mis-keyed records forwarded through the re-key topic to the partition of their prediction_id.",
		"topic")
	m.SeriesDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "reckon_series_dropped_total",
		Help: "Updates dropped because their series would exceed series_limit.",
	})
	m.WindowEnd = gauge("reckon_window_end_timestamp_seconds",
		"Exclusive end of the most recently closed window of this length.",
		"model", "window")
	m.WindowsClosed = counter("reckon_windows_closed_total",
		"Windows closed and published to the results topic.",
		"model", "window")
	m.Ready = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "reckon_ready",
		Help: "1 when /readyz answers 200: partitions assigned and state restored.",
	})
	m.Assigned = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "reckon_assigned_partitions",
		Help: "Partition numbers (of both input topics) owned by this member.",
	})
	m.Outcomes = counter("reckon_outcomes_total",
		"Outcome events by what the join made of them: joined, duplicate, or orphaned (no prediction within label_ttl).",
		"model", "result")
	m.Expired = counter("reckon_predictions_expired_total",
		"Predictions that got no outcome within label_ttl (event time).",
		"model")
	m.DuplicatePredictions = counter("reckon_duplicate_predictions_total",
		"Predictions whose prediction_id was already seen within label_ttl; never joined twice.",
		"model")
	m.LabelDelay = histogram("reckon_label_delay_seconds",
		"Outcome event time minus prediction event time, for joined pairs.",
		LabelDelayBuckets, "model")
	m.Confusion = counter("reckon_confusion_total",
		"Joined predictions by confusion-matrix cell, counted at join time.",
		"model", "outcome")
	m.BusinessCost = counter("reckon_business_cost_total",
		"Cost of joined errors: false positives and false negatives times the model's configured costs.",
		"model")
	m.Pending = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "reckon_pending_predictions",
		Help: "Predictions held by this member waiting for their outcome (join state size).",
	})
	m.ConceptDriftActive = gauge("reckon_concept_drift_active",
		"1 while a concept-drift detector on the joined error stream is in its drift state.",
		"model", "detector")
	m.ConceptDrifts = counter("reckon_concept_drift_total",
		"Changes detected by a concept-drift detector on the joined error stream.",
		"model", "detector")
	m.WindowConfusion = gauge("reckon_window_confusion",
		"Confusion counts of the outcomes joined in the most recently closed window (by outcome time).",
		"model", "window", "outcome")
	m.WindowRates = map[string]*prometheus.GaugeVec{}
	for name, help := range map[string]string{
		"reckon_false_positive_rate":           "FP / (FP + TN) over the outcomes joined in the most recently closed window.",
		"reckon_true_positive_rate":            "TP / (TP + FN) over the outcomes joined in the most recently closed window.",
		"reckon_precision":                     "TP / (TP + FP) over the outcomes joined in the most recently closed window.",
		"reckon_accuracy":                      "(TP + TN) / all, over the outcomes joined in the most recently closed window.",
		"reckon_roc_auc":                       "ROC AUC of the scores of the outcomes joined in the most recently closed window.",
		"reckon_brier_score":                   "Mean squared error of the scores against the labels joined in the most recently closed window.",
		"reckon_expected_calibration_error":    "Expected calibration error (10 equal-width bins) over the most recently closed window.",
		"reckon_estimated_false_positive_rate": "False-positive rate estimated from calibrated scores of the predictions in the most recently closed window, before labels (CBPE).",
	} {
		m.WindowRates[name] = gauge(name, help, "model", "window")
	}
	m.EstimationGap = gauge("reckon_estimation_gap",
		"Estimated minus realised value of a metric (fpr) in the most recently closed window.",
		"model", "window", "metric")
	m.FeatureDrift = gauge("reckon_feature_drift",
		"Drift statistic of a feature in the most recently closed window against the reference, by method (ks, psi, wasserstein, js, chi2).",
		"model", "feature", "window", "method")
	m.FeatureDriftPValue = gauge("reckon_feature_drift_pvalue",
		"p-value of a drift test (ks, chi2) of a feature in the most recently closed window against the reference.",
		"model", "feature", "window", "test")
	m.FeatureDrifted = gauge("reckon_feature_drifted",
		"1 when the feature's configured drift test says the most recently closed window drifted from the reference, else 0.",
		"model", "feature", "window")
	m.DatasetDriftShare = gauge("reckon_dataset_drift_share",
		"Share of the model's features that drifted in the most recently closed window.",
		"model", "window")
	m.PredictionDrift = gauge("reckon_prediction_drift",
		"Drift statistic of the score distribution in the most recently closed window against the reference.",
		"model", "window", "method")
	m.FeatureQuantile = gauge("reckon_feature_quantile",
		"Quantile of a numeric feature in the most recently closed window (t-digest).",
		"model", "feature", "window", "quantile")
	m.FeatureMissingRatio = gauge("reckon_feature_missing_ratio",
		"Share of the ok predictions in the most recently closed window in which the feature was null or absent.",
		"model", "feature", "window")
	m.FeatureDistinct = gauge("reckon_feature_distinct",
		"Distinct values of a categorical feature in the most recently closed window (HyperLogLog estimate).",
		"model", "feature", "window")
	m.ReferenceComplete = gauge("reckon_reference_complete",
		"1 once the model's reference distribution is complete and drift is computed against it.",
		"model")

	for _, c := range []prometheus.Collector{m.Pending, m.SeriesDropped, m.Ready, m.Assigned} {
		f(c)
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	bi := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "reckon_build_info",
		Help: "Always 1; labels say which reckon and Go built this binary.",
	}, []string{"version", "goversion"})
	bi.WithLabelValues(version, runtime.Version()).Set(1)
	f(bi)
	return m
}

// SeriesAllowed reports whether a series of metric with the given label
// values may be created or updated, admitting new series only while fewer
// than the series limit exist. A refused update is counted in
// reckon_series_dropped_total. It is called per batch, not per event.
func (m *Metrics) SeriesAllowed(metric string, labels ...string) bool {
	if m.limit <= 0 {
		return true
	}
	var b strings.Builder
	b.WriteString(metric)
	for _, l := range labels {
		b.WriteByte(0)
		b.WriteString(l)
	}
	k := b.String()
	if _, ok := m.series[k]; ok {
		return true
	}
	if len(m.series) >= m.limit {
		m.SeriesDropped.Inc()
		return false
	}
	m.series[k] = struct{}{}
	return true
}

// Version is reckon's version as stamped in the binary's build info.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
