package reference

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/windows"
)

const kindsConfig = `
models:
  - name: eta
    kind: regression
    features: [{name: distance_km, type: numeric}]
  - name: intent
    kind: multiclass
    classes: ["billing", "shipping", "1"]
    features: [{name: channel, type: categorical}]
`

// TestKindProfiles builds a regression model's profile from CSV and a
// multiclass model's from JSON Lines (wire records and flat rows), saves
// and reads them back, and checks what they hold against the rows: the
// predicted values' and labels' distributions and the error of a
// regression model, the class shares and confusion of a multiclass one.
func TestKindProfiles(t *testing.T) {
	cfg, err := config.Parse("reckon.yaml", []byte(kindsConfig))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("regression", func(t *testing.T) {
		var csv strings.Builder
		csv.WriteString("distance_km,value,label\n")
		var sumAbs float64
		labelled := 0
		for i := range 200 {
			v, y := float64(i)/4, float64(i)/4+float64(i%5)-2
			if i%10 == 9 {
				fmt.Fprintf(&csv, "%d,%v,\n", i, v) // unlabelled
				continue
			}
			fmt.Fprintf(&csv, "%d,%v,%v\n", i, v, y)
			sumAbs += math.Abs(float64(float32(v)) - float64(float32(y)))
			labelled++
		}
		b := newBuilder(t, cfg, "eta")
		if err := b.Read("eta.csv", strings.NewReader(csv.String()), FormatCSV); err != nil {
			t.Fatal(err)
		}
		p := roundTrip(t, b.Profile(), cfg, "eta", 0)
		pt := p.Partial
		if pt.Reg == nil || pt.Multi != nil {
			t.Fatalf("regression part %v, multiclass %v", pt.Reg, pt.Multi)
		}
		if pt.Score.Count() != 200 || pt.Reg.Labels.Count() != uint64(labelled) || pt.Reg.Perf.Count() != uint64(labelled) {
			t.Errorf("values %d labels %d pairs %d, want 200 %d %d", pt.Score.Count(), pt.Reg.Labels.Count(), pt.Reg.Perf.Count(), labelled, labelled)
		}
		if mae := pt.Reg.Perf.Error().MAE; math.Abs(mae-sumAbs/float64(labelled)) > 1e-12 {
			t.Errorf("MAE %v, want %v", mae, sumAbs/float64(labelled))
		}
		if p.Stats.Joined != int64(labelled) {
			t.Errorf("joined %d, want %d", p.Stats.Joined, labelled)
		}
		ref := p.Reference()
		if len(ref.LabelEdges) == 0 {
			t.Error("no label edges: no label drift against this reference")
		}
	})
	t.Run("multiclass", func(t *testing.T) {
		lines := []string{
			`{"prediction_id":"a","model":"intent","timestamp":1796676000000,"features":{"channel":"web"},"predicted":"billing","scores":{"billing":0.9,"shipping":0.1},"label":"billing"}`,
			`{"prediction_id":"b","model":"intent","timestamp":1796676000000,"features":{"channel":"web"},"predicted":"shipping","label":"1"}`,
			`{"channel":"app","predicted":"1","label":"1","scores":{"1":1}}`,
			`{"channel":"app","predicted":"spam","label":"billing"}`,
			`{"channel":"app","predicted":"billing"}`,
		}
		b := newBuilder(t, cfg, "intent")
		if err := b.Read("intent.jsonl", strings.NewReader(strings.Join(lines, "\n")), FormatJSONL); err != nil {
			t.Fatal(err)
		}
		p := roundTrip(t, b.Profile(), cfg, "intent", 1)
		m := p.Partial.Multi
		if m == nil {
			t.Fatal("no multiclass part")
		}
		if m.Perf.Cell(0, 0) != 1 || m.Perf.Cell(2, 1) != 1 || m.Perf.Cell(2, 2) != 1 || m.Perf.Undeclared() != 1 || m.Perf.Count() != 3 {
			t.Errorf("confusion: %d %d %d undeclared %d", m.Perf.Cell(0, 0), m.Perf.Cell(2, 1), m.Perf.Cell(2, 2), m.Perf.Undeclared())
		}
		if m.Predicted.Count("billing") != 2 || m.Predicted.Count("1") != 1 || m.Labels.Count("1") != 2 || m.Labels.Count("billing") != 2 {
			t.Errorf("class shares: predicted billing %d, 1 %d; labels 1 %d, billing %d",
				m.Predicted.Count("billing"), m.Predicted.Count("1"), m.Labels.Count("1"), m.Labels.Count("billing"))
		}
		if m.Estimate.Count() != 2 {
			t.Errorf("scored %d, want 2", m.Estimate.Count())
		}
		if got := p.Stats.Violations[1][4]; got != 1 { // _predicted, new_category
			t.Errorf("_predicted violations %d, want 1", got)
		}
	})
}

// roundTrip saves p and reads it back for model name (index mi).
func roundTrip(t *testing.T, p *Profile, cfg *config.Config, name string, mi int) *Profile {
	t.Helper()
	var buf bytes.Buffer
	if err := Save(&buf, p); err != nil {
		t.Fatal(err)
	}
	m, _ := cfg.Model(name)
	back, err := ReadProfile(&buf, m, windows.LayoutOf(cfg), mi)
	if err != nil {
		t.Fatal(err)
	}
	back.Stats.Violations = p.Stats.Violations
	return back
}
