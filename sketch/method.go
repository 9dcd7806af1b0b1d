package sketch

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// The drift vocabulary: the methods, which feature kinds each applies to,
// the parameters with their bounds and defaults. It is declared here once;
// the configuration (package config) parses and validates through it.

// Method names a drift statistic or test. Its String form is the value of
// the `method` / `test` label of reckon_feature_drift{…} and
// reckon_feature_drift_pvalue{…} (docs/metrics.md) and of the configuration's
// numeric_test / categorical_test.
type Method uint8

const (
	// MethodAuto chooses as Evidently's default data drift preset does (see
	// NumericDrift and CategoricalDrift). It is never the Method of a Drift.
	MethodAuto Method = iota
	// MethodKS is the two-sample Kolmogorov–Smirnov test (numeric; p-value).
	MethodKS
	// MethodPSI is the population stability index (numeric on the histogram,
	// categorical on categories).
	MethodPSI
	// MethodWasserstein is the Wasserstein distance normalised by the
	// reference standard deviation (numeric).
	MethodWasserstein
	// MethodJS is the Jensen–Shannon distance (numeric on the histogram,
	// categorical on categories).
	MethodJS
	// MethodChi2 is Pearson's chi-square goodness-of-fit test (categorical;
	// auto also applies it to numeric features with 3 to 5 values; p-value).
	MethodChi2
	// MethodZ is the two-proportion Z-test (categorical; auto applies it to
	// features with at most two values and a small reference; p-value).
	MethodZ

	numMethods = iota
)

var methodNames = [numMethods]string{"auto", "ks", "psi", "wasserstein", "js", "chi2", "z"}

// String returns "auto", "ks", "psi", "wasserstein", "js", "chi2" or "z".
func (m Method) String() string {
	if m < numMethods {
		return methodNames[m]
	}
	return fmt.Sprintf("Method(%d)", uint8(m))
}

// FeatureKind is the kind of feature a method is applied to.
type FeatureKind uint8

// Feature kinds.
const (
	KindNumeric FeatureKind = iota + 1
	KindCategorical
)

// String returns "numeric" or "categorical".
func (k FeatureKind) String() string {
	switch k {
	case KindNumeric:
		return "numeric"
	case KindCategorical:
		return "categorical"
	}
	return fmt.Sprintf("FeatureKind(%d)", uint8(k))
}

// AppliesTo reports whether m may be configured for features of kind k:
// auto, psi and js for both; ks and wasserstein for numeric features; chi2
// and z for categorical ones, as Evidently allows them (auto may still
// choose chi2 or z for a numeric feature with few values, as Evidently's
// does).
func (m Method) AppliesTo(k FeatureKind) bool {
	if k != KindNumeric && k != KindCategorical {
		return false
	}
	switch m {
	case MethodAuto, MethodPSI, MethodJS:
		return true
	case MethodKS, MethodWasserstein:
		return k == KindNumeric
	case MethodChi2, MethodZ:
		return k == KindCategorical
	}
	return false
}

// Methods returns the methods that apply to features of kind k, auto first.
func Methods(k FeatureKind) []Method {
	var out []Method
	for m := range Method(numMethods) {
		if m.AppliesTo(k) {
			out = append(out, m)
		}
	}
	return out
}

// HasPValue reports whether the method is a hypothesis test whose decision
// is taken on a p-value (ks, chi2 and z) rather than on a distance
// threshold.
func (m Method) HasPValue() bool { return m == MethodKS || m == MethodChi2 || m == MethodZ }

// MethodError reports a method name that is unknown, or a method that does
// not apply to a kind of feature. It wraps ErrMethod.
type MethodError struct {
	Name string      // as written
	Kind FeatureKind // the kind it was meant for; 0 when any
}

// Reason is the error without the package prefix, for messages that say
// where the name was written: `unknown numeric test "x" (want auto, ks,
// psi, wasserstein or js)` or `chi2 does not apply to numeric features
// (want …)`.
func (e *MethodError) Reason() string {
	var want []Method
	if e.Kind == 0 {
		for m := range Method(numMethods) {
			want = append(want, m)
		}
	} else {
		want = Methods(e.Kind)
	}
	names := make([]string, len(want))
	for i, m := range want {
		names[i] = m.String()
	}
	list := strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	m, err := ParseMethod(e.Name)
	switch {
	case err == nil:
		return fmt.Sprintf("%s does not apply to %s features (want %s)", m, e.Kind, list)
	case e.Kind == 0:
		return fmt.Sprintf("unknown method %q (want %s)", e.Name, list)
	}
	return fmt.Sprintf("unknown %s test %q (want %s)", e.Kind, e.Name, list)
}

func (e *MethodError) Error() string { return "sketch: drift method: " + e.Reason() }

// Unwrap returns ErrMethod.
func (e *MethodError) Unwrap() error { return ErrMethod }

// ParseMethod parses the String form of a Method (case-sensitive, like the
// metric label values). An unknown name is a *MethodError.
func ParseMethod(s string) (Method, error) {
	for m, name := range methodNames {
		if s == name {
			return Method(m), nil
		}
	}
	return 0, &MethodError{Name: s}
}

// ParseMethodFor parses the name of a method for features of kind k: a
// *MethodError unless the name is known and the method applies to k.
func ParseMethodFor(s string, k FeatureKind) (Method, error) {
	m, err := ParseMethod(s)
	if err != nil || !m.AppliesTo(k) {
		return 0, &MethodError{Name: s, Kind: k}
	}
	return m, nil
}

// MarshalText implements encoding.TextMarshaler.
func (m Method) MarshalText() ([]byte, error) {
	if m >= numMethods {
		return nil, &MethodError{Name: m.String()}
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Method) UnmarshalText(b []byte) error {
	v, err := ParseMethod(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Evidently's auto rules (evidently.legacy.calculations.stattests.registry
// _get_default_stattest, Evidently 0.7).
const (
	// AutoReferenceSize: with at most this many reference values, auto uses
	// the hypothesis tests (ks, chi2, z); above it, the distances
	// (wasserstein, js).
	AutoReferenceSize = 1000
	// AutoMaxValues: a numeric feature with at most this many distinct values
	// (over reference and current) is tested as categorical by auto.
	AutoMaxValues = 5
	// AutoZMaxValues: with a small reference, auto tests a feature with at
	// most this many distinct values (over reference and current) with the
	// Z-test, one with more with chi2.
	AutoZMaxValues = 2
)

// DriftParams are the drift decision parameters of one model (and, with
// the model's DatasetShare, of one feature). The configuration's drift
// block decodes into them, key by key: numeric_test, categorical_test,
// p_value, psi_threshold, distance_threshold, dataset_share, threshold, k
// and multivariate (Param). The
// drift functions take zero fields as the defaults of DefaultDriftParams.
type DriftParams struct {
	Numeric     Method // test for numeric features; MethodAuto by default
	Categorical Method // test for categorical features; MethodAuto by default

	// PValue in (0, 1), default 0.05: ks says drift when p ≤ PValue, chi2
	// and z when p < PValue (as Evidently's tests do).
	PValue float64
	// PSIThreshold > 0, default 0.2 (the usual "significant shift" level;
	// Evidently's own default is 0.1): psi says drift at or above it.
	PSIThreshold float64
	// DistanceThreshold > 0, default 0.1 (as Evidently): wasserstein and js
	// say drift at or above it.
	DistanceThreshold float64
	// DatasetShare in (0, 1], default 0.5 (Evidently's drift_share): the
	// dataset drifts when at least this share of its features drift.
	DatasetShare float64

	// Threshold says how the verdict is taken: ThresholdFixed (the
	// default) on the p-value or the fixed distance thresholds above,
	// ThresholdLearned on a band learned from the reference's own
	// windows (see Band).
	Threshold Threshold
	// K > 0, default 3: a learned band is the mean ± K standard deviations
	// of the statistic over the reference's windows (NannyML's default
	// multiplier). The model's K also sizes its multivariate drift band.
	K float64
	// Multivariate (model-level) turns on multivariate drift: the mean PCA
	// reconstruction error of each window against a band learned from the
	// reference's windows. It needs a reference file.
	Multivariate bool
}

// Threshold is how a drift verdict is taken. Its String is the value of
// the drift block's threshold key.
type Threshold uint8

const (
	// ThresholdFixed decides on the p-value (ks, chi2, z) or on the fixed
	// psi_threshold and distance_threshold.
	ThresholdFixed Threshold = iota
	// ThresholdLearned decides on the band mean ± k·SD of the statistic
	// over the reference's own windows, cut at the configured window
	// length: a window outside it has drifted.
	ThresholdLearned

	numThresholds = iota
)

var thresholdNames = [numThresholds]string{"fixed", "learned"}

// String returns "fixed" or "learned".
func (t Threshold) String() string {
	if t < numThresholds {
		return thresholdNames[t]
	}
	return fmt.Sprintf("Threshold(%d)", uint8(t))
}

// ParseThreshold parses "fixed" or "learned".
func ParseThreshold(s string) (Threshold, error) {
	for t, name := range thresholdNames {
		if s == name {
			return Threshold(t), nil
		}
	}
	return 0, fmt.Errorf("unknown threshold %q (want fixed or learned)", s)
}

// DefaultK is the default learned-band multiplier (NannyML's).
const DefaultK = 3

// MinLearnedWindows is the fewest reference windows a learned band is
// computed from: fewer give no usable standard deviation.
const MinLearnedWindows = 5

// MultivariateVariance is the share of the reference's variance the
// multivariate drift PCA keeps (NannyML's default n_components, 0.65): the
// fewest components whose explained variance exceeds it.
const MultivariateVariance = 0.65

// Band is a learned threshold: the statistic's mean and sample standard
// deviation over N reference windows.
type Band struct {
	Mean, SD float64
	N        int
}

// BandOf returns the band of values (NaN values skipped).
func BandOf(values []float64) Band {
	var b Band
	var sum float64
	for _, v := range values {
		if v == v {
			sum += v
			b.N++
		}
	}
	if b.N == 0 {
		return Band{Mean: math.NaN(), SD: math.NaN()}
	}
	b.Mean = sum / float64(b.N)
	if b.N < 2 {
		b.SD = math.NaN()
		return b
	}
	var ss float64
	for _, v := range values {
		if v == v {
			ss += (v - b.Mean) * (v - b.Mean)
		}
	}
	b.SD = math.Sqrt(ss / float64(b.N-1))
	return b
}

// Bounds returns mean − k·SD and mean + k·SD, the lower bound no less than
// floor (0 for the statistics here, which are never negative, as NannyML
// limits its thresholds); ok is false without a standard deviation.
func (b Band) Bounds(k, floor float64) (lower, upper float64, ok bool) {
	if !(b.SD == b.SD) || b.N < 2 {
		return math.NaN(), math.NaN(), false
	}
	return max(floor, b.Mean-k*b.SD), b.Mean + k*b.SD, true
}

// Outside reports whether v lies outside [lower, upper].
func Outside(v, lower, upper float64) bool { return v < lower || v > upper }

// DefaultDriftParams returns auto tests, p-value 0.05, PSI threshold 0.2,
// distance threshold 0.1, dataset share 0.5, fixed thresholds, k 3 and no
// multivariate drift.
func DefaultDriftParams() DriftParams {
	return DriftParams{PValue: 0.05, PSIThreshold: 0.2, DistanceThreshold: 0.1, DatasetShare: 0.5, K: DefaultK}
}

// MethodFor returns the method configured for features of kind k.
func (p DriftParams) MethodFor(k FeatureKind) Method {
	if k == KindCategorical {
		return p.Categorical
	}
	return p.Numeric
}

func (p DriftParams) withDefaults() DriftParams {
	d := DefaultDriftParams()
	if p.PValue == 0 {
		p.PValue = d.PValue
	}
	if p.PSIThreshold == 0 {
		p.PSIThreshold = d.PSIThreshold
	}
	if p.DistanceThreshold == 0 {
		p.DistanceThreshold = d.DistanceThreshold
	}
	if p.DatasetShare == 0 {
		p.DatasetShare = d.DatasetShare
	}
	if p.K == 0 {
		p.K = d.K
	}
	return p
}

// Param is one drift parameter. Its String is its name as the
// configuration's drift block writes it.
type Param uint8

// The drift parameters, in the order of DriftParams.
const (
	ParamNumeric Param = iota
	ParamCategorical
	ParamPValue
	ParamPSIThreshold
	ParamDistanceThreshold
	ParamDatasetShare
	ParamThreshold
	ParamK
	ParamMultivariate
)

var paramNames = [...]string{"numeric_test", "categorical_test", "p_value", "psi_threshold", "distance_threshold", "dataset_share",
	"threshold", "k", "multivariate"}

// String returns the parameter's configuration key, such as "p_value".
func (p Param) String() string {
	if int(p) < len(paramNames) {
		return paramNames[p]
	}
	return fmt.Sprintf("Param(%d)", uint8(p))
}

// ParamError reports a drift parameter out of its bounds. It wraps
// ErrParams (and ErrMethod for a method that is unknown or does not apply).
type ParamError struct {
	Param  Param
	Reason string // such as "must be in (0, 1), got 1"
	method *MethodError
}

func (e *ParamError) Error() string {
	return "sketch: invalid drift parameters: " + e.Param.String() + ": " + e.Reason
}

// Unwrap returns ErrParams, and the *MethodError of a method parameter.
func (e *ParamError) Unwrap() []error {
	if e.method != nil {
		return []error{ErrParams, e.method}
	}
	return []error{ErrParams}
}

// Check reports every parameter of p out of its bounds, as written (zero is
// out of bounds for the numbers here): the numeric and categorical methods
// known and applicable to their kind, PValue in (0, 1), PSIThreshold and
// DistanceThreshold positive and finite, DatasetShare in (0, 1], Threshold
// known, K positive and finite.
func (p DriftParams) Check() []*ParamError {
	var errs []*ParamError
	for _, m := range []struct {
		param Param
		m     Method
		kind  FeatureKind
	}{{ParamNumeric, p.Numeric, KindNumeric}, {ParamCategorical, p.Categorical, KindCategorical}} {
		if !m.m.AppliesTo(m.kind) {
			me := &MethodError{Name: m.m.String(), Kind: m.kind}
			errs = append(errs, &ParamError{Param: m.param, Reason: me.Reason(), method: me})
		}
	}
	check := func(param Param, v float64, ok bool, bounds string) {
		if !ok {
			errs = append(errs, &ParamError{Param: param, Reason: fmt.Sprintf("must be %s, got %v", bounds, v)})
		}
	}
	check(ParamPValue, p.PValue, p.PValue > 0 && p.PValue < 1, "in (0, 1)")
	check(ParamPSIThreshold, p.PSIThreshold, p.PSIThreshold > 0 && !math.IsInf(p.PSIThreshold, 0), "> 0")
	check(ParamDistanceThreshold, p.DistanceThreshold, p.DistanceThreshold > 0 && !math.IsInf(p.DistanceThreshold, 0), "> 0")
	check(ParamDatasetShare, p.DatasetShare, p.DatasetShare > 0 && p.DatasetShare <= 1, "in (0, 1]")
	if p.Threshold >= numThresholds {
		errs = append(errs, &ParamError{Param: ParamThreshold, Reason: fmt.Sprintf("unknown threshold %v (want fixed or learned)", p.Threshold)})
	}
	check(ParamK, p.K, p.K > 0 && !math.IsInf(p.K, 0), "> 0")
	return errs
}

// Validate checks the parameters after defaults (see Check): nil, or the
// *ParamError of each parameter out of bounds, joined.
func (p DriftParams) Validate() error {
	errs := p.withDefaults().Check()
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}
