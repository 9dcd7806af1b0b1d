package alerts

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/reckonhq/reckon/config"
)

// Files under deploy/ that the tools check, relative to this package.
const (
	deployPrometheusConfig   = "../deploy/prometheus/prometheus.yml"
	deployAlertmanagerConfig = "../deploy/alertmanager/alertmanager.yml"
)

// requireTool returns the path of a command-line tool (promtool, amtool).
// Without it the test is skipped, except under CI=true, where CI installs
// the tools (.ci/run) and their absence is a failure, never a silent skip.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed, and CI=true: CI must run this check (Debian: apt-get install prometheus prometheus-alertmanager)", name)
	}
	t.Skipf("%s is not installed: skipping this check (Debian: apt-get install prometheus prometheus-alertmanager; CI runs it)", name)
	return ""
}

// runTool runs a tool and fails the test with its output when it fails.
func runTool(t *testing.T, dir, tool string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(tool), strings.Join(args, " "), err, out)
	}
	t.Logf("%s %s:\n%s", filepath.Base(tool), strings.Join(args, " "), bytes.TrimSpace(out))
}

// testFiles returns the promtool unit test files.
func testFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.test.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.test.yml: %v", err)
	}
	return files
}

// TestPromtoolTestRules runs the alert unit tests in testdata/*.test.yml
// with `promtool test rules` against deploy/prometheus/rules/reckon.rules.yml
// (which TestDeployUpToDate keeps equal to the generator's output).
func TestPromtoolTestRules(t *testing.T) {
	promtool := requireTool(t, "promtool")
	for _, f := range testFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			runTool(t, ".", promtool, "test", "rules", f)
		})
	}
}

// TestPromtoolCheckRules checks generated rules with `promtool check rules`
// (syntax, and lint: duplicate rules) for each test configuration.
func TestPromtoolCheckRules(t *testing.T) {
	promtool := requireTool(t, "promtool")
	runTool(t, ".", promtool, "check", "rules", deployRules)
	cfg, err := config.Load("testdata/multi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files, err := Rules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := files.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, b[FileName], 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, ".", promtool, "check", "rules", path)
}

// TestPromtoolCheckConfig checks deploy/prometheus/prometheus.yml, with the
// rule files it loads.
func TestPromtoolCheckConfig(t *testing.T) {
	promtool := requireTool(t, "promtool")
	runTool(t, ".", promtool, "check", "config", deployPrometheusConfig)
}

// TestAmtoolCheckConfig checks deploy/alertmanager/alertmanager.yml.
func TestAmtoolCheckConfig(t *testing.T) {
	amtool := requireTool(t, "amtool")
	runTool(t, ".", amtool, "check-config", deployAlertmanagerConfig)
}

// unitTestFile is the part of a promtool unit test file that
// TestEveryAlertTested reads.
type unitTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name       string `yaml:"name"`
		AlertTests []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels map[string]string `yaml:"exp_labels"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// TestEveryAlertTested checks that the promtool unit tests cover every
// alerting rule generated for the example configuration twice: some test
// expects it to fire (with the rule's own labels, such as severity and the
// SLO burn-rate windows), and some test evaluates it on an input where it
// must stay silent.
func TestEveryAlertTested(t *testing.T) {
	fires := map[string][]map[string]string{} // alertname → expected label sets
	silent := map[string]bool{}
	for _, path := range testFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var f unitTestFile
		if err := yaml.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if want := []string{"../" + deployRules}; !slices.Equal(f.RuleFiles, want) {
			t.Errorf("%s: rule_files %q, want %q", path, f.RuleFiles, want)
		}
		for _, tc := range f.Tests {
			for _, at := range tc.AlertTests {
				if len(at.ExpAlerts) == 0 {
					silent[at.Alertname] = true
				}
				for _, a := range at.ExpAlerts {
					fires[at.Alertname] = append(fires[at.Alertname], a.ExpLabels)
				}
			}
		}
	}
	for _, r := range exampleRules(t).Rules() {
		if r.Alert == "" {
			continue
		}
		if !silent[r.Alert] {
			t.Errorf("no promtool test shows %s staying silent (an alert_rule_test with no exp_alerts)", r.Alert)
		}
		covered := slices.ContainsFunc(fires[r.Alert], func(got map[string]string) bool {
			for k, v := range r.Labels {
				if got[k] != v {
					return false
				}
			}
			return true
		})
		if !covered {
			t.Errorf("no promtool test shows %s %v firing", r.Alert, r.Labels)
		}
	}
}
