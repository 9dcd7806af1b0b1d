// Package alerts generates reckon's Prometheus recording and alerting rules
// from the configuration (`reckon rules`), so that they always match the
// models, windows and SLOs being monitored.
//
// Every alert has a `severity` label (page, ticket or warning) and summary,
// description and runbook_url annotations (the runbook URL is a placeholder
// base, Options.RunbookURL, plus the alert name). The alerts:
//
//	alert                                  severity  fires when
//	ReckonFeatureDrift                     warning   a feature drifted in N consecutive windows (N = Options.ConsecutiveWindows, 2)
//	ReckonMultivariateDrift                warning   a window's mean reconstruction error is outside its learned band (multivariate: true)
//	ReckonFalsePositiveRateHigh            ticket    a window's FPR > Options.FPRCeiling (0.1)
//	ReckonFalsePositiveRateAboveBaseline   ticket    a window's FPR > its 7d baseline + Options.FPRMargin (0.05)
//	ReckonFalsePositiveRateEstimateGap     warning   |realised FPR - estimated FPR| > Options.EstimateGap (0.05)
//	ReckonSegmentFalsePositiveRateHigh     ticket    a segment's FPR > the model's in the same window + Options.SegmentFPRMargin (0.05)
//	ReckonLabelCoverageDropping            ticket    joined outcomes per ok prediction over 1h < half the 7d baseline, for 1h
//	ReckonConceptDrift                     ticket    reckon_concept_drift_active == 1 for 5m
//	ReckonRegressionErrorAboveBaseline     ticket    a regression model's window MAE > Options.MAEFactor (1.5) × its 7d mean
//	ReckonMulticlassF1BelowBaseline        ticket    a multiclass model's window macro F1 < its 7d mean − Options.F1Margin (0.1)
//	ReckonLabelDrift                       warning   a regression or multiclass model's label PSI > Options.LabelDriftPSI (0.2)
//	ReckonErrorBudgetBurn                  page      error or latency SLO: burn > 14.4 over 1h and 5m, or > 6 over 6h and 30m
//	ReckonErrorBudgetBurn                  ticket    error or latency SLO: burn > 3 over 1d and 2h, or > 1 over 3d and 6h
//	ReckonDown                             page      up{job="reckon"} == 0, or no target at all, for 5m
//	ReckonNotReady                         warning   reckon_ready == 0 with no partitions assigned, for 10m
//	ReckonRestoreSlow                      ticket    reckon_ready == 0 with partitions assigned (restoring state), for 10m
//	ReckonConsumerLagGrowing               warning   a topic's lag grows (deriv over 10m) and is above 1000 records, for 15m
//	ReckonDeadLetters                      warning   reckon_dead_letter_total increased in the last 10m
//
// The FPR alerts and those of the other model kinds watch one window
// length (the longest configured, or Options.PerformanceWindow) and only
// windows (or, for a segment, the segment's outcomes in the window) with at
// least Options.MinNegatives actual negatives.
//
// # Drift in N consecutive windows
//
// reckon_feature_drifted{model,feature,window} describes the most recently
// closed window, whose exclusive end is
// reckon_window_end_timestamp_seconds{model,window}. A self-referencing
// recording rule keeps the start of each feature's current run of drifted
// windows: while the flag is 1 and the window end advanced by at most one
// window length since the previous evaluation, the start stays; otherwise a
// drifted feature starts a new run at its current window; a feature that
// does not drift has no run. The streak is (window end - run start) /
// window length, in event time, so it counts windows exactly whether they
// close once per window length, in a burst while a backlog is consumed, or
// with quiet gaps. A window the rules did not observe (two closed between
// evaluations, or a window with no events and so no result) restarts the
// run: an unobserved window is not assumed to have drifted. Rule
// evaluation must be more frequent than Prometheus's 5m lookback.
//
// # SLOs
//
// Per model, two SLOs with the model's objective over its SLO window
// (config.SLO): errors (status="error" in reckon_predictions_total) and
// latency (predictions slower than slo.latency in
// reckon_prediction_latency_seconds). slo.latency must be one of its
// classic bucket boundaries (exporter.PredictionLatency in the exporter's
// catalogue): Rules returns a *LatencyBucketError otherwise, rather than
// silently measuring a different objective. Error ratios are recorded
// over 5m, 30m, 1h, 2h, 6h, 1d and 3d
// (reckon_slo:sli_error:ratio_rate<w>{model,slo}), with the objective, the
// error budget, the current and period burn rates and the budget remaining
// over the SLO window (names in names.go). ReckonErrorBudgetBurn follows the
// multi-window, multi-burn-rate alerts of the Google SRE Workbook, as Sloth
// and Pyrra do. Where Prometheus keeps only native histograms (2.40-2.44
// with the feature flag), the latency ratio comes from histogram_fraction.
//
// # Checks
//
// testdata/*.test.yml are `promtool test rules` unit tests proving each
// alert fires on crafted input and stays silent on healthy input; go test
// runs them, `promtool check rules/config` and `amtool check-config` when
// the tools are installed (and fails under CI=true when they are not).
// Package promqlcheck parses every expression and checks its metric names,
// labels and kinds against KnownMetrics: the exporter's catalogue plus the
// recording rules.
package alerts
