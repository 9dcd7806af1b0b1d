package windows

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/internal/shapes"
	"github.com/reckonhq/reckon/sketch"
	"github.com/reckonhq/reckon/windows/join"
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
		p.joinedSegments(pane, &join.Joined{Tag: tag, Score: 0.7, Predicted: true, Label: i%3 == 0}, config.KindBinary, 0)
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
			p.joinedSegments(pane, &join.Joined{Tag: tag, Score: 0.7, Predicted: i%2 == 0, Label: i%3 == 0}, config.KindBinary, 0)
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

// A segment's prediction drift compares its scores with the same value's
// in the model's stream reference: with two partitions merged by the
// aggregation, the KS and PSI of each value kept apart equal those of
// sketches built directly from that value's scores in the reference and in
// the window (exact mode: no sketch error), and a value the reference did
// not keep apart has none.
func TestSegmentDriftAgainstStreamReference(t *testing.T) {
	rfc := func(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }
	cfg, err := config.Parse("seg.yaml", []byte(fmt.Sprintf(`windows: [1m, 5m]
allowed_lateness: 0s
models:
  - name: a
    reference: {from: %q, to: %q}
    features: [{name: country, type: categorical}]
    segments: [{feature: country, max_values: 2}]
`, rfc(base), rfc(base+300_000))))
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSettings(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	set.SetTopology(2, []int32{0})
	cals := NewCalibrations(set)
	ps := []*Partition{NewPartition(set, cals, 0, t0, openStore(t, set)), NewPartition(set, cals, 1, t0, openStore(t, set))}
	agg := NewAggregation(set, 0)
	rng := rand.New(rand.NewPCG(3, 4))
	ref := map[string]*sketch.Numeric{"BR": sketch.NewNumeric(nil), "DE": sketch.NewNumeric(nil)}
	cur := map[string]*sketch.Numeric{"BR": sketch.NewNumeric(nil), "DE": sketch.NewNumeric(nil)}
	for i := range 6000 {
		ms := base + int64(i)*100 // ten minutes: the reference, then a 5m window
		c := []string{"BR", "DE", "ZA"}[i%3]
		s := rng.Float64()
		if c == "BR" && ms >= base+300_000 {
			s = 0.5 + s/2 // BR's scores drift upwards
		}
		s = math.Round(s*1000) / 1000
		e := segPred(c, "", ms)
		e.Cat, e.Missing, e.Num = e.Cat[:1], e.Missing[:1], e.Num[:1]
		e.Score, e.Predicted = s, s >= 0.5
		p := ps[i%2]
		p.Observe(Predictions, ms)
		p.Prediction(e)
		if m := ref; c != "ZA" {
			if ms >= base+300_000 {
				m = cur
			}
			m[c].Add(s)
		}
	}
	for _, p := range ps {
		p.Finish()
		panes, pr, _ := p.Report(t0, Unset, nil)
		for _, pane := range panes {
			msg, err := AppendPaneMessage(nil, pane)
			if err != nil {
				t.Fatal(err)
			}
			if err := agg.Receive(KindPane, msg); err != nil {
				t.Fatal(err)
			}
		}
		p.Release(panes)
		if err := agg.Receive(KindProgress, AppendProgressMessage(nil, pr)); err != nil {
			t.Fatal(err)
		}
	}
	if err := agg.Advance(); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, rec := range agg.Output().Closed {
		if rec.Window != "5m" || rec.Start.UnixMilli() != base+300_000 {
			if rec.End.UnixMilli() < base+300_000 && rec.Segments["country"].Values["BR"].PredictionDrift != nil {
				t.Errorf("window %s@%s, ending before the reference's end, has segment drift", rec.Window, rec.Start)
			}
			continue
		}
		for _, v := range []string{"BR", "DE"} {
			got := rec.Segments["country"].Values[v].PredictionDrift
			d, _, err := sketch.KS(ref[v], cur[v])
			if err != nil {
				t.Fatal(err)
			}
			psi, err := sketch.PSIOn(ref[v], cur[v], sketch.QuantileEdges(ref[v], ReferenceBins))
			if err != nil {
				t.Fatal(err)
			}
			if got["ks"] != d || got["psi"] != psi {
				t.Errorf("%s: ks %v psi %v, want %v and %v", v, got["ks"], got["psi"], d, psi)
			}
			checked++
		}
		if br, de := rec.Segments["country"].Values["BR"].PredictionDrift["ks"], rec.Segments["country"].Values["DE"].PredictionDrift["ks"]; !(br > 0.4 && de < 0.1) {
			t.Errorf("KS of BR %v, of DE %v: want BR drifted, DE not", br, de)
		}
		if d := rec.Segments["country"].Values["other"].PredictionDrift; d == nil {
			t.Errorf("other (ZA) has no drift against the reference's other")
		}
	}
	if checked != 2 {
		t.Fatalf("checked %d segments, want 2", checked)
	}
}

// BenchmarkSegmentPrediction is a prediction's pane update with and
// without its model's two segments (country over 7 values with max_values
// 4, plan over 2): what segments add to the per-event path.
func BenchmarkSegmentPrediction(b *testing.B) {
	set := segmentSettings(b)
	p := NewPartition(set, NewCalibrations(set), 0, t0, openStore(b, set))
	countries := []string{"BR", "DE", "FR", "US", "AR", "JP", ""}
	var evs []*event.Prediction
	for i := range 64 {
		evs = append(evs, segPred(countries[i%len(countries)], []string{"free", "pro"}[i%2], base+int64(i)))
	}
	pane := p.panes.Get(0, base)
	b.Run("plain", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			pane.AddPrediction(evs[i%len(evs)], nil, false)
		}
	})
	b.Run("segments", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			e := evs[i%len(evs)]
			p.segmentTag(e)
			pane.AddPrediction(e, nil, false)
			p.addSegments(pane, e, nil, false)
		}
	})
}
