package conceptdrift

import (
	"math"
	"slices"
	"testing"
)

// TestADWINHandComputed checks ADWIN on a stream small enough to follow by
// hand: 30 zeros, then ones, with clock 1 (check every observation) and
// buckets never merged (max_buckets 64), so every split point is tried.
//
// After m ones the window holds W = 30+m observations and the best cut is
// after the 30 zeros: |μ0 − μ1| = 1. With L = 5 and δ = 0.002 the cut holds
// when ε = √(2·m′·σ²·δ′) + ⅔·δ′·m′ < 1, where m′ = 1/26 + 1/(m−4),
// σ² = 30m/W² and δ′ = ln(2·ln W/δ).
//
//	m = 29, W = 59: m′ = 0.078462, σ² = 0.249928, δ′ = 8.3133; ε = 0.5710 + 0.4349 = 1.0059 ≥ 1: no change
//	m = 30, W = 60: m′ = 1/13,     σ² = 1/4,      δ′ = 8.3174; ε = 0.5656 + 0.4265 = 0.9921 < 1: change
//
// So the change is detected at the 30th one, index 59. ADWIN then drops the
// oldest bucket (one zero): with 29 zeros and 30 ones the best cut gives
// ε > 1 again, so it stops at width 59. River 0.26.1 agrees on both. With the
// default max_buckets 5, merged buckets allow fewer cuts: River detects at
// index 64 and stops at width 57, as must we.
func TestADWINHandComputed(t *testing.T) {
	xs := append(make([]float64, 30), slices.Repeat([]float64{1}, 100)...)
	tests := []struct {
		maxBuckets int
		at         int
		width      uint64
	}{
		{64, 59, 59},
		{5, 64, 57},
	}
	for _, tt := range tests {
		a, err := NewADWIN(ADWINClock(1), ADWINMaxBuckets(tt.maxBuckets))
		if err != nil {
			t.Fatal(err)
		}
		at := -1
		for i, x := range xs {
			if a.Update(x) {
				at = i
				break
			}
		}
		if at != tt.at || a.Width() != tt.width {
			t.Errorf("max_buckets %d: detected at %d with width %d, want %d with width %d", tt.maxBuckets, at, a.Width(), tt.at, tt.width)
		}
		// The next update starts a fresh window (River's behaviour).
		a.Update(1)
		if a.Width() != 1 || a.Mean() != 1 {
			t.Errorf("after the detection: width %d mean %v, want a fresh window", a.Width(), a.Mean())
		}
	}
}

// bruteADWIN is ADWIN without bucket compression, written directly from the
// paper: the window is a slice, every split is tried, the oldest element is
// dropped while a split holds. It shares ADWIN's test and River's reset
// after a detection.
type bruteADWIN struct {
	delta       float64
	clock, minW int
	grace       int
	tick        int
	w           []float64
	restart     bool
}

func (b *bruteADWIN) update(x float64) bool {
	if b.restart {
		b.w, b.tick, b.restart = b.w[:0], 0, false
	}
	b.w = append(b.w, x)
	b.tick++
	if b.tick%b.clock != 0 || len(b.w) <= b.grace {
		return false
	}
	changed := false
	for b.cut() {
		changed = true
		b.w = b.w[1:]
	}
	b.restart = changed
	return changed
}

func (b *bruteADWIN) cut() bool {
	n := float64(len(b.w))
	var total float64
	for _, x := range b.w {
		total += x
	}
	mean := total / n
	var ss float64
	for _, x := range b.w {
		ss += (x - mean) * (x - mean)
	}
	dPrime := math.Log(2 * math.Log(n) / b.delta)
	minW := float64(b.minW)
	var u0 float64
	for k := 1; k < len(b.w); k++ {
		u0 += b.w[k-1]
		n0, n1 := float64(k), n-float64(k)
		if n0 < minW || n1 < minW {
			continue
		}
		m := 1/(n0-minW+1) + 1/(n1-minW+1)
		eps := math.Sqrt(2*m*(ss/n)*dPrime) + 2.0/3.0*dPrime*m
		if math.Abs(u0/n0-(total-u0)/n1) > eps {
			return true
		}
	}
	return false
}

// TestADWINMatchesBruteForce compares the bucketed implementation, with
// buckets never merged, against bruteADWIN on random streams with changes.
// They compute the same test with differently rounded sums, so a cut right
// at the threshold could in principle differ; with these seeds none does.
func TestADWINMatchesBruteForce(t *testing.T) {
	for seed := range uint64(8) {
		r := newRand(100 + seed)
		p0, p1 := 0.1+0.05*float64(seed%3), 0.3+0.1*float64(seed%2)
		xs := bernoulli(r, p0, 600, p1, 900)
		xs = append(xs, bernoulli(r, p0, 500, 0, 0)...)
		clock := []int{1, 3, 32}[seed%3]
		a, err := NewADWIN(ADWINClock(clock), ADWINMaxBuckets(4096))
		if err != nil {
			t.Fatal(err)
		}
		b := &bruteADWIN{delta: 0.002, clock: clock, minW: 5, grace: 10}
		var got, want []int
		for i, x := range xs {
			if a.Update(x) {
				got = append(got, i)
			}
			if b.update(x) {
				want = append(want, i)
			}
			if a.Width() != uint64(len(b.w)) {
				t.Fatalf("seed %d: width %d at %d, brute force %d", seed, a.Width(), i, len(b.w))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("seed %d: detections %v, brute force %v", seed, got, want)
		}
		if len(want) == 0 {
			t.Errorf("seed %d: the stream has no detection to compare", seed)
		}
	}
}

// TestADWINBucketInvariants runs the default (compressing) ADWIN over
// streams of 0/1 and of real values and checks after every observation that
// the buckets describe exactly the last Width observations since the last
// restart: row counts within max_buckets, sizes summing to the width, and
// sum and variance matching those observations.
func TestADWINBucketInvariants(t *testing.T) {
	r := newRand(11)
	binary := bernoulli(r, 0.2, 3000, 0.6, 3000)
	real := make([]float64, 6000)
	for i := range real {
		real[i] = r.Float64() * 0.5
		if i >= 4000 {
			real[i] += 0.3
		}
	}
	for name, xs := range map[string][]float64{"binary": binary, "real": real} {
		for _, mb := range []int{1, 2, 5} {
			a, err := NewADWIN(ADWINMaxBuckets(mb), ADWINClock(8))
			if err != nil {
				t.Fatal(err)
			}
			start := 0 // first observation of the current window's epoch
			detections := 0
			for i, x := range xs {
				if a.restart {
					start = i
				}
				if a.Update(x) {
					detections++
				}
				var width uint64
				for row := range a.rows {
					if a.counts[row] < 0 || a.counts[row] > mb || (row == a.rows-1 && a.counts[row] == 0) {
						t.Fatalf("%s mb=%d: row %d holds %d buckets at %d", name, mb, row, a.counts[row], i)
					}
					width += uint64(a.counts[row]) << row
				}
				if width != a.Width() || int(a.Width()) > i-start+1 {
					t.Fatalf("%s mb=%d: buckets hold %d, width %d at %d", name, mb, width, a.Width(), i)
				}
				win := xs[i+1-int(a.Width()) : i+1]
				var sum float64
				for _, v := range win {
					sum += v
				}
				mean := sum / float64(len(win))
				var ss float64
				for _, v := range win {
					ss += (v - mean) * (v - mean)
				}
				if math.Abs(sum-a.total) > 1e-9*float64(len(win)) || math.Abs(ss-a.variance) > 1e-7*float64(len(win)) {
					t.Fatalf("%s mb=%d at %d: sum %v vs %v, Σ(x−μ)² %v vs %v", name, mb, i, a.total, sum, a.variance, ss)
				}
			}
			if detections == 0 {
				t.Errorf("%s mb=%d: no detection", name, mb)
			}
		}
	}
}
