package alerts

import (
	"fmt"
	"strings"
)

// performance returns the reckon-performance group: the false-positive
// rate against a ceiling, against its baseline and against its estimate,
// label coverage, and concept drift.
//
// The window gauges (reckon_false_positive_rate and friends) already
// aggregate a whole closed window, so these alerts have no `for:` beyond
// what damps flapping; they watch one window length,
// Options.PerformanceWindow, and only windows with at least
// Options.MinNegatives actual negatives (fp + tn), below which a rate is
// mostly noise.
func (g *generator) performance() RuleGroup {
	o := g.opts
	w := quote(g.performanceWindow())
	base := promDuration(o.BaselineRange)
	// segment="" is the model as a whole; segments have their own alert.
	enough := fmt.Sprintf(`(sum by (model, window) (reckon_window_confusion{window=%s,segment="",outcome=~"fp|tn"}) >= %s)`, w, num(o.MinNegatives))
	fpr := fmt.Sprintf(`reckon_false_positive_rate{window=%s,segment=""}`, w)
	segEnough := fmt.Sprintf(`(sum by (model, window, segment) (reckon_window_confusion{window=%s,segment!="",outcome=~"fp|tn"}) >= %s)`, w, num(o.MinNegatives))

	rules := []Rule{
		g.alert("ReckonFalsePositiveRateHigh",
			fmt.Sprintf("(%s > %s)\nand on(model, window)\n%s", fpr, num(o.FPRCeiling), enough),
			"", SeverityTicket,
			"Model {{ $labels.model }}: false-positive rate {{ $value | humanizePercentage }}",
			fmt.Sprintf("The false-positive rate of model {{ $labels.model }} over the last closed {{ $labels.window }} window "+
				"is {{ $value | humanizePercentage }}, above the ceiling of %s.", pct(o.FPRCeiling)),
			nil),

		{Record: RecordConfusionRate1h, Expr: "sum by (model, outcome) (rate(reckon_confusion_total[1h]))"},
		{Record: RecordFPRBaseline, Expr: fmt.Sprintf(`(
    sum by (model) (sum_over_time(%[1]s{outcome="fp"}[%[2]s]))
  or
    0 * sum by (model) (sum_over_time(%[1]s{outcome="tn"}[%[2]s]))
)
/
(sum by (model) (sum_over_time(%[1]s{outcome=~"fp|tn"}[%[2]s])) > 0)`, RecordConfusionRate1h, base)},
		g.alert("ReckonFalsePositiveRateAboveBaseline",
			fmt.Sprintf("(%s > on(model) group_left() (%s + %s))\nand on(model, window)\n%s", fpr, RecordFPRBaseline, num(o.FPRMargin), enough),
			"", SeverityTicket,
			"Model {{ $labels.model }}: false-positive rate above its baseline",
			fmt.Sprintf("The false-positive rate of model {{ $labels.model }} over the last closed {{ $labels.window }} window "+
				"is {{ $value | humanizePercentage }}, more than %s above its rate over the last %s.", pct(o.FPRMargin), base),
			nil),

		g.alert("ReckonFalsePositiveRateEstimateGap",
			fmt.Sprintf("(abs(%s - reckon_estimated_false_positive_rate{window=%s,segment=\"\"}) > %s)\nand on(model, window)\n%s",
				fpr, w, num(o.EstimateGap), enough),
			"", SeverityWarning,
			"Model {{ $labels.model }}: realised and estimated false-positive rate disagree",
			fmt.Sprintf("Over the last closed {{ $labels.window }} window, the false-positive rate of model {{ $labels.model }} "+
				"measured from labels and the one estimated from its calibrated scores differ by {{ $value | humanizePercentage }} "+
				"(more than %s): the model is less calibrated than on its reference data, a sign of concept drift.", pct(o.EstimateGap)),
			nil),

		g.alert("ReckonSegmentFalsePositiveRateHigh",
			fmt.Sprintf("(reckon_false_positive_rate{window=%s,segment!=\"\"} > on(model, window) group_left() (%s + %s))\nand on(model, window, segment)\n%s",
				w, fpr, num(o.SegmentFPRMargin), segEnough),
			"", SeverityTicket,
			"Model {{ $labels.model }}: false-positive rate of {{ $labels.segment }} above the model's",
			fmt.Sprintf("The false-positive rate of model {{ $labels.model }} for {{ $labels.segment }} over the last closed {{ $labels.window }} window "+
				"is {{ $value | humanizePercentage }}, more than %s above the model's as a whole: the model treats that segment worse "+
				"(reckon_segment_rate_ratio has the ratio).", pct(o.SegmentFPRMargin)),
			nil),

		{Record: RecordJoinedRate1h, Expr: `sum by (model) (rate(reckon_outcomes_total{result="joined"}[1h]))`},
		{Record: RecordPredictionsOKRate1h, Expr: `sum by (model) (rate(reckon_predictions_total{status="ok"}[1h]))`},
		{Record: RecordCoverage1h, Expr: fmt.Sprintf("(%[1]s or 0 * %[2]s)\n/\n(%[2]s > 0)", RecordJoinedRate1h, RecordPredictionsOKRate1h)},
		{Record: RecordCoverageBaseline, Expr: fmt.Sprintf(`(
    sum_over_time(%[1]s[%[3]s])
  or
    0 * sum_over_time(%[2]s[%[3]s])
)
/
(sum_over_time(%[2]s[%[3]s]) > 0)`, RecordJoinedRate1h, RecordPredictionsOKRate1h, base)},
		g.alert("ReckonLabelCoverageDropping",
			fmt.Sprintf("%s < %s * %s", RecordCoverage1h, num(1-o.CoverageDrop), RecordCoverageBaseline),
			"1h", SeverityTicket,
			"Model {{ $labels.model }}: fewer predictions get a label",
			fmt.Sprintf("Over the last hour, {{ $value | humanizePercentage }} as many outcomes joined as ok predictions arrived for model "+
				"{{ $labels.model }}, less than %s of its rate over the last %s: whoever publishes outcomes may be late or down, "+
				"and the performance metrics rest on fewer labels.", pct(1-o.CoverageDrop), base),
			nil),

		g.alert("ReckonConceptDrift", "reckon_concept_drift_active == 1", "5m", SeverityTicket,
			"Model {{ $labels.model }}: concept drift",
			"Detector {{ $labels.detector }} says the relation between the inputs and the labels of model {{ $labels.model }} changed: "+
				"its error rate on labelled predictions moved. Consider retraining.",
			nil),
	}
	return RuleGroup{Name: "reckon-performance", Rules: rules}
}

// pct formats a ratio as a percentage for annotations: 0.05 → "5%".
func pct(v float64) string { return strings.TrimSuffix(num(v*100), ".0") + "%" }
