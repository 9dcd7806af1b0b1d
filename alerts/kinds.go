package alerts

import "fmt"

// kinds returns the reckon-model-kinds group: a regression model's MAE
// against its baseline, a multiclass model's macro F1 against its
// baseline, and label drift of either. Like the performance group, it
// watches Options.PerformanceWindow's gauges; a binary model has none of
// these series, so the group is the same whatever models are configured.
func (g *generator) kinds() RuleGroup {
	o := g.opts
	w := quote(g.performanceWindow())
	base := promDuration(o.BaselineRange)
	mae := fmt.Sprintf(`reckon_regression_error{stat="mae",window=%s}`, w)
	f1 := fmt.Sprintf(`reckon_f1{average="macro",window=%s}`, w)
	rules := []Rule{
		{Record: RecordMAEBaseline, Expr: fmt.Sprintf("avg_over_time(%s[%s])", mae, base)},
		g.alert("ReckonRegressionErrorAboveBaseline",
			fmt.Sprintf("%s > on(model, window) group_left() (%s * %s)", mae, num(o.MAEFactor), RecordMAEBaseline),
			"", SeverityTicket,
			"Model {{ $labels.model }}: mean absolute error above its baseline",
			fmt.Sprintf("The mean absolute error of regression model {{ $labels.model }} over the last closed {{ $labels.window }} window "+
				"is {{ $value }}, more than %s times its mean over the last %s.", num(o.MAEFactor), base),
			nil),
		{Record: RecordF1MacroBaseline, Expr: fmt.Sprintf("avg_over_time(%s[%s])", f1, base)},
		g.alert("ReckonMulticlassF1BelowBaseline",
			fmt.Sprintf("%s < on(model, window) group_left() (%s - %s)", f1, RecordF1MacroBaseline, num(o.F1Margin)),
			"", SeverityTicket,
			"Model {{ $labels.model }}: macro F1 below its baseline",
			fmt.Sprintf("The macro-averaged F1 of multiclass model {{ $labels.model }} over the last closed {{ $labels.window }} window "+
				"is {{ $value | humanize }}, more than %s below its mean over the last %s: some class is predicted worse. "+
				"reckon_class_rate says which.", num(o.F1Margin), base),
			nil),
		g.alert("ReckonLabelDrift",
			fmt.Sprintf(`reckon_label_drift{method="psi",window=%s} > %s`, w, num(o.LabelDriftPSI)),
			"", SeverityWarning,
			"Model {{ $labels.model }}: labels drifted from the reference",
			fmt.Sprintf("The labels of model {{ $labels.model }} over the last closed {{ $labels.window }} window differ from the "+
				"reference's (PSI {{ $value | humanize }}, above %s): what the model predicts has changed in the world, "+
				"whether or not its inputs have.", num(o.LabelDriftPSI)),
			nil),
	}
	return RuleGroup{Name: "reckon-model-kinds", Rules: rules}
}
