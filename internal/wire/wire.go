// Package wire reads and writes the varint format of reckon's own state
// encodings (panes, windows, checkpoints): unsigned and zig-zag varints,
// single bytes, and length-prefixed blobs holding another encoding.
//
// A Reader's first error sticks: after it, every read returns a zero value,
// so a decoder reads a whole structure and checks Err once.
package wire

import (
	"encoding/binary"
	"fmt"
)

// Reader decodes b. Its errors wrap the sentinel it was made with.
type Reader struct {
	b       []byte
	err     error
	corrupt error
}

// NewReader returns a reader of b whose errors wrap corrupt.
func NewReader(b []byte, corrupt error) *Reader { return &Reader{b: b, corrupt: corrupt} }

// Err is the first error, or nil.
func (r *Reader) Err() error { return r.err }

// Fail records an error saying what is wrong, unless one is recorded.
func (r *Reader) Fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", r.corrupt, what)
	}
}

// Len is the number of bytes left.
func (r *Reader) Len() int { return len(r.b) }

// Rest returns what is left unread.
func (r *Reader) Rest() []byte { return r.b }

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.Fail("truncated")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

// Bool reads a byte written by AppendBool.
func (r *Reader) Bool() bool { return r.Byte() == 1 }

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.Fail("truncated uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Varint reads a zig-zag varint.
func (r *Reader) Varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.Fail("truncated varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Uint64 reads 8 bytes, little-endian.
func (r *Reader) Uint64() uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.Fail("truncated uint64")
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

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
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.Fail("truncated blob")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// End fails unless everything was read.
func (r *Reader) End() error {
	if r.err == nil && len(r.b) != 0 {
		r.Fail("trailing bytes")
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

// AppendBlob appends a's encoding prefixed by its length.
func AppendBlob(b []byte, a interface{ AppendBinary([]byte) ([]byte, error) }) ([]byte, error) {
	enc, err := a.AppendBinary(nil)
	if err != nil {
		return b, err
	}
	b = binary.AppendUvarint(b, uint64(len(enc)))
	return append(b, enc...), nil
}
