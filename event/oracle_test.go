package event

// This file keeps the fastjson-based decoder that the hand-written scanner
// replaced, as the oracle of FuzzDecodeMatchesOracle.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson"
)

// oracleDecoder decodes records against a Schema. It is not safe for concurrent
// use: each partition worker owns one.
type oracleDecoder struct {
	schema   *Schema
	maxBytes int
	// maxTimeMs rejects timestamps ahead of the wall clock by more than the
	// allowed skew (0 disables the check); see SetMaxTime.
	maxTimeMs int64

	parser fastjson.Parser

	// State for visitFeature, set before each Visit so that the visitor is
	// a method value built once rather than a closure per record.
	cur      *Prediction
	curModel *model
	visit    func(key []byte, v *fastjson.Value)

	pf       oraclePredictionFields
	visitTop func(key []byte, v *fastjson.Value)
}

// newOracleDecoder returns a decoder for records of at most maxBytes bytes
// (0 means unlimited).
func newOracleDecoder(s *Schema, maxBytes int) *oracleDecoder {
	d := &oracleDecoder{schema: s, maxBytes: maxBytes}
	d.visit = d.visitFeature
	d.visitTop = d.pf.visit
	return d
}

var (
	oBytesTrue  = []byte("true")
	oBytesFalse = []byte("false")
)

// parse checks size and encoding and returns the top-level object.
func (d *oracleDecoder) parse(b []byte) (*fastjson.Object, error) {
	if d.maxBytes > 0 && len(b) > d.maxBytes {
		return nil, &DecodeError{Reason: ReasonTooLarge, Detail: strconv.Itoa(len(b)) + " bytes exceeds max_record_bytes " + strconv.Itoa(d.maxBytes)}
	}
	if !utf8.Valid(b) {
		return nil, &DecodeError{Reason: ReasonInvalidUTF8, Detail: "record value is not valid UTF-8"}
	}
	v, err := d.parser.ParseBytes(b)
	if err != nil {
		return nil, &DecodeError{Reason: ReasonInvalidJSON, Detail: err.Error()}
	}
	o, err := v.Object()
	if err != nil {
		return nil, &DecodeError{Reason: ReasonInvalidJSON, Detail: "record is a JSON " + v.Type().String() + ", want an object"}
	}
	return o, nil
}

// oraclePredictionFields holds the top-level values of one prediction record,
// collected in a single pass over the object (cheaper than one linear Get
// per field). The first occurrence of a duplicate key wins.
type oraclePredictionFields struct {
	id, model, version, ts, status, errKind, latency, score, predicted, features *fastjson.Value
}

func (f *oraclePredictionFields) visit(key []byte, v *fastjson.Value) {
	var dst **fastjson.Value
	switch string(key) {
	case "prediction_id":
		dst = &f.id
	case "model":
		dst = &f.model
	case "model_version":
		dst = &f.version
	case "timestamp":
		dst = &f.ts
	case "status":
		dst = &f.status
	case "error":
		dst = &f.errKind
	case "latency_ms":
		dst = &f.latency
	case "score":
		dst = &f.score
	case "predicted":
		dst = &f.predicted
	case "features":
		dst = &f.features
	default:
		return // unknown top-level fields are ignored
	}
	if *dst == nil {
		*dst = v
	}
}

// DecodePrediction decodes and validates one prediction record into p. A
// non-nil error is a *DecodeError: the record is a dead letter and p is
// partially filled. Feature problems are not errors; they are recorded in
// p.Violations.
func (d *oracleDecoder) DecodePrediction(b []byte, p *Prediction) error {
	o, err := d.parse(b)
	if err != nil {
		return err
	}
	f := &d.pf
	*f = oraclePredictionFields{}
	o.Visit(d.visitTop)

	if p.ID, err = oRequiredString(f.id, "prediction_id"); err != nil {
		return err
	}
	name, err := oRequiredString(f.model, "model")
	if err != nil {
		return err
	}
	mi, ok := d.schema.Lookup(name)
	if !ok {
		return &DecodeError{Reason: ReasonUnknownModel, Field: "model", Detail: strconv.Quote(string(name)) + " is not a configured model"}
	}
	p.Model = mi
	m := &d.schema.models[mi]
	if p.TimeMs, err = d.timestamp(f.ts); err != nil {
		return err
	}
	if p.ModelVersion, err = oOptionalString(f.version, "model_version"); err != nil {
		return err
	}

	p.Error = false
	if st, err := oOptionalString(f.status, "status"); err != nil {
		return err
	} else {
		switch string(st) {
		case "", "ok":
		case "error":
			p.Error = true
		default:
			return &DecodeError{Reason: ReasonInvalidValue, Field: "status", Detail: strconv.Quote(string(st)) + ", want \"ok\" or \"error\""}
		}
	}
	if p.ErrorKind, err = oOptionalString(f.errKind, "error"); err != nil {
		return err
	}

	p.LatencySeconds = math.NaN()
	if lat, ok, err := oOptionalNumber(f.latency, "latency_ms"); err != nil {
		return err
	} else if ok {
		if !(lat >= 0) || math.IsInf(lat, 0) {
			return &DecodeError{Reason: ReasonInvalidValue, Field: "latency_ms", Detail: "must be a finite number >= 0"}
		}
		p.LatencySeconds = lat / 1000
	}

	p.Score = math.NaN()
	score, hasScore, err := oOptionalNumber(f.score, "score")
	if err != nil {
		return err
	}
	if hasScore {
		if !(score >= 0 && score <= 1) {
			return &DecodeError{Reason: ReasonInvalidValue, Field: "score", Detail: "must be a probability in [0,1]"}
		}
		p.Score = score
	}
	p.Predicted = false
	pv := f.predicted
	switch {
	case pv != nil && pv.Type() != fastjson.TypeNull:
		switch pv.Type() {
		case fastjson.TypeTrue:
			p.Predicted = true
		case fastjson.TypeFalse:
		case fastjson.TypeNumber:
			x, _ := pv.Float64()
			if x != 0 && x != 1 {
				return &DecodeError{Reason: ReasonInvalidValue, Field: "predicted", Detail: "must be 0 or 1"}
			}
			p.Predicted = x == 1
		default:
			return oWrongType("predicted", "0/1 or a boolean", pv)
		}
	case hasScore:
		p.Predicted = score >= m.Threshold
	case !p.Error:
		// An ok prediction must say what it predicted, one way or the other.
		return &DecodeError{Reason: ReasonMissingField, Field: "score", Detail: "an ok prediction needs a score or predicted"}
	}

	p.Violations = p.Violations[:0]
	if p.Error && (f.features == nil || f.features.Type() == fastjson.TypeNull) {
		// A failed prediction has no features to miss.
		for i := range m.Features {
			p.Missing[i], p.Cat[i] = true, nil
		}
		return nil
	}
	d.decodeFeatures(f.features, m, p)
	return nil
}

func (d *oracleDecoder) decodeFeatures(fv *fastjson.Value, m *model, p *Prediction) {
	n := len(m.Features)
	for i := range n {
		p.Missing[i] = true
		p.Cat[i] = nil
	}
	if fv != nil && fv.Type() == fastjson.TypeObject {
		fo, _ := fv.Object()
		d.cur, d.curModel = p, m
		fo.Visit(d.visit)
		d.cur, d.curModel = nil, nil
	}
	// Missing values are reported after the visit, in feature order, so that
	// a type violation (which also leaves the value missing) is not
	// reported twice.
	for i := range n {
		if p.Missing[i] && !p.hasViolation(i, ViolationType) {
			p.Violations = append(p.Violations, Violation{Feature: i, Kind: ViolationMissing})
		}
	}
}

// visitFeature handles one key of the features object; see decodeFeatures.
func (d *oracleDecoder) visitFeature(key []byte, v *fastjson.Value) {
	p, m := d.cur, d.curModel
	i, ok := m.features[string(key)]
	if !ok {
		p.Violations = append(p.Violations, Violation{Feature: Undeclared, Kind: ViolationUnknownFeature})
		return
	}
	if !p.Missing[i] {
		return // duplicate key: the first one wins, as for top-level fields
	}
	t := v.Type()
	if t == fastjson.TypeNull {
		return // missing, reported by decodeFeatures
	}
	f := &m.Features[i]
	switch f.Kind {
	case Numeric:
		if t != fastjson.TypeNumber {
			p.Violations = append(p.Violations, Violation{Feature: i, Kind: ViolationType})
			return
		}
		x, err := v.Float64()
		if err != nil {
			p.Violations = append(p.Violations, Violation{Feature: i, Kind: ViolationType})
			return
		}
		p.Num[i] = x
		p.Missing[i] = false
		// NaN and ±Inf are not valid JSON but fastjson accepts them; they
		// are kept (sketches count them) and flagged as out of range.
		if !(x >= f.Min && x <= f.Max) || math.IsInf(x, 0) {
			p.Violations = append(p.Violations, Violation{Feature: i, Kind: ViolationRange})
		}
	case Categorical:
		var c []byte
		switch t {
		case fastjson.TypeString:
			c, _ = v.StringBytes()
		case fastjson.TypeTrue:
			c = oBytesTrue
		case fastjson.TypeFalse:
			c = oBytesFalse
		default:
			p.Violations = append(p.Violations, Violation{Feature: i, Kind: ViolationType})
			return
		}
		p.Cat[i] = c
		p.Missing[i] = false
		if set := m.categories[i]; set != nil {
			if _, ok := set[string(c)]; !ok {
				p.Violations = append(p.Violations, Violation{Feature: i, Kind: ViolationNewCategory})
			}
		}
	}
}

// DecodeOutcome decodes and validates one outcome record into out. A non-nil
// error is a *DecodeError.
func (d *oracleDecoder) DecodeOutcome(b []byte, out *Outcome) error {
	o, err := d.parse(b)
	if err != nil {
		return err
	}
	if out.ID, err = oRequiredString(o.Get("prediction_id"), "prediction_id"); err != nil {
		return err
	}
	name, err := oRequiredString(o.Get("model"), "model")
	if err != nil {
		return err
	}
	mi, ok := d.schema.Lookup(name)
	if !ok {
		return &DecodeError{Reason: ReasonUnknownModel, Field: "model", Detail: strconv.Quote(string(name)) + " is not a configured model"}
	}
	out.Model = mi
	if out.TimeMs, err = d.timestamp(o.Get("timestamp")); err != nil {
		return err
	}
	lv := o.Get("label")
	if lv == nil || lv.Type() == fastjson.TypeNull {
		return &DecodeError{Reason: ReasonMissingField, Field: "label", Detail: "required"}
	}
	m := &d.schema.models[mi]
	switch lv.Type() {
	case fastjson.TypeTrue:
		out.Label = true
	case fastjson.TypeFalse:
		out.Label = false
	case fastjson.TypeNumber:
		f, _ := lv.Float64()
		if f != 0 && f != 1 {
			return &DecodeError{Reason: ReasonBadLabel, Field: "label", Detail: "must be 1 or 0"}
		}
		out.Label = f == 1
	case fastjson.TypeString:
		s, _ := lv.StringBytes()
		switch {
		case m.PositiveLabel != "" && string(s) == m.PositiveLabel:
			out.Label = true
		case m.NegativeLabel != "" && string(s) == m.NegativeLabel:
			out.Label = false
		default:
			return &DecodeError{Reason: ReasonBadLabel, Field: "label", Detail: strconv.Quote(string(s)) + " is not a configured label of model " + m.Name}
		}
	default:
		return &DecodeError{Reason: ReasonBadLabel, Field: "label", Detail: "want 1/0, true/false or a label string, got " + lv.Type().String()}
	}
	return nil
}

// timestamp reads the required event time: an RFC 3339 string or positive
// epoch milliseconds.
func (d *oracleDecoder) timestamp(v *fastjson.Value) (int64, error) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return 0, &DecodeError{Reason: ReasonMissingField, Field: "timestamp", Detail: "required"}
	}
	var ms int64
	switch v.Type() {
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		// The string only lives for the call; time.Parse keeps no reference.
		t, err := time.Parse(time.RFC3339Nano, unsafe.String(unsafe.SliceData(s), len(s)))
		if err != nil {
			return 0, &DecodeError{Reason: ReasonBadTimestamp, Field: "timestamp", Detail: strconv.Quote(string(s)) + " is not RFC 3339"}
		}
		ms = t.UnixMilli()
	case fastjson.TypeNumber:
		f, err := v.Float64()
		if err != nil || !(f > 0) || f >= 1<<53 {
			return 0, &DecodeError{Reason: ReasonBadTimestamp, Field: "timestamp", Detail: "epoch milliseconds must be a positive number"}
		}
		ms = int64(f)
	default:
		return 0, oWrongType("timestamp", "an RFC 3339 string or epoch milliseconds", v)
	}
	if ms <= 0 {
		return 0, &DecodeError{Reason: ReasonBadTimestamp, Field: "timestamp", Detail: "before the Unix epoch"}
	}
	if d.maxTimeMs > 0 && ms > d.maxTimeMs {
		return 0, &DecodeError{Reason: ReasonFutureTimestamp, Field: "timestamp", Detail: time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) + " is beyond max_clock_skew ahead of the wall clock"}
	}
	return ms, nil
}

func oRequiredString(v *fastjson.Value, field string) ([]byte, error) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil, &DecodeError{Reason: ReasonMissingField, Field: field, Detail: "required"}
	}
	if v.Type() != fastjson.TypeString {
		return nil, oWrongType(field, "a string", v)
	}
	s, _ := v.StringBytes()
	if len(s) == 0 {
		return nil, &DecodeError{Reason: ReasonMissingField, Field: field, Detail: "must not be empty"}
	}
	return s, nil
}

func oOptionalString(v *fastjson.Value, field string) ([]byte, error) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil, nil
	}
	if v.Type() != fastjson.TypeString {
		return nil, oWrongType(field, "a string", v)
	}
	s, _ := v.StringBytes()
	return s, nil
}

func oOptionalNumber(v *fastjson.Value, field string) (float64, bool, error) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return 0, false, nil
	}
	if v.Type() != fastjson.TypeNumber {
		return 0, false, oWrongType(field, "a number", v)
	}
	f, err := v.Float64()
	if err != nil {
		return 0, false, &DecodeError{Reason: ReasonWrongType, Field: field, Detail: err.Error()}
	}
	return f, true, nil
}

func oWrongType(field, want string, v *fastjson.Value) error {
	return &DecodeError{Reason: ReasonWrongType, Field: field, Detail: "want " + want + ", got " + v.Type().String()}
}

// FuzzDecodeMatchesOracle checks the scanner-based decoder against the
// fastjson-based one it replaced: on valid JSON they must agree on the
// outcome and on every decoded field. (fastjson accepts some invalid JSON,
// such as NaN literals, which the scanner rejects: there only the scanner's
// rejection is checked.)
func FuzzDecodeMatchesOracle(f *testing.F) {
	f.Add([]byte(benchRecord))
	f.Add([]byte(`{"prediction_id":"a\u00e9\ud83d\ude00","model":"fraud","timestamp":"2026-01-01T00:00:00.5+02:00","score":0.25,"features":{"amount":1e3,"age":"x","country":"DE","zz":[{}],"is_new":false},"extra":{"a":[1,2,{"b":null}]}}`))
	f.Add([]byte(`{"prediction_id":"a","model":"fraud","timestamp":17e11,"label":"chargeback","features":null,"features":{"amount":1}}`))
	f.Add([]byte(`{"prediction_id":"x\"y","model":"churn","timestamp":1,"predicted":true,"status":"error","error":"e\n"}`))
	schema := testSchema()
	d, o := NewDecoder(schema, 1<<16), newOracleDecoder(schema, 1<<16)
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
		!eq(a.Score, b.Score) || a.Predicted != b.Predicted || !eq(a.LatencySeconds, b.LatencySeconds) {
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
