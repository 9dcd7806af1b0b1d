// Package wire reads and writes the varint format of reckon's own state
// encodings (sketches' companions, panes, windows, detectors, the join,
// checkpoints): canonical unsigned and zig-zag varints, single bytes and
// booleans, little-endian 64-bit words, raw bytes, and length-prefixed blobs
// holding another encoding.
//
// A Reader's first error sticks: after it, every read returns a zero value,
// so a decoder reads a whole structure and checks Err once (or before it
// acts on a value, such as a length). Varints must be minimal, so that every
// accepted input is the canonical encoding of its value.
package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// Reader decodes b.
type Reader struct {
	b       []byte
	err     error
	corrupt func(reason string) error
}

// NewReader returns a reader of b; corrupt makes the error of a malformed
// input from a reason (see Corrupt).
func NewReader(b []byte, corrupt func(reason string) error) *Reader {
	return &Reader{b: b, corrupt: corrupt}
}

// Corrupt returns errors wrapping sentinel, for NewReader.
func Corrupt(sentinel error) func(string) error {
	return func(reason string) error { return fmt.Errorf("%w: %s", sentinel, reason) }
}

// Err is the first error, or nil.
func (r *Reader) Err() error { return r.err }

// Fail records a malformed input, unless an error is recorded.
func (r *Reader) Fail(reason string) {
	if r.err == nil {
		r.err = r.corrupt(reason)
	}
}

// FailWith records err, unless an error is recorded.
func (r *Reader) FailWith(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Len is the number of bytes left.
func (r *Reader) Len() int { return len(r.b) }

// Rest returns what is left unread.
func (r *Reader) Rest() []byte { return r.b }

// Bytes reads n raw bytes (aliasing the input).
func (r *Reader) Bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.Fail("truncated")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if v := r.Bytes(1); v != nil {
		return v[0]
	}
	return 0
}

// Bool reads a byte written by AppendBool: 0 or 1.
func (r *Reader) Bool() bool {
	v := r.Byte()
	if v > 1 {
		r.Fail("bad boolean")
		return false
	}
	return v == 1
}

// Uvarint reads a minimal unsigned varint.
func (r *Reader) Uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n != max(1, (bits.Len64(v)+6)/7) {
		r.Fail("truncated, overlong or non-minimal varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Varint reads a minimal zig-zag varint.
func (r *Reader) Varint() int64 {
	u := r.Uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// Uint32 reads 4 bytes, little-endian.
func (r *Reader) Uint32() uint32 {
	if v := r.Bytes(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

// Uint64 reads 8 bytes, little-endian.
func (r *Reader) Uint64() uint64 {
	if v := r.Bytes(8); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

// Float64 reads a float64 written by AppendFloat64.
func (r *Reader) Float64() float64 { return math.Float64frombits(r.Uint64()) }

// Count reads an element count and fails when fewer than min bytes per
// element are left, so that a corrupt count cannot make a decoder allocate
// without bound.
func (r *Reader) Count(min int) uint64 {
	n := r.Uvarint()
	if r.err == nil && n > uint64(len(r.b)/max(min, 1)) {
		r.Fail("count beyond the data")
		return 0
	}
	return n
}

// Blob reads a length-prefixed blob (aliasing the input).
func (r *Reader) Blob() []byte {
	n := r.Uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.Fail("truncated blob")
	}
	return r.Bytes(int(n))
}

// End fails unless everything was read, and returns the error.
func (r *Reader) End() error {
	if r.err == nil && len(r.b) != 0 {
		r.Fail(fmt.Sprintf("%d trailing bytes", len(r.b)))
	}
	return r.err
}

// AppendBool appends v as one byte.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendFloat64 appends v's bits, little-endian.
func AppendFloat64(b []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

// AppendBlob appends a's encoding prefixed by its length. The encoding is
// appended to b in place and then shifted right by the prefix's size, so a
// b with room allocates nothing: encoding into a fresh slice cost a chain
// of growths per sketch of every pane and checkpoint.
func AppendBlob(b []byte, a interface{ AppendBinary([]byte) ([]byte, error) }) ([]byte, error) {
	start := len(b)
	enc, err := a.AppendBinary(b)
	if err != nil {
		return b, err
	}
	n := len(enc) - start
	var prefix [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(prefix[:], uint64(n))
	enc = append(enc, prefix[:k]...) // room for the prefix
	copy(enc[start+k:], enc[start:start+n])
	copy(enc[start:], prefix[:k])
	return enc, nil
}
