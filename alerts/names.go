package alerts

import "github.com/reckonhq/reckon/exporter"

// Names of the recording rules that Rules generates. Dashboards use them
// too (the SLO dashboard reads the error-budget series), so they are part
// of reckon's public interface like the metrics of docs/metrics.md: rename one
// only together with everything that uses it.
//
// They follow the Prometheus convention level:metric:operations.
const (
	// RecordDriftWindowEnd is reckon_window_end_timestamp_seconds copied
	// onto every feature of reckon_feature_drifted{model,feature,window}:
	// the end of the window the feature's drift flag describes.
	RecordDriftWindowEnd = "reckon:feature_drift_window_end:timestamp_seconds"
	// RecordDriftStreakStart is the start of the first window of the
	// current unbroken run of drifted windows of a feature.
	RecordDriftStreakStart = "reckon:feature_drift_streak_start:timestamp_seconds"
	// RecordDriftLastWindowEnd is RecordDriftWindowEnd as of the previous
	// rule evaluation, to tell whether windows were skipped in between.
	RecordDriftLastWindowEnd = "reckon:feature_drift_last_window_end:timestamp_seconds"
	// RecordDriftStreak is the number of consecutive closed windows, up to
	// the most recent one, in which a feature drifted.
	RecordDriftStreak = "reckon:feature_drift_streak:windows"

	// RecordConfusionRate1h is the per-second rate of joined outcomes by
	// confusion outcome (tp, fp, tn, fn) over 1h, by model and outcome.
	RecordConfusionRate1h = "reckon:confusion:rate1h"
	// RecordFPRBaseline is a model's false-positive rate over
	// Options.BaselineRange, from the confusion counters.
	RecordFPRBaseline = "reckon:false_positive_rate:baseline"
	// RecordJoinedRate1h is the rate of outcomes joined to their
	// prediction over 1h, by model.
	RecordJoinedRate1h = "reckon:outcomes_joined:rate1h"
	// RecordPredictionsOKRate1h is the rate of ok predictions over 1h, by model.
	RecordPredictionsOKRate1h = "reckon:predictions_ok:rate1h"
	// RecordCoverage1h is the label coverage over 1h: joined outcomes per
	// ok prediction, by model.
	RecordCoverage1h = "reckon:label_coverage:ratio_rate1h"
	// RecordCoverageBaseline is the label coverage over
	// Options.BaselineRange, by model.
	RecordCoverageBaseline = "reckon:label_coverage:ratio_baseline"
	// RecordMAEBaseline is a regression model's MAE (the performance
	// window's) averaged over Options.BaselineRange, by model and window.
	RecordMAEBaseline = "reckon:regression_mae:baseline"
	// RecordF1MacroBaseline is a multiclass model's macro F1 averaged over
	// Options.BaselineRange, by model and window.
	RecordF1MacroBaseline = "reckon:f1_macro:baseline"

	// SLO series, by model and slo (SLOErrors or SLOLatency), in the style
	// of Sloth. RecordSLIErrorRatioPrefix + a window of SLOWindows is the
	// error ratio (bad events / all events) over that window.
	RecordSLIErrorRatioPrefix = "reckon_slo:sli_error:ratio_rate"
	// RecordSLIErrorRatioPeriod is the error ratio over the model's SLO
	// window (config.SLO.Window), the average of the 5m ratio.
	RecordSLIErrorRatioPeriod = "reckon_slo:sli_error:ratio_period"
	// RecordSLOObjective is the objective (config.SLO.Objective).
	RecordSLOObjective = "reckon_slo:objective:ratio"
	// RecordSLOErrorBudget is 1 - the objective.
	RecordSLOErrorBudget = "reckon_slo:error_budget:ratio"
	// RecordSLOCurrentBurnRate is the 5m error ratio divided by the error
	// budget: 1 spends the budget exactly over the SLO window.
	RecordSLOCurrentBurnRate = "reckon_slo:current_burn_rate:ratio"
	// RecordSLOPeriodBurnRate is the SLO window's error ratio divided by
	// the error budget.
	RecordSLOPeriodBurnRate = "reckon_slo:period_burn_rate:ratio"
	// RecordSLOBudgetRemaining is 1 - RecordSLOPeriodBurnRate: the share of
	// the SLO window's error budget left (negative once overspent).
	RecordSLOBudgetRemaining = "reckon_slo:period_error_budget_remaining:ratio"
)

// Values of the `slo` label of the SLO series.
const (
	// SLOErrors is the error SLO: the share of predictions with status
	// "error" in reckon_predictions_total.
	SLOErrors = "errors"
	// SLOLatency is the latency SLO: the share of predictions served
	// slower than the model's SLO latency in
	// reckon_prediction_latency_seconds.
	SLOLatency = "latency"
)

// SLOWindows returns the windows of the SLI error-ratio recording rules,
// shortest first: the long and short windows of the multi-window,
// multi-burn-rate alerts of the Google SRE Workbook.
func SLOWindows() []string { return []string{"5m", "30m", "1h", "2h", "6h", "1d", "3d"} }

// SLIErrorRatio returns the name of the SLI error-ratio recording rule over
// window, one of SLOWindows.
func SLIErrorRatio(window string) string { return RecordSLIErrorRatioPrefix + window }

// recordingRules describes the recording rules for KnownMetrics.
func recordingRules() []Metric {
	mfw := []string{"model", "feature", "window"}
	m := []string{"model"}
	slo := []string{"model", "slo"}
	ms := []Metric{
		{Name: RecordDriftWindowEnd, Labels: mfw},
		{Name: RecordDriftStreakStart, Labels: mfw},
		{Name: RecordDriftLastWindowEnd, Labels: mfw},
		{Name: RecordDriftStreak, Labels: mfw},
		{Name: RecordConfusionRate1h, Labels: []string{"model", "outcome"}},
		{Name: RecordFPRBaseline, Labels: m},
		{Name: RecordJoinedRate1h, Labels: m},
		{Name: RecordPredictionsOKRate1h, Labels: m},
		{Name: RecordCoverage1h, Labels: m},
		{Name: RecordCoverageBaseline, Labels: m},
		{Name: RecordMAEBaseline, Labels: []string{"model", "window", "stat"}},
		{Name: RecordF1MacroBaseline, Labels: []string{"model", "window", "average"}},
		{Name: RecordSLIErrorRatioPeriod, Labels: slo},
		{Name: RecordSLOObjective, Labels: slo},
		{Name: RecordSLOErrorBudget, Labels: slo},
		{Name: RecordSLOCurrentBurnRate, Labels: slo},
		{Name: RecordSLOPeriodBurnRate, Labels: slo},
		{Name: RecordSLOBudgetRemaining, Labels: slo},
	}
	for _, w := range SLOWindows() {
		ms = append(ms, Metric{Name: SLIErrorRatio(w), Labels: slo})
	}
	for i := range ms {
		ms[i].Kind = exporter.Gauge
		ms[i].Rule = true
	}
	return ms
}
