package windows

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/reckonhq/reckon/event"
)

// Multivariate drift (docs/drift.md) follows NannyML's
// DataReconstructionDriftCalculator: the reference's rows are imputed
// (numeric features with their mean, categorical ones with their most
// frequent value), categorical features are frequency-encoded (each
// category becomes its share of the reference's rows, category_encoders'
// CountEncoder with normalize=True; a category the reference never saw
// becomes 0), every column is standardised (population standard deviation,
// 1 for a constant column), and a PCA keeps the fewest components whose
// explained variance exceeds sketch.MultivariateVariance. An event's
// reconstruction error is the Euclidean distance between its standardised
// row and that row projected on the components and back; a window's
// statistic is the mean error of its events.

// PCA is a model's fitted multivariate drift model. It is immutable once
// fitted and shared by every partition.
type PCA struct {
	// Per declared feature, in the model's order: the encoded value a
	// missing (or NaN, ±Inf) value takes, the column's mean and scale
	// after encoding, and for a categorical feature its categories' shares
	// (nil for a numeric one).
	Impute, Center, Scale []float64
	Freq                  []map[string]float64
	// Components are the kept principal axes, each of unit length over
	// the features, largest variance first; Explained is the share of
	// the variance they explain.
	Components [][]float64
	Explained  float64
}

// Features is the number of features the model encodes.
func (p *PCA) Features() int { return len(p.Center) }

// Rows are reference rows for fitting a PCA: per declared feature a
// column, numeric (Num[i], NaN when missing or not finite) or categorical
// (Cat[i], an index into Names[i], -1 when missing). Times are the rows'
// event times, for cutting them into windows.
type Rows struct {
	Num   [][]float64
	Cat   [][]int32
	Names [][]string
	Times []int64
}

// Len is the number of rows.
func (r *Rows) Len() int { return len(r.Times) }

// FitPCA fits the multivariate drift model on rows, keeping the fewest
// components whose explained variance exceeds share (NannyML's
// n_components as a fraction).
func FitPCA(rows *Rows, share float64) (*PCA, error) {
	n, d := rows.Len(), len(rows.Num)
	if n < 2 {
		return nil, fmt.Errorf("multivariate drift: %d reference rows, need at least 2", n)
	}
	if d < 2 {
		return nil, errors.New("multivariate drift: needs at least 2 features")
	}
	p := &PCA{Impute: make([]float64, d), Center: make([]float64, d), Scale: make([]float64, d), Freq: make([]map[string]float64, d)}
	cols := make([][]float64, d)
	for i := range d {
		col := make([]float64, n)
		if rows.Cat[i] == nil {
			sum, cnt := 0.0, 0
			for _, x := range rows.Num[i] {
				if finiteValue(x) {
					sum += x
					cnt++
				}
			}
			mean := 0.0
			if cnt > 0 {
				mean = sum / float64(cnt)
			}
			p.Impute[i] = mean
			for r, x := range rows.Num[i] {
				if !finiteValue(x) {
					x = mean
				}
				col[r] = x
			}
		} else {
			names := rows.Names[i]
			counts := make([]int, len(names))
			for _, c := range rows.Cat[i] {
				if c >= 0 {
					counts[c]++
				}
			}
			// The most frequent category imputes; ties go to the smallest
			// value, as scikit-learn's SimpleImputer picks.
			mode := -1
			for c := range names {
				if mode < 0 || counts[c] > counts[mode] || counts[c] == counts[mode] && names[c] < names[mode] {
					mode = c
				}
			}
			missing := 0
			for _, c := range rows.Cat[i] {
				if c < 0 {
					missing++
				}
			}
			freq := make(map[string]float64, len(names))
			for c, name := range names {
				k := counts[c]
				if c == mode {
					k += missing // the encoder is fitted on imputed rows
				}
				freq[name] = float64(k) / float64(n)
			}
			p.Freq[i] = freq
			if mode >= 0 {
				p.Impute[i] = freq[names[mode]]
			}
			for r, c := range rows.Cat[i] {
				if c < 0 {
					col[r] = p.Impute[i]
				} else {
					col[r] = freq[names[c]]
				}
			}
		}
		mean := 0.0
		for _, x := range col {
			mean += x
		}
		mean /= float64(n)
		ss := 0.0
		for _, x := range col {
			ss += (x - mean) * (x - mean)
		}
		sd := math.Sqrt(ss / float64(n))
		if sd == 0 || !finiteValue(sd) {
			sd = 1 // scikit-learn's StandardScaler leaves a constant column unscaled
		}
		p.Center[i], p.Scale[i] = mean, sd
		for r := range col {
			col[r] = (col[r] - mean) / sd
		}
		cols[i] = col
	}
	cov := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			s := 0.0
			for r := range n {
				s += cols[i][r] * cols[j][r]
			}
			cov.SetSym(i, j, s/float64(n-1))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return nil, errors.New("multivariate drift: the reference's covariance has no eigendecomposition")
	}
	values := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	order := make([]int, d)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return values[order[a]] > values[order[b]] })
	total := 0.0
	for _, v := range values {
		total += max(v, 0)
	}
	if total == 0 {
		return nil, errors.New("multivariate drift: every feature is constant in the reference")
	}
	// scikit-learn: the fewest components whose cumulative explained
	// variance ratio exceeds share.
	cum := 0.0
	for _, idx := range order {
		comp := make([]float64, d)
		for i := range d {
			comp[i] = vecs.At(i, idx)
		}
		p.Components = append(p.Components, comp)
		cum += max(values[idx], 0) / total
		if cum > share {
			break
		}
	}
	p.Explained = cum
	return p, nil
}

func finiteValue(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// residual returns the reconstruction error of the standardised row z.
func (p *PCA) residual(z []float64) float64 {
	ss := 0.0
	for _, x := range z {
		ss += x * x
	}
	for _, c := range p.Components {
		y := 0.0
		for i, x := range z {
			y += c[i] * x
		}
		ss -= y * y
	}
	// The components are orthonormal: |z − PPᵀz|² = |z|² − |Pᵀz|².
	return math.Sqrt(max(ss, 0))
}

// Error returns the reconstruction error of an ok prediction. z is
// scratch of at least Features() values; nothing is allocated.
func (p *PCA) Error(e *event.Prediction, z []float64) float64 {
	z = z[:len(p.Center)]
	for i := range z {
		var x float64
		switch {
		case e.Missing[i]:
			x = p.Impute[i]
		case p.Freq[i] != nil:
			x = p.Freq[i][string(e.Cat[i])] // 0 for a category the reference never saw
		default:
			x = e.Num[i]
			if !finiteValue(x) {
				x = p.Impute[i]
			}
		}
		z[i] = (x - p.Center[i]) / p.Scale[i]
	}
	return p.residual(z)
}

// RowError is the reconstruction error of row r of rows (the rows the
// PCA was fitted on, or others with the same columns).
func (p *PCA) RowError(rows *Rows, r int, z []float64) float64 {
	z = z[:len(p.Center)]
	for i := range z {
		var x float64
		if rows.Cat[i] != nil {
			c := rows.Cat[i][r]
			if c < 0 {
				x = p.Impute[i]
			} else {
				x = p.Freq[i][rows.Names[i][c]]
			}
		} else {
			x = rows.Num[i][r]
			if !finiteValue(x) {
				x = p.Impute[i]
			}
		}
		z[i] = (x - p.Center[i]) / p.Scale[i]
	}
	return p.residual(z)
}

// MultivariateSum is a pane's or window's reconstruction errors: their sum
// and count, so that panes merge exactly (up to the order of float
// additions, which ComparePanes fixes).
type MultivariateSum struct {
	Sum   float64
	Count uint64
}

// Mean is the mean reconstruction error; ok is false without events.
func (m MultivariateSum) Mean() (float64, bool) {
	if m.Count == 0 {
		return math.NaN(), false
	}
	return m.Sum / float64(m.Count), true
}

// AddMultivariate adds the reconstruction error of e, an ok prediction of
// p's model, under pca. It allocates nothing once p has its scratch.
func (p *Partial) AddMultivariate(pca *PCA, e *event.Prediction) {
	if e.Error {
		return
	}
	if cap(p.mvScratch) < pca.Features() {
		p.mvScratch = make([]float64, pca.Features())
	}
	p.MV.Sum += pca.Error(e, p.mvScratch)
	p.MV.Count++
}

// Validate checks that the PCA fits a model of d features whose
// categorical ones are marked in categorical.
func (p *PCA) Validate(categorical []bool) error {
	d := len(categorical)
	if len(p.Center) != d || len(p.Scale) != d || len(p.Impute) != d || len(p.Freq) != d {
		return fmt.Errorf("multivariate model of %d features, the model declares %d", len(p.Center), d)
	}
	for i, c := range categorical {
		if c != (p.Freq[i] != nil) {
			return fmt.Errorf("multivariate model: feature %d has another type", i)
		}
		if !(p.Scale[i] > 0) {
			return fmt.Errorf("multivariate model: feature %d has scale %v", i, p.Scale[i])
		}
	}
	if len(p.Components) == 0 || slices.ContainsFunc(p.Components, func(c []float64) bool { return len(c) != d }) {
		return errors.New("multivariate model: components do not match the features")
	}
	return nil
}
