package sketch

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// Benchmarks of a pane's life as a partition worker sees it: Reset (the pane
// is recycled), then one pane's worth of values. allocs/op are allocations
// per pane, which should be zero once the sketch has been used once. The
// values are those of `reckon bench`: 1,000 events per pane.
func BenchmarkNumericPaneCycle(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, 1000)
	for i := range vals {
		vals[i] = float64(int(r.NormFloat64()*3000+5000)) / 100 // a balance in cents
	}
	n := NewNumeric(nil)
	for _, v := range vals {
		n.Add(v)
	}
	b.ReportAllocs()
	for b.Loop() {
		n.Reset()
		for _, v := range vals {
			n.Add(v)
		}
	}
}

func BenchmarkCategoricalPaneCycle(b *testing.B) {
	vals := paneCategories()
	c := NewCategorical(0)
	for _, v := range vals {
		c.Add(v)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Reset()
		for _, v := range vals {
			c.Add(v)
		}
	}
}

// BenchmarkRadixSort is the sort of one full buffer (ns/op over 512 keys),
// the largest part of a digest-mode Numeric.Add: of normal values, and of
// epoch milliseconds, whose keys share their high bytes.
func BenchmarkRadixSort(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, bc := range []struct {
		name string
		gen  func() float64
	}{
		{"normal", r.NormFloat64},
		{"epoch-ms", func() float64 { return float64(1_767_225_600_000 + r.IntN(300_000)) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			src := make([]uint64, bufferSize)
			for i := range src {
				src[i] = floatKey(bc.gen())
			}
			keys, tmp := make([]uint64, len(src)), make([]uint64, len(src))
			b.ReportAllocs()
			for b.Loop() {
				copy(keys, src)
				radixSort(keys, tmp)
			}
		})
	}
}

// Benchmarks of a new pane's sketch, filled with a pane's worth of values
// (those of BenchmarkNumericPaneCycle and BenchmarkCategoricalPaneCycle):
// what a worker pays when no pane is free to recycle, and what a merger's
// fresh window result pays. allocs/op are allocations per new sketch.
func BenchmarkNumericNewPane(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, 1000)
	for i := range vals {
		vals[i] = float64(int(r.NormFloat64()*3000+5000)) / 100
	}
	b.ReportAllocs()
	for b.Loop() {
		n := NewNumeric(nil)
		for _, v := range vals {
			n.Add(v)
		}
	}
}

func BenchmarkCategoricalNewPane(b *testing.B) {
	vals := paneCategories()
	b.ReportAllocs()
	for b.Loop() {
		c := NewCategorical(0)
		for _, v := range vals {
			c.Add(v)
		}
	}
}

// paneCategories are a pane's categorical values: 1000 of 20 distinct.
func paneCategories() [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	dict := make([][]byte, 20)
	for i := range dict {
		dict[i] = []byte("value-" + strconv.Itoa(i))
	}
	vals := make([][]byte, 1000)
	for i := range vals {
		vals[i] = dict[r.IntN(len(dict))]
	}
	return vals
}
