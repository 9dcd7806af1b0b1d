package windows

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/sketch"
	"github.com/reckonhq/reckon/windows/join"
	"github.com/reckonhq/reckon/windows/perf"
)

// Partial is what one partition knows about one model in one pane: the
// mergeable unit that is combined, across panes and partitions, into a
// window's result. Merging partials in any order gives the same result.
type Partial struct {
	Model      int
	Start, End int64 // the pane [Start, End)
	// Source is the input partition whose pane this is (0 for a merge),
	// and Seq the fragment's number among the panes that partition
	// harvested: with Start, the order in which panes are merged
	// (ComparePanes), since merging t-digests is not associative. A
	// partition harvests a pane once, unless it flushed it while idle and
	// then read more events of it: then its fragments follow each other
	// in Seq order.
	Source int32
	Seq    uint64

	Predictions uint64 // prediction events by prediction time, ok and error
	Errors      uint64 // those with status "error"
	Outcomes    uint64 // valid outcome events by outcome time

	// Perf holds the outcomes joined in the pane, by outcome time.
	Perf perf.Window
	// Estimate holds the ok predictions' calibrated scores, by prediction
	// time: the confusion matrix expected before labels arrive.
	Estimate perf.Estimate

	// Features holds one sketch per declared feature of Model (Num for a
	// numeric feature, Cat for a categorical one), over the ok predictions
	// by prediction time; Score sketches their scores.
	Features []FeatureSketch
	Score    *sketch.Numeric

	// Reg and Multi are a regression or multiclass model's own figures
	// (kinds.go), nil for a binary model and until first needed. A
	// regression model's predicted values go to Score.
	Reg   *RegressionPart
	Multi *MulticlassPart
	// compression is what SetCompression set (0: the default), for the
	// parts made later.
	compression float64
	// MV sums the ok predictions' reconstruction errors under the model's
	// multivariate drift PCA (zero when it has none), by prediction time.
	MV MultivariateSum
	// mvScratch is AddMultivariate's standardised row.
	mvScratch []float64

	// Joined is the pane's joined error stream, by outcome time, for the
	// concept-drift detectors. Detectors cannot be merged and depend on
	// order, so each model's stream travels with its panes to the member
	// that aggregates the model, which sorts and feeds it when the pane
	// closes. Merge does not combine it: a window's result does not keep it.
	Joined []JoinedError

	// Deferred are ok predictions whose estimate waits for a calibrator
	// not known yet where they were processed (a stream reference's,
	// completed elsewhere). Whoever learns it adds them to Estimate with
	// ResolveDeferred; since Estimate's sums are exact, the result is the
	// same as if they had been calibrated on arrival. Merge carries them.
	Deferred []ScoredPrediction

	// Segments are the splits of the model's segments (segment.go), in
	// the order of its configuration; empty for a model without segments
	// and for a sub-partial.
	Segments []SegmentSplit

	// layout made the partial: its sub-partials are made alike.
	layout Layout
	// holders counts the aggregator's windows and the references that keep
	// a decoded partial; the aggregator recycles it when the count drops
	// to 0.
	holders int
	// dirty marks an open pane changed since its state was last written.
	dirty bool
	// The checkpoint of an open pane (state.go). Once a pane has been
	// written, the partial events update holds only what came since, and
	// written the merge of what was written, in the order written: the
	// pane is written.Merge(partial). The records live under indexes
	// [first, next) of the pane's key, liveBytes long in all, the first
	// of them (a whole pane) firstBytes.
	written               *Partial
	first, next           uint64
	liveBytes, firstBytes int
}

// ScoredPrediction is a prediction's score and predicted class.
type ScoredPrediction struct {
	Score     float64
	Predicted bool
}

// ResolveDeferred adds the deferred predictions to the estimate, calibrated
// by cal (nil: identity).
func (p *Partial) ResolveDeferred(cal *perf.Calibrator) {
	for _, d := range p.Deferred {
		p.Estimate.Add(cal.Calibrate(d.Score), d.Predicted)
	}
	p.Deferred = p.Deferred[:0]
	for k := range p.Segments {
		s := &p.Segments[k]
		for i := range s.Values {
			s.parts[i].ResolveDeferred(cal)
		}
		s.Other.ResolveDeferred(cal)
	}
}

// JoinedError is one joined prediction as the concept-drift detectors see
// it: Wrong is 1 for a misclassification.
type JoinedError struct {
	OutcomeMs, PredMs int64
	Wrong             bool
}

// CompareJoinedErrors orders the error stream: by outcome time, then
// prediction time, then correct before wrong. It is the order detectors see,
// whatever partition or member the errors came from.
func CompareJoinedErrors(a, b JoinedError) int {
	if c := cmp.Compare(a.OutcomeMs, b.OutcomeMs); c != 0 {
		return c
	}
	if c := cmp.Compare(a.PredMs, b.PredMs); c != 0 {
		return c
	}
	switch {
	case a.Wrong == b.Wrong:
		return 0
	case !a.Wrong:
		return -1
	}
	return 1
}

// AddPrediction counts one prediction of p's model and, for an ok one, adds
// its calibrated score to the estimate and its score and feature values to
// the sketches. cal maps scores to probabilities (nil: identity); with defer
// the score waits in Deferred for a calibrator instead. It is the per-event
// update, shared by the partition worker and the reference builder, and
// does not allocate in steady state.
func (p *Partial) AddPrediction(e *event.Prediction, cal *perf.Calibrator, deferEstimate bool) {
	p.Predictions++
	if e.Error {
		p.Errors++
		return
	}
	if e.Score == e.Score { // not NaN
		if deferEstimate {
			p.Deferred = append(p.Deferred, ScoredPrediction{e.Score, e.Predicted})
		} else {
			p.Estimate.Add(cal.Calibrate(e.Score), e.Predicted)
		}
		p.Score.Add(e.Score)
	}
	if e.Kind != event.KindBinary {
		p.addKind(e)
	}
	for i, f := range p.Features {
		switch {
		case e.Missing[i] && f.Num != nil:
			f.Num.AddMissing()
		case e.Missing[i]:
			f.Cat.AddMissing()
		case f.Num != nil:
			f.Num.Add(e.Num[i])
		default:
			f.Cat.Add(e.Cat[i])
		}
	}
}

// AddJoined adds a joined pair of a model of kind (with classes classes,
// multiclass) to the figures of its outcome time: the per-event update of
// the join, for a pane and for a segment's sub-partial alike.
func (p *Partial) AddJoined(j *join.Joined, kind config.ModelKind, classes int) {
	if kind == config.KindBinary {
		p.Perf.Add(float64(j.Score), j.Predicted, j.Label)
		return
	}
	p.AddKindJoined(kind, classes, float64(j.Score), float64(j.LabelValue))
}

// FeatureSketch is the sketch of one feature: exactly one field is set.
type FeatureSketch struct {
	Num *sketch.Numeric
	Cat *sketch.Categorical
}

// Layout says, per model, which declared features are categorical: what a
// Partial of that model holds.
type Layout [][]bool

// NewPartial returns an empty partial of model with its sketches.
func (l Layout) NewPartial(model int) *Partial {
	p := &Partial{Model: model, Score: sketch.NewNumeric(nil), layout: l}
	p.Features = make([]FeatureSketch, len(l[model]))
	for i, categorical := range l[model] {
		if categorical {
			p.Features[i].Cat = sketch.NewCategorical(0)
		} else {
			p.Features[i].Num = sketch.NewNumeric(nil)
		}
	}
	return p
}

// Merge adds o, a partial of the same model, into p; bounds are the
// caller's concern. It fails only if the sketches do not match (different
// histogram edges), leaving p partly merged.
func (p *Partial) Merge(o *Partial) error {
	p.Predictions += o.Predictions
	p.Errors += o.Errors
	p.Outcomes += o.Outcomes
	p.Perf.Merge(&o.Perf)
	p.Estimate.Merge(&o.Estimate)
	p.MV.Sum += o.MV.Sum
	p.MV.Count += o.MV.Count
	p.Deferred = append(p.Deferred, o.Deferred...)
	if err := p.Score.Merge(o.Score); err != nil {
		return fmt.Errorf("score: %w", err)
	}
	if o.Reg != nil || o.Multi != nil {
		if err := p.mergeKind(o); err != nil {
			return err
		}
	}
	for i, f := range o.Features {
		var err error
		if f.Num != nil {
			err = p.Features[i].Num.Merge(f.Num)
		} else {
			err = p.Features[i].Cat.Merge(f.Cat)
		}
		if err != nil {
			return fmt.Errorf("feature %d: %w", i, err)
		}
	}
	if len(o.Segments) > 0 {
		return p.mergeSegments(o)
	}
	return nil
}

func (p *Partial) reset(model int, start, end int64) {
	p.Model, p.Start, p.End, p.Source, p.Seq = model, start, end, 0, 0
	p.written, p.first, p.next, p.liveBytes, p.firstBytes = nil, 0, 0, 0, 0
	p.clear()
}

// clear empties what the partial counts, keeping its identity and
// checkpoint.
func (p *Partial) clear() {
	p.Predictions, p.Errors, p.Outcomes = 0, 0, 0
	p.Perf.Reset()
	p.Estimate.Reset()
	p.MV = MultivariateSum{}
	p.Score.Reset()
	p.Joined = p.Joined[:0]
	p.Deferred = p.Deferred[:0]
	p.clearKind()
	for _, f := range p.Features {
		if f.Num != nil {
			f.Num.Reset()
		} else {
			f.Cat.Reset()
		}
	}
	for k := range p.Segments {
		p.Segments[k].clear()
	}
}

// mergePane adds o, what a pane received after p, to p: Merge, and the
// joined error stream in order after p's.
func mergePane(p, o *Partial) error {
	p.Joined = append(p.Joined, o.Joined...)
	return p.Merge(o)
}

// ComparePanes orders partials for merging: by pane start, then source
// partition, then fragment. Merging in this order gives the same sketches
// whatever order the panes arrived in.
func ComparePanes(a, b *Partial) int { return a.Key().Compare(b.Key()) }

// PaneKey is a pane's place in the merge order of ComparePanes.
type PaneKey struct {
	Start  int64
	Source int32
	Seq    uint64
}

// noPane sorts before every pane.
var noPane = PaneKey{Start: math.MinInt64}

// Key is p's place in the merge order.
func (p *Partial) Key() PaneKey { return PaneKey{p.Start, p.Source, p.Seq} }

// Compare orders keys as ComparePanes orders partials.
func (k PaneKey) Compare(o PaneKey) int {
	return cmp.Or(cmp.Compare(k.Start, o.Start), cmp.Compare(k.Source, o.Source), cmp.Compare(k.Seq, o.Seq))
}

// FoldFrontier is the place in the merge order that no pane still to come
// can precede, given each source partition's reported watermark (Unset:
// none yet). A partition reports its watermark after harvesting every pane
// that ends at or before it, and adds no event older than it to a pane
// later, so every pane (or fragment) it sends afterwards starts at or after
// its watermark floored to the pane length. Panes before the frontier can
// be merged now, in order, with the same result as merging all of them at
// the end; ok is false while a source has reported no watermark.
func FoldFrontier(paneLength int64, watermarks []int64) (f PaneKey, ok bool) {
	for src, wm := range watermarks {
		if wm == Unset {
			return noPane, false
		}
		k := PaneKey{Start: floorTo(wm, paneLength), Source: int32(src)}
		if !ok || k.Compare(f) < 0 {
			f, ok = k, true
		}
	}
	return f, ok
}

// foldBefore merges into dst, in merge order, the parts before frontier,
// hands them to release (when not nil), and returns the others (parts'
// backing array, sorted).
func foldBefore(dst *Partial, parts []*Partial, frontier PaneKey, release func([]*Partial)) ([]*Partial, error) {
	slices.SortFunc(parts, ComparePanes)
	n := 0
	for n < len(parts) && parts[n].Key().Compare(frontier) < 0 {
		n++
	}
	if err := mergeSorted(dst, parts[:n]); err != nil {
		return parts, err
	}
	if release != nil {
		release(parts[:n])
	}
	rest := append(parts[:0], parts[n:]...)
	clear(parts[len(rest):])
	return rest, nil
}

// mergeSorted merges parts, sorted in place by ComparePanes, into dst.
func mergeSorted(dst *Partial, parts []*Partial) error {
	slices.SortFunc(parts, ComparePanes)
	for _, p := range parts {
		if err := dst.Merge(p); err != nil {
			return fmt.Errorf("merging pane %d of partition %d: %w", p.Start, p.Source, err)
		}
	}
	return nil
}

// Panes are one partition worker's open panes, per model. The pane length
// divides every configured window length, so each window is a union of
// whole panes. Panes recycles partials to keep the hot path allocation-free,
// up to maxFreePanes per model: a backfill whose outcomes are read days
// ahead of their predictions opens a pane per pane length of that lead, and
// its free list would otherwise keep them all, histograms and sketches
// grown, long after they were harvested.
type Panes struct {
	length int64
	layout Layout
	open   [][]*Partial // per model, sorted by Start
	free   [][]*Partial // per model: a partial's sketches fit one model only
}

// NewPanes returns an empty set of panes of the given length for the models
// of layout.
func NewPanes(length time.Duration, layout Layout) *Panes {
	return &Panes{length: length.Milliseconds(), layout: layout,
		open: make([][]*Partial, len(layout)), free: make([][]*Partial, len(layout))}
}

// Start is the start of the pane containing ms (epoch-aligned).
func (ps *Panes) Start(ms int64) int64 { return floorTo(ms, ps.length) }

// Get returns the partial of model's pane that contains ms, opening it if
// needed. The caller must have checked ms against the watermark: a pane
// older than the watermark is never reopened.
func (ps *Panes) Get(model int, ms int64) *Partial {
	start := floorTo(ms, ps.length)
	open := ps.open[model]
	// Events arrive nearly in time order, so the newest pane is the usual
	// hit; search from the end.
	for i := len(open) - 1; i >= 0; i-- {
		switch p := open[i]; {
		case p.Start == start:
			p.dirty = true
			return p
		case p.Start < start:
			return ps.insert(model, i+1, start)
		}
	}
	return ps.insert(model, 0, start)
}

func (ps *Panes) insert(model, at int, start int64) *Partial {
	p := ps.take(model, start)
	p.dirty = true
	ps.open[model] = slices.Insert(ps.open[model], at, p)
	return p
}

// take returns an empty partial of model's pane at start, recycled when
// one is free.
func (ps *Panes) take(model int, start int64) *Partial {
	var p *Partial
	if free := ps.free[model]; len(free) > 0 {
		p, ps.free[model] = free[len(free)-1], free[:len(free)-1]
	} else {
		p = ps.layout.NewPartial(model)
	}
	p.reset(model, start, start+ps.length)
	return p
}

// Harvest moves every pane that ends at or before watermark to dst, whole
// (what was written of it merged with what came since), and returns it.
// Each keeps the index range of its records (first, next) for the caller
// to delete. The caller hands them back with Release once merged.
func (ps *Panes) Harvest(watermark int64, dst []*Partial) []*Partial {
	for m, open := range ps.open {
		n := 0
		for n < len(open) && open[n].End <= watermark {
			n++
		}
		if n == 0 {
			continue
		}
		for _, p := range open[:n] {
			dst = append(dst, ps.whole(p))
		}
		clear(open[:n])
		ps.open[m] = append(open[:0], open[n:]...)
	}
	return dst
}

// whole returns open pane p whole, recycling what it no longer needs.
func (ps *Panes) whole(p *Partial) *Partial {
	w := p.written
	if w == nil {
		return p
	}
	// Both halves were made by ps's layout: their sketches always match.
	if err := mergePane(w, p); err != nil {
		panic(fmt.Sprintf("windows: pane %d of model %d does not merge with its checkpoint: %v", p.Start, p.Model, err))
	}
	w.first, w.next = p.first, p.next
	p.written = nil
	ps.recycle(p)
	return w
}

// Release returns harvested partials for reuse.
func (ps *Panes) Release(parts []*Partial) {
	for _, p := range parts {
		ps.recycle(p)
	}
}

// maxFreePanes bounds the partials Panes keeps for reuse, per model. A
// partition in steady state harvests a pane or two per model at a time (a
// pane and its checkpoint's half), and takes as many again.
const maxFreePanes = 8

// recycle keeps p for reuse, unless enough are kept already.
func (ps *Panes) recycle(p *Partial) {
	if len(ps.free[p.Model]) < maxFreePanes {
		ps.free[p.Model] = append(ps.free[p.Model], p)
	}
}

// Len is the number of open panes over all models.
func (ps *Panes) Len() int {
	n := 0
	for _, o := range ps.open {
		n += len(o)
	}
	return n
}

// floorTo rounds ms down to a multiple of length, also for negative ms.
func floorTo(ms, length int64) int64 {
	r := ms % length
	if r < 0 {
		r += length
	}
	return ms - r
}
