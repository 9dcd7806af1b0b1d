package alerts

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/reckonhq/reckon/config"
)

var update = flag.Bool("update", false, "rewrite the generated files under deploy/ from the generators")

// exampleConfig is the configuration the files under deploy/ are generated
// for.
const exampleConfig = "../config/testdata/reckon.yaml"

// Generated files under deploy/, relative to this package.
const (
	deployRules          = "../deploy/prometheus/rules/" + FileName
	deployPrometheusRule = "../deploy/kubernetes/prometheusrule.yaml"
)

func loadExample(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// exampleRules returns the rules generated for exampleConfig.
func exampleRules(t *testing.T) *RuleFile {
	t.Helper()
	files, err := Rules(loadExample(t))
	if err != nil {
		t.Fatal(err)
	}
	return files[FileName]
}

// TestDeployUpToDate checks that the generated files committed under
// deploy/ are what the generator makes now for the example configuration,
// so that they cannot go stale. `go test ./alerts -update` rewrites them.
func TestDeployUpToDate(t *testing.T) {
	f := exampleRules(t)
	rules, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	pr, err := f.PrometheusRule("reckon", "", map[string]string{"app.kubernetes.io/name": "reckon"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, deployRules, rules)
	golden(t, deployPrometheusRule, pr)
}

// golden compares got with the file at path, or writes it there under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./alerts -update` to generate it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: it differs from what the generator makes for %s now; run `go test ./alerts -update` and review the diff",
			path, exampleConfig)
	}
}

// TestKubernetesConfigMap checks that the configuration in
// deploy/kubernetes/configmap.yaml is valid and yields the same rules as the
// example configuration, so that prometheusrule.yaml beside it fits it.
func TestKubernetesConfigMap(t *testing.T) {
	const path = "../deploy/kubernetes/configmap.yaml"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(b, &cm); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	cfg, err := config.Parse(path+":reckon.yaml", []byte(cm.Data["reckon.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	files, err := Rules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := files[FileName].Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want, err := exampleRules(t).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s yields other rules than %s: make prometheusrule.yaml fit it", path, exampleConfig)
	}
}
