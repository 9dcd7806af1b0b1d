package consumer

import (
	"log/slog"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reckonhq/reckon/consumer/bench/gen"
	"github.com/reckonhq/reckon/exporter"
)

// BenchmarkObserve measures Processor.observe, the histogram observations
// of a committed transaction that every partition worker waits for: 4
// workers, the bench generator's 3 models, and per worker and model 5,000
// latencies (as gen draws them, in seconds), 5,000 scores and 2,500 label
// delays (ms resolution, mean 1m): 150,000 values per commit. One op is
// one commit; ns/value is per observation.
func BenchmarkObserve(b *testing.B) {
	cfg, err := gen.Config(gen.Defaults(), false)
	if err != nil {
		b.Fatal(err)
	}
	p := New(cfg, exporter.New(prometheus.NewRegistry(), "bench", 0), WithLogger(slog.New(slog.DiscardHandler)))
	const workers = 4
	p.partitions, p.modelPartition = workers, make([]int32, len(cfg.Models))
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
	for part := range int32(workers) {
		p.workers[part] = newWorker(p, part, time.Now())
	}
	fill := func() (n int) {
		for _, w := range p.workers {
			for mi := range w.stats.models {
				ms := &w.stats.models[mi]
				ms.latencies = append(ms.latencies[:0], lat...)
				ms.scores = append(ms.scores[:0], score...)
				ms.labelDelays = append(ms.labelDelays[:0], delay...)
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
		p.observe()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(values), "ns/value")
}
