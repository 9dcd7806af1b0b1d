package windows

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/reckonhq/reckon/event"
)

// foldSources returns each of n source partitions' harvested panes (one
// minute long, over twelve minutes of event time), in harvest order.
func foldSources(layout Layout, n int, seed uint64) [][]*Partial {
	rng := rand.New(rand.NewPCG(seed, 2))
	e := &event.Prediction{Num: make([]float64, 2), Cat: make([][]byte, 2), Missing: make([]bool, 2)}
	srcs := make([][]*Partial, n)
	for src := range srcs {
		ps := NewPanes(time.Minute, layout)
		for range 4000 {
			e.TimeMs = int64(rng.IntN(12 * 60_000))
			e.Score = rng.Float64()
			e.Predicted = e.Score > 0.5
			e.Num[0] = rng.NormFloat64() * float64(1+src)
			e.Cat[1] = []byte{byte('a' + rng.IntN(7))}
			p := ps.Get(0, e.TimeMs)
			p.AddPrediction(e, nil, rng.IntN(5) == 0)
			if rng.IntN(3) == 0 {
				p.Outcomes++
				p.Perf.Add(e.Score, e.Predicted, rng.IntN(2) == 0)
				p.Joined = append(p.Joined, JoinedError{OutcomeMs: e.TimeMs, PredMs: e.TimeMs - 10, Wrong: rng.IntN(2) == 0})
			}
		}
		for _, p := range ps.Harvest(1<<62, nil) {
			p.Source = int32(src)
			srcs[src] = append(srcs[src], p)
		}
	}
	return srcs
}

// TestFoldEqualsMergingAtClose checks that merging panes as soon as the
// fold frontier allows — with the sources' panes and watermarks arriving
// interleaved at random, and the state going through a checkpoint now and
// then — closes windows and completes a stream reference byte for byte as
// merging every pane at the end does.
func TestFoldEqualsMergingAtClose(t *testing.T) {
	layout := Layout{{false, true}}
	lengths := []time.Duration{3 * time.Minute, 6 * time.Minute}
	const sources, pane = 4, int64(60_000)
	srcs := foldSources(layout, sources, 7)
	clone := func(p *Partial) *Partial {
		b, err := p.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		q, _, err := layout.DecodePartial(b)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	encodeAll := func(rs []*Result, ref *Reference) [][]byte {
		var out [][]byte
		for _, r := range rs {
			b, err := r.Partial.AppendBinary(nil)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		b, err := ref.Partial.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		return append(out, b)
	}

	// Merging at the end.
	a := NewAggregator(lengths, layout)
	ref := NewStreamReference(layout, 0, 2*pane, 7*pane)
	for _, ps := range srcs {
		for _, p := range ps {
			q := clone(p)
			if err := ref.Offer(q); err != nil {
				t.Fatal(err)
			}
			if ok, err := a.Add(q); !ok || err != nil {
				t.Fatalf("Add = %v, %v", ok, err)
			}
		}
	}
	ref.Finish()
	closed, err := a.Close(1<<62, nil)
	if err != nil || len(closed) != 6 {
		t.Fatalf("closed %d windows, %v", len(closed), err)
	}
	want := encodeAll(closed, ref)

	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 9))
		a := NewAggregator(lengths, layout)
		ref := NewStreamReference(layout, 0, 2*pane, 7*pane)
		next := make([]int, sources)
		wms := slices.Repeat([]int64{Unset}, sources)
		var folds int
		for {
			var left []int
			for src := range sources {
				if next[src] < len(srcs[src]) {
					left = append(left, src)
				}
			}
			if len(left) == 0 {
				break
			}
			// A source sends its next pane, then (sometimes) its watermark:
			// the pane's end or a little past it.
			src := left[rng.IntN(len(left))]
			p := clone(srcs[src][next[src]])
			next[src]++
			if err := ref.Offer(p); err != nil {
				t.Fatal(err)
			}
			if ok, err := a.Add(p); !ok || err != nil {
				t.Fatalf("seed %d: Add(%d/%d) = %v, %v", seed, p.Source, p.Start, ok, err)
			}
			if rng.IntN(2) == 0 {
				wms[src] = p.End + int64(rng.IntN(int(pane)))
				if f, ok := FoldFrontier(pane, wms); ok {
					if err := a.Fold(f); err != nil {
						t.Fatal(err)
					}
					if err := ref.Fold(f); err != nil {
						t.Fatal(err)
					}
					folds++
				}
			}
			if rng.IntN(8) == 0 { // a checkpoint and a restore
				restored := NewAggregator(lengths, layout)
				for k, ow := range a.open {
					b, err := appendOpenWindow(nil, ow)
					if err != nil {
						t.Fatal(err)
					}
					if restored.open[k], err = restored.readOpenWindow(k, b); err != nil {
						t.Fatal(err)
					}
				}
				restored.closedThrough, a = a.closedThrough, restored
				b, err := ref.AppendBinary(nil)
				if err != nil {
					t.Fatal(err)
				}
				if ref, err = layout.DecodeReference(0, b); err != nil {
					t.Fatal(err)
				}
			}
		}
		if folds == 0 {
			t.Fatalf("seed %d: nothing was folded", seed)
		}
		ref.Finish()
		closed, err := a.Close(1<<62, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := encodeAll(closed, ref)
		if len(got) != len(want) {
			t.Fatalf("seed %d: %d results, want %d", seed, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("seed %d: result %d differs from merging at the end", seed, i)
			}
		}
	}
}

func TestFoldFrontier(t *testing.T) {
	for _, tc := range []struct {
		name string
		wms  []int64
		want PaneKey
		ok   bool
	}{
		{"a source without a watermark", []int64{120_000, Unset}, noPane, false},
		{"the lowest watermark's pane", []int64{185_000, 125_000, 190_000}, PaneKey{Start: 120_000, Source: 1}, true},
		{"a watermark on a pane boundary", []int64{180_000, 180_000}, PaneKey{Start: 180_000}, true},
		{"negative times", []int64{-30_000}, PaneKey{Start: -60_000}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := FoldFrontier(60_000, tc.wms)
			if got != tc.want || ok != tc.ok {
				t.Errorf("FoldFrontier = %v %v, want %v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestFoldRejectsPanesBeforeTheFrontier: a pane that sorts before what a
// window has merged cannot be merged in order any more; the aggregator
// refuses it as late and the reference as an error (a fold frontier that
// is right rules both out).
func TestFoldRejectsPanesBeforeTheFrontier(t *testing.T) {
	layout := Layout{{false, true}}
	srcs := foldSources(layout, 2, 3)
	a := NewAggregator([]time.Duration{3 * time.Minute}, layout)
	ref := NewStreamReference(layout, 0, 0, 3*60_000)
	first := srcs[0][0]
	if ok, err := a.Add(first); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := ref.Offer(first); err != nil {
		t.Fatal(err)
	}
	f := PaneKey{Start: first.Start, Source: 1}
	if err := a.Fold(f); err != nil {
		t.Fatal(err)
	}
	if err := ref.Fold(f); err != nil {
		t.Fatal(err)
	}
	late := srcs[0][1] // source 0, the next pane: after the frontier
	late.Start, late.End = first.Start, first.End
	late.Source = 0
	if ok, err := a.Add(late); ok || err != nil {
		t.Errorf("Add of a pane before the frontier = %v, %v; want late", ok, err)
	}
	if err := ref.Offer(late); err == nil {
		t.Error("the reference took a pane before its frontier")
	}
	after := srcs[1][0]
	if ok, err := a.Add(after); !ok || err != nil {
		t.Errorf("Add of a pane at the frontier = %v, %v", ok, err)
	}
}
