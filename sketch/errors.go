package sketch

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps exactly one of them,
// so callers match with errors.Is; the typed errors below carry the details.
var (
	// ErrEmpty: a statistic needs at least one finite value (numeric) or one
	// non-missing value (categorical) in both sketches.
	ErrEmpty = errors.New("sketch: empty sketch")

	// ErrNoHistogram: PSI or Jensen–Shannon on numeric sketches needs bin
	// edges, and neither sketch has any.
	ErrNoHistogram = errors.New("sketch: no histogram edges")

	// ErrEdgesMismatch: two sketches have histograms on different edges
	// (see EdgesError).
	ErrEdgesMismatch = errors.New("sketch: histogram edges differ")

	// ErrInvalidEdges: edges are not finite and strictly increasing.
	ErrInvalidEdges = errors.New("sketch: invalid histogram edges")

	// ErrUnknownVersion: an encoding of a format version this build cannot
	// read (see VersionError).
	ErrUnknownVersion = errors.New("sketch: unknown encoding version")

	// ErrCorrupt: an encoding that is truncated, has trailing bytes or
	// describes an impossible state (see CorruptError).
	ErrCorrupt = errors.New("sketch: corrupt encoding")

	// ErrMethod: a drift method that does not apply to the feature type, or
	// an unknown method name.
	ErrMethod = errors.New("sketch: drift method")

	// ErrParams: drift parameters, or a t-digest compression, out of range.
	ErrParams = errors.New("sketch: invalid drift parameters")
)

// EdgesError reports histogram edges that differ between two sketches that
// must share them (Merge, PSI, JS). It wraps ErrEdgesMismatch.
type EdgesError struct {
	Want, Got []float64
}

func (e *EdgesError) Error() string {
	return fmt.Sprintf("sketch: histogram edges differ: have %v, other has %v", e.Want, e.Got)
}

// Unwrap returns ErrEdgesMismatch.
func (e *EdgesError) Unwrap() error { return ErrEdgesMismatch }

// VersionError reports an encoding whose first byte names a format version
// this build does not know, typically one written by a newer reckon. It wraps
// ErrUnknownVersion.
type VersionError struct {
	Type    string // "numeric" or "categorical"
	Version byte
	Latest  byte // the newest version this build reads (it reads 1 to Latest)
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("sketch: %s encoding version %d is not supported (this build reads versions 1 to %d)", e.Type, e.Version, e.Latest)
}

// Unwrap returns ErrUnknownVersion.
func (e *VersionError) Unwrap() error { return ErrUnknownVersion }

// CorruptError reports an encoding that cannot be decoded. Offset is the byte
// offset at which decoding failed. It wraps ErrCorrupt.
type CorruptError struct {
	Type   string // "numeric" or "categorical"
	Offset int
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("sketch: corrupt %s encoding at byte %d: %s", e.Type, e.Offset, e.Reason)
}

// Unwrap returns ErrCorrupt.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }
