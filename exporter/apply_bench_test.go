package exporter

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/windows"
)

// BenchmarkObserveCounts measures ObserveCounts, the histogram
// observations of a committed transaction that every partition waits for:
// 4 partitions, 3 models, and per partition and model 5,000 latencies,
// 5,000 scores and 2,500 label delays (ms resolution, mean 1m): 150,000
// values per commit. One op is one commit; ns/value is per observation.
func BenchmarkObserveCounts(b *testing.B) {
	cfg, err := config.Parse("bench.yaml", []byte("models: [{name: m0}, {name: m1}, {name: m2}]\n"))
	if err != nil {
		b.Fatal(err)
	}
	set, err := windows.NewSettings(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	const partitions = 4
	set.SetTopology(partitions, make([]int32, len(cfg.Models)))
	m := New(prometheus.NewRegistry(), "bench", 0)
	rng := rand.New(rand.NewPCG(1, 2))
	draw := func(n int, f func() float64) []float64 {
		vs := make([]float64, n)
		for i := range vs {
			vs[i] = f()
		}
		return vs
	}
	lat := draw(5000, func() float64 { return math.Exp(2.4+0.5*rng.NormFloat64()) / 1000 })
	score := draw(5000, func() float64 { return 1 / (1 + math.Exp(2-1.2*rng.NormFloat64())) })
	delay := draw(2500, func() float64 { return float64(int64(rng.ExpFloat64()*60000)) / 1000 })
	var counts []*windows.Counts
	for range partitions {
		c := windows.NewCounts(set.Layout)
		counts = append(counts, &c)
	}
	fill := func() (n int) {
		for _, c := range counts {
			for mi := range c.Models {
				mc := &c.Models[mi]
				mc.Latencies = append(mc.Latencies[:0], lat...)
				mc.Scores = append(mc.Scores[:0], score...)
				mc.LabelDelays = append(mc.LabelDelays[:0], delay...)
				n += len(lat) + len(score) + len(delay)
			}
		}
		return n
	}
	values := 0
	for b.Loop() {
		b.StopTimer()
		values += fill()
		b.StartTimer()
		m.ObserveCounts(set, counts)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(values), "ns/value")
}
