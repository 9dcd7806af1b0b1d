package join

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// mix64 is the SplitMix64 finalizer: distinct, well-mixed keys for benchmarks
// without the cost of KeyOf (measured in BenchmarkKeyOf).
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// Steady-state benchmarks: one event per millisecond of event time and a TTL
// of 2^20 ms, so about a million ids are held. The watermark trails by a
// second and advances every 1024 events. Sweeps (every ttl/16) are included,
// amortised.
const (
	benchTTL   = 1 << 20 // ms
	benchEvery = 1024
)

func benchStore() *Store { return New(benchTTL * time.Millisecond) }

// BenchmarkAddPrediction adds new predictions (no outcome) to a store holding
// about a million pending predictions. The oldest expire as the watermark
// moves.
func BenchmarkAddPrediction(b *testing.B) {
	s, sink := benchStore(), &countingSink{}
	var i int64
	add := func() {
		s.AddPrediction(Prediction{Key: mix64(uint64(i)), Model: uint16(i & 3), TimeMs: i, Score: 0.5}, sink)
		if i%benchEvery == 0 {
			s.Advance(i-1000, sink)
		}
		i++
	}
	for range 2 * benchTTL { // reach the steady size first
		add()
	}
	b.ReportAllocs()
	for b.Loop() {
		add()
	}
	b.ReportMetric(float64(s.Pending()), "pending")
}

// BenchmarkJoin is one op = a prediction and then its outcome. Joined ids
// stay held as closed until their deadline (about a million).
func BenchmarkJoin(b *testing.B) {
	s, sink := benchStore(), &countingSink{}
	var i int64
	join := func() {
		k := mix64(uint64(i))
		s.AddPrediction(Prediction{Key: k, Model: uint16(i & 3), TimeMs: i, Score: 0.5}, sink)
		s.AddOutcome(Outcome{Key: k, Model: uint16(i & 3), TimeMs: i + 1, Label: true}, sink)
		if i%benchEvery == 0 {
			s.Advance(i-1000, sink)
		}
		i++
	}
	for range 2 * benchTTL {
		join()
	}
	b.ReportAllocs()
	for b.Loop() {
		join()
	}
	b.ReportMetric(float64(s.Len()), "held")
}

// BenchmarkAdvance is the O(1) path of Advance between sweeps, with a
// million held ids. BenchmarkSweep measures the sweeps.
func BenchmarkAdvance(b *testing.B) {
	s, sink := New(benchTTL*time.Millisecond, WithSweepInterval(math.MaxInt64)), &countingSink{}
	for i := range int64(1 << 20) {
		s.AddPrediction(Prediction{Key: mix64(uint64(i)), TimeMs: i}, sink)
	}
	s.Advance(0, sink) // the first Advance sweeps; the next is out of reach
	w := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		w++
		s.Advance(w, sink)
	}
}

// BenchmarkSweep is one full sweep (ns/op) of a table holding n ids, none
// overdue. That is the pause one Advance takes at a sweep point.
func BenchmarkSweep(b *testing.B) {
	for _, n := range []int{1 << 20, 5_000_000} {
		b.Run(fmt.Sprintf("held=%d", n), func(b *testing.B) {
			s, sink := New(24*time.Hour), &countingSink{}
			for i := range int64(n) {
				s.AddPrediction(Prediction{Key: mix64(uint64(i)), TimeMs: i}, sink)
			}
			s.Advance(0, sink)
			b.ReportAllocs()
			for b.Loop() {
				s.Sweep(sink)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(s.tab.slots)), "ns/slot")
		})
	}
}

// BenchmarkStream replays a realistic stream. Per op (one event): predictions
// at one per ms; 70% get an outcome after a delay of up to 1.2 × TTL (some
// arrive too late); 2% of events are duplicates; the watermark trails by a
// second and advances every 100 events.
func BenchmarkStream(b *testing.B) { benchStream(b, benchTTL, 1) }

// BenchmarkCatchUp is BenchmarkStream at the shape of `reckon bench`, a
// consumer catching up: the default 24h TTL, one prediction per 2 s of
// event time, so about 50 thousand ids are held and a sweep (every ttl/16)
// comes about every 2,700 predictions. Sweeps are then a large share of the
// cost per event.
func BenchmarkCatchUp(b *testing.B) { benchStream(b, 24*3600*1000, 2000) }

// benchStream runs the stream of BenchmarkStream with TTL ttl ms and one
// prediction per step ms.
func benchStream(b *testing.B, ttl, step int64) {
	type ev struct {
		t     int64
		id    uint64
		isOut bool
	}
	span := 4 * ttl // ms of event time per cycle of the stream
	rng := rand.New(rand.NewPCG(1, 1))
	evs := make([]ev, 0, span/step*2)
	for id := range uint64(span / step) {
		tp := int64(id) * step
		evs = append(evs, ev{t: tp, id: id})
		// Outcomes past the end of the cycle are dropped: the next cycle's
		// events would be late behind them.
		if to := tp + rng.Int64N(ttl*6/5); rng.Float64() < 0.7 && to < span {
			evs = append(evs, ev{t: to, id: id, isOut: true})
		}
		if rng.Float64() < 0.02 {
			evs = append(evs, evs[len(evs)-1])
		}
	}
	slices.SortStableFunc(evs, func(a, b ev) int { return cmp.Compare(a.t, b.t) })

	s, sink := New(time.Duration(ttl)*time.Millisecond), &countingSink{}
	ids := uint64(span / step)
	n, cycle := 0, int64(0)
	next := func() {
		if n == len(evs) {
			n, cycle = 0, cycle+1
		}
		e := evs[n]
		t := e.t + cycle*span
		k := mix64(e.id + uint64(cycle)*ids)
		if e.isOut {
			s.AddOutcome(Outcome{Key: k, TimeMs: t, Label: true}, sink)
		} else {
			s.AddPrediction(Prediction{Key: k, TimeMs: t, Score: 0.5}, sink)
		}
		if n%100 == 0 {
			s.Advance(t-1000, sink)
		}
		n++
	}
	for range len(evs) {
		next()
	}
	b.ReportAllocs()
	for b.Loop() {
		next()
	}
	b.ReportMetric(float64(s.Len()), "held")
}

// BenchmarkMemoryPending reports the heap per pending prediction with 5
// million held, as the table grows on its own and when sized up front.
// Run it with -benchtime=1x.
func BenchmarkMemoryPending(b *testing.B) {
	const n = 5_000_000
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"grown", nil},
		{"WithCapacity", []Option{WithCapacity(n)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var per float64
			for b.Loop() {
				per = bytesPerPending(n, tc.opts...)
			}
			b.ReportMetric(per, "bytes/pending")
		})
	}
}
