package gen

import (
	"testing"

	"github.com/reckonhq/reckon/event"
)

// TestRecordsDecode checks that the generated records are valid for the
// generated configuration: no dead letters, outcomes after their
// predictions, event time in order.
func TestRecordsDecode(t *testing.T) {
	for _, nf := range []int{1, 4, 10, 25} {
		o := Defaults()
		o.Features = nf
		cfg, err := Config(o, true)
		if err != nil {
			t.Fatal(err)
		}
		schema := event.SchemaFromConfig(cfg)
		d := event.NewDecoder(schema, cfg.MaxRecordBytes)
		p := d.NewPrediction()
		var out event.Outcome
		g := New(o)
		seen := map[string]bool{}
		var violations int
		var r Record
		for range 20000 {
			g.Next(&r)
			switch r.Topic {
			case Predictions:
				if err := d.DecodePrediction(r.Value, p); err != nil {
					t.Fatalf("features=%d: %s: %v", nf, r.Value, err)
				}
				if p.TimeMs != r.TimeMs || p.Model != r.Model || string(p.ID) != string(r.Key) {
					t.Fatalf("decoded %+v from %s", p, r.Value)
				}
				violations += len(p.Violations)
				seen[string(r.Key)] = true
			case Outcomes:
				if err := d.DecodeOutcome(r.Value, &out); err != nil {
					t.Fatalf("%s: %v", r.Value, err)
				}
				if !seen[string(r.Key)] {
					t.Fatalf("outcome before its prediction: %s", r.Value)
				}
			}
		}
		g.Probe(&r, 7)
		if err := d.DecodePrediction(r.Value, p); err != nil || schema.Model(p.Model).Name != ProbeModel || string(p.ModelVersion) != "p7" {
			t.Fatalf("probe %s: %v", r.Value, err)
		}
		np, no := g.Emitted()
		t.Logf("features=%d: %d predictions, %d outcomes, %.3f violations/prediction, e.g. %s", nf, np, no, float64(violations)/float64(np), r.Value)
	}
}
