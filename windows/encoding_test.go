package windows

import (
	"bytes"
	"errors"
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
func TestStateRoundTrip(t *testing.T) {
	layout := Layout{{false}, {false, true}}
	ps := NewPanes(time.Minute, layout)
	fillPanes(ps, 5000, 7)
	enc, err := ps.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := NewPanes(time.Minute, layout)
	if err := got.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	again, _ := got.AppendBinary(nil)
	if !bytes.Equal(enc, again) {
		t.Fatal("panes: re-encoding differs")
	}
	if got.Len() != ps.Len() || got.Len() != 6 {
		t.Fatalf("panes: %d open after decoding, want %d (6)", got.Len(), ps.Len())
	}

	// Both copies, harvested into aggregators, close identical windows;
	// and an aggregator checkpointed half-way closes them too.
	lengths := []time.Duration{time.Minute, 2 * time.Minute}
	a1, a2, a3 := NewAggregator(lengths, layout), NewAggregator(lengths, layout), NewAggregator(lengths, layout)
	h1, h2 := ps.Harvest(1<<62, nil), got.Harvest(1<<62, nil)
	for i := range h1 {
		if _, err := a1.Add(h1[i]); err != nil {
			t.Fatal(err)
		}
		if _, err := a2.Add(h2[i]); err != nil {
			t.Fatal(err)
		}
	}
	aenc, err := a2.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a3.UnmarshalBinary(aenc); err != nil {
		t.Fatal(err)
	}
	c1, err1 := a1.Close(1<<62, nil)
	c3, err3 := a3.Close(1<<62, nil)
	if err1 != nil || err3 != nil {
		t.Fatal(err1, err3)
	}
	if len(c1) != len(c3) || len(c1) == 0 {
		t.Fatalf("closed %d and %d windows", len(c1), len(c3))
	}
	for i := range c1 {
		b1, _ := c1[i].Partial.AppendBinary(nil)
		b3, _ := c3[i].Partial.AppendBinary(nil)
		if !bytes.Equal(b1, b3) || c1[i].Window != c3[i].Window {
			t.Fatalf("window %d [%d,%d) differs after a checkpoint", i, c1[i].Start, c1[i].End)
		}
	}

	ref := NewStreamReference(layout, 1, 0, 120_000)
	for _, p := range h1 {
		if p.Model == 1 {
			if err := ref.Offer(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	ref.Finish()
	renc, _ := ref.AppendBinary(nil)
	ref2, err := layout.DecodeReference(1, renc)
	if err != nil {
		t.Fatal(err)
	}
	if !ref2.Complete || ref2.Predictions != ref.Predictions || len(ref2.Edges) != len(ref.Edges) {
		t.Fatalf("reference: complete %v predictions %d, want true %d", ref2.Complete, ref2.Predictions, ref.Predictions)
	}
}

func TestStateRefusesCorruptInput(t *testing.T) {
	layout := Layout{{false}}
	ps := NewPanes(time.Minute, layout)
	fillPanes(ps, 50, 1)
	enc, _ := ps.AppendBinary(nil)
	tests := map[string][]byte{
		"empty":       nil,
		"bad version": append([]byte{9}, enc[1:]...),
		"truncated":   enc[:len(enc)/2],
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			if err := NewPanes(time.Minute, layout).UnmarshalBinary(data); !errors.Is(err, ErrCorrupt) {
				t.Errorf("error = %v, want ErrCorrupt", err)
			}
		})
	}
	// A partial of a model the layout does not have.
	two := NewPanes(time.Minute, Layout{{false}, {false}})
	fillPanes(two, 50, 2)
	enc2, _ := two.AppendBinary(nil)
	if err := NewPanes(time.Minute, layout).UnmarshalBinary(enc2); !errors.Is(err, ErrCorrupt) {
		t.Errorf("unknown model: error = %v, want ErrCorrupt", err)
	}
}

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

// FuzzStateUnmarshal checks that no input makes the decoders of panes, an
// aggregator or a reference panic: checkpoints and partials come from Kafka.
func FuzzStateUnmarshal(f *testing.F) {
	layout := Layout{{false}, {false, true}}
	ps := NewPanes(time.Minute, layout)
	fillPanes(ps, 200, 9)
	enc, _ := ps.AppendBinary(nil)
	f.Add(enc)
	a := NewAggregator([]time.Duration{time.Minute}, layout)
	for _, p := range ps.Harvest(1<<62, nil) {
		a.Add(p)
	}
	aenc, _ := a.AppendBinary(nil)
	f.Add(aenc)
	f.Fuzz(func(t *testing.T, data []byte) {
		NewPanes(time.Minute, layout).UnmarshalBinary(data)
		NewAggregator([]time.Duration{time.Minute}, layout).UnmarshalBinary(data)
		layout.DecodeReference(1, data)
		layout.DecodePartial(data)
	})
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
