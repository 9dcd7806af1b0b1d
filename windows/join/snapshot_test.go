package join

import (
	"bytes"
	"encoding"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var (
	_ encoding.BinaryMarshaler   = (*Store)(nil)
	_ encoding.BinaryAppender    = (*Store)(nil)
	_ encoding.BinaryUnmarshaler = (*Store)(nil)
)

// held returns every held entry, by id.
func held(s *Store) map[ident]entry {
	m := make(map[ident]entry)
	s.forEach(func(e entry) { m[ident{e.key, e.model}] = e })
	return m
}

// TestSnapshotRestoresBehaviour cuts random streams at a random point. It
// snapshots the Store there and restores the snapshot into a new Store. Then
// it feeds the rest of the stream to both: every call must report the same
// records (as multisets), and the restored Store must go on matching the
// reference model.
func TestSnapshotRestoresBehaviour(t *testing.T) {
	for _, pr := range profiles {
		t.Run(pr.name, func(t *testing.T) {
			for seed := range 5 {
				t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(seed), 0x736e6170))
					ops := genStream(pr, rng)
					cut := rng.IntN(len(ops))
					a, ref := newForProfile(pr), newRef(pr.ttl)
					ra := &recorder{}
					for _, o := range ops[:cut] {
						apply(a, ref, o, ra)
					}
					snap, err := a.MarshalBinary()
					if err != nil {
						t.Fatal(err)
					}
					b := newForProfile(pr)
					if err := b.UnmarshalBinary(snap); err != nil {
						t.Fatal(err)
					}
					checkInvariants(t, b)
					if a.Pending() != b.Pending() || a.WaitingOutcomes() != b.WaitingOutcomes() || a.Len() != b.Len() ||
						a.Watermark() != b.Watermark() || a.nextSweep != b.nextSweep {
						t.Fatalf("restored store differs: pending %d/%d waiting %d/%d len %d/%d wm %d/%d next %d/%d",
							a.Pending(), b.Pending(), a.WaitingOutcomes(), b.WaitingOutcomes(), a.Len(), b.Len(),
							a.Watermark(), b.Watermark(), a.nextSweep, b.nextSweep)
					}
					ha, hb := held(a), held(b)
					for id, e := range ha {
						if hb[id] != e {
							t.Fatalf("id %+v: restored %+v, want %+v", id, hb[id], e)
						}
					}
					// A second snapshot of the restored store decodes to the same.
					snap2, _ := b.MarshalBinary()
					c := newForProfile(pr)
					if err := c.UnmarshalBinary(snap2); err != nil {
						t.Fatal(err)
					}
					if hc := held(c); len(hc) != len(ha) {
						t.Fatalf("second round trip holds %d ids, want %d", len(hc), len(ha))
					}

					// Carry on with both, call by call. The reference has
					// already reported what b still owes.
					ra.take()
					ref.out = ref.out[:0]
					rb := &recorder{}
					delta := multiset{}
					owed, _, _, _ := overdueRecs(b)
					for _, r := range owed {
						delta[r]--
					}
					for i, o := range ops[cut:] {
						applyStore(a, o, ra)
						apply(b, ref, o, rb)
						ga, gb := multiset{}, multiset{}
						ga.add(ra.recs...)
						gb.add(rb.recs...)
						if d := diff(ga, gb); d != "" {
							t.Fatalf("step %d after the cut (%v): original minus restored: %s", i, o, d)
						}
						ra.take()
						account(delta, rb, ref)
						if i%11 == 0 {
							compare(t, b, ref, delta, cut+i, o)
						}
					}
					compare(t, b, ref, delta, len(ops), op{kind: "end"})
				})
			}
		})
	}
}

// A snapshot holds times, not deadlines: restored under another TTL, every id
// gets the new one.
func TestSnapshotAppliesNewTTL(t *testing.T) {
	a, rc := New(100*time.Millisecond), &recorder{}
	a.AddPrediction(Prediction{Key: 1, TimeMs: 0}, rc)
	snap, _ := a.MarshalBinary()
	b := New(200 * time.Millisecond)
	if err := b.UnmarshalBinary(snap); err != nil {
		t.Fatal(err)
	}
	b.Advance(150, rc)
	b.Sweep(rc)
	if len(rc.recs) != 0 {
		t.Fatalf("expired under the old TTL: %v", rc.recs)
	}
	b.Advance(200, rc)
	b.Sweep(rc)
	if got := rc.take(); len(got) != 1 || got[0] != expiredRec(0, 0) {
		t.Fatalf("got %v, want one expiry at 0", got)
	}
}

func TestSnapshotEmpty(t *testing.T) {
	a := New(time.Minute)
	snap, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b := New(time.Minute)
	if err := b.UnmarshalBinary(snap); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 0 || b.Watermark() != math.MinInt64 {
		t.Fatalf("restored empty store: len %d wm %d", b.Len(), b.Watermark())
	}
	// It works afterwards.
	rc := &recorder{}
	b.AddPrediction(Prediction{Key: 9, TimeMs: 5}, rc)
	b.AddOutcome(Outcome{Key: 9, TimeMs: 6}, rc)
	if len(rc.recs) != 1 || rc.recs[0].kind != "J" {
		t.Fatalf("got %v, want a join", rc.recs)
	}
}

// sampleSnapshot returns a snapshot holding every state, in the table and in
// the side map.
func sampleSnapshot(t testing.TB) []byte {
	s, rc := New(time.Hour), &recorder{}
	s.Advance(1_000_000, rc)
	s.AddPrediction(Prediction{Key: 1, Model: 300, TimeMs: 1_000_100, Score: 0.75, Predicted: true}, rc)
	s.AddOutcome(Outcome{Key: 2, Model: 1, TimeMs: 1_000_200, Label: true}, rc)
	s.AddPrediction(Prediction{Key: 3, TimeMs: 1_000_300}, rc)
	s.AddOutcome(Outcome{Key: 3, TimeMs: 1_000_400}, rc)
	s.AddPrediction(Prediction{Key: 4, TimeMs: 1 << 50}, rc) // side map
	if s.Len() != 4 || len(s.over) != 1 {
		t.Fatalf("sample holds %d ids, %d in the side map", s.Len(), len(s.over))
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUnmarshalErrors(t *testing.T) {
	good := sampleSnapshot(t)
	if err := New(time.Hour).UnmarshalBinary(good); err != nil {
		t.Fatalf("sample: %v", err)
	}
	// The header: magic, version, watermark, next sweep, ref, count.
	hdr := len(snapshotMagic) + 1
	// An entry for key 5: model 0, closed, time ref.
	entry1 := func() []byte { return []byte{5, 0, 0, 0, 0, 0, 0, 0, 0, stateClosed, 0} }
	// A header with watermark, next sweep and ref 0, and n entries.
	withCount := func(n byte, entries ...[]byte) []byte {
		b := append([]byte(snapshotMagic), snapshotVersion, 0, 0, 0, n)
		for _, e := range entries {
			b = append(b, e...)
		}
		return b
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty input", nil, "not a join snapshot"},
		{"wrong magic", append([]byte("XYZ"), good[3:]...), "not a join snapshot"},
		{"future version", append(append([]byte(snapshotMagic), 2), good[hdr:]...), "version 2"},
		{"trailing bytes", append(bytes.Clone(good), 0), "after the snapshot"},
		{"count beyond the data", withCount(100, entry1()), "claims 100 entries"},
		{"duplicate id", withCount(2, entry1(), entry1()), "twice"},
		{"invalid state", withCount(1, []byte{5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), "invalid state"},
		{"unknown flags", withCount(1, []byte{5, 0, 0, 0, 0, 0, 0, 0, 0, stateClosed | 0x80, 0}), "unknown flags"},
		{"model out of range", withCount(1, []byte{5, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x04, stateClosed, 0}), "model index"},
		{"pending without its score", withCount(1, []byte{5, 0, 0, 0, 0, 0, 0, 0, 0, statePending, 0}), "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(time.Hour)
			rc := &recorder{}
			s.AddPrediction(Prediction{Key: 77, TimeMs: 1}, rc)
			before := held(s)
			err := s.UnmarshalBinary(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if after := held(s); len(after) != len(before) || after[ident{77, 0}] != before[ident{77, 0}] {
				t.Fatalf("a failed UnmarshalBinary changed the store")
			}
		})
	}
	// Every truncation of a good snapshot is an error, not a panic.
	for n := range len(good) {
		if err := New(time.Hour).UnmarshalBinary(good[:n]); err == nil {
			t.Fatalf("snapshot truncated to %d of %d bytes: no error", n, len(good))
		}
	}
	var zero Store
	if err := zero.UnmarshalBinary(good); err != errNotNew {
		t.Fatalf("zero Store: error %v, want %v", err, errNotNew)
	}
}

func FuzzUnmarshalBinary(f *testing.F) {
	f.Add(sampleSnapshot(f))
	f.Add([]byte(snapshotMagic + "\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := New(time.Hour)
		if err := s.UnmarshalBinary(data); err != nil {
			return
		}
		checkInvariants(t, s)
		// Whatever decodes re-encodes to the same state.
		again, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		s2 := New(time.Hour)
		if err := s2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded snapshot: %v", err)
		}
		h1, h2 := held(s), held(s2)
		if len(h1) != len(h2) || s.Watermark() != s2.Watermark() || s.nextSweep != s2.nextSweep {
			t.Fatalf("re-encoded snapshot differs")
		}
		for id, e := range h1 {
			if h2[id] != e {
				t.Fatalf("id %+v: %+v after re-encoding, want %+v", id, h2[id], e)
			}
		}
		// And the store works.
		rc := &recorder{}
		s.AddPrediction(Prediction{Key: 12345, TimeMs: 0}, rc)
		s.Advance(math.MaxInt64, rc)
		if s.Len() != 0 {
			t.Fatalf("%d ids held at the end of time", s.Len())
		}
	})
}

// BenchmarkMarshal measures the snapshot of a store holding a million pending
// predictions.
func BenchmarkMarshal(b *testing.B) {
	s, sink := New(24*time.Hour), &countingSink{}
	for i := range int64(1 << 20) {
		s.AddPrediction(Prediction{Key: mix64(uint64(i)), TimeMs: 1_795_000_000_000 + i, Score: 0.5}, sink)
	}
	s.Advance(1_795_000_000_000, sink)
	buf, _ := s.MarshalBinary()
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = s.AppendBinary(buf[:0])
	}
	b.ReportMetric(float64(len(buf))/float64(s.Len()), "bytes/id")
}
