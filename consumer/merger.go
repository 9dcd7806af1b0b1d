package consumer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

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
	// calibrators are the stream references' calibrators broadcast by the
	// mergers that completed them (nil: not known here).
	calibrators []*perf.Calibrator

	// Per transaction, applied to the metrics after commit.
	late      []uint64
	drifts    [][]uint64 // per model, per detector: detections
	closed    []*windows.Result
	reports   []*windows.DriftReport
	completed []int // models whose stream reference completed here
	dirty     bool

	checkpoint, next checkpoint // committed, and this transaction's
}

type progress struct {
	wm          int64
	known, idle bool
}

// progressOf encodes a worker's progress record: its partition, watermark
// and idleness.
func appendProgress(b []byte, partition int32, wm int64, idle bool) []byte {
	b = append(b, partialsVersion)
	b = binary.AppendUvarint(b, uint64(partition))
	b = binary.AppendVarint(b, wm)
	return append(b, b2byte(idle))
}

func b2byte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func newMerger(p *Processor, partition int32) *merger {
	m := &merger{
		partition:   partition,
		progress:    make([]progress, p.partitions),
		wm:          windows.Unset,
		agg:         windows.NewAggregator(p.lengths, p.layout),
		refs:        make([]*windows.Reference, len(p.cfg.Models)),
		pending:     make([]map[int64][]windows.JoinedError, len(p.cfg.Models)),
		calibrators: make([]*perf.Calibrator, len(p.cfg.Models)),
		late:        make([]uint64, len(p.cfg.Models)),
		drifts:      make([][]uint64, len(p.cfg.Models)),
	}
	for i := range p.cfg.Models {
		if r := p.cfg.Models[i].Reference; r != nil && r.IsRange() {
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
// windows (into m.closed) and the detectors' panes.
func (m *merger) advance(paneLength int64) ([]int, error) {
	low, active := int64(0), false
	for _, pr := range m.progress {
		if !pr.known {
			return nil, nil
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
		return nil, nil
	}
	m.wm = low
	m.dirty = true
	var err error
	if m.closed, err = m.agg.Close(low, m.closed); err != nil {
		return nil, err
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
	var completed []int
	for mi, ref := range m.refs {
		if ref != nil && ref.MaybeComplete(low) {
			completed = append(completed, mi)
		}
	}
	return completed, nil
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
		b = append(b, b2byte(pr.known)|b2byte(pr.idle)<<1)
	}
	var err error
	if b, err = appendBlob(b, m.agg); err != nil {
		return b, err
	}
	b = binary.AppendUvarint(b, uint64(len(m.refs)))
	for mi := range m.refs {
		if ref := m.refs[mi]; ref != nil {
			b = append(b, 1)
			if b, err = appendBlob(b, ref); err != nil {
				return b, err
			}
		} else {
			b = append(b, 0)
		}
		if c := m.calibrators[mi]; c != nil {
			b = append(b, 1)
			if b, err = appendBlob(b, c); err != nil {
				return b, err
			}
		} else {
			b = append(b, 0)
		}
		for _, d := range m.detectors[mi] {
			enc, err := d.MarshalBinary()
			if err != nil {
				return b, err
			}
			b = binary.AppendUvarint(b, uint64(len(enc)))
			b = append(b, enc...)
		}
		starts := make([]int64, 0, len(m.pending[mi]))
		for s := range m.pending[mi] {
			starts = append(starts, s)
		}
		slices.Sort(starts)
		b = binary.AppendUvarint(b, uint64(len(starts)))
		for _, s := range starts {
			errs := m.pending[mi][s]
			b = binary.AppendVarint(b, s)
			b = binary.AppendUvarint(b, uint64(len(errs)))
			for _, e := range errs {
				b = binary.AppendVarint(b, e.OutcomeMs)
				b = binary.AppendVarint(b, e.PredMs)
				b = append(b, b2byte(e.Wrong))
			}
		}
	}
	return b, nil
}

var errState = errors.New("consumer: corrupt state checkpoint")

// restoreState replaces m's state with a checkpoint of appendState.
func (m *merger) restoreState(p *Processor, data []byte) error {
	r := &stateReader{b: data}
	if v := r.byte(); r.err == nil && v != mergerStateVersion {
		return fmt.Errorf("%w: merger version %d", errState, v)
	}
	wm := r.varint()
	n := r.uvarint()
	if r.err == nil && n != uint64(len(m.progress)) {
		return fmt.Errorf("%w: checkpoint of %d input partitions, the inputs have %d (changing the partition count needs a new group)", errState, n, len(m.progress))
	}
	prog := make([]progress, len(m.progress))
	for i := range prog {
		prog[i].wm = r.varint()
		f := r.byte()
		prog[i].known, prog[i].idle = f&1 != 0, f&2 != 0
	}
	agg := windows.NewAggregator(p.lengths, p.layout)
	if blob := r.blob(); r.err == nil {
		if err := agg.UnmarshalBinary(blob); err != nil {
			return err
		}
	}
	if n := r.uvarint(); r.err == nil && n != uint64(len(m.refs)) {
		return fmt.Errorf("%w: checkpoint of %d models, %d configured (changing the models needs a new group)", errState, n, len(m.refs))
	}
	refs := make([]*windows.Reference, len(m.refs))
	cals := make([]*perf.Calibrator, len(m.refs))
	dets := make([][]conceptdrift.Detector, len(m.refs))
	pending := make([]map[int64][]windows.JoinedError, len(m.refs))
	for mi := range m.refs {
		if r.byte() == 1 {
			blob := r.blob()
			if r.err != nil {
				break
			}
			ref, err := p.layout.DecodeReference(mi, blob)
			if err != nil {
				return err
			}
			refs[mi] = ref
		}
		if r.byte() == 1 {
			blob := r.blob()
			if r.err != nil {
				break
			}
			c := new(perf.Calibrator)
			if err := c.UnmarshalBinary(blob); err != nil {
				return err
			}
			cals[mi] = c
		}
		dets[mi] = newDetectors()
		for _, d := range dets[mi] {
			blob := r.blob()
			if r.err != nil {
				break
			}
			if err := d.UnmarshalBinary(blob); err != nil {
				return err
			}
		}
		pending[mi] = make(map[int64][]windows.JoinedError)
		np := r.uvarint()
		for range np {
			s := r.varint()
			ne := r.uvarint()
			if r.err != nil || ne > uint64(len(r.b)) {
				r.fail()
				break
			}
			errs := make([]windows.JoinedError, 0, ne)
			for range ne {
				e := windows.JoinedError{OutcomeMs: r.varint(), PredMs: r.varint(), Wrong: r.byte() == 1}
				errs = append(errs, e)
			}
			pending[mi][s] = errs
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	if r.err != nil {
		return r.err
	}
	m.wm, m.progress, m.agg, m.refs, m.calibrators, m.detectors, m.pending = wm, prog, agg, refs, cals, dets, pending
	return nil
}
