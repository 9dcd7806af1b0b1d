package exporter

import (
	"fmt"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reckonhq/reckon/results"
)

// Kind is the Prometheus type of a metric family.
type Kind uint8

// Metric kinds.
const (
	Counter Kind = iota + 1
	Gauge
	Histogram // classic buckets (Metric.Buckets) and native ones
)

// String returns the type as Prometheus writes it: "counter", "gauge" or
// "histogram".
func (k Kind) String() string {
	switch k {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Histogram:
		return "histogram"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Scope says where a metric's series come from and when they go away.
type Scope uint8

// Scopes.
const (
	// ScopeProcess series count this process's committed work or describe
	// the process. They live as long as the process (Prometheus counters
	// are process-local, docs/semantics.md).
	ScopeProcess Scope = iota
	// ScopeAggregator series of a model are kept current by the member
	// that aggregates the model (the owner of its partials partition);
	// ForgetModel deletes them when this member stops aggregating it.
	ScopeAggregator
	// ScopeWindow series describe the most recently closed window of a
	// model and window length. ApplyWindow reads them off that window's
	// results record, so they show exactly what the results topic holds:
	// a value the record leaves out (a rate with a zero denominator, drift
	// without a reference) has no series rather than 0 or NaN. Like
	// ScopeAggregator, ForgetModel deletes them.
	ScopeWindow
)

// String returns "process", "aggregator" or "window".
func (s Scope) String() string {
	switch s {
	case ScopeProcess:
		return "process"
	case ScopeAggregator:
		return "aggregator"
	case ScopeWindow:
		return "window"
	}
	return fmt.Sprintf("Scope(%d)", uint8(s))
}

// Metric is one metric family of the catalogue: everything reckon, its
// rules, dashboards and documentation need to know about it, declared once.
type Metric struct {
	Name string
	Help string
	Kind Kind
	// Labels are the family's own label names (job and instance come from
	// the scrape, le on a histogram's _bucket series).
	Labels []string
	// Buckets are a histogram's classic bucket upper bounds.
	Buckets []float64
	Scope   Scope
	// Capped is the label whose values come from input data rather than
	// the configuration, if any: each model gets at most a configured
	// number of its values (WithMaxModelVersions), the rest are exported
	// as Overflow and counted in reckon_label_overflow_total.
	Capped string

	// window reads the metric's samples off a closed window's record:
	// set exactly for ScopeWindow.
	window windowFunc
}

// windowFunc emits a per-window metric's samples for r, each with its
// label values in the order of Metric.Labels.
type windowFunc func(r *results.Record, emit func(v float64, labelValues ...string))

// ID names a catalogue metric that the processor updates itself (any scope
// but ScopeWindow; those are only read off results records and need no
// name in code).
type ID int

// The metrics the processor updates, each backed by a field of Metrics.
const (
	// docs/metrics.md, golden signals.
	Predictions ID = iota
	PredictionLatency
	PredictionScore
	Outcomes
	PredictionsExpired
	LabelDelay
	Confusion
	// docs/metrics.md, per model and window outside the window gauges.
	WindowsClosed
	ConceptDriftActive
	ConceptDrifts
	// docs/metrics.md, data quality and the pipeline.
	SchemaViolations
	RecordsConsumed
	DeadLetters
	LateEvents
	ConsumerLag
	Pending
	BuildInfo
	// Operational extras.
	Ready
	AssignedPartitions
	MisKeyed
	Rekeyed
	SeriesDropped
	LabelOverflow
	DuplicatePredictions
	BusinessCost
	ReferenceComplete
	ReferenceCalibrationError
	ReferenceCalibrationShift
	ReferenceCalibrationMatters
	StateBytes
	StateWritten

	numIDs
)

// Metric returns id's catalogue entry.
func (id ID) Metric() Metric { return live[id].clone() }

// String returns the metric's name.
func (id ID) String() string {
	if id < 0 || id >= numIDs {
		return fmt.Sprintf("ID(%d)", int(id))
	}
	return live[id].Name
}

// Overflow is the value a capped label (Metric.Capped) takes once its model
// has the configured number of distinct values, in the style of
// config.ReservedFeature.
const Overflow = "_other"

// LatencyBuckets are the classic buckets of reckon_prediction_latency_seconds.
// They include 0.15 and 0.25 so that the default latency SLOs (150 ms, 250 ms)
// fall on a bucket boundary; native buckets are exported as well.
var LatencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .075, .1, .15, .25, .5, 1, 2.5, 5, 10}

// ScoreBuckets are the classic buckets of reckon_prediction_score: twenty
// equal bins of the probability, which a Grafana heatmap shows directly.
var ScoreBuckets = prometheus.LinearBuckets(0.05, 0.05, 20)

// LabelDelayBuckets span minutes to a week, the range labels arrive in.
var LabelDelayBuckets = []float64{1, 10, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400}

// Label sets used by several metrics.
var (
	lModel         = []string{"model"}
	lModelWindow   = []string{"model", "window"}
	lModelFeatWin  = []string{"model", "feature", "window"}
	lModelDetector = []string{"model", "detector"}
	lTopic         = []string{"topic"}
)

// live is the catalogue of the metrics the processor updates itself.
var live = [numIDs]Metric{
	Predictions: {Name: "reckon_predictions_total", Kind: Counter,
		Help:   "Prediction events consumed, by model, model version and status (ok or error).",
		Labels: []string{"model", "model_version", "status"}, Capped: "model_version"},
	PredictionLatency: {Name: "reckon_prediction_latency_seconds", Kind: Histogram,
		Help:   "Serving latency reported by the model server (latency_ms), in seconds.",
		Labels: lModel, Buckets: LatencyBuckets},
	PredictionScore: {Name: "reckon_prediction_score", Kind: Histogram,
		Help:   "Scores (positive-class probability) of ok predictions.",
		Labels: lModel, Buckets: ScoreBuckets},
	Outcomes: {Name: "reckon_outcomes_total", Kind: Counter,
		Help:   "Outcome events by what the join made of them: joined, duplicate, or orphaned (no prediction within label_ttl).",
		Labels: []string{"model", "result"}},
	PredictionsExpired: {Name: "reckon_predictions_expired_total", Kind: Counter,
		Help:   "Predictions that got no outcome within label_ttl (event time).",
		Labels: lModel},
	LabelDelay: {Name: "reckon_label_delay_seconds", Kind: Histogram,
		Help:   "Outcome event time minus prediction event time, for joined pairs.",
		Labels: lModel, Buckets: LabelDelayBuckets},
	Confusion: {Name: "reckon_confusion_total", Kind: Counter,
		Help:   "Joined predictions of a binary model by confusion-matrix cell, counted at join time.",
		Labels: []string{"model", "outcome"}},
	WindowsClosed: {Name: "reckon_windows_closed_total", Kind: Counter,
		Help:   "Windows closed and published to the results topic.",
		Labels: lModelWindow},
	ConceptDriftActive: {Name: "reckon_concept_drift_active", Kind: Gauge, Scope: ScopeAggregator,
		Help:   "1 while a concept-drift detector on the joined error stream is in its drift state.",
		Labels: lModelDetector},
	ConceptDrifts: {Name: "reckon_concept_drift_total", Kind: Counter,
		Help:   "Changes detected by a concept-drift detector on the joined error stream.",
		Labels: lModelDetector},
	SchemaViolations: {Name: "reckon_schema_violations_total", Kind: Counter,
		Help:   "Feature values that do not match the declared schema, by kind (missing, type, range, unknown_feature, new_category); a multiclass model's undeclared classes are new_category violations of the features _predicted and _label.",
		Labels: []string{"model", "feature", "kind"}},
	RecordsConsumed: {Name: "reckon_records_consumed_total", Kind: Counter,
		Help:   "Records read from an input topic, dead letters included.",
		Labels: lTopic},
	DeadLetters: {Name: "reckon_dead_letter_total", Kind: Counter,
		Help:   "Records sent to the dead-letter topic, by source topic and reason code.",
		Labels: []string{"topic", "reason"}},
	LateEvents: {Name: "reckon_late_events_total", Kind: Counter,
		Help:   "Events older than the watermark: counted live, not added to any window.",
		Labels: lModel},
	ConsumerLag: {Name: "reckon_consumer_lag_records", Kind: Gauge,
		Help:   "Records between this member's position and the partition's high watermark, as of the last fetch.",
		Labels: []string{"topic", "partition"}},
	Pending: {Name: "reckon_pending_predictions", Kind: Gauge,
		Help: "Predictions held by this member waiting for their outcome (join state size)."},
	StateBytes: {Name: "reckon_state_bytes", Kind: Gauge,
		Help:   "Bytes of this member's join state, where=memory (its caches, within state_memory) or where=disk (under state_dir), as of the last commit.",
		Labels: []string{"where"}},
	StateWritten: {Name: "reckon_state_written_bytes_total", Kind: Counter,
		Help:   "Bytes of state changelog records (keys and values) written in committed transactions, by topic (<group>-state, <group>-join).",
		Labels: lTopic},
	BuildInfo: {Name: "reckon_build_info", Kind: Gauge,
		Help:   "Always 1; labels say which reckon and Go built this binary.",
		Labels: []string{"version", "goversion"}},
	Ready: {Name: "reckon_ready", Kind: Gauge,
		Help: "1 when /readyz answers 200: partitions assigned and state restored."},
	AssignedPartitions: {Name: "reckon_assigned_partitions", Kind: Gauge,
		Help: "Partition numbers (of both input topics) owned by this member."},
	MisKeyed: {Name: "reckon_miskeyed_records_total", Kind: Counter,
		Help:   "Records whose Kafka key is not their prediction_id.",
		Labels: lTopic},
	Rekeyed: {Name: "reckon_rekeyed_records_total", Kind: Counter,
		Help:   "Mis-keyed records forwarded through the re-key topic to the partition of their prediction_id.",
		Labels: lTopic},
	SeriesDropped: {Name: "reckon_series_dropped_total", Kind: Counter,
		Help: "Updates dropped because their series would exceed series_limit (the global backstop behind the per-label caps)."},
	LabelOverflow: {Name: "reckon_label_overflow_total", Kind: Counter,
		Help:   "Events exported under the value _other of a capped label (label) because the model already had its configured number of distinct values of it (max_model_versions for model_version).",
		Labels: []string{"model", "label"}},
	DuplicatePredictions: {Name: "reckon_duplicate_predictions_total", Kind: Counter,
		Help:   "Predictions whose prediction_id was already seen within label_ttl; never joined twice.",
		Labels: lModel},
	BusinessCost: {Name: "reckon_business_cost_total", Kind: Counter,
		Help:   "Cost of joined errors: false positives and false negatives times the model's configured costs.",
		Labels: lModel},
	ReferenceComplete: {Name: "reckon_reference_complete", Kind: Gauge,
		Help:   "1 once the model's reference distribution is complete and drift is computed against it.",
		Labels: lModel},
	ReferenceCalibrationError: {Name: "reckon_reference_calibration_error", Kind: Gauge,
		Help:   "Expected calibration error (10 equal-width bins) of the model's reference: of its raw scores (scores=raw), and of the probabilities of the isotonic calibration fitted on it, 10-fold cross-validated (scores=calibrated).",
		Labels: []string{"model", "scores"}},
	ReferenceCalibrationShift: {Name: "reckon_reference_calibration_shift", Kind: Gauge,
		Help:   "How much calibrating the scores moves an estimate on the model's reference: |estimate with calibration - without| over the reference's predictions, by estimated metric (estimated_false_positive_rate, ...).",
		Labels: []string{"model", "metric"}},
	ReferenceCalibrationMatters: {Name: "reckon_reference_calibration_matters", Kind: Gauge,
		Help:   "1 when calibration moves some estimate on the model's reference by more than 0.01 (reckon_reference_calibration_shift), else 0.",
		Labels: lModel},
}

// perWindow is the catalogue of the metrics read off a closed window's
// results record (ScopeWindow), in the order of docs/metrics.md. Adding one is
// adding an entry here (and, if the record lacks the value, a field to
// results.Record).
var perWindow = []Metric{
	{Name: "reckon_window_end_timestamp_seconds", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindow,
		Help: "Exclusive end of the most recently closed window of this length.",
		window: func(r *results.Record, emit func(float64, ...string)) {
			emit(float64(r.End.UnixMilli())/1000, r.Model, r.Window)
		}},
	{Name: "reckon_window_confusion", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "window", "outcome", SegmentLabel},
		Help: "Confusion counts of a binary model's outcomes joined in the most recently closed window (by outcome time); a multiclass model's matrix is in the results record.",
		window: func(r *results.Record, emit func(float64, ...string)) {
			if r.Regression != nil || r.Multiclass != nil {
				return // a binary model's cells (a multiclass model's matrix is in the record)
			}
			confusionCells(r.Confusion, emit, r.Model, r.Window, "")
			eachSegment(r, func(label string, s *results.Segment) {
				confusionCells(s.Confusion, emit, r.Model, r.Window, label)
			})
		}},
	{Name: "reckon_false_positive_rate", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindowSegment,
		Help:   "FP / (FP + TN) over the outcomes joined in the most recently closed window.",
		window: segmentedRate(func(r *results.Rates) *float64 { return r.FPR }, false)},
	{Name: "reckon_true_positive_rate", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindowSegment,
		Help:   "TP / (TP + FN) over the outcomes joined in the most recently closed window.",
		window: segmentedRate(func(r *results.Rates) *float64 { return r.TPR }, false)},
	{Name: "reckon_precision", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindowSegment,
		Help:   "TP / (TP + FP) over the outcomes joined in the most recently closed window.",
		window: segmentedRate(func(r *results.Rates) *float64 { return r.Precision }, false)},
	{Name: "reckon_accuracy", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindowSegment,
		Help:   "Share of the outcomes joined in the most recently closed window whose predicted class was right: (TP + TN) / all for a binary model, the confusion matrix's diagonal for a multiclass one.",
		window: segmentedRate(func(r *results.Rates) *float64 { return r.Accuracy }, false)},
	{Name: "reckon_roc_auc", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindowSegment,
		Help:   "ROC AUC of the scores of the outcomes joined in the most recently closed window.",
		window: segmentedRate(func(r *results.Rates) *float64 { return r.AUC }, false)},
	{Name: "reckon_brier_score", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindowSegment,
		Help:   "Mean squared error of the scores against the labels joined in the most recently closed window.",
		window: segmentedRate(func(r *results.Rates) *float64 { return r.Brier }, false)},
	{Name: "reckon_expected_calibration_error", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindowSegment,
		Help:   "Expected calibration error (10 equal-width bins) over the most recently closed window.",
		window: segmentedRate(func(r *results.Rates) *float64 { return r.ECE }, false)},
	{Name: "reckon_f1", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "window", "average", SegmentLabel},
		Help: "F1 score over the outcomes joined in the most recently closed window: 2TP / (2TP + FP + FN) of the positive class (average=binary); for a multiclass model the mean of the classes' one-vs-rest F1 (average=macro) and their mean weighted by support (average=weighted).",
		window: func(r *results.Record, emit func(float64, ...string)) {
			if r.Rates.F1 != nil {
				emit(*r.Rates.F1, r.Model, r.Window, "binary", "")
			}
			eachSegment(r, func(label string, s *results.Segment) {
				if s.Rates.F1 != nil {
					emit(*s.Rates.F1, r.Model, r.Window, "binary", label)
				}
			})
			if m := r.Multiclass; m != nil {
				if m.F1Macro != nil {
					emit(*m.F1Macro, r.Model, r.Window, "macro", "")
				}
				if m.F1Weighted != nil {
					emit(*m.F1Weighted, r.Model, r.Window, "weighted", "")
				}
			}
		}},
	{Name: "reckon_class_rate", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "window", "class", "rate"},
		Help: "One-vs-rest rate of a multiclass model's declared class (rate = precision, recall, fpr) over the outcomes joined in the most recently closed window.",
		window: func(r *results.Record, emit func(float64, ...string)) {
			if m := r.Multiclass; m != nil {
				emitClassRates(m.PerClass, r, emit)
			}
		}},
	{Name: "reckon_estimated_class_rate", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "window", "class", "rate"},
		Help: "One-vs-rest rate of a multiclass model's declared class (rate = precision, recall, fpr) estimated from the class scores of the predictions in the most recently closed window, before labels (CBPE).",
		window: func(r *results.Record, emit func(float64, ...string)) {
			if m := r.Multiclass; m != nil {
				emitClassRates(m.Estimated, r, emit)
			}
		}},
	{Name: "reckon_regression_error", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "window", "stat"},
		Help: "Error of a regression model over the outcomes joined in the most recently closed window: stat = mae, rmse, mape (a ratio, over non-zero labels) or bias (mean of predicted − label).",
		window: func(r *results.Record, emit func(float64, ...string)) {
			g := r.Regression
			if g == nil {
				return
			}
			for _, st := range [...]struct {
				name string
				v    *float64
			}{{"mae", g.MAE}, {"rmse", g.RMSE}, {"mape", g.MAPE}, {"bias", g.Bias}} {
				if st.v != nil {
					emit(*st.v, r.Model, r.Window, st.name)
				}
			}
		}},
	{Name: "reckon_estimated_regression_error", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "window", "stat"},
		Help: "Error of a regression model expected before labels over the predictions of the most recently closed window (stat = mae, rmse): the reference's error by bucket of predicted value, weighted by the window's predictions.",
		window: func(r *results.Record, emit func(float64, ...string)) {
			g := r.Regression
			if g == nil {
				return
			}
			if g.EstimatedMAE != nil {
				emit(*g.EstimatedMAE, r.Model, r.Window, "mae")
			}
			if g.EstimatedRMSE != nil {
				emit(*g.EstimatedRMSE, r.Model, r.Window, "rmse")
			}
		}},
	{Name: "reckon_regression_residual_quantile", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "window", "quantile"},
		Help: "Quantile of a regression model's residuals (predicted − label) over the outcomes joined in the most recently closed window (t-digest).",
		window: func(r *results.Record, emit func(float64, ...string)) {
			if g := r.Regression; g != nil {
				for q, v := range g.ResidualQuantiles {
					emit(v, r.Model, r.Window, q)
				}
			}
		}},
	{Name: "reckon_label_drift", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "window", "method"},
		Help: "Drift statistic of a regression or multiclass model's labels (by outcome time) in the most recently closed window against the reference.",
		window: func(r *results.Record, emit func(float64, ...string)) {
			var d map[string]float64
			switch {
			case r.Regression != nil:
				d = r.Regression.LabelDrift
			case r.Multiclass != nil:
				d = r.Multiclass.LabelDrift
			}
			for method, v := range d {
				emit(v, r.Model, r.Window, method)
			}
		}},
	{Name: "reckon_estimated_false_positive_rate", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindowSegment,
		Help:   "False-positive rate estimated from calibrated scores of the predictions in the most recently closed window, before labels (CBPE).",
		window: segmentedRate(func(r *results.Rates) *float64 { return r.FPR }, true)},
	{Name: "reckon_estimated_true_positive_rate", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindowSegment,
		Help:   "True-positive rate estimated from calibrated scores of the predictions in the most recently closed window, before labels (CBPE).",
		window: segmentedRate(func(r *results.Rates) *float64 { return r.TPR }, true)},
	{Name: "reckon_estimated_precision", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindowSegment,
		Help:   "Precision estimated from calibrated scores of the predictions in the most recently closed window, before labels (CBPE).",
		window: segmentedRate(func(r *results.Rates) *float64 { return r.Precision }, true)},
	{Name: "reckon_estimated_accuracy", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindowSegment,
		Help:   "Accuracy estimated from calibrated scores of the predictions in the most recently closed window, before labels (CBPE).",
		window: segmentedRate(func(r *results.Rates) *float64 { return r.Accuracy }, true)},
	{Name: "reckon_estimated_roc_auc", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindowSegment,
		Help:   "ROC AUC estimated from calibrated scores of the predictions in the most recently closed window, before labels (CBPE: each prediction counts as p of a positive and 1-p of a negative).",
		window: segmentedRate(func(r *results.Rates) *float64 { return r.AUC }, true)},
	{Name: "reckon_estimated_f1", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindowSegment,
		Help:   "F1 estimated from calibrated scores of the predictions in the most recently closed window, before labels (CBPE): 2E[TP] / (2E[TP] + E[FP] + E[FN]).",
		window: segmentedRate(func(r *results.Rates) *float64 { return r.F1 }, true)},
	{Name: "reckon_standard_error", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "window", "metric", SegmentLabel},
		Help: "Sampling error (one standard error) of a realised or estimated rate of the most recently closed window; metric is the rate's metric name without reckon_ (false_positive_rate, ..., estimated_roc_auc, estimated_f1). Dashboards draw rate ± 3 standard errors.",
		window: func(r *results.Record, emit func(float64, ...string)) {
			standardErrors(r.StandardError, func(v float64, metric string) { emit(v, r.Model, r.Window, metric, "") })
			eachSegment(r, func(label string, s *results.Segment) {
				standardErrors(s.StandardError, func(v float64, metric string) { emit(v, r.Model, r.Window, metric, label) })
			})
		}},
	{Name: "reckon_estimation_gap", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "window", "metric"},
		Help: "Estimated minus realised value of a metric (fpr) in the most recently closed window.",
		window: func(r *results.Record, emit func(float64, ...string)) {
			if est, real := r.Estimated.FPR, r.Rates.FPR; est != nil && real != nil {
				emit(*est-*real, r.Model, r.Window, "fpr")
			}
		}},
	{Name: "reckon_feature_drift", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "feature", "window", "method"},
		Help: "Drift statistic of a feature in the most recently closed window against the reference, by method (ks, psi, wasserstein, js, chi2).",
		window: func(r *results.Record, emit func(float64, ...string)) {
			for name, f := range r.Features {
				for method, v := range f.Drift {
					emit(v, r.Model, name, r.Window, method)
				}
			}
		}},
	{Name: "reckon_feature_drift_pvalue", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "feature", "window", "test"},
		Help: "p-value of a drift test (ks, chi2) of a feature in the most recently closed window against the reference.",
		window: func(r *results.Record, emit func(float64, ...string)) {
			for name, f := range r.Features {
				for test, v := range f.PValue {
					emit(v, r.Model, name, r.Window, test)
				}
			}
		}},
	{Name: "reckon_feature_drifted", Kind: Gauge, Scope: ScopeWindow, Labels: lModelFeatWin,
		Help: "1 when the feature's configured drift test says the most recently closed window drifted from the reference, else 0.",
		window: func(r *results.Record, emit func(float64, ...string)) {
			for name, f := range r.Features {
				if f.Drifted != nil {
					emit(b2f(*f.Drifted), r.Model, name, r.Window)
				}
			}
		}},
	{Name: "reckon_dataset_drift_share", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindow,
		Help:   "Share of the model's features that drifted in the most recently closed window.",
		window: rate(func(r *results.Record) *float64 { return r.DatasetDriftShare })},
	{Name: "reckon_prediction_drift", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "window", "method", SegmentLabel},
		Help: "Drift statistic of the predictions in the most recently closed window against the reference: a binary model's scores, a regression model's values, a multiclass model's predicted classes (a segment's: against the same segment of a stream reference).",
		window: func(r *results.Record, emit func(float64, ...string)) {
			for method, v := range r.PredictionDrift {
				emit(v, r.Model, r.Window, method, "")
			}
			eachSegment(r, func(label string, s *results.Segment) {
				for method, v := range s.PredictionDrift {
					emit(v, r.Model, r.Window, method, label)
				}
			})
		}},
	{Name: "reckon_feature_drift_threshold", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "feature", "window", "method", "bound"},
		Help: "Learned drift threshold of a feature's statistic (bound lower or upper: mean ∓ k standard deviations over the reference's own windows), for the most recently closed window.",
		window: func(r *results.Record, emit func(float64, ...string)) {
			for name, f := range r.Features {
				for method, b := range f.DriftThreshold {
					emit(b.Lower, r.Model, name, r.Window, method, "lower")
					emit(b.Upper, r.Model, name, r.Window, method, "upper")
				}
			}
		}},
	{Name: "reckon_prediction_drift_threshold", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "window", "method", "bound"},
		Help: "Learned drift threshold of the score distribution's statistic (bound lower or upper), for the most recently closed window.",
		window: func(r *results.Record, emit func(float64, ...string)) {
			for method, b := range r.PredictionDriftThreshold {
				emit(b.Lower, r.Model, r.Window, method, "lower")
				emit(b.Upper, r.Model, r.Window, method, "upper")
			}
		}},
	{Name: "reckon_multivariate_drift", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindow,
		Help: "Mean PCA reconstruction error of the predictions in the most recently closed window (multivariate drift).",
		window: func(r *results.Record, emit func(float64, ...string)) {
			if r.Multivariate != nil {
				emit(r.Multivariate.Error, r.Model, r.Window)
			}
		}},
	{Name: "reckon_multivariate_drift_threshold", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "window", "bound"},
		Help: "Band of the mean reconstruction error learned from the reference's own windows (bound lower or upper: mean ∓ k standard deviations).",
		window: func(r *results.Record, emit func(float64, ...string)) {
			if mv := r.Multivariate; mv != nil && mv.Threshold != nil {
				emit(mv.Threshold.Lower, r.Model, r.Window, "lower")
				emit(mv.Threshold.Upper, r.Model, r.Window, "upper")
			}
		}},
	{Name: "reckon_multivariate_drifted", Kind: Gauge, Scope: ScopeWindow, Labels: lModelWindow,
		Help: "1 when the most recently closed window's mean reconstruction error lies outside its band, else 0.",
		window: func(r *results.Record, emit func(float64, ...string)) {
			if mv := r.Multivariate; mv != nil && mv.Drifted != nil {
				emit(b2f(*mv.Drifted), r.Model, r.Window)
			}
		}},
	{Name: "reckon_feature_quantile", Kind: Gauge, Scope: ScopeWindow, Labels: []string{"model", "feature", "window", "quantile"},
		Help: "Quantile of a numeric feature in the most recently closed window (t-digest).",
		window: func(r *results.Record, emit func(float64, ...string)) {
			for name, f := range r.Features {
				for q, v := range f.Quantiles {
					emit(v, r.Model, name, r.Window, q)
				}
			}
		}},
	{Name: "reckon_feature_missing_ratio", Kind: Gauge, Scope: ScopeWindow, Labels: lModelFeatWin,
		Help: "Share of the ok predictions in the most recently closed window in which the feature was null or absent.",
		window: func(r *results.Record, emit func(float64, ...string)) {
			for name, f := range r.Features {
				if total := f.Total(); total > 0 {
					emit(float64(f.Missing)/float64(total), r.Model, name, r.Window)
				}
			}
		}},
	{Name: "reckon_feature_distinct", Kind: Gauge, Scope: ScopeWindow, Labels: lModelFeatWin,
		Help: "Distinct values of a categorical feature in the most recently closed window (HyperLogLog estimate).",
		window: func(r *results.Record, emit func(float64, ...string)) {
			for name, f := range r.Features {
				if f.Distinct != nil {
					emit(float64(*f.Distinct), r.Model, name, r.Window)
				}
			}
		}},
}

// standardErrors emits the standard errors of se (nil: none) by their
// metric label.
func standardErrors(se *results.StandardErrors, emit func(v float64, metric string)) {
	if se == nil {
		return
	}
	for _, set := range [...]struct {
		prefix string
		rates  *results.Rates
	}{{"", &se.Rates}, {"estimated_", &se.Estimated}} {
		for _, f := range StandardErrorMetrics {
			if v := f.Field(set.rates); v != nil {
				emit(*v, set.prefix+f.Metric)
			}
		}
	}
}

// StandardErrorMetrics are the rates that have a standard error: the
// `metric` label value of reckon_standard_error (prefixed with
// "estimated_" for an estimate's), and the field of results.Rates it is
// read from. A value names the gauge of the rate, reckon_<metric>.
var StandardErrorMetrics = []struct {
	Metric string
	Field  func(*results.Rates) *float64
}{
	{"false_positive_rate", func(r *results.Rates) *float64 { return r.FPR }},
	{"true_positive_rate", func(r *results.Rates) *float64 { return r.TPR }},
	{"precision", func(r *results.Rates) *float64 { return r.Precision }},
	{"accuracy", func(r *results.Rates) *float64 { return r.Accuracy }},
	{"roc_auc", func(r *results.Rates) *float64 { return r.AUC }},
	{"f1", func(r *results.Rates) *float64 { return r.F1 }},
}

// rate reads a {model, window} gauge from an optional field of the record:
// no series when the field is nil.
func rate(field func(*results.Record) *float64) windowFunc {
	return func(r *results.Record, emit func(float64, ...string)) {
		if v := field(r); v != nil {
			emit(*v, r.Model, r.Window)
		}
	}
}

// emitClassRates emits each class's precision, recall and fpr.
func emitClassRates(rates map[string]results.ClassRates, r *results.Record, emit func(float64, ...string)) {
	for class, cr := range rates {
		for _, x := range [...]struct {
			name string
			v    *float64
		}{{"precision", cr.Precision}, {"recall", cr.Recall}, {"fpr", cr.FPR}} {
			if x.v != nil {
				emit(*x.v, r.Model, r.Window, class, x.name)
			}
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Catalogue returns every metric family reckon exports: the ones the
// processor updates, in ID order, then the per-window ones. The result is
// a new slice that the caller may keep and modify.
func Catalogue() []Metric {
	out := make([]Metric, 0, len(live)+len(perWindow)+len(segmentMetrics))
	for _, m := range live {
		out = append(out, m.clone())
	}
	for _, m := range perWindow {
		out = append(out, m.clone())
	}
	for _, m := range segmentMetrics {
		out = append(out, m.clone())
	}
	return out
}

func (m Metric) clone() Metric {
	m.Labels, m.Buckets = slices.Clone(m.Labels), slices.Clone(m.Buckets)
	return m
}
