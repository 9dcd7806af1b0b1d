package join

import (
	"testing"
)

// tagSink keeps the tag of every joined pair by prediction time.
type tagSink struct {
	recorder
	tags map[int64]uint64
}

func (s *tagSink) Joined(j Joined) { s.tags[j.PredTimeMs] = j.Tag }

// tagOf is the tag the test gives prediction i: 0 (none) for some, large
// values for others, so that the encodings' varints are exercised.
func tagOf(i int) uint64 {
	if i%5 == 0 {
		return 0
	}
	return uint64(i)*0x9E3779B97F4A7C15 | 1
}

// Tags travel with pending predictions through every form of the store:
// its table (growing and shrinking), a snapshot, the disk store's cache
// and disk (with evictions), its changelog, a warm and a cold restore. An
// outcome before its prediction joins with the prediction's tag.
func TestTagsTravelWithPredictions(t *testing.T) {
	const n = 3000
	check := func(t *testing.T, name string, s *tagSink) {
		t.Helper()
		for i := range n {
			if got, ok := s.tags[int64(i)]; !ok || got != tagOf(i) {
				t.Fatalf("%s: prediction %d joined with tag %#x (joined %v), want %#x", name, i, got, ok, tagOf(i))
			}
		}
	}
	add := func(addP func(Prediction), addO func(Outcome)) {
		for i := range n {
			if i%7 == 0 { // the outcome first: the prediction's tag comes with it
				addO(Outcome{Key: uint64(i), TimeMs: int64(i)})
			}
			addP(Prediction{Key: uint64(i), TimeMs: int64(i), Score: 0.5, Tag: tagOf(i)})
		}
	}
	join := func(addO func(Outcome)) {
		for i := range n {
			if i%7 != 0 {
				addO(Outcome{Key: uint64(i), TimeMs: int64(i)})
			}
		}
	}

	t.Run("store and snapshot", func(t *testing.T) {
		s := New(1 << 40)
		sink := &tagSink{tags: map[int64]uint64{}}
		add(func(p Prediction) { s.AddPrediction(p, sink) }, func(o Outcome) { s.AddOutcome(o, sink) })
		snap, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		r := New(1 << 40)
		if err := r.UnmarshalBinary(snap); err != nil {
			t.Fatal(err)
		}
		join(func(o Outcome) { s.AddOutcome(o, sink) })
		check(t, "store", sink)
		sink2 := &tagSink{tags: map[int64]uint64{}}
		for i := range n {
			if i%7 == 0 {
				sink2.tags[int64(i)] = sink.tags[int64(i)]
			}
		}
		join(func(o Outcome) { r.AddOutcome(o, sink2) })
		check(t, "snapshot", sink2)
	})

	for _, restore := range []string{"none", "warm", "cold"} {
		t.Run("disk "+restore, func(t *testing.T) {
			r := newDiskRun(t, 1<<40, WithMemory(8<<10)) // evicts: most entries live on disk only
			sink := &tagSink{tags: map[int64]uint64{}}
			i := 0
			add(func(p Prediction) {
				r.d.AddPrediction(p, sink)
				if i++; i%100 == 0 {
					r.commit()
				}
			}, func(o Outcome) { r.d.AddOutcome(o, sink) })
			r.commit()
			if r.d.cold == 0 {
				t.Fatal("nothing was evicted to disk")
			}
			if n, budget := len(r.d.hot.slots), r.d.cellBudget(); n > budget || budget > r.d.hotCells {
				t.Fatalf("the cache has %d cells, its budget with tags %d of %d without", n, budget, r.d.hotCells)
			}
			switch restore {
			case "warm":
				r.warm()
			case "cold":
				r.cold(false)
			}
			join(func(o Outcome) { r.d.AddOutcome(o, sink) })
			check(t, "disk", sink)
			checkDiskInvariants(t, r.d)
		})
	}
}
