package sketch

import (
	"encoding/binary"
	"math"
)

// Binary encodings.
//
// Every encoding starts with the format version byte and a kind byte ('N'
// numeric, 'C' categorical). Integers are unsigned varints, floats are IEEE
// 754 binary64 little endian. Decoders reject an unknown version with a
// *VersionError, and anything malformed (truncated, trailing bytes, counts
// that do not add up, unsorted or non-finite values) with a *CorruptError,
// never panicking and never allocating more than a small multiple of the
// input length. A version bump is needed for any change of layout; readers
// of version v keep reading every version ≤ v.
//
// Numeric, version 2 (written since exact mode holds 10,000 values):
//
//	version=2 'N' flags(bit0 histogram, bit1 digest mode)
//	missing nan posInf negInf                       varints
//	compression                                      float
//	[histogram] len(edges) edges…                    varint, floats
//	exact mode:  natoms (value count)…               varint, (float, varint)…
//	             nbuf values…                        varint, floats
//	digest mode: n min max mean m2                   varint, 4 floats
//	             [histogram] bins…                   len(edges)+1 varints
//	             ncent (mean weight<<1|pure)…        varint, (float, varint)…
//	             nbuf values…                        varint, floats
//
// Numeric, version 1 (read only): no compression before the histogram, at
// most 128 exact values and no buffer in exact mode, and the compression
// first in the digest-mode part.
//
// Categorical, version 1:
//
//	version=1 'C' limit missing other                varints
//	nvalues (len bytes count)…                       sorted by bytes, strictly
//	len(hll) hll                                     axiomhq/hyperloglog encoding

// Format versions written; numericV1 is still read.
const (
	numericVersion     = 2
	numericV1          = 1
	categoricalVersion = 1
)

// v1ExactLimit is the number of exact values a version 1 encoding holds at
// most.
const v1ExactLimit = 128

const (
	kindNumeric     = 'N'
	kindCategorical = 'C'

	flagHistogram = 1 << 0
	flagDigest    = 1 << 1
)

// maxWeight is the largest integer a float64 weight holds exactly.
const maxWeight = 1 << 53

// MarshalBinary implements encoding.BinaryMarshaler. The encoding is
// lossless and canonical for a given state; it does not modify n.
func (n *Numeric) MarshalBinary() ([]byte, error) {
	return n.AppendBinary(make([]byte, 0, n.encodedSizeHint()))
}

func (n *Numeric) encodedSizeHint() int {
	return 64 + 9*len(n.edges) + 10*len(n.bins) + 17*len(n.atomV) + 18*len(n.d.cent) + 8*len(n.buf)
}

// AppendBinary implements encoding.BinaryAppender.
func (n *Numeric) AppendBinary(b []byte) ([]byte, error) {
	flags := byte(0)
	if n.edges != nil {
		flags |= flagHistogram
	}
	if n.inexact {
		flags |= flagDigest
	}
	b = append(b, numericVersion, kindNumeric, flags)
	b = binary.AppendUvarint(b, n.missing)
	b = binary.AppendUvarint(b, n.nan)
	b = binary.AppendUvarint(b, n.posInf)
	b = binary.AppendUvarint(b, n.negInf)
	b = appendFloat(b, n.d.compression())
	if n.edges != nil {
		b = binary.AppendUvarint(b, uint64(len(n.edges)))
		for _, e := range n.edges {
			b = appendFloat(b, e)
		}
	}
	if !n.inexact {
		b = binary.AppendUvarint(b, uint64(len(n.atomV)))
		for i, v := range n.atomV {
			b = appendFloat(b, v)
			b = binary.AppendUvarint(b, n.atomC[i])
		}
		return appendBuffer(b, n.buf), nil
	}
	b = binary.AppendUvarint(b, n.n)
	b = appendFloat(b, n.min)
	b = appendFloat(b, n.max)
	b = appendFloat(b, n.mean)
	b = appendFloat(b, n.m2)
	for _, c := range n.bins {
		b = binary.AppendUvarint(b, c)
	}
	b = binary.AppendUvarint(b, uint64(len(n.d.cent)))
	for _, c := range n.d.cent {
		b = appendFloat(b, c.mean)
		w := uint64(c.weight) << 1
		if c.pure {
			w |= 1
		}
		b = binary.AppendUvarint(b, w)
	}
	return appendBuffer(b, n.buf), nil
}

// appendBuffer appends the buffered values, in arrival order.
func appendBuffer(b []byte, buf []uint64) []byte {
	b = binary.AppendUvarint(b, uint64(len(buf)))
	for _, k := range buf {
		b = appendFloat(b, keyFloat(k))
	}
	return b
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler. It replaces n's
// state (edges included) with the decoded one; on error n is unchanged.
//
// It reuses n's memory, so that a recycled sketch (the merger decodes every
// partition's panes into recycled partials) decodes without allocating:
// a first pass only validates, a second one fills n.
func (n *Numeric) UnmarshalBinary(data []byte) error {
	if err := n.decode(data, false); err != nil {
		return err
	}
	return n.decode(data, true)
}

// decode validates data and, with store, replaces n's state with it. Without
// store it does not touch n.
func (n *Numeric) decode(data []byte, store bool) error {
	r := reader{typ: "numeric", b: data}
	version, err := r.header(kindNumeric, numericVersion)
	if err != nil {
		return err
	}
	flags := r.byte()
	if flags&^(flagHistogram|flagDigest) != 0 {
		return r.fail("unknown flags")
	}
	var out Numeric
	if store {
		// n's slices, emptied, for reuse; the digest's compression is
		// read below.
		out = Numeric{
			atomV:   n.atomV[:0],
			atomC:   n.atomC[:0],
			d:       digest{cent: n.d.cent[:0], spare: n.d.spare[:0]},
			buf:     n.buf[:0],
			scratch: n.scratch[:0],
		}
	}
	out.missing = r.uvarint()
	out.nan = r.uvarint()
	out.posInf = r.uvarint()
	out.negInf = r.uvarint()
	if version > numericV1 {
		out.d.delta = r.float()
		if r.err == nil && !validCompression(out.d.delta) {
			return r.fail("compression out of range")
		}
	}
	hist := flags&flagHistogram != 0
	ne := 0
	if hist {
		ne = r.count(8)
		prev := 0.0
		for i := range ne {
			e := r.float()
			if r.err == nil && (!isFinite(e) || i > 0 && !(e > prev)) {
				return r.fail("invalid histogram edges")
			}
			prev = e
		}
		if store {
			// Edges are never modified once set: keep n's when they are
			// the same, as a recycled sketch's are.
			raw := data[r.off-8*ne : r.off]
			out.edges = n.edges
			if !sameEdges(n.edges, raw) {
				out.edges = make([]float64, ne)
				for i := range out.edges {
					out.edges[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
				}
			}
			if len(n.bins) == ne+1 {
				out.bins = n.bins
				clear(out.bins)
			} else {
				out.bins = make([]uint64, ne+1)
			}
		}
	}
	if flags&flagDigest == 0 {
		if version == numericV1 {
			out.d.delta = DefaultCompression
		}
		na := r.count(9)
		if na > exactLimit || version == numericV1 && na > v1ExactLimit {
			return r.fail("too many exact values")
		}
		if store && cap(out.atomV) < na {
			out.atomV, out.atomC = make([]float64, 0, na), make([]uint64, 0, na)
		}
		var total uint64
		prev := 0.0
		for i := 0; i < na && r.err == nil; i++ {
			v, c := r.float(), r.uvarint()
			if r.err != nil {
				break
			}
			if !isFinite(v) || c == 0 || (i > 0 && !(v > prev)) {
				return r.fail("exact values not finite, positive and strictly increasing")
			}
			if total+c < total {
				return r.fail("count overflow")
			}
			total += c
			prev = v
			if store {
				out.atomV = append(out.atomV, v)
				out.atomC = append(out.atomC, c)
			}
		}
		if version > numericV1 {
			// Values wait in the buffer only once directLimit distinct
			// values are held (Numeric.Add).
			nb := r.count(8)
			if nb > 0 && na < directLimit {
				return r.fail("buffered values before the exact values are full")
			}
			if err := out.decodeBuffer(&r, nb, store); err != nil {
				return err
			}
		}
		if err := r.end(); err != nil {
			return err
		}
		if store {
			*n = out
		}
		return nil
	}

	out.inexact = true
	if version == numericV1 {
		out.d.delta = r.float()
		if r.err == nil && !validCompression(out.d.delta) {
			return r.fail("compression out of range")
		}
	}
	out.n = r.uvarint()
	out.min, out.max, out.mean, out.m2 = r.float(), r.float(), r.float(), r.float()
	if r.err != nil {
		return r.err
	}
	if out.n > maxWeight {
		return r.fail("count too large")
	}
	if out.n > 0 && (!isFinite(out.min) || !isFinite(out.max) || !(out.min <= out.max) ||
		!isFinite(out.mean) || !isFinite(out.m2) || out.m2 < 0) {
		return r.fail("moments not finite or inconsistent")
	}
	var binSum uint64
	if hist {
		for i := range ne + 1 {
			c := r.uvarint()
			if binSum+c < binSum {
				return r.fail("count overflow")
			}
			binSum += c
			if store {
				out.bins[i] = c
			}
		}
		if r.err == nil && binSum != out.n {
			return r.fail("histogram counts do not add up to the value count")
		}
	}
	nc := r.count(9)
	if store && cap(out.d.cent) < nc {
		out.d.cent = make([]centroid, 0, nc)
	}
	var total uint64
	prev := 0.0
	for i := 0; i < nc && r.err == nil; i++ {
		m, w := r.float(), r.uvarint()
		if r.err != nil {
			break
		}
		weight := w >> 1
		if !isFinite(m) || weight == 0 || weight > maxWeight || (i > 0 && m < prev) {
			return r.fail("centroids not finite, positive and sorted")
		}
		total += weight
		if total > maxWeight {
			return r.fail("count too large")
		}
		prev = m
		if store {
			out.d.cent = append(out.d.cent, centroid{mean: m, weight: float64(weight), pure: w&1 == 1})
		}
	}
	if r.err == nil && total != out.n {
		return r.fail("centroid weights do not add up to the value count")
	}
	out.d.total = float64(total)
	if err := out.decodeBuffer(&r, r.count(8), store); err != nil {
		return err
	}
	if err := r.end(); err != nil {
		return err
	}
	if store {
		*n = out
	}
	return nil
}

// decodeBuffer reads nb buffered values into n.buf (with store).
func (n *Numeric) decodeBuffer(r *reader, nb int, store bool) error {
	if nb >= bufferSize {
		return r.fail("buffer too long")
	}
	if store && nb > 0 && cap(n.buf) < bufferSize {
		n.buf = make([]uint64, 0, bufferSize)
	}
	for range nb {
		v := r.float()
		if r.err == nil && (!isFinite(v) || v == 0 && math.Signbit(v)) {
			return r.fail("buffered value not finite")
		}
		if store {
			n.buf = append(n.buf, floatKey(v))
		}
	}
	return r.err
}

// validCompression reports whether delta is a compression the decoder
// accepts (SetCompression's range).
func validCompression(delta float64) bool {
	return delta >= MinCompression && delta <= MaxCompression
}

// sameEdges reports whether raw encodes edges, bit for bit.
func sameEdges(edges []float64, raw []byte) bool {
	if edges == nil || 8*len(edges) != len(raw) {
		return false
	}
	for i, e := range edges {
		if math.Float64bits(e) != binary.LittleEndian.Uint64(raw[8*i:]) {
			return false
		}
	}
	return true
}

func appendFloat(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

func isFinite(f float64) bool { return f-f == 0 }

// reader decodes with bounds checks; the first failure sticks in err and
// every later read returns zero values.
type reader struct {
	typ string
	b   []byte
	off int
	err error
}

func (r *reader) fail(reason string) error {
	if r.err == nil {
		r.err = &CorruptError{Type: r.typ, Offset: r.off, Reason: reason}
	}
	return r.err
}

// header reads the version and kind bytes: a version from 1 to latest
// and the kind, or an error.
func (r *reader) header(kind, latest byte) (version byte, err error) {
	if len(r.b) == 0 {
		return 0, r.fail("empty input")
	}
	if len(r.b) > 1 && r.b[1] != kind {
		// The kind first: another kind's newer version is not this
		// kind's unknown one.
		r.off = 1
		return 0, r.fail("not a " + r.typ + " sketch")
	}
	if v := r.b[0]; v == 0 || v > latest {
		r.err = &VersionError{Type: r.typ, Version: v, Latest: latest}
		return 0, r.err
	}
	r.off = 1
	r.byte() // the kind, checked above
	return r.b[0], r.err
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail("truncated")
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, k := binary.Uvarint(r.b[r.off:])
	if k <= 0 {
		r.fail("truncated or overlong varint")
		return 0
	}
	if k > 1 && r.b[r.off+k-1] == 0 {
		// A trailing zero group: not the minimal encoding, which is the only
		// one AppendUvarint writes. Accepting it would let two byte strings
		// decode to one state.
		r.fail("non-minimal varint")
		return 0
	}
	r.off += k
	return v
}

func (r *reader) float() float64 {
	if r.err != nil {
		return 0
	}
	if len(r.b)-r.off < 8 {
		r.fail("truncated")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b[r.off:]))
	r.off += 8
	return v
}

// count reads a length prefix whose elements take at least minSize bytes
// each, rejecting lengths the rest of the input cannot hold (so garbage can
// never make the decoder allocate much).
func (r *reader) count(minSize int) int {
	v := r.uvarint()
	if r.err != nil {
		return 0
	}
	if v > uint64(len(r.b)-r.off)/uint64(minSize) {
		r.fail("length exceeds input")
		return 0
	}
	return int(v)
}

func (r *reader) bytes(k int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b)-r.off < k {
		r.fail("truncated")
		return nil
	}
	s := r.b[r.off : r.off+k]
	r.off += k
	return s
}

func (r *reader) end() error {
	if r.err != nil {
		return r.err
	}
	if r.off != len(r.b) {
		return r.fail("trailing bytes")
	}
	return nil
}
