package windows

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/reckonhq/reckon/sketch"
)

func TestNextWatermark(t *testing.T) {
	tests := []struct {
		name   string
		cur    int64
		inputs []Input
		want   int64
	}{
		{"no inputs", Unset, nil, Unset},
		{"nothing seen", Unset, []Input{{Unset, false}, {Unset, false}}, Unset},
		{"an active input without events holds", Unset, []Input{{9_000, false}, {Unset, false}}, Unset},
		{"an active input without events holds the current", 5_000, []Input{{9_000, false}, {Unset, false}}, 5_000},
		{"minimum over active inputs", Unset, []Input{{9_000, false}, {6_000, false}}, 6_000},
		{"an idle input is skipped", Unset, []Input{{9_000, false}, {6_000, true}}, 9_000},
		{"an idle input without events is skipped", Unset, []Input{{9_000, false}, {Unset, true}}, 9_000},
		{"all idle: the highest", Unset, []Input{{9_000, true}, {6_000, true}}, 9_000},
		{"all idle, some without events", Unset, []Input{{Unset, true}, {6_000, true}}, 6_000},
		{"all idle without events", 3_000, []Input{{Unset, true}, {Unset, true}}, 3_000},
		{"never back: active lower than current", 7_000, []Input{{9_000, false}, {6_000, false}}, 7_000},
		{"never back: all idle lower than current", 10_000, []Input{{9_000, true}, {6_000, true}}, 10_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NextWatermark(tt.cur, tt.inputs); got != tt.want {
				t.Errorf("NextWatermark(%d, %v) = %d, want %d", tt.cur, tt.inputs, got, tt.want)
			}
		})
	}
}

func TestSourceIdle(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name  string
		steps func(s *Source)
		at    time.Duration
		want  bool
	}{
		{"new, before the timeout", func(*Source) {}, 10 * time.Second, false},
		{"new, at the timeout", func(*Source) {}, 20 * time.Second, true},
		{"fetched lately", func(s *Source) { s.Fetched(t0.Add(15*time.Second), true) }, 30 * time.Second, false},
		{"fetched long ago", func(s *Source) { s.Fetched(t0.Add(5*time.Second), true) }, 30 * time.Second, true},
		{"something left to read", func(s *Source) { s.Fetched(t0, false) }, time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSource(t0)
			tt.steps(s)
			if got := s.Idle(t0.Add(tt.at), 20*time.Second); got != tt.want {
				t.Errorf("Idle = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPanesAlignmentAndHarvest(t *testing.T) {
	ps := NewPanes(time.Minute, Layout{{false, true}, {}})
	for _, ms := range []int64{0, 59_999, 60_000, -1, 125_000, 30_000} {
		ps.Get(0, ms).Predictions++
	}
	ps.Get(1, 61_000).Errors++
	if got := ps.Len(); got != 5 {
		t.Fatalf("open panes = %d, want 5", got)
	}
	got := ps.Harvest(60_000, nil)
	var starts []int64
	for _, p := range got {
		starts = append(starts, p.Start)
	}
	if len(got) != 2 || got[0].Start != -60_000 || got[1].Start != 0 || got[1].Predictions != 3 {
		t.Fatalf("harvested starts %v (%+v)", starts, got)
	}
	ps.Release(got)
	if allocs := testing.AllocsPerRun(100, func() {
		p := ps.Get(0, 600_000)
		p.Predictions++
		ps.Release(ps.Harvest(660_000, got[:0]))
	}); allocs != 0 {
		t.Errorf("steady-state pane cycle allocates %.1f times", allocs)
	}
}

// TestAggregatorMergeIsPartitionIndependent checks the property scale-out
// rests on: spreading events over partitions and panes gives the same
// windows as one partition seeing everything.
func TestAggregatorMergeIsPartitionIndependent(t *testing.T) {
	lengths := []time.Duration{5 * time.Minute, time.Hour}
	type ev struct {
		model int
		ms    int64
		err   bool
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var evs []ev
	for i := range 20_000 {
		evs = append(evs, ev{rng.IntN(3), int64(i) * 500, rng.IntN(10) == 0})
	}
	layout := Layout{{false}, {true}, {}}
	run := func(parts int) map[[3]int64][2]uint64 {
		ps := make([]*Panes, parts)
		for i := range ps {
			ps[i] = NewPanes(5*time.Minute, layout)
		}
		a := NewAggregator(lengths, layout)
		out := map[[3]int64][2]uint64{}
		wm := int64(Unset)
		for i, e := range evs {
			p := ps[rng.IntN(parts)].Get(e.model, e.ms)
			p.Predictions++
			if e.err {
				p.Errors++
			}
			if i%1000 == 999 || i == len(evs)-1 {
				wm = e.ms
				if i == len(evs)-1 {
					wm = 1 << 62
				}
				for _, pp := range ps {
					h := pp.Harvest(wm, nil)
					for _, x := range h {
						if ok, err := a.Add(x); !ok || err != nil {
							t.Fatalf("partial %+v late at watermark %d", x, wm)
						}
					}
				}
				closed, err := a.Close(wm, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range closed {
					out[[3]int64{int64(r.Model), int64(r.Window), r.Start}] = [2]uint64{r.Predictions, r.Errors}
				}
			}
		}
		return out
	}
	one, four := run(1), run(4)
	if len(one) == 0 || len(one) != len(four) {
		t.Fatalf("windows: %d with one partition, %d with four", len(one), len(four))
	}
	var total uint64
	for k, v := range one {
		if four[k] != v {
			t.Errorf("window %v: one partition %v, four %v", k, v, four[k])
		}
		if k[1] == 1 {
			total += v[0]
		}
	}
	if total != uint64(len(evs)) {
		t.Errorf("1h windows hold %d predictions, want %d", total, len(evs))
	}
}

func TestAggregatorLateAndOrder(t *testing.T) {
	layout := Layout{{}, {}}
	a := NewAggregator([]time.Duration{time.Minute, 2 * time.Minute}, layout)
	part := func(model int, start, end int64, n uint64) *Partial {
		p := layout.NewPartial(model)
		p.Start, p.End, p.Predictions = start, end, n
		return p
	}
	a.Add(part(1, 60_000, 120_000, 1))
	a.Add(part(0, 0, 60_000, 2))
	got, err := a.Close(120_000, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		model, window int
		end           int64
	}{{0, 0, 60_000}, {0, 1, 120_000}, {1, 0, 120_000}, {1, 1, 120_000}}
	if len(got) != len(want) {
		t.Fatalf("closed %d windows, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Model != w.model || got[i].Window != w.window || got[i].End != w.end {
			t.Errorf("closed[%d] = model %d window %d end %d, want %+v", i, got[i].Model, got[i].Window, got[i].End, w)
		}
	}
	if ok, _ := a.Add(part(0, 60_000, 120_000, 1)); ok {
		t.Error("a partial of a closed window was accepted")
	}
	if ok, err := a.Add(part(0, 120_000, 180_000, 1)); !ok || err != nil {
		t.Error("a partial of an open window was refused")
	}
}

func TestReferenceLifecycle(t *testing.T) {
	layout := Layout{{false, true}}
	ref := NewStreamReference(layout, 0, 60_000, 180_000)
	pane := func(start int64, x float64, c string) *Partial {
		p := layout.NewPartial(0)
		p.Start, p.End = start, start+60_000
		for range 50 {
			p.Features[0].Num.Add(x)
			p.Features[1].Cat.Add([]byte(c))
			p.Score.Add(0.5)
			p.Predictions++
		}
		return p
	}
	for _, p := range []*Partial{pane(0, 100, "z"), pane(60_000, 1, "a"), pane(120_000, 2, "b"), pane(180_000, 100, "z")} {
		if err := ref.Offer(p); err != nil {
			t.Fatal(err)
		}
	}
	if ref.MaybeComplete(179_999) || ref.Complete {
		t.Fatal("complete before the watermark reached to")
	}
	if !ref.MaybeComplete(180_000) || !ref.Complete || ref.Edges[0] == nil || ref.Edges[1] != nil {
		t.Fatalf("not complete at to, or edges wrong: %v", ref.Edges)
	}
	if ref.Predictions != 100 {
		t.Errorf("reference holds %d predictions, want the 100 of the two panes inside [from, to)", ref.Predictions)
	}
	if ref.Offer(pane(60_000, 5, "q")); ref.Predictions != 100 {
		t.Error("a complete reference still accepted a pane")
	}
	same := pane(0, 1, "a")
	rep := Compare(ref, same, []sketch.DriftParams{{}, {}}, sketch.DriftParams{})
	if !rep.Features[0].OK || !rep.Features[1].OK || !rep.ShareOK {
		t.Fatalf("no verdicts: %+v", rep)
	}
	shifted := pane(0, 50, "zz")
	rep = Compare(ref, shifted, []sketch.DriftParams{{}, {}}, sketch.DriftParams{})
	if !rep.Features[0].Decision.Drifted || !rep.Features[1].Decision.Drifted || rep.Share != 1 {
		t.Errorf("a window unlike the reference did not drift: %+v", rep)
	}
}
