package conceptdrift

import (
	"fmt"
	"math"
)

// Mode selects which direction of change a [PageHinkley] detector reports.
type Mode uint8

// The modes, as River names them.
const (
	ModeUp   Mode = iota + 1 // increases of the mean ("up"): the error rate rising
	ModeDown                 // decreases of the mean ("down")
	ModeBoth                 // either ("both"), River's default
)

// String returns "up", "down" or "both".
func (m Mode) String() string {
	switch m {
	case ModeUp:
		return "up"
	case ModeDown:
		return "down"
	case ModeBoth:
		return "both"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// PageHinkley is the Page-Hinkley test (E. S. Page, "Continuous inspection
// schemes", Biometrika 1954), a CUSUM of the deviations of each observation
// from the running mean.
//
// With x̄ₜ the mean of the observations since the last detection, it keeps
//
//	Uₜ = α·Uₜ₋₁ + (xₜ − x̄ₜ) − δ    (for increases)
//	Dₜ = α·Dₜ₋₁ + (xₜ − x̄ₜ) + δ    (for decreases)
//
// and, once MinInstances observations have been seen, declares a change
// when Uₜ − min U > λ (an increase) or max D − Dₜ > λ (a decrease), λ being
// Threshold. δ (Delta) is the magnitude of change tolerated, α (Alpha) a
// forgetting factor.
//
// This is a port of River's drift.PageHinkley (0.26) with its defaults
// (min_instances 30, delta 0.005, threshold 50, alpha 1 − 0.0001, mode
// "both") and River's behaviour after a detection: the next Update starts
// afresh. Departure: non-finite observations are ignored.
//
// Hazards, for an error stream: λ = 50 is in units of the observations, so
// a rise of the error rate by Δ is detected after roughly 50/Δ observations
// (170 for +0.3, 1000 for +0.05, slower still as the running mean catches
// up); and with α < 1 the sums revert towards −δ/(1−α) = ∓50, around which
// they fluctuate with a standard deviation of about σ/√(2(1−α)) (28 for an
// error rate of 0.2), so on a long stationary stream Uₜ − min U eventually
// exceeds λ: expect occasional false alarms (see the package tests for
// measured rates). Mode "both" also reports the error rate falling, which is
// good news, not drift; pass PageHinkleyMode(ModeUp) to watch only for
// increases.
//
// A PageHinkley is owned by one goroutine; it is not safe for concurrent use.
type PageHinkley struct {
	// Parameters.
	minInstances int
	delta        float64
	threshold    float64
	alpha        float64
	mode         Mode
	hold         hold

	// State.
	n              uint64
	mean           float64
	sumInc, sumDec float64
	minInc, maxDec float64 // ±Inf until the first observation
	restart        bool
}

// PageHinkleyOption configures [NewPageHinkley]. [Hold] is one too.
type PageHinkleyOption interface{ applyPageHinkley(*PageHinkley) }

type phOption func(*PageHinkley)

func (f phOption) applyPageHinkley(p *PageHinkley) { f(p) }

// PageHinkleyMinInstances sets how many observations are needed before a
// change can be detected (River's min_instances, default 30).
func PageHinkleyMinInstances(n int) PageHinkleyOption {
	return phOption(func(p *PageHinkley) { p.minInstances = n })
}

// PageHinkleyDelta sets δ ≥ 0, the magnitude of change tolerated (River's
// delta, default 0.005).
func PageHinkleyDelta(delta float64) PageHinkleyOption {
	return phOption(func(p *PageHinkley) { p.delta = delta })
}

// PageHinkleyThreshold sets λ > 0, the detection threshold (River's
// threshold, default 50).
func PageHinkleyThreshold(lambda float64) PageHinkleyOption {
	return phOption(func(p *PageHinkley) { p.threshold = lambda })
}

// PageHinkleyAlpha sets the forgetting factor α ∈ (0,1] (River's alpha,
// default 1 − 0.0001). α = 1 is the classic, non-forgetting test.
func PageHinkleyAlpha(alpha float64) PageHinkleyOption {
	return phOption(func(p *PageHinkley) { p.alpha = alpha })
}

// PageHinkleyMode sets the direction of change reported (River's mode,
// default ModeBoth).
func PageHinkleyMode(m Mode) PageHinkleyOption { return phOption(func(p *PageHinkley) { p.mode = m }) }

// NewPageHinkley returns a Page-Hinkley detector with River's defaults
// (min_instances 30, delta 0.005, threshold 50, alpha 0.9999, mode "both")
// and [DefaultHold], changed by opts. It returns a [*ConfigError] for an
// invalid parameter.
func NewPageHinkley(opts ...PageHinkleyOption) (*PageHinkley, error) {
	p := &PageHinkley{minInstances: 30, delta: 0.005, threshold: 50, alpha: 1 - 0.0001, mode: ModeBoth, hold: hold{n: DefaultHold}}
	for _, o := range opts {
		o.applyPageHinkley(p)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	p.clear()
	return p, nil
}

func (p *PageHinkley) validate() error {
	switch {
	case p.minInstances < 1:
		return &ConfigError{NamePageHinkley, "min_instances", p.minInstances, "must be at least 1"}
	case !(p.delta >= 0) || math.IsInf(p.delta, 0):
		return &ConfigError{NamePageHinkley, "delta", p.delta, "must be finite and not negative"}
	case !(p.threshold > 0) || math.IsInf(p.threshold, 0):
		return &ConfigError{NamePageHinkley, "threshold", p.threshold, "must be positive and finite"}
	case !(p.alpha > 0 && p.alpha <= 1):
		return &ConfigError{NamePageHinkley, "alpha", p.alpha, "must be in (0,1]"}
	case p.mode < ModeUp || p.mode > ModeBoth:
		return &ConfigError{NamePageHinkley, "mode", p.mode, "must be ModeUp, ModeDown or ModeBoth"}
	}
	return p.hold.validate(NamePageHinkley)
}

// Name returns "page_hinkley".
func (p *PageHinkley) Name() string { return NamePageHinkley }

// InDrift reports whether a change was detected within the last Hold
// observations.
func (p *PageHinkley) InDrift() bool { return p.hold.inDrift() }

// Reset discards the statistics and ends any InDrift span.
func (p *PageHinkley) Reset() {
	p.clear()
	p.hold.active = 0
}

func (p *PageHinkley) clear() {
	p.n, p.mean = 0, 0
	p.sumInc, p.sumDec = 0, 0
	// River starts the maximum at −1, which the first Dₜ = δ ≥ 0 always
	// replaces, so −Inf is equivalent.
	p.minInc, p.maxDec = math.Inf(1), math.Inf(-1)
	p.restart = false
}

// Update adds one observation and returns true when a change of its mean is
// detected (in the directions Mode selects).
func (p *PageHinkley) Update(x float64) bool {
	if !finite(x) {
		return false
	}
	if p.restart {
		p.clear()
	}
	p.n++
	p.mean += float64((1 / float64(p.n)) * (x - p.mean)) // River's stats.Mean
	dev := x - p.mean
	p.sumInc = float64(p.alpha*p.sumInc) + dev - p.delta
	p.sumDec = float64(p.alpha*p.sumDec) + dev + p.delta
	p.minInc = min(p.minInc, p.sumInc)
	p.maxDec = max(p.maxDec, p.sumDec)
	drift := false
	if p.n >= uint64(p.minInstances) {
		up := p.sumInc-p.minInc > p.threshold
		down := p.maxDec-p.sumDec > p.threshold
		switch p.mode {
		case ModeUp:
			drift = up
		case ModeDown:
			drift = down
		default:
			drift = up || down
		}
	}
	p.restart = drift
	p.hold.observe(drift)
	return drift
}
