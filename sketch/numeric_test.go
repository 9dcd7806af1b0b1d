package sketch

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

func numericOf(edges []float64, vs ...float64) *Numeric {
	n := NewNumeric(edges)
	for _, v := range vs {
		n.Add(v)
	}
	return n
}

// continuous returns k distinct pseudo-random values (enough to leave exact
// mode).
func continuous(seed uint64, k int, shift float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 7))
	vs := make([]float64, k)
	for i := range vs {
		vs[i] = r.NormFloat64() + shift
	}
	return vs
}

func mustMarshal(t testing.TB, m interface{ MarshalBinary() ([]byte, error) }) []byte {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary: %v", err)
	}
	return b
}

func TestNumericExactMode(t *testing.T) {
	tests := []struct {
		name      string
		values    []float64
		count     uint64
		min, max  float64
		mean, vr  float64
		quantiles map[float64]float64
		cdf       map[float64]float64
	}{
		{
			name:   "single",
			values: []float64{3},
			count:  1, min: 3, max: 3, mean: 3, vr: 0,
			quantiles: map[float64]float64{0: 3, 0.5: 3, 1: 3},
			cdf:       map[float64]float64{2.9: 0, 3: 1},
		},
		{
			name:   "small integers",
			values: []float64{1, 2, 2, 3, 3, 3, 4, 4, 4, 4},
			count:  10, min: 1, max: 4, mean: 3, vr: 1,
			// Inverse of the empirical CDF: F(1)=.1 F(2)=.3 F(3)=.6 F(4)=1.
			quantiles: map[float64]float64{0: 1, 0.05: 1, 0.1: 1, 0.11: 2, 0.3: 2, 0.5: 3, 0.6: 3, 0.61: 4, 0.99: 4, 1: 4},
			cdf:       map[float64]float64{0.5: 0, 1: 0.1, 1.5: 0.1, 2: 0.3, 3: 0.6, 3.99: 0.6, 4: 1, 100: 1},
		},
		{
			name:   "negative zero is zero",
			values: []float64{0, math.Copysign(0, -1), -1, 1},
			count:  4, min: -1, max: 1, mean: 0, vr: 0.5,
			quantiles: map[float64]float64{0.5: 0, 0.75: 0, 0.76: 1},
			cdf:       map[float64]float64{0: 0.75, -0.5: 0.25},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := numericOf(nil, tt.values...)
			if !n.Exact() {
				t.Fatal("not exact")
			}
			if got := n.Count(); got != tt.count {
				t.Errorf("Count = %d, want %d", got, tt.count)
			}
			checkFloat(t, "Min", n.Min(), tt.min, 0)
			checkFloat(t, "Max", n.Max(), tt.max, 0)
			checkFloat(t, "Mean", n.Mean(), tt.mean, 1e-15)
			checkFloat(t, "Variance", n.Variance(), tt.vr, 1e-15)
			for q, want := range tt.quantiles {
				checkFloat(t, "Quantile("+ftoa(q)+")", n.Quantile(q), want, 0)
			}
			for x, want := range tt.cdf {
				checkFloat(t, "CDF("+ftoa(x)+")", n.CDF(x), want, 1e-15)
			}
		})
	}
}

func TestNumericSpecialValues(t *testing.T) {
	n := numericOf([]float64{0}, 1, math.NaN(), math.Inf(1), math.Inf(-1), math.Inf(1), -2)
	n.AddMissing()
	n.AddMissing()
	if got := [...]uint64{n.Count(), n.NaN(), n.PosInf(), n.NegInf(), n.Missing(), n.Total()}; got != [...]uint64{2, 1, 2, 1, 2, 8} {
		t.Errorf("count, nan, +inf, -inf, missing, total = %v", got)
	}
	if _, c := n.Histogram(); !slices.Equal(c, []uint64{1, 1}) {
		t.Errorf("histogram = %v, want [1 1]: non-finite values are not binned", c)
	}
	checkFloat(t, "Mean", n.Mean(), -0.5, 0)

	empty := NewNumeric(nil)
	for name, v := range map[string]float64{
		"Min": empty.Min(), "Max": empty.Max(), "Mean": empty.Mean(), "Variance": empty.Variance(),
		"Quantile": empty.Quantile(0.5), "CDF": empty.CDF(0),
	} {
		if !math.IsNaN(v) {
			t.Errorf("empty %s = %v, want NaN", name, v)
		}
	}
	if !math.IsNaN(numericOf(nil, 1, 2).Quantile(math.NaN())) {
		t.Error("Quantile(NaN) is not NaN")
	}
}

func TestNumericLeavesExactMode(t *testing.T) {
	n := NewNumeric(nil)
	for i := range exactLimit {
		n.Add(float64(i))
		n.Add(float64(i))
	}
	if k, ok := n.Distinct(); !ok || k != exactLimit {
		t.Fatalf("Distinct = %d, %v; want %d, true", k, ok, exactLimit)
	}
	// The next distinct values wait in the buffer (still exact: Distinct
	// counts them) until it is merged and holds more than exactLimit.
	added := 0
	for v := float64(exactLimit); n.Exact(); v++ {
		n.Add(v)
		added++
		if k, ok := n.Distinct(); n.Exact() && (!ok || k != exactLimit+added) {
			t.Fatalf("Distinct = %d, %v after %d new values", k, ok, added)
		}
	}
	if added > bufferSize {
		t.Errorf("left exact mode after %d new values, want at most %d", added, bufferSize)
	}
	if _, ok := n.Distinct(); ok {
		t.Error("Distinct claims exactness in digest mode")
	}
	if got := n.Count(); got != uint64(2*exactLimit+added) {
		t.Errorf("Count = %d", got)
	}
	checkFloat(t, "Max", n.Max(), float64(exactLimit+added-1), 0)
	checkFloat(t, "Min", n.Min(), 0, 0)
	// The atoms were folded into the digest: the median is interpolated.
	if q, want := n.Quantile(0.5), float64(2*exactLimit+added)/4; math.Abs(q-want) > 20 {
		t.Errorf("median %v, want about %v", q, want)
	}
}

// TestNumericCases checks that the encoding tests' sketches are in the
// states their names say.
func TestNumericCases(t *testing.T) {
	for name, want := range map[string]struct {
		exact bool
		buf   int
	}{
		"exact":               {true, 0},
		"exact, full buffer":  {true, bufferSize - 1},
		"digest":              {false, 2*exactLimit - (directLimit + 20*bufferSize) - 18*bufferSize},
		"digest, full buffer": {false, bufferSize - 1},
	} {
		n := numericCases()[name]
		if n.Exact() != want.exact || len(n.buf) != want.buf {
			t.Errorf("%s: exact %v, %d buffered; want %v, %d", name, n.Exact(), len(n.buf), want.exact, want.buf)
		}
	}
	if c := numericCases()["digest, reference"].Compression(); c != ReferenceCompression {
		t.Errorf("reference compression %v", c)
	}
}

func TestNumericMoments(t *testing.T) {
	// Large offset: a naive sum-of-squares variance would lose every digit.
	vs := continuous(1, 100_000, 1e9)
	n := numericOf(nil, vs...)
	mean, vr := exactMoments(vs)
	checkFloat(t, "Mean", n.Mean(), mean, 1e-12)
	checkFloat(t, "Variance", n.Variance(), vr, 1e-6)
	checkFloat(t, "StdDev", n.StdDev(), math.Sqrt(vr), 1e-6)
	checkFloat(t, "Min", n.Min(), slices.Min(vs), 0)
	checkFloat(t, "Max", n.Max(), slices.Max(vs), 0)
}

func TestNumericHistogram(t *testing.T) {
	edges := []float64{0, 1, 2}
	tests := []struct {
		name   string
		values []float64
		want   []uint64
	}{
		{"empty", nil, []uint64{0, 0, 0, 0}},
		{"edges go right", []float64{-1, 0, 0.5, 1, 2, 3}, []uint64{1, 2, 1, 2}},
		{"digest mode", continuous(2, 1000, 1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := numericOf(edges, tt.values...)
			want := tt.want
			if want == nil {
				want = make([]uint64, len(edges)+1)
				for _, v := range tt.values {
					want[binIndex(edges, v)]++
				}
			}
			gotEdges, got := n.Histogram()
			if !slices.Equal(gotEdges, edges) || !slices.Equal(got, want) {
				t.Errorf("Histogram = %v %v, want %v %v", gotEdges, got, edges, want)
			}
		})
	}
	if e, c := NewNumeric(nil).Histogram(); e != nil || c != nil {
		t.Error("histogram without edges")
	}
}

func TestValidateEdges(t *testing.T) {
	tests := []struct {
		edges []float64
		ok    bool
	}{
		{nil, true},
		{[]float64{}, true},
		{[]float64{1}, true},
		{[]float64{-1, 0, 2.5}, true},
		{[]float64{0, 0}, false},
		{[]float64{1, 0}, false},
		{[]float64{math.NaN()}, false},
		{[]float64{0, math.Inf(1)}, false},
	}
	for _, tt := range tests {
		err := ValidateEdges(tt.edges)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidEdges)) {
			t.Errorf("ValidateEdges(%v) = %v", tt.edges, err)
		}
		func() {
			defer func() {
				if r := recover(); (r == nil) != tt.ok {
					t.Errorf("NewNumeric(%v) panic = %v", tt.edges, r)
				}
			}()
			NewNumeric(tt.edges)
		}()
	}
}

func TestNumericMergeEdgesMismatch(t *testing.T) {
	tests := []struct{ a, b []float64 }{
		{nil, []float64{1}},
		{[]float64{1}, nil},
		{[]float64{1}, []float64{2}},
		{[]float64{}, nil},
	}
	for _, tt := range tests {
		a, b := numericOf(tt.a, 1), numericOf(tt.b, 2)
		before := mustMarshal(t, a)
		err := a.Merge(b)
		var ee *EdgesError
		if !errors.Is(err, ErrEdgesMismatch) || !errors.As(err, &ee) {
			t.Errorf("Merge(%v, %v) = %v, want *EdgesError", tt.a, tt.b, err)
		}
		if !bytes.Equal(before, mustMarshal(t, a)) {
			t.Errorf("failed Merge modified the sketch")
		}
	}
	if err := numericOf(nil, 1).Merge(nil); err != nil {
		t.Errorf("Merge(nil) = %v", err)
	}
}

// TestNumericMerge checks the merge algebra in every mode combination:
// exact counts and extremes, moments to rounding, commutativity bit for bit.
func TestNumericMerge(t *testing.T) {
	edges := []float64{-1, 0, 1}
	discrete := func(seed uint64, k int) []float64 {
		r := rand.New(rand.NewPCG(seed, 1))
		vs := make([]float64, k)
		for i := range vs {
			vs[i] = float64(r.IntN(10))
		}
		return vs
	}
	tests := []struct {
		name string
		a, b []float64
	}{
		{"empty+empty", nil, nil},
		{"exact+empty", discrete(1, 50), nil},
		{"exact+exact", discrete(1, 500), discrete(2, 700)},
		{"exact+exact overflowing", []float64{1, 2, 3}, continuous(3, exactLimit, 0)},
		{"exact, buffered+exact, buffered", continuous(9, 2000, 0), continuous(10, 3001, 0)},
		{"exact, buffered+exact overflowing", continuous(11, 6000, 0), continuous(12, 5000, 0)},
		{"exact+digest", discrete(1, 300), continuous(4, 2*exactLimit, 0)},
		{"exact, buffered+digest", continuous(13, 3000, 0), continuous(14, 2*exactLimit, 0)},
		{"digest+digest", continuous(5, 3*exactLimit, 0), continuous(6, 2*exactLimit+1, 0.5)},
		{"digest+digest buffers only", continuous(7, 300, 0), continuous(8, 200, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ab, ba := numericOf(edges, tt.a...), numericOf(edges, tt.b...)
			if err := ab.Merge(numericOf(edges, tt.b...)); err != nil {
				t.Fatal(err)
			}
			if err := ba.Merge(numericOf(edges, tt.a...)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(mustMarshal(t, ab), mustMarshal(t, ba)) {
				t.Error("a.Merge(b) and b.Merge(a) differ")
			}
			all := append(slices.Clone(tt.a), tt.b...)
			whole := numericOf(edges, all...)
			if ab.Count() != whole.Count() {
				t.Errorf("Count = %d, want %d", ab.Count(), whole.Count())
			}
			_, hm := ab.Histogram()
			_, hw := whole.Histogram()
			if !slices.Equal(hm, hw) {
				t.Errorf("histogram %v, want %v", hm, hw)
			}
			if len(all) == 0 {
				return
			}
			checkFloat(t, "Min", ab.Min(), whole.Min(), 0)
			checkFloat(t, "Max", ab.Max(), whole.Max(), 0)
			checkFloat(t, "Mean", ab.Mean(), whole.Mean(), 1e-12)
			checkFloat(t, "Variance", ab.Variance(), whole.Variance(), 1e-9)
			if d, _, _ := KS(ab, whole); d > 0.01 {
				t.Errorf("KS(merged, whole) = %v", d)
			}
			if ab.Exact() {
				// Exact sketches merge to the union of their values.
				if !bytes.Equal(mustMarshal(t, flushed(ab)), mustMarshal(t, flushed(whole))) {
					t.Error("exact merge differs from the whole")
				}
			}
		})
	}
}

// flushed returns a copy of an exact-mode n with its buffer merged into the
// exact values: the canonical form of the same multiset.
func flushed(n *Numeric) *Numeric {
	c := n.Clone()
	c.flushExact()
	return c
}

// TestNumericMergeCompression: a merge keeps the receiver's compression,
// or takes a digest's smaller one; commutative either way.
func TestNumericMergeCompression(t *testing.T) {
	withDelta := func(delta float64, vs []float64) *Numeric {
		n := NewNumeric(nil)
		if err := n.SetCompression(delta); err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			n.Add(v)
		}
		return n
	}
	small, big := continuous(1, 3000, 0), continuous(2, 3*exactLimit, 0)
	tests := []struct {
		name   string
		a, b   *Numeric
		want   float64 // of a after a.Merge(b)
		digest bool
	}{
		{"exact into reference", withDelta(ReferenceCompression, nil), withDelta(DefaultCompression, small), ReferenceCompression, false},
		{"digest into reference", withDelta(ReferenceCompression, small), withDelta(DefaultCompression, big), DefaultCompression, true},
		{"reference digest into default", withDelta(DefaultCompression, small), withDelta(ReferenceCompression, big), DefaultCompression, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a.Clone()
			if err := a.Merge(tt.b); err != nil {
				t.Fatal(err)
			}
			if a.Compression() != tt.want || a.Exact() == tt.digest {
				t.Errorf("compression %v, exact %v; want %v, %v", a.Compression(), a.Exact(), tt.want, !tt.digest)
			}
		})
	}
	if err := NewNumeric(nil).SetCompression(MaxCompression + 1); !errors.Is(err, ErrParams) {
		t.Errorf("SetCompression out of range: %v", err)
	}
}

func TestNumericSelfMerge(t *testing.T) {
	for _, vs := range [][]float64{{1, 2, 2}, continuous(1, 3000, 0)} {
		n := numericOf(nil, vs...)
		want := numericOf(nil, vs...)
		if err := want.Merge(numericOf(nil, vs...)); err != nil {
			t.Fatal(err)
		}
		if err := n.Merge(n); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mustMarshal(t, n), mustMarshal(t, want)) {
			t.Errorf("n.Merge(n) differs from merging a copy")
		}
	}
}

// TestNumericCheckpointDeterminism: a sketch restored from its encoding at
// any point and fed the rest of the stream ends identical to one that never
// stopped (docs/semantics.md, exactly-once results).
func TestNumericCheckpointDeterminism(t *testing.T) {
	vs := continuous(9, 20_000, 0)
	for _, cut := range []int{0, 100, 511, 512, 513, 7777, 20_000} {
		orig := NewNumeric([]float64{0})
		for _, v := range vs[:cut] {
			orig.Add(v)
		}
		restored := &Numeric{}
		if err := restored.UnmarshalBinary(mustMarshal(t, orig)); err != nil {
			t.Fatal(err)
		}
		for _, v := range vs[cut:] {
			orig.Add(v)
			restored.Add(v)
		}
		if !bytes.Equal(mustMarshal(t, orig), mustMarshal(t, restored)) {
			t.Errorf("cut %d: restored sketch diverged", cut)
		}
	}
}

func TestNumericResetAndClone(t *testing.T) {
	n := numericOf([]float64{0}, continuous(1, 5000, 0)...)
	n.AddMissing()
	c := n.Clone()
	before := mustMarshal(t, c)
	n.Reset()
	if !n.Exact() || n.Total() != 0 || !slices.Equal(n.Edges(), []float64{0}) {
		t.Fatalf("Reset left state: exact=%v total=%d edges=%v", n.Exact(), n.Total(), n.Edges())
	}
	if !bytes.Equal(before, mustMarshal(t, c)) {
		t.Error("Reset changed a clone")
	}
	vs := continuous(2, 3000, 0)
	for _, v := range vs {
		n.Add(v)
	}
	if !bytes.Equal(mustMarshal(t, n), mustMarshal(t, numericOf([]float64{0}, vs...))) {
		t.Error("a reset sketch differs from a new one")
	}
	c.Add(1)
	if bytes.Equal(before, mustMarshal(t, c)) {
		t.Error("clone does not change")
	}
}

func TestNumericZeroValue(t *testing.T) {
	var n Numeric
	for _, v := range continuous(1, 2000, 0) {
		n.Add(v)
	}
	if n.Count() != 2000 || n.Edges() != nil {
		t.Errorf("zero value: count %d edges %v", n.Count(), n.Edges())
	}
}

func TestNumericAddDoesNotAllocate(t *testing.T) {
	vs := continuous(1, 1<<12, 0)
	n := NewNumeric([]float64{-1, 0, 1})
	for _, v := range vs {
		n.Add(v)
	}
	i := 0
	if a := testing.AllocsPerRun(10_000, func() {
		n.Add(vs[i&(len(vs)-1)])
		i++
	}); a != 0 {
		t.Errorf("digest mode Add allocates %v times per call", a)
	}
	d := NewNumeric(nil)
	for k := range 20 {
		d.Add(float64(k))
	}
	if a := testing.AllocsPerRun(10_000, func() {
		d.Add(float64(i % 20))
		i++
	}); a != 0 {
		t.Errorf("exact mode Add allocates %v times per call", a)
	}
}

func TestRadixSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, k := range []int{0, 1, 2, 3, 100, 512} {
		vals := make([]float64, k)
		for i := range vals {
			switch r.IntN(4) {
			case 0:
				vals[i] = float64(r.IntN(3)) // duplicates
			case 1:
				vals[i] = -r.ExpFloat64() * 1e300
			case 2:
				vals[i] = math.Copysign(0, -1)
			default:
				vals[i] = r.NormFloat64()
			}
		}
		keys := make([]uint64, k)
		for i, v := range vals {
			keys[i] = floatKey(v)
		}
		radixSort(keys, make([]uint64, k))
		got := make([]float64, k)
		for i, key := range keys {
			got[i] = keyFloat(key)
		}
		want := slices.Clone(vals)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("radixSort of %d values: %v, want %v", k, got, want)
		}
	}
}

// TestRadixSortRuns checks radixSort on keys that share their high halves,
// in short and long runs, against a comparison sort.
func TestRadixSortRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	gens := map[string]func() float64{
		"epoch ms":  func() float64 { return float64(1_767_225_600_000 + r.IntN(1_000_000)) },
		"near 1e9":  func() float64 { return 1e9 + float64(r.IntN(100))/1e6 },
		"runs":      func() float64 { return float64(r.IntN(20)) + r.Float64()*1e-9 },
		"cents":     func() float64 { return float64(r.IntN(10_000)) / 100 },
		"mixed":     func() float64 { return []float64{r.NormFloat64(), 1e9 + r.Float64()*1e-3, 3}[r.IntN(3)] },
		"one value": func() float64 { return 42 },
	}
	for name, gen := range gens {
		for _, k := range []int{2, 17, 33, 100, 512} {
			keys := make([]uint64, k)
			for i := range keys {
				keys[i] = floatKey(gen())
			}
			want := slices.Clone(keys)
			slices.Sort(want)
			radixSort(keys, make([]uint64, k))
			if !slices.Equal(keys, want) {
				t.Errorf("%s, %d keys: not sorted", name, k)
			}
		}
	}
}

func exactMoments(vs []float64) (mean, variance float64) {
	for _, v := range vs {
		mean += v
	}
	mean /= float64(len(vs))
	for _, v := range vs {
		variance += (v - mean) * (v - mean)
	}
	return mean, variance / float64(len(vs))
}

// checkFloat compares with a relative tolerance (absolute near zero).
func checkFloat(t testing.TB, what string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(want) && math.IsNaN(got) {
		return
	}
	scale := math.Max(1, math.Abs(want))
	if !(math.Abs(got-want) <= tol*scale) {
		t.Errorf("%s = %v, want %v (tolerance %g)", what, got, want, tol)
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// TestDigestSize checks that the number of centroids stays O(δ) on inputs
// that stress the atom and tail rules: repeated values, sorted input,
// alternating extremes, many medium atoms.
func TestDigestSize(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	const n = 300_000
	inputs := map[string]func(i int) float64{
		"normal":             func(int) float64 { return r.NormFloat64() },
		"cents":              func(int) float64 { return math.Round(r.ExpFloat64()*10000) / 100 },
		"integers 0..999":    func(int) float64 { return float64(r.IntN(1000)) },
		"150 equal atoms":    func(int) float64 { return float64(r.IntN(150)) },
		"sorted":             func(i int) float64 { return float64(i) },
		"reverse sorted":     func(i int) float64 { return float64(-i) },
		"alternating tails":  func(i int) float64 { return float64(i%2*2-1) * float64(i) },
		"zero-inflated":      func(int) float64 { return max(0, r.NormFloat64()) },
		"two atoms and more": func(i int) float64 { return []float64{0, 1, r.Float64()}[i%3] },
	}
	for name, gen := range inputs {
		s := NewNumeric(nil)
		for i := range n {
			s.Add(gen(i))
		}
		s.flush()
		// About δ/2 centroids from k1, 2·log₂ n from the tails, at most
		// 2·δ/π more for heavy atoms.
		if c := len(s.d.cent); c > 2*DefaultCompression {
			t.Errorf("%s: %d centroids", name, c)
		} else {
			t.Logf("%s: %d centroids", name, c)
		}
	}
}

// TestPassValsMatchesStream checks that the flush's two-way pass gives the
// same digest, bit for bit, as the general stream, in both directions, on
// continuous data, heavy atoms, ties between centroids and values, and
// digests built by merging (whose centroids are not all pure).
func TestPassValsMatchesStream(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	gens := map[string]func() float64{
		"normal":         r.NormFloat64,
		"zero-inflated":  func() float64 { return []float64{0, r.ExpFloat64()}[r.IntN(2)] },
		"few values":     func() float64 { return float64(r.IntN(300)) },
		"cents":          func() float64 { return float64(r.IntN(2000)) / 100 },
		"heavy tail":     func() float64 { return 1 / (r.Float64() + 1e-9) },
		"one value":      func() float64 { return 7 },
		"two clusters":   func() float64 { return float64(r.IntN(2))*100 + r.NormFloat64() },
		"integers 0..20": func() float64 { return float64(r.IntN(21)) },
	}
	for name, gen := range gens {
		for trial := range 20 {
			n := NewNumeric(nil)
			for range r.IntN(20_000) + 200 {
				n.Add(gen())
			}
			if trial%3 == 0 { // merged centroids
				o := NewNumeric(nil)
				for range r.IntN(5_000) + 200 {
					o.Add(gen())
				}
				if err := n.Merge(o); err != nil {
					t.Fatal(err)
				}
			}
			if !n.inexact {
				continue
			}
			keys := make([]uint64, r.IntN(bufferSize)+1)
			for i := range keys {
				if len(n.d.cent) > 0 && r.IntN(8) == 0 { // a tie with a centroid
					keys[i] = floatKey(n.d.cent[r.IntN(len(n.d.cent))].mean)
				} else {
					keys[i] = floatKey(gen())
				}
			}
			slices.Sort(keys)
			a, b := n.d.clone(), n.d.clone()
			a.passVals(keys)
			b.passStream(nil, keys)
			if !slices.Equal(a.cent, b.cent) || a.total != b.total {
				t.Fatalf("%s, trial %d: passVals and passStream differ:\n%v\n%v", name, trial, a.cent, b.cent)
			}
		}
	}
}
