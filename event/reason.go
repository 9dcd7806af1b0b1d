package event

import "fmt"

// Reason is why a record became a dead letter. Its String is the short
// reason code carried in the reckon.error header and in the reason label of
// reckon_dead_letter_total; the set is closed so the label stays bounded.
type Reason uint8

const (
	ReasonNone            Reason = iota
	ReasonTooLarge               // larger than max_record_bytes
	ReasonInvalidUTF8            // value is not valid UTF-8
	ReasonInvalidJSON            // not JSON, or not a JSON object
	ReasonMissingField           // a required top-level field is absent or null
	ReasonWrongType              // a top-level field has the wrong JSON type
	ReasonBadTimestamp           // timestamp is neither RFC 3339 nor epoch milliseconds (a number below 1e11 looks like epoch seconds)
	ReasonFutureTimestamp        // timestamp is further ahead of the wall clock than max_clock_skew
	ReasonStaleTimestamp         // timestamp is further behind the wall clock than max_event_age
	ReasonInvalidValue           // right type, impossible value: score outside [0,1], unknown status, …
	ReasonUnknownModel           // model is not configured
	ReasonBadLabel               // outcome label is not 1/0, true/false or a configured label string
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:            "none",
	ReasonTooLarge:        "too_large",
	ReasonInvalidUTF8:     "invalid_utf8",
	ReasonInvalidJSON:     "invalid_json",
	ReasonMissingField:    "missing_field",
	ReasonWrongType:       "wrong_type",
	ReasonBadTimestamp:    "bad_timestamp",
	ReasonFutureTimestamp: "future_timestamp",
	ReasonStaleTimestamp:  "stale_timestamp",
	ReasonInvalidValue:    "invalid_value",
	ReasonUnknownModel:    "unknown_model",
	ReasonBadLabel:        "bad_label",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Reasons lists every dead-letter reason, for pre-creating metric series.
func Reasons() []Reason {
	rs := make([]Reason, 0, numReasons-1)
	for r := ReasonNone + 1; r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// NumReasons bounds Reason values, for arrays indexed by Reason.
const NumReasons = int(numReasons)

// DecodeError is returned for a record that cannot be used at all: it goes
// to the dead-letter topic with Error() as its reckon.error header.
type DecodeError struct {
	Reason Reason
	Field  string // the offending top-level field, if any
	Detail string
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return e.Reason.String() + ": " + e.Detail
	}
	return e.Reason.String() + ": " + e.Field + ": " + e.Detail
}

// ViolationKind classifies a schema violation of a single feature. Unlike a
// DecodeError, a violation does not reject the record.
type ViolationKind uint8

const (
	ViolationMissing        ViolationKind = iota // null or absent value of a declared feature
	ViolationType                                // wrong JSON type; the value counts as missing
	ViolationRange                               // numeric value outside [min,max], or not finite
	ViolationUnknownFeature                      // a feature the model does not declare
	ViolationNewCategory                         // a categorical value outside the declared categories
	NumViolationKinds
)

var violationNames = [NumViolationKinds]string{"missing", "type", "range", "unknown_feature", "new_category"}

func (k ViolationKind) String() string {
	if k < NumViolationKinds {
		return violationNames[k]
	}
	return fmt.Sprintf("violation(%d)", uint8(k))
}

// Undeclared is the feature index of violations about features the model
// does not declare; they are exported with feature="_undeclared".
const Undeclared = -1

// Violation is one schema violation found in a prediction.
type Violation struct {
	Feature int // index into the model's features, or Undeclared
	Kind    ViolationKind
}
