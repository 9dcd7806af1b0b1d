package windows

import (
	"fmt"
	"math"
	"slices"

	"github.com/reckonhq/reckon/sketch"
	"github.com/reckonhq/reckon/windows/perf"
)

// ReferenceBins is the number of reference-quantile bins PSI and
// Jensen–Shannon use for numeric features.
const ReferenceBins = 10

// Reference is a model's reference distribution: a partial merged from the
// panes inside [From, To) of the stream, or loaded from a profile file.
// Drift is only computed against a complete reference.
type Reference struct {
	From, To int64 // event-time range; zero for a file
	*Partial
	Complete bool
	// Edges are the reference-quantile bin edges of each numeric feature
	// (nil for categorical ones), and of the score; set on completion.
	Edges      [][]float64
	ScoreEdges []float64
	// LabelEdges are those of a regression model's labels (nil without).
	LabelEdges []float64
	// Calibrator maps scores to probabilities for estimation: isotonic,
	// fitted on the reference's joined outcomes; nil (identity) without.
	Calibrator *perf.Calibrator
	// Learned are the reference's own windows compared with it, by window
	// length (nil without learned thresholds or multivariate drift); PCA
	// is its multivariate drift model (nil without).
	Learned map[int64]*Learned
	PCA     *PCA

	// windows are a stream reference's windows by length and start, while
	// it is incomplete, for Learned (nil unless LearnWindows).
	windows map[int64]map[int64]*Partial

	// parts are the panes offered and not yet merged: those before folded
	// are merged into Partial as soon as no pane can precede them
	// (Fold), the others on completion, in ComparePanes order.
	parts  []*Partial
	folded PaneKey
}

// NewStreamReference returns an empty reference over [from, to). Its
// numeric sketches (features and score) compress at
// sketch.ReferenceCompression, as a reference profile's do.
func NewStreamReference(l Layout, model int, from, to int64) *Reference {
	p := l.NewPartial(model)
	p.SetCompression(sketch.ReferenceCompression)
	return &Reference{From: from, To: to, Partial: p, folded: noPane}
}

// SetCompression sets the compression of every numeric sketch of p (the
// score's and the numeric features'); see sketch.Numeric.SetCompression. It
// panics outside [sketch.MinCompression, sketch.MaxCompression].
func (p *Partial) SetCompression(delta float64) {
	nums := []*sketch.Numeric{p.Score}
	for _, f := range p.Features {
		if f.Num != nil {
			nums = append(nums, f.Num)
		}
	}
	for _, n := range nums {
		if err := n.SetCompression(delta); err != nil {
			panic(err)
		}
	}
	p.compression = delta
	if p.Reg != nil {
		p.Reg.setCompression(delta)
	}
}

// Fold merges the offered panes that sort before frontier (see
// FoldFrontier) into the reference.
func (r *Reference) Fold(frontier PaneKey) error {
	if r.Complete || frontier.Compare(r.folded) <= 0 {
		return nil
	}
	r.folded = frontier
	slices.SortFunc(r.parts, ComparePanes)
	n := 0
	for n < len(r.parts) && r.parts[n].Key().Compare(frontier) < 0 {
		n++
	}
	if err := r.merge(r.parts[:n]); err != nil {
		return err
	}
	rest := append(r.parts[:0], r.parts[n:]...)
	clear(r.parts[len(rest):])
	r.parts = rest
	return nil
}

// merge merges parts, sorted by ComparePanes, into the reference and into
// the windows that LearnWindows keeps.
func (r *Reference) merge(parts []*Partial) error {
	if err := mergeSorted(r.Partial, parts); err != nil {
		return err
	}
	for l, byStart := range r.windows {
		for _, p := range parts {
			start := floorTo(p.Start, l)
			if start < r.From || start+l > r.To {
				continue // a window not wholly inside the reference
			}
			w := byStart[start]
			if w == nil {
				w = r.newWindow(start, l)
				byStart[start] = w
			}
			if err := w.Merge(p); err != nil {
				return fmt.Errorf("merging pane %d of partition %d: %w", p.Start, p.Source, err)
			}
		}
	}
	return nil
}

func (r *Reference) newWindow(start, length int64) *Partial {
	w := r.Partial.emptyLike()
	w.reset(r.Model, start, start+length)
	w.SetCompression(sketch.ReferenceCompression)
	return w
}

// emptyLike returns an empty partial of p's model with p's kinds of
// sketches.
func (p *Partial) emptyLike() *Partial {
	l := make([]bool, len(p.Features))
	for i, f := range p.Features {
		l[i] = f.Cat != nil
	}
	layout := make(Layout, p.Model+1)
	layout[p.Model] = l
	return layout.NewPartial(p.Model)
}

// LearnWindows makes an incomplete stream reference keep its windows of
// each of lengths wholly inside [From, To), so that on completion it
// learns their statistics (Learned). Call it before any pane is offered.
func (r *Reference) LearnWindows(lengths []int64) {
	r.windows = make(map[int64]map[int64]*Partial, len(lengths))
	for _, l := range lengths {
		r.windows[l] = map[int64]*Partial{}
	}
}

// Offer keeps p (the caller must not reuse it) for the reference when its
// pane lies inside [From, To).
func (r *Reference) Offer(p *Partial) error {
	if r.Complete || p.Start < r.From || p.End > r.To {
		return nil
	}
	if p.Key().Compare(r.folded) < 0 {
		return fmt.Errorf("a pane of partition %d at %d after the reference merged past it", p.Source, p.Start)
	}
	r.parts = append(r.parts, p)
	p.holders++ // the aggregator must not recycle it
	return nil
}

// MaybeComplete completes the reference once the watermark reaches To,
// deriving bin edges and the calibrator. It reports whether it completed
// now.
func (r *Reference) MaybeComplete(watermark int64) bool {
	if r.Complete || watermark < r.To {
		return false
	}
	r.Finish()
	return true
}

// Finish marks the reference complete and derives what drift and
// estimation need from it.
func (r *Reference) Finish() {
	slices.SortFunc(r.parts, ComparePanes)
	if err := r.merge(r.parts); err != nil {
		panic(err) // the panes come from this configuration's layout
	}
	r.parts = nil
	r.Complete = true
	r.Edges = make([][]float64, len(r.Features))
	for i, f := range r.Features {
		if f.Num != nil {
			r.Edges[i] = sketch.QuantileEdges(f.Num, ReferenceBins)
		}
	}
	r.ScoreEdges = sketch.QuantileEdges(r.Score, ReferenceBins)
	if r.Reg != nil {
		r.LabelEdges = sketch.QuantileEdges(r.Reg.Labels, ReferenceBins)
	}
	if c, err := perf.FitCalibrator(&r.Perf); err == nil {
		r.Calibrator = c
	}
	if r.windows != nil {
		r.Learned = make(map[int64]*Learned, len(r.windows))
		for l, byStart := range r.windows {
			ws := make([]*Partial, 0, len(byStart))
			for _, w := range byStart {
				ws = append(ws, w)
			}
			r.Learned[l] = Learn(r, ws, l)
		}
		r.windows = nil
	}
}

// Statistic is one drift statistic of one feature, NaN when it cannot be
// computed (an empty window, say).
type Statistic struct {
	Method sketch.Method
	Value  float64
}

// FeatureDrift is a feature compared with the reference.
type FeatureDrift struct {
	Stats   []Statistic // every statistic that applies to the feature's type
	PValues []Statistic // ks and chi2 (the decision's test may be z: see Decision)
	// Decision is the configured test's verdict; ok is false when it could
	// not be taken (no values in the window or the reference, or no
	// learned threshold).
	Decision sketch.Drift
	OK       bool
	// Bounds are the learned thresholds of the statistics, when the
	// reference learned its windows of this window's length; Learned says
	// the verdict was taken on them (threshold: learned).
	Bounds  []Bounds
	Learned bool
}

// MultivariateDrift is a window's multivariate drift: its mean
// reconstruction error, and its band over the reference's windows.
type MultivariateDrift struct {
	Error        float64
	Lower, Upper float64
	BandOK       bool // the reference learned a band for this length
	Drifted      bool // Error outside the band
}

// DriftReport compares one closed window of a model with its reference.
type DriftReport struct {
	Features []FeatureDrift
	// Score is the prediction drift: of a binary model's scores, a
	// regression model's values, a multiclass model's predicted classes.
	Score FeatureDrift
	// Label is a regression or multiclass model's label drift (nil for a
	// binary model, or when the reference has no labels).
	Label *FeatureDrift
	// RegressionEstimate is a regression model's error expected before
	// labels from the reference's error by predicted value
	// (perf.RegressionEstimate); nil without.
	RegressionEstimate *perf.RegressionError
	// Multivariate is nil without a multivariate model or events.
	Multivariate *MultivariateDrift
	// Share of the decided features that drifted, and the dataset verdict.
	Share        float64
	ShareOK      bool
	DatasetDrift bool
}

// Compare computes every drift statistic of cur against the complete
// reference ref. params holds each feature's drift parameters; scoreParams
// those of the score (and the model's k and multivariate setting). Learned
// thresholds are those of cur's length (End − Start).
func Compare(ref *Reference, cur *Partial, params []sketch.DriftParams, scoreParams sketch.DriftParams) DriftReport {
	rep := DriftReport{Features: make([]FeatureDrift, len(cur.Features))}
	learned := ref.Learned[cur.End-cur.Start]
	decide := func(fd *FeatureDrift, values map[sketch.Method][]float64, p sketch.DriftParams, categorical bool) {
		k := p.K
		if k == 0 {
			k = sketch.DefaultK
		}
		if learned != nil {
			fd.Bounds = bounds(values, fd.Stats, k)
		}
		if p.Threshold == sketch.ThresholdLearned && fd.OK {
			learnedVerdict(fd, categorical)
		}
	}
	decided, drifted := 0, 0
	for i, f := range cur.Features {
		var fd FeatureDrift
		if f.Num != nil {
			fd = numericDrift(ref.Features[i].Num, f.Num, ref.Edges[i], params[i])
		} else {
			fd = categoricalDrift(ref.Features[i].Cat, f.Cat, params[i])
		}
		var values map[sketch.Method][]float64
		if learned != nil {
			values = learned.Features[i]
		}
		decide(&fd, values, params[i], f.Cat != nil)
		if fd.OK {
			decided++
			if fd.Decision.Drifted {
				drifted++
			}
		}
		rep.Features[i] = fd
	}
	var scoreValues map[sketch.Method][]float64
	if learned != nil {
		scoreValues = learned.Score
	}
	switch {
	case ref.Multi != nil && cur.Multi != nil:
		rep.Score = categoricalDrift(ref.Multi.Predicted, cur.Multi.Predicted, scoreParams)
		decide(&rep.Score, scoreValues, scoreParams, true)
		l := categoricalDrift(ref.Multi.Labels, cur.Multi.Labels, scoreParams)
		rep.Label = &l
	case ref.Multi != nil || cur.Multi != nil:
		// A multiclass model with nothing predicted on one side: no drift.
	default:
		rep.Score = numericDrift(ref.Score, cur.Score, ref.ScoreEdges, scoreParams)
		decide(&rep.Score, scoreValues, scoreParams, false)
	}
	if ref.Reg != nil && cur.Reg != nil {
		l := numericDrift(ref.Reg.Labels, cur.Reg.Labels, ref.LabelEdges, scoreParams)
		rep.Label = &l
		if est, ok := perf.RegressionEstimate(&ref.Reg.Perf, &cur.Reg.Values); ok {
			rep.RegressionEstimate = &est
		}
	}
	if mean, ok := cur.MV.Mean(); ok && ref.PCA != nil {
		md := &MultivariateDrift{Error: mean}
		if learned != nil {
			k := scoreParams.K
			if k == 0 {
				k = sketch.DefaultK
			}
			md.Lower, md.Upper, md.BandOK = sketch.BandOf(learned.Multivariate).Bounds(k, 0)
			md.Drifted = md.BandOK && sketch.Outside(mean, md.Lower, md.Upper)
		}
		rep.Multivariate = md
	}
	if decided > 0 {
		share := sketch.DefaultDriftParams().DatasetShare
		if len(params) > 0 && params[0].DatasetShare > 0 {
			share = params[0].DatasetShare
		}
		rep.Share, rep.DatasetDrift = sketch.DatasetDrift(drifted, decided, share)
		rep.ShareOK = true
	}
	return rep
}

func numericDrift(ref, cur *sketch.Numeric, edges []float64, p sketch.DriftParams) FeatureDrift {
	var fd FeatureDrift
	d, pv, err := sketch.KS(ref, cur)
	fd.Stats = append(fd.Stats, stat(sketch.MethodKS, d, err))
	fd.PValues = append(fd.PValues, stat(sketch.MethodKS, pv, err))
	psi, err := sketch.PSIOn(ref, cur, edges)
	fd.Stats = append(fd.Stats, stat(sketch.MethodPSI, psi, err))
	w, err := sketch.Wasserstein(ref, cur)
	fd.Stats = append(fd.Stats, stat(sketch.MethodWasserstein, w, err))
	js, err := sketch.JSOn(ref, cur, edges)
	fd.Stats = append(fd.Stats, stat(sketch.MethodJS, js, err))
	fd.Decision, err = sketch.NumericDrift(ref, cur, edges, p)
	fd.OK = err == nil
	return fd
}

func categoricalDrift(ref, cur *sketch.Categorical, p sketch.DriftParams) FeatureDrift {
	var fd FeatureDrift
	c, pv, err := sketch.ChiSquare(ref, cur)
	fd.Stats = append(fd.Stats, stat(sketch.MethodChi2, c, err))
	fd.PValues = append(fd.PValues, stat(sketch.MethodChi2, pv, err))
	psi, err := sketch.CategoricalPSI(ref, cur)
	fd.Stats = append(fd.Stats, stat(sketch.MethodPSI, psi, err))
	js, err := sketch.CategoricalJS(ref, cur)
	fd.Stats = append(fd.Stats, stat(sketch.MethodJS, js, err))
	fd.Decision, err = sketch.CategoricalDrift(ref, cur, p)
	fd.OK = err == nil
	return fd
}

func stat(m sketch.Method, v float64, err error) Statistic {
	if err != nil || math.IsInf(v, 0) {
		v = math.NaN()
	}
	return Statistic{Method: m, Value: v}
}
