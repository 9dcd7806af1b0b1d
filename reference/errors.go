package reference

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/reckonhq/reckon/event"
)

// Sentinel errors. Load and ReadProfile errors wrap exactly one of them, so
// callers match with errors.Is; the typed errors carry the details.
var (
	// ErrVersion: the file is a profile of a format this build cannot read
	// (see VersionError).
	ErrVersion = errors.New("unsupported reference profile format")
	// ErrModel: the profile was built for another model (see ModelError).
	ErrModel = errors.New("reference profile is for another model")
	// ErrFeature: a declared feature is missing from the profile, has
	// another type there, or its sketch does not decode (see FeatureError).
	ErrFeature = errors.New("reference profile does not match the declared features")
	// ErrCorrupt: the file is not a reference profile, or not a valid one
	// (see CorruptError).
	ErrCorrupt = errors.New("corrupt reference profile")
)

// VersionError reports a profile whose format this build does not read,
// typically one written by a newer reckon. It wraps ErrVersion.
type VersionError struct {
	Format string // the file's "format"
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("reference profile format %q is not supported (this build reads %q)", e.Format, FormatVersion)
}

// Unwrap returns ErrVersion.
func (e *VersionError) Unwrap() error { return ErrVersion }

// ModelError reports a profile built for another model. It wraps ErrModel.
type ModelError struct {
	Profile string // the model named in the profile
	Model   string // the model it was loaded for
}

func (e *ModelError) Error() string {
	return fmt.Sprintf("reference profile is for model %q, not %q", e.Profile, e.Model)
}

// Unwrap returns ErrModel.
func (e *ModelError) Unwrap() error { return ErrModel }

// FeatureError reports a declared feature the profile cannot supply. It
// wraps ErrFeature and, for a sketch that does not decode, the sketch
// package's error (sketch.ErrCorrupt or sketch.ErrUnknownVersion).
type FeatureError struct {
	Feature string // the declared feature, or "score" for the score sketch
	Reason  string
	Err     error // the decoding error, if any
}

func (e *FeatureError) Error() string {
	s := fmt.Sprintf("feature %q: %s", e.Feature, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrFeature and Err.
func (e *FeatureError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrFeature}
	}
	return []error{ErrFeature, e.Err}
}

// CorruptError reports a file that is not a valid reference profile. It
// wraps ErrCorrupt and the underlying error, if any (a JSON syntax error, a
// perf.DecodeError, …).
type CorruptError struct {
	Reason string
	Err    error
}

func (e *CorruptError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

// Unwrap returns ErrCorrupt and Err.
func (e *CorruptError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrCorrupt}
	}
	return []error{ErrCorrupt, e.Err}
}

// RowError reports an input row that cannot be used, with its place:
// "data.csv:1234: column "amount": "abc" is not a number". Err is the
// problem itself: an *event.DecodeError for a row the event rules reject
// (any JSON line problem, and a CSV score, predicted, label or status the
// stream would not accept either: "data.csv:12: invalid_value: score: must
// be a probability in [0,1]"), a *MissingColumnsError for a CSV header, a
// *csv.ParseError's Err for CSV syntax, or a plain error describing a cell
// that does not read as its column's type.
type RowError struct {
	File   string // the input's name
	Line   int64  // 1-based line number; 0 when not known
	Column string // the CSV column or flat JSON field, if the problem is one value
	Err    error
}

func (e *RowError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(e.Line, 10))
	}
	b.WriteString(": ")
	// A value the event rules reject names its field already.
	var de *event.DecodeError
	if e.Column != "" && !(errors.As(e.Err, &de) && de.Field == e.Column) {
		b.WriteString("column ")
		b.WriteString(strconv.Quote(e.Column))
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns Err.
func (e *RowError) Unwrap() error { return e.Err }

// MissingColumnsError reports declared features that have no column in a
// CSV header (see Builder.AllowMissingColumns).
type MissingColumnsError struct {
	Features []string
}

func (e *MissingColumnsError) Error() string {
	q := make([]string, len(e.Features))
	for i, f := range e.Features {
		q[i] = strconv.Quote(f)
	}
	if len(q) == 1 {
		return "no column for declared feature " + q[0]
	}
	return "no column for declared features " + strings.Join(q, ", ")
}
