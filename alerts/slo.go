package alerts

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/exporter"
)

// burnAlert is one long/short window pair of the multi-window,
// multi-burn-rate alerts (Google SRE Workbook, chapter 5, table 5-8): it
// fires when the error ratio over both windows exceeds Factor × the error
// budget. The factors are the Workbook's for a 30-day SLO window: 14.4
// spends 2% of the budget in 1h, 6 spends 5% in 6h, 3 spends 10% in 1d
// and 1 spends 10% in 3d.
type burnAlert struct {
	Long, Short string
	Factor      float64
	For         string
	Severity    string
}

func burnAlerts() []burnAlert {
	return []burnAlert{
		{Long: "1h", Short: "5m", Factor: 14.4, For: "2m", Severity: SeverityPage},
		{Long: "6h", Short: "30m", Factor: 6, For: "15m", Severity: SeverityPage},
		{Long: "1d", Short: "2h", Factor: 3, For: "1h", Severity: SeverityTicket},
		{Long: "3d", Short: "6h", Factor: 1, For: "3h", Severity: SeverityTicket},
	}
}

// latencyBucket returns the `le` matcher of the classic bucket whose upper
// bound is the model's SLO latency, or a *LatencyBucketError.
func latencyBucket(m *config.Model) (string, error) {
	l := m.SLO.Latency.Seconds()
	buckets := exporter.PredictionLatency.Metric().Buckets
	i, found := slices.BinarySearch(buckets, l)
	if !found {
		// Tolerate float noise in a boundary given as a duration.
		for j, b := range buckets {
			if math.Abs(b-l) <= 1e-9*b {
				i, found = j, true
				break
			}
		}
	}
	if !found {
		e := &LatencyBucketError{Model: m.Name, Latency: m.SLO.Latency}
		if i > 0 {
			e.Lower = buckets[i-1]
		}
		if i < len(buckets) {
			e.Upper = buckets[i]
		}
		return "", e
	}
	b := buckets[i]
	s := strconv.FormatFloat(b, 'f', -1, 64)
	if b == math.Trunc(b) {
		// client_golang writes le="1" in the text format, Prometheus writes
		// le="1.0" for protobuf scrapes and normalises to it from 3.0 on.
		return fmt.Sprintf(`le=~"%s|%s.0"`, s, s), nil
	}
	return fmt.Sprintf(`le="%s"`, s), nil
}

// slo returns the group reckon-slo-MODEL: the model's error and latency
// SLOs, in the style of Sloth and Pyrra.
//
// Two SLOs per model, both with the model's objective (config.SLO):
//
//   - errors: bad = predictions with status "error", of all predictions
//     (reckon_predictions_total{status});
//   - latency: bad = predictions served slower than slo.latency, of all
//     predictions that report a latency
//     (reckon_prediction_latency_seconds; slo.latency must be a boundary of
//     its classic buckets in the exporter's catalogue). Where Prometheus keeps
//     only the native histogram (2.40–2.44 with native histograms on), the
//     same ratio comes from histogram_fraction.
//
// The histogram has no status label, so the two cannot be combined into one
// exact "ok and fast" SLI; two SLOs also tell an on-call which one burns.
//
// Error ratios are recorded over the windows of SLOWindows (absent while
// there is no traffic, rather than NaN); the SLO window's ratio is the
// average of the 5m one over config.SLO.Window; budget remaining is
// 1 - that ratio / (1 - objective). ReckonErrorBudgetBurn fires per
// burnAlerts.
func (g *generator) slo(m *config.Model) (RuleGroup, error) {
	le, err := latencyBucket(m)
	if err != nil {
		return RuleGroup{}, err
	}
	model := fmt.Sprintf("model=%s", quote(m.Name))
	budget := num(1 - m.SLO.Objective)
	period := promDuration(m.SLO.Window)
	var rules []Rule
	for _, slo := range []string{SLOErrors, SLOLatency} {
		labels := map[string]string{"slo": slo}
		for _, w := range SLOWindows() {
			var expr string
			switch slo {
			case SLOErrors:
				expr = fmt.Sprintf(`(
    sum by (model) (rate(reckon_predictions_total{%[1]s,status="error"}[%[2]s]))
  or
    0 * sum by (model) (rate(reckon_predictions_total{%[1]s}[%[2]s]))
)
/
(sum by (model) (rate(reckon_predictions_total{%[1]s}[%[2]s])) > 0)`, model, w)
			case SLOLatency:
				expr = fmt.Sprintf(`1 - (
    (
      sum by (model) (rate(reckon_prediction_latency_seconds_bucket{%[1]s,%[3]s}[%[2]s]))
      /
      (sum by (model) (rate(reckon_prediction_latency_seconds_count{%[1]s}[%[2]s])) > 0)
    )
  or
    (
      histogram_fraction(0, %[4]s, sum by (model) (rate(reckon_prediction_latency_seconds{%[1]s}[%[2]s])))
      and on(model)
      (histogram_count(sum by (model) (rate(reckon_prediction_latency_seconds{%[1]s}[%[2]s]))) > 0)
    )
)`, model, w, le, num(m.SLO.Latency.Seconds()))
			}
			rules = append(rules, Rule{Record: SLIErrorRatio(w), Expr: expr, Labels: labels})
		}
		sel := fmt.Sprintf("{%s,slo=%s}", model, quote(slo))
		rules = append(rules,
			Rule{Record: RecordSLIErrorRatioPeriod, Expr: fmt.Sprintf("avg_over_time(%s%s[%s])", SLIErrorRatio("5m"), sel, period), Labels: labels},
			Rule{Record: RecordSLOObjective, Expr: fmt.Sprintf("vector(%s)", num(m.SLO.Objective)), Labels: withModel(labels, m.Name)},
			Rule{Record: RecordSLOErrorBudget, Expr: fmt.Sprintf("vector(%s)", budget), Labels: withModel(labels, m.Name)},
			Rule{Record: RecordSLOCurrentBurnRate, Expr: fmt.Sprintf("%s%s\n/ on(model, slo)\n%s%s", SLIErrorRatio("5m"), sel, RecordSLOErrorBudget, sel), Labels: labels},
			Rule{Record: RecordSLOPeriodBurnRate, Expr: fmt.Sprintf("%s%s\n/ on(model, slo)\n%s%s", RecordSLIErrorRatioPeriod, sel, RecordSLOErrorBudget, sel), Labels: labels},
			Rule{Record: RecordSLOBudgetRemaining, Expr: fmt.Sprintf("1 - %s%s", RecordSLOPeriodBurnRate, sel), Labels: labels},
		)
		what, name := "of predictions failed", "error-rate"
		objective := fmt.Sprintf("%s of predictions without error", pct(m.SLO.Objective))
		if slo == SLOLatency {
			what, name = "of predictions took longer than "+m.SLO.Latency.String(), "latency"
			objective = fmt.Sprintf("%s of predictions within %s", pct(m.SLO.Objective), m.SLO.Latency)
		}
		for _, b := range burnAlerts() {
			expr := fmt.Sprintf(`(
    %[1]s%[3]s > (%[4]s * %[5]s)
  and
    %[2]s%[3]s > (%[4]s * %[5]s)
)`, SLIErrorRatio(b.Long), SLIErrorRatio(b.Short), sel, num(b.Factor), budget)
			gone := promDuration((time.Duration(float64(m.SLO.Window)/b.Factor) + time.Minute/2).Truncate(time.Minute))
			rules = append(rules, g.alert("ReckonErrorBudgetBurn", expr, b.For, b.Severity,
				fmt.Sprintf("Model {{ $labels.model }} burns its %s error budget %s× too fast", name, num(b.Factor)),
				fmt.Sprintf("{{ $value | humanizePercentage }} %s over the last %s (and over the last %s): model {{ $labels.model }} "+
					"spends the error budget of its SLO (%s over %s) at least %s× as fast as it may, and at this pace has none left in %s.",
					what, b.Long, b.Short, objective, period, num(b.Factor), gone),
				map[string]string{"slo": slo, "long_window": b.Long, "short_window": b.Short}))
		}
	}
	return RuleGroup{Name: "reckon-slo-" + m.Name, Rules: rules}, nil
}

// withModel returns labels plus model=name, for rules whose expression has
// no labels of its own (vector(…)).
func withModel(labels map[string]string, name string) map[string]string {
	l := map[string]string{"model": name}
	maps.Copy(l, labels)
	return l
}
