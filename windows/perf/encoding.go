package perf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
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

func (e *encoder) f64(v float64) { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) }

// decoder reads what encoder wrote. The first failure sticks in err and every
// later read returns zero, so callers check err once at the end (or before
// acting on a value, such as a length).
type decoder struct {
	typ     string
	version uint8
	b       []byte
	err     error
}

func (d *decoder) fail(sentinel error, format string, args ...any) {
	if d.err == nil {
		d.err = &DecodeError{Type: d.typ, Version: d.version, Reason: fmt.Sprintf(format, args...), Err: sentinel}
	}
}

// header checks the magic and returns the version byte.
func (d *decoder) header(magic string) uint8 {
	if len(d.b) < len(magic)+1 || string(d.b[:len(magic)]) != magic {
		d.fail(ErrCorrupt, "missing %q header", magic)
		return 0
	}
	d.version = d.b[len(magic)]
	d.b = d.b[len(magic)+1:]
	return d.version
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || n != uvarintLen(v) {
		// Non-minimal encodings are rejected too, so that every accepted
		// input is the canonical encoding of its value.
		d.fail(ErrCorrupt, "truncated, overlong or non-minimal varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// uvarintLen is the length of the minimal uvarint encoding of v.
func uvarintLen(v uint64) int { return max(1, (bits.Len64(v)+6)/7) }

func (d *decoder) sum() sum128 {
	hi := d.uvarint()
	lo := d.uvarint()
	return sum128{hi, lo}
}

func (d *decoder) f64() float64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail(ErrCorrupt, "truncated float")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

// finish reports trailing bytes as corruption and returns the sticky error.
func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(ErrCorrupt, "%d trailing bytes", len(d.b))
	}
	return d.err
}
