package event

import (
	"errors"
	"math"
	"slices"
	"testing"
)

// The identity every record of these tests starts with, per model.
const (
	etaHead    = `{"prediction_id":"p1","model":"eta","timestamp":1796676000000`
	intentHead = `{"prediction_id":"p1","model":"intent","timestamp":1796676000000`
)

func TestDecodeRegressionPrediction(t *testing.T) {
	tests := []struct {
		name   string
		rec    string
		value  float64 // NaN: none
		reason Reason
		field  string
	}{
		{"value", etaHead + `,"value":42.5,"features":{"distance_km":3}}`, 42.5, ReasonNone, ""},
		{"negative, score and predicted ignored", etaHead + `,"value":-1e3,"score":"x","predicted":7,"features":{"distance_km":3}}`, -1000, ReasonNone, ""},
		{"error without value", etaHead + `,"status":"error"}`, math.NaN(), ReasonNone, ""},
		{"missing value", etaHead + `,"score":0.5,"features":{"distance_km":3}}`, 0, ReasonMissingField, "value"},
		{"null value", etaHead + `,"value":null}`, 0, ReasonMissingField, "value"},
		{"string value", etaHead + `,"value":"42"}`, 0, ReasonWrongType, "value"},
		{"infinite value", etaHead + `,"value":1e999}`, 0, ReasonInvalidValue, "value"},
	}
	d := NewDecoder(testSchema(), 0)
	p := d.NewPrediction()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.DecodePrediction([]byte(tt.rec), p)
			if tt.reason != ReasonNone {
				var de *DecodeError
				if !errors.As(err, &de) || de.Reason != tt.reason || de.Field != tt.field {
					t.Fatalf("err = %v, want %s of %s", err, tt.reason, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !(p.Value == tt.value || p.Value != p.Value && tt.value != tt.value) {
				t.Errorf("Value = %v, want %v", p.Value, tt.value)
			}
			if p.Score == p.Score || p.Class != -1 || p.HasScores {
				t.Errorf("score %v class %d scores %v: want none", p.Score, p.Class, p.HasScores)
			}
		})
	}
}

func TestDecodeMulticlassPrediction(t *testing.T) {
	newPred := Violation{Feature: 1, Kind: ViolationNewCategory} // intent's _predicted: after its one feature
	tests := []struct {
		name       string
		rec        string
		class      int
		scores     []float64 // nil: none
		violations []Violation
		reason     Reason
		field      string
	}{
		{"class", intentHead + `,"predicted":"shipping","features":{"channel":"web"}}`, 1, nil, nil, ReasonNone, ""},
		{"scores", intentHead + `,"predicted":"billing","scores":{"billing":0.7,"returns":0.3},"features":{"channel":"web"}}`,
			0, []float64{0.7, 0, 0.3}, nil, ReasonNone, ""},
		{"scores within 1e-6", intentHead + `,"predicted":"billing","scores":{"billing":0.3333333,"shipping":0.3333333,"returns":0.3333333},"features":{"channel":"web"}}`,
			0, []float64{0.3333333, 0.3333333, 0.3333333}, nil, ReasonNone, ""},
		{"duplicate score, first wins", intentHead + `,"predicted":"billing","scores":{"billing":1,"billing":0.5},"features":{"channel":"web"}}`,
			0, []float64{1, 0, 0}, nil, ReasonNone, ""},
		{"undeclared predicted", intentHead + `,"predicted":"spam","features":{"channel":"web"}}`, -1, nil, []Violation{newPred}, ReasonNone, ""},
		{"undeclared class in scores", intentHead + `,"predicted":"billing","scores":{"billing":0.5,"spam":0.5},"features":{"channel":"web"}}`,
			0, nil, []Violation{newPred}, ReasonNone, ""},
		{"undeclared in both, counted once", intentHead + `,"predicted":"spam","scores":{"spam":1},"features":{"channel":"web"}}`,
			-1, nil, []Violation{newPred}, ReasonNone, ""},
		{"error without class", intentHead + `,"status":"error"}`, -1, nil, nil, ReasonNone, ""},
		{"missing predicted", intentHead + `,"score":0.9,"features":{"channel":"web"}}`, 0, nil, nil, ReasonMissingField, "predicted"},
		{"numeric predicted", intentHead + `,"predicted":1}`, 0, nil, nil, ReasonWrongType, "predicted"},
		{"scores not an object", intentHead + `,"predicted":"billing","scores":[1]}`, 0, nil, nil, ReasonWrongType, "scores"},
		{"score not a number", intentHead + `,"predicted":"billing","scores":{"billing":"1"}}`, 0, nil, nil, ReasonWrongType, "scores"},
		{"score above 1", intentHead + `,"predicted":"billing","scores":{"billing":1.5}}`, 0, nil, nil, ReasonInvalidValue, "scores"},
		{"scores not summing to 1", intentHead + `,"predicted":"billing","scores":{"billing":0.5,"shipping":0.4}}`, 0, nil, nil, ReasonInvalidValue, "scores"},
	}
	d := NewDecoder(testSchema(), 0)
	p := d.NewPrediction()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.DecodePrediction([]byte(tt.rec), p)
			if tt.reason != ReasonNone {
				var de *DecodeError
				if !errors.As(err, &de) || de.Reason != tt.reason || de.Field != tt.field {
					t.Fatalf("err = %v, want %s of %s", err, tt.reason, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Class != tt.class {
				t.Errorf("Class = %d, want %d", p.Class, tt.class)
			}
			if p.HasScores != (tt.scores != nil) || p.HasScores && !slices.Equal(p.Scores[:3], tt.scores) {
				t.Errorf("scores %v %v, want %v", p.HasScores, p.Scores, tt.scores)
			}
			if !slices.Equal(p.Violations, tt.violations) {
				t.Errorf("violations %v, want %v", p.Violations, tt.violations)
			}
		})
	}
}

func TestDecodeOutcomeKinds(t *testing.T) {
	tests := []struct {
		name     string
		rec      string
		value    float64
		class    int
		newClass bool
		reason   Reason
	}{
		{"regression", etaHead + `,"label":17.25}`, 17.25, -1, false, ReasonNone},
		{"regression zero", etaHead + `,"label":0}`, 0, -1, false, ReasonNone},
		{"regression string", etaHead + `,"label":"17"}`, 0, 0, false, ReasonBadLabel},
		{"regression bool", etaHead + `,"label":true}`, 0, 0, false, ReasonBadLabel},
		{"regression infinite", etaHead + `,"label":-1e400}`, 0, 0, false, ReasonBadLabel},
		{"regression missing", etaHead + `}`, 0, 0, false, ReasonMissingField},
		{"multiclass", intentHead + `,"label":"returns"}`, math.NaN(), 2, false, ReasonNone},
		{"multiclass undeclared", intentHead + `,"label":"spam"}`, math.NaN(), -1, true, ReasonNone},
		{"multiclass number", intentHead + `,"label":1}`, 0, 0, false, ReasonBadLabel},
		{"multiclass null", intentHead + `,"label":null}`, 0, 0, false, ReasonMissingField},
	}
	d := NewDecoder(testSchema(), 0)
	var o Outcome
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.DecodeOutcome([]byte(tt.rec), &o)
			if tt.reason != ReasonNone {
				var de *DecodeError
				if !errors.As(err, &de) || de.Reason != tt.reason || de.Field != "label" {
					t.Fatalf("err = %v, want %s of label", err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !(o.Value == tt.value || o.Value != o.Value && tt.value != tt.value) || o.Class != tt.class || o.NewClass != tt.newClass {
				t.Errorf("outcome %+v, want value %v class %d new %v", o, tt.value, tt.class, tt.newClass)
			}
		})
	}
}

// TestDecodeKindsAllocateNothing holds the hot path of the new kinds to
// what the binary one does: no allocation per record in steady state.
func TestDecodeKindsAllocateNothing(t *testing.T) {
	d := NewDecoder(testSchema(), 0)
	p := d.NewPrediction()
	var o Outcome
	recs := []string{
		etaHead + `,"value":42.5,"features":{"distance_km":3}}`,
		intentHead + `,"predicted":"billing","scores":{"billing":0.7,"shipping":0.2,"returns":0.1},"features":{"channel":"web"}}`,
		intentHead + `,"predicted":"spam","features":{"channel":"web"}}`,
	}
	for _, r := range recs {
		b := []byte(r)
		if n := testing.AllocsPerRun(100, func() {
			if err := d.DecodePrediction(b, p); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per prediction", r, n)
		}
	}
	for _, r := range []string{etaHead + `,"label":3.5}`, intentHead + `,"label":"returns"}`} {
		b := []byte(r)
		if n := testing.AllocsPerRun(100, func() {
			if err := d.DecodeOutcome(b, &o); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per outcome", r, n)
		}
	}
}

// BenchmarkDecodeMulticlass measures a multiclass prediction with scores.
func BenchmarkDecodeMulticlass(b *testing.B) {
	d := NewDecoder(testSchema(), 0)
	p := d.NewPrediction()
	rec := []byte(intentHead + `,"predicted":"billing","scores":{"billing":0.7,"shipping":0.2,"returns":0.1},"features":{"channel":"web"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := d.DecodePrediction(rec, p); err != nil {
			b.Fatal(err)
		}
	}
}
