package perf

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func mid(b int) float64 { return (float64(b) + 0.5) / NumScoreBins }

func TestFitCalibratorPAV(t *testing.T) {
	// Scores at three bins. Bin of 0.1: 2 predictions, 1 positive (rate
	// ½); bin of 0.2: 2, 0 positive (rate 0) violates monotonicity and is
	// pooled with it (1/4); bin of 0.5: 1, 1 positive.
	w := windowOf([]triple{{0.1, false, true}, {0.1, false, false}, {0.2, false, false}, {0.2, false, false}, {0.5, true, true}})
	c, err := FitCalibrator(w)
	if err != nil {
		t.Fatal(err)
	}
	b1, b2, b5 := scoreBin(0.1), scoreBin(0.2), scoreBin(0.5)
	wantX := []float64{(2*mid(b1) + 2*mid(b2)) / 4, mid(b5)}
	wantY := []float64{0.25, 1}
	x, y := c.Knots()
	if len(x) != 2 || math.Abs(x[0]-wantX[0]) > 1e-15 || math.Abs(x[1]-wantX[1]) > 1e-15 || y[0] != wantY[0] || y[1] != wantY[1] {
		t.Fatalf("knots (%v, %v), want (%v, %v)", x, y, wantX, wantY)
	}
	tests := []struct{ score, want float64 }{
		{0, 0.25}, {wantX[0], 0.25}, {(wantX[0] + wantX[1]) / 2, 0.625}, {wantX[1], 1}, {1, 1}, {-3, 0.25}, {7, 1},
	}
	for _, tt := range tests {
		if got := c.Calibrate(tt.score); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Calibrate(%v) = %v, want %v", tt.score, got, tt.want)
		}
	}
	if !math.IsNaN(c.Calibrate(math.NaN())) {
		t.Error("Calibrate(NaN) is not NaN")
	}
}

func TestFitCalibratorEqualRatesNotPooled(t *testing.T) {
	// Equal adjacent rates are not violations: both knots are kept.
	w := windowOf([]triple{{0.2, false, true}, {0.2, false, false}, {0.6, true, true}, {0.6, true, false}})
	c, _ := FitCalibrator(w)
	if x, y := c.Knots(); len(x) != 2 || y[0] != 0.5 || y[1] != 0.5 {
		t.Fatalf("knots (%v, %v)", x, y)
	}
}

func TestCalibratorIdentity(t *testing.T) {
	var nilCal *Calibrator
	for _, c := range []*Calibrator{nilCal, {}} {
		if !c.IsIdentity() {
			t.Fatal("not identity")
		}
		for _, tt := range []struct{ in, want float64 }{{0.3, 0.3}, {0, 0}, {1, 1}, {-1, 0}, {2, 1}} {
			if got := c.Calibrate(tt.in); got != tt.want {
				t.Errorf("identity Calibrate(%v) = %v", tt.in, got)
			}
		}
		if x, y := c.Knots(); x != nil || y != nil {
			t.Error("identity has knots")
		}
	}
	if _, err := FitCalibrator(new(Window)); !errors.Is(err, ErrEmptyReference) {
		t.Fatalf("FitCalibrator(empty) error = %v", err)
	}
	if _, err := FitCalibrator(windowOf([]triple{{math.NaN(), true, true}})); !errors.Is(err, ErrEmptyReference) {
		t.Fatalf("FitCalibrator(unscored) error = %v", err)
	}
}

// TestCalibratorMonotone fits on noisy references of several shapes and
// sizes and checks the invariants: knots ordered, Calibrate non-decreasing
// and within [0,1] on a fine grid, and close to the true curve when the
// reference is large.
func TestCalibratorMonotone(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		prob   func(float64) float64
		maxErr float64 // mean |Calibrate − prob| over the score distribution; 0 = unchecked
	}{
		{"tiny", 20, func(s float64) float64 { return s }, 0},
		{"square", 200_000, func(s float64) float64 { return s * s }, 0.02},
		{"sqrt", 200_000, math.Sqrt, 0.02},
		{"step", 50_000, func(s float64) float64 { return map[bool]float64{true: 0.9, false: 0.1}[s > 0.4] }, 0.03},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRand(uint64(200 + i))
			ts := labelled(r, tt.n, func(r *rand.Rand) float64 { return r.Float64() }, tt.prob, 0.5)
			c, err := FitCalibrator(windowOf(ts))
			if err != nil {
				t.Fatal(err)
			}
			x, y := c.Knots()
			for j := 1; j < len(x); j++ {
				if x[j] <= x[j-1] || y[j] < y[j-1] {
					t.Fatalf("knot %d out of order: (%v,%v) after (%v,%v)", j, x[j], y[j], x[j-1], y[j-1])
				}
			}
			prev, absErr := -1.0, 0.0
			const grid = 10_000
			for k := 0; k <= grid; k++ {
				s := float64(k) / grid
				v := c.Calibrate(s)
				if v < prev || v < 0 || v > 1 {
					t.Fatalf("Calibrate(%v) = %v after %v", s, v, prev)
				}
				prev = v
				absErr += math.Abs(v - tt.prob(s))
			}
			absErr /= grid + 1
			t.Logf("%s: %d knots from %d labels, mean |error| %.4f", tt.name, len(x), tt.n, absErr)
			if tt.maxErr > 0 && absErr > tt.maxErr {
				t.Errorf("mean |Calibrate − truth| = %v > %v", absErr, tt.maxErr)
			}
		})
	}
}

func TestCalibrateDoesNotAllocate(t *testing.T) {
	r := newRand(3)
	c, _ := FitCalibrator(windowOf(labelled(r, 10_000, func(r *rand.Rand) float64 { return r.Float64() }, math.Sqrt, 0.5)))
	s := 0.0
	if a := testing.AllocsPerRun(1000, func() { s += c.Calibrate(0.37) }); a != 0 {
		t.Fatalf("Calibrate allocates %v times", a)
	}
}
