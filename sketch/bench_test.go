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
	for i := 0; i < b.N; i++ {
		var err error
		if buf, err = n.AppendBinary(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
