package windows

import (
	"encoding/binary"
	"fmt"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/internal/wire"
	"github.com/reckonhq/reckon/sketch"
	"github.com/reckonhq/reckon/windows/perf"
)

// The kind-specific parts of a Partial (docs/events.md, "Model kinds"). A
// binary model's partials have none; a regression or multiclass model's
// partial makes its part when it first needs it, so that a Layout need not
// know kinds and a binary model pays nothing. Whatever a Partial computes,
// its part computes with it: it merges, encodes and resets with the
// partial.

// RegressionPart is what a regression model's partial holds besides the
// predicted values, which go to Partial.Score (its prediction drift).
type RegressionPart struct {
	// Perf holds the error of the pairs joined in the pane, by outcome
	// time; Residuals their residuals (predicted − label), for quantiles.
	Perf      perf.Regression
	Residuals *sketch.Numeric
	// Labels are the outcomes' labels by outcome time: label drift.
	Labels *sketch.Numeric
	// Values counts the ok predictions by bucket of predicted value
	// (perf.ValueBucket), by prediction time: with a reference's error by
	// bucket, the error expected before labels (perf.RegressionEstimate).
	Values [perf.NumValueBuckets]uint64
}

// MulticlassPart is what a multiclass model's partial holds.
type MulticlassPart struct {
	// Perf is the confusion matrix of the pairs joined in the pane, by
	// outcome time.
	Perf perf.Multiclass
	// Estimate is CBPE per class over the ok predictions with scores, by
	// prediction time.
	Estimate perf.ClassEstimate
	// Predicted counts the declared classes predicted (prediction drift),
	// Labels those of the outcomes by outcome time (label drift).
	Predicted, Labels *sketch.Categorical
}

// regression returns p's regression part, making it if needed.
func (p *Partial) regression() *RegressionPart {
	if p.Reg == nil {
		p.Reg = &RegressionPart{Residuals: sketch.NewNumeric(nil), Labels: sketch.NewNumeric(nil)}
		if p.compression != 0 {
			p.Reg.setCompression(p.compression)
		}
	}
	return p.Reg
}

func (r *RegressionPart) setCompression(delta float64) {
	for _, n := range []*sketch.Numeric{r.Residuals, r.Labels} {
		if err := n.SetCompression(delta); err != nil {
			panic(err)
		}
	}
}

// multiclass returns p's multiclass part for k classes, making it if
// needed.
func (p *Partial) multiclass(k int) *MulticlassPart {
	if p.Multi == nil {
		p.Multi = &MulticlassPart{Predicted: sketch.NewCategorical(0), Labels: sketch.NewCategorical(0)}
		p.Multi.Perf.Init(k)
		p.Multi.Estimate.Init(k)
	}
	return p.Multi
}

// addKind is AddPrediction's part for an ok prediction of a regression or
// multiclass model.
func (p *Partial) addKind(e *event.Prediction) {
	switch e.Kind {
	case config.KindRegression:
		if e.Value == e.Value {
			p.Score.Add(e.Value)
			p.regression().Values[perf.ValueBucket(e.Value)]++
		}
	case config.KindMulticlass:
		m := p.multiclass(len(e.Scores))
		var scores []float64
		if e.HasScores {
			scores = e.Scores
		}
		m.Estimate.Add(e.Class, scores)
		if e.Class >= 0 {
			m.Predicted.Add(e.ClassName)
		}
	}
}

// AddOutcome counts one valid outcome of p's model by outcome time: its
// label, for a regression or multiclass model's label drift. It is the
// per-event update of Partition.Outcome and of the reference builder, and
// does not allocate in steady state.
func (p *Partial) AddOutcome(o *event.Outcome, classes int) {
	p.Outcomes++
	switch o.Kind {
	case config.KindRegression:
		p.regression().Labels.Add(o.Value)
	case config.KindMulticlass:
		if o.Class >= 0 {
			p.multiclass(classes).Labels.Add(o.ClassName)
		}
	}
}

// AddKindJoined adds a joined pair of a regression model (predicted value,
// label) or of a multiclass model (class indexes, -1 undeclared) of k
// classes, by outcome time.
func (p *Partial) AddKindJoined(kind config.ModelKind, k int, predicted, label float64) {
	switch kind {
	case config.KindRegression:
		r := p.regression()
		r.Perf.Add(predicted, label)
		r.Residuals.Add(predicted - label)
	case config.KindMulticlass:
		p.multiclass(k).Perf.Add(int(predicted), int(label))
	}
}

// mergeKind merges o's part into p's.
func (p *Partial) mergeKind(o *Partial) error {
	if o.Reg != nil {
		r := p.regression()
		r.Perf.Merge(&o.Reg.Perf)
		for i, n := range o.Reg.Values {
			r.Values[i] += n
		}
		if err := r.Residuals.Merge(o.Reg.Residuals); err != nil {
			return fmt.Errorf("residuals: %w", err)
		}
		if err := r.Labels.Merge(o.Reg.Labels); err != nil {
			return fmt.Errorf("labels: %w", err)
		}
	}
	if o.Multi != nil {
		m := p.multiclass(o.Multi.Perf.Classes())
		if m.Perf.Classes() != o.Multi.Perf.Classes() || m.Estimate.Classes() != o.Multi.Estimate.Classes() {
			return fmt.Errorf("%d classes merged with %d", m.Perf.Classes(), o.Multi.Perf.Classes())
		}
		m.Perf.Merge(&o.Multi.Perf)
		m.Estimate.Merge(&o.Multi.Estimate)
		if err := m.Predicted.Merge(o.Multi.Predicted); err != nil {
			return fmt.Errorf("predicted classes: %w", err)
		}
		if err := m.Labels.Merge(o.Multi.Labels); err != nil {
			return fmt.Errorf("label classes: %w", err)
		}
	}
	return nil
}

// clearKind empties p's part, keeping its memory.
func (p *Partial) clearKind() {
	if r := p.Reg; r != nil {
		r.Values = [perf.NumValueBuckets]uint64{}
		r.Perf.Reset()
		r.Residuals.Reset()
		r.Labels.Reset()
	}
	if m := p.Multi; m != nil {
		m.Perf.Reset()
		m.Estimate.Reset()
		m.Predicted.Reset()
		m.Labels.Reset()
	}
}

// Kind tags of a partial's encoding (partialKinds).
const (
	kindNone       = 0
	kindRegression = 1
	kindMulticlass = 2
)

type binaryAppender interface{ AppendBinary([]byte) ([]byte, error) }
type binaryUnmarshaler interface{ UnmarshalBinary([]byte) error }

// AppendKind appends p's regression or multiclass part (nothing when it
// has none), for a reference profile file: decode it with ReadKind.
func (p *Partial) AppendKind(b []byte) ([]byte, error) {
	if p.Reg == nil && p.Multi == nil {
		return b, nil
	}
	return p.appendKind(b)
}

// ReadKind sets p's regression or multiclass part from what AppendKind
// wrote (none when data is empty).
func (p *Partial) ReadKind(data []byte) error {
	p.Reg, p.Multi = nil, nil
	if len(data) == 0 {
		return nil
	}
	r := wire.NewReader(data, wire.Corrupt(ErrCorrupt))
	if err := p.readKind(r); err != nil {
		return err
	}
	return r.End()
}

// appendCounts appends the non-zero counts of cs as (index, count) pairs.
func appendCounts(b []byte, cs []uint64) []byte {
	n := 0
	for _, c := range cs {
		if c != 0 {
			n++
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	for i, c := range cs {
		if c != 0 {
			b = binary.AppendUvarint(b, uint64(i))
			b = binary.AppendUvarint(b, c)
		}
	}
	return b
}

// readCounts reads what appendCounts wrote into cs (zeroed first).
func readCounts(r *wire.Reader, cs []uint64) {
	clear(cs)
	n := r.Count(2)
	last := -1
	for range n {
		i, c := r.Uvarint(), r.Uvarint()
		if r.Err() != nil {
			return
		}
		if i >= uint64(len(cs)) || int(i) <= last || c == 0 {
			r.Fail(fmt.Sprintf("count %d out of order or zero", i))
			return
		}
		last = int(i)
		cs[i] = c
	}
}
