package consumer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/reckonhq/reckon/internal/wire"
	"github.com/reckonhq/reckon/windows"
	"github.com/reckonhq/reckon/windows/conceptdrift"
	"github.com/reckonhq/reckon/windows/perf"
)

// merger aggregates the models whose partials land in one partition of the
// partials topic (<group>-partials, keyed by model): it merges the panes
// every partition worker of the group harvested, closes windows when the
// group's watermark passes them, compares them with the reference, feeds
// the concept-drift detectors and writes the results. Whichever member
// owns partials partition k owns merger k, so each model is aggregated in
// exactly one place, with the same result whether one member or five did
// the per-partition work.
//
// The group's watermark is the minimum over every input partition's
// watermark, as its worker reported it (progress records), skipping
// partitions that reported themselves idle; it holds until every partition
// has reported once. A worker sends its partials before the progress that
// covers them, in the same transaction and partition, so when the
// watermark passes a window every partial of it has arrived.
type merger struct {
	partition int32
	// progress is each input partition's last reported watermark.
	progress []progress
	wm       int64
	agg      *windows.Aggregator
	// refs are the stream references (nil for none or a file); only the
	// models of this partition ever get data.
	refs      []*windows.Reference
	detectors [][]conceptdrift.Detector
	// pending holds each model's joined errors by pane start until the
	// pane closes; then they are sorted and fed to the detectors.
	pending []map[int64][]windows.JoinedError
	// cals are the stream references' calibrators as broadcast by the
	// mergers that completed them (known false: not yet).
	cals []calibration

	// Per transaction, applied to the metrics after commit.
	late      []uint64
	drifts    [][]uint64 // per model, per detector: detections
	closed    []*windows.Result
	reports   []*windows.DriftReport
	completed []int // models whose stream reference completed here
	dirty     bool

	wms              []int64    // scratch: the sources' watermarks
	checkpoint, next checkpoint // committed, and this transaction's
	encoded          []byte     // this transaction's checkpoint, before chunking
}

type progress struct {
	wm          int64
	known, idle bool
}

// appendProgress encodes a worker's progress record: its partition, watermark
// and idleness.
func appendProgress(b []byte, partition int32, wm int64, idle bool) []byte {
	b = append(b, partialsVersion)
	b = binary.AppendUvarint(b, uint64(partition))
	b = binary.AppendVarint(b, wm)
	return wire.AppendBool(b, idle)
}

func newMerger(p *Processor, partition int32) *merger {
	m := &merger{
		partition: partition,
		progress:  make([]progress, p.partitions),
		wm:        windows.Unset,
		agg:       windows.NewAggregator(p.lengths, p.layout),
		refs:      make([]*windows.Reference, len(p.cfg.Models)),
		pending:   make([]map[int64][]windows.JoinedError, len(p.cfg.Models)),
		cals:      make([]calibration, len(p.cfg.Models)),
		late:      make([]uint64, len(p.cfg.Models)),
		drifts:    make([][]uint64, len(p.cfg.Models)),
	}
	for i := range p.cfg.Models {
		if r := p.cfg.Models[i].Reference; r != nil && r.IsRange() && p.modelPartition[i] == partition {
			m.refs[i] = windows.NewStreamReference(p.layout, i, r.From.UnixMilli(), r.To.UnixMilli())
		}
		m.detectors = append(m.detectors, newDetectors())
		m.pending[i] = make(map[int64][]windows.JoinedError)
		m.drifts[i] = make([]uint64, len(conceptdrift.Names()))
	}
	return m
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

// addPartial merges one harvested pane.
func (m *merger) addPartial(part *windows.Partial) error {
	m.dirty = true
	if ref := m.refs[part.Model]; ref != nil {
		if err := ref.Offer(part); err != nil {
			return fmt.Errorf("reference: %w", err)
		}
	}
	ok, err := m.agg.Add(part)
	if err != nil {
		return err
	}
	if !ok {
		m.late[part.Model] += part.Predictions + part.Outcomes
		return nil
	}
	if len(part.Joined) > 0 {
		m.pending[part.Model][part.Start] = append(m.pending[part.Model][part.Start], part.Joined...)
	}
	return nil
}

// setProgress records a worker's progress.
func (m *merger) setProgress(partition int, wm int64, idle bool) error {
	if partition < 0 || partition >= len(m.progress) {
		return fmt.Errorf("progress of partition %d: the inputs have %d", partition, len(m.progress))
	}
	m.dirty = true
	m.progress[partition] = progress{wm: wm, known: true, idle: idle}
	return nil
}

// advance recomputes the group's watermark and closes what it passed:
// stream references (into m.completed), windows (into m.closed) and the
// detectors' panes; then it merges the panes that no pane still to come
// can precede into their windows and references.
func (m *merger) advance(paneLength int64) error {
	if err := m.close(paneLength); err != nil {
		return err
	}
	m.wms = m.wms[:0]
	for _, pr := range m.progress {
		wm := pr.wm
		if !pr.known {
			wm = windows.Unset
		}
		m.wms = append(m.wms, wm)
	}
	f, ok := windows.FoldFrontier(paneLength, m.wms)
	if !ok {
		return nil
	}
	if err := m.agg.Fold(f); err != nil {
		return err
	}
	for mi, ref := range m.refs {
		if ref != nil {
			if err := ref.Fold(f); err != nil {
				return fmt.Errorf("reference of model %d: %w", mi, err)
			}
		}
	}
	return nil
}

func (m *merger) close(paneLength int64) error {
	low, active := int64(0), false
	for _, pr := range m.progress {
		if !pr.known {
			return nil
		}
		if pr.idle {
			continue
		}
		if !active || pr.wm < low {
			low = pr.wm
		}
		active = true
	}
	if !active || low <= m.wm {
		return nil
	}
	m.wm = low
	m.dirty = true
	for mi, ref := range m.refs {
		if ref != nil && ref.MaybeComplete(low) {
			m.completed = append(m.completed, mi)
		}
	}
	n := len(m.closed)
	var err error
	if m.closed, err = m.agg.Close(low, m.closed); err != nil {
		return err
	}
	for _, r := range m.closed[n:] {
		// Deferred predictions are at or after the end of their
		// model's stream reference, so the window closing them ends
		// after it: the reference, on this merger, is complete.
		if ref := m.refs[r.Model]; len(r.Deferred) > 0 && ref != nil {
			r.ResolveDeferred(ref.Calibrator)
		}
	}
	for mi, byPane := range m.pending {
		var starts []int64
		for s := range byPane {
			if s+paneLength <= low {
				starts = append(starts, s)
			}
		}
		slices.Sort(starts)
		for _, s := range starts {
			errs := byPane[s]
			delete(byPane, s)
			slices.SortFunc(errs, windows.CompareJoinedErrors)
			for di, d := range m.detectors[mi] {
				for _, e := range errs {
					x := 0.0
					if e.Wrong {
						x = 1
					}
					if d.Update(x) {
						m.drifts[mi][di]++
					}
				}
			}
		}
	}
	return nil
}

// resetTxn forgets what the last transaction would have applied.
func (m *merger) resetTxn() {
	clear(m.late)
	for _, d := range m.drifts {
		clear(d)
	}
	m.closed, m.reports, m.completed = m.closed[:0], m.reports[:0], m.completed[:0]
	m.dirty = false
}

const mergerStateVersion = 1

// appendState appends m's checkpoint.
func (m *merger) appendState(b []byte) ([]byte, error) {
	b = append(b, mergerStateVersion)
	b = binary.AppendVarint(b, m.wm)
	b = binary.AppendUvarint(b, uint64(len(m.progress)))
	for _, pr := range m.progress {
		b = binary.AppendVarint(b, pr.wm)
		b = wire.AppendBool(b, pr.known)
		b = wire.AppendBool(b, pr.idle)
	}
	var err error
	if b, err = wire.AppendBlob(b, m.agg); err != nil {
		return b, err
	}
	b = binary.AppendUvarint(b, uint64(len(m.refs)))
	for mi, ref := range m.refs {
		b = wire.AppendBool(b, ref != nil)
		if ref != nil {
			if b, err = wire.AppendBlob(b, ref); err != nil {
				return b, err
			}
		}
		c := m.cals[mi]
		b = wire.AppendBool(b, c.known)
		b = wire.AppendBool(b, c.c != nil)
		if c.c != nil {
			if b, err = wire.AppendBlob(b, c.c); err != nil {
				return b, err
			}
		}
		for _, d := range m.detectors[mi] {
			if b, err = wire.AppendBlob(b, d); err != nil {
				return b, err
			}
		}
		starts := slices.Sorted(maps.Keys(m.pending[mi]))
		b = binary.AppendUvarint(b, uint64(len(starts)))
		for _, s := range starts {
			b = binary.AppendVarint(b, s)
			b = windows.AppendJoinedErrors(b, m.pending[mi][s])
		}
	}
	return b, nil
}

var errState = errors.New("consumer: corrupt state checkpoint")

// restoreState replaces m's state with a checkpoint of appendState.
func (m *merger) restoreState(p *Processor, data []byte) error {
	r := wire.NewReader(data, wire.Corrupt(errState))
	if v := r.Byte(); r.Err() == nil && v != mergerStateVersion {
		return fmt.Errorf("%w: merger version %d", errState, v)
	}
	wm := r.Varint()
	if n := r.Uvarint(); r.Err() == nil && n != uint64(len(m.progress)) {
		return fmt.Errorf("%w: checkpoint of %d input partitions, the inputs have %d (changing the partition count needs a new group)", errState, n, len(m.progress))
	}
	prog := make([]progress, len(m.progress))
	for i := range prog {
		prog[i] = progress{wm: r.Varint(), known: r.Bool(), idle: r.Bool()}
	}
	agg := windows.NewAggregator(p.lengths, p.layout)
	if blob := r.Blob(); r.Err() == nil {
		if err := agg.UnmarshalBinary(blob); err != nil {
			return err
		}
	}
	if n := r.Uvarint(); r.Err() == nil && n != uint64(len(m.refs)) {
		return fmt.Errorf("%w: checkpoint of %d models, %d configured (changing the models needs a new group)", errState, n, len(m.refs))
	}
	refs := make([]*windows.Reference, len(m.refs))
	cals := make([]calibration, len(m.refs))
	dets := make([][]conceptdrift.Detector, len(m.refs))
	pending := make([]map[int64][]windows.JoinedError, len(m.refs))
	unmarshal := func(u interface{ UnmarshalBinary([]byte) error }) error {
		if blob := r.Blob(); r.Err() == nil {
			return u.UnmarshalBinary(blob)
		}
		return r.Err()
	}
	for mi := range m.refs {
		if r.Bool() {
			ref, err := p.layout.DecodeReference(mi, r.Blob())
			if err != nil {
				return err
			}
			refs[mi] = ref
		}
		cals[mi].known = r.Bool()
		if r.Bool() {
			cals[mi].c = new(perf.Calibrator)
			if err := unmarshal(cals[mi].c); err != nil {
				return err
			}
		}
		dets[mi] = newDetectors()
		for _, d := range dets[mi] {
			if err := unmarshal(d); err != nil {
				return err
			}
		}
		pending[mi] = make(map[int64][]windows.JoinedError)
		for range r.Count(2) {
			s := r.Varint()
			pending[mi][s] = windows.ReadJoinedErrors(r, nil)
		}
	}
	if err := r.End(); err != nil {
		return err
	}
	m.wm, m.progress, m.agg, m.refs, m.cals, m.detectors, m.pending = wm, prog, agg, refs, cals, dets, pending
	return nil
}
