package windows

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/reckonhq/reckon/event"
)

// benchLayout is 3 models of 10 features, 6 numeric and 4 categorical, as
// `reckon bench` generates by default.
func benchLayout() Layout {
	m := []bool{false, false, false, false, false, false, true, true, true, true}
	return Layout{m, m, m}
}

// BenchmarkPanesGet is the per-event pane lookup of a partition worker:
// 3 models, 5m panes, event time advancing 5ms per event (200 events per
// second of event time) with a little disorder, panes harvested and
// released every 10,000 events a minute behind, as the loop does.
func BenchmarkPanesGet(b *testing.B) {
	ps := NewPanes(5*time.Minute, benchLayout())
	var harvest []*Partial
	const start = int64(1_767_225_600_000) // 2026-01-01T00:00:00Z
	var i int64
	step := func() {
		ms := start + 5*i - (i*7919)%400 // up to 400ms out of order
		ps.Get(int(i%3), ms).Predictions++
		i++
		if i%10_000 == 0 {
			harvest = ps.Harvest(start+5*i-60_000, harvest[:0])
			ps.Release(harvest)
		}
	}
	for range 200_000 { // steady state: partials recycled
		step()
	}
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
}

// BenchmarkWatermarkAdvance is the group watermark over the partitions'
// reports (an aggregation's per-batch work), with every partition having
// moved since the last batch.
func BenchmarkWatermarkAdvance(b *testing.B) {
	for _, parts := range []int{4, 32} {
		b.Run(strconv.Itoa(parts)+"partitions", func(b *testing.B) {
			in := make([]Input, parts)
			ms := int64(1_767_225_600_000)
			wm := Unset
			b.ReportAllocs()
			for b.Loop() {
				for i := range in {
					in[i] = Input{Watermark: ms + int64(i), Idle: i%7 == 3}
				}
				ms += 1000
				wm = NextWatermark(wm, in)
			}
		})
	}
}

// BenchmarkSourceObserve is the per-event event-time bookkeeping.
func BenchmarkSourceObserve(b *testing.B) {
	s := NewSource(time.Now())
	ms := int64(1_767_225_600_000)
	b.ReportAllocs()
	for b.Loop() {
		s.Observe(ms)
		ms += 5
	}
}

// benchPane is one pane of model 0 as `reckon bench` fills it: 1,000
// predictions, numeric features in digest mode, categorical ones with 20
// values, some joined outcomes.
func benchPane(l Layout, seed uint64) *Partial {
	rng := rand.New(rand.NewPCG(seed, 1))
	p := l.NewPartial(0)
	p.Start, p.End = 1_767_225_600_000, 1_767_225_900_000
	e := &event.Prediction{Num: make([]float64, 10), Cat: make([][]byte, 10), Missing: make([]bool, 10)}
	for range 1000 {
		e.TimeMs = p.Start + int64(rng.IntN(300_000))
		e.Score = rng.Float64()
		e.Predicted = e.Score > 0.5
		for i, cat := range l[0] {
			if cat {
				e.Cat[i] = []byte("value-" + strconv.Itoa(rng.IntN(20)))
			} else {
				e.Num[i] = float64(int(rng.NormFloat64()*3000+5000)) / 100
			}
		}
		p.AddPrediction(e, nil, false)
		if rng.IntN(2) == 0 {
			p.Outcomes++
			p.Perf.Add(e.Score, e.Predicted, rng.IntN(2) == 0)
			p.Joined = append(p.Joined, JoinedError{OutcomeMs: e.TimeMs, PredMs: e.TimeMs - 10})
		}
	}
	return p
}

// BenchmarkPartialAppendBinary encodes a pane into a reused buffer, as a
// worker does for the partials topic and a checkpoint for every open pane:
// live (as the worker filled it) and decoded (as the merger holds it).
// allocs/op should be 0 for a decoded pane.
func BenchmarkPartialAppendBinary(b *testing.B) {
	l := benchLayout()
	live := benchPane(l, 1)
	enc, err := live.AppendBinary(nil)
	if err != nil {
		b.Fatal(err)
	}
	decoded, _, err := l.DecodePartial(enc)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		p    *Partial
	}{{"live", live}, {"decoded", decoded}} {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 0, 2*len(enc))
			b.ReportAllocs()
			for b.Loop() {
				if buf, err = bc.p.AppendBinary(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodePartial decodes a pane as the merger does for every pane
// of every partition: into a new partial, and into one the aggregator
// recycled after its windows closed. The recycled decode allocates only
// its HyperLogLogs (the package decodes into new memory).
func BenchmarkDecodePartial(b *testing.B) {
	l := benchLayout()
	enc, err := benchPane(l, 1).AppendBinary(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := l.DecodePartial(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("recycled", func(b *testing.B) {
		a := NewAggregator([]time.Duration{5 * time.Minute}, l)
		b.ReportAllocs()
		for b.Loop() {
			p, _, err := a.DecodePartial(enc)
			if err != nil {
				b.Fatal(err)
			}
			a.free[p.Model] = append(a.free[p.Model], p)
		}
	})
}

// TestPanesSteadyStateAllocs is a partition's per-event pane work in steady
// state, as BenchmarkPanesGet with the rest of it: predictions and joined
// outcomes added to 3 models' 5m panes, harvested a minute behind every
// 10,000 events. Adding allocates nothing, and a new pane is a recycled
// partial, with its sketches' memory and its score histograms: what
// allocates is a few of the sketches' own structures per pane (about 8;
// a partial made anew costs about 90 more).
func TestPanesSteadyStateAllocs(t *testing.T) {
	l := benchLayout()
	ps := NewPanes(5*time.Minute, l)
	rng := rand.New(rand.NewPCG(1, 2))
	e := &event.Prediction{Num: make([]float64, 10), Cat: make([][]byte, 10), Missing: make([]bool, 10)}
	cats := make([][]byte, 20)
	for i := range cats {
		cats[i] = []byte("value-" + strconv.Itoa(i))
	}
	const start = int64(1_767_225_600_000)
	var harvest []*Partial
	var i int64
	msAt := func(i int64) int64 { return start + 5*i - (i*7919)%400 }
	step := func() {
		ms := msAt(i)
		e.TimeMs = ms
		e.Score = rng.Float64()
		e.Predicted = e.Score > 0.5
		for f, cat := range l[0] {
			if cat {
				e.Cat[f] = cats[rng.IntN(len(cats))]
			} else {
				e.Num[f] = float64(rng.IntN(100)) // exact mode throughout
			}
		}
		p := ps.Get(int(i%3), ms)
		p.AddPrediction(e, nil, false)
		p.Perf.Add(e.Score, e.Predicted, rng.IntN(2) == 0)
		i++
		if i%10_000 == 0 {
			harvest = ps.Harvest(start+5*i-60_000, harvest[:0])
			ps.Release(harvest)
		}
	}
	for range 400_000 { // steady state: partials recycled
		step()
	}
	const n = 200_000
	first := ps.Start(msAt(i))
	a := testing.AllocsPerRun(1, func() {
		for range n {
			step()
		}
	})
	panes := 3 * ((ps.Start(msAt(i-1))-first)/ps.length + 1)
	if a > float64(20*panes) {
		t.Errorf("%v allocations in %d events of steady state, %d panes opened: more than 20 per pane", a, n, panes)
	}
}
