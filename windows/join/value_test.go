package join

import (
	"math"
	"testing"
	"time"
)

// valueSink keeps the joined label values.
type valueSink struct {
	recorder
	values []float32
}

func (v *valueSink) Joined(j Joined) {
	v.recorder.Joined(j)
	v.values = append(v.values, j.LabelValue)
}

// TestOutcomeValueWaits checks that a regression or multiclass label (an
// outcome's Value) survives waiting for its prediction, in a Store, through
// its snapshot, and in a DiskStore through warm and cold restores, and that
// an outcome arriving second hands its Value over directly.
func TestOutcomeValueWaits(t *testing.T) {
	const ttl = int64(time.Hour / time.Millisecond)
	vals := []float32{-3.25, 0, 17.5, 2, float32(math.Pi)}
	type store interface {
		AddPrediction(Prediction, Sink)
		AddOutcome(Outcome, Sink)
	}
	run := func(t *testing.T, s store, between func() store) []float32 {
		var sink valueSink
		for i, v := range vals {
			// Even ids: the outcome waits; odd: the prediction waits.
			k := uint64(i + 1)
			if i%2 == 0 {
				s.AddOutcome(Outcome{Key: k, Model: 1, TimeMs: 1000, Value: v, Valued: true}, &sink)
			} else {
				s.AddPrediction(Prediction{Key: k, Model: 1, TimeMs: 900, Score: float32(i)}, &sink)
			}
		}
		s = between()
		for i, v := range vals {
			k := uint64(i + 1)
			if i%2 == 0 {
				s.AddPrediction(Prediction{Key: k, Model: 1, TimeMs: 900, Score: float32(i)}, &sink)
			} else {
				s.AddOutcome(Outcome{Key: k, Model: 1, TimeMs: 1000, Value: v, Valued: true}, &sink)
			}
		}
		return sink.values
	}
	check := func(t *testing.T, got []float32) {
		t.Helper()
		if len(got) != len(vals) {
			t.Fatalf("%d joins, want %d", len(got), len(vals))
		}
		for i := range vals {
			if math.Float32bits(got[i]) != math.Float32bits(vals[i]) {
				t.Errorf("join %d: label value %v, want %v", i, got[i], vals[i])
			}
		}
	}
	t.Run("store", func(t *testing.T) {
		s := New(time.Duration(ttl) * time.Millisecond)
		check(t, run(t, s, func() store { return s }))
	})
	t.Run("snapshot", func(t *testing.T) {
		s := New(time.Duration(ttl) * time.Millisecond)
		check(t, run(t, s, func() store {
			b, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			r := New(time.Duration(ttl) * time.Millisecond)
			if err := r.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			return r
		}))
	})
	for _, restore := range []string{"warm", "cold"} {
		t.Run("disk "+restore, func(t *testing.T) {
			r := newDiskRun(t, ttl)
			check(t, run(t, r.d, func() store {
				r.commit()
				if restore == "warm" {
					r.warm()
				} else {
					r.cold(false)
				}
				return r.d
			}))
		})
	}
}
