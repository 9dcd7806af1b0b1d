package reference

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
)

// The rows of a reference input are one more input format of the event
// contract: a CSV row or a flat JSON row is turned into an event.Fields and
// judged by event.Rules, exactly as a record on the stream. This file types
// the text of CSV cells, which has no types of its own; it judges nothing.

// rowField returns the field named name when it is one of the fields a CSV
// row or flat JSON row may have besides its features (see the package
// documentation).
func rowField(name []byte) (event.Field, bool) {
	f, ok := event.FieldOf(name)
	switch f {
	case event.FieldModel, event.FieldScore, event.FieldPredicted, event.FieldLabel, event.FieldStatus, event.FieldTimestamp, event.FieldValue, event.FieldScores:
		return f, ok
	}
	return 0, false
}

// parseNumber parses a numeric CSV cell (not blank). Overflow gives ±Inf and
// underflow 0, as for a JSON number.
func parseNumber(s string) (float64, error) {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return x, nil
}

// featureCell types the cell of feature i: a number for a numeric feature
// (an error if it is none), the text for a categorical one, with Python's
// and spreadsheets' True/TRUE and False/FALSE spelled as the wire spells a
// boolean. A blank numeric cell and an empty categorical one are null.
func (b *Builder) featureCell(i int, s string) (event.Value, error) {
	if b.model.Features[i].Type == config.FeatureNumeric {
		if strings.TrimSpace(s) == "" {
			return event.Value{Type: event.TypeNull}, nil
		}
		x, err := parseNumber(s)
		if err != nil {
			return event.Value{}, err
		}
		return event.Value{Type: event.TypeNumber, Num: x}, nil
	}
	if s == "" {
		return event.Value{Type: event.TypeNull}, nil
	}
	return event.Value{Type: event.TypeString, Str: bytesOf(normalBool(s))}, nil
}

// fieldCell types the cell of field f of a model of kind k. A blank cell
// is absent. score and value are numbers (an error if they are none);
// predicted and label are a boolean when they read true or false in any
// case, a number when they read as one (pandas writes "1.0" in a column
// with gaps), the text otherwise; but a multiclass model's classes are
// their text, and status and model are their text, status trimmed.
func fieldCell(f event.Field, k config.ModelKind, s string) (event.Value, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return event.Value{}, nil
	}
	if k == config.KindMulticlass && (f == event.FieldPredicted || f == event.FieldLabel) {
		return event.Value{Type: event.TypeString, Str: bytesOf(s)}, nil
	}
	switch f {
	case event.FieldScore, event.FieldValue:
		x, err := parseNumber(s)
		if err != nil {
			return event.Value{}, err
		}
		return event.Value{Type: event.TypeNumber, Num: x}, nil
	case event.FieldPredicted, event.FieldLabel:
		switch {
		case strings.EqualFold(t, "true"):
			return event.Value{Type: event.TypeBool, Bool: true}, nil
		case strings.EqualFold(t, "false"):
			return event.Value{Type: event.TypeBool}, nil
		}
		if x, err := strconv.ParseFloat(t, 64); err == nil {
			return event.Value{Type: event.TypeNumber, Num: x}, nil
		}
		return event.Value{Type: event.TypeString, Str: bytesOf(s)}, nil
	case event.FieldStatus:
		return event.Value{Type: event.TypeString, Str: bytesOf(t)}, nil
	case event.FieldTimestamp:
		// Epoch milliseconds or RFC 3339, as on the wire.
		if x, err := strconv.ParseFloat(t, 64); err == nil {
			return event.Value{Type: event.TypeNumber, Num: x}, nil
		}
		return event.Value{Type: event.TypeString, Str: bytesOf(t)}, nil
	}
	return event.Value{Type: event.TypeString, Str: bytesOf(s)}, nil
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
