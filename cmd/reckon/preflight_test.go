package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/reference"
)

// preflightConfig is a configuration naming every kind of file a run
// reads: kafka.tls (line 3) and web_config_file (line 4) are filled in.
const preflightConfig = `kafka:
  brokers: ["127.0.0.1:1"]
  tls: %s
web_config_file: %s
models:
  - name: fraud
    reference: {file: ref/fraud.json}
    features:
      - {name: amount, type: numeric}
  - name: churn
    features:
      - {name: tenure, type: numeric}
`

// buildProfile builds a small reference profile of model in cfgPath's
// configuration and writes it to out.
func buildProfile(t *testing.T, cfgPath, model, out string) {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := reference.NewBuilder(cfg, model)
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]string{"fraud": "amount", "churn": "tenure"}[model]
	if err := b.Read("data.csv", strings.NewReader(col+",score\n1,0.2\n2,0.7\n"), reference.FormatCSV); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeProfile(out, b.Profile()); err != nil {
		t.Fatal(err)
	}
}

// TestPreflight checks that `reckon validate` and `reckon run` check every
// file the run would read, the same way, and that run stops with exit 2
// before touching Kafka (its broker, 127.0.0.1:1, is never there).
func TestPreflight(t *testing.T) {
	const goodWeb = "basic_auth_users: {alice: $2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze}\n"
	tests := []struct {
		name    string
		tls     string // the kafka.tls block, if any
		web     string // the web config file's contents; "" for none
		files   map[string]string
		profile string // the model whose profile is written to ref/fraud.json; "" for none
		want    []string
	}{
		{name: "all good", web: goodWeb, profile: "fraud"},
		{name: "missing reference file",
			want: []string{`reckon.yaml:7: models[0].reference.file: reference profile: open `, `ref/fraud.json: no such file or directory (` + "`reckon reference --model fraud` builds it)"}},
		{name: "reference of another model", profile: "churn",
			want: []string{`reckon.yaml:7: models[0].reference.file: reference profile `, `reference profile is for model "churn", not "fraud"`}},
		{name: "corrupt reference", files: map[string]string{"ref/fraud.json": "{not json"},
			want: []string{`reckon.yaml:7: models[0].reference.file: reference profile `}},
		{name: "broken web config", web: "tls_server_config: [\n", profile: "fraud",
			want: []string{`reckon.yaml:4: web_config_file: `, `web.yml: `}},
		{name: "web config without its key file", web: "tls_server_config: {cert_file: nope.crt}\n", profile: "fraud",
			want: []string{`reckon.yaml:4: web_config_file: `}},
		{name: "CA file not PEM", tls: "{ca_file: ca.pem}", files: map[string]string{"ca.pem": "not a certificate\n"},
			want: []string{`reckon.yaml:3: kafka.tls.ca_file: `, `ca.pem" holds no PEM certificate`}},
		{name: "client key pair not PEM", tls: "{cert_file: c.pem, key_file: k.pem}",
			files: map[string]string{"c.pem": "x", "k.pem": "y"},
			want:  []string{`reckon.yaml:3: kafka.tls.cert_file: `}},
		{name: "every file problem at once", web: "tls_server_config: [\n",
			want: []string{"models[0].reference.file: ", "web_config_file: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			web, tls := "null", "{enabled: false}"
			if tt.tls != "" {
				tls = tt.tls
			}
			if tt.web != "" {
				web = "web.yml"
				if err := os.WriteFile(filepath.Join(dir, "web.yml"), []byte(tt.web), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cfgPath := filepath.Join(dir, "reckon.yaml")
			yaml := fmt.Sprintf(preflightConfig, tls, web)
			if err := os.WriteFile(cfgPath, []byte(yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			for name, data := range tt.files {
				p := filepath.Join(dir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.profile != "" {
				buildProfile(t, cfgPath, tt.profile, filepath.Join(dir, "ref", "fraud.json"))
			}

			var stdout, stderr bytes.Buffer
			code := run([]string{"validate", "--config", cfgPath}, &stdout, &stderr)
			if len(tt.want) == 0 {
				if code != 0 || !strings.Contains(stdout.String(), "reckon.yaml: ok (2 models") {
					t.Fatalf("validate: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
				}
				return
			}
			if code != 2 || stdout.Len() > 0 {
				t.Errorf("validate: exit %d, stdout %q; want 2 and nothing", code, stdout.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("validate says\n%s\nwant it to contain %q", stderr.String(), w)
				}
			}
			validateSaid := stderr.String()

			stdout.Reset()
			stderr.Reset()
			start := time.Now()
			code = run([]string{"run", "--config", cfgPath, "--listen", "127.0.0.1:0"}, &stdout, &stderr)
			if code != 2 {
				t.Errorf("run: exit %d, want 2; stderr:\n%s", code, stderr.String())
			}
			if stderr.String() != validateSaid {
				t.Errorf("run says\n%s\nvalidate said\n%s", stderr.String(), validateSaid)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("run took %v to refuse the configuration", d)
			}
		})
	}
}
