package conceptdrift

import "math"

// DDM is the Drift Detection Method (Gama, Medas, Castillo & Rodrigues,
// "Learning with drift detection", SBIA 2004) for a stream of errors
// (1 = misclassified, 0 = correct).
//
// It tracks the running error rate pᵢ and its binomial standard deviation
// sᵢ = √(pᵢ(1−pᵢ)/i), remembers p_min and s_min at the point where pᵢ + sᵢ
// was lowest, and, once more than WarmStart observations have been seen,
// signals
//
//	warning  when pᵢ + sᵢ > p_min + WarningThreshold·s_min
//	drift    when pᵢ + sᵢ > p_min + DriftThreshold·s_min
//
// It only detects increases of the error rate, and its statistics are
// cumulative since the last detection, so a change late in a long stable
// stretch is detected later than one early in it.
//
// This is a port of River's drift.binary.DDM (0.26) with its defaults
// (warm_start 30, warning_threshold 2, drift_threshold 3) and River's
// behaviour after a detection: the next Update starts afresh. Departures:
//
//   - The minimum is not recorded while sᵢ = 0, that is while the error rate
//     is exactly 0 (or 1). In River a model that makes no error during the
//     warm start records p_min = s_min = 0, and its first error afterwards
//     is a drift. At an error rate of 1%, 73% of warm starts are error free,
//     so River's DDM fires in bursts after every start and every detection,
//     at each first error, until a warm start happens to contain an error.
//     Here that first error just starts the statistics.
//   - Non-finite observations are ignored.
//
// Observations other than 0 and 1 are averaged as given; the binomial
// deviation then no longer describes them.
//
// A DDM is owned by one goroutine; it is not safe for concurrent use.
type DDM struct {
	// Parameters.
	warmStart int
	warnLevel float64
	drift     float64
	hold      hold

	// State.
	n                 uint64
	p                 float64 // running mean of the observations
	pMin, sMin, psMin float64 // +Inf until a minimum is recorded
	warning           bool
	restart           bool
}

// DDMOption configures [NewDDM]. [Hold] is one too.
type DDMOption interface{ applyDDM(*DDM) }

type ddmOption func(*DDM)

func (f ddmOption) applyDDM(d *DDM) { f(d) }

// DDMWarmStart sets how many observations are needed before a change can be
// detected (River's warm_start, default 30).
func DDMWarmStart(n int) DDMOption { return ddmOption(func(d *DDM) { d.warmStart = n }) }

// DDMWarningThreshold sets the number of s_min above p_min at which the
// warning zone starts (River's warning_threshold, default 2: about 95%
// confidence).
func DDMWarningThreshold(k float64) DDMOption { return ddmOption(func(d *DDM) { d.warnLevel = k }) }

// DDMDriftThreshold sets the number of s_min above p_min at which a drift is
// declared (River's drift_threshold, default 3: about 99% confidence).
func DDMDriftThreshold(k float64) DDMOption { return ddmOption(func(d *DDM) { d.drift = k }) }

// NewDDM returns a DDM detector with River's defaults (warm_start 30,
// warning_threshold 2, drift_threshold 3) and [DefaultHold], changed by
// opts. It returns a [*ConfigError] for an invalid parameter.
func NewDDM(opts ...DDMOption) (*DDM, error) {
	d := &DDM{warmStart: 30, warnLevel: 2, drift: 3, hold: hold{n: DefaultHold}}
	for _, o := range opts {
		o.applyDDM(d)
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	d.clear()
	return d, nil
}

func (d *DDM) validate() error {
	switch {
	case d.warmStart < 0:
		return &ConfigError{NameDDM, "warm_start", d.warmStart, "must not be negative"}
	case !(d.warnLevel > 0) || math.IsInf(d.warnLevel, 0):
		return &ConfigError{NameDDM, "warning_threshold", d.warnLevel, "must be positive and finite"}
	case !(d.drift >= d.warnLevel) || math.IsInf(d.drift, 0):
		return &ConfigError{NameDDM, "drift_threshold", d.drift, "must be finite and at least warning_threshold"}
	}
	return d.hold.validate(NameDDM)
}

// Name returns "ddm".
func (d *DDM) Name() string { return NameDDM }

// InDrift reports whether a change was detected within the last Hold
// observations.
func (d *DDM) InDrift() bool { return d.hold.inDrift() }

// Warning reports whether the last observation left DDM in its warning zone
// (above the warning level, below the drift level).
func (d *DDM) Warning() bool { return d.warning }

// ErrorRate returns the running error rate since the last detection.
func (d *DDM) ErrorRate() float64 { return d.p }

// Reset discards the statistics and ends any InDrift span.
func (d *DDM) Reset() {
	d.clear()
	d.hold.active = 0
}

func (d *DDM) clear() {
	d.n, d.p = 0, 0
	d.pMin, d.sMin, d.psMin = math.Inf(1), math.Inf(1), math.Inf(1)
	d.warning, d.restart = false, false
}

// Update adds one observation (1 = error, 0 = correct) and returns true when
// the error rate is found to have risen.
func (d *DDM) Update(x float64) bool {
	if !finite(x) {
		return false
	}
	if d.restart {
		d.clear()
	}
	d.n++
	n := float64(d.n)
	d.p += float64((1 / n) * (x - d.p)) // River's stats.Mean
	p := d.p
	s := math.Sqrt(float64(p*(1-p)) / n)
	drift := false
	if d.n > uint64(d.warmStart) {
		if s > 0 && p+s <= d.psMin {
			d.pMin, d.sMin, d.psMin = p, s, p+s
		}
		d.warning = p+s > d.pMin+float64(d.warnLevel*d.sMin)
		if p+s > d.pMin+float64(d.drift*d.sMin) {
			drift = true
			d.warning = false
		}
	}
	d.restart = drift
	d.hold.observe(drift)
	return drift
}
