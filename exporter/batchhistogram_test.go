package exporter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// reckonOpts are the options exporter.New gives its histograms.
func reckonOpts(buckets []float64) prometheus.HistogramOpts {
	return prometheus.HistogramOpts{
		Name: "h", Help: "test", Buckets: buckets,
		NativeHistogramBucketFactor:     1.1,
		NativeHistogramMaxBucketNumber:  160,
		NativeHistogramMinResetDuration: time.Hour,
	}
}

// valueSets are the observations compared against client_golang.
func valueSets() map[string][]float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	n := func(count int, f func() float64) []float64 {
		vs := make([]float64, count)
		for i := range vs {
			vs[i] = f()
		}
		return vs
	}
	decades := func(lo, hi float64) func() float64 {
		return func() float64 { return math.Pow(10, lo+(hi-lo)*rng.Float64()) }
	}
	sets := map[string][]float64{
		// Eight decades at schema 3 populate ~210 buckets: a reduction.
		"latencies":        n(5000, decades(-5, 3)),
		"latencies narrow": n(5000, decades(-3, 0)),
		"scores": append(n(3000, rng.Float64),
			0, 1, 0.5, 0, 1, 0.05, 0.95, 1e-9, 1-1e-16),
		"label delays": n(3000, func() float64 { return float64(int64(rng.ExpFloat64()*60000)) / 1000 }),
		"tiny": {
			prometheus.DefNativeHistogramZeroThreshold,
			math.Nextafter(prometheus.DefNativeHistogramZeroThreshold, 1),
			math.Nextafter(prometheus.DefNativeHistogramZeroThreshold, 0),
			-prometheus.DefNativeHistogramZeroThreshold,
			-math.Nextafter(prometheus.DefNativeHistogramZeroThreshold, 1),
			math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64,
			1e-300, 1e-308, 2.2250738585072014e-308, 1e-38, 3e-39, 1e-40,
		},
		"negatives":        n(2000, func() float64 { return -decades(-4, 4)() }),
		"mixed signs":      n(4000, func() float64 { return decades(-3, 3)() * float64(1-2*rng.IntN(2)) }),
		"zeros":            {0, math.Copysign(0, -1), 0, 0, 1, 0},
		"special":          {math.NaN(), math.Inf(1), math.Inf(-1), 1, math.NaN(), math.Inf(1), -2, math.MaxFloat64, -math.MaxFloat64, 0},
		"huge spread":      n(3000, func() float64 { return decades(-300, 300)() * float64(1-2*rng.IntN(2)) }),
		"nan then values":  append([]float64{math.NaN()}, n(100, rng.Float64)...),
		"infinities first": append([]float64{math.Inf(1), math.Inf(-1)}, n(2000, decades(-3, 1))...),
	}
	// Exactly on classic bounds, and either side.
	var bounds []float64
	for _, bs := range [][]float64{LatencyBuckets, ScoreBuckets, LabelDelayBuckets, prometheus.DefBuckets} {
		for _, b := range bs {
			bounds = append(bounds, b, math.Nextafter(b, 0), math.Nextafter(b, math.Inf(1)))
		}
	}
	sets["classic bounds"] = bounds
	// Exactly on native bucket boundaries of every schema, and either side.
	var native []float64
	for _, bs := range nativeHistogramBounds {
		for _, frac := range bs {
			for _, e := range []int{-20, -3, 0, 1, 5, 30} {
				b := math.Ldexp(frac, e)
				native = append(native, b, math.Nextafter(b, 0), math.Nextafter(b, math.Inf(1)), -b)
			}
		}
	}
	sets["native bounds"] = native
	return sets
}

// splits observe vs into h, as a batch per split point.
var splits = map[string]func(rng *rand.Rand, n int) []int{
	"one batch": func(_ *rand.Rand, n int) []int { return []int{n} },
	"singles": func(_ *rand.Rand, n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = 1
		}
		return s
	},
	"random": func(rng *rand.Rand, n int) []int {
		var s []int
		for n > 0 {
			k := min(n, 1+rng.IntN(300))
			s, n = append(s, k), n-k
		}
		return s
	},
}

var optVariants = map[string]prometheus.HistogramOpts{
	"latency":     reckonOpts(LatencyBuckets),
	"score":       reckonOpts(ScoreBuckets),
	"label delay": reckonOpts(LabelDelayBuckets),
	"no reset": func() prometheus.HistogramOpts {
		o := reckonOpts(LatencyBuckets)
		o.NativeHistogramMinResetDuration = 0
		return o
	}(),
	"unlimited": func() prometheus.HistogramOpts {
		o := reckonOpts(LatencyBuckets)
		o.NativeHistogramMaxBucketNumber = 0
		return o
	}(),
	"20 buckets, factor 1.5": func() prometheus.HistogramOpts {
		o := reckonOpts(nil)
		o.NativeHistogramMaxBucketNumber, o.NativeHistogramBucketFactor = 20, 1.5
		return o
	}(),
	"factor 4, zero threshold zero": func() prometheus.HistogramOpts {
		o := reckonOpts([]float64{0, 1, math.Inf(1)})
		o.NativeHistogramBucketFactor, o.NativeHistogramZeroThreshold = 4, prometheus.NativeHistogramZeroThresholdZero
		return o
	}(),
	"factor 1.0001, zero threshold 1e-3": func() prometheus.HistogramOpts {
		o := reckonOpts(ScoreBuckets)
		o.NativeHistogramBucketFactor, o.NativeHistogramZeroThreshold = 1.0001, 1e-3
		return o
	}(),
	"classic only":       {Name: "h", Help: "test", Buckets: LatencyBuckets},
	"classic defaults":   {Name: "h", Help: "test"},
	"native only, limit": {Name: "h", Help: "test", NativeHistogramBucketFactor: 1.1, NativeHistogramMaxBucketNumber: 100},
}

// gatherPair gathers both registries and checks that they agree except
// for created timestamps, which are checked against the clocks.
func gatherPair(t *testing.T, theirs, ours *prometheus.Registry, before, after, created time.Time) {
	t.Helper()
	want, err := theirs.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ours.Gather()
	if err != nil {
		t.Fatal(err)
	}
	stripCreated(t, want, func(at time.Time) bool { return !at.Before(before) && !at.After(after) })
	stripCreated(t, got, func(at time.Time) bool { return at.Equal(created) })
	if len(want) != len(got) {
		t.Fatalf("%d families, want %d", len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(want[i], got[i]) {
			t.Fatalf("differs from client_golang:\n got %v\nwant %v", got[i], want[i])
		}
	}
}

// TestBatchHistogramMatchesClientGolang observes the same values into a
// client_golang HistogramVec and a BatchHistogramVec, in batches split
// several ways and with scrapes in between, and requires equal output.
// client_golang's delayed reset is an hour away, so never reached here.
func TestBatchHistogramMatchesClientGolang(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for oname, opts := range optVariants {
		for sname, vs := range valueSets() {
			for pname, split := range splits {
				t.Run(fmt.Sprintf("%s/%s/%s", oname, sname, pname), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(3, 4))
					theirs, ours := prometheus.NewRegistry(), prometheus.NewRegistry()
					tv := prometheus.NewHistogramVec(opts, []string{"model"})
					ov := newBatchHistogramVec(opts, []string{"model"}, func() time.Time { return created })
					theirs.MustRegister(tv)
					ours.MustRegister(ov)
					before := time.Now()
					th, oh := tv.WithLabelValues("m"), ov.WithLabelValues("m")
					after := time.Now()
					gatherPair(t, theirs, ours, before, after, created)
					rest := vs
					for i, k := range split(rng, len(vs)) {
						for _, v := range rest[:k] {
							th.Observe(v)
						}
						oh.ObserveBatch(rest[:k])
						rest = rest[k:]
						// Scrapes swap client_golang's hot and cold
						// counts: compare now and then on the way.
						if pname != "singles" || i%500 == 0 {
							gatherPair(t, theirs, ours, before, after, created)
						}
					}
					gatherPair(t, theirs, ours, before, after, created)
				})
			}
		}
	}
}

// TestBatchHistogramSchemaReduction checks that the value sets meant to
// exceed the bucket limit do, so that the comparison above covers it.
func TestBatchHistogramSchemaReduction(t *testing.T) {
	sets := valueSets()
	for _, tc := range []struct {
		set  string
		opts prometheus.HistogramOpts
	}{
		{"latencies", reckonOpts(LatencyBuckets)},
		{"huge spread", reckonOpts(LatencyBuckets)},
		{"mixed signs", optVariants["20 buckets, factor 1.5"]},
	} {
		h := NewBatchHistogramVec(tc.opts, nil).WithLabelValues()
		h.ObserveBatch(sets[tc.set])
		var m dto.Metric
		if err := h.Write(&m); err != nil {
			t.Fatal(err)
		}
		if got, initial := m.GetHistogram().GetSchema(), pickSchema(tc.opts.NativeHistogramBucketFactor); got >= initial {
			t.Errorf("%s: schema %d, want below %d", tc.set, got, initial)
		}
	}
}

// spread returns n values in n distinct native buckets of schema 3
// (two buckets apart).
func spread(n int) []float64 {
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = math.Exp2(float64(i-n/2) / 4)
	}
	return vs
}

// TestBatchHistogramReset drives the resets client_golang documents (and
// schedules with the wall clock, which its tests can mock but ours cannot)
// with a test clock: a reduction arms a reset NativeHistogramMinResetDuration
// after the last reset; exceeding the limit at least that long after the
// last reset instead resets at once, keeping the value that exceeded it.
func TestBatchHistogramReset(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	now := t0
	v := newBatchHistogramVec(reckonOpts(LatencyBuckets), []string{"model"}, func() time.Time { return now })
	h := v.WithLabelValues("m")
	write := func() *dto.Histogram {
		t.Helper()
		var m dto.Metric
		if err := h.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.Histogram
	}
	// fresh is what client_golang exports after observing vs afresh.
	fresh := func(vs []float64) *dto.Histogram {
		t.Helper()
		c := prometheus.NewHistogram(reckonOpts(LatencyBuckets))
		for _, v := range vs {
			c.Observe(v)
		}
		var m dto.Metric
		if err := c.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.Histogram
	}
	check := func(step string, got, want *dto.Histogram, created time.Time) {
		t.Helper()
		if at := got.GetCreatedTimestamp().AsTime(); !at.Equal(created) {
			t.Errorf("%s: created %v, want %v", step, at, created)
		}
		if d := cmpHistogram(got, want); d != "" {
			t.Errorf("%s: %s", step, d)
		}
	}

	vs := spread(161)
	h.ObserveBatch(vs)
	check("reduced", write(), fresh(vs), t0)
	if s := write().GetSchema(); s != 2 {
		t.Fatalf("schema %d after 161 buckets, want 2", s)
	}
	now = t0.Add(59 * time.Minute)
	h.ObserveBatch([]float64{0.5})
	check("before the reset", write(), fresh(append(vs, 0.5)), t0)

	// The armed reset, due an hour after t0, empties the histogram.
	now = t0.Add(time.Hour + time.Second)
	check("reset", write(), fresh(nil), t0.Add(time.Hour))
	h.ObserveBatch([]float64{2, 3})
	check("after the reset", write(), fresh([]float64{2, 3}), t0.Add(time.Hour))

	// An hour after that reset, exceeding the limit resets at once: only
	// the value that exceeded it and those after it remain.
	h2 := v.WithLabelValues("n") // created at t0+1h+1s
	now = now.Add(time.Hour)
	vs = spread(200)
	h = h2
	h2.ObserveBatch(vs)
	check("immediate reset", write(), fresh(vs[160:]), now)

	// The armed reset also happens before a batch observed after it is due.
	h = v.WithLabelValues("o")
	start := now
	h.ObserveBatch(spread(170))
	now = start.Add(2 * time.Hour)
	h.ObserveBatch([]float64{7})
	check("reset before a batch", write(), fresh([]float64{7}), start.Add(time.Hour))
}

// cmpHistogram describes how got differs from want, ignoring created
// timestamps; "" if it does not.
func cmpHistogram(got, want *dto.Histogram) string {
	got, want = proto.Clone(got).(*dto.Histogram), proto.Clone(want).(*dto.Histogram)
	got.CreatedTimestamp, want.CreatedTimestamp = nil, nil
	if proto.Equal(got, want) {
		return ""
	}
	return fmt.Sprintf("got %v, want %v", got, want)
}

// stripCreated checks the created timestamps of the histograms in mfs
// with ok and removes them.
func stripCreated(t *testing.T, mfs []*dto.MetricFamily, ok func(time.Time) bool) {
	t.Helper()
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			ts := m.GetHistogram().GetCreatedTimestamp()
			if ts == nil {
				t.Fatal("no created timestamp")
			}
			if !ok(ts.AsTime()) {
				t.Fatalf("unexpected created timestamp %v", ts.AsTime())
			}
			m.Histogram.CreatedTimestamp = nil
		}
	}
}

// TestNativeBucketsWindow moves the dense window when an outlier placed it.
func TestNativeBucketsWindow(t *testing.T) {
	var b nativeBuckets
	keys := []int{100000, -5, -4, 3, 7, 20, -100000, 0}
	for _, k := range keys {
		b.add(k, 1)
	}
	b.add(3, 2)
	if b.n != len(keys) {
		t.Fatalf("n = %d, want %d", b.n, len(keys))
	}
	if b.nDense < len(keys)-2 {
		t.Errorf("%d keys dense, want %d", b.nDense, len(keys)-2)
	}
	ks, cs := b.buckets()
	want := []int{-100000, -5, -4, 0, 3, 7, 20, 100000}
	if fmt.Sprint(ks) != fmt.Sprint(want) {
		t.Errorf("keys %v, want %v", ks, want)
	}
	if cs[4] != 3 {
		t.Errorf("count of key 3 = %d, want 3", cs[4])
	}
}

func TestObserveBatchDoesNotAllocate(t *testing.T) {
	h := NewBatchHistogramVec(reckonOpts(LatencyBuckets), nil).WithLabelValues()
	vs := valueSets()["latencies narrow"]
	h.ObserveBatch(vs)
	if a := testing.AllocsPerRun(20, func() { h.ObserveBatch(vs) }); a != 0 {
		t.Errorf("%v allocations per batch in steady state", a)
	}
	if a := testing.AllocsPerRun(20, func() { h.Observe(vs[7]) }); a != 0 {
		t.Errorf("%v allocations per Observe", a)
	}
}

// BenchmarkObserve compares observing latencies with client_golang's
// Observe, value by value, and ObserveBatch, per value (ns/op is per value).
func BenchmarkObserve(b *testing.B) {
	vs := valueSets()["latencies narrow"] // 5000 values, ~80 native buckets
	b.Run("client_golang", func(b *testing.B) {
		h := prometheus.NewHistogramVec(reckonOpts(LatencyBuckets), []string{"model"}).WithLabelValues("m")
		for i := 0; b.Loop(); i++ {
			h.Observe(vs[i%len(vs)])
		}
	})
	b.Run("ObserveBatch", func(b *testing.B) {
		h := NewBatchHistogramVec(reckonOpts(LatencyBuckets), []string{"model"}).WithLabelValues("m")
		for i := 0; i < b.N; i += len(vs) {
			h.ObserveBatch(vs[:min(len(vs), b.N-i)])
		}
	})
}

// TestFracIndex checks the table search against client_golang's binary
// search on and either side of every bound, and on random fractions.
func TestFracIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for s := int32(1); s <= nativeSchemaMax; s++ {
		bounds := nativeHistogramBounds[s]
		fracs := []float64{0, 0.5, math.Nextafter(1, 0)}
		for _, b := range bounds {
			fracs = append(fracs, b, math.Nextafter(b, 0), math.Nextafter(b, 1))
		}
		for range 10000 {
			fracs = append(fracs, 0.5+rng.Float64()/2)
		}
		for _, f := range fracs {
			if f < 0.5 && f != 0 {
				continue
			}
			if got, want := fracIndex(f, s), sort.SearchFloat64s(bounds, f); got != want {
				t.Errorf("schema %d, frac %v: %d, want %d", s, f, got, want)
			}
		}
	}
}

// TestClassicCells checks the table against counting, on and either side
// of every bound of several layouts and on random values of every scale.
func TestClassicCells(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, upper := range [][]float64{LatencyBuckets, ScoreBuckets, LabelDelayBuckets, prometheus.DefBuckets,
		{1}, {1e-300, 1e300}, prometheus.ExponentialBuckets(1, 1.0001, 100)} {
		c := newClassicCells(upper)
		if c == nil {
			t.Errorf("%v: no table", upper)
			continue
		}
		vs := []float64{0, math.Copysign(0, -1), -1, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64}
		for _, b := range upper {
			vs = append(vs, b, math.Nextafter(b, 0), math.Nextafter(b, math.Inf(1)))
		}
		for range 10000 {
			vs = append(vs, math.Pow(10, -320+640*rng.Float64()), upper[0]+(upper[len(upper)-1]-upper[0])*rng.Float64())
		}
		for _, v := range vs {
			if got, want := c.bucket(v), classicBucket(upper, v); got != want {
				t.Errorf("%v: bucket of %v = %d, want %d", upper, v, got, want)
			}
		}
	}
	for _, upper := range [][]float64{{-1, 1}, {0, 1}, {1, math.Inf(1)}, {1, math.Nextafter(1, 2)}} {
		if newClassicCells(upper) != nil {
			t.Errorf("%v: a table, want none", upper)
		}
	}
}

// TestBatchHistogramConcurrent observes from several goroutines while
// scraping (run with -race); without a reduction, buckets do not depend on
// the order of observations.
func TestBatchHistogramConcurrent(t *testing.T) {
	vs := valueSets()["latencies narrow"]
	reg := prometheus.NewRegistry()
	h := NewBatchHistogramVec(reckonOpts(LatencyBuckets), []string{"model"})
	reg.MustRegister(h)
	want := prometheus.NewHistogram(reckonOpts(LatencyBuckets))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := 0; i < len(vs); i += 100 {
				h.WithLabelValues("m").ObserveBatch(vs[i:min(i+100, len(vs))])
			}
		})
		for _, v := range vs {
			want.Observe(v)
		}
	}
	wg.Go(func() {
		for range 20 {
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	var got, exp dto.Metric
	if err := h.WithLabelValues("m").Write(&got); err != nil {
		t.Fatal(err)
	}
	if err := want.Write(&exp); err != nil {
		t.Fatal(err)
	}
	if math.Abs(got.Histogram.GetSampleSum()-exp.Histogram.GetSampleSum()) > 1e-9*exp.Histogram.GetSampleSum() {
		t.Errorf("sum %v, want %v", got.Histogram.GetSampleSum(), exp.Histogram.GetSampleSum())
	}
	got.Histogram.SampleSum, exp.Histogram.SampleSum = nil, nil
	got.Label = nil
	if d := cmpHistogram(got.Histogram, exp.Histogram); d != "" {
		t.Error(d)
	}
}
