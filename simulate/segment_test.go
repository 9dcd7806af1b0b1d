package simulate

import (
	"math"
	"testing"
	"time"

	"github.com/reckonhq/reckon/event"
)

// Fraud's segment country=NL degrades on its own at +2h: counted
// from the generated records themselves (predicted = score ≥ threshold,
// the label as published), NL's false-positive rate rises several times
// more than the model's, which barely moves.
func TestFraudSegmentDegrades(t *testing.T) {
	o := Fraud()
	o.EventRate = 20
	cfg, err := Config(o, false)
	if err != nil {
		t.Fatal(err)
	}
	if segs := cfg.Models[0].Segments; len(segs) != 1 || segs[0].Feature != "country" {
		t.Fatalf("Fraud's configuration has segments %+v, want country", segs)
	}
	d := event.NewDecoder(event.SchemaFromConfig(cfg), cfg.MaxRecordBytes)
	p := d.NewPrediction()
	country, _ := cfg.Models[0].FeatureIndex("country")
	// An hour on either side of the segment's drift, after the model's.
	driftMs := o.SegmentDriftTime().UnixMilli()
	fromMs := driftMs - time.Hour.Milliseconds()
	type pred struct {
		predicted, nl, after bool
	}
	preds := map[string]pred{}
	// fp, tn by [after][nl]
	var fp, tn [2][2]float64
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	g := New(o)
	var r Record
	var out event.Outcome
	for g.NextTime() < driftMs+time.Hour.Milliseconds() {
		g.Next(&r)
		if r.Topic == Outcomes {
			if err := d.DecodeOutcome(r.Value, &out); err != nil {
				t.Fatal(err)
			}
			pr, ok := preds[string(out.ID)]
			if !ok || out.Label {
				continue
			}
			if pr.predicted {
				fp[b2i(pr.after)][b2i(pr.nl)]++
			} else {
				tn[b2i(pr.after)][b2i(pr.nl)]++
			}
			continue
		}
		if err := d.DecodePrediction(r.Value, p); err != nil {
			t.Fatal(err)
		}
		if p.Error || p.TimeMs < fromMs {
			continue
		}
		preds[string(p.ID)] = pred{p.Predicted, !p.Missing[country] && string(p.Cat[country]) == o.Drift.Segment, p.TimeMs >= driftMs}
	}
	fpr := func(after int, nl ...int) float64 {
		var f, n float64
		for _, s := range nl {
			f += fp[after][s]
			n += fp[after][s] + tn[after][s]
		}
		return f / n
	}
	nlBefore, nlAfter := fpr(0, 1), fpr(1, 1)
	allBefore, allAfter := fpr(0, 0, 1), fpr(1, 0, 1)
	t.Logf("FPR of NL %.3f → %.3f, of the model %.3f → %.3f", nlBefore, nlAfter, allBefore, allAfter)
	if nlAfter-nlBefore < 0.15 {
		t.Errorf("NL's FPR moved from %.3f to %.3f at the drift: want a rise of at least 0.15", nlBefore, nlAfter)
	}
	if rise := allAfter - allBefore; math.Abs(rise) > (nlAfter-nlBefore)/4 {
		t.Errorf("the model's FPR moved by %.3f: want under a quarter of NL's %.3f", rise, nlAfter-nlBefore)
	}
}
