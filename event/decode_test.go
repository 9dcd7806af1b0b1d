package event

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func testSchema() *Schema {
	return NewSchema([]ModelSpec{{
		Name:          "fraud",
		Threshold:     0.5,
		PositiveLabel: "chargeback",
		NegativeLabel: "settled",
		Features: []FeatureSpec{
			{Name: "amount", Kind: Numeric, Min: 0, HasMin: true},
			{Name: "age", Kind: Numeric, Min: 18, Max: 120, HasMin: true, HasMax: true},
			{Name: "country", Kind: Categorical, Categories: []string{"DE", "FR", "US"}},
			{Name: "is_new", Kind: Categorical},
		},
	}, {
		Name:      "churn",
		Threshold: 0.3,
	}, {
		Name:     "eta",
		Kind:     KindRegression,
		Features: []FeatureSpec{{Name: "distance_km", Kind: Numeric}},
	}, {
		Name:     "intent",
		Kind:     KindMulticlass,
		Classes:  []string{"billing", "shipping", "returns"},
		Features: []FeatureSpec{{Name: "channel", Kind: Categorical}},
	}})
}

func TestDecodePredictionValid(t *testing.T) {
	d := NewDecoder(testSchema(), 1<<20)
	p := d.NewPrediction()
	rec := `{"prediction_id":"c1f","model":"fraud","model_version":"v12","timestamp":"2026-11-26T21:30:22.123Z",
		"features":{"amount":123.45,"age":37,"country":"DE","is_new":true,"ref":null},
		"score":0.873,"latency_ms":12.7,"status":"ok","extra":{"ignored":[1,2]}}`
	if err := d.DecodePrediction([]byte(rec), p); err != nil {
		t.Fatal(err)
	}
	if string(p.ID) != "c1f" || p.Model != 0 || string(p.ModelVersion) != "v12" {
		t.Errorf("id/model/version = %q/%d/%q", p.ID, p.Model, p.ModelVersion)
	}
	if want := int64(1795728622123); p.TimeMs != want {
		t.Errorf("TimeMs = %d, want %d", p.TimeMs, want)
	}
	if p.Score != 0.873 || !p.Predicted || p.Error {
		t.Errorf("score/predicted/error = %v/%v/%v", p.Score, p.Predicted, p.Error)
	}
	if math.Abs(p.LatencySeconds-0.0127) > 1e-12 {
		t.Errorf("LatencySeconds = %v", p.LatencySeconds)
	}
	if p.Num[0] != 123.45 || p.Num[1] != 37 || string(p.Cat[2]) != "DE" || string(p.Cat[3]) != "true" {
		t.Errorf("features = %v %q", p.Num, p.Cat)
	}
	// "ref" is not declared: one unknown_feature violation and nothing else.
	if want := []Violation{{Undeclared, ViolationUnknownFeature}}; !slices.Equal(p.Violations, want) {
		t.Errorf("violations = %v, want %v", p.Violations, want)
	}
}

func TestDecodeErrorEventHasNoMissingFeatures(t *testing.T) {
	d := NewDecoder(testSchema(), 0)
	p := d.NewPrediction()
	for _, rec := range []string{
		`{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"status":"error","error":"timeout"}`,
		`{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"status":"error","features":null}`,
	} {
		if err := d.DecodePrediction([]byte(rec), p); err != nil {
			t.Fatal(err)
		}
		if len(p.Violations) != 0 || !p.Missing[0] {
			t.Errorf("%s: violations %v, missing %v", rec, p.Violations, p.Missing)
		}
	}
	// An error event that does carry features is checked like any other.
	rec := `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"status":"error","features":{"amount":1}}`
	if err := d.DecodePrediction([]byte(rec), p); err != nil {
		t.Fatal(err)
	}
	if len(p.Violations) != 3 {
		t.Errorf("violations %v, want 3 missing", p.Violations)
	}
}

func TestDecodePredictionDefaultsAndForms(t *testing.T) {
	tests := []struct {
		name          string
		rec           string
		wantTime      int64
		wantPredicted bool
		wantError     bool
		wantLatency   bool
	}{
		{"epoch millis", `{"prediction_id":"a","model":"churn","timestamp":1700000000123,"score":0.31}`, 1700000000123, true, false, false},
		{"fractional epoch millis truncate", `{"prediction_id":"a","model":"churn","timestamp":1700000000123.9,"score":0.29}`, 1700000000123, false, false, false},
		{"offset timezone", `{"prediction_id":"a","model":"churn","timestamp":"2023-11-14T23:13:20+01:00","score":0.3}`, 1700000000000, true, false, false},
		{"explicit predicted wins over threshold", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":0.9,"predicted":0}`, 1767225600000, false, false, false},
		{"predicted boolean without score", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"predicted":true}`, 1767225600000, true, false, false},
		{"error event needs no score", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"status":"error","error":"timeout","latency_ms":3}`, 1767225600000, false, true, true},
		{"null optionals", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":0.2,"model_version":null,"latency_ms":null,"status":null}`, 1767225600000, false, false, false},
	}
	d := NewDecoder(testSchema(), 0)
	p := d.NewPrediction()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := d.DecodePrediction([]byte(tt.rec), p); err != nil {
				t.Fatal(err)
			}
			if p.TimeMs != tt.wantTime || p.Predicted != tt.wantPredicted || p.Error != tt.wantError {
				t.Errorf("time/predicted/error = %d/%v/%v, want %d/%v/%v", p.TimeMs, p.Predicted, p.Error, tt.wantTime, tt.wantPredicted, tt.wantError)
			}
			if hasLat := !math.IsNaN(p.LatencySeconds); hasLat != tt.wantLatency {
				t.Errorf("latency present = %v, want %v", hasLat, tt.wantLatency)
			}
		})
	}
}

func TestDecodePredictionViolations(t *testing.T) {
	tests := []struct {
		name     string
		features string
		want     []Violation
	}{
		{"all present", `{"amount":1,"age":30,"country":"FR","is_new":false}`, nil},
		{"absent and null are missing", `{"amount":null,"country":"FR"}`, []Violation{{0, ViolationMissing}, {1, ViolationMissing}, {3, ViolationMissing}}},
		{"wrong type counts once, as type", `{"amount":"12","age":30,"country":7,"is_new":{}}`, []Violation{{0, ViolationType}, {2, ViolationType}, {3, ViolationType}}},
		{"range", `{"amount":-1,"age":121,"country":"US","is_new":"x"}`, []Violation{{0, ViolationRange}, {1, ViolationRange}}},
		{"non-finite is range", `{"amount":-1e999,"age":1e999,"country":"US","is_new":"x"}`, []Violation{{0, ViolationRange}, {1, ViolationRange}}},
		{"new category", `{"amount":1,"age":30,"country":"XX","is_new":"x"}`, []Violation{{2, ViolationNewCategory}}},
		{"unknown features", `{"amount":1,"age":30,"country":"US","is_new":"x","foo":1,"bar":"b"}`, []Violation{{Undeclared, ViolationUnknownFeature}, {Undeclared, ViolationUnknownFeature}}},
		{"duplicate key: first wins", `{"amount":1,"amount":"x","age":30,"country":"US","is_new":"x"}`, nil},
	}
	d := NewDecoder(testSchema(), 0)
	p := d.NewPrediction()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":0.1,"features":` + tt.features + `}`
			if err := d.DecodePrediction([]byte(rec), p); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Violations, tt.want) {
				t.Errorf("violations = %v, want %v", p.Violations, tt.want)
			}
		})
	}
}

func TestDecodePredictionDeadLetters(t *testing.T) {
	tests := []struct {
		name   string
		rec    string
		reason Reason
		field  string
	}{
		{"not json", `{"prediction_id":`, ReasonInvalidJSON, ""},
		{"not an object", `[1]`, ReasonInvalidJSON, ""},
		{"invalid utf8", "{\"prediction_id\":\"\xff\",\"model\":\"fraud\",\"timestamp\":1,\"score\":0.1}", ReasonInvalidUTF8, ""},
		{"too large", `{"prediction_id":"` + string(make([]byte, 200)) + `"}`, ReasonTooLarge, ""},
		{"missing id", `{"model":"fraud","timestamp":1767225600000,"score":0.1}`, ReasonMissingField, "prediction_id"},
		{"empty id", `{"prediction_id":"","model":"fraud","timestamp":1767225600000,"score":0.1}`, ReasonMissingField, "prediction_id"},
		{"numeric id", `{"prediction_id":5,"model":"fraud","timestamp":1767225600000,"score":0.1}`, ReasonWrongType, "prediction_id"},
		{"missing model", `{"prediction_id":"a","timestamp":1767225600000,"score":0.1}`, ReasonMissingField, "model"},
		{"unknown model", `{"prediction_id":"a","model":"nope","timestamp":1767225600000,"score":0.1}`, ReasonUnknownModel, "model"},
		{"missing timestamp", `{"prediction_id":"a","model":"fraud","score":0.1}`, ReasonMissingField, "timestamp"},
		{"bad timestamp", `{"prediction_id":"a","model":"fraud","timestamp":"yesterday","score":0.1}`, ReasonBadTimestamp, "timestamp"},
		{"zero timestamp", `{"prediction_id":"a","model":"fraud","timestamp":0,"score":0.1}`, ReasonBadTimestamp, "timestamp"},
		{"bool timestamp", `{"prediction_id":"a","model":"fraud","timestamp":true,"score":0.1}`, ReasonWrongType, "timestamp"},
		{"future timestamp", `{"prediction_id":"a","model":"fraud","timestamp":1767225602000,"score":0.1}`, ReasonFutureTimestamp, "timestamp"},
		{"string score", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":"0.9"}`, ReasonWrongType, "score"},
		{"score above 1", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":1.5}`, ReasonInvalidValue, "score"},
		{"NaN is not JSON", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":NaN}`, ReasonInvalidJSON, ""},
		{"overflowing score", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":1e999}`, ReasonInvalidValue, "score"},
		{"trailing data", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":0.1} {}`, ReasonInvalidJSON, ""},
		{"leading zero", `{"prediction_id":"a","model":"fraud","timestamp":01,"score":0.1}`, ReasonInvalidJSON, ""},
		{"control character", "{\"prediction_id\":\"a\x01\",\"model\":\"fraud\",\"timestamp\":1,\"score\":0.1}", ReasonInvalidJSON, ""},
		{"bad escape", `{"prediction_id":"a\q","model":"fraud","timestamp":1767225600000,"score":0.1}`, ReasonInvalidJSON, ""},
		{"too deep", `{"x":` + strings.Repeat("[", 34) + strings.Repeat("]", 34) + `}`, ReasonInvalidJSON, ""},
		{"no score nor predicted", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000}`, ReasonMissingField, "score"},
		{"predicted 2", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"predicted":2}`, ReasonInvalidValue, "predicted"},
		{"predicted string", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"predicted":"yes"}`, ReasonWrongType, "predicted"},
		{"negative latency", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":0.1,"latency_ms":-1}`, ReasonInvalidValue, "latency_ms"},
		{"unknown status", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":0.1,"status":"meh"}`, ReasonInvalidValue, "status"},
		{"numeric version", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":0.1,"model_version":12}`, ReasonWrongType, "model_version"},
		// Every top-level field of the wrong type is a dead letter.
		{"string features", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":0.1,"features":"oops"}`, ReasonWrongType, "features"},
		{"array features", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":0.1,"features":[1,2]}`, ReasonWrongType, "features"},
		{"numeric features", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":0.1,"features":0}`, ReasonWrongType, "features"},
		{"boolean features", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":0.1,"features":false}`, ReasonWrongType, "features"},
		{"string features of an error event", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"status":"error","features":"oops"}`, ReasonWrongType, "features"},
		{"features: the first one wins", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":1,"features":0,"features":{}}`, ReasonWrongType, "features"},
		{"array score", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":[0.1]}`, ReasonWrongType, "score"},
		{"object version", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":0.1,"model_version":{}}`, ReasonWrongType, "model_version"},
		{"object id", `{"prediction_id":{"a":1},"model":"fraud","timestamp":1767225600000,"score":0.1}`, ReasonWrongType, "prediction_id"},
		{"array model", `{"prediction_id":"a","model":["fraud"],"timestamp":1767225600000,"score":0.1}`, ReasonWrongType, "model"},
		{"array timestamp", `{"prediction_id":"a","model":"fraud","timestamp":[1],"score":0.1}`, ReasonWrongType, "timestamp"},
		{"boolean status", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":0.1,"status":true}`, ReasonWrongType, "status"},
		{"numeric error", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"status":"error","error":500}`, ReasonWrongType, "error"},
		{"string latency", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"score":0.1,"latency_ms":"12"}`, ReasonWrongType, "latency_ms"},
		{"object predicted", `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"predicted":{}}`, ReasonWrongType, "predicted"},
	}
	d := NewDecoder(testSchema(), 100)
	d.SetMaxTime(1767225601000)
	p := d.NewPrediction()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.DecodePrediction([]byte(tt.rec), p)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want a *DecodeError", err)
			}
			if de.Reason != tt.reason || de.Field != tt.field {
				t.Errorf("got %s on %q (%v), want %s on %q", de.Reason, de.Field, err, tt.reason, tt.field)
			}
		})
	}
}

func TestDecodeOutcome(t *testing.T) {
	tests := []struct {
		name   string
		label  string
		want   bool
		reason Reason
	}{
		{"one", `1`, true, ReasonNone},
		{"zero", `0`, false, ReasonNone},
		{"true", `true`, true, ReasonNone},
		{"false", `false`, false, ReasonNone},
		{"positive string", `"chargeback"`, true, ReasonNone},
		{"negative string", `"settled"`, false, ReasonNone},
		{"other string", `"maybe"`, false, ReasonBadLabel},
		{"two", `2`, false, ReasonBadLabel},
		{"object", `{}`, false, ReasonBadLabel},
		{"null", `null`, false, ReasonMissingField},
	}
	d := NewDecoder(testSchema(), 0)
	var o Outcome
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := `{"prediction_id":"c1f","model":"fraud","timestamp":"2026-11-27T09:02:00Z","label":` + tt.label + `}`
			err := d.DecodeOutcome([]byte(rec), &o)
			if tt.reason != ReasonNone {
				var de *DecodeError
				if !errors.As(err, &de) || de.Reason != tt.reason {
					t.Fatalf("err = %v, want reason %s", err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Label != tt.want || string(o.ID) != "c1f" || o.TimeMs != 1795770120000 {
				t.Errorf("outcome = %+v", o)
			}
		})
	}
}

// FuzzDecode checks that no input makes the decoder panic, and that every
// rejection is a *DecodeError.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(benchRecord))
	f.Add([]byte(`{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"label":1}`))
	f.Add([]byte(`{"features":{"amount":NaN}}`))
	d := NewDecoder(testSchema(), 1<<16)
	p := d.NewPrediction()
	var o Outcome
	f.Fuzz(func(t *testing.T, b []byte) {
		var de *DecodeError
		if err := d.DecodePrediction(b, p); err != nil && !errors.As(err, &de) {
			t.Fatalf("prediction error %T %v", err, err)
		}
		if err := d.DecodeOutcome(b, &o); err != nil && !errors.As(err, &de) {
			t.Fatalf("outcome error %T %v", err, err)
		}
	})
}

// benchRecord is a typical 10-feature prediction.
const benchRecord = `{"prediction_id":"5c1f0b9e-2d7a-4c11-9f3e-8a0b7d6e5f41","model":"bench","model_version":"v12",` +
	`"timestamp":"2026-11-26T21:30:22.123Z","features":{"amount":123.45,"age":37,"balance":5230.1,` +
	`"tenure_days":812,"txn_count_24h":3,"avg_amount_30d":88.2,"country":"DE","channel":"web",` +
	`"device":"ios","is_new":true},"score":0.873,"predicted":1,"latency_ms":12.7,"status":"ok"}`

func benchSchema() *Schema {
	var fs []FeatureSpec
	for _, n := range []string{"amount", "age", "balance", "tenure_days", "txn_count_24h", "avg_amount_30d"} {
		fs = append(fs, FeatureSpec{Name: n, Kind: Numeric})
	}
	for _, n := range []string{"country", "channel", "device", "is_new"} {
		fs = append(fs, FeatureSpec{Name: n, Kind: Categorical})
	}
	return NewSchema([]ModelSpec{{Name: "bench", Threshold: 0.5, Features: fs}})
}

// BenchmarkDecodePrediction measures the hot-path decoder (the JSON scanner
// and the rules) on a 10-feature prediction.
func BenchmarkDecodePrediction(b *testing.B) {
	d := NewDecoder(benchSchema(), 1<<20)
	p := d.NewPrediction()
	rec := []byte(benchRecord)
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.DecodePrediction(rec, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodePredictionEncodingJSON is the alternative that was
// measured and rejected: encoding/json into a struct with a feature map.
func BenchmarkDecodePredictionEncodingJSON(b *testing.B) {
	type wire struct {
		PredictionID string         `json:"prediction_id"`
		Model        string         `json:"model"`
		ModelVersion string         `json:"model_version"`
		Timestamp    any            `json:"timestamp"`
		Features     map[string]any `json:"features"`
		Score        *float64       `json:"score"`
		Predicted    *int           `json:"predicted"`
		LatencyMs    *float64       `json:"latency_ms"`
		Status       string         `json:"status"`
	}
	rec := []byte(benchRecord)
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		var w wire
		if err := json.Unmarshal(rec, &w); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTimestampBounds checks the event-time rules: a number below 1e11 is
// epoch seconds, not milliseconds, and max_clock_skew and max_event_age
// bound event time around the wall clock.
func TestTimestampBounds(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	secondsDate := time.Unix(1796676000, 0).UTC().Format(time.RFC3339)
	tests := []struct {
		name    string
		ts      string
		maxAge  time.Duration
		reason  Reason // ReasonNone: accepted
		message string // in the error
		want    int64  // event time, when accepted
	}{
		{"epoch seconds", `1796676000`, 0, ReasonBadTimestamp, "1796676000 looks like epoch seconds (" + secondsDate + ")", 0},
		{"fractional epoch seconds", `1796676000.5`, 0, ReasonBadTimestamp, "looks like epoch seconds", 0},
		{"just below 1e11", `99999999999`, 0, ReasonBadTimestamp, "want epoch milliseconds, at least 1e11 (1973-03-03T09:46:40Z)", 0},
		{"1e11 is milliseconds", `100000000000`, 0, ReasonNone, "", 1e11},
		{"1e11 written as an exponent", `1e11`, 0, ReasonNone, "", 1e11},
		{"a 1970 string is not a number", `"1970-01-02T00:00:00Z"`, 0, ReasonNone, "", 86400000},
		{"negative", `-1796676000000`, 0, ReasonBadTimestamp, "must be a positive number", 0},
		{"fresh", ms(now.Add(-time.Hour)), day, ReasonNone, "", now.Add(-time.Hour).UnixMilli()},
		{"exactly max_event_age old", ms(now.Add(-day)), day, ReasonNone, "", now.Add(-day).UnixMilli()},
		{"older than max_event_age", ms(now.Add(-day - time.Millisecond)), day, ReasonStaleTimestamp,
			"2026-11-29T23:59:59.999Z is more than max_event_age behind the wall clock", 0},
		{"a 1970 string with max_event_age", `"1970-01-02T00:00:00Z"`, day, ReasonStaleTimestamp, "1970-01-02T00:00:00Z", 0},
		{"old but no max_event_age", ms(now.Add(-400 * day)), 0, ReasonNone, "", now.Add(-400 * day).UnixMilli()},
		{"ahead within max_clock_skew", ms(now.Add(time.Hour)), day, ReasonNone, "", now.Add(time.Hour).UnixMilli()},
		{"beyond max_clock_skew", ms(now.Add(time.Hour + time.Millisecond)), day, ReasonFutureTimestamp, "beyond max_clock_skew", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(testSchema().WithMaxEventAge(tt.maxAge), 0)
			d.SetMaxTime(now.Add(time.Hour).UnixMilli())
			d.SetWallClock(now)
			p := d.NewPrediction()
			var o Outcome
			errs := []error{
				d.DecodePrediction([]byte(`{"prediction_id":"a","model":"churn","score":0.5,"timestamp":`+tt.ts+`}`), p),
				d.DecodeOutcome([]byte(`{"prediction_id":"a","model":"churn","label":1,"timestamp":`+tt.ts+`}`), &o),
			}
			for i, err := range errs {
				if tt.reason == ReasonNone {
					if err != nil {
						t.Fatal(err)
					}
					if got := []int64{p.TimeMs, o.TimeMs}[i]; got != tt.want {
						t.Errorf("event time %d, want %d", got, tt.want)
					}
					continue
				}
				var de *DecodeError
				if !errors.As(err, &de) || de.Reason != tt.reason || de.Field != "timestamp" || !strings.Contains(err.Error(), tt.message) {
					t.Errorf("error %v, want %s on timestamp saying %q", err, tt.reason, tt.message)
				}
			}
		})
	}
}

// TestReasons checks that every reason has its own code and that the list
// pre-created for reckon_dead_letter_total has them all.
func TestReasons(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons() {
		s := r.String()
		if s == "" || strings.HasPrefix(s, "reason(") || seen[s] {
			t.Errorf("reason %d: code %q", r, s)
		}
		seen[s] = true
	}
	for _, s := range []string{"too_large", "invalid_utf8", "invalid_json", "missing_field", "wrong_type", "bad_timestamp",
		"future_timestamp", "stale_timestamp", "invalid_value", "unknown_model", "bad_label"} {
		if !seen[s] {
			t.Errorf("Reasons() lacks %s", s)
		}
	}
	if len(seen) != NumReasons-1 {
		t.Errorf("%d reasons, NumReasons %d", len(seen), NumReasons)
	}
}
