package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reckonhq/reckon/sketch"
)

// errorList returns the messages of the *Error values joined in err, failing
// the test on any other kind of error.
func errorList(t testing.TB, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]string, len(errs))
	for i, e := range errs {
		if _, ok := e.(*Error); !ok {
			t.Fatalf("error %d is %T, want *config.Error: %v", i, e, e)
		}
		out[i] = e.Error()
	}
	return out
}

func checkErrors(t *testing.T, err error, want []string) {
	t.Helper()
	got := errorList(t, err)
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

func ptr(x float64) *float64 { return &x }

// exampleConfig is testdata/reckon.yaml.
func exampleConfig() *Config {
	c := Default()
	m := DefaultModel("fraud")
	m.Reference = &Reference{
		From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		To:   time.Date(2026, 11, 8, 0, 0, 0, 0, time.UTC),
	}
	m.Features = []Feature{
		{Name: "amount", Type: FeatureNumeric, Min: ptr(0)},
		{Name: "age", Type: FeatureNumeric},
		{Name: "country", Type: FeatureCategorical},
		{Name: "is_new", Type: FeatureCategorical},
	}
	m.Segments = []Segment{{Feature: "country", MaxValues: 50}}
	m.Drift.Numeric = sketch.MethodKS
	m.Drift.Categorical = sketch.MethodChi2
	c.Models = []Model{m}
	c.StateDir = filepath.Join("testdata", DefaultStateDir)
	c.index()
	return c
}

func TestExample(t *testing.T) {
	c, err := Load("testdata/reckon.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := exampleConfig(); !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestModelKinds(t *testing.T) {
	c, err := Parse("c.yaml", []byte("models:\n  - name: fraud\n  - name: eta\n    kind: regression\n  - name: intent\n    kind: multiclass\n    classes: [billing, shipping, \"true\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind    ModelKind
		classes []string
	}{{KindBinary, nil}, {KindRegression, nil}, {KindMulticlass, []string{"billing", "shipping", "true"}}}
	for i, w := range want {
		m := &c.Models[i]
		if m.Kind != w.kind || !slices.Equal(m.Classes, w.classes) {
			t.Errorf("models[%d]: kind %s classes %q, want %s %q", i, m.Kind, m.Classes, w.kind, w.classes)
		}
	}
	if got := c.Models[2].Class("shipping"); got != 1 {
		t.Errorf("Class(shipping) = %d, want 1", got)
	}
	if got := c.Models[2].Class("other"); got != -1 {
		t.Errorf("Class(other) = %d, want -1", got)
	}
}

func TestMaxEventAge(t *testing.T) {
	c, err := Parse("reckon.yaml", []byte("models: [{name: m}]\nmax_event_age: 30d\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxEventAge != 30*24*time.Hour {
		t.Errorf("max_event_age = %v, want 720h", c.MaxEventAge)
	}
}

// TestLongLabelTTL: labels that come months late (chargebacks, loan
// defaults) need label_ttl up to 180 days and beyond; the join keeps times
// at 64 bits (package windows/join), so nothing caps it below a year.
func TestLongLabelTTL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"45d", 45 * 24 * time.Hour},
		{"90d", 90 * 24 * time.Hour},
		{"180d", 180 * 24 * time.Hour},
		{"4320h", 180 * 24 * time.Hour},
		{"365d", 365 * 24 * time.Hour},
	} {
		c, err := Parse("reckon.yaml", []byte("models: [{name: m}]\nlabel_ttl: "+tc.in+"\n"))
		if err != nil {
			t.Errorf("label_ttl: %s: %v", tc.in, err)
			continue
		}
		if c.LabelTTL != tc.want {
			t.Errorf("label_ttl: %s = %v, want %v", tc.in, c.LabelTTL, tc.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse("reckon.yaml", []byte("models: [{name: m}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"kafka.brokers", c.Kafka.Brokers, []string{"127.0.0.1:9092"}},
		{"kafka.group", c.Kafka.Group, "reckon"},
		{"kafka.client_id", c.Kafka.ClientID, "reckon"},
		{"kafka.predictions_topic", c.Kafka.PredictionsTopic, "predictions"},
		{"kafka.outcomes_topic", c.Kafka.OutcomesTopic, "outcomes"},
		{"kafka.dead_letter_topic", c.Kafka.DeadLetterTopic, "reckon-dead-letter"},
		{"kafka.results_topic", c.Kafka.ResultsTopic, "reckon-results"},
		{"kafka.tls", c.Kafka.TLS, (*TLS)(nil)},
		{"kafka.sasl", c.Kafka.SASL, (*SASL)(nil)},
		{"listen", c.Listen, "127.0.0.1:9464"},
		{"web_config_file", c.WebConfigFile, ""},
		{"windows", c.Windows, []Window{{"5m", 5 * time.Minute}, {"1h", time.Hour}}},
		{"allowed_lateness", c.AllowedLateness, time.Minute},
		{"max_clock_skew", c.MaxClockSkew, time.Hour},
		{"max_event_age", c.MaxEventAge, time.Duration(0)},
		{"idle_timeout", c.IdleTimeout, 30 * time.Second},
		{"label_ttl", c.LabelTTL, 24 * time.Hour},
		{"max_record_bytes", c.MaxRecordBytes, 1048576},
		{"series_limit", c.SeriesLimit, 10000},
		{"max_model_versions", c.MaxModelVersions, 100},
		{"models[0].name", c.Models[0].Name, "m"},
		{"models[0].threshold", c.Models[0].Threshold, 0.5},
		{"models[0].positive_label", c.Models[0].PositiveLabel, ""},
		{"models[0].negative_label", c.Models[0].NegativeLabel, ""},
		{"models[0].reference", c.Models[0].Reference, (*Reference)(nil)},
		{"models[0].features", c.Models[0].Features, []Feature(nil)},
		{"models[0].drift", c.Models[0].Drift, Drift{
			Numeric: sketch.MethodAuto, Categorical: sketch.MethodAuto, PValue: 0.05,
			PSIThreshold: 0.2, DistanceThreshold: 0.1, DatasetShare: 0.5, K: 3,
		}},
		{"models[0].cost", c.Models[0].Cost, (*Cost)(nil)},
		{"models[0].slo", c.Models[0].SLO, SLO{Latency: 250 * time.Millisecond, Objective: 0.999, Window: 30 * 24 * time.Hour}},
	}
	for _, tc := range checks {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}

	// Null is the same as absent; Default and DefaultModel agree with Parse.
	n, err := Parse("reckon.yaml", []byte("kafka:\nlisten: ~\nwindows:\nmodels:\n  - name: m\n    drift:\n    slo: null\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Models = []Model{DefaultModel("m")}
	want.StateDir = DefaultStateDir // beside reckon.yaml, in the working directory
	want.index()
	for _, got := range []*Config{c, n} {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
	}
}

// TestBadFiles checks every file in testdata/bad: each error names the
// file, the line and the key.
func TestBadFiles(t *testing.T) {
	tests := map[string][]string{
		"feature_type.yaml": {
			`reckon.yaml:14: models[0].features[1].type: unknown feature type "num" (want numeric or categorical)`,
		},
		"unknown_key.yaml": {
			`reckon.yaml:3: kafka.tls_enabled: unknown key`,
			`reckon.yaml:7: models[0].features[0].minimum: unknown key`,
			`reckon.yaml:10: models[0].drift.pvalue: unknown key (did you mean "p_value"?)`,
			`reckon.yaml:11: models[0].slo.budget: unknown key`,
			`reckon.yaml:12: lisen: unknown key (did you mean "listen"?)`,
		},
		"wrong_type.yaml": {
			`reckon.yaml:2: kafka.brokers: want a list, got string "127.0.0.1:9092"`,
			`reckon.yaml:3: kafka.group: want a string, got integer 42`,
			`reckon.yaml:6: models[0].threshold: want a number, got string "high"`,
			`reckon.yaml:7: models[0].features: want a list, got a mapping`,
			`reckon.yaml:8: models[0].reference.from: invalid time "yesterday" (want RFC 3339, like 2026-11-01T00:00:00Z)`,
			`reckon.yaml:9: max_record_bytes: want an integer, got number 1.5`,
			`reckon.yaml:10: series_limit: want an integer, got string "lots"`,
			`reckon.yaml:11: max_model_versions: want an integer, got a list`,
		},
		"duration.yaml": {
			`reckon.yaml:1: allowed_lateness: unknown unit "x" in duration "1x"`,
			`reckon.yaml:2: idle_timeout: want a duration such as 30s or 5m, got integer 30 (missing unit)`,
			`reckon.yaml:3: label_ttl: invalid duration "one day"`,
			`reckon.yaml:4: windows[1]: invalid duration ""`,
			`reckon.yaml:7: models[0].slo.latency: invalid duration "fast"`,
		},
		"windows.yaml": {
			`reckon.yaml:3: windows[1]: "5m" is not a multiple of the shortest window "2m"`,
			`reckon.yaml:4: windows[2]: "1500ms" is not a whole number of seconds`,
			`reckon.yaml:6: windows[4]: duplicate window "240s" (same length as windows[3] "4m")`,
			`reckon.yaml:7: windows[5]: must be > 0, got "0s"`,
		},
		"duplicates.yaml": {
			`reckon.yaml:3: kafka.group: duplicate key (first at line 2)`,
			`reckon.yaml:8: models[0].features[1].name: duplicate feature name "amount" (same as features[0])`,
			`reckon.yaml:9: models[0].features[2].name: "_undeclared" is reserved (the feature label of undeclared features)`,
			`reckon.yaml:10: models[1].name: duplicate model name "fraud" (same as models[0])`,
			`reckon.yaml:12: models[1].threshold: duplicate key (first at line 11)`,
		},
		"ranges.yaml": {
			`reckon.yaml:1: allowed_lateness: must be >= 0, got -1m0s`,
			`reckon.yaml:2: idle_timeout: must be > 0, got 0s`,
			`reckon.yaml:3: label_ttl: must be > 0, got -24h0m0s`,
			`reckon.yaml:4: max_record_bytes: must be > 0, got 0`,
			`reckon.yaml:5: series_limit: must be > 0, got -1`,
			`reckon.yaml:7: models[0].name: invalid model name "9fraud" (want ^[a-zA-Z_][a-zA-Z0-9_.:-]*$)`,
			`reckon.yaml:8: models[0].threshold: must be in [0, 1], got 1.5`,
			`reckon.yaml:9: models[0].drift.p_value: must be in (0, 1), got 0`,
			`reckon.yaml:9: models[0].drift.psi_threshold: must be > 0, got -0.2`,
			`reckon.yaml:9: models[0].drift.distance_threshold: must be > 0, got NaN`,
			`reckon.yaml:9: models[0].drift.dataset_share: must be in (0, 1], got 1.5`,
			`reckon.yaml:10: models[0].cost.false_positive: must be >= 0, got -1`,
			`reckon.yaml:10: models[0].cost.false_negative: must be >= 0, got +Inf`,
			`reckon.yaml:11: models[0].slo.latency: must be > 0, got 0s`,
			`reckon.yaml:11: models[0].slo.objective: must be in (0, 1), got 1`,
			`reckon.yaml:11: models[0].slo.window: must be > 0, got -1h0m0s`,
			`reckon.yaml:12: models[1].name: required`,
			`reckon.yaml:13: max_model_versions: must be > 0, got 0`,
		},
		"segments.yaml": {
			`reckon.yaml:6: models[0].segments: 6 segments, at most 4 per model`,
			`reckon.yaml:7: models[0].segments[0].feature: "amount" is numeric: segments split by the values of a categorical feature`,
			`reckon.yaml:8: models[0].segments[1].feature: "city" is not a declared feature of model "fraud"`,
			`reckon.yaml:9: models[0].segments[2].max_values: must be in [1, 1000], got 0`,
			`reckon.yaml:10: models[0].segments[3].feature: duplicate segment "country" (same as segments[2])`,
			`reckon.yaml:11: models[0].segments[4].feature: required`,
			`reckon.yaml:12: models[0].segments[5].feature: duplicate segment "country" (same as segments[2])`,
			`reckon.yaml:12: models[0].segments[5].values: unknown key`,
		},
		"reference.yaml": {
			`reckon.yaml:3: models[0].reference: want either {from, to} or {file}, not both`,
			`reckon.yaml:5: models[1].reference.to: must be after from (2026-11-08T00:00:00Z), got 2026-11-01T00:00:00Z`,
			`reckon.yaml:7: models[2].reference.to: required with from`,
			`reckon.yaml:10: models[3].reference: want {from, to} or {file}`,
			`reckon.yaml:12: models[4].reference.from: invalid time "2026-11-01" (want RFC 3339, like 2026-11-01T00:00:00Z)`,
			`reckon.yaml:12: models[4].reference.to: invalid time "2026-11-08" (want RFC 3339, like 2026-11-01T00:00:00Z)`,
		},
		"kafka.yaml": {
			`reckon.yaml:2: kafka.brokers[0]: invalid address ":9092": missing host (want host:port)`,
			`reckon.yaml:2: kafka.brokers[2]: duplicate broker "broker-1:9092" (same as kafka.brokers[1])`,
			`reckon.yaml:2: kafka.brokers[3]: invalid address "broker-2:http": bad port "http" (want host:port)`,
			`reckon.yaml:3: kafka.group: invalid group "my group": internal topics are named after it, so it must be at most 200 of the characters a-z A-Z 0-9 . _ -`,
			`reckon.yaml:4: kafka.client_id: required`,
			`reckon.yaml:6: kafka.outcomes_topic: topic "events" is also kafka.predictions_topic`,
			`reckon.yaml:7: kafka.dead_letter_topic: invalid topic name "bad/topic": want 1 to 249 of the characters a-z A-Z 0-9 . _ -, not . or ..`,
			`reckon.yaml:8: kafka.results_topic: invalid topic name "..": want 1 to 249 of the characters a-z A-Z 0-9 . _ -, not . or ..`,
			`reckon.yaml:9: kafka.tls.key_file: required with cert_file`,
			`reckon.yaml:10: kafka.tls.ca_file: file "no-such-ca.pem": no such file or directory`,
			`reckon.yaml:11: kafka.tls.cert_file: file "no-such-cert.pem": no such file or directory`,
			`reckon.yaml:12: kafka.sasl.username: required`,
			`reckon.yaml:12: kafka.sasl.mechanism: unknown mechanism "scram-sha-256" (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)`,
			`reckon.yaml:13: listen: invalid address "localhost": missing port in address (want host:port)`,
		},
		"features.yaml": {
			`reckon.yaml:2: models[0].negative_label: required with positive_label`,
			`reckon.yaml:4: models[0].features[0].min: only numeric features have a min`,
			`reckon.yaml:5: models[0].features[1].categories: only categorical features have categories`,
			`reckon.yaml:6: models[0].features[2].max: must be >= min (10), got 1`,
			`reckon.yaml:7: models[0].features[3].categories[2]: duplicate category "free" (same as categories[0])`,
			`reckon.yaml:7: models[0].features[3].categories[3]: want a string, got integer 3 (numbers in events are numeric; quote it if the value is a string)`,
			`reckon.yaml:8: models[0].features[4].categories: empty list (leave categories out to accept any value)`,
			`reckon.yaml:9: models[0].features[5].drift.numeric_test: does not apply to a categorical feature`,
			`reckon.yaml:9: models[0].features[5].drift.dataset_share: dataset_share is a model-level setting`,
			`reckon.yaml:10: models[0].features[6].drift.categorical_test: does not apply to a numeric feature`,
			`reckon.yaml:10: models[0].features[6].drift.numeric_test: chi2 does not apply to numeric features (want auto, ks, psi, wasserstein or js)`,
			`reckon.yaml:11: models[0].features[7].name: required`,
			`reckon.yaml:12: models[0].features[8].type: required (numeric or categorical)`,
			`reckon.yaml:15: models[1].drift: want a mapping or "auto", got string "sometimes"`,
			`reckon.yaml:17: models[1].negative_label: same as positive_label "yes"`,
		},
		"reference_grid.yaml": {
			`reckon.yaml:6: models[0].reference.to: 2018-10-30T18:00:00Z is not on the window grid: the reference holds whole panes of the shortest window (30d, aligned to the Unix epoch) and would stop at 2018-10-16T00:00:00Z; use 2018-10-16T00:00:00Z or 2018-11-15T00:00:00Z`,
			`reckon.yaml:8: models[1].reference.from: 2018-09-16T00:00:00.5Z is not on the window grid: the reference holds whole panes of the shortest window (30d, aligned to the Unix epoch) and would start at 2018-10-16T00:00:00Z; use 2018-09-16T00:00:00Z or 2018-10-16T00:00:00Z`,
			`reckon.yaml:8: models[1].reference.to: 2018-11-15T00:00:01+01:00 is not on the window grid: the reference holds whole panes of the shortest window (30d, aligned to the Unix epoch) and would stop at 2018-10-16T00:00:00Z; use 2018-10-16T00:00:00Z or 2018-11-15T00:00:00Z`,
			`reckon.yaml:12: models[3].reference.from: 1969-12-01T00:00:00Z is not on the window grid: the reference holds whole panes of the shortest window (30d, aligned to the Unix epoch) and would start at 1969-12-02T00:00:00Z; use 1969-11-02T00:00:00Z or 1969-12-02T00:00:00Z`,
		},
		"learned.yaml": {
			`reckon.yaml:4: models[0].drift.k: must be > 0, got 0`,
			`reckon.yaml:5: models[0].reference.to: the reference spans 0 whole 7d windows; learned thresholds (models[0].drift.threshold) need at least 5`,
			`reckon.yaml:7: models[1].drift.threshold: unknown threshold "sometimes" (want fixed or learned)`,
			`reckon.yaml:7: models[1].drift.multivariate: multivariate drift needs a reference (reference: {file: …})`,
			`reckon.yaml:7: models[1].drift.multivariate: multivariate drift needs at least 2 features, the model declares 1`,
			`reckon.yaml:7: models[1].drift.k: must be > 0, got -2`,
			`reckon.yaml:9: models[1].features[0].drift.multivariate: multivariate is a model-level setting`,
			`reckon.yaml:9: models[1].features[0].drift.k: must be > 0, got +Inf`,
			`reckon.yaml:11: models[2].drift.multivariate: multivariate drift needs a reference file (reference: {file: …}) to fit its PCA on; a stream reference {from, to} has no rows`,
			`reckon.yaml:12: models[2].reference.to: the reference spans 0 whole 7d windows; learned thresholds (models[2].features[1].drift.threshold) need at least 5`,
			`reckon.yaml:17: models[3].drift.multivariate: want true or false, got string "yes"`,
		},
		"syntax.yaml": {
			`reckon.yaml:2: did not find expected ',' or ']'`,
		},
		"empty_models.yaml": {
			`reckon.yaml:2: models: at least one model required`,
			`reckon.yaml:3: windows: at least one window required`,
		},
		"multi_doc.yaml": {
			`reckon.yaml:3: more than one YAML document (want one)`,
		},
	}
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := tests[filepath.Base(f)]; !ok {
			t.Errorf("%s has no test case", f)
		}
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "bad", name))
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse("reckon.yaml", data)
			if c != nil {
				t.Errorf("Parse returned a Config with errors")
			}
			checkErrors(t, err, want)
		})
	}
}

// TestParseErrors covers the error kinds not in testdata/bad.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"empty file", "", []string{`c.yaml:1: models: at least one model required`}},
		{"negative max_event_age", "models: [{name: m}]\nmax_event_age: -1h\n", []string{`c.yaml:2: max_event_age: must be >= 0 (0 disables the check), got -1h0m0s`}},
		{"max_event_age not a duration", "models: [{name: m}]\nmax_event_age: old\n", []string{`c.yaml:2: max_event_age: invalid duration "old"`}},
		{"comments only", "# nothing\n", []string{`c.yaml:1: models: at least one model required`}},
		{"root is a list", "- a\n", []string{`c.yaml:1: want a mapping, got a list`}},
		{"root is a scalar", "reckon\n", []string{`c.yaml:1: want a mapping, got string "reckon"`}},
		{"key is not a string", "models: [{name: m}]\n[a]: 1\n", []string{`c.yaml:2: mapping key is a list (want a string)`}},
		{"odd key quoted in path", "models: [{name: m}]\n\"a b\": 1\n", []string{`c.yaml:2: ["a b"]: unknown key`}},
		{"models not a list", "models: fraud\n", []string{`c.yaml:1: models: want a list, got string "fraud"`}},
		{"model not a mapping", "models: [fraud]\n", []string{`c.yaml:1: models[0]: want a mapping, got string "fraud"`}},
		{"model without name", "models:\n  - threshold: 0.3\n", []string{`c.yaml:2: models[0].name: required`}},
		{"feature type not a string", "models:\n  - name: m\n    features:\n      - name: a\n        type: 1\n", []string{
			`c.yaml:5: models[0].features[0].type: want a string, got integer 1`,
		}},
		{"bool", "kafka: {tls: {enabled: yes}}\nmodels: [{name: m}]\n", []string{
			`c.yaml:1: kafka.tls.enabled: want true or false, got string "yes"`,
		}},
		{"quoted number", "models: [{name: m, threshold: \"0.5\"}]\n", []string{
			`c.yaml:1: models[0].threshold: want a number, got string "0.5"`,
		}},
		{"integer overflow", "series_limit: 99999999999999999999\nmodels: [{name: m}]\n", []string{
			`c.yaml:1: series_limit: want an integer, got number 99999999999999999999`,
		}},
		{"duration overflow", "label_ttl: 200000000d\nmodels: [{name: m}]\n", []string{
			`c.yaml:1: label_ttl: duration "200000000d" out of range`,
		}},
		{"duration as list", "label_ttl: [1h]\nmodels: [{name: m}]\n", []string{
			`c.yaml:1: label_ttl: want a duration such as 30s or 5m, got a list`,
		}},
		{"windows not multiples", "windows: [1m, 90s]\nmodels: [{name: m}]\n", []string{
			`c.yaml:1: windows[1]: "90s" is not a multiple of the shortest window "1m"`,
		}},
		{"windows duplicate", "windows: [5m, 1h, 60m]\nmodels: [{name: m}]\n", []string{
			`c.yaml:1: windows[2]: duplicate window "60m" (same length as windows[1] "1h")`,
		}},
		{"cost incomplete", "models: [{name: m, cost: {false_negative: 5}}]\n", []string{
			`c.yaml:1: models[0].cost.false_positive: required`,
		}},
		{"reference from only to", "models: [{name: m, reference: {to: \"2026-11-01T00:00:00Z\"}}]\n", []string{
			`c.yaml:1: models[0].reference.from: required with to`,
		}},
		{"sasl missing mechanism", "kafka: {sasl: {username: u, password: p}}\nmodels: [{name: m}]\n", []string{
			`c.yaml:1: kafka.sasl.mechanism: required (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)`,
		}},
		{"negative label alone", "models: [{name: m, negative_label: ok}]\n", []string{
			`c.yaml:1: models[0].positive_label: required with negative_label`,
		}},
		{"categorical test", "models: [{name: m, drift: {categorical_test: ks}}]\n", []string{
			`c.yaml:1: models[0].drift.categorical_test: ks does not apply to categorical features (want auto, psi, js, chi2 or z)`,
		}},
		{"min infinite", "models: [{name: m, features: [{name: a, type: numeric, max: .inf}]}]\n", []string{
			`c.yaml:1: models[0].features[0].max: must be a finite number, got +Inf`,
		}},
		{"sasl without password", "kafka: {sasl: {mechanism: PLAIN, username: u}}\nmodels: [{name: m}]\n", []string{
			`c.yaml:1: kafka.sasl.password: required (or password_file, a file holding it)`,
		}},
		{"probe_listen same as listen", "listen: \":9464\"\nprobe_listen: \":9464\"\nmodels: [{name: m}]\n", []string{
			`c.yaml:2: probe_listen: same address as listen (:9464): leave probe_listen out to serve the probes there`,
		}},
		{"probe_listen without port", "probe_listen: localhost\nmodels: [{name: m}]\n", []string{
			`c.yaml:1: probe_listen: invalid address "localhost": missing port in address (want host:port)`,
		}},
		{"web config missing", "web_config_file: /nonexistent/web.yml\nmodels: [{name: m}]\n", []string{
			`c.yaml:1: web_config_file: file "/nonexistent/web.yml": no such file or directory`,
		}},
		{"web config is a directory", "web_config_file: /\nmodels: [{name: m}]\n", []string{
			`c.yaml:1: web_config_file: file "/" is a directory`,
		}},
		{"merge of a scalar", "models:\n  - <<: 3\n    name: m\n", []string{
			`c.yaml:2: models[0]: merge (<<) of integer 3 (want a mapping or a list of mappings)`,
		}},
		{"unknown alias", "models: [*m]\n", []string{
			`c.yaml: unknown anchor 'm' referenced`,
		}},
		{"unknown kind", "models: [{name: m, kind: ranking}]\n", []string{
			`c.yaml:1: models[0].kind: unknown model kind "ranking" (want binary, regression or multiclass)`,
		}},
		{"threshold on a regression model", "models:\n  - name: eta\n    kind: regression\n    threshold: 0.3\n", []string{
			`c.yaml:4: models[0].threshold: only binary models have a threshold (this model is regression)`,
		}},
		{"labels and cost on a multiclass model", "models:\n  - name: intent\n    kind: multiclass\n    classes: [a, b]\n    positive_label: yes\n    negative_label: no\n    cost: {false_positive: 1, false_negative: 2}\n", []string{
			`c.yaml:5: models[0].positive_label: only binary models have a positive_label (this model is multiclass)`,
			`c.yaml:6: models[0].negative_label: only binary models have a negative_label (this model is multiclass)`,
			`c.yaml:7: models[0].cost: only binary models have a cost (this model is multiclass)`,
		}},
		{"classes on a binary model", "models:\n  - name: fraud\n    classes: [a, b]\n", []string{
			`c.yaml:3: models[0].classes: only multiclass models have classes (this model is binary)`,
		}},
		{"multiclass without classes", "models:\n  - name: intent\n    kind: multiclass\n", []string{
			`c.yaml:2: models[0].classes: required for a multiclass model`,
		}},
		{"multiclass empty classes", "models:\n  - name: intent\n    kind: multiclass\n    classes: []\n", []string{
			`c.yaml:4: models[0].classes: empty list (a multiclass model needs its classes)`,
		}},
		{"multiclass duplicate class", "models:\n  - name: intent\n    kind: multiclass\n    classes:\n      - billing\n      - returns\n      - billing\n", []string{
			`c.yaml:7: models[0].classes[2]: duplicate class "billing" (same as classes[0])`,
		}},
		{"many errors, file order", "models:\n  - name: m\n    threshold: 2\n    bogus: 1\nlisten: x\nwindows: [0s]\n", []string{
			`c.yaml:3: models[0].threshold: must be in [0, 1], got 2`,
			`c.yaml:4: models[0].bogus: unknown key`,
			`c.yaml:5: listen: invalid address "x": missing port in address (want host:port)`,
			`c.yaml:6: windows[0]: must be > 0, got "0s"`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("c.yaml", []byte(tc.in))
			if c != nil {
				t.Errorf("Parse returned a Config with errors")
			}
			checkErrors(t, err, tc.want)
		})
	}
}

func TestErrorsAs(t *testing.T) {
	_, err := Parse("reckon.yaml", []byte("models:\n  - name: m\n    threshold: high\n"))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(%v) failed", err)
	}
	want := Error{File: "reckon.yaml", Line: 3, Key: "models[0].threshold", Msg: `want a number, got string "high"`}
	if *e != want {
		t.Errorf("got %+v, want %+v", *e, want)
	}

	_, err = Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{"r.yaml", 14, "models[0].name", "required"}, "r.yaml:14: models[0].name: required"},
		{Error{"r.yaml", 0, "models", "required"}, "r.yaml: models: required"},
		{Error{"r.yaml", 3, "", "bad syntax"}, "r.yaml:3: bad syntax"},
		{Error{"", 3, "listen", "bad"}, "line 3: listen: bad"},
		{Error{"", 0, "listen", "bad"}, "listen: bad"},
		{Error{"", 0, "", "bad"}, "bad"},
	}
	for _, tc := range tests {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v.Error() = %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestDrift(t *testing.T) {
	const in = `
models:
  - name: auto
    drift: auto
  - name: custom
    drift: {numeric_test: psi, p_value: 0.01, dataset_share: 0.25}
    features:
      - {name: a, type: numeric}
      - {name: b, type: numeric, drift: {psi_threshold: 0.1}}
      - {name: c, type: categorical, drift: auto}
      - {name: d, type: categorical, drift: {categorical_test: js}}
`
	c, err := Parse("reckon.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Models[0].Drift; got != DefaultDrift() {
		t.Errorf("drift: auto = %+v, want %+v", got, DefaultDrift())
	}
	m := &c.Models[1]
	model := Drift{Numeric: sketch.MethodPSI, Categorical: sketch.MethodAuto, PValue: 0.01, PSIThreshold: 0.2, DistanceThreshold: 0.1, DatasetShare: 0.25, K: 3}
	if m.Drift != model {
		t.Errorf("model drift = %+v, want %+v", m.Drift, model)
	}
	b := model
	b.PSIThreshold = 0.1
	d := model
	d.Categorical = sketch.MethodJS
	tests := []struct {
		feature  int
		override *Drift
		want     Drift
	}{
		{0, nil, model},
		{1, &b, b},
		{2, ptrDrift(DefaultDrift()), DefaultDrift()},
		{3, &d, d},
	}
	for _, tc := range tests {
		f := m.Features[tc.feature]
		if !reflect.DeepEqual(f.Drift, tc.override) {
			t.Errorf("features[%d].Drift = %+v, want %+v", tc.feature, f.Drift, tc.override)
		}
		if got := m.FeatureDrift(tc.feature); got != tc.want {
			t.Errorf("FeatureDrift(%d) = %+v, want %+v", tc.feature, got, tc.want)
		}
	}
	if got := d.MethodFor(FeatureCategorical); got != sketch.MethodJS {
		t.Errorf("MethodFor(categorical) = %v", got)
	}
	if got := d.MethodFor(FeatureNumeric); got != sketch.MethodPSI {
		t.Errorf("MethodFor(numeric) = %v", got)
	}
}

func ptrDrift(d Drift) *Drift { return &d }

// TestPaths checks that relative paths resolve against the configuration
// file's directory, and that TLS files must exist.
func TestPaths(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "etc")
	if err := os.MkdirAll(filepath.Join(sub, "certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "web.yml"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ca := writePKI(t, filepath.Join(sub, "certs"), nil)
	writeClient(t, ca, filepath.Join(sub, "certs/c.pem"), filepath.Join(sub, "certs/k.pem"), time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	abs := filepath.Join(dir, "abs.json")
	in := `
kafka:
  tls: {ca_file: certs/ca.pem, cert_file: certs/c.pem, key_file: certs/k.pem}
  sasl: {mechanism: SCRAM-SHA-512, username: u, password: p}
web_config_file: web.yml
models:
  - name: rel
    reference: {file: ref/fraud.json}
  - name: abs
    reference: {file: "` + abs + `"}
`
	path := filepath.Join(sub, "reckon.yaml")
	if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	wantTLS := &TLS{
		Enabled:  true,
		CAFile:   filepath.Join(sub, "certs/ca.pem"),
		CertFile: filepath.Join(sub, "certs/c.pem"),
		KeyFile:  filepath.Join(sub, "certs/k.pem"),
	}
	if !reflect.DeepEqual(c.Kafka.TLS, wantTLS) {
		t.Errorf("tls = %+v, want %+v", c.Kafka.TLS, wantTLS)
	}
	if want := (&SASL{Mechanism: "SCRAM-SHA-512", Username: "u", Password: "p"}); !reflect.DeepEqual(c.Kafka.SASL, want) {
		t.Errorf("sasl = %+v, want %+v", c.Kafka.SASL, want)
	}
	if want := filepath.Join(sub, "web.yml"); c.WebConfigFile != want {
		t.Errorf("web_config_file = %q, want %q", c.WebConfigFile, want)
	}
	// The reference file need not exist: `reckon reference` writes it.
	if got, want := c.Models[0].Reference.File, filepath.Join(sub, "ref/fraud.json"); got != want {
		t.Errorf("relative reference file = %q, want %q", got, want)
	}
	if got := c.Models[1].Reference.File; got != abs {
		t.Errorf("absolute reference file = %q, want %q", got, abs)
	}
	if r := c.Models[0].Reference; r.IsRange() || !r.From.IsZero() {
		t.Errorf("file reference %+v is a range", r)
	}

	// A relative path missing from the config's directory names the
	// resolved path.
	_, err = Parse(path, []byte("kafka: {tls: {ca_file: nope.pem}}\nmodels: [{name: m}]\n"))
	checkErrors(t, err, []string{path + `:1: kafka.tls.ca_file: file "` + filepath.Join(sub, "nope.pem") + `": no such file or directory`})

	// enabled: false turns TLS off, and its files are not checked.
	c, err = Parse(path, []byte("kafka: {tls: {enabled: false, ca_file: nope.pem}}\nmodels: [{name: m}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Kafka.TLS != nil {
		t.Errorf("tls = %+v with enabled: false, want nil", c.Kafka.TLS)
	}
}

func TestAliasesAndMerge(t *testing.T) {
	const in = `
models:
  - &base
    name: fraud
    threshold: 0.7
    drift: &drift {numeric_test: wasserstein, distance_threshold: 0.05}
    features:
      - {name: amount, type: numeric}
  - <<: *base
    name: fraud_v2
    threshold: 0.6
  - name: churn
    drift: *drift
`
	c, err := Parse("reckon.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	v2 := c.Models[1]
	if v2.Name != "fraud_v2" || v2.Threshold != 0.6 || v2.Drift.Numeric != sketch.MethodWasserstein || len(v2.Features) != 1 {
		t.Errorf("merged model = %+v", v2)
	}
	if got := c.Models[2].Drift; got != c.Models[0].Drift || got.DistanceThreshold != 0.05 {
		t.Errorf("aliased drift = %+v, want %+v", got, c.Models[0].Drift)
	}

	// Alias expansion is cut short: n models × k features × j categories
	// from an input of size O(n+k+j).
	var b strings.Builder
	b.WriteString("models: [&model {name: m, features: [&feature {name: f, type: categorical, categories: [")
	b.WriteString(strings.Repeat("c, ", 1000))
	b.WriteString("c]}")
	b.WriteString(strings.Repeat(", *feature", 1000))
	b.WriteString("]}")
	b.WriteString(strings.Repeat(", *model", 1000))
	b.WriteString("]\n")
	done := make(chan error, 1)
	go func() { _, err := Parse("bomb.yaml", []byte(b.String())); done <- err }()
	select {
	case err := <-done:
		if got := errorList(t, err); len(got) == 0 || got[0] != "bomb.yaml: document too large after alias expansion" {
			t.Errorf("alias bomb: got %d errors, first %q", len(got), got[:min(1, len(got))])
		}
	case <-time.After(20 * time.Second):
		t.Fatal("alias bomb: Parse did not return")
	}

	// A mapping merging itself is harmless.
	c, err = Parse("cycle.yaml", []byte("models:\n  - &m {name: m, <<: *m}\n"))
	if err != nil || c.Models[0].Name != "m" {
		t.Errorf("self-merge: %v, %v", c, err)
	}
}

func TestWindows(t *testing.T) {
	if _, err := Parse("reckon.yaml", []byte("windows: [1h, \"5m\", 1d, 15m, 300000ms]\nmodels: [{name: m}]\n")); err == nil {
		t.Fatal("duplicate 300000ms accepted")
	}
	c, err := Parse("reckon.yaml", []byte("windows: [1h, \"5m\", 1d, 15m]\nmodels: [{name: m}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Window{{"5m", 5 * time.Minute}, {"15m", 15 * time.Minute}, {"1h", time.Hour}, {"1d", 24 * time.Hour}}
	if !slices.Equal(c.Windows, want) {
		t.Errorf("windows = %v, want %v (sorted, text as written)", c.Windows, want)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "0", want: 0},
		{in: "-0", want: 0},
		{in: "30s", want: 30 * time.Second},
		{in: "1m30s", want: 90 * time.Second},
		{in: "24h", want: 24 * time.Hour},
		{in: "30d", want: 30 * 24 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "1.5d", want: 36 * time.Hour},
		{in: "0.1d", want: 144 * time.Minute},
		{in: "-1d", want: -24 * time.Hour},
		{in: "+2h", want: 2 * time.Hour},
		{in: "150ms", want: 150 * time.Millisecond},
		{in: "1µs", want: time.Microsecond},
		{in: "1h1d", want: 25 * time.Hour},
		{in: "", err: `invalid duration ""`},
		{in: "-", err: `invalid duration "-"`},
		{in: "d", err: `invalid duration "d"`},
		{in: "30", err: `missing unit in duration "30"`},
		{in: "1d2", err: `missing unit in duration "1d2"`},
		{in: "5x", err: `unknown unit "x" in duration "5x"`},
		{in: ".d", err: `invalid duration ".d"`},
		{in: "1 d", err: `unknown unit " d" in duration "1 d"`},
		{in: "106752d", err: `duration "106752d" out of range`},
		{in: "106751d24h", err: `duration "106751d24h" out of range`},
	}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseDuration(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
			}
		case err != nil || got != tc.want:
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestLookups(t *testing.T) {
	parsed, err := Load("testdata/reckon.yaml")
	if err != nil {
		t.Fatal(err)
	}
	built := exampleConfig()
	built.models = nil
	built.Models[0].features = nil
	for name, c := range map[string]*Config{"parsed": parsed, "built in code": built} {
		m, ok := c.Model("fraud")
		if !ok || m != &c.Models[0] {
			t.Errorf("%s: Model(fraud) = %p, %v; want %p", name, m, ok, &c.Models[0])
		}
		if m, ok := c.Model("nope"); ok || m != nil {
			t.Errorf("%s: Model(nope) = %v, %v", name, m, ok)
		}
		for want, f := range c.Models[0].Features {
			if i, ok := c.Models[0].FeatureIndex(f.Name); !ok || i != want {
				t.Errorf("%s: FeatureIndex(%q) = %d, %v; want %d", name, f.Name, i, ok, want)
			}
			if i, ok := c.Models[0].FeatureIndexBytes([]byte(f.Name)); !ok || i != want {
				t.Errorf("%s: FeatureIndexBytes(%q) = %d, %v; want %d", name, f.Name, i, ok, want)
			}
		}
		if i, ok := c.Models[0].FeatureIndex(ReservedFeature); ok || i != -1 {
			t.Errorf("%s: FeatureIndex(%q) = %d, %v", name, ReservedFeature, i, ok)
		}
	}

	// An event decoder holds feature names as []byte: looking them up does
	// not allocate (string(b) of a short name uses a stack buffer; the
	// Bytes variant never copies).
	m := &parsed.Models[0]
	short := []byte("country")
	long := []byte("a-feature-name-well-beyond-thirty-two-bytes-long")
	for name, fn := range map[string]func(){
		"FeatureIndex(string(short))": func() { m.FeatureIndex(string(short)) },
		"FeatureIndexBytes(short)":    func() { m.FeatureIndexBytes(short) },
		"FeatureIndexBytes(long)":     func() { m.FeatureIndexBytes(long) },
		"Model(fraud)":                func() { parsed.Model("fraud") },
	} {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s allocates %v times, want 0", name, n)
		}
	}
}

func TestValidate(t *testing.T) {
	c := Default()
	m := DefaultModel("fraud")
	m.Features = []Feature{{Name: "amount", Type: FeatureNumeric}}
	c.Models = []Model{m}
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}

	c.Kafka.Brokers = []string{"kafka"}
	c.Windows = []Window{{"1h", time.Hour}, {"5m", 5 * time.Minute}}
	c.Models[0].Features = append(c.Models[0].Features, Feature{Name: "amount"})
	c.Models[0].Threshold = math.NaN()
	checkErrors(t, c.Validate(), []string{
		`kafka.brokers[0]: invalid address "kafka": missing port in address (want host:port)`,
		`models[0].threshold: must be in [0, 1], got NaN`,
		`models[0].features[1].type: required (numeric or categorical)`,
		`models[0].features[1].name: duplicate feature name "amount" (same as features[0])`,
		`windows: not sorted ascending`,
	})
}

func TestFeatureType(t *testing.T) {
	for _, ft := range []FeatureType{FeatureNumeric, FeatureCategorical} {
		got, err := ParseFeatureType(ft.String())
		if err != nil || got != ft {
			t.Errorf("ParseFeatureType(%q) = %v, %v", ft.String(), got, err)
		}
	}
	if s := FeatureType(0).String(); s != "FeatureKind(0)" {
		t.Errorf("FeatureType(0).String() = %q", s)
	}
}

func TestSASLRedacted(t *testing.T) {
	s := SASL{Mechanism: MechanismPlain, Username: "u", Password: "hunter2"}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(f, s); strings.Contains(out, "hunter2") {
			t.Errorf("%s prints the password: %s", f, out)
		}
	}
}

// FuzzParse checks that Parse never panics, that every error is an *Error,
// and that a Config it returns is valid.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"testdata/*.yaml", "testdata/bad/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("models: [{name: m, drift: auto, features: [{name: a, type: categorical, categories: [x, true]}]}]\n"))
	f.Add([]byte("models:\n  - &m {name: m}\n  - {<<: *m, name: n}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			if c != nil {
				t.Fatal("Config and error")
			}
			errorList(t, err)
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid config: %v", err)
		}
		for i := range c.Models {
			if m, ok := c.Model(c.Models[i].Name); !ok || m != &c.Models[i] {
				t.Fatalf("Model(%q) lookup failed", c.Models[i].Name)
			}
		}
	})
}

func TestLine(t *testing.T) {
	data := []byte("kafka:\n  tls: {ca_file: ca.pem}\nmodels:\n  - name: m\n    reference:\n      file: r.json\n")
	for key, want := range map[string]int{
		"kafka.tls.ca_file":          2,
		"models[0].reference.file":   6,
		"models[0].reference":        5,
		"models[0].features[3].name": 4, // absent: its nearest ancestor, the item
		"web_config_file":            1, // absent: the root
	} {
		if got := Line(data, key); got != want {
			t.Errorf("Line(%s) = %d, want %d", key, got, want)
		}
	}
	if got := Line([]byte("a: ["), "a"); got != 0 {
		t.Errorf("Line of a broken file = %d, want 0", got)
	}
}

// TestDriftVocabulary: the configuration accepts a drift block exactly when
// package sketch accepts its parameters, and reports what sketch refuses
// with the file, the line and the key.
func TestDriftVocabulary(t *testing.T) {
	for _, kind := range []FeatureType{FeatureNumeric, FeatureCategorical} {
		key := sketch.ParamNumeric.String()
		if kind == FeatureCategorical {
			key = sketch.ParamCategorical.String()
		}
		for _, name := range []string{"auto", "ks", "psi", "wasserstein", "js", "chi2", "z", "KS", "anderson"} {
			in := fmt.Sprintf("models:\n  - name: m\n    drift:\n      %s: %s\n", key, name)
			c, err := Parse("c.yaml", []byte(in))
			m, serr := sketch.ParseMethodFor(name, kind)
			var me *sketch.MethodError
			switch {
			case serr == nil && (err != nil || c.Models[0].Drift.MethodFor(kind) != m):
				t.Errorf("%s: %s: sketch accepts it, config: %v", key, name, err)
			case serr != nil && errors.As(serr, &me):
				want := fmt.Sprintf("c.yaml:4: models[0].drift.%s: %s", key, me.Reason())
				if got := errorList(t, err); !slices.Equal(got, []string{want}) {
					t.Errorf("%s: %s: errors %q, want %q", key, name, got, want)
				}
			}
		}
	}
	for _, p := range []sketch.Param{sketch.ParamPValue, sketch.ParamPSIThreshold, sketch.ParamDistanceThreshold, sketch.ParamDatasetShare} {
		for _, v := range []string{"0", "1e-9", "0.05", "0.5", "1", "1.5", "-1", ".nan", ".inf"} {
			in := fmt.Sprintf("models:\n  - name: m\n    drift:\n      %s: %s\n", p, v)
			_, err := Parse("c.yaml", []byte(in))
			d := DefaultDrift()
			x := map[string]float64{"0": 0, "1e-9": 1e-9, "0.05": 0.05, "0.5": 0.5, "1": 1, "1.5": 1.5, "-1": -1, ".nan": math.NaN(), ".inf": math.Inf(1)}[v]
			*map[sketch.Param]*float64{sketch.ParamPValue: &d.PValue, sketch.ParamPSIThreshold: &d.PSIThreshold,
				sketch.ParamDistanceThreshold: &d.DistanceThreshold, sketch.ParamDatasetShare: &d.DatasetShare}[p] = x
			var want []string
			for _, e := range d.Check() {
				want = append(want, fmt.Sprintf("c.yaml:4: models[0].drift.%s: %s", e.Param, e.Reason))
			}
			if got := errorList(t, err); !slices.Equal(got, want) {
				t.Errorf("%s: %s: config errors %q, sketch %q", p, v, got, want)
			}
		}
	}
	// A Config built in code goes through the same check.
	c := Default()
	c.Models = []Model{DefaultModel("m")}
	c.Models[0].Drift.Numeric = sketch.MethodChi2
	c.Models[0].Drift.PValue = 1
	want := []string{
		"models[0].drift.numeric_test: chi2 does not apply to numeric features (want auto, ks, psi, wasserstein or js)",
		"models[0].drift.p_value: must be in (0, 1), got 1",
	}
	if got := errorList(t, c.Validate()); !slices.Equal(got, want) {
		t.Errorf("Validate: %q, want %q", got, want)
	}
}

func TestStateSettings(t *testing.T) {
	tests := []struct {
		yaml   string
		dir    string
		memory int64
		err    string
	}{
		{"", filepath.Join("conf", DefaultStateDir), DefaultStateMemory, ""},
		{"state_dir: /var/lib/reckon\nstate_memory: 512MiB\n", "/var/lib/reckon", 512 << 20, ""},
		{"state_dir: s\nstate_memory: 2GB\n", filepath.Join("conf", "s"), 2e9, ""},
		{"state_memory: 67108864\n", filepath.Join("conf", DefaultStateDir), 64 << 20, ""},
		{"state_memory: 1MiB\n", "", 0, "conf/r.yaml:1: state_memory: must be at least 16MiB, got 1048576 bytes"},
		{"state_memory: lots\n", "", 0, `conf/r.yaml:1: state_memory: size "lots": want a number of bytes with an optional unit`},
		{"state_memory: [1]\n", "", 0, "conf/r.yaml:1: state_memory: want a size such as 1GiB"},
	}
	for _, tt := range tests {
		c, err := Parse(filepath.Join("conf", "r.yaml"), []byte(tt.yaml+"models: [{name: m}]\n"))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.yaml, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.yaml, err)
			continue
		}
		if c.StateDir != tt.dir || c.StateMemory != tt.memory {
			t.Errorf("%q: state_dir %q, state_memory %d; want %q, %d", tt.yaml, c.StateDir, c.StateMemory, tt.dir, tt.memory)
		}
	}
}
