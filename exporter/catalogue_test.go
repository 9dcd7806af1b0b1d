package exporter

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/reckonhq/reckon/results"
)

// TestCatalogueWellFormed checks every entry: a unique, valid reckon_
// name, help, a kind, valid unique labels, buckets exactly for histograms,
// a window reader exactly for ScopeWindow (a gauge with model and window
// labels), the capped label among the labels.
func TestCatalogueWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Catalogue() {
		if seen[m.Name] {
			t.Errorf("%s is declared twice", m.Name)
		}
		seen[m.Name] = true
		if !strings.HasPrefix(m.Name, "reckon_") || !model.LegacyValidation.IsValidMetricName(m.Name) {
			t.Errorf("%q is not a valid reckon_ metric name", m.Name)
		}
		if m.Help == "" {
			t.Errorf("%s has no help", m.Name)
		}
		if m.Kind.String() != "counter" && m.Kind.String() != "gauge" && m.Kind.String() != "histogram" {
			t.Errorf("%s has kind %v", m.Name, m.Kind)
		}
		if (m.Kind == Counter) != strings.HasSuffix(m.Name, "_total") {
			t.Errorf("%s: a %v, so its name should %s end in _total", m.Name, m.Kind, map[bool]string{true: "", false: "not"}[m.Kind == Counter])
		}
		for i, l := range m.Labels {
			if !model.LegacyValidation.IsValidLabelName(l) || slices.Contains(m.Labels[:i], l) || l == "le" || l == "job" || l == "instance" {
				t.Errorf("%s: bad or repeated label %q", m.Name, l)
			}
		}
		if (m.Kind == Histogram) != (len(m.Buckets) > 0) || !slices.IsSorted(m.Buckets) {
			t.Errorf("%s: a %v with buckets %v", m.Name, m.Kind, m.Buckets)
		}
		if (m.Scope == ScopeWindow) != (m.window != nil) {
			t.Errorf("%s: scope %v, window reader set %v", m.Name, m.Scope, m.window != nil)
		}
		if m.Scope == ScopeWindow && (m.Kind != Gauge || !slices.Contains(m.Labels, "model") || !slices.Contains(m.Labels, "window")) {
			t.Errorf("%s: a per-window metric must be a gauge with model and window labels", m.Name)
		}
		if m.Scope == ScopeAggregator && (m.Kind != Gauge || !slices.Contains(m.Labels, "model")) {
			t.Errorf("%s: an aggregator's metric must be a gauge with a model label", m.Name)
		}
		if m.Capped != "" && !slices.Contains(m.Labels, m.Capped) {
			t.Errorf("%s: capped label %q is not one of its labels", m.Name, m.Capped)
		}
	}
	for id := range numIDs {
		if id.Metric().Scope == ScopeWindow {
			t.Errorf("%s has an ID but is per-window: the processor does not update it", id)
		}
	}
}

// TestCatalogueIsExported compares the catalogue with what New registers:
// every family it describes is registered with exactly those labels, and
// nothing else is. Desc has no accessors; its String form is stable
// within client_golang.
func TestCatalogueIsExported(t *testing.T) {
	m := New(prometheus.NewRegistry(), "test", 0)
	ch := make(chan *prometheus.Desc, 256)
	go func() { m.Describe(ch); close(ch) }()
	re := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	described := map[string][]string{}
	for d := range ch {
		sm := re.FindStringSubmatch(d.String())
		if sm == nil {
			t.Fatalf("cannot read descriptor %s", d)
		}
		var labels []string
		if sm[2] != "" {
			labels = strings.Split(sm[2], ",")
		}
		described[sm[1]] = labels
	}
	for _, c := range Catalogue() {
		labels, ok := described[c.Name]
		if !ok {
			t.Errorf("%s is in the catalogue but not registered", c.Name)
			continue
		}
		if !slices.Equal(labels, c.Labels) {
			t.Errorf("%s: registered with labels %v, the catalogue says %v", c.Name, labels, c.Labels)
		}
		delete(described, c.Name)
	}
	for name := range described {
		t.Errorf("%s is registered but not in the catalogue", name)
	}
}

func ptr[T any](v T) *T { return &v }

// fullRecord is a window of model "fraud" with every field the per-window
// metrics read.
func fullRecord() *results.Record {
	return &results.Record{
		Model: "fraud", Window: "5m",
		Start: time.Date(2026, 11, 26, 21, 30, 0, 0, time.UTC), End: time.Date(2026, 11, 26, 21, 35, 0, 0, time.UTC),
		Predictions: 100, Errors: 2, Outcomes: 40,
		Confusion: results.Confusion{TP: 10, FP: 5, TN: 20, FN: 5},
		Rates: results.Rates{
			FPR: ptr(0.2), TPR: ptr(2.0 / 3), Precision: ptr(2.0 / 3), Accuracy: ptr(0.75),
			AUC: ptr(0.9), Brier: ptr(0.1), ECE: ptr(0.05), F1: ptr(2.0 / 3),
		},
		Estimated: results.Rates{FPR: ptr(0.25), TPR: ptr(0.7), Precision: ptr(0.6), Accuracy: ptr(0.72), AUC: ptr(0.875), F1: ptr(0.625)},
		StandardError: &results.StandardErrors{
			Rates: results.Rates{FPR: ptr(0.08), TPR: ptr(0.11), Precision: ptr(0.12), Accuracy: ptr(0.068),
				AUC: ptr(0.05), F1: ptr(0.09)},
			Estimated: results.Rates{FPR: ptr(0.085), TPR: ptr(0.105), Precision: ptr(0.115), Accuracy: ptr(0.07),
				AUC: ptr(0.055), F1: ptr(0.095)},
		},
		Features: map[string]results.Feature{
			"amount": {
				Drifted: ptr(true), Test: "ks",
				Drift:  map[string]float64{"ks": 0.3, "psi": 0.4},
				PValue: map[string]float64{"ks": 1e-6},
				Count:  90, Missing: 6, NonFinite: 4,
				Quantiles:      map[string]float64{"0.05": 1, "0.5": 10, "0.95": 90, "0.99": 99},
				DriftThreshold: map[string]results.Bounds{"ks": {Lower: 0.01, Upper: 0.05}},
			},
			"country": {Drifted: ptr(false), Test: "chi2", Drift: map[string]float64{"chi2": 3}, PValue: map[string]float64{"chi2": 0.5},
				Count: 98, Missing: 0, Distinct: ptr(uint64(7))},
		},
		PredictionDrift:          map[string]float64{"ks": 0.1},
		DatasetDriftShare:        ptr(0.5),
		DatasetDrift:             ptr(true),
		PredictionDriftThreshold: map[string]results.Bounds{"ks": {Lower: 0, Upper: 0.08}},
		Multivariate:             &results.Multivariate{Error: 1.2, Threshold: &results.Bounds{Lower: 0.3, Upper: 0.4}, Drifted: ptr(true)},
	}
}

// TestApplyWindow checks every per-window series against the record it
// comes from, that a later record replaces it (values it leaves out are
// gone), that another window length is left alone, and that ForgetModel
// deletes the model's per-window and aggregator series only.
func TestApplyWindow(t *testing.T) {
	m := New(prometheus.NewRegistry(), "test", 0)
	m.ApplyWindow(fullRecord())
	m.ConceptDriftActive.WithLabelValues("fraud", "adwin").Set(1)
	m.ConceptDriftActive.WithLabelValues("spam", "adwin").Set(0)
	want := map[string]float64{
		`reckon_window_end_timestamp_seconds{model="fraud",window="5m"}`:                                       1795728900, // 2026-11-26T21:35:00Z
		`reckon_windows_closed_total{model="fraud",window="5m"}`:                                               1,
		`reckon_window_confusion{model="fraud",outcome="tp",window="5m"}`:                                      10,
		`reckon_window_confusion{model="fraud",outcome="fp",window="5m"}`:                                      5,
		`reckon_window_confusion{model="fraud",outcome="tn",window="5m"}`:                                      20,
		`reckon_window_confusion{model="fraud",outcome="fn",window="5m"}`:                                      5,
		`reckon_false_positive_rate{model="fraud",window="5m"}`:                                                0.2,
		`reckon_true_positive_rate{model="fraud",window="5m"}`:                                                 2.0 / 3,
		`reckon_precision{model="fraud",window="5m"}`:                                                          2.0 / 3,
		`reckon_accuracy{model="fraud",window="5m"}`:                                                           0.75,
		`reckon_roc_auc{model="fraud",window="5m"}`:                                                            0.9,
		`reckon_brier_score{model="fraud",window="5m"}`:                                                        0.1,
		`reckon_expected_calibration_error{model="fraud",window="5m"}`:                                         0.05,
		`reckon_f1{average="binary",model="fraud",window="5m"}`:                                                2.0 / 3,
		`reckon_estimated_false_positive_rate{model="fraud",window="5m"}`:                                      0.25,
		`reckon_estimation_gap{metric="fpr",model="fraud",window="5m"}`:                                        0.25 - 0.2,
		`reckon_feature_drift{feature="amount",method="ks",model="fraud",window="5m"}`:                         0.3,
		`reckon_feature_drift{feature="amount",method="psi",model="fraud",window="5m"}`:                        0.4,
		`reckon_feature_drift{feature="country",method="chi2",model="fraud",window="5m"}`:                      3,
		`reckon_feature_drift_pvalue{feature="amount",model="fraud",test="ks",window="5m"}`:                    1e-6,
		`reckon_feature_drift_pvalue{feature="country",model="fraud",test="chi2",window="5m"}`:                 0.5,
		`reckon_feature_drifted{feature="amount",model="fraud",window="5m"}`:                                   1,
		`reckon_feature_drifted{feature="country",model="fraud",window="5m"}`:                                  0,
		`reckon_dataset_drift_share{model="fraud",window="5m"}`:                                                0.5,
		`reckon_prediction_drift{method="ks",model="fraud",window="5m"}`:                                       0.1,
		`reckon_feature_drift_threshold{bound="lower",feature="amount",method="ks",model="fraud",window="5m"}`: 0.01,
		`reckon_feature_drift_threshold{bound="upper",feature="amount",method="ks",model="fraud",window="5m"}`: 0.05,
		`reckon_prediction_drift_threshold{bound="lower",method="ks",model="fraud",window="5m"}`:               0,
		`reckon_prediction_drift_threshold{bound="upper",method="ks",model="fraud",window="5m"}`:               0.08,
		`reckon_multivariate_drift{model="fraud",window="5m"}`:                                                 1.2,
		`reckon_multivariate_drift_threshold{bound="lower",model="fraud",window="5m"}`:                         0.3,
		`reckon_multivariate_drift_threshold{bound="upper",model="fraud",window="5m"}`:                         0.4,
		`reckon_multivariate_drifted{model="fraud",window="5m"}`:                                               1,
		`reckon_feature_quantile{feature="amount",model="fraud",quantile="0.05",window="5m"}`:                  1,
		`reckon_feature_quantile{feature="amount",model="fraud",quantile="0.5",window="5m"}`:                   10,
		`reckon_feature_quantile{feature="amount",model="fraud",quantile="0.95",window="5m"}`:                  90,
		`reckon_feature_quantile{feature="amount",model="fraud",quantile="0.99",window="5m"}`:                  99,
		`reckon_feature_missing_ratio{feature="amount",model="fraud",window="5m"}`:                             6.0 / 100,
		`reckon_feature_missing_ratio{feature="country",model="fraud",window="5m"}`:                            0,
		`reckon_feature_distinct{feature="country",model="fraud",window="5m"}`:                                 7,
		`reckon_concept_drift_active{detector="adwin",model="fraud"}`:                                          1,
		`reckon_concept_drift_active{detector="adwin",model="spam"}`:                                           0,
	}
	maps.Copy(want, estimateSeries)
	got := windowSamples(t, m)
	compareSamples(t, "full record", got, want)

	// The next 5m window: no labels joined (every rate unmeasurable, the
	// gap too), no reference yet, amount only missing; and a 1h window.
	next := &results.Record{
		Model: "fraud", Window: "5m",
		Start: time.Date(2026, 11, 26, 21, 35, 0, 0, time.UTC), End: time.Date(2026, 11, 26, 21, 40, 0, 0, time.UTC),
		Estimated: results.Rates{FPR: ptr(0.3)},
		// Only the estimate's standard error: the others are gone.
		StandardError: &results.StandardErrors{Estimated: results.Rates{FPR: ptr(0.02)}},
		Features: map[string]results.Feature{
			"amount":  {Missing: 4},
			"country": {Distinct: ptr(uint64(0))},
		},
	}
	hour := fullRecord()
	hour.Window = "1h"
	m.ApplyWindow(next)
	m.ApplyWindow(hour)
	want = map[string]float64{
		`reckon_window_end_timestamp_seconds{model="fraud",window="5m"}`:           1795729200, // 21:40
		`reckon_windows_closed_total{model="fraud",window="5m"}`:                   2,
		`reckon_window_confusion{model="fraud",outcome="tp",window="5m"}`:          0,
		`reckon_window_confusion{model="fraud",outcome="fp",window="5m"}`:          0,
		`reckon_window_confusion{model="fraud",outcome="tn",window="5m"}`:          0,
		`reckon_window_confusion{model="fraud",outcome="fn",window="5m"}`:          0,
		`reckon_estimated_false_positive_rate{model="fraud",window="5m"}`:          0.3,
		`reckon_feature_missing_ratio{feature="amount",model="fraud",window="5m"}`: 1,
		`reckon_feature_distinct{feature="country",model="fraud",window="5m"}`:     0,
		`reckon_concept_drift_active{detector="adwin",model="fraud"}`:              1,
		`reckon_concept_drift_active{detector="adwin",model="spam"}`:               0,
	}
	want[`reckon_standard_error{metric="estimated_false_positive_rate",model="fraud",window="5m"}`] = 0.02
	got = windowSamples(t, m)
	hourly := 0
	for k := range got {
		if strings.Contains(k, `window="1h"`) {
			hourly++
			delete(got, k)
		}
	}
	if hourly != len(fullWindowSeries())+1 { // + windows_closed_total
		t.Errorf("1h window has %d series, want %d", hourly, len(fullWindowSeries())+1)
	}
	compareSamples(t, "next record", got, want)

	m.ForgetModel("fraud")
	compareSamples(t, "after ForgetModel", windowSamples(t, m), map[string]float64{
		`reckon_windows_closed_total{model="fraud",window="5m"}`:     2, // a process counter
		`reckon_windows_closed_total{model="fraud",window="1h"}`:     1,
		`reckon_concept_drift_active{detector="adwin",model="spam"}`: 0,
	})
}

// estimateSeries are the series of fullRecord's estimates beyond the FPR
// and of its standard errors.
var estimateSeries = map[string]float64{
	`reckon_estimated_true_positive_rate{model="fraud",window="5m"}`:                          0.7,
	`reckon_estimated_precision{model="fraud",window="5m"}`:                                   0.6,
	`reckon_estimated_accuracy{model="fraud",window="5m"}`:                                    0.72,
	`reckon_estimated_roc_auc{model="fraud",window="5m"}`:                                     0.875,
	`reckon_estimated_f1{model="fraud",window="5m"}`:                                          0.625,
	`reckon_standard_error{metric="false_positive_rate",model="fraud",window="5m"}`:           0.08,
	`reckon_standard_error{metric="true_positive_rate",model="fraud",window="5m"}`:            0.11,
	`reckon_standard_error{metric="precision",model="fraud",window="5m"}`:                     0.12,
	`reckon_standard_error{metric="accuracy",model="fraud",window="5m"}`:                      0.068,
	`reckon_standard_error{metric="roc_auc",model="fraud",window="5m"}`:                       0.05,
	`reckon_standard_error{metric="f1",model="fraud",window="5m"}`:                            0.09,
	`reckon_standard_error{metric="estimated_false_positive_rate",model="fraud",window="5m"}`: 0.085,
	`reckon_standard_error{metric="estimated_true_positive_rate",model="fraud",window="5m"}`:  0.105,
	`reckon_standard_error{metric="estimated_precision",model="fraud",window="5m"}`:           0.115,
	`reckon_standard_error{metric="estimated_accuracy",model="fraud",window="5m"}`:            0.07,
	`reckon_standard_error{metric="estimated_roc_auc",model="fraud",window="5m"}`:             0.055,
	`reckon_standard_error{metric="estimated_f1",model="fraud",window="5m"}`:                  0.095,
}

// fullWindowSeries is the per-window series of fullRecord.
func fullWindowSeries() []string {
	m := New(prometheus.NewRegistry(), "test", 0)
	m.ApplyWindow(fullRecord())
	mfs, _ := m.Registry.Gather()
	var out []string
	for _, mf := range mfs {
		for range mf.GetMetric() {
			if slices.ContainsFunc(perWindow, func(w Metric) bool { return w.Name == mf.GetName() }) {
				out = append(out, mf.GetName())
			}
		}
	}
	return out
}

// windowSamples is samples without the series New creates by itself.
func windowSamples(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	got := samples(t, m.Registry)
	for k := range got {
		if strings.HasPrefix(k, "reckon_build_info") || strings.HasSuffix(k, "{}") {
			delete(got, k)
		}
	}
	return got
}

func compareSamples(t *testing.T, what string, got, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w && !(abs(g-w) < 1e-12) {
			t.Errorf("%s: %s = %v (present %v), want %v", what, k, g, ok, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected series %s = %v", what, k, g)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
