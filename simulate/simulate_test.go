package simulate

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestDeterministicAndValid checks that a seed fixes the traffic, that
// every record is JSON with the schema's fields, and that outcomes come
// after their predictions.
func TestDeterministicAndValid(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	run := func() (preds, outs [][]byte) {
		g := NewGenerator(Options{Seed: 7, Start: start})
		for i := range 2000 {
			ts := start.Add(time.Duration(i) * time.Second)
			_, v := g.Prediction(ts)
			preds = append(preds, v)
			g.Outcomes(ts, func(_, v []byte) { outs = append(outs, v) })
		}
		g.Outcomes(start.Add(48*time.Hour), func(_, v []byte) { outs = append(outs, v) })
		return preds, outs
	}
	p1, o1 := run()
	p2, o2 := run()
	if len(p1) != len(p2) || len(o1) != len(o2) || !bytes.Equal(p1[1999], p2[1999]) || !bytes.Equal(o1[len(o1)-1], o2[len(o2)-1]) {
		t.Fatal("the same seed gave different traffic")
	}
	if n := len(o1); n < 1500 || n > 2000 {
		t.Errorf("%d outcomes for 2000 predictions, want about 90%% of the ok ones", n)
	}
	for _, v := range append(p1[:50], o1[:50]...) {
		var m map[string]any
		if err := json.Unmarshal(v, &m); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if m["prediction_id"] == "" || m["model"] != "fraud" || m["timestamp"] == nil {
			t.Errorf("record %s lacks a required field", v)
		}
	}
}
