package windows

import (
	"strconv"
	"testing"
	"time"
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

// BenchmarkWatermarkAdvance is the loop's per-batch watermark computation
// over the owned input sources (2 topics × partitions), with every source
// having observed events since the last batch.
func BenchmarkWatermarkAdvance(b *testing.B) {
	for _, parts := range []int{4, 32} {
		b.Run(strconv.Itoa(parts)+"partitions", func(b *testing.B) {
			now := time.Now()
			wm := NewWatermark(time.Minute, 30*time.Second)
			sources := make([]*Source, 2*parts)
			for i := range sources {
				sources[i] = NewSource(now)
			}
			ms := int64(1_767_225_600_000)
			b.ReportAllocs()
			for b.Loop() {
				for i, s := range sources {
					s.Observe(ms + int64(i))
				}
				ms += 1000
				wm.Advance(now, sources)
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
