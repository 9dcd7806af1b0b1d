package exporter

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/windows"
	"github.com/reckonhq/reckon/windows/perf"
)

func applyTestSetup(t *testing.T, yaml string) (*Metrics, *windows.Settings, *windows.Counts) {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	m := New(prometheus.NewRegistry(), "test", cfg.SeriesLimit, WithMaxModelVersions(cfg.MaxModelVersions))
	set, err := windows.NewSettings(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	set.SetTopology(1, make([]int32, len(cfg.Models)))
	m.InitModels(set)
	c := windows.NewCounts(set.Layout)
	return m, set, &c
}

func addVersion(c *windows.Counts, model int, version string, ok, errs uint64) {
	n := c.Models[model].Versions[version]
	if n == nil {
		n = new([2]uint64)
		c.Models[model].Versions[version] = n
	}
	n[0] += ok
	n[1] += errs
}

// TestApplyFoldsModelVersions checks that ApplyCounts exports a model's
// versions beyond max_model_versions as _other, and forgets them in the
// counts, so that a stream of junk versions cannot grow them without bound.
func TestApplyFoldsModelVersions(t *testing.T) {
	m, set, c := applyTestSetup(t, "max_model_versions: 2\nmodels: [{name: fraud}]\n")
	for batch, versions := range [][]string{{"v1", "v2"}, {"v1", "v3", "v4"}, {"v2", "v5"}} {
		for _, v := range versions {
			addVersion(c, 0, v, 2, 1)
		}
		m.ApplyCounts(set, c)
		if _, ok := c.Models[0].Versions["v1"]; !ok {
			t.Errorf("batch %d: admitted version v1 was forgotten", batch)
		}
		if n := len(c.Models[0].Versions); n != 2 {
			t.Errorf("batch %d: the counts keep %d versions, want the 2 admitted", batch, n)
		}
	}
	for _, tc := range []struct {
		version, status string
		want            float64
	}{
		{"v1", "ok", 4}, {"v1", "error", 2}, {"v2", "ok", 4}, {"v2", "error", 2},
		{Overflow, "ok", 6}, {Overflow, "error", 3},
	} {
		if got := testutil.ToFloat64(m.Predictions.WithLabelValues("fraud", tc.version, tc.status)); got != tc.want {
			t.Errorf("reckon_predictions_total{model_version=%q,status=%q} = %v, want %v", tc.version, tc.status, got, tc.want)
		}
	}
	if got := testutil.ToFloat64(m.LabelOverflow.WithLabelValues("fraud", "model_version")); got != 9 {
		t.Errorf("reckon_label_overflow_total = %v, want 9 (v3, v4, v5: 3 events each)", got)
	}
}

// TestJunkVersionsDoNotHideOthers is issue 13, item 6, with the default
// limits: 12,000 junk versions of one model filled the global series_limit
// (10,000), so that a new version of another model never appeared in
// reckon_predictions_total. Now the junk folds into its own model's
// _other, which shows and is counted.
func TestJunkVersionsDoNotHideOthers(t *testing.T) {
	m, set, c := applyTestSetup(t, "models: [{name: fraud}, {name: spam}]\n")
	for i := range 12_000 {
		addVersion(c, 1, fmt.Sprintf("junk-%05d", i), 1, 0)
	}
	m.ApplyCounts(set, c)
	addVersion(c, 0, "v2", 5, 0)
	m.ApplyCounts(set, c)
	if got := testutil.ToFloat64(m.Predictions.WithLabelValues("fraud", "v2", "ok")); got != 5 {
		t.Errorf(`reckon_predictions_total{model="fraud",model_version="v2"} = %v, want 5`, got)
	}
	want := float64(12_000 - config.DefaultMaxModelVersions)
	if got := testutil.ToFloat64(m.Predictions.WithLabelValues("spam", Overflow, "ok")); got != want {
		t.Errorf(`reckon_predictions_total{model="spam",model_version="_other"} = %v, want %v`, got, want)
	}
	if got := testutil.ToFloat64(m.LabelOverflow.WithLabelValues("spam", "model_version")); got != want {
		t.Errorf(`reckon_label_overflow_total{model="spam"} = %v, want %v`, got, want)
	}
	if got := testutil.ToFloat64(m.SeriesDropped); got != 0 {
		t.Errorf("reckon_series_dropped_total = %v, want 0", got)
	}
}

// TestMissingRatioCountsNonFinite checks the denominator of
// reckon_feature_missing_ratio: every event of the window, NaN and ±Inf
// values included, which the record carries as non_finite.
func TestMissingRatioCountsNonFinite(t *testing.T) {
	m, set, _ := applyTestSetup(t, "windows: [1m]\nmodels: [{name: fraud, features: [{name: x, type: numeric}]}]\n")
	part := set.Layout.NewPartial(0)
	part.Start, part.End = 0, 60_000
	x := part.Features[0].Num
	for _, v := range []float64{1, 2, 3, math.NaN(), math.Inf(1), math.Inf(-1)} {
		x.Add(v)
	}
	x.AddMissing()
	x.AddMissing()
	rec := set.Record(&windows.Result{Partial: part}, nil)
	f := rec.Features["x"]
	if f.Count != 3 || f.NonFinite != 3 || f.Missing != 2 || f.Total() != x.Total() {
		t.Errorf("feature x = %+v, want count 3, non_finite 3, missing 2 (total %d)", f, x.Total())
	}
	m.ApplyWindow(rec)
	if got := gaugeValue(t, m.Registry, "reckon_feature_missing_ratio"); got != 2.0/8 {
		t.Errorf("reckon_feature_missing_ratio = %v, want 2/8", got)
	}
}

// gaugeValue returns the value of the one series of gauge name in reg.
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("%s: no single series", name)
	return 0
}

// TestApplyCalibration checks the reference calibration gauges: the values
// of the report of a completed reference (through ApplyOutput), and that a
// report without labels or shifts leaves its series absent.
func TestApplyCalibration(t *testing.T) {
	m, set, _ := applyTestSetup(t, "models: [{name: fraud}, {name: spam}]\n")
	rep := windows.CalibrationReport{
		RawECE: 0.04, CalibratedECE: 0.006, ECEOK: true,
		Shift:   map[perf.Metric]float64{perf.MetricFPR: 0.015, perf.MetricTPR: 0.002, perf.MetricPrecision: 0.01, perf.MetricAccuracy: 0.003, perf.MetricF1: 0.004},
		ShiftOK: true, Matters: true,
	}
	m.ApplyOutput(set, &windows.Output{Late: make([]uint64, 2), Completed: []int{0, 1}, Calibrations: []windows.CalibrationReport{rep, {}}})
	want := map[string]float64{
		`reckon_reference_calibration_error{model="fraud",scores="raw"}`:                           0.04,
		`reckon_reference_calibration_error{model="fraud",scores="calibrated"}`:                    0.006,
		`reckon_reference_calibration_shift{metric="estimated_false_positive_rate",model="fraud"}`: 0.015,
		`reckon_reference_calibration_shift{metric="estimated_true_positive_rate",model="fraud"}`:  0.002,
		`reckon_reference_calibration_shift{metric="estimated_precision",model="fraud"}`:           0.01,
		`reckon_reference_calibration_shift{metric="estimated_accuracy",model="fraud"}`:            0.003,
		`reckon_reference_calibration_shift{metric="estimated_f1",model="fraud"}`:                  0.004,
		`reckon_reference_calibration_matters{model="fraud"}`:                                      1,
	}
	got := samples(t, m.Registry)
	for k := range got {
		if !strings.HasPrefix(k, "reckon_reference_calibration") {
			delete(got, k)
		}
	}
	compareSamples(t, "calibration", got, want)
}

// TestInitModelsCalibration: a model with a reference file gets its
// calibration gauges at start, from its reference's report; a model
// without a reference gets none.
func TestInitModelsCalibration(t *testing.T) {
	cfg, err := config.Parse("test.yaml", []byte("models: [{name: fraud}, {name: spam}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	ref := &windows.Reference{Partial: windows.LayoutOf(cfg).NewPartial(0)}
	for i := range 20_000 {
		s := float64(i%1000) / 1000
		ref.Estimate.Add(s, s >= 0.5)
		ref.Score.Add(s)
		ref.Perf.Add(s, s >= 0.5, i%7 == 0) // labels independent of the scores
	}
	ref.Finish()
	rep := ref.CalibrationReport()
	if !rep.ECEOK || !rep.ShiftOK {
		t.Fatalf("report %+v", rep)
	}
	set, err := windows.NewSettings(cfg, []*windows.Reference{ref, nil})
	if err != nil {
		t.Fatal(err)
	}
	m := New(prometheus.NewRegistry(), "test", 0)
	m.InitModels(set)
	got := samples(t, m.Registry)
	want := map[string]float64{
		`reckon_reference_calibration_error{model="fraud",scores="raw"}`:        rep.RawECE,
		`reckon_reference_calibration_error{model="fraud",scores="calibrated"}`: rep.CalibratedECE,
		`reckon_reference_calibration_matters{model="fraud"}`:                   b2f(rep.Matters),
	}
	for pm, name := range estimatedNames {
		want[`reckon_reference_calibration_shift{metric="`+name+`",model="fraud"}`] = rep.Shift[pm]
	}
	for k := range got {
		if !strings.HasPrefix(k, "reckon_reference_calibration") {
			delete(got, k)
		}
	}
	compareSamples(t, "reference file", got, want)
}
