package dashboards_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reckonhq/reckon/alerts"
	"github.com/reckonhq/reckon/alerts/promqlcheck"
	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/dashboards"
)

// vars are values for the dashboards' template variables.
func vars() map[string]string {
	return map[string]string{
		"datasource": "prometheus", "model": "fraud", "window": "5m",
		"feature": "amount", "method": "ks", "slo": alerts.SLOErrors,
	}
}

// queries returns every query of the dashboards generated for file, with
// the variables substituted; a variable's label_values query becomes its
// series selector.
func queries(t *testing.T, file string) []dashboards.Query {
	t.Helper()
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	files, err := dashboards.Dashboards(cfg)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := dashboards.Queries(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) < 40 {
		t.Fatalf("only %d queries", len(qs))
	}
	for i, q := range qs {
		if q.RefID == "" {
			sel, _, ok := dashboards.VariableSelector(q.Expr)
			if !ok {
				t.Fatalf("%s: variable %s: query %q is not label_values(selector, label)", q.File, q.Panel, q.Expr)
			}
			q.Expr = sel
		}
		qs[i].Expr = dashboards.Interpolate(q.Expr, vars())
	}
	return qs
}

// TestQueryExpressions parses every dashboard query with the Prometheus
// PromQL parser and checks that every metric it selects is one reckon
// exports or its rules record (alerts.KnownMetrics).
func TestQueryExpressions(t *testing.T) {
	for _, file := range []string{"../config/testdata/reckon.yaml", "testdata/costs.yaml", "testdata/kinds.yaml"} {
		for _, q := range queries(t, file) {
			if strings.Contains(q.Expr, "$") {
				t.Errorf("%s: %s: variable left after interpolation: %s", q.File, q.Panel, q.Expr)
			}
			if err := promqlcheck.Check(q.Expr); err != nil {
				t.Errorf("%s: panel %q %s: %v", q.File, q.Panel, q.RefID, err)
			}
		}
	}
}

// TestQueriesPromtool checks that the installed Prometheus (Debian's 2.42
// in CI) parses every dashboard query too, by loading them as recording
// rules into `promtool check rules`. It fails under CI=true without
// promtool, and is skipped elsewhere.
func TestQueriesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not installed, and CI=true: CI must run this check (Debian: apt-get install prometheus)")
		}
		t.Skip("promtool is not installed: skipping (Debian: apt-get install prometheus; CI runs it)")
	}
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboards\n    rules:\n")
	for i, q := range queries(t, "testdata/costs.yaml") {
		fmt.Fprintf(&b, "      # %s: %s %s\n      - record: reckon_dashboard_query_%d\n        expr: %q\n", q.File, q.Panel, q.RefID, i, q.Expr)
	}
	path := filepath.Join(t.TempDir(), "queries.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, promtool, "check", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// TestKindPanels checks that the performance dashboard has the panels of
// the regression and multiclass metrics exactly when such a model is
// configured (their series exist only then).
func TestKindPanels(t *testing.T) {
	for _, tc := range []struct {
		file string
		want bool
	}{{"../config/testdata/reckon.yaml", false}, {"testdata/kinds.yaml", true}} {
		seen := map[string]bool{}
		for _, q := range queries(t, tc.file) {
			for _, m := range []string{"reckon_regression_error", "reckon_regression_residual_quantile", "reckon_label_drift", "reckon_class_rate", "reckon_estimated_class_rate"} {
				if strings.Contains(q.Expr, m+"{") {
					seen[m] = true
				}
			}
		}
		if tc.want && len(seen) != 5 || !tc.want && len(seen) != 0 {
			t.Errorf("%s: the dashboards query %v", tc.file, seen)
		}
	}
}
