package windows

import (
	"fmt"
	"slices"

	"github.com/reckonhq/reckon/results"
	"github.com/reckonhq/reckon/windows/conceptdrift"
	"github.com/reckonhq/reckon/windows/perf"
)

// Aggregation closes the windows of the models it owns: every model is
// owned by exactly one aggregation (Settings.ModelPartition), whichever
// member runs it, so a window's result is computed once and is the same
// with one member or five. It receives, in one total order (the runtime's
// internal topic partition), the panes every partition harvested for its
// models, every partition's progress, and the calibrators of completed
// stream references. From them it keeps the group watermark, merges panes
// into windows in a deterministic order (ComparePanes), closes windows the
// watermark passed, compares them with the reference, and feeds the
// concept-drift detectors.
//
// # The group watermark
//
// The group watermark is NextWatermark over every partition as it last
// reported itself: the minimum over the partitions that are not idle, the
// highest reported watermark when all are idle, never going back; it holds
// until every partition has reported once. A partition sends its panes
// before the progress that covers them, in the same order, and flushes
// everything before it reports itself idle, so when the watermark passes a
// window every pane of it has arrived. A pane that arrives after its
// window closed (a partition that woke up after the group watermark passed
// it as idle) is late: its events are counted in Output.Late.
type Aggregation struct {
	id  int32
	set *Settings
	// progress is each partition's last report (known: at least one).
	progress []partitionProgress
	wm       int64
	agg      *Aggregator
	// refs are the stream references of the models this aggregation owns
	// (nil for others, and for none or a file).
	refs      []*Reference
	detectors [][]conceptdrift.Detector
	// pending holds each model's joined errors by pane start until the
	// pane closes; then they are sorted and fed to the detectors.
	pending []map[int64][]JoinedError
	// cals are the stream references' calibrators as broadcast by the
	// aggregations that completed them (known false: not yet).
	cals []calibration

	out Output
	// State changes since the last Committed (state.go).
	metaDirty bool
	dirtyRefs []bool // per model: reference, calibration, detectors
	closedWin []windowKey

	wms       []int64   // scratch: the partitions' watermarks
	inputs    []Input   // scratch
	closedBuf []*Result // scratch
}

type partitionProgress struct {
	Progress
	known bool
}

// Output is what an aggregation produced since the runtime last reset it.
// The runtime publishes it once committed and discards it on rollback.
type Output struct {
	// Closed are the windows closed, in closing order.
	Closed []*results.Record
	// Late counts, per model, the events of panes that arrived after
	// their window closed.
	Late []uint64
	// Detectors holds, per model this aggregation owns (nil for the
	// others), its concept-drift detectors in conceptdrift.Names order:
	// the drifts each detected, and whether it is in its drift state.
	Detectors [][]DetectorState
	// Completed lists the models whose stream reference completed here:
	// the runtime sends their calibrators to every partition.
	Completed []int
	// Calibrations are the calibration reports of those references,
	// Calibrations[i] that of model Completed[i].
	Calibrations []CalibrationReport
}

// DetectorState is what a concept-drift detector did in a transaction.
type DetectorState struct {
	Detections uint64
	Active     bool
}

// NewAggregation returns the aggregation of partition id with nothing
// received.
func NewAggregation(set *Settings, id int32) *Aggregation {
	n := len(set.Models)
	a := &Aggregation{
		id:        id,
		set:       set,
		progress:  make([]partitionProgress, set.Partitions),
		wm:        Unset,
		agg:       newAggregator(set.Lengths, set.Layout),
		refs:      make([]*Reference, n),
		detectors: make([][]conceptdrift.Detector, n),
		pending:   make([]map[int64][]JoinedError, n),
		cals:      make([]calibration, n),
		dirtyRefs: make([]bool, n),
		out:       Output{Late: make([]uint64, n), Detectors: make([][]DetectorState, n)},
	}
	for i := range n {
		if r := set.Ranges[i]; r != nil && a.Owns(i) {
			a.refs[i] = NewStreamReference(set.Layout, i, r[0], r[1])
			if set.Learn[i] {
				a.refs[i].LearnWindows(set.Lengths)
			}
		}
		a.detectors[i] = newDetectors()
		a.pending[i] = make(map[int64][]JoinedError)
		if a.Owns(i) {
			a.out.Detectors[i] = make([]DetectorState, len(conceptdrift.Names()))
		}
	}
	return a
}

func newDetectors() []conceptdrift.Detector {
	var ds []conceptdrift.Detector
	for _, name := range conceptdrift.Names() {
		d, err := conceptdrift.New(name)
		if err != nil {
			panic(err) // the names come from the package itself
		}
		ds = append(ds, d)
	}
	return ds
}

// ID is the aggregation's partition.
func (a *Aggregation) ID() int32 { return a.id }

// Owns reports whether model is aggregated here.
func (a *Aggregation) Owns(model int) bool { return a.set.ModelPartition[model] == a.id }

// Watermark is the group watermark as this aggregation knows it.
func (a *Aggregation) Watermark() int64 { return a.wm }

// Detectors are model's concept-drift detectors, in conceptdrift.Names
// order, for reading their state; meaningful only where Owns(model).
func (a *Aggregation) Detectors(model int) []conceptdrift.Detector { return a.detectors[model] }

// Reference is model's stream reference, or nil.
func (a *Aggregation) Reference(model int) *Reference { return a.refs[model] }

// Output is what was produced since the last ResetOutput.
func (a *Aggregation) Output() *Output { return &a.out }

// ResetOutput forgets the output, keeping its memory.
func (a *Aggregation) ResetOutput() {
	clear(a.out.Closed)
	a.out.Closed = a.out.Closed[:0]
	clear(a.out.Late)
	for _, ds := range a.out.Detectors {
		for i := range ds {
			ds[i].Detections = 0
		}
	}
	a.out.Completed = a.out.Completed[:0]
	a.out.Calibrations = a.out.Calibrations[:0]
}

// Done reports whether every partition has finished (reckon run
// --until-end) and every window they filled has closed.
func (a *Aggregation) Done() bool {
	for _, pr := range a.progress {
		if !pr.known || !pr.Finished {
			return false
		}
	}
	return a.agg.Open() == 0
}

// Receive applies one message (see MessageKind), in the order of the
// aggregation's input. An error means a corrupt or foreign message.
func (a *Aggregation) Receive(kind MessageKind, data []byte) error {
	switch kind {
	case KindPane:
		_, _, rest, err := messageHeader(data)
		if err != nil {
			return err
		}
		part, _, err := a.agg.DecodePartial(rest)
		if err != nil {
			return err
		}
		return a.addPane(part)
	case KindProgress:
		pr, err := DecodeProgressMessage(data)
		if err != nil {
			return err
		}
		return a.setProgress(pr)
	case KindCalibrator:
		_, src, rest, err := messageHeader(data)
		if err != nil {
			return err
		}
		if src >= uint64(len(a.cals)) {
			return fmt.Errorf("%w: calibrator of model %d, %d configured", ErrCorrupt, src, len(a.cals))
		}
		var c *perf.Calibrator
		if len(rest) > 0 {
			c = new(perf.Calibrator)
			if err := c.UnmarshalBinary(rest); err != nil {
				return fmt.Errorf("%w: %w", ErrCorrupt, err)
			}
		}
		a.cals[src] = calibration{known: true, c: c}
		a.dirtyRefs[src] = true
		return nil
	}
	return fmt.Errorf("%w: unknown message kind %v", ErrCorrupt, kind)
}

// addPane merges one harvested pane.
func (a *Aggregation) addPane(part *Partial) error {
	if part.Model >= len(a.set.Models) || !a.Owns(part.Model) {
		return fmt.Errorf("%w: a pane of model %d at the aggregation of partition %d", ErrCorrupt, part.Model, a.id)
	}
	if ref := a.refs[part.Model]; ref != nil {
		if err := ref.Offer(part); err != nil {
			return fmt.Errorf("reference: %w", err)
		}
		a.dirtyRefs[part.Model] = true
	}
	ok, err := a.agg.Add(part)
	if err != nil {
		return err
	}
	if !ok {
		a.out.Late[part.Model] += part.Predictions + part.Outcomes
		return nil
	}
	if len(part.Joined) > 0 {
		a.pending[part.Model][part.Start] = append(a.pending[part.Model][part.Start], part.Joined...)
		a.dirtyRefs[part.Model] = true
	}
	return nil
}

// setProgress records a partition's progress.
func (a *Aggregation) setProgress(pr Progress) error {
	if pr.Source < 0 || int(pr.Source) >= len(a.progress) {
		return fmt.Errorf("%w: progress of partition %d, the inputs have %d", ErrCorrupt, pr.Source, len(a.progress))
	}
	old := &a.progress[pr.Source]
	if old.known {
		pr.Watermark = max(pr.Watermark, old.Watermark) // a report never goes back
	}
	*old = partitionProgress{Progress: pr, known: true}
	a.metaDirty = true
	return nil
}

// Advance recomputes the group watermark and closes what it passed: stream
// references (into Output.Completed), windows (into Output.Closed) and the
// detectors' panes; then it merges the panes that no pane still to come can
// precede into their windows and references.
func (a *Aggregation) Advance() error {
	a.inputs = a.inputs[:0]
	a.wms = a.wms[:0]
	for _, pr := range a.progress {
		in := Input{Watermark: Unset}
		if pr.known {
			in = Input{Watermark: pr.Watermark, Idle: pr.Idle || pr.Finished}
		}
		a.inputs = append(a.inputs, in)
		a.wms = append(a.wms, in.Watermark)
	}
	if wm := NextWatermark(a.wm, a.inputs); wm > a.wm {
		if err := a.close(wm); err != nil {
			return err
		}
	}
	for mi, ds := range a.out.Detectors {
		for di := range ds {
			ds[di].Active = a.detectors[mi][di].InDrift()
		}
	}
	f, ok := FoldFrontier(a.set.PaneLength, a.wms)
	if !ok {
		return nil
	}
	if err := a.agg.Fold(f); err != nil {
		return err
	}
	for mi, ref := range a.refs {
		if ref != nil {
			n := len(ref.parts)
			if err := ref.Fold(f); err != nil {
				return fmt.Errorf("reference of model %d: %w", mi, err)
			}
			a.dirtyRefs[mi] = a.dirtyRefs[mi] || len(ref.parts) != n
		}
	}
	return nil
}

// close moves the group watermark to wm and closes what it passed.
func (a *Aggregation) close(wm int64) error {
	a.wm = wm
	a.metaDirty = true
	for mi, ref := range a.refs {
		if ref != nil && ref.MaybeComplete(wm) {
			a.out.Completed = append(a.out.Completed, mi)
			a.out.Calibrations = append(a.out.Calibrations, ref.CalibrationReport())
			a.dirtyRefs[mi] = true
		}
	}
	n := len(a.closedBuf)
	var err error
	if a.closedBuf, err = a.agg.Close(wm, a.closedBuf[:n]); err != nil {
		return err
	}
	for _, r := range a.closedBuf[n:] {
		a.closedWin = append(a.closedWin, windowKey{r.Model, r.Window, r.Start})
		// Deferred predictions are at or after the end of their model's
		// stream reference, so the window closing them ends after it: the
		// reference, here, is complete.
		if ref := a.refs[r.Model]; len(r.Deferred) > 0 && ref != nil {
			r.ResolveDeferred(ref.Calibrator)
		}
		r.Calibrator = a.calibratorOf(r)
		a.out.Closed = append(a.out.Closed, a.set.Record(r, a.compare(r)))
	}
	clear(a.closedBuf)
	a.closedBuf = a.closedBuf[:0]
	for mi, byPane := range a.pending {
		var starts []int64
		for s := range byPane {
			if s+a.set.PaneLength <= wm {
				starts = append(starts, s)
			}
		}
		if len(starts) == 0 {
			continue
		}
		a.dirtyRefs[mi] = true
		slices.Sort(starts)
		for _, s := range starts {
			errs := byPane[s]
			delete(byPane, s)
			slices.SortFunc(errs, CompareJoinedErrors)
			for di, d := range a.detectors[mi] {
				for _, e := range errs {
					x := 0.0
					if e.Wrong {
						x = 1
					}
					if d.Update(x) && a.out.Detectors[mi] != nil {
						a.out.Detectors[mi][di].Detections++
					}
				}
			}
		}
	}
	return nil
}

// calibratorOf is the calibrator of a closed window's estimated ROC AUC:
// the one its predictions' estimates use (Calibrations), a reference file's
// or, for a window ending after its model's stream reference, the
// reference's; nil (identity) otherwise. The AUC is computed from the
// window's score sketch, which does not tell predictions apart by time, so
// a window that straddles a stream reference's end takes the reference's
// calibrator for all of them (its estimated rates take the identity for
// those before the end).
func (a *Aggregation) calibratorOf(r *Result) *perf.Calibrator {
	if f := a.set.Files[r.Model]; f != nil {
		return f.Calibrator
	}
	if ref := a.refs[r.Model]; ref != nil && ref.Complete && r.End > ref.To {
		return ref.Calibrator
	}
	return nil
}

// compare is the drift report of a closed window, or nil when its model has
// no complete reference.
func (a *Aggregation) compare(r *Result) *DriftReport {
	ref := a.set.Files[r.Model]
	if ref == nil {
		ref = a.refs[r.Model]
	}
	// A window ending before a stream reference's end closes before or
	// with the reference's completion depending on how event time moved
	// (one step or two): it never gets drift, so that results do not
	// depend on timing.
	if ref == nil || !ref.Complete || r.End < ref.To {
		return nil
	}
	rep := Compare(ref, r.Partial, a.set.FeatureDrift[r.Model], a.set.ScoreDrift[r.Model])
	return &rep
}
