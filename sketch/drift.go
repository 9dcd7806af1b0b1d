package sketch

import (
	"fmt"
	"math"
)

// Method names a drift statistic. Its String form is the value of the
// `method` / `test` label of reckon_feature_drift{…} and
// reckon_feature_drift_pvalue{…} (DESIGN.md §3) and of the configuration's
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
	// numeric features with few values; p-value).
	MethodChi2
)

// String returns "auto", "ks", "psi", "wasserstein", "js" or "chi2".
func (m Method) String() string {
	switch m {
	case MethodAuto:
		return "auto"
	case MethodKS:
		return "ks"
	case MethodPSI:
		return "psi"
	case MethodWasserstein:
		return "wasserstein"
	case MethodJS:
		return "js"
	case MethodChi2:
		return "chi2"
	}
	return fmt.Sprintf("Method(%d)", uint8(m))
}

// ParseMethod parses the String form of a Method (case-sensitive, like the
// metric label values).
func ParseMethod(s string) (Method, error) {
	for m := MethodAuto; m <= MethodChi2; m++ {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown method %q (want auto, ks, psi, wasserstein, js or chi2)", ErrMethod, s)
}

// MarshalText implements encoding.TextMarshaler.
func (m Method) MarshalText() ([]byte, error) {
	if m > MethodChi2 {
		return nil, fmt.Errorf("%w: unknown method %d", ErrMethod, uint8(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler, so a configuration
// decoder can fill a Method directly.
func (m *Method) UnmarshalText(b []byte) error {
	v, err := ParseMethod(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// HasPValue reports whether the method is a hypothesis test whose decision
// is taken on a p-value (ks and chi2) rather than on a distance threshold.
func (m Method) HasPValue() bool { return m == MethodKS || m == MethodChi2 }

// Evidently's auto rules.
const (
	// AutoReferenceSize: with at most this many reference values, auto uses
	// the hypothesis tests (ks, chi2); above it, the distances (wasserstein, js).
	AutoReferenceSize = 1000
	// AutoMaxValues: a numeric feature with at most this many distinct values
	// (over reference and current) is tested as categorical by auto.
	AutoMaxValues = 5
)

// DriftParams are the drift decision parameters of one model; zero fields
// take the defaults of DefaultDriftParams.
type DriftParams struct {
	Numeric     Method // test for numeric features; MethodAuto by default
	Categorical Method // test for categorical features; MethodAuto by default

	// PValue: ks and chi2 drift when p < PValue (default 0.05; Evidently
	// uses p ≤ threshold for ks and p < threshold for chi2).
	PValue float64
	// PSIThreshold: psi drifts when PSI ≥ PSIThreshold (default 0.2, the
	// usual "significant shift" level; Evidently's own default is 0.1).
	PSIThreshold float64
	// DistanceThreshold: wasserstein and js drift when the distance is ≥
	// DistanceThreshold (default 0.1, as Evidently).
	DistanceThreshold float64
	// DatasetShare: the dataset drifts when the share of drifted features
	// is ≥ DatasetShare (default 0.5, as Evidently's drift_share).
	DatasetShare float64
}

// DefaultDriftParams returns auto tests, p-value 0.05, PSI threshold 0.2,
// distance threshold 0.1 and dataset share 0.5.
func DefaultDriftParams() DriftParams {
	return DriftParams{PValue: 0.05, PSIThreshold: 0.2, DistanceThreshold: 0.1, DatasetShare: 0.5}
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
	return p
}

// Validate checks the parameters after defaults: known methods, ks and
// wasserstein only for numeric features, p-value and dataset share in (0, 1],
// thresholds positive and finite. Errors wrap ErrParams.
func (p DriftParams) Validate() error {
	p = p.withDefaults()
	switch {
	case p.Numeric > MethodChi2:
		return fmt.Errorf("%w: numeric method %v", ErrParams, p.Numeric)
	case p.Categorical > MethodChi2:
		return fmt.Errorf("%w: categorical method %v", ErrParams, p.Categorical)
	case p.Categorical == MethodKS || p.Categorical == MethodWasserstein:
		return fmt.Errorf("%w: %v applies to numeric features only", ErrParams, p.Categorical)
	case !(p.PValue > 0 && p.PValue <= 1):
		return fmt.Errorf("%w: p_value %v not in (0, 1]", ErrParams, p.PValue)
	case !(p.PSIThreshold > 0) || math.IsInf(p.PSIThreshold, 0):
		return fmt.Errorf("%w: psi_threshold %v not positive", ErrParams, p.PSIThreshold)
	case !(p.DistanceThreshold > 0) || math.IsInf(p.DistanceThreshold, 0):
		return fmt.Errorf("%w: distance threshold %v not positive", ErrParams, p.DistanceThreshold)
	case !(p.DatasetShare > 0 && p.DatasetShare <= 1):
		return fmt.Errorf("%w: dataset share %v not in (0, 1]", ErrParams, p.DatasetShare)
	}
	return nil
}

// Drift is the outcome of one feature's drift test.
type Drift struct {
	Method  Method  // the method used (never MethodAuto)
	Stat    float64 // D, PSI, normalised Wasserstein, JS distance or χ²
	PValue  float64 // for ks and chi2; NaN otherwise
	Drifted bool
}

// NumericDrift tests a numeric feature (or the score) for drift with
// p.Numeric. MethodAuto follows Evidently's defaults:
//
//	≤ 1000 reference values:  chi2 if the feature has ≤ 5 distinct values, else ks
//	> 1000 reference values:  js   if the feature has ≤ 5 distinct values, else wasserstein
//
// where the distinct values are counted over reference and current together
// (known when both sketches are in exact mode; a sketch past 128 distinct
// values has more than 5). Evidently uses a two-sample z-test of proportions
// instead of chi2 for two values; chi2 with one degree of freedom is used for
// both here.
//
// On few-valued features, chi2 and js compare the value counts themselves;
// otherwise an explicit chi2 or js (and psi) use the histogram bins (see
// PSI). Reference values are counted without missing, NaN and ±Inf.
func NumericDrift(ref, cur *Numeric, p DriftParams) (Drift, error) {
	p = p.withDefaults()
	if err := p.Validate(); err != nil {
		return Drift{}, err
	}
	if ref.Count() == 0 || cur.Count() == 0 {
		return Drift{}, ErrEmpty
	}
	few := false
	if ref.Exact() && cur.Exact() {
		r, _ := atomCounts(ref, cur)
		few = len(r) <= AutoMaxValues
	}
	method := p.Numeric
	if method == MethodAuto {
		switch small := ref.Count() <= AutoReferenceSize; {
		case small && few:
			method = MethodChi2
		case small:
			method = MethodKS
		case few:
			method = MethodJS
		default:
			method = MethodWasserstein
		}
	}
	d := Drift{Method: method, PValue: math.NaN()}
	var err error
	switch method {
	case MethodKS:
		d.Stat, d.PValue, err = KS(ref, cur)
	case MethodWasserstein:
		d.Stat, err = Wasserstein(ref, cur)
	case MethodPSI:
		d.Stat, err = PSI(ref, cur)
	case MethodJS:
		if few || (ref.Exact() && cur.Exact() && ref.edges == nil && cur.edges == nil) {
			d.Stat = jsDistance(atomCounts(ref, cur))
		} else {
			d.Stat, err = JS(ref, cur)
		}
	case MethodChi2:
		if few || (ref.Exact() && cur.Exact() && ref.edges == nil && cur.edges == nil) {
			d.Stat, d.PValue = chiSquare(atomCounts(ref, cur))
		} else {
			var r, c []float64
			if r, c, err = binMasses(ref, cur); err == nil {
				d.Stat, d.PValue = chiSquare(r, c)
			}
		}
	default:
		return Drift{}, fmt.Errorf("%w: %v", ErrMethod, method)
	}
	if err != nil {
		return Drift{}, err
	}
	d.Drifted = p.drifted(d)
	return d, nil
}

// CategoricalDrift tests a categorical feature for drift with
// p.Categorical. MethodAuto follows Evidently's defaults: chi2 with at most
// 1000 reference values (Evidently: z-test for two categories, see
// NumericDrift), js above. ks and wasserstein do not apply (ErrMethod).
func CategoricalDrift(ref, cur *Categorical, p DriftParams) (Drift, error) {
	p = p.withDefaults()
	if err := p.Validate(); err != nil {
		return Drift{}, err
	}
	if ref.NonMissing() == 0 || cur.NonMissing() == 0 {
		return Drift{}, ErrEmpty
	}
	method := p.Categorical
	if method == MethodAuto {
		method = MethodJS
		if ref.NonMissing() <= AutoReferenceSize {
			method = MethodChi2
		}
	}
	d := Drift{Method: method, PValue: math.NaN()}
	var err error
	switch method {
	case MethodChi2:
		d.Stat, d.PValue, err = ChiSquare(ref, cur)
	case MethodPSI:
		d.Stat, err = CategoricalPSI(ref, cur)
	case MethodJS:
		d.Stat, err = CategoricalJS(ref, cur)
	default:
		return Drift{}, fmt.Errorf("%w: %v does not apply to categorical features", ErrMethod, method)
	}
	if err != nil {
		return Drift{}, err
	}
	d.Drifted = p.drifted(d)
	return d, nil
}

func (p DriftParams) drifted(d Drift) bool {
	switch d.Method {
	case MethodKS, MethodChi2:
		return d.PValue < p.PValue
	case MethodPSI:
		return d.Stat >= p.PSIThreshold
	default:
		return d.Stat >= p.DistanceThreshold
	}
}

// DatasetDrift returns the share of drifted features and whether it reaches
// share (Evidently's dataset drift: share_of_drifted_columns ≥ drift_share;
// share ≤ 0 means 0.5). With no feature the share is 0 and there is no drift.
func DatasetDrift(drifted, total int, share float64) (ratio float64, drift bool) {
	if share <= 0 {
		share = DefaultDriftParams().DatasetShare
	}
	if total <= 0 {
		return 0, false
	}
	ratio = float64(drifted) / float64(total)
	return ratio, ratio >= share
}
