package sketch

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// Benchmarks of the hot path (Add, per event and feature), of merging
// partial sketches and of the statistics. Reproduce with
//
//	go test ./sketch -run '^$' -bench . -benchmem
func BenchmarkNumericAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	normal := make([]float64, 1<<20) // more values than any benchmark loop
	for i := range normal {
		normal[i] = r.NormFloat64()
	}
	poisson := make([]float64, 1<<16)
	for i := range poisson {
		poisson[i] = distuv.Poisson{Lambda: 6, Src: r}.Rand()
	}
	edges := QuantileEdges(numericOf(nil, normal[:100_000]...), 10)
	for _, bc := range []struct {
		name  string
		edges []float64
		vals  []float64
	}{
		{"continuous", nil, normal},
		{"continuous+10bins", edges, normal},
		{"discrete-exact", edges, poisson},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := NewNumeric(bc.edges)
			mask := len(bc.vals) - 1
			for i := range 100_000 { // steady state
				n.Add(bc.vals[i&mask])
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				n.Add(bc.vals[i&mask])
			}
		})
	}
}

func BenchmarkCategoricalAdd(b *testing.B) {
	for _, k := range []int{20, 1000} {
		b.Run(strconv.Itoa(k)+"-values", func(b *testing.B) {
			vals := make([][]byte, k)
			c := NewCategorical(0)
			for i := range vals {
				vals[i] = []byte("value-" + strconv.Itoa(i))
				c.Add(vals[i])
			}
			r := rand.New(rand.NewPCG(1, 1))
			order := make([]int, 1<<16)
			for i := range order {
				order[i] = r.IntN(k)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.Add(vals[order[i&(len(order)-1)]])
			}
		})
	}
}

// BenchmarkMergeNumeric merges a pane sketch of 200,000 values into a view,
// as a sliding window or the per-model merge of partial sketches does.
func BenchmarkMergeNumeric(b *testing.B) {
	vals := continuous(1, accuracyN, 0)
	edges := QuantileEdges(numericOf(nil, vals...), 10)
	pane := numericOf(edges, vals...)
	view := numericOf(edges, continuous(2, accuracyN, 0)...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := view.Merge(pane); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKS compares two 200,000-value sketches; the other statistics
// cost about the same (they build the same CDF models).
func BenchmarkKS(b *testing.B) {
	ref := numericOf(nil, continuous(1, accuracyN, 0)...)
	cur := numericOf(nil, continuous(2, accuracyN, 0.1)...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := KS(ref, cur); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPSI(b *testing.B) {
	ref := numericOf(nil, continuous(1, accuracyN, 0)...)
	cur := numericOf(QuantileEdges(ref, 10), continuous(2, accuracyN, 0.1)...)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := PSI(ref, cur); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNumericMarshal(b *testing.B) {
	n := numericOf(nil, continuous(1, accuracyN, 0)...)
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		if buf, err = n.AppendBinary(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKSPValue is the p-value alone, as SciPy computes it: exact
// lattice-path counts up to 10,000 values per side (their cost grows with
// n·m·D, the worst being two samples of about 10,000 values at
// ksExactCutoff), the asymptotic distribution beyond (Smirnov's sum costs
// nₑ steps).
func BenchmarkKSPValue(b *testing.B) {
	for _, bc := range []struct {
		name string
		n, m uint64
		d    float64
	}{
		{"exact-800x5000-null", 800, 5000, 0.04},
		{"exact-9999x10000-null", 9999, 10000, 0.015},
		{"exact-9999x10000-at-cutoff", 9999, 10000, 0.15},
		{"exact-9999x10000-beyond-cutoff", 9999, 10000, 0.3},
		{"asymp-5000x50000-null", 5000, 50000, 0.015},
		{"asymp-5000x50000-drifted", 5000, 50000, 0.05},
		{"asymp-1e6x1e6-drifted", 1_000_000, 1_000_000, 0.003},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				ksPValue(bc.d, bc.n, bc.m)
			}
		})
	}
}

// BenchmarkNumericAddExact is Add on continuous values in exact mode, past
// the 128 values Add inserts directly: the sketch is reset every 8,000
// values, before it would leave exact mode.
func BenchmarkNumericAddExact(b *testing.B) {
	vals := continuous(1, 8000, 0)
	n := NewNumeric(nil)
	for _, v := range vals {
		n.Add(v)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(vals)
		if k == 0 {
			n.Reset()
		}
		n.Add(vals[k])
	}
}
