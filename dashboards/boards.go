package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/reckonhq/reckon/alerts"
	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/sketch"
)

// rate returns sum by (by) (rate(metric{sel}[$__rate_interval])).
func rate(metric, sel, by string) string {
	if sel != "" {
		metric += "{" + sel + "}"
	}
	return fmt.Sprintf("sum by (%s) (rate(%s[$__rate_interval]))", by, metric)
}

// overview: the golden signals.
func overview(cfg *config.Config) *dashboard.DashboardBuilder {
	predictions := rate("reckon_predictions_total", selModel, "model")
	errRatio := fmt.Sprintf("(%s)\n/\n%s", orZero(rate("reckon_predictions_total", selModel+`,status="error"`, "model"), predictions), predictions)
	latency := timeSeries("Serving latency", "Quantiles of the serving latency the model servers report (latency_ms), from reckon_prediction_latency_seconds.", "s", half,
		q{histogramQuantile(0.5, "reckon_prediction_latency_seconds", selModel, "model"), "{{model}} p50"},
		q{histogramQuantile(0.95, "reckon_prediction_latency_seconds", selModel, "model"), "{{model}} p95"},
		q{histogramQuantile(0.99, "reckon_prediction_latency_seconds", selModel, "model"), "{{model}} p99"},
	)
	if l, ok := uniqueFloat(cfg, func(m *config.Model) float64 { return m.SLO.Latency.Seconds() }); ok {
		latency = withLine(latency, l)
	}
	scoreClassic := fmt.Sprintf("sum by (le) (increase(reckon_prediction_score_bucket{%s}[$__rate_interval]))", selModel)
	scoreNative := fmt.Sprintf("sum(increase(reckon_prediction_score{%s}[$__rate_interval]))", selModel)
	return newDashboard("reckon-overview", "reckon / Overview",
		"Golden signals of the monitored models: traffic, errors, serving latency, scores and outcomes.", true).
		WithRow(row("Traffic")).
		WithPanel(statPanel("Predictions/s", "All prediction events, ok and error.", "reqps", quarter, nil,
			q{fmt.Sprintf("sum(rate(reckon_predictions_total{%s}[$__rate_interval]))", selModel), "predictions/s"})).
		WithPanel(statPanel("Error ratio", "Share of prediction events with status error.", "percentunit", quarter,
			thresholds("green", step(0.001, "orange"), step(0.01, "red")),
			q{fmt.Sprintf("(%s)\n/\nsum(rate(reckon_predictions_total{%s}[$__rate_interval]))",
				orZero(fmt.Sprintf(`sum(rate(reckon_predictions_total{%s,status="error"}[$__rate_interval]))`, selModel),
					fmt.Sprintf("sum(rate(reckon_predictions_total{%s}[$__rate_interval]))", selModel)), selModel), "error ratio"})).
		WithPanel(statPanel("p99 latency", "99th percentile of the serving latency.", "s", quarter, nil,
			q{histogramQuantile(0.99, "reckon_prediction_latency_seconds", selModel, ""), "p99"})).
		WithPanel(statPanel("Drifted features", "Features whose drift test says drift in the last closed window of any length.", "none", quarter,
			thresholds("green", step(1, "orange")),
			q{fmt.Sprintf("count(max by (model, feature) (reckon_feature_drifted{%s}) == 1) or vector(0)", selModel), "drifted"})).
		WithPanel(timeSeries("Prediction rate", "Prediction events per second by model and status.", "reqps", half,
			q{rate("reckon_predictions_total", selModel, "model, status"), "{{model}} {{status}}"})).
		WithPanel(ratio("Error ratio", "Share of prediction events with status error, by model.", half, q{errRatio, "{{model}}"}).Max(0.1)).
		WithPanel(timeSeries("Predictions by model version", "Prediction events per second by model version: a deployment shows as a handover.", "reqps", half,
			q{rate("reckon_predictions_total", selModel, "model, model_version"), "{{model}} {{model_version}}"})).
		WithPanel(timeSeries("Outcomes", "Outcome events by result (joined to their prediction, duplicate, orphaned) and predictions that expired without a label.", "ops", half,
			q{rate("reckon_outcomes_total", selModel, "model, result"), "{{model}} {{result}}"},
			q{rate("reckon_predictions_expired_total", selModel, "model"), "{{model}} expired"})).
		WithRow(row("Latency and scores")).
		WithPanel(latency).
		WithPanel(heatmapOf("Score distribution", "Scores (positive-class probability) of ok predictions over time, from reckon_prediction_score.", half,
			prometheus.PromQueryFormatHeatmap, "none",
			q{fmt.Sprintf("%s\nor\n(%s unless on() %s)", scoreClassic, scoreNative, scoreClassic), "{{le}}"}))
}

// dashStyle draws a query's series dashed: thresholds and comparisons.
var dashStyle = []dashboard.DynamicConfigValue{{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}}}

// dashed draws query ref of p dashed.
func dashed(p *timeseries.PanelBuilder, ref string) *timeseries.PanelBuilder {
	return p.OverrideByQuery(ref, dashStyle)
}

// driftModes reports whether any model of cfg learns thresholds from its
// reference (on any feature) and whether any has multivariate drift.
func driftModes(cfg *config.Config) (learned, multivariate bool) {
	for i := range cfg.Models {
		m := &cfg.Models[i]
		multivariate = multivariate || m.Drift.Multivariate
		learned = learned || m.Drift.Threshold == sketch.ThresholdLearned
		for j := range m.Features {
			learned = learned || m.FeatureDrift(j).Threshold == sketch.ThresholdLearned
		}
	}
	return learned, multivariate
}

// drift: data and prediction drift.
func drift(cfg *config.Config) *dashboard.DashboardBuilder {
	selFeature := selModel + "," + selWindow + `,feature=~"$feature"`
	pvalues := timeSeries("Drift test p-values", "p-values of the ks and chi2 tests per feature (log scale); below the configured p_value the test says drift.", "none", half,
		q{fmt.Sprintf("min by (feature, test) (reckon_feature_drift_pvalue{%s})", selFeature), "{{feature}} {{test}}"}).
		ScaleDistribution(logScale())
	if p, ok := uniqueFloat(cfg, func(m *config.Model) float64 { return m.Drift.PValue }); ok {
		pvalues = pvalues.
			Thresholds(thresholds("red", step(p, "green"))).
			ThresholdsStyle(dashedThresholds())
	}
	share := ratio("Dataset drift share", "Share of the model's features that drifted in the last closed window.", half,
		q{fmt.Sprintf("max by (model) (reckon_dataset_drift_share{%s,%s})", selModel, selWindow), "{{model}}"})
	if s, ok := uniqueFloat(cfg, func(m *config.Model) float64 { return m.Drift.DatasetShare }); ok {
		share = withLine(share, s)
	}
	longest := longestWindow(cfg)
	learned, multivariate := driftModes(cfg)
	// The learned bands and the multivariate panel only where some model
	// has them: a query that can never return data is an empty line on
	// every user's board.
	featureDrift := timeSeries("Feature drift ($method)",
		"The drift statistic of each feature per closed $window window.", "none", half,
		q{fmt.Sprintf(`max by (feature) (reckon_feature_drift{%s,method="$method"})`, selFeature), "{{feature}}"})
	predictionDrift := timeSeries("Prediction drift", "Drift of the score distribution against the reference, per statistic.", "none", half,
		q{fmt.Sprintf(`max by (method) (reckon_prediction_drift{%s,%s,segment=""})`, selModel, selWindow), "{{method}}"})
	if learned {
		featureDrift = dashed(timeSeries("Feature drift and learned thresholds ($method)",
			"The drift statistic of each feature per closed $window window (solid) and, where the reference learned its own windows (threshold: learned), the band mean ± k·SD of the statistic over them (dashed): outside it is drift.", "none", half,
			q{fmt.Sprintf(`max by (feature) (reckon_feature_drift{%s,method="$method"})`, selFeature), "{{feature}}"},
			q{fmt.Sprintf(`max by (feature, bound) (reckon_feature_drift_threshold{%s,method="$method"})`, selFeature), "{{feature}} {{bound}}"}), "B")
		predictionDrift = dashed(timeSeries("Prediction drift", "Drift of the score distribution against the reference, per statistic (solid), and its learned thresholds where there are (dashed).", "none", half,
			q{fmt.Sprintf(`max by (method) (reckon_prediction_drift{%s,%s,segment=""})`, selModel, selWindow), "{{method}}"},
			q{fmt.Sprintf("max by (method, bound) (reckon_prediction_drift_threshold{%s,%s})", selModel, selWindow), "{{method}} {{bound}}"}), "B")
	}
	board := newDashboard("reckon-drift", "reckon / Drift",
		"Data drift per feature and prediction drift, per closed window, against each model's reference distribution.", false).
		WithVariable(windowVariable(cfg)).
		WithVariable(queryVariable("feature", "Feature",
			`label_values(reckon_feature_missing_ratio{model=~"$model"}, feature)`, true)).
		WithVariable(queryVariable("method", "Statistic",
			`label_values(reckon_feature_drift{model=~"$model"}, method)`, false)).
		WithRow(row("Drift over time")).
		WithPanel(heatmapOf("Feature drift ($method)", "The drift statistic of every feature against the reference, one row per feature, per closed $window window.", full,
			prometheus.PromQueryFormatTimeSeries, "none",
			q{fmt.Sprintf(`max by (feature) (reckon_feature_drift{%s,method="$method"})`, selFeature), "{{feature}}"})).
		WithPanel(stateTimeline("Drifted features", "Per feature: whether its configured drift test said drift in the last closed $window window.", "no drift", "drift", full,
			q{fmt.Sprintf("max by (feature) (reckon_feature_drifted{%s})", selFeature), "{{feature}}"})).
		WithPanel(featureDrift)
	if multivariate {
		board = board.WithPanel(dashed(timeSeries("Multivariate drift",
			"Mean PCA reconstruction error of the predictions per closed $window window (solid) and the band learned from the reference's windows (dashed): outside it, how the features move together changed (multivariate: true).", "none", half,
			q{fmt.Sprintf("max by (model) (reckon_multivariate_drift{%s,%s})", selModel, selWindow), "{{model}}"},
			q{fmt.Sprintf("max by (model, bound) (reckon_multivariate_drift_threshold{%s,%s})", selModel, selWindow), "{{model}} {{bound}}"}), "B"))
	}
	return board.
		WithPanel(share).
		WithPanel(predictionDrift).
		WithRow(row("Features")).
		WithPanel(timeSeries(fmt.Sprintf("Feature quantiles: $window against %s", longest),
			fmt.Sprintf("Quantiles (5%%, 50%%, 95%%, 99%%) of the numeric features over the last closed $window window (solid) and the last closed %s window (the longest configured, dashed).", longest),
			"none", full,
			q{fmt.Sprintf("max by (feature, quantile) (reckon_feature_quantile{%s})", selFeature), "{{feature}} q{{quantile}} ($window)"},
			q{fmt.Sprintf(`max by (feature, quantile) (reckon_feature_quantile{%s,window="%s",feature=~"$feature"})`, selModel, longest),
				"{{feature}} q{{quantile}} (" + longest + ")"}).
			OverrideByQuery("B", dashStyle)).
		WithPanel(pvalues).
		WithPanel(ratio("Missing values", "Share of events with the feature missing (null or absent) per closed window.", half,
			q{fmt.Sprintf("max by (feature) (reckon_feature_missing_ratio{%s})", selFeature), "{{feature}}"})).
		WithPanel(timeSeries("Distinct values", "Distinct values per feature per closed window (HyperLogLog estimate).", "none", half,
			q{fmt.Sprintf("max by (feature) (reckon_feature_distinct{%s})", selFeature), "{{feature}}"})).
		WithPanel(timeSeries("Schema violations", "Feature values that do not match the declared schema, by kind.", "ops", half,
			q{rate("reckon_schema_violations_total", selModel+`,feature=~"$feature|_undeclared"`, "feature, kind"), "{{feature}} {{kind}}"}))
}

// performance: model quality from delayed labels.
func performance(cfg *config.Config) *dashboard.DashboardBuilder {
	// segment="" is the model as a whole (docs/metrics.md).
	sel := selModel + "," + selWindow + `,segment=""`
	gauge := func(metric, legend string) q {
		return q{fmt.Sprintf("max by (model) (%s{%s})", metric, sel), "{{model}} " + legend}
	}
	okPredictions := rate("reckon_predictions_total", selModel+`,status="ok"`, "model")
	b := newDashboard("reckon-performance", "reckon / Performance",
		"Model quality from the labels that arrive later: rates per closed window by outcome time, calibration, label delay and coverage.", false).
		WithVariable(windowVariable(cfg)).
		WithRow(row("Rates per closed window")).
		WithPanel(ratio("False- and true-positive rate, precision, accuracy", "Over the outcomes joined in the last closed $window window.", half,
			gauge("reckon_false_positive_rate", "FPR"),
			gauge("reckon_true_positive_rate", "TPR"),
			gauge("reckon_precision", "precision"),
			gauge("reckon_accuracy", "accuracy"))).
		WithPanel(withBands(ratio("False-positive rate: estimated vs realised",
			"Estimated from calibrated scores as predictions arrive, and realised from the labels joined later, each with its band of ±3 standard errors (reckon_standard_error): a move inside the band may be noise. A growing gap suggests concept drift.", half),
			sel, "false_positive_rate")).
		WithPanel(withBands(ratio("ROC AUC: estimated vs realised",
			"Ranking quality over the outcomes joined in the window, and as estimated from the calibrated scores of the window's predictions (CBPE), each with its band of ±3 standard errors.", half),
			sel, "roc_auc").Min(0.5)).
		WithPanel(withBands(ratio("F1: estimated vs realised",
			"F1 of the positive class over the outcomes joined in the window, and as estimated from the calibrated scores (CBPE), each with its band of ±3 standard errors.", half),
			sel, "f1")).
		WithPanel(timeSeries("Calibration", "Brier score and expected calibration error per window (lower is better), and the reference's ECE of the raw scores and after reckon's calibration (dashed).", "none", half,
			gauge("reckon_brier_score", "Brier"),
			gauge("reckon_expected_calibration_error", "ECE"),
			q{fmt.Sprintf(`max by (model, scores) (reckon_reference_calibration_error{%s})`, selModel), "{{model}} reference ECE ({{scores}})"}).
			Min(0).
			OverrideByQuery("C", []dashboard.DynamicConfigValue{{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}}})).
		WithPanel(timeSeries("Confusion counts", "True/false positives/negatives joined in the last closed $window window.", "none", full,
			q{fmt.Sprintf("sum by (model, outcome) (reckon_window_confusion{%s})", sel), "{{model}} {{outcome}}"})).
		WithRow(row("Labels")).
		WithPanel(timeSeries("Label delay", "Outcome time minus prediction time of joined outcomes.", "s", third,
			q{histogramQuantile(0.5, "reckon_label_delay_seconds", selModel, "model"), "{{model}} p50"},
			q{histogramQuantile(0.95, "reckon_label_delay_seconds", selModel, "model"), "{{model}} p95"})).
		WithPanel(ratio("Label coverage", "Outcomes joined per ok prediction, and predictions expired without a label per ok prediction.", third,
			q{fmt.Sprintf("(%s)\n/\n%s", orZero(rate("reckon_outcomes_total", selModel+`,result="joined"`, "model"), okPredictions), okPredictions), "{{model}} joined"},
			q{fmt.Sprintf("(%s)\n/\n%s", orZero(rate("reckon_predictions_expired_total", selModel, "model"), okPredictions), okPredictions), "{{model}} expired"})).
		WithPanel(stateTimeline("Concept drift", "Whether a concept-drift detector currently signals a change in the relation between inputs and labels.", "stable", "drift", third,
			q{fmt.Sprintf("max by (model, detector) (reckon_concept_drift_active{%s})", selModel), "{{model}} {{detector}}"}))
	if cost := businessCost(cfg); len(cost) > 0 {
		b = b.WithPanel(timeSeries("Business cost", "Cost of the errors joined, per hour: false positives × cost.false_positive + false negatives × cost.false_negative, as configured per model.", "none", full, cost...))
	}
	// The other kinds' rows, only when such a model is configured: their
	// series exist for those alone.
	// The kinds' own series have no segment label.
	sel = selModel + "," + selWindow
	if hasKind(cfg, config.KindRegression) {
		b = b.WithRow(row("Regression models")).
			WithPanel(timeSeries("Error", "Mean absolute error, root mean squared error and bias (mean of predicted − label) over the outcomes joined in the last closed $window window.", "none", half,
				q{fmt.Sprintf(`max by (model, stat) (reckon_regression_error{%s,stat=~"mae|rmse|bias"})`, sel), "{{model}} {{stat}}"})).
			WithPanel(timeSeries("MAE: estimated vs realised", "Expected before labels from the reference's error by predicted value (over the predictions of the window), and realised from the labels joined later. A gap that the estimate does not show is concept drift.", "none", half,
				q{fmt.Sprintf(`max by (model) (reckon_estimated_regression_error{%s,stat="mae"})`, sel), "{{model}} estimated"},
				q{fmt.Sprintf(`max by (model) (reckon_regression_error{%s,stat="mae"})`, sel), "{{model}} realised"})).
			WithPanel(ratio("Mean absolute percentage error", "Mean of |predicted − label| / |label| over the joined outcomes with a label other than 0, in the last closed $window window.", half,
				q{fmt.Sprintf(`max by (model) (reckon_regression_error{%s,stat="mape"})`, sel), "{{model}} MAPE"})).
			WithPanel(timeSeries("Residual quantiles", "Quantiles (5%, 50%, 95%, 99%) of predicted − label over the outcomes joined in the last closed $window window.", "none", half,
				q{fmt.Sprintf("max by (model, quantile) (reckon_regression_residual_quantile{%s})", sel), "{{model}} q{{quantile}}"})).
			WithPanel(timeSeries("Label and prediction drift", "PSI of the labels and of the predicted values against the reference, per closed $window window.", "none", half,
				q{fmt.Sprintf(`max by (model) (reckon_label_drift{%s,method="psi"} and on(model) reckon_regression_error{%s,stat="mae"})`, sel, sel), "{{model}} labels"},
				q{fmt.Sprintf(`max by (model) (reckon_prediction_drift{%s,method="psi",segment=""} and on(model) reckon_regression_error{%s,stat="mae"})`, sel, sel), "{{model}} values"}))
	}
	if hasKind(cfg, config.KindMulticlass) {
		b = b.WithRow(row("Multiclass models")).
			WithPanel(ratio("Accuracy and F1", "Accuracy, and the classes' one-vs-rest F1 averaged (macro) and weighted by support, over the outcomes joined in the last closed $window window.", half,
				q{fmt.Sprintf(`max by (model) (reckon_accuracy{%s,segment=""} and on(model) reckon_f1{%s,average="macro",segment=""})`, sel, sel), "{{model}} accuracy"},
				q{fmt.Sprintf(`max by (model, average) (reckon_f1{%s,average=~"macro|weighted",segment=""})`, sel), "{{model}} F1 {{average}}"})).
			WithPanel(ratio("Recall per class: estimated vs realised", "Each class's recall from the labels joined in the last closed $window window, and estimated from the class scores of its predictions before labels (CBPE).", half,
				q{fmt.Sprintf(`max by (model, class) (reckon_class_rate{%s,rate="recall"})`, sel), "{{model}} {{class}}"},
				q{fmt.Sprintf(`max by (model, class) (reckon_estimated_class_rate{%s,rate="recall"})`, sel), "{{model}} {{class}} estimated"})).
			WithPanel(ratio("Precision per class", "Of the pairs predicted as the class, the share labelled it, in the last closed $window window.", half,
				q{fmt.Sprintf(`max by (model, class) (reckon_class_rate{%s,rate="precision"})`, sel), "{{model}} {{class}}"})).
			WithPanel(ratio("False-positive rate per class", "Of the pairs labelled otherwise, the share predicted as the class, in the last closed $window window.", half,
				q{fmt.Sprintf(`max by (model, class) (reckon_class_rate{%s,rate="fpr"})`, sel), "{{model}} {{class}}"})).
			WithPanel(timeSeries("Label and prediction drift", "chi2 and PSI of the label classes and of the predicted classes against the reference, per closed $window window.", "none", full,
				q{fmt.Sprintf(`max by (model) (reckon_label_drift{%s,method="psi"} and on(model) reckon_f1{%s,average="macro",segment=""})`, sel, sel), "{{model}} labels"},
				q{fmt.Sprintf(`max by (model) (reckon_prediction_drift{%s,method="psi",segment=""} and on(model) reckon_f1{%s,average="macro",segment=""})`, sel, sel), "{{model}} predicted classes"}))
	}
	b = withSegments(cfg, b)
	return b
}

// hasKind reports whether cfg has a model of kind k.
func hasKind(cfg *config.Config, k config.ModelKind) bool {
	for _, m := range cfg.Models {
		if m.Kind == k {
			return true
		}
	}
	return false
}

// withBands adds to p the realised and estimated value of a rate (metric:
// its gauge's name without reckon_, realised reckon_<metric>{sel} and
// estimated reckon_estimated_<metric>{sel}), each drawn as a line inside a
// shaded band of ±3 standard errors (reckon_standard_error). The band's
// edges fill to each other and stay out of the legend. The dashboard shows
// one model at a time, so the series' names are fixed.
func withBands(p *timeseries.PanelBuilder, sel, metric string) *timeseries.PanelBuilder {
	gaugeOf := func(kind string) string {
		name := "reckon_" + metric
		if metric == "f1" && kind == "realised" {
			name += `{average="binary",` + sel + "}"
		} else {
			if kind == "estimated" {
				name = "reckon_estimated_" + metric
			}
			name += "{" + sel + "}"
		}
		return "max by (model) (" + name + ")"
	}
	seMetric := func(kind string) string {
		m := metric
		if kind == "estimated" {
			m = "estimated_" + metric
		}
		return fmt.Sprintf(`max by (model) (reckon_standard_error{%s,metric="%s"})`, sel, m)
	}
	var qs []q
	for _, kind := range []string{"estimated", "realised"} {
		v, se := gaugeOf(kind), seMetric(kind)
		upper, lower := kind+" +3 SE", kind+" −3 SE"
		qs = append(qs,
			q{v, kind},
			q{fmt.Sprintf("%s\n+ 3 *\n%s", v, se), upper},
			q{fmt.Sprintf("%s\n- 3 *\n%s", v, se), lower})
		edge := []dashboard.DynamicConfigValue{
			{Id: "custom.lineWidth", Value: 0},
			{Id: "custom.hideFrom", Value: map[string]any{"legend": true, "tooltip": false, "viz": false}},
		}
		p = p.
			OverrideByName(upper, append([]dashboard.DynamicConfigValue{
				{Id: "custom.fillBelowTo", Value: lower},
				{Id: "custom.fillOpacity", Value: 20},
			}, edge...)).
			OverrideByName(lower, append([]dashboard.DynamicConfigValue{{Id: "custom.fillOpacity", Value: 0}}, edge...))
	}
	return p.Targets(targets(qs, ""))
}

// businessCost returns the cost query when some model has a configured
// cost (reckon_business_cost_total exists only for those).
func businessCost(cfg *config.Config) []q {
	for _, m := range cfg.Models {
		if m.Cost != nil {
			return []q{{"3600 * " + rate("reckon_business_cost_total", selModel, "model"), "{{model}}"}}
		}
	}
	return nil
}

// slo: the error-budget view of the SLOs of package alerts.
func slo(cfg *config.Config) *dashboard.DashboardBuilder {
	sel := selModel + `,slo="$slo"`
	burn := func(w string) q {
		return q{fmt.Sprintf("%s{%s}\n/ on(model, slo)\n%s{%s}", alerts.SLIErrorRatio(w), sel, alerts.RecordSLOErrorBudget, sel), "{{model}} " + w}
	}
	return newDashboard("reckon-slo", "reckon / SLOs",
		"Per model, the error and latency SLOs of `reckon rules`: compliance, error budget and burn rates. Needs the generated recording rules loaded in Prometheus.", false).
		WithVariable(customVariable("slo", "SLO", []string{alerts.SLOErrors, alerts.SLOLatency})).
		WithPanel(statPanel("Objective", "Share of predictions that must be good over the SLO window.", "percentunit", quarter, nil,
			q{fmt.Sprintf("max by (model) (%s{%s})", alerts.RecordSLOObjective, sel), "{{model}}"})).
		WithPanel(statPanel("Compliance", "Share of good predictions over the SLO window.", "percentunit", quarter, nil,
			q{fmt.Sprintf("1 - max by (model) (%s{%s})", alerts.RecordSLIErrorRatioPeriod, sel), "{{model}}"})).
		WithPanel(statPanel("Error budget remaining", "Share of the SLO window's error budget left; negative once overspent.", "percentunit", quarter,
			thresholds("red", step(0, "orange"), step(0.25, "green")),
			q{fmt.Sprintf("max by (model) (%s{%s})", alerts.RecordSLOBudgetRemaining, sel), "{{model}}"})).
		WithPanel(statPanel("Burn rate (5m)", "Error ratio over 5m divided by the error budget: 1 spends it exactly over the SLO window.", "none", quarter,
			thresholds("green", step(1, "orange"), step(6, "red")),
			q{fmt.Sprintf("max by (model) (%s{%s})", alerts.RecordSLOCurrentBurnRate, sel), "{{model}}"})).
		WithPanel(withLine(ratio("Error budget burn-down", "Error budget remaining over the SLO window, over time.", half,
			q{fmt.Sprintf("max by (model) (%s{%s})", alerts.RecordSLOBudgetRemaining, sel), "{{model}}"}).Min(-1), 0)).
		WithPanel(timeSeries("Burn rates", "Burn rates over the windows of the multi-window alerts: they page above 14.4 (1h and 5m) or 6 (6h and 30m).", "none", half,
			burn("5m"), burn("1h"), burn("6h"), burn("3d")).
			Thresholds(thresholds("green", step(1, "orange"), step(6, "red"), step(14.4, "dark-red"))).
			ThresholdsStyle(dashedThresholds())).
		WithPanel(ratio("Error ratio", "Bad predictions (errors, or slower than the SLO latency) over all, over 5m and 1h.", full,
			q{fmt.Sprintf("max by (model) (%s{%s})", alerts.SLIErrorRatio("5m"), sel), "{{model}} 5m"},
			q{fmt.Sprintf("max by (model) (%s{%s})", alerts.SLIErrorRatio("1h"), sel), "{{model}} 1h"}).Max(0.05))
}

// pipeline: reckon's own health.
func pipeline(_ *config.Config) *dashboard.DashboardBuilder {
	consumed := rate("reckon_records_consumed_total", "", "topic")
	return newDashboard("reckon-pipeline", "reckon / Pipeline",
		"reckon itself: consumption, lag, dead letters, late events, join state, windows and readiness.", true).
		WithRow(row("Kafka")).
		WithPanel(timeSeries("Records consumed", "Records read per second by input topic, dead letters included.", "rps", third,
			q{consumed, "{{topic}}"})).
		WithPanel(timeSeries("Consumer lag", "Records behind the high watermark, by topic, summed over partitions.", "none", third,
			q{"sum by (topic) (reckon_consumer_lag_records)", "{{topic}}"})).
		WithPanel(timeSeries("Dead letters", "Records sent to the dead-letter topic per second, by source topic and reason.", "rps", third,
			q{orZero(rate("reckon_dead_letter_total", "", "topic, reason"), consumed), "{{topic}} {{reason}}"})).
		WithPanel(timeSeries("Late events", "Events older than the watermark: counted, not added to a closed window.", "ops", third,
			q{orZero(rate("reckon_late_events_total", selModel, "model"), rate("reckon_predictions_total", selModel, "model")), "{{model}}"})).
		WithPanel(timeSeries("Mis-keyed records", "Records whose Kafka key is not their prediction_id (re-keyed through an internal topic).", "rps", third,
			q{orZero(rate("reckon_miskeyed_records_total", "", "topic"), consumed), "{{topic}}"})).
		WithPanel(timeSeries("Windows closed", "Windows closed and published to the results topic, per minute.", "none", third,
			q{fmt.Sprintf("60 * %s", rate("reckon_windows_closed_total", selModel, "model, window")), "{{model}} {{window}}"})).
		WithRow(row("Members")).
		WithPanel(stateTimeline("Ready", "Per member: /readyz (partitions assigned, state restored).", "not ready", "ready", half,
			q{"max by (instance) (reckon_ready)", "{{instance}}"}).
			Mappings([]dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
				Type: dashboard.MappingTypeValueToText,
				Options: map[string]dashboard.ValueMappingResult{
					"0": {Text: cog.ToPtr("not ready"), Color: cog.ToPtr("red"), Index: cog.ToPtr(int32(0))},
					"1": {Text: cog.ToPtr("ready"), Color: cog.ToPtr("green"), Index: cog.ToPtr(int32(1))},
				},
			}}}).
			Thresholds(thresholds("red", step(1, "green")))).
		WithPanel(statPanel("Time not ready", "Per member, time not ready in the dashboard's range: start-up, state restore after a restart or rebalance.", "s", half,
			thresholds("green", step(60, "orange"), step(600, "red")),
			q{"max by (instance) ((1 - avg_over_time(reckon_ready[$__range])) * $__range_s)", "{{instance}}"})).
		WithPanel(timeSeries("Assigned partitions", "Partition numbers (of both input topics) each member owns.", "none", third,
			q{"max by (instance) (reckon_assigned_partitions)", "{{instance}}"})).
		WithPanel(timeSeries("Join state", "Predictions waiting for their outcome, per member.", "none", third,
			q{"max by (instance) (reckon_pending_predictions)", "{{instance}}"})).
		WithPanel(timeSeries("Series capped", "Events counted under _other because their model already had max_model_versions versions, and metric updates dropped by the global series_limit.", "ops", third,
			q{"sum by (model, label) (rate(reckon_label_overflow_total[$__rate_interval]))", "{{model}} {{label}} → _other"},
			q{"sum by (instance) (rate(reckon_series_dropped_total[$__rate_interval]))", "{{instance}} dropped"})).
		WithPanel(timeSeries("Members by version", "Running reckon processes by version.", "none", full,
			q{"count by (version) (reckon_build_info)", "{{version}}"}))
}
