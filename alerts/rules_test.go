package alerts

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/reckonhq/reckon/config"
)

func TestLatencyBucket(t *testing.T) {
	for _, tc := range []struct {
		latency      time.Duration
		want         string
		lower, upper float64 // of the error, when want is empty
	}{
		{latency: 250 * time.Millisecond, want: `le="0.25"`},
		{latency: 150 * time.Millisecond, want: `le="0.15"`},
		{latency: time.Millisecond, want: `le="0.001"`},
		{latency: 2500 * time.Microsecond, want: `le="0.0025"`},
		{latency: time.Second, want: `le=~"1|1.0"`},
		{latency: 10 * time.Second, want: `le=~"10|10.0"`},
		{latency: 200 * time.Millisecond, lower: 0.15, upper: 0.25},
		{latency: 500 * time.Microsecond, upper: 0.001},
		{latency: 20 * time.Second, lower: 10},
	} {
		t.Run(tc.latency.String(), func(t *testing.T) {
			m := config.DefaultModel("m")
			m.SLO.Latency = tc.latency
			got, err := latencyBucket(&m)
			if tc.want != "" {
				if err != nil || got != tc.want {
					t.Fatalf("latencyBucket(%s) = %q, %v; want %q", tc.latency, got, err, tc.want)
				}
				return
			}
			var le *LatencyBucketError
			if !errors.As(err, &le) {
				t.Fatalf("latencyBucket(%s) = %q, %v; want a *LatencyBucketError", tc.latency, got, err)
			}
			if le.Model != "m" || le.Latency != tc.latency || le.Lower != tc.lower || le.Upper != tc.upper {
				t.Errorf("error %+v, want lower %v upper %v", le, tc.lower, tc.upper)
			}
			if !strings.Contains(err.Error(), `model "m"`) {
				t.Errorf("error %q does not name the model", err)
			}
		})
	}
}

func TestRulesErrors(t *testing.T) {
	base := func() *config.Config {
		c := config.Default()
		c.Models = []config.Model{config.DefaultModel("fraud")}
		return c
	}
	for _, tc := range []struct {
		name  string
		cfg   func(*config.Config)
		opts  Options
		field string // of the *OptionError; empty for a *LatencyBucketError
	}{
		{name: "latency not a bucket", cfg: func(c *config.Config) { c.Models[0].SLO.Latency = 300 * time.Millisecond }},
		{name: "consecutive windows", opts: Options{ConsecutiveWindows: -1}, field: "ConsecutiveWindows"},
		{name: "performance window", opts: Options{PerformanceWindow: "2h"}, field: "PerformanceWindow"},
		{name: "fpr ceiling", opts: Options{FPRCeiling: 1.5}, field: "FPRCeiling"},
		{name: "coverage drop", opts: Options{CoverageDrop: 1}, field: "CoverageDrop"},
		{name: "baseline", opts: Options{BaselineRange: time.Minute}, field: "BaselineRange"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			if tc.cfg != nil {
				tc.cfg(c)
			}
			files, err := RulesWithOptions(c, tc.opts)
			if err == nil {
				t.Fatalf("RulesWithOptions = %d files, nil error; want an error", len(files))
			}
			if tc.field == "" {
				var le *LatencyBucketError
				if !errors.As(err, &le) {
					t.Fatalf("error %v is not a *LatencyBucketError", err)
				}
				return
			}
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Field != tc.field {
				t.Fatalf("error %v is not an *OptionError for %s", err, tc.field)
			}
		})
	}
}

// TestRulesShape checks the generated groups and rules for two
// configurations: what is there, and that names and labels are consistent.
func TestRulesShape(t *testing.T) {
	for _, tc := range []struct {
		file       string
		groups     []string
		perfWindow string
	}{
		{file: exampleConfig, groups: []string{"reckon-drift", "reckon-performance", "reckon-model-kinds", "reckon-slo-fraud", "reckon-health"}, perfWindow: "1h"},
		{file: "testdata/multi.yaml", groups: []string{"reckon-drift", "reckon-performance", "reckon-model-kinds", "reckon-slo-fraud", "reckon-slo-churn.v2", "reckon-health"}, perfWindow: "1h"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cfg, err := config.Load(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			files, err := Rules(cfg)
			if err != nil {
				t.Fatal(err)
			}
			f := files[FileName]
			if len(files) != 1 || f == nil {
				t.Fatalf("files %v, want just %s", files, FileName)
			}
			var names []string
			for _, g := range f.Groups {
				names = append(names, g.Name)
			}
			if !reflect.DeepEqual(names, tc.groups) {
				t.Errorf("groups %q, want %q", names, tc.groups)
			}
			known := map[string]bool{}
			for _, m := range KnownMetrics() {
				known[m.Name] = m.Rule
			}
			// Per model and SLO: 7 error ratios, 6 budget rules, 4 alerts.
			perSLO := map[string]int{}
			for _, r := range f.Rules() {
				if (r.Record == "") == (r.Alert == "") {
					t.Errorf("rule %+v: want exactly one of record and alert", r)
				}
				if r.Record != "" && !known[r.Record] {
					t.Errorf("recording rule %s is not in KnownMetrics as a rule", r.Record)
				}
				if r.Alert != "" {
					sev := r.Labels["severity"]
					if sev != SeverityPage && sev != SeverityTicket && sev != SeverityWarning {
						t.Errorf("alert %s: severity %q", r.Alert, sev)
					}
					for _, a := range []string{"summary", "description", "runbook_url"} {
						if r.Annotations[a] == "" {
							t.Errorf("alert %s: no %s annotation", r.Alert, a)
						}
					}
					if strings.Contains(r.Expr, "window=") && !strings.Contains(r.Expr, "window="+quote(tc.perfWindow)) &&
						strings.HasPrefix(r.Alert, "ReckonFalsePositive") {
						t.Errorf("alert %s does not watch window %s: %s", r.Alert, tc.perfWindow, r.Expr)
					}
				}
				if s := r.Labels["slo"]; s != "" {
					perSLO[s]++
				}
			}
			for _, slo := range []string{SLOErrors, SLOLatency} {
				if want := len(cfg.Models) * (len(SLOWindows()) + 6 + len(burnAlerts())); perSLO[slo] != want {
					t.Errorf("%d rules for slo %s, want %d", perSLO[slo], slo, want)
				}
			}
			// The YAML reads back into the same rules.
			b, err := f.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(b), Header) {
				t.Errorf("file does not start with %q", Header)
			}
			var back RuleFile
			if err := yaml.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&back, f) {
				t.Error("the marshalled rule file does not read back into the same rules")
			}
		})
	}
}

func TestFormatting(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{num(1 - 0.999), "0.001"},
		{num(1 - 0.9995), "0.0005"},
		{num(14.4), "14.4"},
		{num(100), "100"},
		{pct(0.999), "99.9%"},
		{pct(0.1), "10%"},
		{promDuration(5 * time.Minute), "5m"},
		{promDuration(90 * time.Minute), "1h30m"},
		{promDuration(7 * 24 * time.Hour), "7d"},
		{promDuration(50 * time.Hour), "2d2h"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestConsecutiveWindowsOption(t *testing.T) {
	files, err := RulesWithOptions(loadExample(t), Options{ConsecutiveWindows: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range files[FileName].Rules() {
		if r.Alert == "ReckonFeatureDrift" {
			if want := RecordDriftStreak + " >= 3"; r.Expr != want {
				t.Errorf("expr %q, want %q", r.Expr, want)
			}
			return
		}
	}
	t.Fatal("no ReckonFeatureDrift")
}
