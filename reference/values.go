package reference

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/reckonhq/reckon/event"
)

// Parsing of the non-feature fields of CSV cells (text) and flat JSON rows
// (typed values). The JSON rules are the decoder's (event/decode.go) for the
// same fields; the text rules accept what spreadsheets and pandas write for
// the same values.

// parseNumber parses a numeric CSV cell (not empty). Overflow gives ±Inf and
// underflow 0, as for a JSON number.
func parseNumber(s string) (float64, error) {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return x, nil
}

// textScore parses a score cell (not empty).
func textScore(s string) (float64, error) {
	x, err := parseNumber(s)
	if err != nil {
		return 0, err
	}
	if !(x >= 0 && x <= 1) {
		return 0, fmt.Errorf("%s is not a probability in [0,1]", s)
	}
	return x, nil
}

// textBool parses 0/1 (any number equal to either, such as pandas' "1.0")
// and true/false in any case.
func textBool(s string) (v, ok bool) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	x, err := strconv.ParseFloat(t, 64)
	if err != nil || (x != 0 && x != 1) {
		return false, false
	}
	return x == 1, true
}

// textPredicted parses a predicted cell (not empty).
func textPredicted(s string) (bool, error) {
	v, ok := textBool(s)
	if !ok {
		return false, fmt.Errorf("%q is not 0/1 or true/false", s)
	}
	return v, nil
}

// textLabel parses a label cell (not empty): the model's label strings
// (exactly), then 0/1 and true/false as textBool.
func (b *Builder) textLabel(s string) (bool, error) {
	switch {
	case b.spec.PositiveLabel != "" && s == b.spec.PositiveLabel:
		return true, nil
	case b.spec.NegativeLabel != "" && s == b.spec.NegativeLabel:
		return false, nil
	}
	if v, ok := textBool(s); ok {
		return v, nil
	}
	return false, fmt.Errorf("%q is not a label of model %s (%s)", s, b.spec.Name, b.labelsWanted())
}

func (b *Builder) labelsWanted() string {
	if b.spec.PositiveLabel == "" {
		return "want 1/0 or true/false"
	}
	return fmt.Sprintf("want 1/0, true/false, %q or %q", b.spec.PositiveLabel, b.spec.NegativeLabel)
}

// textStatus parses a status cell: "" and "ok" are ok, "error" an error.
func textStatus(s string) (isError bool, err error) {
	switch s {
	case "", "ok":
		return false, nil
	case "error":
		return true, nil
	}
	return false, fmt.Errorf("%q: want \"ok\" or \"error\"", s)
}

// normalBool returns the wire spelling of a boolean written True/TRUE or
// False/FALSE, and s otherwise.
func normalBool(s string) string {
	switch s {
	case "True", "TRUE":
		return "true"
	case "False", "FALSE":
		return "false"
	}
	return s
}

// bytesOf returns the bytes of s without copying. The sketches copy a value
// they keep, so the alias never outlives the row.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// jsonLabel parses a label as DecodeOutcome does; ok is false when v is
// absent or null.
func (b *Builder) jsonLabel(v *fastjson.Value) (label, ok bool, err error) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return false, false, nil
	}
	switch v.Type() {
	case fastjson.TypeTrue:
		return true, true, nil
	case fastjson.TypeFalse:
		return false, true, nil
	case fastjson.TypeNumber:
		f, _ := v.Float64()
		if f != 0 && f != 1 {
			return false, false, &event.DecodeError{Reason: event.ReasonBadLabel, Field: "label", Detail: "must be 1 or 0"}
		}
		return f == 1, true, nil
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		switch {
		case b.spec.PositiveLabel != "" && string(s) == b.spec.PositiveLabel:
			return true, true, nil
		case b.spec.NegativeLabel != "" && string(s) == b.spec.NegativeLabel:
			return false, true, nil
		}
		return false, false, &event.DecodeError{Reason: event.ReasonBadLabel, Field: "label", Detail: strconv.Quote(string(s)) + " is not a configured label of model " + b.spec.Name}
	}
	return false, false, &event.DecodeError{Reason: event.ReasonBadLabel, Field: "label", Detail: "want 1/0, true/false or a label string, got " + v.Type().String()}
}

func wrongType(field, want string, v *fastjson.Value) error {
	return &event.DecodeError{Reason: event.ReasonWrongType, Field: field, Detail: "want " + want + ", got " + v.Type().String()}
}

func isNull(v *fastjson.Value) bool { return v == nil || v.Type() == fastjson.TypeNull }
