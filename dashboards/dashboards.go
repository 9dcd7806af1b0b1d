// Package dashboards generates reckon's Grafana dashboards from the
// configuration (`reckon dashboards`), with the Grafana foundation SDK's Go
// builders:
//
//   - reckon-overview.json: prediction rate, error ratio, p50/p95/p99
//     latency, the score distribution as a heatmap, outcomes;
//   - reckon-drift.json: per-feature drift over time as a heatmap, drift
//     flags, each statistic with its learned thresholds, multivariate
//     drift with its band, feature quantiles, dataset drift share,
//     prediction drift, p-values, missing values, distinct values, schema
//     violations;
//   - reckon-performance.json: FPR, TPR, precision, accuracy, ROC AUC,
//     Brier score and ECE per window (and the reference's ECE, raw and
//     calibrated), estimated vs realised FPR, ROC AUC and F1 each in a band
//     of ±3 standard errors, confusion counts, label delay and coverage,
//     concept drift, and business cost where the configuration gives costs;
//   - reckon-slo.json: SLO objective, compliance, error budget remaining
//     and its burn-down, burn rates (reads the recording rules of package
//     alerts);
//   - reckon-pipeline.json: throughput, consumer lag, dead letters, late
//     events, join state size, windows closed, readiness and restore time,
//     and series capped (model versions folded into _other, updates
//     dropped by series_limit).
//
// Every dashboard has the template variables datasource (Prometheus) and
// model (label_values(reckon_predictions_total, model)); the drift
// dashboard has feature, and the per-window dashboards window (the
// configured window lengths).
//
// Histogram panels read the classic _bucket series and fall back to the
// native histogram, so they work on a Prometheus that keeps either (2.40 to
// 2.44 with native histograms on keeps only the native one).
package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"

	"github.com/reckonhq/reckon/config"
)

// File names of the dashboards.
const (
	OverviewFile    = "reckon-overview.json"
	DriftFile       = "reckon-drift.json"
	PerformanceFile = "reckon-performance.json"
	SLOFile         = "reckon-slo.json"
	PipelineFile    = "reckon-pipeline.json"
)

// Tag is the Grafana tag of every reckon dashboard; dashboard links use it.
const Tag = "reckon"

// BuildError is a dashboard the SDK refused to build.
type BuildError struct {
	File string
	Err  error
}

func (e *BuildError) Error() string { return "dashboards: " + e.File + ": " + e.Err.Error() }
func (e *BuildError) Unwrap() error { return e.Err }

// Dashboards returns reckon's Grafana dashboards for cfg, by file name, as
// indented JSON ready for Grafana's file provisioning.
func Dashboards(cfg *config.Config) (map[string][]byte, error) {
	if len(cfg.Windows) == 0 {
		return nil, fmt.Errorf("dashboards: configuration has no windows")
	}
	out := make(map[string][]byte, 5)
	for _, d := range []struct {
		file  string
		build func(*config.Config) *dashboard.DashboardBuilder
	}{
		{OverviewFile, overview},
		{DriftFile, drift},
		{PerformanceFile, performance},
		{SLOFile, slo},
		{PipelineFile, pipeline},
	} {
		dash, err := d.build(cfg).Build()
		if err != nil {
			return nil, &BuildError{File: d.file, Err: err}
		}
		number(&dash)
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(dash); err != nil {
			return nil, &BuildError{File: d.file, Err: err}
		}
		out[d.file] = b.Bytes()
	}
	return out, nil
}

// number gives every panel and row a unique id, in layout order, as
// Grafana expects.
func number(d *dashboard.Dashboard) {
	id := uint32(0)
	next := func() *uint32 { id++; return cog.ToPtr(id) }
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			p.Panel.Id = next()
		case p.RowPanel != nil:
			p.RowPanel.Id = *next()
			for i := range p.RowPanel.Panels {
				p.RowPanel.Panels[i].Id = next()
			}
		}
	}
}

// Selectors used by the queries: Grafana substitutes the variables.
const (
	selModel  = `model=~"$model"`
	selWindow = `window="$window"`
)

// ds is the data source of every panel and query: the datasource variable.
func ds() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}
}

// newDashboard returns a dashboard builder with reckon's common settings,
// the datasource and model variables, and links to the other dashboards.
func newDashboard(uid, title, description string, multiModel bool) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{Tag}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Refresh("30s").
		Time("now-6h", "now").
		Timezone(common.TimeZoneBrowser).
		Link(dashboard.NewDashboardLinkBuilder("reckon").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{Tag}).
			AsDropdown(true).
			IncludeVars(true).
			KeepTime(true)).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Data source").
			Type("prometheus")).
		WithVariable(queryVariable("model", "Model", "label_values(reckon_predictions_total, model)", multiModel))
}

// queryVariable is a Prometheus query variable.
func queryVariable(name, label, query string, multi bool) *dashboard.QueryVariableBuilder {
	v := dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Definition(query).
		Datasource(ds()).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc)
	if multi {
		v = v.Multi(true).IncludeAll(true)
	}
	return v
}

// customVariable is a variable with fixed values, the first the default.
func customVariable(name, label string, values []string) *dashboard.CustomVariableBuilder {
	opts := make([]dashboard.VariableOption, len(values))
	for i, v := range values {
		opts[i] = dashboard.VariableOption{
			Selected: cog.ToPtr(i == 0),
			Text:     dashboard.StringOrArrayOfString{String: cog.ToPtr(v)},
			Value:    dashboard.StringOrArrayOfString{String: cog.ToPtr(v)},
		}
	}
	return dashboard.NewCustomVariableBuilder(name).
		Label(label).
		Values(dashboard.StringOrMap{String: cog.ToPtr(strings.Join(values, ","))}).
		Options(opts).
		Current(opts[0])
}

// windowVariable is the window variable: the configured window lengths.
func windowVariable(cfg *config.Config) *dashboard.CustomVariableBuilder {
	ws := make([]string, len(cfg.Windows))
	for i, w := range cfg.Windows {
		ws[i] = w.Text
	}
	return customVariable("window", "Window", ws)
}

// longestWindow returns the longest configured window.
func longestWindow(cfg *config.Config) string { return cfg.Windows[len(cfg.Windows)-1].Text }

// q is a range query with a legend.
type q struct {
	expr, legend string
}

// targets turns queries into the SDK's dataqueries with ref ids A, B, ….
func targets(qs []q, format prometheus.PromQueryFormat) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(qs))
	for i, x := range qs {
		b := prometheus.NewDataqueryBuilder().
			Datasource(ds()).
			Expr(x.expr).
			LegendFormat(x.legend).
			RefId(string(rune('A' + i))).
			Range()
		if format != "" {
			b = b.Format(format)
		}
		out[i] = b
	}
	return out
}

// thresholds returns absolute thresholds: base color, then each step.
func thresholds(base string, steps ...dashboard.Threshold) *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().
		Mode(dashboard.ThresholdsModeAbsolute).
		Steps(append([]dashboard.Threshold{{Color: base}}, steps...))
}

// step is a threshold step at v.
func step(v float64, color string) dashboard.Threshold {
	return dashboard.Threshold{Value: cog.ToPtr(v), Color: color}
}

// histogramQuantile returns the q-quantile of a histogram by the given
// labels, from its classic buckets or else its native buckets.
func histogramQuantile(qt float64, metric, sel, by string) string {
	byLe := "le"
	if by != "" {
		byLe = by + ", le"
	}
	native := ""
	if by != "" {
		native = " by (" + by + ")"
	}
	return fmt.Sprintf(`histogram_quantile(%[1]s, sum by (%[2]s) (rate(%[3]s_bucket{%[4]s}[$__rate_interval])))
or
histogram_quantile(%[1]s, sum%[5]s (rate(%[3]s{%[4]s}[$__rate_interval])))`, strconv.FormatFloat(qt, 'f', -1, 64), byLe, metric, sel, native)
}

// orZero returns expr, or else 0 for every series of fallback: a counter
// that was never incremented is absent, and its rate is 0, not nothing.
func orZero(expr, fallback string) string {
	return fmt.Sprintf("(%s)\nor\n0 * (%s)", expr, fallback)
}

// uniqueFloat returns the value every model has, if they all have the same.
func uniqueFloat(cfg *config.Config, f func(*config.Model) float64) (float64, bool) {
	var vs []float64
	for i := range cfg.Models {
		vs = append(vs, f(&cfg.Models[i]))
	}
	slices.Sort(vs)
	vs = slices.Compact(vs)
	if len(vs) != 1 {
		return 0, false
	}
	return vs[0], true
}
