package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/reckonhq/reckon/alerts"
	"github.com/reckonhq/reckon/config"
)

// cmdRules writes the Prometheus recording and alerting rules for the
// configured models: `reckon rules --config reckon.yaml [--out FILE|DIR]`.
func cmdRules(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rules", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := alerts.DefaultOptions()
	cfgPath := fs.String("config", "reckon.yaml", "configuration file")
	out := fs.String("out", "", "file to write, or an existing directory to write "+alerts.FileName+" into (default: standard output)")
	format := fs.String("format", "prometheus", "prometheus (a rule file) or prometheusrule (a Prometheus Operator PrometheusRule manifest)")
	name := fs.String("name", "reckon", "metadata.name of the PrometheusRule")
	namespace := fs.String("namespace", "", "metadata.namespace of the PrometheusRule (default: none)")
	var o alerts.Options
	fs.IntVar(&o.ConsecutiveWindows, "drift.consecutive-windows", d.ConsecutiveWindows, "alert when a feature drifted in this many consecutive windows")
	fs.StringVar(&o.PerformanceWindow, "performance.window", "", "window whose performance gauges alert (default: the longest configured)")
	fs.Float64Var(&o.FPRCeiling, "fpr.ceiling", d.FPRCeiling, "alert when a window's false-positive rate is above this")
	fs.Float64Var(&o.FPRMargin, "fpr.margin", d.FPRMargin, "alert when a window's false-positive rate is this much above its baseline")
	fs.Float64Var(&o.EstimateGap, "fpr.estimate-gap", d.EstimateGap, "alert when realised and estimated false-positive rates differ by more")
	fs.Float64Var(&o.SegmentFPRMargin, "fpr.segment-margin", d.SegmentFPRMargin, "alert when a segment's false-positive rate is this much above the model's")
	fs.Float64Var(&o.MinNegatives, "fpr.min-negatives", d.MinNegatives, "actual negatives a window needs before its false-positive rate alerts")
	fs.DurationVar(&o.BaselineRange, "baseline", d.BaselineRange, "trailing range of the false-positive rate and label coverage baselines")
	fs.Float64Var(&o.CoverageDrop, "coverage.drop", d.CoverageDrop, "alert when label coverage fell by this share of its baseline")
	fs.Float64Var(&o.LagRecords, "lag.records", d.LagRecords, "consumer lag (records) below which a growing lag does not alert")
	fs.StringVar(&o.Job, "job", d.Job, "Prometheus job name that scrapes reckon")
	fs.StringVar(&o.RunbookURL, "runbook-url", d.RunbookURL, "base URL of the runbook_url annotations")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Errorf("rules: unexpected arguments %q", fs.Args())}
	}
	if *format != "prometheus" && *format != "prometheusrule" {
		return &usageError{fmt.Errorf("rules: --format %q: want prometheus or prometheusrule", *format)}
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return &usageError{err}
	}
	files, err := alerts.RulesWithOptions(cfg, o)
	if err != nil {
		return &usageError{err}
	}
	f := files[alerts.FileName]
	var data []byte
	fileName := alerts.FileName
	if *format == "prometheusrule" {
		fileName = "prometheusrule.yaml"
		data, err = f.PrometheusRule(*name, *namespace, map[string]string{"app.kubernetes.io/name": "reckon"})
	} else {
		data, err = f.Marshal()
	}
	if err != nil {
		return err
	}
	return writeOutput(*out, fileName, data, stdout)
}

// writeOutput writes data to stdout when out is empty, into dir/fileName
// when out is an existing directory, and to the file out otherwise.
func writeOutput(out, fileName string, data []byte, stdout io.Writer) error {
	if out == "" {
		_, err := stdout.Write(data)
		return err
	}
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		out = filepath.Join(out, fileName)
	}
	return os.WriteFile(out, data, 0o644)
}
