package event

import "strconv"

// This file is the boundary between an input format and the rules of the
// event contract. A format (the JSON scanner of scan.go, the CSV and flat
// JSON rows of package reference, a test's fastjson scanner) only finds the
// contract's fields in a record and reports each value with its type; it
// fills a Fields. Rules (rules.go) then apply every rule of docs/events.md to
// the Fields: required fields, types, ranges, features, violations and
// dead-letter reasons. A new format implements no rule; it fills a Fields.

// Field is a top-level field of the contract (docs/events.md). Its String is
// the field's name in a record, in errors and in dead-letter messages.
type Field uint8

// The top-level fields of prediction and outcome records.
const (
	FieldPredictionID Field = iota // prediction_id
	FieldModel                     // model
	FieldModelVersion              // model_version
	FieldTimestamp                 // timestamp
	FieldStatus                    // status
	FieldError                     // error
	FieldLatency                   // latency_ms
	FieldScore                     // score
	FieldPredicted                 // predicted
	FieldFeatures                  // features
	FieldLabel                     // label
	FieldValue                     // value: a regression model's prediction
	FieldScores                    // scores: a multiclass model's class probabilities
	NumFields
)

var fieldNames = [NumFields]string{
	FieldPredictionID: "prediction_id",
	FieldModel:        "model",
	FieldModelVersion: "model_version",
	FieldTimestamp:    "timestamp",
	FieldStatus:       "status",
	FieldError:        "error",
	FieldLatency:      "latency_ms",
	FieldScore:        "score",
	FieldPredicted:    "predicted",
	FieldFeatures:     "features",
	FieldLabel:        "label",
	FieldValue:        "value",
	FieldScores:       "scores",
}

func (f Field) String() string {
	if f < NumFields {
		return fieldNames[f]
	}
	return "field(" + strconv.Itoa(int(f)) + ")"
}

// FieldOf returns the field named name; ok is false for a name the contract
// does not know (such a field is ignored). It does not allocate.
func FieldOf(name []byte) (f Field, ok bool) {
	switch string(name) {
	case "prediction_id":
		return FieldPredictionID, true
	case "model":
		return FieldModel, true
	case "model_version":
		return FieldModelVersion, true
	case "timestamp":
		return FieldTimestamp, true
	case "status":
		return FieldStatus, true
	case "error":
		return FieldError, true
	case "latency_ms":
		return FieldLatency, true
	case "score":
		return FieldScore, true
	case "predicted":
		return FieldPredicted, true
	case "features":
		return FieldFeatures, true
	case "label":
		return FieldLabel, true
	case "value":
		return FieldValue, true
	case "scores":
		return FieldScores, true
	}
	return 0, false
}

// Type is the type of a value as its format encodes it. The zero Type is
// TypeAbsent: no value at all.
type Type uint8

// Value types. They are JSON's, which every format the contract has in mind
// (JSON, Avro, Protobuf, CSV cells typed by the declared schema) can map to.
const (
	TypeAbsent Type = iota // the record has no such field
	TypeNull               // an explicit null
	TypeBool
	TypeNumber
	TypeString
	TypeObject // an object; only the features object's members are kept
	TypeArray
)

var typeNames = [...]string{"absent", "null", "boolean", "number", "string", "object", "array"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Value is one value found by a format: a top-level field or a member of
// the features object. Only the member of its Type is meaningful.
type Value struct {
	Type Type
	Bool bool // TypeBool
	// Num is a TypeNumber's value, as strconv.ParseFloat reads its literal:
	// ±Inf beyond float64's range, never an error.
	Num float64
	// Str is a TypeString's text, unescaped. It may alias the record or the
	// format's buffers: valid until the format reads its next record.
	Str []byte
}

// IsNull reports whether v is absent or null: a missing value, to the
// rules.
func (v Value) IsNull() bool { return v.Type <= TypeNull }

// describe names v's type for messages: "true" and "false" for booleans,
// as JSON spells them, the type's name otherwise.
func (v Value) describe() string {
	if v.Type == TypeBool {
		if v.Bool {
			return "true"
		}
		return "false"
	}
	return v.Type.String()
}

// Member is one member of the features object: a feature name and its
// value.
type Member struct {
	Name  []byte
	Value Value
}

// Fields is what a format found in one record: the value of each top-level
// field of the contract, and the members of the features object. A format
// fills it (Reset, then Set and AddFeature) and Rules read it. A Fields is
// reused from record to record; in steady state filling it allocates
// nothing.
type Fields struct {
	top [NumFields]Value
	has uint16 // bit f: top[f] was set for this record

	// Features are the members of the features object in record order,
	// duplicates included (the rules keep the first of a name). They mean
	// something only when Get(FieldFeatures) is an object.
	Features []Member
	// Scores are the members of the scores object (a multiclass model's
	// class probabilities), likewise; they mean something only when
	// Get(FieldScores) is an object.
	Scores []Member
}

// Reset empties f for the next record, keeping its memory.
func (f *Fields) Reset() {
	f.has = 0
	f.Features = f.Features[:0]
	f.Scores = f.Scores[:0]
}

// Set records v as the value of field k unless the record already had k:
// the first occurrence of a duplicated field wins. It reports whether v was
// kept.
func (f *Fields) Set(k Field, v Value) bool {
	if f.has&(1<<k) != 0 {
		return false
	}
	f.has |= 1 << k
	f.top[k] = v
	return true
}

// Has reports whether the record has field k (possibly null).
func (f *Fields) Has(k Field) bool { return f.has&(1<<k) != 0 }

// Get returns the value of field k, of TypeAbsent when the record has none.
func (f *Fields) Get(k Field) Value {
	if f.has&(1<<k) == 0 {
		return Value{}
	}
	return f.top[k]
}

// AddFeature appends a member of the features object.
func (f *Fields) AddFeature(name []byte, v Value) {
	f.Features = append(f.Features, Member{Name: name, Value: v})
}

// AddScore appends a member of the scores object.
func (f *Fields) AddScore(name []byte, v Value) {
	f.Scores = append(f.Scores, Member{Name: name, Value: v})
}

// Format is an input format of records: it finds the contract's fields in
// one record's bytes. JSON is reckon's; a Decoder takes any (NewDecoderFor).
type Format interface {
	// Scan resets f and fills it from record b. It fails, with a
	// *DecodeError of reason invalid_utf8 or invalid_json, only when b is
	// not a well-formed record of the format at all; every judgement of the
	// values is left to the rules.
	Scan(b []byte, f *Fields) error
}
