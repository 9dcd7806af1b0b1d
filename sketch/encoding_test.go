package sketch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"testing"
)

func numericCases() map[string]*Numeric {
	withSpecials := numericOf([]float64{-1, 0, 1}, continuous(3, 2*exactLimit, 0)...)
	withSpecials.Add(math.NaN())
	withSpecials.Add(math.Inf(-1))
	withSpecials.AddMissing()
	reference := NewNumeric(nil)
	if err := reference.SetCompression(ReferenceCompression); err != nil {
		panic(err)
	}
	for _, v := range continuous(4, 3*exactLimit, 0) {
		reference.Add(v)
	}
	exactReference := numericOf(nil, 1, 2)
	exactReference.SetCompression(ReferenceCompression)
	return map[string]*Numeric{
		"zero value":       {},
		"empty with edges": NewNumeric([]float64{1, 2}),
		"empty single bin": NewNumeric([]float64{}),
		"exact":            numericOf(nil, 1, 2, 2, -0.5, math.Copysign(0, -1)),
		"exact with edges": numericOf([]float64{1.5}, 1, 2, 2),
		// directLimit values, then a buffer of 511 (a full one is flushed).
		"exact, full buffer": numericOf([]float64{0}, continuous(5, directLimit+bufferSize-1, 0)...),
		"exact, reference":   exactReference,
		"digest":             numericOf(nil, continuous(1, 2*exactLimit, 0)...),
		// Exact mode ends with the 20th merge of the buffer (the exact
		// values then number directLimit+20·bufferSize > exactLimit).
		"digest, full buffer": numericOf(nil, continuous(2, directLimit+20*bufferSize+30*bufferSize+bufferSize-1, 0)...),
		"digest, edges":       withSpecials,
		"digest, reference":   reference,
		"only non-finite":     numericOf(nil, math.NaN(), math.Inf(1)),
	}
}

func categoricalCases() map[string]*Categorical {
	big := NewCategorical(50)
	for i := range 500 {
		big.AddString("v" + strconv.Itoa(i%137))
	}
	big.AddMissing()
	return map[string]*Categorical{
		"zero value": {},
		"empty":      NewCategorical(3),
		"small":      categoricalOf(0, "a", "b", "a", "", "\x00\xff"),
		"capped":     big,
	}
}

func TestNumericRoundTrip(t *testing.T) {
	for name, n := range numericCases() {
		t.Run(name, func(t *testing.T) {
			b := mustMarshal(t, n)
			if b[0] != numericVersion || b[1] != kindNumeric {
				t.Fatalf("header % x", b[:2])
			}
			var got Numeric
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, mustMarshal(t, &got)) {
				t.Error("re-encoding differs")
			}
			if got.Count() != n.Count() || got.Total() != n.Total() || got.Exact() != n.Exact() {
				t.Error("counts differ")
			}
			for _, q := range []float64{0, 0.05, 0.5, 0.99, 1} {
				checkFloat(t, "Quantile", got.Quantile(q), n.Quantile(q), 0)
			}
			checkFloat(t, "Mean", got.Mean(), n.Mean(), 0)
			checkFloat(t, "Variance", got.Variance(), n.Variance(), 0)
			if ab, err := n.AppendBinary([]byte("prefix")); err != nil || !bytes.Equal(ab[6:], b) {
				t.Error("AppendBinary differs from MarshalBinary")
			}
		})
	}
}

func TestCategoricalRoundTrip(t *testing.T) {
	for name, c := range categoricalCases() {
		t.Run(name, func(t *testing.T) {
			b := mustMarshal(t, c)
			var got Categorical
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, mustMarshal(t, &got)) {
				t.Error("re-encoding differs")
			}
			if got.Limit() != c.Limit() || got.Other() != c.Other() || got.Missing() != c.Missing() ||
				got.Distinct() != c.Distinct() || !equalCounts(&got, c) {
				t.Error("state differs")
			}
			// The decoded sketch keeps working.
			got.AddString("new")
			if err := got.Merge(c); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func equalCounts(a, b *Categorical) bool {
	if a.Len() != b.Len() {
		return false
	}
	for v, n := range a.All() {
		if b.Count(v) != n {
			return false
		}
	}
	return true
}

func TestEncodingErrors(t *testing.T) {
	num := mustMarshal(t, numericOf([]float64{0}, continuous(1, 2000, 0)...))
	cat := mustMarshal(t, categoricalOf(0, "a", "b"))
	future := append([]byte{numericVersion + 1}, num[1:]...)
	tests := []struct {
		name    string
		data    []byte
		numeric bool
		want    error
	}{
		{"empty numeric", nil, true, ErrCorrupt},
		{"empty categorical", nil, false, ErrCorrupt},
		{"unknown version numeric", future, true, ErrUnknownVersion},
		{"unknown version categorical", []byte{0, 'C'}, false, ErrUnknownVersion},
		{"categorical as numeric", cat, true, ErrCorrupt},
		{"numeric as categorical", num, false, ErrCorrupt},
		{"trailing byte", append(num[:len(num):len(num)], 0), true, ErrCorrupt},
		{"unknown flag", []byte{numericVersion, kindNumeric, 0x80, 0, 0, 0, 0, 0}, true, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.numeric {
				err = new(Numeric).UnmarshalBinary(tt.data)
			} else {
				err = new(Categorical).UnmarshalBinary(tt.data)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	var ve *VersionError
	if err := new(Numeric).UnmarshalBinary(future); !errors.As(err, &ve) || ve.Version != numericVersion+1 {
		t.Errorf("no *VersionError: %v", err)
	}
	// Every truncation is an error, never a panic, and leaves the target
	// untouched.
	for _, full := range [][]byte{num, cat} {
		for i := range full {
			n, c := numericOf(nil, 42), categoricalOf(0, "keep")
			var ce *CorruptError
			if err := n.UnmarshalBinary(full[:i]); err == nil || !errors.As(err, &ce) && !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("numeric prefix %d: %v", i, err)
			}
			if err := c.UnmarshalBinary(full[:i]); err == nil {
				t.Fatalf("categorical prefix %d decoded", i)
			}
			if n.Count() != 1 || n.Quantile(0.5) != 42 || c.Count("keep") != 1 {
				t.Fatalf("prefix %d: failed decode modified the target", i)
			}
		}
	}
}

func TestEncodingRejectsInconsistentState(t *testing.T) {
	// Flip every byte of valid encodings: decoding must either fail or
	// produce a sketch that behaves (no panic, consistent counts).
	for name, n := range numericCases() {
		b := mustMarshal(t, n)
		// The long tails are repetitive: sample them, about 300 bytes.
		step := max(13, len(b)/300)
		for i := range b {
			if i > 300 && i%step != 0 || raceEnabled && i%7 != 0 {
				continue
			}
			for _, x := range []byte{0x01, 0x80, 0xff} {
				c := bytes.Clone(b)
				c[i] ^= x
				exerciseNumeric(t, name, c)
			}
		}
	}
	for name, cat := range categoricalCases() {
		b := mustMarshal(t, cat)
		for i := range b {
			c := bytes.Clone(b)
			c[i] ^= 0x41
			exerciseCategorical(t, name, c)
		}
	}
}

// exerciseNumeric decodes data and, if that succeeds, uses the sketch in
// every way; it fails the test on inconsistency. Panics fail by themselves.
func exerciseNumeric(t testing.TB, name string, data []byte) {
	var n Numeric
	if err := n.UnmarshalBinary(data); err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownVersion) {
			t.Fatalf("%s: untyped error %v", name, err)
		}
		return
	}
	re, err := n.MarshalBinary()
	if err != nil || !bytes.Equal(re, data) {
		t.Fatalf("%s: decoded % x but re-encodes as % x", name, data, re)
	}
	if _, c := n.Histogram(); c != nil {
		var s uint64
		for _, v := range c {
			s += v
		}
		if s != n.Count() {
			t.Fatalf("%s: histogram holds %d values, Count %d", name, s, n.Count())
		}
	}
	for _, q := range []float64{0, 0.3, 1} {
		if v := n.Quantile(q); n.Count() > 0 && (v < n.Min() || v > n.Max()) {
			t.Fatalf("%s: Quantile(%v) = %v outside [%v, %v]", name, q, v, n.Min(), n.Max())
		}
	}
	n.CDF(0)
	ref := numericOf(n.Edges(), 1, 2, 3)
	KS(ref, &n)
	Wasserstein(ref, &n)
	PSI(ref, &n)
	JS(&n, ref)
	QuantileEdges(&n, 10)
	NumericDrift(ref, &n, QuantileEdges(ref, 3), DriftParams{})
	NumericDrift(ref, &n, nil, DriftParams{Numeric: MethodPSI})
	c := n.Clone()
	if err := c.Merge(&n); err != nil {
		t.Fatalf("%s: Merge with itself: %v", name, err)
	}
	for _, v := range continuous(1, 600, 0) {
		n.Add(v)
	}
}

func exerciseCategorical(t testing.TB, name string, data []byte) {
	var c Categorical
	if err := c.UnmarshalBinary(data); err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownVersion) {
			t.Fatalf("%s: untyped error %v", name, err)
		}
		return
	}
	c.Distinct()
	c.Top(3)
	ref := categoricalOf(0, "a", "b")
	ChiSquare(ref, &c)
	CategoricalPSI(&c, ref)
	CategoricalJS(ref, &c)
	CategoricalDrift(ref, &c, DriftParams{})
	ZTest(ref, &c)
	d := c.Clone()
	if err := d.Merge(&c); err != nil {
		t.Fatalf("%s: Merge with itself: %v", name, err)
	}
	c.AddString("x")
	if _, err := c.MarshalBinary(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func FuzzNumericUnmarshal(f *testing.F) {
	for _, n := range numericCases() {
		b, _ := n.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{numericVersion, kindNumeric, flagDigest})
	f.Fuzz(func(t *testing.T, data []byte) {
		exerciseNumeric(t, "fuzz", data)
	})
}

func FuzzCategoricalUnmarshal(f *testing.F) {
	for _, c := range categoricalCases() {
		b, _ := c.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		exerciseCategorical(t, "fuzz", data)
	})
}

// v1Encoding is a numeric sketch's version 1 encoding (before exact mode
// held 10,000 values): the reference the decoder must keep reading. It
// applies to the states version 1 could describe: digest mode, or exact
// mode with at most 128 values and nothing buffered.
func v1Encoding(n *Numeric) []byte {
	flags := byte(0)
	if n.edges != nil {
		flags |= flagHistogram
	}
	if n.inexact {
		flags |= flagDigest
	}
	b := []byte{numericV1, kindNumeric, flags}
	for _, c := range []uint64{n.missing, n.nan, n.posInf, n.negInf} {
		b = binary.AppendUvarint(b, c)
	}
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
		return b
	}
	b = appendFloat(b, n.d.compression())
	b = binary.AppendUvarint(b, n.n)
	for _, f := range []float64{n.min, n.max, n.mean, n.m2} {
		b = appendFloat(b, f)
	}
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
	b = binary.AppendUvarint(b, uint64(len(n.buf)))
	for _, k := range n.buf {
		b = appendFloat(b, keyFloat(k))
	}
	return b
}

// TestNumericDecodesV1: every state version 1 could hold decodes to the
// same state (its version 2 encoding), and states it could not are refused.
func TestNumericDecodesV1(t *testing.T) {
	for name, n := range numericCases() {
		if !n.inexact && (len(n.atomV) > v1ExactLimit || len(n.buf) > 0) || n.Compression() != DefaultCompression && !n.inexact {
			continue
		}
		t.Run(name, func(t *testing.T) {
			var got Numeric
			if err := got.UnmarshalBinary(v1Encoding(n)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(mustMarshal(t, &got), mustMarshal(t, n)) {
				t.Error("decoded version 1 differs from the original state")
			}
		})
	}
	many := numericOf(nil, continuous(1, directLimit+bufferSize, 0)...) // exact, 640 values: version 2 only
	if err := new(Numeric).UnmarshalBinary(v1Encoding(many)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("%d exact values in version 1: err = %v, want ErrCorrupt", len(many.atomV), err)
	}
}
