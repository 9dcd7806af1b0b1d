package conceptdrift

import "math"

// ADWIN is the ADaptive WINdowing change detector (Bifet & Gavaldà, "Learning
// from time-changing data with adaptive windowing", SDM 2007), in its ADWIN2
// form: the window is kept as an exponential histogram of buckets, row i
// holding up to MaxBuckets summaries (sum and variance) of 2^i observations
// each, so memory is O(MaxBuckets·log W) for a window of W observations.
//
// Every Clock observations, once the window holds more than GracePeriod,
// ADWIN tries every cut of the window into an older part W0 and a newer part
// W1 at bucket boundaries (both at least MinWindowLength long) and declares
// a change when their means differ by more than
//
//	ε = √(2·m·σ²·δ′) + ⅔·δ′·m,   m = 1/(n0−L+1) + 1/(n1−L+1),   δ′ = ln(2·ln W / δ)
//
// with σ² the variance of the whole window, L = MinWindowLength and δ =
// Delta. It then drops the oldest bucket and tries again, until no cut
// holds. Observations are assumed to lie in [0,1] (the bound's range); the
// error stream does.
//
// This is a port of River's drift.ADWIN (0.26, itself a port of MOA) with
// River's defaults, the same arithmetic, and River's behaviour after a
// detection: the next Update starts from an empty window. (The paper keeps
// W1 instead; River's reset reports one change once instead of several
// times as the rest of W0 drains, which is what a drift counter wants.)
// Departure: non-finite observations are ignored.
//
// Cost: Update is O(1) amortised between checks; a check is O(MaxBuckets ·
// log W) cuts, each a square root. It does not allocate in steady state:
// bucket rows for windows up to MaxBuckets·2^24 observations are reserved up
// front, and reused after a reset.
//
// An ADWIN is owned by one goroutine; it is not safe for concurrent use.
type ADWIN struct {
	// Parameters.
	delta      float64
	clock      int
	maxBuckets int
	minWindow  int
	grace      int
	hold       hold

	// State.
	tick     uint64
	width    uint64
	total    float64
	variance float64 // Σ (x − mean)² over the window, not divided by W
	rows     int
	// Row r occupies counts[r] and totals/variances[r*stride : r*stride+counts[r]],
	// oldest bucket first; stride = maxBuckets+1 leaves room for the
	// overflowing bucket that compression then merges.
	counts    []int
	totals    []float64
	variances []float64
	restart   bool // a change was reported: the next Update starts afresh
}

// ADWINOption configures [NewADWIN]. [Hold] is one too.
type ADWINOption interface{ applyADWIN(*ADWIN) }

type adwinOption func(*ADWIN)

func (f adwinOption) applyADWIN(a *ADWIN) { f(a) }

// ADWINDelta sets the significance δ ∈ (0,1) of the change test (River's
// delta, default 0.002). Smaller is more conservative: fewer false alarms,
// later detections.
func ADWINDelta(delta float64) ADWINOption { return adwinOption(func(a *ADWIN) { a.delta = delta }) }

// ADWINClock sets how many observations pass between two checks for change
// (River's clock, default 32; 1 checks at every observation). Larger is
// cheaper and adds up to Clock−1 observations of detection delay.
func ADWINClock(n int) ADWINOption { return adwinOption(func(a *ADWIN) { a.clock = n }) }

// ADWINMaxBuckets sets how many buckets of each size are kept before the two
// oldest are merged (River's max_buckets, default 5). Larger gives finer cut
// points for more memory and time.
func ADWINMaxBuckets(n int) ADWINOption { return adwinOption(func(a *ADWIN) { a.maxBuckets = n }) }

// ADWINMinWindowLength sets the minimum length of each of W0 and W1 for a
// cut to be considered (River's min_window_length, default 5).
func ADWINMinWindowLength(n int) ADWINOption {
	return adwinOption(func(a *ADWIN) { a.minWindow = n })
}

// ADWINGracePeriod sets how many observations the window must exceed before
// any check (River's grace_period, default 10).
func ADWINGracePeriod(n int) ADWINOption { return adwinOption(func(a *ADWIN) { a.grace = n }) }

// adwinReservedRows is the number of bucket rows reserved up front.
const adwinReservedRows = 24

// adwinMaxRows bounds the rows a window can use: bucket sizes are 2^r with
// r < 64.
const adwinMaxRows = 63

// NewADWIN returns an ADWIN detector with River's defaults (delta 0.002,
// clock 32, max_buckets 5, min_window_length 5, grace_period 10) and
// [DefaultHold], changed by opts. It returns a [*ConfigError] for an invalid
// parameter.
func NewADWIN(opts ...ADWINOption) (*ADWIN, error) {
	a := &ADWIN{delta: 0.002, clock: 32, maxBuckets: 5, minWindow: 5, grace: 10, hold: hold{n: DefaultHold}}
	for _, o := range opts {
		o.applyADWIN(a)
	}
	if err := a.validate(); err != nil {
		return nil, err
	}
	a.reserve(adwinReservedRows)
	return a, nil
}

func (a *ADWIN) validate() error {
	switch {
	case !(a.delta > 0 && a.delta < 1):
		return &ConfigError{NameADWIN, "delta", a.delta, "must be in (0,1)"}
	case a.clock < 1:
		return &ConfigError{NameADWIN, "clock", a.clock, "must be at least 1"}
	case a.maxBuckets < 1 || a.maxBuckets > 1<<16:
		return &ConfigError{NameADWIN, "max_buckets", a.maxBuckets, "must be in [1, 65536]"}
	case a.minWindow < 1:
		return &ConfigError{NameADWIN, "min_window_length", a.minWindow, "must be at least 1"}
	case a.grace < 0:
		return &ConfigError{NameADWIN, "grace_period", a.grace, "must not be negative"}
	}
	return a.hold.validate(NameADWIN)
}

// reserve makes room for at least rows bucket rows.
func (a *ADWIN) reserve(rows int) {
	if rows <= len(a.counts) {
		return
	}
	stride := a.maxBuckets + 1
	counts := make([]int, rows)
	totals := make([]float64, rows*stride)
	variances := make([]float64, rows*stride)
	copy(counts, a.counts)
	copy(totals, a.totals)
	copy(variances, a.variances)
	a.counts, a.totals, a.variances = counts, totals, variances
}

// Name returns "adwin".
func (a *ADWIN) Name() string { return NameADWIN }

// InDrift reports whether a change was detected within the last Hold
// observations.
func (a *ADWIN) InDrift() bool { return a.hold.inDrift() }

// Width returns the number of observations in the current window.
func (a *ADWIN) Width() uint64 { return a.width }

// Mean returns the mean of the current window (River's estimation), or 0 for
// an empty window.
func (a *ADWIN) Mean() float64 {
	if a.width == 0 {
		return 0
	}
	return a.total / float64(a.width)
}

// Reset empties the window and ends any InDrift span; the parameters and
// the reserved bucket storage are kept.
func (a *ADWIN) Reset() {
	a.clear()
	a.hold.active = 0
}

// clear empties the window (River's _reset after a detection).
func (a *ADWIN) clear() {
	clear(a.counts[:a.rows])
	a.rows = 0
	a.tick, a.width = 0, 0
	a.total, a.variance = 0, 0
	a.restart = false
}

// Update adds x to the window and checks for a change if the clock says so.
// It returns true when a change was detected at x.
func (a *ADWIN) Update(x float64) bool {
	if !finite(x) {
		return false
	}
	if a.restart {
		a.clear()
	}
	a.insert(x)
	drift := a.detect()
	a.restart = drift
	a.hold.observe(drift)
	return drift
}

// insert adds x as a new bucket of size 1 and updates the window's sum and
// variance (Welford, in River's operation order).
func (a *ADWIN) insert(x float64) {
	a.push(0, x, 0)
	a.width++
	if a.width > 1 {
		w1 := float64(a.width - 1)
		d := x - a.total/w1
		a.variance += float64(w1*d*d) / float64(a.width)
	}
	a.total += x
	a.compress()
}

// push appends a bucket to row r.
func (a *ADWIN) push(r int, total, variance float64) {
	if r >= a.rows {
		if r >= len(a.counts) {
			a.reserve(2 * len(a.counts)) // rare: the window doubled past the reservation
		}
		a.rows = r + 1
	}
	i := r*(a.maxBuckets+1) + a.counts[r]
	a.totals[i], a.variances[i] = total, variance
	a.counts[r]++
}

// drop removes the k oldest buckets of row r.
func (a *ADWIN) drop(r, k int) {
	base, n := r*(a.maxBuckets+1), a.counts[r]
	copy(a.totals[base:base+n-k], a.totals[base+k:base+n])
	copy(a.variances[base:base+n-k], a.variances[base+k:base+n])
	a.counts[r] -= k
}

// compress merges the two oldest buckets of each overflowing row into one of
// the next row, cascading up.
func (a *ADWIN) compress() {
	for r := 0; a.counts[r] == a.maxBuckets+1; r++ {
		base := r * (a.maxBuckets + 1)
		n := float64(uint64(1) << r)
		t0, t1 := a.totals[base], a.totals[base+1]
		v0, v1 := a.variances[base], a.variances[base+1]
		mu0, mu1 := t0/n, t1/n
		// n·n/(n+n)·(mu0−mu1)², as River writes it.
		v := v0 + v1 + float64(float64(n*0.5*(mu0-mu1))*(mu0-mu1))
		a.push(r+1, t0+t1, v)
		a.drop(r, 2)
		if a.counts[r+1] <= a.maxBuckets {
			break
		}
	}
}

// dropOldest removes the oldest bucket (the first of the last row) from the
// window.
func (a *ADWIN) dropOldest() {
	last := a.rows - 1
	base := last * (a.maxBuckets + 1)
	n := float64(uint64(1) << last)
	u, v := a.totals[base], a.variances[base]
	mu := u / n
	a.width -= uint64(1) << last
	a.total -= u
	if a.width == 0 {
		a.total, a.variance = 0, 0
	} else {
		w := float64(a.width)
		muW := a.total / w
		a.variance -= v + float64(n*w*(mu-muW)*(mu-muW))/(n+w)
	}
	a.drop(last, 1)
	// Trim empty rows. Only the last row can empty this way when
	// max_buckets ≥ 2; with max_buckets = 1 compression leaves rows below
	// empty too (River's deque then misbehaves; we skip them).
	for a.rows > 0 && a.counts[a.rows-1] == 0 {
		a.rows--
	}
}

// detect runs the change test when the clock ticks, dropping oldest buckets
// while some cut holds, and reports whether any did.
func (a *ADWIN) detect() bool {
	a.tick++
	if a.tick%uint64(a.clock) != 0 || a.width <= uint64(a.grace) {
		return false
	}
	changed := false
	for a.cutHolds() {
		changed = true
		a.dropOldest()
	}
	return changed
}

// cutHolds reports whether some cut of the window, oldest first, separates
// two parts whose means differ significantly.
func (a *ADWIN) cutHolds() bool {
	minW := float64(a.minWindow)
	w := float64(a.width)
	// δ′ and σ² depend only on the whole window: computed once per scan.
	dPrime := math.Log(2 * math.Log(w) / a.delta)
	sigma2 := a.variance / w
	var n0, u0 float64
	n1, u1 := w, a.total
	for r := a.rows - 1; r >= 0; r-- {
		size := float64(uint64(1) << r)
		base := r * (a.maxBuckets + 1)
		cnt := a.counts[r]
		for k := range cnt {
			t := a.totals[base+k]
			n0 += size
			n1 -= size
			u0 += t
			u1 -= t
			if r == 0 && k == cnt-1 {
				return false // W1 would be empty
			}
			if n1 < minW {
				return false // W1 only shrinks from here
			}
			if n0 < minW {
				continue
			}
			m := 1/(n0-minW+1) + 1/(n1-minW+1)
			eps := math.Sqrt(float64(2*m*sigma2)*dPrime) + float64(2.0/3.0*dPrime*m)
			if math.Abs(u0/n0-u1/n1) > eps {
				return true
			}
		}
	}
	return false
}
