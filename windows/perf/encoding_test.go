package perf

import (
	"bytes"
	"encoding"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func mustMarshal(t testing.TB, m encoding.BinaryMarshaler) []byte {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// codec is one encodable type under test: a populated value and a factory
// for an empty one.
type codec struct {
	name  string
	full  func() encoding.BinaryMarshaler
	empty func() interface {
		encoding.BinaryMarshaler
		encoding.BinaryUnmarshaler
	}
}

func codecs() []codec {
	r := newRand(9)
	ts := labelled(r, 5000, func(r *rand.Rand) float64 { return r.Float64() }, math.Sqrt, 0.5)
	ts = append(ts, triple{math.NaN(), true, false})
	w := windowOf(ts)
	var e Estimate
	for _, tr := range ts {
		e.Add(tr.score, tr.predicted)
	}
	c, _ := FitCalibrator(w)
	return []codec{
		{"Window", func() encoding.BinaryMarshaler { return w },
			func() interface {
				encoding.BinaryMarshaler
				encoding.BinaryUnmarshaler
			} {
				return new(Window)
			}},
		{"Estimate", func() encoding.BinaryMarshaler { return &e },
			func() interface {
				encoding.BinaryMarshaler
				encoding.BinaryUnmarshaler
			} {
				return new(Estimate)
			}},
		{"Calibrator", func() encoding.BinaryMarshaler { return c },
			func() interface {
				encoding.BinaryMarshaler
				encoding.BinaryUnmarshaler
			} {
				return new(Calibrator)
			}},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, c := range codecs() {
		t.Run(c.name, func(t *testing.T) {
			for _, src := range []encoding.BinaryMarshaler{c.full(), c.empty()} {
				data := mustMarshal(t, src)
				dst := c.empty()
				if err := dst.UnmarshalBinary(data); err != nil {
					t.Fatal(err)
				}
				if again := mustMarshal(t, dst); !bytes.Equal(again, data) {
					t.Fatal("re-encoding differs")
				}
			}
		})
	}
	// The decoded window answers as the original does.
	w := codecs()[0].full().(*Window)
	var d Window
	if err := d.UnmarshalBinary(mustMarshal(t, w)); err != nil {
		t.Fatal(err)
	}
	a1, _ := w.AUC()
	a2, _ := d.AUC()
	b1, _ := w.Brier()
	b2, _ := d.Brier()
	if a1 != a2 || b1 != b2 || w.Confusion() != d.Confusion() {
		t.Fatal("decoded window answers differently")
	}
	var nilCal *Calibrator
	if got := mustMarshal(t, nilCal); !bytes.Equal(got, mustMarshal(t, new(Calibrator))) {
		t.Fatal("nil and zero Calibrator encode differently")
	}
}

func TestUnmarshalRejects(t *testing.T) {
	for _, c := range codecs() {
		t.Run(c.name, func(t *testing.T) {
			good := mustMarshal(t, c.full())
			withVersion := func(v byte) []byte { b := bytes.Clone(good); b[4] = v; return b }
			tests := []struct {
				name string
				data []byte
				want error
			}{
				{"empty", nil, ErrCorrupt},
				{"bad magic", append([]byte("XXXX"), good[4:]...), ErrCorrupt},
				{"future version", withVersion(2), ErrVersion},
				{"version 0", withVersion(0), ErrVersion},
				{"trailing byte", append(bytes.Clone(good), 0), ErrCorrupt},
			}
			for _, tt := range tests {
				dst := c.empty()
				before := mustMarshal(t, dst)
				err := dst.UnmarshalBinary(tt.data)
				var de *DecodeError
				if !errors.Is(err, tt.want) || !errors.As(err, &de) || de.Type != c.name {
					t.Errorf("%s: error %v, want %v in a *DecodeError for %s", tt.name, err, tt.want, c.name)
				}
				if !bytes.Equal(mustMarshal(t, dst), before) {
					t.Errorf("%s: receiver changed on error", tt.name)
				}
			}
			// Every proper prefix is rejected, without panicking.
			for n := range len(good) {
				if err := c.empty().UnmarshalBinary(good[:n]); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("prefix of %d/%d bytes: error %v", n, len(good), err)
				}
			}
		})
	}
}

func TestUnmarshalRejectsBrokenInvariants(t *testing.T) {
	w := windowOf([]triple{{0.3, false, false}, {0.6, true, true}})
	good := mustMarshal(t, w)
	// Header (5 bytes), then TP FP TN FN scored as one-byte uvarints.
	scoredAt := 5 + 4
	if good[scoredAt] != 2 {
		t.Fatalf("layout changed: scored byte is %d", good[scoredAt])
	}
	bad := bytes.Clone(good)
	bad[scoredAt] = 1 // scored disagrees with the histograms
	if err := new(Window).UnmarshalBinary(bad); !errors.Is(err, ErrCorrupt) {
		t.Errorf("inconsistent window: error %v", err)
	}

	enc := func(xy ...float64) []byte {
		e := encoder{}
		e.header(magicCalibrator, calibratorVersion)
		e.uvarint(uint64(len(xy) / 2))
		for _, v := range xy {
			e.f64(v)
		}
		return e.b
	}
	for name, data := range map[string][]byte{
		"x not increasing": enc(0.5, 0.1, 0.5, 0.2),
		"y decreasing":     enc(0.2, 0.5, 0.6, 0.4),
		"y above 1":        enc(0.2, 1.5),
		"NaN":              enc(math.NaN(), 0.5),
		"too many knots":   append(enc(), 0xff, 0xff, 0x03),
	} {
		if err := new(Calibrator).UnmarshalBinary(data); !errors.Is(err, ErrCorrupt) {
			t.Errorf("calibrator %s: error %v", name, err)
		}
	}

	e := encoder{}
	e.header(magicEstimate, estimateVersion)
	e.uvarint(1)               // one predicted positive
	e.uvarint(0)               // no predicted negatives
	e.sum(sum128{lo: 3 << 52}) // Σp = 3 > 1
	e.sum(sum128{})
	e.uvarint(0)
	if err := new(Estimate).UnmarshalBinary(e.b); !errors.Is(err, ErrCorrupt) {
		t.Errorf("estimate with Σp > n: error %v", err)
	}
}

func FuzzWindowUnmarshal(f *testing.F) {
	f.Add(mustMarshal(f, new(Window)))
	f.Add(mustMarshal(f, windowOf([]triple{{0.1, false, false}, {0.9, true, true}, {0.5, true, false}})))
	f.Fuzz(func(t *testing.T, data []byte) {
		var w Window
		if err := w.UnmarshalBinary(data); err != nil {
			return
		}
		if again := mustMarshal(t, &w); !bytes.Equal(again, data) {
			t.Fatalf("accepted input does not re-encode identically")
		}
	})
}
