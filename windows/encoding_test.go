package windows

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/windows/perf"
)

// fillPanes adds n random predictions, joins and errors over a few panes.
func fillPanes(ps *Panes, n int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	e := &event.Prediction{Num: make([]float64, 2), Cat: make([][]byte, 2), Missing: make([]bool, 2)}
	for i := range n {
		e.Model = i % len(ps.layout)
		e.TimeMs = int64(rng.IntN(3 * 60_000))
		e.Error = rng.IntN(10) == 0
		e.Score = rng.Float64()
		e.Predicted = e.Score > 0.5
		e.Num[0] = rng.NormFloat64()
		e.Cat[1] = []byte{byte('a' + rng.IntN(5))}
		p := ps.Get(e.Model, e.TimeMs)
		p.AddPrediction(e, nil, rng.IntN(4) == 0)
		if rng.IntN(3) == 0 {
			p.Outcomes++
			p.Perf.Add(e.Score, e.Predicted, rng.IntN(2) == 0)
			p.Joined = append(p.Joined, JoinedError{OutcomeMs: e.TimeMs, PredMs: e.TimeMs - 10, Wrong: rng.IntN(2) == 0})
		}
	}
}

// TestStateRoundTrip checks that panes, an aggregator and a stream
// reference decode to state that encodes to the same bytes and merges to
// the same results: a checkpoint loses nothing.
// TestAggregatorMergeOrder checks that a window's sketches do not depend on
// the order its panes arrive in (t-digest merging is not associative):
// members exchange panes through Kafka, in no fixed order.
func TestAggregatorMergeOrder(t *testing.T) {
	layout := Layout{{false}}
	var parts []*Partial
	for src := range int32(4) {
		ps := NewPanes(time.Minute, layout)
		fillPanes(ps, 3000, uint64(src)+10)
		for _, p := range ps.Harvest(1<<62, nil) {
			p.Source = src
			parts = append(parts, p)
		}
	}
	encode := func(order []*Partial) []byte {
		a := NewAggregator([]time.Duration{3 * time.Minute}, layout)
		for _, p := range order {
			enc, _ := p.AppendBinary(nil)
			q, _, err := layout.DecodePartial(enc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Add(q); err != nil {
				t.Fatal(err)
			}
		}
		closed, err := a.Close(1<<62, nil)
		if err != nil || len(closed) != 1 {
			t.Fatalf("closed %d windows, %v", len(closed), err)
		}
		b, _ := closed[0].Partial.AppendBinary(nil)
		return b
	}
	want := encode(parts)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5 {
		shuffled := slices.Clone(parts)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if !bytes.Equal(encode(shuffled), want) {
			t.Fatal("the window's sketches depend on the order its panes arrived in")
		}
	}
}

// TestDeferredEstimateEqualsDirect checks that predictions whose estimate
// waited for the calibrator (shipped between members, merged, then
// resolved) estimate exactly what calibrating them on arrival would have.
func TestDeferredEstimateEqualsDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var labelled perf.Window
	for range 2000 {
		s := rng.Float64()
		labelled.Add(s, s > 0.5, rng.Float64() < s*s)
	}
	cal, err := perf.FitCalibrator(&labelled)
	if err != nil {
		t.Fatal(err)
	}
	layout := Layout{{}}
	direct, a, b := layout.NewPartial(0), layout.NewPartial(0), layout.NewPartial(0)
	e := &event.Prediction{}
	for i := range 3000 {
		e.Score = rng.Float64()
		e.Predicted = e.Score > 0.4
		direct.AddPrediction(e, cal, false)
		half := a
		if i%2 == 1 {
			half = b
		}
		half.AddPrediction(e, cal, i%3 == 0) // a third deferred
	}
	enc, _ := b.AppendBinary(nil)
	b2, _, err := layout.DecodePartial(enc)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Merge(b2); err != nil {
		t.Fatal(err)
	}
	if len(a.Deferred) != 1000 {
		t.Fatalf("%d deferred after the merge, want 1000", len(a.Deferred))
	}
	a.ResolveDeferred(cal)
	got, _ := a.Estimate.AppendBinary(nil)
	want, _ := direct.Estimate.AppendBinary(nil)
	if !bytes.Equal(got, want) || len(a.Deferred) != 0 {
		t.Fatal("the resolved estimate differs from calibrating on arrival")
	}
}

// TestAggregatorRecyclesPartials: partials decoded into the aggregator's
// recycled partials give the same windows as freshly decoded ones, and
// partials a reference keeps are not recycled.
func TestAggregatorRecyclesPartials(t *testing.T) {
	layout := benchLayout()
	lengths := []time.Duration{5 * time.Minute, 15 * time.Minute}
	recycling, fresh := NewAggregator(lengths, layout), NewAggregator(lengths, layout)
	ref := NewStreamReference(layout, 1, 0, 10*60_000)
	var encs [][]byte
	for pane := range 12 {
		for src := range 3 {
			p := benchPane(layout, uint64(pane*3+src))
			p.Model = (pane + src) % 3
			p.Start = int64(pane) * 300_000
			p.End = p.Start + 300_000
			p.Source = int32(src)
			enc, err := p.AppendBinary(nil)
			if err != nil {
				t.Fatal(err)
			}
			encs = append(encs, enc)
		}
	}
	for i, enc := range encs {
		a, _, err := recycling.DecodePartial(enc)
		if err != nil {
			t.Fatal(err)
		}
		if err := ref.Offer(a); err != nil {
			t.Fatal(err)
		}
		b, _, err := layout.DecodePartial(enc)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []*Aggregator{recycling, fresh} {
			p := a
			if x == fresh {
				p = b
			}
			if ok, err := x.Add(p); !ok || err != nil {
				t.Fatal(ok, err)
			}
		}
		if i%3 != 2 {
			continue
		}
		wm := a.End
		ra, err := recycling.Close(wm, nil)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := fresh.Close(wm, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(ra) != len(rb) {
			t.Fatalf("%d windows closed, %d without recycling", len(ra), len(rb))
		}
		for j := range ra {
			ea, _ := ra[j].AppendBinary(nil)
			eb, _ := rb[j].AppendBinary(nil)
			if !bytes.Equal(ea, eb) {
				t.Fatalf("window [%d,%d) of model %d differs with recycled partials", ra[j].Start, ra[j].End, ra[j].Model)
			}
		}
	}
	n := 0
	for _, f := range recycling.free {
		n += len(f)
		for _, p := range f {
			if p.Model == 1 && p.End <= 10*60_000 {
				t.Errorf("pane [%d,%d) of the reference recycled", p.Start, p.End)
			}
		}
	}
	if n == 0 || len(recycling.free[1]) == 0 {
		t.Error("nothing recycled")
	}
	ref.Finish()
}
