package wire

import (
	"encoding/binary"
	"errors"
	"testing"
)

var errTest = errors.New("test: corrupt")

func TestReaderRoundTrip(t *testing.T) {
	b := binary.AppendUvarint(nil, 300)
	b = binary.AppendVarint(b, -7)
	b = AppendBool(b, true)
	b = binary.AppendUvarint(b, 3)
	b = append(b, "abc"...)
	r := NewReader(b, Corrupt(errTest))
	if u, v, ok, blob := r.Uvarint(), r.Varint(), r.Bool(), r.Blob(); u != 300 || v != -7 || !ok || string(blob) != "abc" {
		t.Fatalf("read %d %d %v %q", u, v, ok, blob)
	}
	if err := r.End(); err != nil {
		t.Fatal(err)
	}
}

func TestReaderErrorsStick(t *testing.T) {
	tests := map[string]func(r *Reader){
		"truncated uvarint": func(r *Reader) { r.Uvarint() },
		"truncated blob":    func(r *Reader) { r.Blob() },
		"count too large":   func(r *Reader) { r.Count(8) },
		"trailing bytes":    func(r *Reader) { r.Byte(); r.End() },
		"non-minimal":       func(r *Reader) { r.Uvarint() },
		"bad boolean":       func(r *Reader) { r.Bool() },
	}
	inputs := map[string][]byte{
		"truncated uvarint": {0x80},
		"truncated blob":    {5, 'a'},
		"count too large":   {100, 1, 2},
		"trailing bytes":    {1, 2},
		"non-minimal":       {0x81, 0x00},
		"bad boolean":       {2},
	}
	for name, read := range tests {
		t.Run(name, func(t *testing.T) {
			r := NewReader(inputs[name], Corrupt(errTest))
			read(r)
			if !errors.Is(r.Err(), errTest) {
				t.Fatalf("error = %v, want one wrapping errTest", r.Err())
			}
			if r.Varint() != 0 || r.Byte() != 0 {
				t.Error("reads after an error return non-zero values")
			}
		})
	}
}

type blobOf struct{ b []byte }

func (x *blobOf) AppendBinary(b []byte) ([]byte, error) { return append(b, x.b...), nil }

func TestAppendBlob(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 20000} {
		x := &blobOf{make([]byte, n)}
		for i := range x.b {
			x.b[i] = byte(i * 7)
		}
		want := append(binary.AppendUvarint([]byte("head"), uint64(n)), x.b...)
		got, err := AppendBlob([]byte("head"), x)
		if err != nil || string(got) != string(want) {
			t.Fatalf("n=%d: got %d bytes, want %d (err %v)", n, len(got), len(want), err)
		}
		// Into a buffer with room, it does not allocate.
		buf := make([]byte, 0, n+16)
		if a := testing.AllocsPerRun(10, func() { buf, _ = AppendBlob(buf[:0], x) }); a != 0 {
			t.Errorf("n=%d: %v allocs per AppendBlob into a buffer with room, want 0", n, a)
		}
	}
}
