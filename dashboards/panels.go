package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Grid sizes: Grafana's grid is 24 columns wide.
const (
	full    = 24
	half    = 12
	third   = 8
	quarter = 6
	height  = 8
)

// timeSeries is a time series panel.
func timeSeries(title, description, unit string, span uint32, qs ...q) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(ds()).
		Targets(targets(qs, "")).
		Unit(unit).
		Span(span).
		Height(height).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true))
}

// ratio is a time series panel of ratios, 0 to 1.
func ratio(title, description string, span uint32, qs ...q) *timeseries.PanelBuilder {
	return timeSeries(title, description, "percentunit", span, qs...).Min(0).Max(1)
}

// withLine draws a dashed threshold line at v (red above).
func withLine(p *timeseries.PanelBuilder, v float64) *timeseries.PanelBuilder {
	return p.
		Thresholds(thresholds("green", step(v, "red"))).
		ThresholdsStyle(dashedThresholds())
}

// dashedThresholds draws thresholds as dashed lines.
func dashedThresholds() *common.GraphThresholdsStyleConfigBuilder {
	return common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)
}

// logScale is a base-10 logarithmic axis.
func logScale() *common.ScaleDistributionConfigBuilder {
	return common.NewScaleDistributionConfigBuilder().Type(common.ScaleDistributionLog).Log(10)
}

// statPanel is a single-value panel showing the last value.
func statPanel(title, description, unit string, span uint32, th *dashboard.ThresholdsConfigBuilder, qs ...q) *stat.PanelBuilder {
	p := stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(ds()).
		Targets(targets(qs, "")).
		Unit(unit).
		Span(span).
		Height(4).
		ColorMode(common.BigValueColorModeValue).
		GraphMode(common.BigValueGraphModeArea).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
	if th != nil {
		p = p.Thresholds(th)
	}
	return p
}

// heatmapOf is a heatmap of pre-bucketed data: classic histogram buckets
// (format heatmap, `le` labels) or a native histogram, or one series per
// row (format time series, the legend naming the row).
func heatmapOf(title, description string, span uint32, format prometheus.PromQueryFormat, yUnit string, qs ...q) *heatmap.PanelBuilder {
	layout := common.HeatmapCellLayoutAuto
	if format == prometheus.PromQueryFormatTimeSeries {
		layout = common.HeatmapCellLayoutUnknown // rows named by the legend, not bucket bounds
	}
	return heatmap.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(ds()).
		Targets(targets(qs, format)).
		Span(span).
		Height(height).
		Calculate(false).
		CellGap(1).
		Color(heatmap.NewHeatmapColorOptionsBuilder().
			Mode(heatmap.HeatmapColorModeScheme).
			Scheme("Oranges").
			Fill("dark-orange").
			Scale(heatmap.HeatmapColorScaleExponential).
			Exponent(0.5).
			Steps(64)).
		RowsFrame(heatmap.NewRowsHeatmapOptionsBuilder().Layout(layout)).
		YAxis(heatmap.NewYAxisConfigBuilder().Unit(yUnit)).
		Tooltip(heatmap.NewHeatmapTooltipBuilder().Mode(common.TooltipDisplayModeSingle).YHistogram(true).ShowColorScale(true)).
		ShowValue(common.VisibilityModeNever)
}

// stateTimeline shows 0/1 series as coloured bands, with the given texts.
func stateTimeline(title, description, zero, one string, span uint32, qs ...q) *statetimeline.PanelBuilder {
	return statetimeline.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(ds()).
		Targets(targets(qs, "")).
		Span(span).
		Height(height).
		ShowValue(common.VisibilityModeNever).
		MergeValues(true).
		Mappings([]dashboard.ValueMapping{{
			ValueMap: &dashboard.ValueMap{
				Type: dashboard.MappingTypeValueToText,
				Options: map[string]dashboard.ValueMappingResult{
					"0": {Text: cog.ToPtr(zero), Color: cog.ToPtr("green"), Index: cog.ToPtr(int32(0))},
					"1": {Text: cog.ToPtr(one), Color: cog.ToPtr("red"), Index: cog.ToPtr(int32(1))},
				},
			},
		}}).
		Thresholds(thresholds("green", step(1, "red")))
}

// row is a row title.
func row(title string) *dashboard.RowBuilder { return dashboard.NewRowBuilder(title) }
