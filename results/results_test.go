package results

import (
	"reflect"
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

// TestRoundTripEstimatesAndStandardErrors checks the estimated ROC AUC and
// F1 and the standard errors through Marshal and Unmarshal, with their
// JSON names, and that a record without standard errors (written before
// reckon computed them) decodes with none.
func TestRoundTripEstimatesAndStandardErrors(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	in := &Record{
		Model: "fraud", Window: "1h",
		Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC),
		Rates:     Rates{FPR: f(0.1), AUC: f(0.9)},
		Estimated: Rates{FPR: f(0.11), AUC: f(0.875), F1: f(0.625)},
		StandardError: &StandardErrors{
			Rates:     Rates{FPR: f(0.004), AUC: f(0.0051)},
			Estimated: Rates{FPR: f(0.0039), AUC: f(0.005), F1: f(0.0125)},
		},
	}
	b, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"estimated":{"fpr":0.11,"auc":0.875,"f1":0.625}`,
		`"standard_error":{"rates":{"fpr":0.004,"auc":0.0051},"estimated":{"fpr":0.0039,"auc":0.005,"f1":0.0125}}`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("record %s lacks %s", b, want)
		}
	}
	out, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
	old, err := Unmarshal([]byte(`{"model":"m","window":"5m","start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:05:00Z","estimated":{"fpr":0.1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if old.StandardError != nil || old.Estimated.AUC != nil {
		t.Errorf("old record decoded with %+v, %+v", old.StandardError, old.Estimated)
	}
}
