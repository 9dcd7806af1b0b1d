package consumer

import (
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/exporter"
	"github.com/reckonhq/reckon/windows"
)

func metricsTestProcessor(t *testing.T, yaml string) *Processor {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	m := exporter.New(prometheus.NewRegistry(), "test", cfg.SeriesLimit, exporter.WithMaxModelVersions(cfg.MaxModelVersions))
	p := New(cfg, m, WithLogger(slog.New(slog.DiscardHandler)))
	p.partitions, p.modelPartition = 1, make([]int32, len(cfg.Models))
	return p
}

// TestApplyFoldsModelVersions checks that apply exports a model's versions
// beyond max_model_versions as _other, and forgets them in the worker, so
// that a stream of junk versions cannot grow its map without bound.
func TestApplyFoldsModelVersions(t *testing.T) {
	p := metricsTestProcessor(t, "max_model_versions: 2\nmodels: [{name: fraud}]\n")
	w := newWorker(p, 0, time.Now())
	ms := &w.stats.models[0]
	for batch, versions := range [][]string{{"v1", "v2"}, {"v1", "v3", "v4"}, {"v2", "v5"}} {
		for _, v := range versions {
			c := ms.versions[v]
			if c == nil {
				c = new([2]uint64)
				ms.versions[v] = c
			}
			c[0] += 2
			c[1]++
		}
		p.apply(w)
		if _, ok := ms.versions["v1"]; !ok {
			t.Errorf("batch %d: admitted version v1 was forgotten", batch)
		}
		if len(ms.versions) != 2 {
			t.Errorf("batch %d: the worker keeps %d versions, want the 2 admitted", batch, len(ms.versions))
		}
	}
	for _, tc := range []struct {
		version, status string
		want            float64
	}{
		{"v1", "ok", 4}, {"v1", "error", 2}, {"v2", "ok", 4}, {"v2", "error", 2},
		{exporter.Overflow, "ok", 6}, {exporter.Overflow, "error", 3},
	} {
		if got := testutil.ToFloat64(p.m.Predictions.WithLabelValues("fraud", tc.version, tc.status)); got != tc.want {
			t.Errorf("reckon_predictions_total{model_version=%q,status=%q} = %v, want %v", tc.version, tc.status, got, tc.want)
		}
	}
	if got := testutil.ToFloat64(p.m.LabelOverflow.WithLabelValues("fraud", "model_version")); got != 9 {
		t.Errorf("reckon_label_overflow_total = %v, want 9 (v3, v4, v5: 3 events each)", got)
	}
}

// TestWindowRecordMissingRatio checks the denominator of
// reckon_feature_missing_ratio: every event of the window, NaN and ±Inf
// values included, which the record carries as non_finite.
func TestWindowRecordMissingRatio(t *testing.T) {
	p := metricsTestProcessor(t, "windows: [1m]\nmodels: [{name: fraud, features: [{name: x, type: numeric}]}]\n")
	part := p.layout.NewPartial(0)
	part.Start, part.End = 0, 60_000
	x := part.Features[0].Num
	for _, v := range []float64{1, 2, 3, math.NaN(), math.Inf(1), math.Inf(-1)} {
		x.Add(v)
	}
	x.AddMissing()
	x.AddMissing()
	r := &windows.Result{Partial: part}
	rec := p.windowRecord(r, nil)
	f := rec.Features["x"]
	if f.Count != 3 || f.NonFinite != 3 || f.Missing != 2 || f.Total() != x.Total() {
		t.Errorf("feature x = %+v, want count 3, non_finite 3, missing 2 (total %d)", f, x.Total())
	}
	p.publishWindow(r, nil)
	if got := gaugeValue(t, p.m.Registry, "reckon_feature_missing_ratio"); got != 2.0/8 {
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

// TestJunkVersionsDoNotHideOthers is issue 13, item 6, through the
// processor with the default limits: 12,000 junk versions of one model
// filled the global series_limit (10,000), so that a new version of another
// model never appeared in reckon_predictions_total. Now the junk folds into
// its own model's _other, which shows and is counted.
func TestJunkVersionsDoNotHideOthers(t *testing.T) {
	p := metricsTestProcessor(t, "models: [{name: fraud}, {name: spam}]\n")
	w := newWorker(p, 0, time.Now())
	add := func(model int, version string, n uint64) {
		c := w.stats.models[model].versions[version]
		if c == nil {
			c = new([2]uint64)
			w.stats.models[model].versions[version] = c
		}
		c[0] += n
	}
	for i := range 12_000 {
		add(1, fmt.Sprintf("junk-%05d", i), 1)
	}
	p.apply(w)
	add(0, "v2", 5)
	p.apply(w)
	if got := testutil.ToFloat64(p.m.Predictions.WithLabelValues("fraud", "v2", "ok")); got != 5 {
		t.Errorf(`reckon_predictions_total{model="fraud",model_version="v2"} = %v, want 5`, got)
	}
	if got := testutil.ToFloat64(p.m.Predictions.WithLabelValues("spam", exporter.Overflow, "ok")); got != 12_000-config.DefaultMaxModelVersions {
		t.Errorf(`reckon_predictions_total{model="spam",model_version="_other"} = %v, want %d`, got, 12_000-config.DefaultMaxModelVersions)
	}
	if got := testutil.ToFloat64(p.m.LabelOverflow.WithLabelValues("spam", "model_version")); got != 12_000-config.DefaultMaxModelVersions {
		t.Errorf(`reckon_label_overflow_total{model="spam"} = %v, want %d`, got, 12_000-config.DefaultMaxModelVersions)
	}
	if got := testutil.ToFloat64(p.m.SeriesDropped); got != 0 {
		t.Errorf("reckon_series_dropped_total = %v, want 0", got)
	}
}
