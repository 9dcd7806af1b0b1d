package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/sketch"
)

var update = flag.Bool("update", false, "rewrite the generated dashboards under deploy/grafana/dashboards")

// Configurations the tests generate dashboards for; the first is the one
// the files under deploy/ are generated for.
var testConfigs = []string{"../config/testdata/reckon.yaml", "testdata/costs.yaml", "testdata/kinds.yaml"}

// deployDir holds the generated dashboards, relative to this package.
const deployDir = "../deploy/grafana/dashboards"

func generate(t *testing.T, file string) map[string][]byte {
	t.Helper()
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Dashboards(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestRoundTrip unmarshals every dashboard into the SDK's own Dashboard
// type (panels and queries into their plugins' types), validates it, and
// checks that marshalling it again gives the same JSON: a field the schema
// does not know would be dropped, a mistyped one fails to unmarshal, so a
// schema error fails the build.
//
// The round trip stands in for the SDK's UnmarshalJSONStrict, which in
// v0.0.22 drops every panel: its generated code returns a typed nil
// cog.BuildErrors as a non-nil error, and the caller gives up on the panel.
func TestRoundTrip(t *testing.T) {
	plugins.RegisterDefaultPlugins() // panels and queries decode into their plugin types
	for _, cfgFile := range testConfigs {
		for name, data := range generate(t, cfgFile) {
			t.Run(filepath.Base(cfgFile)+"/"+name, func(t *testing.T) {
				var d dashboard.Dashboard
				if err := json.Unmarshal(data, &d); err != nil {
					t.Fatalf("unmarshal into dashboard.Dashboard: %v", err)
				}
				if err := sdkError(d.Validate()); err != nil {
					t.Fatalf("Validate: %v", err)
				}
				for _, p := range d.Panels {
					if p.Panel != nil {
						if _, ok := p.Panel.Options.(map[string]any); ok {
							t.Errorf("panel %q of type %s: options did not decode into the plugin's type", *p.Panel.Title, p.Panel.Type)
						}
					}
				}
				again, err := json.Marshal(d)
				if err != nil {
					t.Fatal(err)
				}
				var want, got any
				if err := json.Unmarshal(data, &want); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(again, &got); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(want, got) {
					t.Errorf("the dashboard does not survive a round trip through dashboard.Dashboard:\nbefore: %s\nafter:  %s", data, again)
				}
			})
		}
	}
}

// TestStructure checks what Grafana and users rely on: unique uids and
// panel ids, the template variables, every query on the datasource variable.
func TestStructure(t *testing.T) {
	files := generate(t, testConfigs[0])
	if want := []string{DriftFile, OverviewFile, PerformanceFile, PipelineFile, SLOFile}; !slices.Equal(sortedKeys(files), want) {
		t.Fatalf("files %q, want %q", sortedKeys(files), want)
	}
	uids := map[string]string{}
	for name, data := range files {
		var d struct {
			UID    string `json:"uid"`
			Title  string `json:"title"`
			Panels []struct {
				ID         *int   `json:"id"`
				Type       string `json:"type"`
				Title      string `json:"title"`
				Datasource *struct {
					UID string `json:"uid"`
				} `json:"datasource"`
				Targets []struct {
					Datasource struct {
						UID string `json:"uid"`
					} `json:"datasource"`
					RefID string `json:"refId"`
				} `json:"targets"`
			} `json:"panels"`
			Templating struct {
				List []struct {
					Name string `json:"name"`
				} `json:"list"`
			} `json:"templating"`
		}
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if other, dup := uids[d.UID]; dup || d.UID == "" {
			t.Errorf("%s: uid %q (also %s)", name, d.UID, other)
		}
		uids[d.UID] = name
		var vars []string
		for _, v := range d.Templating.List {
			vars = append(vars, v.Name)
		}
		want := []string{"datasource", "model"}
		switch name {
		case DriftFile:
			want = append(want, "window", "feature", "method")
		case PerformanceFile:
			want = append(want, "window")
		case SLOFile:
			want = append(want, "slo")
		}
		if !slices.Equal(vars, want) {
			t.Errorf("%s: variables %q, want %q", name, vars, want)
		}
		ids := map[int]bool{}
		panels := 0
		for _, p := range d.Panels {
			if p.ID == nil || ids[*p.ID] {
				t.Errorf("%s: panel %q: missing or duplicate id", name, p.Title)
			} else {
				ids[*p.ID] = true
			}
			if p.Type == "row" {
				continue
			}
			panels++
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("%s: panel %q is not on the datasource variable", name, p.Title)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", name, p.Title)
			}
			for i, tg := range p.Targets {
				if tg.Datasource.UID != "${datasource}" || tg.RefID != string(rune('A'+i)) {
					t.Errorf("%s: panel %q target %d: datasource %q, refId %q", name, p.Title, i, tg.Datasource.UID, tg.RefID)
				}
			}
		}
		if panels < 4 {
			t.Errorf("%s: %d panels", name, panels)
		}
	}
}

// TestBusinessCost checks that the cost panel appears exactly when a model
// has a cost, with one query per such model.
func TestBusinessCost(t *testing.T) {
	for _, tc := range []struct {
		cfg     string
		queries int
	}{{testConfigs[0], 0}, {testConfigs[1], 1}} { // a panel when a model has a cost
		qs, err := Queries(generate(t, tc.cfg))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, q := range qs {
			if q.Panel == "Business cost" {
				n++
				if !strings.Contains(q.Expr, "reckon_business_cost_total") {
					t.Errorf("cost query %q does not read reckon_business_cost_total", q.Expr)
				}
			}
		}
		if n != tc.queries {
			t.Errorf("%s: %d business cost queries, want %d", tc.cfg, n, tc.queries)
		}
	}
}

func TestInterpolate(t *testing.T) {
	vars := map[string]string{"model": "fraud", "window": "5m", "feature": "amount", "model_version": "v1"}
	for _, tc := range []struct{ in, want string }{
		{`x{model=~"$model"}[$__rate_interval]`, `x{model=~"fraud"}[1m]`},
		{`x{window="${window}",feature=~"${feature:regex}"}`, `x{window="5m",feature=~"amount"}`},
		{`x{v="$model_version"}`, `x{v="v1"}`},
		{`x{a="[[model]]"}[$__range] * $__range_s`, `x{a="fraud"}[1h] * 3600`},
		{`x{a="$unknown"}`, `x{a="$unknown"}`},
	} {
		if got := Interpolate(tc.in, vars); got != tc.want {
			t.Errorf("Interpolate(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestDeployUpToDate checks that deploy/grafana/dashboards holds exactly
// the dashboards generated now for the example configuration. `go test
// ./dashboards -update` rewrites them.
func TestDeployUpToDate(t *testing.T) {
	files := generate(t, testConfigs[0])
	if *update {
		if err := os.MkdirAll(deployDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	old, err := filepath.Glob(filepath.Join(deployDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range old {
		if _, ok := files[filepath.Base(path)]; ok {
			continue
		}
		if *update {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s is not generated any more; run `go test ./dashboards -update`", path)
	}
	for _, name := range sortedKeys(files) {
		path := filepath.Join(deployDir, name)
		if *update {
			if err := os.WriteFile(path, files[name], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (run `go test ./dashboards -update` to generate it)", err)
			continue
		}
		if !bytes.Equal(files[name], want) {
			t.Errorf("%s is stale: it differs from what the generator makes for %s now; run `go test ./dashboards -update` and review the diff", path, testConfigs[0])
		}
	}
}

// sdkError returns err, or nil for the empty cog.BuildErrors that the
// SDK's generated code returns (a typed nil slice in a non-nil error) when
// there was no error.
func sdkError(err error) error {
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		return nil
	}
	return err
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestBands checks the ±3 standard-error bands of the performance
// dashboard: FPR, ROC AUC and F1 each have an estimated and a realised
// band, every band edge's query is its line's query plus or minus three
// times the matching reckon_standard_error, and every fillBelowTo names a
// series of its own panel, so that Grafana shades between the edges.
func TestBands(t *testing.T) {
	type target struct {
		Expr   string `json:"expr"`
		Legend string `json:"legendFormat"`
	}
	type override struct {
		Matcher struct {
			ID      string `json:"id"`
			Options string `json:"options"`
		} `json:"matcher"`
		Properties []struct {
			ID    string `json:"id"`
			Value any    `json:"value"`
		} `json:"properties"`
	}
	var board struct {
		Panels []struct {
			Title       string   `json:"title"`
			Targets     []target `json:"targets"`
			FieldConfig struct {
				Overrides []override `json:"overrides"`
			} `json:"fieldConfig"`
		} `json:"panels"`
	}
	files := generate(t, testConfigs[0])
	if err := json.Unmarshal(files[PerformanceFile], &board); err != nil {
		t.Fatal(err)
	}
	bands := map[string]bool{}
	for _, p := range board.Panels {
		legends := map[string]string{}
		for _, tg := range p.Targets {
			legends[tg.Legend] = tg.Expr
		}
		for _, o := range p.FieldConfig.Overrides {
			for _, prop := range o.Properties {
				if prop.ID != "custom.fillBelowTo" {
					continue
				}
				lower, _ := prop.Value.(string)
				upper := o.Matcher.Options
				if _, ok := legends[lower]; !ok || o.Matcher.ID != "byName" {
					t.Errorf("%s: %s fills below to %q, not a series of the panel", p.Title, upper, lower)
					continue
				}
				kind, _, _ := strings.Cut(upper, " ")
				line := legends[kind]
				up, low := legends[upper], legends[lower]
				if line == "" || !strings.HasPrefix(up, line+"\n+ 3 *\n") || !strings.HasPrefix(low, line+"\n- 3 *\n") {
					t.Errorf("%s: band %s/%s is not %s ± 3 SE:\n%s\n%s", p.Title, upper, lower, kind, up, low)
					continue
				}
				se := strings.TrimPrefix(up, line+"\n+ 3 *\n")
				if se != strings.TrimPrefix(low, line+"\n- 3 *\n") || !strings.Contains(se, "reckon_standard_error{") {
					t.Errorf("%s: band edges use %q", p.Title, se)
				}
				for _, metric := range []string{"false_positive_rate", "roc_auc", "f1"} {
					name := metric
					if kind == "estimated" {
						name = "estimated_" + metric
					}
					if strings.Contains(se, `metric="`+name+`"`) && strings.Contains(line, "reckon_"+name+"{") {
						bands[name] = true
					}
				}
			}
		}
	}
	for _, want := range []string{"false_positive_rate", "estimated_false_positive_rate", "roc_auc", "estimated_roc_auc", "f1", "estimated_f1"} {
		if !bands[want] {
			t.Errorf("no band around reckon_%s", want)
		}
	}
}

// TestDriftModes: the learned bands and the multivariate panel are drawn
// only for a configuration that has them, so that every shipped query can
// return data (the real-Prometheus test asks each one).
func TestDriftModes(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		learned, multivariate bool
	}{
		{"fixed", false, false},
		{"learned", true, false},
		{"multivariate", false, true},
		{"both", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Load(testConfigs[0])
			if err != nil {
				t.Fatal(err)
			}
			if tc.learned {
				cfg.Models[0].Drift.Threshold = sketch.ThresholdLearned
			}
			cfg.Models[0].Drift.Multivariate = tc.multivariate
			files, err := Dashboards(cfg)
			if err != nil {
				t.Fatal(err)
			}
			queries, err := Queries(files)
			if err != nil {
				t.Fatal(err)
			}
			has := func(metric string) bool {
				return slices.ContainsFunc(queries, func(q Query) bool { return strings.Contains(q.Expr, metric+"{") })
			}
			if got := has("reckon_feature_drift_threshold"); got != tc.learned {
				t.Errorf("reckon_feature_drift_threshold queried: %v, want %v", got, tc.learned)
			}
			if got := has("reckon_prediction_drift_threshold"); got != tc.learned {
				t.Errorf("reckon_prediction_drift_threshold queried: %v, want %v", got, tc.learned)
			}
			if got := has("reckon_multivariate_drift"); got != tc.multivariate {
				t.Errorf("reckon_multivariate_drift queried: %v, want %v", got, tc.multivariate)
			}
		})
	}
}
