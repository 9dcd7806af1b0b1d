package integration

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/results"
)

const referenceFileConfig = `
kafka:
  group: %[1]s
  predictions_topic: %[1]s-predictions
  outcomes_topic: %[1]s-outcomes
  dead_letter_topic: %[1]s-dead
  results_topic: %[1]s-results
windows: [1m]
allowed_lateness: 0s
idle_timeout: 60s
max_clock_skew: 0s
models:
  - name: m
    reference: {file: %[2]s}
    drift: {numeric_test: ks, categorical_test: chi2, p_value: 0.01}
    features:
      - {name: x, type: numeric}
      - {name: c, type: categorical}
`

// TestReferenceFileEndToEnd builds a reference profile with `reckon
// reference` from a CSV file, runs reckon against it, and checks that drift
// is computed from the first window on and flags a shift.
func TestReferenceFileEndToEnd(t *testing.T) {
	group := uniqueName("reffile")
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 6))
	cats := []string{"a", "b", "c"}
	var csv strings.Builder
	csv.WriteString("x,c,score\n")
	for range 5000 {
		fmt.Fprintf(&csv, "%.6f,%s,%.4f\n", rng.NormFloat64(), cats[rng.IntN(3)], rng.Float64())
	}
	csvPath, profile, cfgPath := filepath.Join(dir, "ref.csv"), filepath.Join(dir, "ref.json"), filepath.Join(dir, "reckon.yaml")
	cfg := fmt.Sprintf(referenceFileConfig, group, profile)
	for path, data := range map[string]string{csvPath: csv.String(), cfgPath: cfg} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(reckonBin, "reference", "--config", cfgPath, "--model", "m", "--input", csvPath, "--out", profile).CombinedOutput()
	if err != nil {
		t.Fatalf("reckon reference: %v\n%s", err, out)
	}

	const parts = 2
	createTopics(t, parts, group+"-predictions", group+"-outcomes")
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	change := t0.Add(20 * time.Minute)
	end := change.Add(5 * time.Minute)
	var recs []*kgo.Record
	i := 0
	for ts := t0; ts.Before(end); ts = ts.Add(250 * time.Millisecond) {
		x, c := rng.NormFloat64(), cats[rng.IntN(3)]
		if !ts.Before(change) {
			x, c = x+1, "c"
		}
		id := fmt.Sprintf("r-%06d", i)
		i++
		recs = append(recs, &kgo.Record{Topic: group + "-predictions", Key: []byte(id), Value: fmt.Appendf(nil,
			`{"prediction_id":%q,"model":"m","timestamp":%d,"score":%.4f,"features":{"x":%.6f,"c":%q}}`, id, ts.UnixMilli(), rng.Float64(), x, c)})
	}
	produceSync(t, newClient(t), recs...)
	produceSentinels(t, group+"-predictions", group+"-outcomes", parts, "m", end.Add(time.Hour))

	p := startReckon(t, cfg)
	windows := int(end.Sub(t0) / time.Minute)
	mfs := p.waitFor(t, 60*time.Second, "every window closed", func(m map[string]*dto.MetricFamily) bool {
		v, _ := value(m, "reckon_windows_closed_total", map[string]string{"model": "m", "window": "1m"})
		return v == float64(windows)
	})
	if v, _ := value(mfs, "reckon_reference_complete", map[string]string{"model": "m"}); v != 1 {
		t.Errorf("reckon_reference_complete = %v, want 1 (loaded from the file)", v)
	}
	byStart := map[time.Time]*results.Record{}
	for _, r := range readTopic(t, group+"-results", windows, 30*time.Second) {
		rec, err := results.Unmarshal(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		byStart[rec.Start] = rec
	}
	if len(byStart) != windows {
		t.Fatalf("results topic holds %d windows, want %d", len(byStart), windows)
	}
	alarms := 0
	for start, rec := range byStart {
		for name, f := range rec.Features {
			if f.Drifted == nil {
				t.Errorf("window %s: %s has no drift verdict with a reference file", start, name)
				continue
			}
			if start.Before(change) && *f.Drifted {
				alarms++
			}
			if !start.Before(change) && !*f.Drifted {
				t.Errorf("window %s after the shift: %s not flagged (stats %v)", start, name, f.Drift)
			}
		}
	}
	t.Logf("false alarms before the shift: %d of %d verdicts", alarms, 2*int(change.Sub(t0)/time.Minute))
	if alarms > 3 {
		t.Errorf("%d false alarms in %d stationary verdicts at p=0.01", alarms, 2*int(change.Sub(t0)/time.Minute))
	}
}
