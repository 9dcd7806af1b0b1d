package perf

import (
	"math"
	"math/rand/v2"
	"testing"
)

func benchTriples() []triple {
	return labelled(newRand(1), 4096, func(r *rand.Rand) float64 { return sigmoid(-1 + 1.5*r.NormFloat64()) },
		func(s float64) float64 { return s }, 0.5)
}

func BenchmarkWindowAdd(b *testing.B) {
	ts := benchTriples()
	w := new(Window)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		t := ts[i&4095]
		w.Add(t.score, t.predicted, t.label)
	}
}

func BenchmarkWindowMerge(b *testing.B) {
	x, y := windowOf(benchTriples()), new(Window)
	b.ReportAllocs()
	for b.Loop() {
		y.Merge(x)
	}
}

func BenchmarkWindowAUC(b *testing.B) {
	w := windowOf(benchTriples())
	b.ReportAllocs()
	for b.Loop() {
		w.AUC()
	}
}

func BenchmarkWindowAppendBinary(b *testing.B) {
	w := windowOf(benchTriples())
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = w.AppendBinary(buf[:0])
	}
	b.ReportMetric(float64(len(buf)), "bytes/window")
}

func BenchmarkEstimateAdd(b *testing.B) {
	ts := benchTriples()
	var e Estimate
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		t := ts[i&4095]
		e.Add(t.score, t.predicted)
	}
}

func BenchmarkCalibrate(b *testing.B) {
	ts := benchTriples()
	c, _ := FitCalibrator(windowOf(labelled(newRand(2), 200_000, func(r *rand.Rand) float64 { return r.Float64() }, math.Sqrt, 0.5)))
	x, _ := c.Knots()
	b.ReportMetric(float64(len(x)), "knots")
	var sink float64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sink += c.Calibrate(ts[i&4095].score)
	}
	_ = sink
}

func BenchmarkFitCalibrator(b *testing.B) {
	w := windowOf(labelled(newRand(2), 200_000, func(r *rand.Rand) float64 { return r.Float64() }, math.Sqrt, 0.5))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = FitCalibrator(w)
	}
}
