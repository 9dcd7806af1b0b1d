package perf

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/reckonhq/reckon/internal/wire"
)

// Sentinel errors wrapped by [*DecodeError]; test with errors.Is.
var (
	// ErrVersion means the encoding is of a version this build does not know
	// (written by a newer reckon).
	ErrVersion = errors.New("unsupported encoding version")
	// ErrCorrupt means the bytes are not a valid encoding: wrong magic,
	// truncated, trailing garbage, or values that violate an invariant.
	ErrCorrupt = errors.New("corrupt encoding")
)

// DecodeError is returned by the UnmarshalBinary methods of this package. It
// wraps [ErrVersion] or [ErrCorrupt].
type DecodeError struct {
	Type    string // "Window", "Estimate" or "Calibrator"
	Version uint8  // the version byte read, or 0 if it could not be read
	Reason  string // what was wrong, for humans
	Err     error  // ErrVersion or ErrCorrupt
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("perf: decoding %s (version %d): %v: %s", e.Type, e.Version, e.Err, e.Reason)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Magic numbers, one per encoded type, so that a checkpoint of one type is
// never silently decoded as another.
const (
	magicWindow     = "RKPW"
	magicEstimate   = "RKPE"
	magicCalibrator = "RKPC"
)

type encoder struct{ b []byte }

func (e *encoder) header(magic string, version uint8) {
	e.b = append(e.b, magic...)
	e.b = append(e.b, version)
}

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }

func (e *encoder) sum(s sum128) {
	e.uvarint(s.hi)
	e.uvarint(s.lo)
}

func (e *encoder) f64(v float64) { e.b = wire.AppendFloat64(e.b, v) }

// decoder reads what encoder wrote, with a wire.Reader whose failures are
// *DecodeErrors of the type being decoded.
type decoder struct {
	typ     string
	version uint8
	*wire.Reader
}

func newDecoder(typ string, data []byte) *decoder {
	d := &decoder{typ: typ}
	d.Reader = wire.NewReader(data, func(reason string) error {
		return &DecodeError{Type: d.typ, Version: d.version, Reason: reason, Err: ErrCorrupt}
	})
	return d
}

func (d *decoder) fail(sentinel error, format string, args ...any) {
	d.FailWith(&DecodeError{Type: d.typ, Version: d.version, Reason: fmt.Sprintf(format, args...), Err: sentinel})
}

// header checks the magic and returns the version byte.
func (d *decoder) header(magic string) uint8 {
	if d.Len() < len(magic)+1 || string(d.Rest()[:len(magic)]) != magic {
		d.fail(ErrCorrupt, "missing %q header", magic)
		return 0
	}
	d.version = d.Bytes(len(magic) + 1)[len(magic)]
	return d.version
}

func (d *decoder) sum() sum128 {
	hi := d.Uvarint()
	lo := d.Uvarint()
	return sum128{hi, lo}
}
