package conceptdrift

import (
	"encoding"
	"errors"
	"fmt"
	"math"
)

// Detector is a sequential change detector over a stream of observations,
// normally a model's errors (1 = misclassified, 0 = correct).
type Detector interface {
	// Name returns "adwin", "ddm" or "page_hinkley": the value of the
	// Prometheus label `detector`.
	Name() string
	// Update adds one observation. It returns true exactly when a change is
	// detected at this observation. Non-finite x is ignored (false).
	Update(x float64) (drift bool)
	// InDrift reports whether a change was detected within the last Hold
	// observations, the detecting one included (see the package
	// documentation).
	InDrift() bool
	// Reset discards all statistics and the InDrift span, keeping the
	// parameters.
	Reset()
	// MarshalBinary encodes parameters and state, versioned;
	// UnmarshalBinary restores them into a detector of the same kind.
	encoding.BinaryMarshaler
	encoding.BinaryAppender
	encoding.BinaryUnmarshaler
}

// Detector names, as returned by Name and accepted by New.
const (
	NameADWIN       = "adwin"
	NameDDM         = "ddm"
	NamePageHinkley = "page_hinkley"
)

// DefaultHold is the default number of observations for which InDrift stays
// true after a detection.
const DefaultHold = 1000

// Names returns the names New accepts, for validating configuration.
func Names() []string { return []string{NameADWIN, NameDDM, NamePageHinkley} }

// ErrUnknownDetector is wrapped by the error New returns for a name it does
// not know.
var ErrUnknownDetector = errors.New("conceptdrift: unknown detector")

// New returns the detector called name, with River's default parameters and
// [DefaultHold].
func New(name string) (Detector, error) {
	switch name {
	case NameADWIN:
		return NewADWIN()
	case NameDDM:
		return NewDDM()
	case NamePageHinkley:
		return NewPageHinkley()
	}
	return nil, fmt.Errorf("%w %q (want one of %q)", ErrUnknownDetector, name, Names())
}

// ConfigError reports an invalid parameter given to a constructor (or found
// in a decoded checkpoint, wrapped in a [*DecodeError]).
type ConfigError struct {
	Detector string // detector name
	Param    string // parameter, as River names it: "delta", "clock", …
	Value    any    // the rejected value
	Reason   string // the constraint it breaks
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("conceptdrift: %s %s = %v: %s", e.Detector, e.Param, e.Value, e.Reason)
}

// HoldOption sets the number of observations for which InDrift stays true
// after a detection. Every constructor accepts it.
type HoldOption struct{ n int }

// Hold returns an option setting the InDrift span to n ≥ 1 observations
// (default [DefaultHold]). With n = 1, InDrift is true only right after the
// Update that returned true.
func Hold(n int) HoldOption { return HoldOption{n} }

func (o HoldOption) applyADWIN(a *ADWIN)             { a.hold.n = o.n }
func (o HoldOption) applyDDM(d *DDM)                 { d.hold.n = o.n }
func (o HoldOption) applyPageHinkley(p *PageHinkley) { p.hold.n = o.n }

// hold tracks the InDrift span.
type hold struct {
	n      int    // span length, ≥ 1 (a parameter)
	active uint64 // observations left in the current span, the current one included
}

// observe records whether the observation just processed was a detection.
func (h *hold) observe(drift bool) {
	switch {
	case drift:
		h.active = uint64(h.n)
	case h.active > 0:
		h.active--
	}
}

func (h *hold) inDrift() bool { return h.active > 0 }

func (h *hold) validate(detector string) error {
	if h.n < 1 {
		return &ConfigError{detector, "hold", h.n, "must be at least 1"}
	}
	return nil
}

// finite reports whether x is neither NaN nor ±Inf.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
