package reference

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/sketch"
	"github.com/reckonhq/reckon/windows"
)

// A profile built for learned thresholds or multivariate drift also holds
// the reference's own windows compared with it ("windows") and the
// multivariate drift model ("multivariate"); see the package
// documentation.

type fileWindows struct {
	LengthMs     int64                            `json:"length_ms"`
	Starts       []int64                          `json:"starts"`
	Features     map[string]map[string][]*float64 `json:"features"`
	Score        map[string][]*float64            `json:"score"`
	Multivariate []*float64                       `json:"multivariate,omitempty"`
}

type filePCA struct {
	Explained  float64          `json:"explained"`
	Features   []filePCAFeature `json:"features"`
	Components [][]float64      `json:"components"`
}

type filePCAFeature struct {
	Name        string             `json:"name"`
	Impute      float64            `json:"impute"`
	Center      float64            `json:"center"`
	Scale       float64            `json:"scale"`
	Frequencies map[string]float64 `json:"frequencies,omitempty"`
}

func nullable(xs []float64) []*float64 {
	out := make([]*float64, len(xs))
	for i, x := range xs {
		out[i] = finite(x)
	}
	return out
}

func fromNullable(xs []*float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.NaN()
		if x != nil {
			out[i] = *x
		}
	}
	return out
}

func methodValues(m map[sketch.Method][]float64) map[string][]*float64 {
	out := make(map[string][]*float64, len(m))
	for method, vs := range m {
		out[method.String()] = nullable(vs)
	}
	return out
}

func readMethodValues(m map[string][]*float64, n int) (map[sketch.Method][]float64, error) {
	out := make(map[sketch.Method][]float64, len(m))
	for name, vs := range m {
		method, err := sketch.ParseMethod(name)
		if err != nil {
			return nil, err
		}
		if len(vs) != n {
			return nil, fmt.Errorf("%s: %d values for %d windows", name, len(vs), n)
		}
		out[method] = fromNullable(vs)
	}
	return out, nil
}

func saveLearned(p *Profile) []fileWindows {
	var out []fileWindows
	for _, length := range slices.Sorted(maps.Keys(p.Learned)) {
		l := p.Learned[length]
		fw := fileWindows{LengthMs: l.Length, Starts: l.Starts, Features: map[string]map[string][]*float64{}, Score: methodValues(l.Score)}
		for i, f := range p.Features {
			fw.Features[f.Name] = methodValues(l.Features[i])
		}
		if l.Multivariate != nil {
			fw.Multivariate = nullable(l.Multivariate)
		}
		out = append(out, fw)
	}
	return out
}

func savePCA(p *Profile) *filePCA {
	pca := p.PCA
	if pca == nil {
		return nil
	}
	f := &filePCA{Explained: pca.Explained, Components: pca.Components}
	for i, fi := range p.Features {
		f.Features = append(f.Features, filePCAFeature{Name: fi.Name, Impute: pca.Impute[i], Center: pca.Center[i], Scale: pca.Scale[i], Frequencies: pca.Freq[i]})
	}
	return f
}

// readLearned reads the windows of a profile for m's features, by name.
func readLearned(fws []fileWindows, m *config.Model) (map[int64]*windows.Learned, error) {
	if len(fws) == 0 {
		return nil, nil
	}
	out := make(map[int64]*windows.Learned, len(fws))
	for _, fw := range fws {
		n := len(fw.Starts)
		l := &windows.Learned{Length: fw.LengthMs, Starts: fw.Starts}
		var err error
		if l.Score, err = readMethodValues(fw.Score, n); err != nil {
			return nil, &CorruptError{Reason: "windows: score", Err: err}
		}
		for _, decl := range m.Features {
			vs, ok := fw.Features[decl.Name]
			if !ok {
				return nil, &FeatureError{Feature: decl.Name, Reason: "missing from the profile's windows"}
			}
			mv, err := readMethodValues(vs, n)
			if err != nil {
				return nil, &FeatureError{Feature: decl.Name, Reason: "windows do not decode", Err: err}
			}
			l.Features = append(l.Features, mv)
		}
		if fw.Multivariate != nil {
			if len(fw.Multivariate) != n {
				return nil, &CorruptError{Reason: fmt.Sprintf("windows: %d multivariate values for %d windows", len(fw.Multivariate), n)}
			}
			l.Multivariate = fromNullable(fw.Multivariate)
		}
		if !(fw.LengthMs > 0) {
			return nil, &CorruptError{Reason: fmt.Sprintf("windows: length %d ms", fw.LengthMs)}
		}
		if _, dup := out[fw.LengthMs]; dup {
			return nil, &CorruptError{Reason: fmt.Sprintf("windows of %d ms appear twice", fw.LengthMs)}
		}
		out[fw.LengthMs] = l
	}
	return out, nil
}

// readPCA reads the multivariate model for m's features: they must be the
// features it was fitted on, in any order.
func readPCA(f *filePCA, m *config.Model, layout windows.Layout, modelIndex int) (*windows.PCA, error) {
	if f == nil {
		return nil, nil
	}
	d := len(m.Features)
	if len(f.Features) != d {
		return nil, &CorruptError{Reason: fmt.Sprintf("multivariate model of %d features, the model declares %d: rebuild the profile", len(f.Features), d)}
	}
	pca := &windows.PCA{Impute: make([]float64, d), Center: make([]float64, d), Scale: make([]float64, d), Freq: make([]map[string]float64, d), Explained: f.Explained}
	// at[j] is the configuration's index of the profile's feature j.
	at := make([]int, d)
	for j, ff := range f.Features {
		i, ok := m.FeatureIndex(ff.Name)
		if !ok {
			return nil, &FeatureError{Feature: ff.Name, Reason: "in the profile's multivariate model but not declared: rebuild the profile"}
		}
		at[j] = i
		pca.Impute[i], pca.Center[i], pca.Scale[i], pca.Freq[i] = ff.Impute, ff.Center, ff.Scale, ff.Frequencies
		if m.Features[i].Type == config.FeatureCategorical && pca.Freq[i] == nil {
			pca.Freq[i] = map[string]float64{}
		}
	}
	for _, c := range f.Components {
		if len(c) != d {
			return nil, &CorruptError{Reason: "multivariate model: a component does not match the features"}
		}
		comp := make([]float64, d)
		for j, x := range c {
			comp[at[j]] = x
		}
		pca.Components = append(pca.Components, comp)
	}
	if err := pca.Validate(layout[modelIndex]); err != nil {
		return nil, &CorruptError{Reason: "invalid multivariate model", Err: err}
	}
	return pca, nil
}
