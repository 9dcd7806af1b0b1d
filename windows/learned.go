package windows

import (
	"math"
	"slices"

	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/sketch"
)

// Learned are a reference's own windows of one length, each compared with
// the whole reference: the values learned thresholds (threshold: learned)
// and the multivariate drift band are the mean ± k·SD of.
type Learned struct {
	Length int64   // window length, milliseconds
	Starts []int64 // each window's start, ascending
	// Features holds, per feature and method (every statistic that
	// applies, as Compare computes them), one value per window (NaN when
	// it could not be computed); Score the same for the score.
	Features []map[sketch.Method][]float64
	Score    map[sketch.Method][]float64
	// Multivariate is each window's mean reconstruction error (nil
	// without a multivariate model, NaN for a window without events).
	Multivariate []float64
}

// Learn compares each of windows (partials of ref's model, one per window
// of length, in any order) with ref, which must be complete: the values of
// ref's learned thresholds for that length. It sorts windows by start.
func Learn(ref *Reference, windows []*Partial, length int64) *Learned {
	slices.SortFunc(windows, ComparePanes)
	l := &Learned{Length: length, Features: make([]map[sketch.Method][]float64, len(ref.Features)), Score: map[sketch.Method][]float64{}}
	for i := range l.Features {
		l.Features[i] = map[sketch.Method][]float64{}
	}
	defaults := sketch.DefaultDriftParams()
	for _, w := range windows {
		l.Starts = append(l.Starts, w.Start)
		for i, f := range w.Features {
			var fd FeatureDrift
			if f.Num != nil {
				fd = numericDrift(ref.Features[i].Num, f.Num, ref.Edges[i], defaults)
			} else {
				fd = categoricalDrift(ref.Features[i].Cat, f.Cat, defaults)
			}
			for _, s := range fd.Stats {
				l.Features[i][s.Method] = append(l.Features[i][s.Method], s.Value)
			}
		}
		for _, s := range numericDrift(ref.Score, w.Score, ref.ScoreEdges, defaults).Stats {
			l.Score[s.Method] = append(l.Score[s.Method], s.Value)
		}
		if ref.PCA != nil {
			m, _ := w.MV.Mean()
			l.Multivariate = append(l.Multivariate, m)
		}
	}
	return l
}

// Windows is the number of reference windows learned from.
func (l *Learned) Windows() int { return len(l.Starts) }

// Bounds is a learned threshold: drift is a value below Lower or above
// Upper.
type Bounds struct {
	Method       sketch.Method
	Lower, Upper float64
}

// bounds returns the learned thresholds of every method in values, in
// methods' order, k standard deviations wide; methods without a band
// (fewer than two values) are left out.
func bounds(values map[sketch.Method][]float64, stats []Statistic, k float64) []Bounds {
	var out []Bounds
	for _, s := range stats {
		lo, hi, ok := sketch.BandOf(values[s.Method]).Bounds(k, 0)
		if ok {
			out = append(out, Bounds{Method: s.Method, Lower: lo, Upper: hi})
		}
	}
	return out
}

// learnedVerdict decides fd on its learned thresholds: the statistic that
// Stats (the results record's drift) reports for the method the test chose
// outside its bounds. A test whose statistic is not among them (z; chi2 or z
// chosen by auto for a numeric feature with few values) is judged on chi2
// for a categorical feature and on ks for a numeric one; Decision then
// names the statistic judged. OK is false without bounds or statistic.
func learnedVerdict(fd *FeatureDrift, categorical bool) {
	has := func(m sketch.Method) bool {
		return slices.ContainsFunc(fd.Stats, func(s Statistic) bool { return s.Method == m })
	}
	m := fd.Decision.Method
	if !has(m) {
		m = sketch.MethodKS
		if categorical {
			m = sketch.MethodChi2
		}
	}
	i := slices.IndexFunc(fd.Bounds, func(b Bounds) bool { return b.Method == m })
	j := slices.IndexFunc(fd.Stats, func(s Statistic) bool { return s.Method == m })
	if i < 0 || j < 0 || math.IsNaN(fd.Stats[j].Value) {
		fd.OK = false
		return
	}
	fd.Learned = true
	fd.Decision = sketch.Drift{Method: m, Stat: fd.Stats[j].Value, PValue: math.NaN(),
		Drifted: sketch.Outside(fd.Stats[j].Value, fd.Bounds[i].Lower, fd.Bounds[i].Upper)}
}

// Learner cuts a reference file's rows into windows of the configured
// lengths (by their event time, aligned to the Unix epoch like the
// stream's) and, for multivariate drift, keeps the rows to fit the PCA on:
// what Learned and PCA need of a file, which `reckon reference` reads
// once. Every window with at least one row counts; the first and last are
// partial unless the file starts and ends on window edges.
type Learner struct {
	lengths []int64
	windows map[int64]map[int64]*Partial
	proto   *Partial
	rows    *Rows // nil without multivariate drift
	ids     []map[string]int32
}

// NewLearner returns a learner of windows of lengths (milliseconds) for
// partials like proto (same model and kinds of sketches); multivariate
// keeps the rows for FitPCA.
func NewLearner(proto *Partial, lengths []int64, multivariate bool) *Learner {
	l := &Learner{lengths: lengths, windows: make(map[int64]map[int64]*Partial, len(lengths)), proto: proto}
	for _, length := range lengths {
		l.windows[length] = map[int64]*Partial{}
	}
	if multivariate {
		d := len(proto.Features)
		l.rows = &Rows{Num: make([][]float64, d), Cat: make([][]int32, d), Names: make([][]string, d)}
		l.ids = make([]map[string]int32, d)
		for i, f := range proto.Features {
			if f.Cat != nil {
				l.rows.Cat[i] = []int32{}
				l.ids[i] = map[string]int32{}
			}
		}
	}
	return l
}

// Add adds a prediction of the model at its event time, as the reference
// itself adds it (Partial.AddPrediction, identity calibration).
func (l *Learner) Add(e *event.Prediction) {
	for _, length := range l.lengths {
		start := floorTo(e.TimeMs, length)
		w := l.windows[length][start]
		if w == nil {
			w = l.proto.emptyLike()
			w.reset(l.proto.Model, start, start+length)
			w.SetCompression(sketch.ReferenceCompression)
			l.windows[length][start] = w
		}
		w.AddPrediction(e, nil, false)
	}
	if l.rows == nil || e.Error {
		return
	}
	r := l.rows
	r.Times = append(r.Times, e.TimeMs)
	for i := range r.Num {
		if r.Cat[i] == nil {
			x := e.Num[i]
			if e.Missing[i] {
				x = math.NaN()
			}
			r.Num[i] = append(r.Num[i], x)
			continue
		}
		id := int32(-1)
		if !e.Missing[i] {
			var ok bool
			if id, ok = l.ids[i][string(e.Cat[i])]; !ok {
				id = int32(len(r.Names[i]))
				l.ids[i][string(e.Cat[i])] = id
				r.Names[i] = append(r.Names[i], string(e.Cat[i]))
			}
		}
		r.Cat[i] = append(r.Cat[i], id)
	}
}

// Finish fits the PCA (with multivariate drift), adds the rows'
// reconstruction errors to ref and to their windows, and sets ref's
// Learned and PCA. ref must be complete (Finish) and hold the same rows.
func (l *Learner) Finish(ref *Reference) error {
	if l.rows != nil {
		pca, err := FitPCA(l.rows, sketch.MultivariateVariance)
		if err != nil {
			return err
		}
		ref.PCA = pca
		z := make([]float64, pca.Features())
		ref.MV = MultivariateSum{}
		for r, t := range l.rows.Times {
			e := pca.RowError(l.rows, r, z)
			ref.MV.Sum += e
			ref.MV.Count++
			for _, length := range l.lengths {
				w := l.windows[length][floorTo(t, length)]
				w.MV.Sum += e
				w.MV.Count++
			}
		}
	}
	ref.Learned = make(map[int64]*Learned, len(l.lengths))
	for _, length := range l.lengths {
		ws := make([]*Partial, 0, len(l.windows[length]))
		for _, w := range l.windows[length] {
			ws = append(ws, w)
		}
		ref.Learned[length] = Learn(ref, ws, length)
	}
	return nil
}
