package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/reference"
	"github.com/reckonhq/reckon/windows"
)

const referenceConfig = `
models:
  - name: fraud
    reference: {file: ref/fraud.json}
    features:
      - {name: amount, type: numeric, min: 0}
      - {name: country, type: categorical}
  - name: churn
    features:
      - {name: tenure, type: numeric}
`

// referenceDir writes the configuration and a CSV and a gzipped JSONL input
// of the same rows into a new directory.
func referenceDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var csv, jsonl bytes.Buffer
	csv.WriteString("amount,country,score,label,id\n")
	countries := []string{"DE", "FR", "US"}
	for i := range 3000 {
		amount := float64(i%517) * 1.25
		score := float64(i%100) / 100
		label := i%7 == 0
		fmt.Fprintf(&csv, "%g,%s,%g,%t,%d\n", amount, countries[i%3], score, label, i)
		fmt.Fprintf(&jsonl, `{"prediction_id":"p%d","model":"fraud","timestamp":%d,"features":{"amount":%g,"country":%q},"score":%g,"label":%t}`+"\n",
			i, 1795728622123+i, amount, countries[i%3], score, label)
	}
	fmt.Fprintf(&jsonl, `{"prediction_id":"c","model":"churn","timestamp":1,"features":{"tenure":3},"score":0.1}`+"\n")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(jsonl.Bytes())
	zw.Close()
	for name, data := range map[string][]byte{
		"reckon.yaml":    []byte(referenceConfig),
		"data.csv":       csv.Bytes(),
		"data.jsonl.gz":  gz.Bytes(),
		"bad.csv":        []byte("amount,country\n1,DE\n2,FR\nabc,US\n"),
		"partial.csv":    []byte("amount,score\n1,0.5\n"),
		"data.txt":       []byte("amount\n1\n"),
		"churn-only.csv": []byte("amount,country,model\n1,DE,churn\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "ref"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func loadReference(t *testing.T, cfgPath, profile string) *windows.Reference {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := cfg.Model("fraud")
	layout := windows.Layout{{false, true}, {false}}
	ref, err := reference.Load(profile, m, layout, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestCmdReference(t *testing.T) {
	dir := referenceDir(t)
	cfgPath := filepath.Join(dir, "reckon.yaml")

	// CSV, written where the configuration's reference.file points.
	var stdout, stderr bytes.Buffer
	err := cmdReference([]string{"--config", cfgPath, "--model", "fraud", "--input", filepath.Join(dir, "data.csv")}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("cmdReference: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr (not a terminal: no progress bar): %q", stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"reference of model fraud from 3000 rows of " + filepath.Join(dir, "data.csv"),
		"ignored columns: id",
		"3000 labelled rows (for the calibrator)",
		// Labels are independent of the scores (one row in 7): the raw
		// scores are far from calibrated, and calibrating them moves
		// every estimate.
		"calibration: expected calibration error ",
		"of the raw scores, ",
		"after the isotonic fit (10-fold cross-validated)",
		"calibration moves the estimates on the reference by up to ",
		"calibration matters (> 0.01)",
		"feature", "amount", "numeric", "3000", "645", "country", "categorical", "(score)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	fromCSV := filepath.Join(dir, "ref", "fraud.json")
	ref := loadReference(t, cfgPath, fromCSV)
	if !ref.Complete || ref.Predictions != 3000 || ref.Calibrator == nil || ref.Features[1].Cat.Count("FR") != 1000 {
		t.Errorf("reference: complete %v predictions %d calibrator %v", ref.Complete, ref.Predictions, ref.Calibrator)
	}
	data, _ := os.ReadFile(fromCSV)
	if !bytes.Contains(data, []byte(`"generator": "reckon `)) {
		t.Error("profile has no generator")
	}

	// The same rows as gzipped prediction records give the same sketches.
	fromJSONL := filepath.Join(dir, "jsonl.json")
	stdout.Reset()
	err = cmdReference([]string{"--config", cfgPath, "--model", "fraud", "--input", filepath.Join(dir, "data.jsonl.gz"), "--out", fromJSONL}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "skipped 1 rows of other models") {
		t.Errorf("summary:\n%s", stdout.String())
	}
	ref2 := loadReference(t, cfgPath, fromJSONL)
	for i := range ref.Features {
		a, _ := marshal(ref.Features[i])
		b, _ := marshal(ref2.Features[i])
		if !bytes.Equal(a, b) {
			t.Errorf("feature %d: CSV and JSONL sketches differ", i)
		}
	}
	if a, _ := ref.Perf.MarshalBinary(); !bytes.Equal(a, must(ref2.Perf.MarshalBinary())) {
		t.Error("CSV and JSONL perf windows differ")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "ref"))
	if len(entries) != 1 {
		t.Errorf("ref/ holds %d files, want just the profile (no temporary files)", len(entries))
	}
}

func marshal(f windows.FeatureSketch) ([]byte, error) {
	if f.Num != nil {
		return f.Num.MarshalBinary()
	}
	return f.Cat.MarshalBinary()
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestCmdReferenceErrors(t *testing.T) {
	dir := referenceDir(t)
	cfgPath := filepath.Join(dir, "reckon.yaml")
	in := func(name string) string { return filepath.Join(dir, name) }
	out := in("out.json")
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"malformed row", []string{"--model", "fraud", "--input", in("bad.csv"), "--out", out}, false,
			in("bad.csv") + `:4: column "amount": "abc" is not a number`},
		{"missing columns", []string{"--model", "fraud", "--input", in("partial.csv"), "--out", out}, false,
			in("partial.csv") + `:1: no column for declared feature "country" (--allow-missing-columns treats them as missing)`},
		{"no rows of the model", []string{"--model", "fraud", "--input", in("churn-only.csv"), "--out", out}, false,
			`reference: no rows of model "fraud" in ` + in("churn-only.csv") + ` (1 rows read, 1 of other models)`},
		{"no input", []string{"--model", "fraud"}, true, "reference: --input is required"},
		{"unknown model", []string{"--model", "nope", "--input", in("data.csv")}, true, `reference: model "nope" is not configured (models: fraud, churn)`},
		{"model required", []string{"--input", in("data.csv")}, true, "reference: --model is required: " + cfgPath + " configures 2 models"},
		{"out required", []string{"--model", "churn", "--input", in("data.csv")}, true, `reference: --out is required: model "churn" has no reference.file in ` + cfgPath},
		{"extension", []string{"--model", "fraud", "--input", in("data.txt"), "--out", out}, true, "reference: cannot tell the format of"},
		{"format", []string{"--model", "fraud", "--input", in("data.txt"), "--format", "xml", "--out", out}, true, `reference: unknown input format "xml"`},
		{"stdin needs format", []string{"--model", "fraud", "--input", "-", "--out", out}, true, "reference: --format is required to read standard input"},
		{"delimiter", []string{"--model", "fraud", "--input", in("data.csv"), "--csv.delimiter", ";;", "--out", out}, true, `reference: --csv.delimiter: ";;"`},
		{"missing file", []string{"--model", "fraud", "--input", in("none.csv"), "--out", out}, false, "stat " + in("none.csv")},
		{"arguments", []string{"--model", "fraud", "extra"}, true, `reference: unexpected arguments ["extra"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := cmdReference(append([]string{"--config", cfgPath}, tc.args...), &stdout, &stderr)
			if err == nil {
				t.Fatal("no error")
			}
			var ue *usageError
			if errors.As(err, &ue) != tc.usage {
				t.Errorf("usage error %v, want %v: %v", !tc.usage, tc.usage, err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Error("a profile was written")
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 8 {
		t.Errorf("%d files in the directory, want the 8 written (no temporary files left)", len(entries))
	}

	var stdout, stderr bytes.Buffer
	err := cmdReference([]string{"--config", in("nope.yaml"), "--input", in("data.csv")}, &stdout, &stderr)
	var ue *usageError
	if !errors.As(err, &ue) {
		t.Errorf("missing configuration: %v, want a usage error", err)
	}
}

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	bar := &progressBar{w: &buf, total: 1000}
	r := bar.start("dir/data.csv", strings.NewReader(strings.Repeat("x", 1000)))
	buf2 := make([]byte, 250)
	r.Read(buf2)
	bar.update(10) // too soon after start: nothing
	if buf.Len() != 0 {
		t.Errorf("drew at once: %q", buf.String())
	}
	bar.last = time.Now().Add(-time.Second)
	bar.update(12345)
	if got, want := buf.String(), "\rdata.csv [=======                       ]  25%  12345 rows\x1b[K"; got != want {
		t.Errorf("bar %q, want %q", got, want)
	}
	buf.Reset()
	bar.clear()
	if buf.String() != "\r\x1b[K" {
		t.Errorf("clear %q", buf.String())
	}
	// Not a terminal: nothing at all.
	if newProgressBar(&buf).w != nil {
		t.Error("progress bar on a buffer")
	}
}

// TestCmdReferenceLearned: for a model with learned thresholds and
// multivariate drift, `reckon reference` cuts timestamped rows into the
// configured windows and fits the PCA, says so in its summary, and the
// preflight check accepts the profile; rows without timestamps are refused.
func TestCmdReferenceLearned(t *testing.T) {
	dir := t.TempDir()
	const cfgText = `
windows: [1h]
models:
  - name: m
    reference: {file: m.json}
    drift: {threshold: learned, multivariate: true}
    features:
      - {name: x, type: numeric}
      - {name: y, type: numeric}
      - {name: c, type: categorical}
`
	var csv bytes.Buffer
	csv.WriteString("timestamp,x,y,c,score\n")
	t0 := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	for i := range 6000 {
		x := float64(i%101) - 50
		fmt.Fprintf(&csv, "%s,%g,%g,%s,%g\n", t0.Add(time.Duration(i)*6*time.Second).Format(time.RFC3339), x, 0.5*x+float64(i%13), []string{"a", "b", "c"}[i%3], float64(i%100)/100)
	}
	cfgPath := filepath.Join(dir, "reckon.yaml")
	for name, data := range map[string][]byte{"reckon.yaml": []byte(cfgText), "data.csv": csv.Bytes(), "nots.csv": []byte("x,y,c\n1,2,a\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	if err := cmdReference([]string{"--config", cfgPath, "--input", filepath.Join(dir, "data.csv")}, &stdout, &stderr); err != nil {
		t.Fatalf("cmdReference: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"10 windows of 1h0m0s for learned thresholds", "multivariate drift: 1 principal component explains 65.6% of the variance"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout.String())
		}
	}
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkFiles(cfgPath, data, cfg); err != nil {
		t.Errorf("preflight: %v", err)
	}
	err = cmdReference([]string{"--config", cfgPath, "--input", filepath.Join(dir, "nots.csv"), "--out", filepath.Join(dir, "x.json")}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "timestamp") {
		t.Errorf("rows without timestamps: %v", err)
	}
	// A configuration with a window the profile lacks fails the preflight
	// check, naming the file's key.
	cfg2 := strings.Replace(cfgText, "windows: [1h]", "windows: [1h, 2h]", 1)
	if err := os.WriteFile(cfgPath, []byte(cfg2), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err = config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkFiles(cfgPath, []byte(cfg2), cfg); err == nil || !strings.Contains(err.Error(), "models[0].reference.file") || !strings.Contains(err.Error(), "no windows of 2h") {
		t.Errorf("preflight with a 2h window: %v", err)
	}
}
