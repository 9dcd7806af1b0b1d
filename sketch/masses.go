package sketch

// massPieces is the number of equal point masses Masses puts on each
// interval over which the digest's model spreads weight linearly.
const massPieces = 8

// Masses returns the distribution of the finite values as point masses,
// ascending by value: weights[i] values at values[i], the weights summing
// to Count. In exact mode these are the distinct values with their counts,
// so a statistic computed from them is the statistic of the values
// themselves. In digest mode they follow the CDF model that quantiles and
// drift use (see CDF): each jump of the model (a pure centroid) is a mass
// at its position, and each interval over which the model rises linearly is
// split into eight equal masses at the midpoints of eight equal
// sub-intervals. Both slices are new; nil for a sketch without finite
// values.
//
// It is what a statistic of a monotone transform of the values needs, such
// as CBPE's estimated ROC AUC of the scores (package windows/perf).
func (n *Numeric) Masses() (values, weights []float64) {
	if !n.inexact {
		vs, cs := n.atoms()
		if len(vs) == 0 {
			return nil, nil
		}
		values = append([]float64(nil), vs...)
		weights = make([]float64, len(cs))
		for i, c := range cs {
			weights[i] = float64(c)
		}
		return values, weights
	}
	m := n.model()
	if len(m.x) == 0 {
		return nil, nil
	}
	values = make([]float64, 0, len(m.x)*(massPieces+1))
	weights = make([]float64, 0, cap(values))
	prev := 0.0 // the weight up to and including the previous knot
	for i, x := range m.x {
		lo := m.lo[i]
		if i == 0 {
			lo = 0 // any weight left of the first knot sits on it
		} else {
			if rise := lo - prev; rise > 0 {
				x0 := m.x[i-1]
				for j := range massPieces {
					values = append(values, x0+(x-x0)*((float64(j)+0.5)/massPieces))
					weights = append(weights, rise/massPieces)
				}
			}
		}
		if jump := m.hi[i] - lo; jump > 0 {
			values = append(values, x)
			weights = append(weights, jump)
		}
		prev = m.hi[i]
	}
	return values, weights
}
