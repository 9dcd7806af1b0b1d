package event

// This file keeps fastjson, which reckon's scanner replaced, as the oracle
// of FuzzDecodeMatchesOracle: a second implementation of the scanner side
// of the boundary (Format), fed through the same Rules. Only the scanners
// are compared; there is one copy of the rules.

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// fastjsonFormat finds the contract's fields with fastjson.
type fastjsonFormat struct {
	parser fastjson.Parser
	f      *Fields
	// The visitors, built once rather than a closure per record.
	visitTop, visitFeature, visitScore func(key []byte, v *fastjson.Value)
}

func newFastjsonFormat() *fastjsonFormat {
	j := &fastjsonFormat{}
	j.visitTop = func(key []byte, v *fastjson.Value) {
		k, ok := FieldOf(key)
		if !ok {
			return
		}
		if k == FieldFeatures && v.Type() == fastjson.TypeObject {
			if j.f.Set(k, Value{Type: TypeObject}) {
				o, _ := v.Object()
				o.Visit(j.visitFeature)
			}
			return
		}
		if k == FieldScores && v.Type() == fastjson.TypeObject {
			if j.f.Set(k, Value{Type: TypeObject}) {
				o, _ := v.Object()
				o.Visit(j.visitScore)
			}
			return
		}
		j.f.Set(k, fastjsonValue(v))
	}
	j.visitFeature = func(key []byte, v *fastjson.Value) { j.f.AddFeature(key, fastjsonValue(v)) }
	j.visitScore = func(key []byte, v *fastjson.Value) { j.f.AddScore(key, fastjsonValue(v)) }
	return j
}

// Scan implements Format.
func (j *fastjsonFormat) Scan(b []byte, f *Fields) error {
	f.Reset()
	if !utf8.Valid(b) {
		return &DecodeError{Reason: ReasonInvalidUTF8, Detail: "record value is not valid UTF-8"}
	}
	v, err := j.parser.ParseBytes(b)
	if err != nil {
		return &DecodeError{Reason: ReasonInvalidJSON, Detail: err.Error()}
	}
	o, err := v.Object()
	if err != nil {
		return &DecodeError{Reason: ReasonInvalidJSON, Detail: "record is a JSON " + v.Type().String() + ", want an object"}
	}
	j.f = f
	o.Visit(j.visitTop)
	j.f = nil
	return nil
}

// fastjsonValue converts a fastjson value. fastjson reads a number literal
// beyond float64's range as ±Inf, as the scanner does.
func fastjsonValue(v *fastjson.Value) Value {
	switch v.Type() {
	case fastjson.TypeNull:
		return Value{Type: TypeNull}
	case fastjson.TypeTrue:
		return Value{Type: TypeBool, Bool: true}
	case fastjson.TypeFalse:
		return Value{Type: TypeBool}
	case fastjson.TypeNumber:
		// fastjson accepts some invalid literals that it cannot convert;
		// the comparison ignores invalid JSON, so any value does then.
		x, _ := v.Float64()
		return Value{Type: TypeNumber, Num: x}
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		return Value{Type: TypeString, Str: s}
	case fastjson.TypeObject:
		return Value{Type: TypeObject}
	}
	return Value{Type: TypeArray}
}

// FuzzDecodeMatchesOracle checks reckon's scanner against fastjson, each
// feeding the same rules: on valid JSON they must agree on the outcome and
// on every decoded field. (fastjson accepts some invalid JSON,
// such as NaN literals, which the scanner rejects: there only the scanner's
// rejection is checked.)
func FuzzDecodeMatchesOracle(f *testing.F) {
	f.Add([]byte(benchRecord))
	f.Add([]byte(`{"prediction_id":"a\u00e9\ud83d\ude00","model":"fraud","timestamp":"2026-01-01T00:00:00.5+02:00","score":0.25,"features":{"amount":1e3,"age":"x","country":"DE","zz":[{}],"is_new":false},"extra":{"a":[1,2,{"b":null}]}}`))
	f.Add([]byte(`{"prediction_id":"a","model":"fraud","timestamp":17e11,"label":"chargeback","features":null,"features":{"amount":1}}`))
	f.Add([]byte(`{"prediction_id":"x\"y","model":"churn","timestamp":1700000000000,"predicted":true,"status":"error","error":"e\n"}`))
	f.Add([]byte(`{"prediction_id":"a","model":"fraud","timestamp":1796676000,"score":1,"features":"oops"}`))
	f.Add([]byte(`{"prediction_id":"a","model":"eta","timestamp":1796676000000,"value":-12.5e2,"score":"ignored","features":{"distance_km":3}}`))
	f.Add([]byte(`{"prediction_id":"a","model":"intent","timestamp":1796676000000,"predicted":"billing","scores":{"billing":0.5,"shipping":0.25,"returns":0.25,"billing":1}}`))
	f.Add([]byte(`{"prediction_id":"a","model":"intent","timestamp":1796676000000,"predicted":"spam","scores":{"spam":1},"label":"returns"}`))
	schema := testSchema()
	d, o := NewDecoder(schema, 1<<16), NewDecoderFor(newFastjsonFormat(), schema, 1<<16)
	p1, p2 := d.NewPrediction(), d.NewPrediction()
	f.Fuzz(func(t *testing.T, b []byte) {
		valid := json.Valid(b)
		// fastjson keeps a lone surrogate escape such as \ud800 as its six
		// characters; the scanner decodes it as U+FFFD, as encoding/json
		// does. Such strings cannot agree, so only the verdicts are
		// compared then.
		lone := hasLoneSurrogate(b)
		e1, e2 := d.DecodePrediction(b, p1), o.DecodePrediction(b, p2)
		checkAgree(t, "prediction", b, valid, e1, e2, func() string {
			if lone {
				return ""
			}
			return diffPredictions(schema, p1, p2)
		})
		var o1, o2 Outcome
		e1, e2 = d.DecodeOutcome(b, &o1), o.DecodeOutcome(b, &o2)
		checkAgree(t, "outcome", b, valid, e1, e2, func() string {
			if lone {
				return ""
			}
			if string(o1.ID) != string(o2.ID) || o1.Model != o2.Model || o1.TimeMs != o2.TimeMs || o1.Label != o2.Label {
				return fmt.Sprintf("%+v vs %+v", o1, o2)
			}
			return ""
		})
	})
}

// hasLoneSurrogate reports whether b has a \u escape of a UTF-16 surrogate
// that is not half of a high-low pair.
func hasLoneSurrogate(b []byte) bool {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 16)
		return rune(n), err == nil
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		r, ok := hex4(i)
		if !ok {
			i++ // an escaped character, perhaps a backslash
			continue
		}
		switch {
		case r >= 0xd800 && r < 0xdc00:
			if lo, ok := hex4(i + 6); ok && lo >= 0xdc00 && lo < 0xe000 {
				i += 11
				continue
			}
			return true
		case r >= 0xdc00 && r < 0xe000:
			return true
		}
		i += 5
	}
	return false
}

func checkAgree(t *testing.T, what string, b []byte, valid bool, got, want error, diff func() string) {
	t.Helper()
	var g, w *DecodeError
	errors.As(got, &g)
	errors.As(want, &w)
	switch {
	case got != nil && g == nil:
		t.Fatalf("%s %q: error %T %v is not a *DecodeError", what, b, got, got)
	case !valid:
		if got == nil && g == nil && utf8.Valid(b) {
			// Our scanner accepted what encoding/json calls invalid.
			t.Fatalf("%s %q: accepted invalid JSON", what, b)
		}
	case (g == nil) != (w == nil):
		t.Fatalf("%s %q: scanner %v, oracle %v", what, b, got, want)
	case g != nil && (g.Reason != w.Reason || g.Field != w.Field):
		// fastjson reads a duplicate key's last value in a few places
		// where the scanner keeps the first; both are documented as first
		// wins, so a disagreement is a bug in one of them.
		t.Fatalf("%s %q: scanner %v, oracle %v", what, b, got, want)
	case g == nil:
		if d := diff(); d != "" {
			t.Fatalf("%s %q: decoded differently: %s", what, b, d)
		}
	}
}

func diffPredictions(s *Schema, a, b *Prediction) string {
	eq := func(x, y float64) bool { return x == y || (x != x && y != y) }
	if string(a.ID) != string(b.ID) || a.Model != b.Model || string(a.ModelVersion) != string(b.ModelVersion) ||
		a.TimeMs != b.TimeMs || a.Error != b.Error || string(a.ErrorKind) != string(b.ErrorKind) ||
		!eq(a.Score, b.Score) || a.Predicted != b.Predicted || !eq(a.LatencySeconds, b.LatencySeconds) ||
		!eq(a.Value, b.Value) || a.Class != b.Class || a.HasScores != b.HasScores ||
		a.HasScores && !slices.Equal(a.Scores[:len(s.Model(a.Model).Classes)], b.Scores[:len(s.Model(b.Model).Classes)]) {
		return fmt.Sprintf("top-level fields %+v vs %+v", *a, *b)
	}
	for i := range s.Model(a.Model).Features {
		if a.Missing[i] != b.Missing[i] || (!a.Missing[i] && (!eq(a.Num[i], b.Num[i]) && s.Model(a.Model).Features[i].Kind == Numeric || string(a.Cat[i]) != string(b.Cat[i]))) {
			return fmt.Sprintf("feature %d: %v/%v/%q vs %v/%v/%q", i, a.Missing[i], a.Num[i], a.Cat[i], b.Missing[i], b.Num[i], b.Cat[i])
		}
	}
	if !slices.Equal(a.Violations, b.Violations) {
		return fmt.Sprintf("violations %v vs %v", a.Violations, b.Violations)
	}
	return ""
}
