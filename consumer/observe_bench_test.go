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
	"github.com/reckonhq/reckon/windows"
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
	if err := p.offline(workers); err != nil {
		b.Fatal(err)
	}
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
		p.tasks[part] = p.newTask(part, windows.NewPartition(p.set, p.cals, part, time.Now()))
	}
	fill := func() (n int) {
		for _, t := range p.tasks {
			for mi := range t.part.Counts().Models {
				ms := &t.part.Counts().Models[mi]
				ms.Latencies = append(ms.Latencies[:0], lat...)
				ms.Scores = append(ms.Scores[:0], score...)
				ms.LabelDelays = append(ms.LabelDelays[:0], delay...)
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
