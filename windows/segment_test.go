package windows

import (
	"testing"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/internal/shapes"
)

// TestSegmentShapes plays traffic shapes whose models split by the
// segment feature c (eight values, three kept apart) through the in-memory
// runtime, with members joining and leaving, aborts and restores of every
// partition (its segment dictionary and its join's tags with it), and
// compares every window's segments with the independent model: each
// value's predictions, errors, joined outcomes and confusion, its FPR and
// TPR and their ratio to the model's, the values kept apart, "other" and
// the overflow count, exactly.
func TestSegmentShapes(t *testing.T) {
	seeds := 120
	if testing.Short() {
		seeds = 30
	}
	segmented := 0
	for seed := range uint64(seeds) {
		parts := 1 + int(seed%4)
		o := shapes.Defaults(parts, fnvPartition(parts))
		o.SegmentMax, o.SegmentValues = 3, 8
		sh := shapes.Generate(seed, o)
		g := newGroup(t, o, seed)
		g.run(sh)
		g.check(sh)
		for _, recs := range g.results {
			if s, ok := recs[0].Segments["c"]; ok && s.Overflow > 0 {
				segmented++
			}
		}
	}
	if segmented < seeds {
		t.Errorf("only %d windows overflowed max_values in %d shapes: the test means many", segmented, seeds)
	}
}

const segmentConfig = `windows: [1m, 5m]
allowed_lateness: 0s
models:
  - name: a
    features: [{name: country, type: categorical}, {name: plan, type: categorical}]
    segments: [{feature: country, max_values: 4}, {feature: plan}]
`

func segmentSettings(t testing.TB) *Settings {
	t.Helper()
	cfg, err := config.Parse("seg.yaml", []byte(segmentConfig))
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSettings(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	set.SetTopology(1, []int32{0})
	return set
}

func segPred(country, plan string, ms int64) *event.Prediction {
	e := &event.Prediction{ID: []byte("x"), Model: 0, TimeMs: ms, Score: 0.7, Predicted: true,
		Cat: [][]byte{[]byte(country), []byte(plan)}, Missing: []bool{country == "", plan == ""}, Num: []float64{0, 0}}
	return e
}

// A segment lookup per event allocates nothing once its values are known:
// the dictionary lookup, the pane's sub-partial, the join's segments; nor
// does a pane cycle (harvest, release, a new pane) that meets the same
// values, which reuses the splits' sub-partials. (A value that displaces a
// larger one in a full split merges the latter into Other: that costs what
// merging sketches costs, once per displaced value and pane, so the values
// come here in order.)
func TestSegmentHotPathAllocatesNothing(t *testing.T) {
	set := segmentSettings(t)
	p := NewPartition(set, NewCalibrations(set), 0, t0, openStore(t, set))
	countries := []string{"AR", "BR", "DE", "FR", "JP", "US", ""}
	var evs []*event.Prediction
	for i := range 64 {
		evs = append(evs, segPred(countries[i%len(countries)], []string{"free", "pro"}[i%2], base+int64(i)))
	}
	step := func(i int, pane *Partial) {
		e := evs[i%len(evs)]
		tag := p.segmentTag(e)
		p.addSegments(pane, e, nil, false)
		p.joinedSegments(pane, 0, tag, 0.7, true, i%3 == 0)
	}
	pane := p.panes.Get(0, base)
	for i := range len(evs) {
		step(i, pane)
	}
	i := 0
	if a := testing.AllocsPerRun(1000, func() { step(i, pane); i++ }); a != 0 {
		t.Errorf("a segment lookup allocates %.1f times per event", a)
	}
	var harvested []*Partial
	start := base
	cycle := func() {
		start += 60_000
		pane := p.panes.Get(0, start)
		for i := range len(evs) {
			step(i, pane)
		}
		harvested = p.panes.Harvest(start+60_000, harvested[:0])
		p.panes.Release(harvested)
	}
	cycle()
	if a := testing.AllocsPerRun(20, cycle); a != 0 {
		t.Errorf("a pane cycle with segments allocates %.1f times", a)
	}
	if s := pane.Segments[0]; len(s.Values) != 4 || s.Values[0] != "AR" || s.Values[3] != "FR" || s.Overflow == 0 {
		t.Errorf("country split %v, overflow %d: want the four smallest values, JP and US over", s.Values, s.Overflow)
	}
}

// A partial with segments round-trips bit for bit, also when decoded into
// a recycled partial that held other values, and merging decoded panes
// gives the split of all their events.
func TestSegmentEncodingRoundTrips(t *testing.T) {
	set := segmentSettings(t)
	p := NewPartition(set, NewCalibrations(set), 0, t0, openStore(t, set))
	fill := func(start int64, countries ...string) *Partial {
		pane := p.panes.Get(0, start)
		for i, c := range countries {
			e := segPred(c, []string{"free", "pro", ""}[i%3], start+int64(i))
			tag := p.segmentTag(e)
			pane.AddPrediction(e, nil, false)
			p.addSegments(pane, e, nil, false)
			p.joinedSegments(pane, 0, tag, 0.7, i%2 == 0, i%3 == 0)
		}
		return pane
	}
	a := fill(base, "US", "BR", "DE", "BR", "FR", "AR", "", "other", "JP")
	b := fill(base+60_000, "ZA", "CL", "BR", "BR")
	enc := func(p *Partial) []byte {
		v, err := p.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	agg := newAggregator([]int64{60_000}, set.Layout)
	for _, src := range []*Partial{a, b} {
		want := enc(src)
		d, _, err := set.Layout.DecodePartial(want)
		if err != nil {
			t.Fatal(err)
		}
		if got := enc(d); string(got) != string(want) {
			t.Fatalf("round trip differs")
		}
		agg.free[0] = append(agg.free[0], d) // decoded again into it: a recycled partial
		r, _, err := agg.DecodePartial(want)
		if err != nil {
			t.Fatal(err)
		}
		if got := enc(r); string(got) != string(want) {
			t.Fatalf("round trip into a recycled partial differs")
		}
	}
	m := set.Layout.NewPartial(0)
	for _, src := range []*Partial{a, b} {
		if err := m.Merge(src); err != nil {
			t.Fatal(err)
		}
	}
	s := m.Segments[0]
	want := map[string]uint64{"AR": 1, "BR": 4, "CL": 1, "DE": 1}
	got := map[string]uint64{}
	for i, v := range s.Values {
		got[v] = s.Part(i).Predictions
	}
	if len(got) != len(want) {
		t.Fatalf("merged values %v, want %v", got, want)
	}
	for v, n := range want {
		if got[v] != n {
			t.Fatalf("merged values %v, want %v", got, want)
		}
	}
	// FR, JP, US, ZA over max_values; "" and "other" straight to Other.
	if s.Overflow != 4 || s.Other.Predictions != 6 || s.Other.Outcomes != 6 {
		t.Fatalf("other: overflow %d, %d predictions, %d outcomes; want 4, 6, 6", s.Overflow, s.Other.Predictions, s.Other.Outcomes)
	}
}
