package sketch_test

import (
	"fmt"

	"github.com/reckonhq/reckon/sketch"
)

// A reference sketch defines the bins; window panes are built on them,
// merged, checkpointed and compared with the reference.
func Example() {
	ref := sketch.NewNumeric(nil)
	for i := range 10_000 {
		ref.Add(float64(i % 1000)) // 0..999, uniform
	}
	edges := sketch.QuantileEdges(ref, 10)

	// Two partitions' panes of one window, merged.
	a, b := sketch.NewNumeric(edges), sketch.NewNumeric(edges)
	for i := range 5_000 {
		a.Add(float64(i%1000) + 100) // shifted by 100
		b.Add(float64(i%1000) + 100)
	}
	b.AddMissing()
	if err := a.Merge(b); err != nil {
		panic(err)
	}

	// Checkpoint and restore: lossless.
	data, _ := a.MarshalBinary()
	var cur sketch.Numeric
	if err := cur.UnmarshalBinary(data); err != nil {
		panic(err)
	}

	d, p, _ := sketch.KS(ref, &cur)
	psi, _ := sketch.PSI(ref, &cur)
	w, _ := sketch.Wasserstein(ref, &cur)
	fmt.Printf("count %d, missing %d, median %.0f\n", cur.Count(), cur.Missing(), cur.Quantile(0.5))
	fmt.Printf("KS %.2f (p < 1e-40: %v), PSI %.2f, Wasserstein %.2f\n", d, p < 1e-40, psi, w)

	drift, _ := sketch.NumericDrift(ref, &cur, edges, sketch.DefaultDriftParams())
	fmt.Printf("%v: drifted=%v\n", drift.Method, drift.Drifted)
	// Output:
	// count 10000, missing 1, median 599
	// KS 0.10 (p < 1e-40: true), PSI 0.75, Wasserstein 0.35
	// wasserstein: drifted=true
}

func ExampleCategorical() {
	ref, cur := sketch.NewCategorical(0), sketch.NewCategorical(0)
	for i := range 1000 {
		ref.AddString([]string{"DE", "FR", "US", "US"}[i%4])
		cur.AddString([]string{"DE", "US", "US", "US"}[i%4])
	}
	cur.AddString("BR") // a value the reference never saw
	chi2, p, _ := sketch.ChiSquare(ref, cur)
	js, _ := sketch.CategoricalJS(ref, cur)
	fmt.Printf("distinct %d, chi2 %.0f (p %.1e), JS %.3f\n", cur.Distinct(), chi2, p, js)
	// Output:
	// distinct 3, chi2 375 (p 4.9e-81), JS 0.315
}
