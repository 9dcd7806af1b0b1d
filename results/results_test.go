package results

import (
	"strings"
	"testing"
	"time"
)

func TestRoundTripAndUTC(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	fpr := 0.25
	drifted := true
	in := &Record{
		Model: "fraud", Window: "5m",
		Start: time.Date(2026, 1, 1, 1, 0, 0, 0, berlin), End: time.Date(2026, 1, 1, 1, 5, 0, 0, berlin),
		Predictions: 10, Errors: 1, Outcomes: 4,
		Confusion: Confusion{TP: 1, FP: 1, TN: 2},
		Rates:     Rates{FPR: &fpr},
		Features:  map[string]Feature{"amount": {Drifted: &drifted, Test: "ks", Drift: map[string]float64{"ks": 0.3}, Count: 9}},
	}
	b, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"start":"2026-01-01T00:00:00Z"`, `"confusion":{"tp":1,"fp":1,"tn":2,"fn":0}`, `"rates":{"fpr":0.25}`, `"drifted":true`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("record %s lacks %s", b, want)
		}
	}
	out, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Start.Equal(in.Start) || *out.Rates.FPR != fpr || out.Rates.TPR != nil || !*out.Features["amount"].Drifted {
		t.Errorf("round trip: %+v", out)
	}
}
