package conceptdrift

import "testing"

// BenchmarkUpdate feeds each detector, with River's defaults, a stationary
// Bernoulli(0.1) error stream: ADWIN's window then grows without bound,
// its worst case for a check.
func BenchmarkUpdate(b *testing.B) {
	xs := bernoulli(newRand(1), 0.1, 1<<16, 0, 0)
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			d := mustNew(b, name)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				d.Update(xs[i&(1<<16-1)])
			}
		})
	}
}

// BenchmarkUpdateWithChanges feeds a stream whose error rate alternates
// between 0.1 and 0.5 every 5000 observations, so detectors keep
// detecting and restarting.
func BenchmarkUpdateWithChanges(b *testing.B) {
	r := newRand(2)
	var xs []float64
	for len(xs) < 1<<16 {
		xs = append(xs, bernoulli(r, 0.1, 5000, 0.5, 5000)...)
	}
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			d := mustNew(b, name)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				d.Update(xs[i&(1<<16-1)])
			}
		})
	}
}

// BenchmarkAppendBinary measures a checkpoint of a detector that has seen
// 100k observations.
func BenchmarkAppendBinary(b *testing.B) {
	xs := bernoulli(newRand(3), 0.1, 100_000, 0, 0)
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			d := mustNew(b, name)
			for _, x := range xs {
				d.Update(x)
			}
			type appender interface{ AppendBinary([]byte) ([]byte, error) }
			buf := make([]byte, 0, 4096)
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = d.(appender).AppendBinary(buf[:0])
			}
			b.ReportMetric(float64(len(buf)), "bytes")
		})
	}
}
