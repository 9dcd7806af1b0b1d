package sketch

import "math"

// Drift is the outcome of one feature's drift test.
type Drift struct {
	Method  Method  // the method used (never MethodAuto)
	Stat    float64 // D, PSI, normalised Wasserstein, JS distance, χ² or z
	PValue  float64 // for ks, chi2 and z; NaN otherwise
	Drifted bool
}

// NumericDrift tests a numeric feature (or the score) for drift with
// p.Numeric. MethodAuto chooses as Evidently's default (registry
// _get_default_stattest): with k the number of distinct values over
// reference and current together,
//
//	≤ 1000 reference values:  z if k ≤ 2, chi2 if 3 ≤ k ≤ 5, else ks
//	> 1000 reference values:  js if k ≤ 5, else wasserstein
//
// (k is known while both sketches are exact; a sketch past 10,000 distinct
// values has more than 5). Reference values are counted without missing,
// NaN and ±Inf, as Evidently drops them first.
//
// chi2, z and js on a feature with at most 5 values compare the value counts
// themselves, as Evidently does; an explicit js (and psi) otherwise use the
// histogram bins (see PSI). An explicit chi2 or z does not apply to numeric
// features (ErrMethod), as in Evidently.
//
// edges are the bins of psi and js (the reference's QuantileEdges); nil
// means the sketches' own histogram (see PSI).
func NumericDrift(ref, cur *Numeric, edges []float64, p DriftParams) (Drift, error) {
	p = p.withDefaults()
	if err := p.Validate(); err != nil {
		return Drift{}, err
	}
	if ref.Count() == 0 || cur.Count() == 0 {
		return Drift{}, ErrEmpty
	}
	var r, c []float64 // value counts while both are exact
	if ref.Exact() && cur.Exact() {
		r, c = atomCounts(ref, cur)
	}
	few := r != nil && len(r) <= AutoMaxValues // atomCounts has no empty values
	method := p.Numeric
	if method == MethodAuto {
		switch small := ref.Count() <= AutoReferenceSize; {
		case small && few && len(r) <= AutoZMaxValues:
			method = MethodZ
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
		var rb, cb []float64
		if rb, cb, err = binned(ref, cur, edges); err == nil {
			d.Stat = psi(rb, cb)
		}
	case MethodJS:
		if few {
			d.Stat = jsDistance(r, c)
			break
		}
		var rb, cb []float64
		if rb, cb, err = binned(ref, cur, edges); err == nil {
			d.Stat = jsDistance(rb, cb)
		}
	case MethodChi2: // auto only: 3 to 5 values
		d.Stat, d.PValue = chiSquare(r, c)
	case MethodZ: // auto only: at most 2 values
		d.Stat, d.PValue = zTest(r, c)
	default:
		return Drift{}, &MethodError{Name: method.String(), Kind: KindNumeric}
	}
	if err != nil {
		return Drift{}, err
	}
	d.Drifted = p.drifted(d)
	return d, nil
}

// binned returns the bin masses of PSIOn on edges, or of PSI with nil edges.
func binned(ref, cur *Numeric, edges []float64) (r, c []float64, err error) {
	if edges != nil {
		return massesOn(ref, cur, edges)
	}
	return binMasses(ref, cur)
}

// CategoricalDrift tests a categorical feature for drift with
// p.Categorical. MethodAuto chooses as Evidently's default: with at most
// 1000 reference values, z when reference and current hold at most two
// values together, chi2 otherwise; js with more reference values. ks and
// wasserstein do not apply (ErrMethod).
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
			if r, c, _ := categoryCounts(ref, cur); len(nonEmpty(r, c)) <= AutoZMaxValues {
				method = MethodZ
			}
		}
	}
	d := Drift{Method: method, PValue: math.NaN()}
	var err error
	switch method {
	case MethodChi2:
		d.Stat, d.PValue, err = ChiSquare(ref, cur)
	case MethodZ:
		d.Stat, d.PValue, err = ZTest(ref, cur)
	case MethodPSI:
		d.Stat, err = CategoricalPSI(ref, cur)
	case MethodJS:
		d.Stat, err = CategoricalJS(ref, cur)
	default:
		return Drift{}, &MethodError{Name: method.String(), Kind: KindCategorical}
	}
	if err != nil {
		return Drift{}, err
	}
	d.Drifted = p.drifted(d)
	return d, nil
}

// drifted is the decision of d under p: as Evidently, ks drifts when
// p ≤ PValue, chi2 and z when p < PValue, psi when PSI ≥ PSIThreshold,
// wasserstein and js when the distance is ≥ DistanceThreshold.
func (p DriftParams) drifted(d Drift) bool {
	switch d.Method {
	case MethodKS:
		return d.PValue <= p.PValue
	case MethodChi2, MethodZ:
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
