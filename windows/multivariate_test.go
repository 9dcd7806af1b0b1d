package windows

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/results"
	"github.com/reckonhq/reckon/sketch"
)

const hour = int64(3_600_000)

// mvEvent is a prediction of the test model (features x, y numeric and c
// categorical) at ms.
func mvEvent(id int, ms int64, x, y float64, c string) *event.Prediction {
	return &event.Prediction{ID: fmt.Appendf(nil, "e%d", id), TimeMs: ms, Score: 0.5, Predicted: true, LatencySeconds: math.NaN(),
		Num: []float64{x, y, 0}, Cat: [][]byte{nil, nil, []byte(c)}, Missing: []bool{false, false, false}}
}

// mvRows draws n rows per hour from hour h0 on for hours hours: x and y
// standard normal with correlation rho(h), c one of a, b, c with shares
// 0.5, 0.3, 0.2 independently of them.
func mvRows(rng *rand.Rand, h0, hours, n int, rho func(h int) float64) []*event.Prediction {
	var out []*event.Prediction
	for h := h0; h < h0+hours; h++ {
		r := rho(h)
		for i := range n {
			u, v := rng.NormFloat64(), rng.NormFloat64()
			x, y := u, r*u+math.Sqrt(1-r*r)*v
			c := "a"
			switch p := rng.Float64(); {
			case p > 0.8:
				c = "c"
			case p > 0.5:
				c = "b"
			}
			ms := base + int64(h)*hour + int64(i)*(hour/int64(n))
			out = append(out, mvEvent(h*n+i, ms, x, y, c))
		}
	}
	return out
}

// runThrough feeds events to one partition and its aggregation and returns
// the closed windows' records.
func runThrough(t *testing.T, set *Settings, events []*event.Prediction) []*results.Record {
	t.Helper()
	set.SetTopology(1, []int32{0})
	part := NewPartition(set, NewCalibrations(set), 0, t0, openStore(t, set))
	for _, e := range events {
		part.Observe(Predictions, e.TimeMs)
		part.Prediction(e)
	}
	part.Finish()
	panes, pr, _ := part.Report(t0, Unset, nil)
	a := NewAggregation(set, 0)
	for _, p := range panes {
		sendPane(a, t, p)
	}
	progress(a, t, pr.Source, pr.Watermark, pr.Idle, pr.Finished)
	if err := a.Advance(); err != nil {
		t.Fatal(err)
	}
	return a.Output().Closed
}

// fileReference builds model 0's reference from events as `reckon
// reference` does: one partial, its windows and PCA from the Learner.
func fileReference(t testing.TB, cfg *config.Config, events []*event.Prediction) *Reference {
	t.Helper()
	l := LayoutOf(cfg)
	p := l.NewPartial(0)
	p.SetCompression(sketch.ReferenceCompression)
	var lengths []int64
	for _, w := range cfg.Windows {
		lengths = append(lengths, w.Length.Milliseconds())
	}
	learner := NewLearner(p, lengths, cfg.Models[0].Drift.Multivariate)
	for _, e := range events {
		p.AddPrediction(e, nil, false)
		learner.Add(e)
	}
	ref := &Reference{Partial: p}
	ref.Finish()
	if err := learner.Finish(ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

const mvConfig = `
windows: [1h]
models:
  - name: m
    reference: {file: ref.json}
    drift: {multivariate: true, threshold: learned}
    features:
      - {name: x, type: numeric}
      - {name: y, type: numeric}
      - {name: c, type: categorical}
`

// TestMultivariateCorrelationFlip is the acceptance test of multivariate
// drift: x and y keep their standard normal marginals (and c its shares)
// while their correlation flips from +0.8 to −0.8. The first window after
// the flip is caught by multivariate drift, with its band learned from the
// reference's windows, and by no univariate test: neither the learned
// thresholds nor KS at α = 0.01; the windows before it are not.
func TestMultivariateCorrelationFlip(t *testing.T) {
	cfg, err := config.Parse("reckon.yaml", []byte(mvConfig))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(16, 5))
	const n = 2000
	ref := fileReference(t, cfg, mvRows(rng, -24, 24, n, func(int) float64 { return 0.8 }))
	if got := len(ref.PCA.Components); got != 2 {
		t.Errorf("%d components kept, want 2 (eigenvalues about 1.8, 1 and 0.2 of 3)", got)
	}
	set, err := NewSettings(cfg, []*Reference{ref})
	if err != nil {
		t.Fatal(err)
	}
	const flip = 3
	recs := runThrough(t, set, mvRows(rng, 0, 6, n, func(h int) float64 {
		if h >= flip {
			return -0.8
		}
		return 0.8
	}))
	if len(recs) != 6 {
		t.Fatalf("%d windows closed, want 6", len(recs))
	}
	for h, r := range recs {
		mv := r.Multivariate
		if mv == nil || mv.Threshold == nil || mv.Drifted == nil {
			t.Fatalf("window %d: multivariate drift %+v, want an error, a band and a verdict", h, mv)
		}
		t.Logf("window %d: error %.4f, band [%.4f, %.4f]", h, mv.Error, mv.Threshold.Lower, mv.Threshold.Upper)
		if want := h >= flip; *mv.Drifted != want {
			t.Errorf("window %d: multivariate drifted %v (error %.4f, band [%.4f, %.4f]), want %v", h, *mv.Drifted, mv.Error, mv.Threshold.Lower, mv.Threshold.Upper, want)
		}
		for name, f := range r.Features {
			if f.Drifted == nil || *f.Drifted || f.Threshold != "learned" {
				t.Errorf("window %d: feature %s drifted %v on %q thresholds, want false on learned ones", h, name, f.Drifted, f.Threshold)
			}
			if p, ok := f.PValue["ks"]; ok && p <= 0.01 {
				t.Errorf("window %d: feature %s KS p-value %v ≤ 0.01", h, name, p)
			}
		}
	}
	// The same file with multivariate drift turned off: no error computed.
	off, err := config.Parse("reckon.yaml", []byte(strings.Replace(mvConfig, "multivariate: true, ", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	offSet, err := NewSettings(off, []*Reference{ref})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runThrough(t, offSet, mvRows(rng, 0, 1, 100, func(int) float64 { return 0.8 })) {
		if r.Multivariate != nil {
			t.Errorf("multivariate: false, yet window %v has %+v", r.Start, r.Multivariate)
		}
	}

	// The error itself, against the PCA applied to each event by hand.
	var sum float64
	events := mvRows(rand.New(rand.NewPCG(1, 1)), 0, 1, 500, func(int) float64 { return 0.8 })
	p := set.Layout.NewPartial(0)
	for _, e := range events {
		p.AddMultivariate(ref.PCA, e)
		sum += handError(ref.PCA, e)
	}
	if got, want := p.MV.Sum/float64(p.MV.Count), sum/float64(len(events)); math.Abs(got-want) > 1e-9 {
		t.Errorf("mean error %v, by hand %v", got, want)
	}
}

// handError is the reconstruction error computed the long way: encode,
// project on the components, reconstruct, take the distance.
func handError(p *PCA, e *event.Prediction) float64 {
	d := p.Features()
	z := make([]float64, d)
	for i := range d {
		x := e.Num[i]
		if p.Freq[i] != nil {
			x = p.Freq[i][string(e.Cat[i])]
		}
		z[i] = (x - p.Center[i]) / p.Scale[i]
	}
	rec := make([]float64, d)
	for _, c := range p.Components {
		y := 0.0
		for i := range d {
			y += c[i] * z[i]
		}
		for i := range d {
			rec[i] += y * c[i]
		}
	}
	ss := 0.0
	for i := range d {
		ss += (z[i] - rec[i]) * (z[i] - rec[i])
	}
	return math.Sqrt(ss)
}

// TestMultivariateAllocs: the per-event update allocates nothing.
func TestMultivariateAllocs(t *testing.T) {
	cfg, err := config.Parse("reckon.yaml", []byte(mvConfig))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 3))
	ref := fileReference(t, cfg, mvRows(rng, -6, 6, 200, func(int) float64 { return 0.5 }))
	p := LayoutOf(cfg).NewPartial(0)
	e := mvRows(rng, 0, 1, 1, func(int) float64 { return 0.5 })[0]
	p.AddMultivariate(ref.PCA, e)
	if n := testing.AllocsPerRun(1000, func() { p.AddMultivariate(ref.PCA, e) }); n != 0 {
		t.Errorf("AddMultivariate allocates %v times per event", n)
	}
}

func BenchmarkAddMultivariate(b *testing.B) {
	cfg, err := config.Parse("reckon.yaml", []byte(mvConfig))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 3))
	ref := fileReference(b, cfg, mvRows(rng, -6, 6, 200, func(int) float64 { return 0.5 }))
	p := LayoutOf(cfg).NewPartial(0)
	e := mvRows(rng, 0, 1, 1, func(int) float64 { return 0.5 })[0]
	b.ReportAllocs()
	for b.Loop() {
		p.AddMultivariate(ref.PCA, e)
	}
}
