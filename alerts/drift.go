package alerts

import (
	"fmt"
	"strconv"
)

// drift returns the reckon-drift group: the consecutive-window streak of
// every feature's drift flag, ReckonFeatureDrift and
// ReckonMultivariateDrift.
//
// reckon_feature_drifted describes the most recently closed window, whose
// exclusive end is reckon_window_end_timestamp_seconds. The rules keep,
// per feature and window length L, the start of the current unbroken run
// of drifted windows (RecordDriftStreakStart), reading their own previous
// result:
//
//   - while the feature drifts and the window end advanced by at most L
//     since the previous evaluation, the start stays;
//   - otherwise, while the feature drifts, the run starts afresh with the
//     window now shown (start = window end - L);
//   - when the feature does not drift, there is no run (the series ends).
//
// The streak, (window end - start) / L, is then the number of consecutive
// windows that drifted, counted in event time from the window bounds
// reckon exports rather than from wall-clock time: it is exact however fast
// or slowly windows close (a backlog being consumed, a quiet night). Where
// more than one window closed between two evaluations, or a window had no
// events for the model (and so no result), the run restarts: the rules
// cannot see a window they did not observe, and do not assume it drifted.
func (g *generator) drift() RuleGroup {
	var rules []Rule
	rules = append(rules, Rule{
		Record: RecordDriftWindowEnd,
		Expr: `reckon_feature_drifted * 0
  + ignoring(feature) group_left
reckon_window_end_timestamp_seconds`,
	})
	for _, w := range g.cfg.Windows {
		sel := fmt.Sprintf(`{window=%s}`, quote(w.Text))
		l := strconv.FormatInt(int64(w.Length.Seconds()), 10)
		// The window label (the series have it already) tells promtool's
		// duplicate-rule check apart the rules of different windows.
		wl := map[string]string{"window": w.Text}
		rules = append(rules, Rule{
			Record: RecordDriftStreakStart,
			Labels: wl,
			Expr: fmt.Sprintf(`(
    %[1]s%[2]s
  and
    (reckon_feature_drifted%[2]s == 1)
  and
    (%[3]s%[2]s - %[4]s%[2]s <= %[5]s)
)
or
(
    %[3]s%[2]s - %[5]s
  and
    (reckon_feature_drifted%[2]s == 1)
)`, RecordDriftStreakStart, sel, RecordDriftWindowEnd, RecordDriftLastWindowEnd, l),
		})
	}
	rules = append(rules, Rule{Record: RecordDriftLastWindowEnd, Expr: RecordDriftWindowEnd})
	for _, w := range g.cfg.Windows {
		sel := fmt.Sprintf(`{window=%s}`, quote(w.Text))
		l := strconv.FormatInt(int64(w.Length.Seconds()), 10)
		rules = append(rules, Rule{
			Record: RecordDriftStreak,
			Labels: map[string]string{"window": w.Text},
			Expr:   fmt.Sprintf("(%[1]s%[2]s - %[3]s%[2]s) / %[4]s", RecordDriftWindowEnd, sel, RecordDriftStreakStart, l),
		})
	}
	n := g.opts.ConsecutiveWindows
	rules = append(rules, g.alert("ReckonFeatureDrift",
		fmt.Sprintf("%s >= %d", RecordDriftStreak, n), "", SeverityWarning,
		"Feature {{ $labels.feature }} of model {{ $labels.model }} drifted",
		fmt.Sprintf("The drift test configured for feature {{ $labels.feature }} of model {{ $labels.model }} "+
			"said drift in the last {{ $value }} consecutive {{ $labels.window }} windows (alerting at %d).", n),
		nil))
	// Multivariate drift: the most recently closed window's mean
	// reconstruction error outside the band its reference's own windows
	// span (NannyML alerts on each such window, as here).
	rules = append(rules, g.alert("ReckonMultivariateDrift",
		`reckon_multivariate_drift
  > ignoring(bound)
reckon_multivariate_drift_threshold{bound="upper"}
or
reckon_multivariate_drift
  < ignoring(bound)
reckon_multivariate_drift_threshold{bound="lower"}`, "", SeverityWarning,
		"Model {{ $labels.model }} drifted in how its features move together",
		"The mean PCA reconstruction error of model {{ $labels.model }} in the last {{ $labels.window }} window, {{ $value }}, "+
			"lies outside the band learned from the reference's own windows (multivariate drift).",
		nil))
	return RuleGroup{Name: "reckon-drift", Rules: rules}
}
