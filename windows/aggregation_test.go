package windows

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/reckonhq/reckon/results"
)

func progress(a *Aggregation, t *testing.T, src int32, wm int64, idle, finished bool) {
	t.Helper()
	if err := a.Receive(KindProgress, AppendProgressMessage(nil, Progress{Source: src, Watermark: wm, Idle: idle, Finished: finished})); err != nil {
		t.Fatal(err)
	}
}

func sendPane(a *Aggregation, t *testing.T, p *Partial) {
	t.Helper()
	v, err := AppendPaneMessage(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Receive(KindPane, v); err != nil {
		t.Fatal(err)
	}
}

// TestAggregationWatermark checks the group watermark over the partitions'
// reports: NextWatermark with unknown partitions holding everything.
func TestAggregationWatermark(t *testing.T) {
	type report struct {
		src            int32
		wm             int64
		idle, finished bool
	}
	tests := []struct {
		name    string
		reports []report
		want    int64
	}{
		{"a partition not reported yet holds", []report{{0, base, false, false}}, Unset},
		{"the minimum over active ones", []report{{0, base, false, false}, {1, base + 5, false, false}, {2, base + 9, false, false}}, base},
		{"an idle one is skipped", []report{{0, base, true, false}, {1, base + 5, false, false}, {2, base + 9, false, false}}, base + 5},
		{"all idle: the highest", []report{{0, base, true, false}, {1, base + 5, true, false}, {2, base + 9, true, false}}, base + 9},
		{"finished counts as idle", []report{{0, base, false, true}, {1, base + 5, true, false}, {2, base + 9, false, false}}, base + 9},
		{"a report never goes back", []report{{0, base + 7, false, false}, {1, base + 8, false, false}, {2, base + 9, false, false}, {0, base, false, false}}, base + 7},
		{"it never goes back", []report{{0, base + 7, false, false}, {1, base + 8, false, false}, {2, base + 9, false, false}, {1, Unset, false, false}}, base + 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAggregation(coreSettings(t, 3), 0)
			for _, r := range tt.reports {
				progress(a, t, r.src, r.wm, r.idle, r.finished)
				if err := a.Advance(); err != nil {
					t.Fatal(err)
				}
			}
			if got := a.Watermark(); got != tt.want {
				t.Errorf("watermark %d, want %d", got, tt.want)
			}
		})
	}
}

// TestAggregationLatePane: a pane that arrives after its window closed
// (its partition woke up after the group passed it as idle) counts as late
// events and is not published again.
func TestAggregationLatePane(t *testing.T) {
	set := coreSettings(t, 2)
	a := NewAggregation(set, 0)
	pane := func(src int32, n uint64) *Partial {
		p := set.Layout.NewPartial(0)
		p.reset(0, base, base+60_000)
		p.Source, p.Predictions = src, n
		return p
	}
	sendPane(a, t, pane(0, 3))
	progress(a, t, 0, base+60_000, false, false)
	progress(a, t, 1, base, true, false)
	if err := a.Advance(); err != nil {
		t.Fatal(err)
	}
	if n := len(a.Output().Closed); n != 1 {
		t.Fatalf("%d windows closed, want the 1m one", n)
	}
	a.ResetOutput()
	sendPane(a, t, pane(1, 4))
	if err := a.Advance(); err != nil {
		t.Fatal(err)
	}
	if n, late := len(a.Output().Closed), a.Output().Late[0]; n != 0 || late != 4 {
		t.Errorf("after the late pane: %d windows closed and %d late events, want 0 and 4", n, late)
	}
}

// TestAggregationFragmentOrder: a window merges the fragments of a pane in
// their order, whatever order they arrive in, so its sketches do not depend
// on arrival (t-digest merging is not associative).
func TestAggregationFragmentOrder(t *testing.T) {
	set := coreSettings(t, 2)
	rng := rand.New(rand.NewPCG(3, 4))
	var frags []*Partial
	for seq := range uint64(6) {
		p := set.Layout.NewPartial(0)
		p.reset(0, base, base+60_000)
		p.Source, p.Seq = int32(seq%2), seq
		for range 300 {
			e := pred(0, "x", base+1)
			e.Num[0] = rng.NormFloat64() * float64(seq+1)
			p.AddPrediction(e, nil, false)
		}
		frags = append(frags, p)
	}
	var want []byte
	for round := range 10 {
		a := NewAggregation(set, 0)
		for _, i := range rng.Perm(len(frags)) {
			v, _ := AppendPaneMessage(nil, frags[i])
			if err := a.Receive(KindPane, v); err != nil {
				t.Fatal(err)
			}
		}
		progress(a, t, 0, base+180_000, true, false)
		progress(a, t, 1, base+180_000, true, false)
		if err := a.Advance(); err != nil {
			t.Fatal(err)
		}
		var got []byte
		for _, r := range a.Output().Closed {
			b, err := results.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b...)
		}
		if round == 0 {
			want = got
		} else if !bytes.Equal(got, want) {
			t.Fatalf("round %d: the windows differ with another arrival order", round)
		}
	}
}

// TestStreamReferenceLivesWithItsModel is the regression test of a bug the
// exactly-once tests found: every aggregation built every model's stream
// reference, so those that never saw the model's panes completed an empty
// reference and broadcast a nil calibrator that could overwrite the real
// one, making estimates depend on arrival order.
func TestStreamReferenceLivesWithItsModel(t *testing.T) {
	set := coreSettings(t, 4) // model b, with a stream reference, on partition 3
	for part := range int32(4) {
		a := NewAggregation(set, part)
		if got, want := a.Reference(1) != nil, part == 3; got != want {
			t.Errorf("aggregation %d has b's stream reference: %v, want %v", part, got, want)
		}
		if a.Reference(0) != nil {
			t.Errorf("aggregation %d has a reference for a, which has none", part)
		}
	}
}

// TestAggregationDone: done once every partition has finished and every
// window closed.
func TestAggregationDone(t *testing.T) {
	set := coreSettings(t, 2)
	a := NewAggregation(set, 0)
	p := set.Layout.NewPartial(0)
	p.reset(0, base, base+60_000)
	sendPane(a, t, p)
	progress(a, t, 0, base+180_000, true, true)
	if err := a.Advance(); err != nil {
		t.Fatal(err)
	}
	if a.Done() {
		t.Error("done before partition 1 finished")
	}
	progress(a, t, 1, Unset, true, true)
	if err := a.Advance(); err != nil {
		t.Fatal(err)
	}
	if !a.Done() {
		t.Errorf("not done with every partition finished (watermark %v, %d windows open)", time.UnixMilli(a.Watermark()), a.agg.Open())
	}
}
