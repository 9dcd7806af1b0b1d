package windows

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"iter"
	"maps"
	"slices"
	"time"

	"github.com/reckonhq/reckon/internal/wire"
	"github.com/reckonhq/reckon/windows/join"
	"github.com/reckonhq/reckon/windows/perf"
)

// State as a changelog. A Partition and an Aggregation describe their state
// as records keyed so that keeping the newest value of every key (a
// compacted Kafka topic, say) keeps exactly their live state, and write
// only the records that changed (AppendChanges): the event-time metadata,
// each open pane, each open window, each model's reference and detectors.
// A nil value deletes its key. Restoring reads every live record of an
// owner back (RestorePartition, RestoreAggregation). The delayed-label
// join, which grows with the label delay, keeps a changelog of its own
// (join.DiskStore: a record per id), apart from these.
//
// A key is an owner byte (StatePartition or StateAggregation), the owner's
// id as a uvarint, and a component byte with the component's identity:
//
//	partition    'm'                         watermarks, sources, fragment count, progress reported
//	             'n' model start index       a checkpoint of an open pane
//	             'd' model segment code      a value of a segment's dictionary (segment.go)
//	aggregation  'm'                         group watermark, partitions' progress
//	             'w' window model start      an open window
//	             'r' model                   reference, calibrator, detectors, pending errors
//
// Every value starts with stateVersion.
//
// # Open panes
//
// A pane takes events for as long as it is open, and in exact mode holds
// up to 10,000 values per feature: writing it whole at every commit would
// cost in proportion to what it holds, not to what changed. So each commit
// writes, under the pane's next index, only what the pane received since
// the last one (a partial of its own), and a restore merges the records of
// a pane in index order, as the partition merged them at each commit: the
// same pane, bit for bit. When the records of a pane outgrow twice its
// first one, or number maxPaneRecords, the commit writes the pane whole
// instead, as its new first record, and deletes the older ones: so what a
// pane costs to write stays within about three times what it received, its
// live records within three times the most it ever held (a pane shrinks
// when it leaves exact mode), and a restore merges a bounded number of
// records. When the pane closes, all its
// records are deleted.

// Owners of state records.
const (
	StatePartition   byte = 'p'
	StateAggregation byte = 'a'
)

const (
	stateVersion = 1

	compMeta   = 'm'
	compPane   = 'n'
	compWindow = 'w'
	compModel  = 'r'
	compDict   = 'd'
)

// maxPaneRecords bounds the records of one pane (see Open panes).
const maxPaneRecords = 256

// paneID identifies an open pane of a partition.
type paneID struct {
	model int
	start int64
}

// paneRecords are the records of a pane, indexes [first, next).
type paneRecords struct {
	paneID
	first, next uint64
}

// StateKey is a parsed state key.
type StateKey struct {
	Owner     byte  // StatePartition or StateAggregation
	ID        int32 // the owner's partition
	Component byte
	// The component's identity, where it has one.
	Window, Model int
	Start         int64
	Index         uint64 // of a pane's record; a dictionary value's code
	Segment       int    // of a dictionary value
}

// ParseStateKey parses a key written by AppendChanges.
func ParseStateKey(key []byte) (StateKey, error) {
	r := wire.NewReader(key, wire.Corrupt(ErrCorrupt))
	k := StateKey{Owner: r.Byte()}
	if r.Err() == nil && k.Owner != StatePartition && k.Owner != StateAggregation {
		r.Fail(fmt.Sprintf("unknown state owner %q", k.Owner))
	}
	id := r.Uvarint()
	if r.Err() == nil && id > 1<<31-1 {
		r.Fail("state owner id out of range")
	}
	k.ID = int32(id)
	k.Component = r.Byte()
	switch {
	case r.Err() != nil:
	case k.Component == compMeta:
	case k.Owner == StatePartition && k.Component == compPane:
		k.Model, k.Start, k.Index = int(r.Uvarint()), r.Varint(), r.Uvarint()
	case k.Owner == StatePartition && k.Component == compDict:
		k.Model, k.Segment, k.Index = int(r.Uvarint()), int(r.Uvarint()), r.Uvarint()
	case k.Owner == StateAggregation && k.Component == compWindow:
		k.Window, k.Model, k.Start = int(r.Uvarint()), int(r.Uvarint()), r.Varint()
	case k.Owner == StateAggregation && k.Component == compModel:
		k.Model = int(r.Uvarint())
	default:
		r.Fail(fmt.Sprintf("unknown state component %q", k.Component))
	}
	if err := r.End(); err != nil {
		return StateKey{}, fmt.Errorf("state key %x: %w", key, err)
	}
	return k, nil
}

func appendStateKey(b []byte, owner byte, id int32, comp byte) []byte {
	b = append(b, owner)
	b = binary.AppendUvarint(b, uint64(id))
	return append(b, comp)
}

// AppendChanges calls emit with every state record that changed since the
// last call (or since the partition was made or restored), and forgets the
// changes. emit must not keep key or value past its return. Call it while
// nothing else uses p; an error means a sketch could not be encoded.
func (p *Partition) AppendChanges(emit func(key, value []byte)) error {
	var key, val []byte
	if p.metaDirty {
		key = appendStateKey(key[:0], StatePartition, p.id, compMeta)
		val = append(val[:0], stateVersion)
		for _, s := range p.sources {
			val = binary.AppendVarint(val, s.maxMs)
			val = wire.AppendBool(val, s.seen)
		}
		val = binary.AppendVarint(val, p.own)
		val = binary.AppendVarint(val, p.wm)
		val = wire.AppendBool(val, p.finished)
		val = binary.AppendUvarint(val, p.seq)
		val = wire.AppendBool(val, p.sent)
		val = binary.AppendVarint(val, p.reported.Watermark)
		val = wire.AppendBool(val, p.reported.Idle)
		val = wire.AppendBool(val, p.reported.Finished)
		emit(key, val)
		p.metaDirty = false
	}
	// Dictionary values before the panes whose sub-partials' tags use
	// them: a restore reads every record before decoding any tag anyway.
	for m, ds := range p.dicts {
		for k := range ds {
			d := &ds[k]
			for ; d.written < len(d.values); d.written++ {
				key = appendStateKey(key[:0], StatePartition, p.id, compDict)
				key = binary.AppendUvarint(key, uint64(m))
				key = binary.AppendUvarint(key, uint64(k))
				key = binary.AppendUvarint(key, uint64(d.written+1))
				val = append(val[:0], stateVersion)
				val = append(val, d.values[d.written]...)
				emit(key, val)
			}
		}
	}
	paneKey := func(id paneID, index uint64) []byte {
		key = appendStateKey(key[:0], StatePartition, p.id, compPane)
		key = binary.AppendUvarint(key, uint64(id.model))
		key = binary.AppendVarint(key, id.start)
		return binary.AppendUvarint(key, index)
	}
	// A pane harvested and opened again (a fragment) is written after its
	// deletion.
	for _, rs := range p.removed {
		for i := rs.first; i < rs.next; i++ {
			emit(paneKey(rs.paneID, i), nil)
		}
	}
	p.removed = p.removed[:0]
	for _, open := range p.panes.open {
		for _, pane := range open {
			if !pane.dirty {
				continue
			}
			var err error
			if val, err = p.checkpoint(pane, val, func(index uint64, value []byte) {
				emit(paneKey(paneID{pane.Model, pane.Start}, index), value)
			}); err != nil {
				return fmt.Errorf("pane %d of model %d: %w", pane.Start, pane.Model, err)
			}
		}
	}
	return nil
}

// checkpoint writes what open pane cur received since its last checkpoint
// (see Open panes) and merges it into what was written, leaving cur empty.
// val is scratch, returned for reuse.
func (p *Partition) checkpoint(cur *Partial, val []byte, emit func(index uint64, value []byte)) ([]byte, error) {
	var err error
	if val, err = cur.AppendBinary(append(val[:0], stateVersion)); err != nil {
		return val, err
	}
	w := cur.written
	if w == nil {
		// The first record: what cur holds is the whole pane.
		w = p.panes.take(cur.Model, cur.Start)
		cur.written = w
	}
	if err := mergePane(w, cur); err != nil {
		return val, err
	}
	cur.clear()
	cur.dirty = false
	if cur.next > cur.first && (cur.liveBytes+len(val) > 2*cur.firstBytes || cur.next-cur.first >= maxPaneRecords) {
		// Write the pane whole instead, and delete its older records.
		if val, err = w.AppendBinary(append(val[:0], stateVersion)); err != nil {
			return val, err
		}
		for i := cur.first; i < cur.next; i++ {
			emit(i, nil)
		}
		cur.first, cur.liveBytes, cur.firstBytes = cur.next, 0, len(val)
	}
	if cur.next == cur.first {
		cur.firstBytes = len(val)
	}
	emit(cur.next, val)
	cur.next++
	cur.liveBytes += len(val)
	return val, nil
}

// stateReader reads a state value written with stateVersion.
func stateReader(val []byte) *wire.Reader {
	r := wire.NewReader(val, wire.Corrupt(ErrCorrupt))
	if v := r.Byte(); r.Err() == nil && v != stateVersion {
		r.Fail(fmt.Sprintf("state version %d (written by a newer reckon?)", v))
	}
	return r
}

// RestorePartition returns partition id as the given state records
// describe it (records of other owners are ignored), assigned at now, with
// its join store st (restored apart: JoinStore). No record at all is a
// partition that has seen nothing. A runtime rolls a partition back by
// aborting its store and restoring it from its committed records.
func RestorePartition(set *Settings, cals Calibrations, id int32, now time.Time, st *join.DiskStore, records iter.Seq2[[]byte, []byte]) (*Partition, error) {
	p := NewPartition(set, cals, id, now, st)
	type record struct {
		index uint64
		part  *Partial
		bytes int
	}
	panes := map[paneID][]record{}
	type dictValue struct {
		model, segment int
		code           uint64
	}
	dict := map[dictValue]string{}
	for key, val := range records {
		k, err := ParseStateKey(key)
		if err != nil {
			return nil, err
		}
		if k.Owner != StatePartition || k.ID != id {
			continue
		}
		r := stateReader(val)
		switch k.Component {
		case compMeta:
			for _, s := range p.sources {
				s.maxMs, s.seen = r.Varint(), r.Bool()
			}
			p.own, p.wm, p.finished, p.seq = r.Varint(), r.Varint(), r.Bool(), r.Uvarint()
			p.sent = r.Bool()
			p.reported = Progress{Source: id, Watermark: r.Varint(), Idle: r.Bool(), Finished: r.Bool()}
			err = r.End()
		case compPane:
			var pane *Partial
			if pane, err = set.Layout.readPartial(r, nil); err == nil {
				err = r.End()
			}
			if err == nil && (pane.Model != k.Model || pane.Start != k.Start || pane.End-pane.Start != set.PaneLength) {
				err = fmt.Errorf("%w: pane [%d,%d) of model %d under the key of %d, model %d", ErrCorrupt, pane.Start, pane.End, pane.Model, k.Start, k.Model)
			}
			pid := paneID{k.Model, k.Start}
			panes[pid] = append(panes[pid], record{k.Index, pane, len(val)})
		case compDict:
			if k.Model >= len(p.dicts) || k.Segment >= len(p.dicts[k.Model]) || k.Index == 0 || k.Index > maxSegmentCodes {
				err = fmt.Errorf("%w: segment dictionary value %d of segment %d of model %d", ErrCorrupt, k.Index, k.Segment, k.Model)
				break
			}
			dict[dictValue{k.Model, k.Segment, k.Index}] = string(r.Rest())
		}
		if err != nil {
			return nil, fmt.Errorf("state of partition %d: %w", id, err)
		}
	}
	// Dictionaries: codes 1 to n, each once.
	for m, ds := range p.dicts {
		for k := range ds {
			d := &ds[k]
			for code := uint64(1); ; code++ {
				v, ok := dict[dictValue{m, k, code}]
				if !ok {
					break
				}
				delete(dict, dictValue{m, k, code})
				d.values = append(d.values, v)
				d.codes[v] = uint16(code)
			}
			d.written = len(d.values)
		}
	}
	if len(dict) > 0 {
		return nil, fmt.Errorf("state of partition %d: %w: %d segment dictionary values out of sequence", id, ErrCorrupt, len(dict))
	}
	// Each pane is its records merged in index order, as the partition
	// merged them when it wrote them (checkpoint).
	for pid, recs := range panes {
		slices.SortFunc(recs, func(a, b record) int { return cmp.Compare(a.index, b.index) })
		w := recs[0].part
		w.holders = 0
		cur := p.panes.take(pid.model, pid.start)
		cur.written = w
		cur.first, cur.next, cur.firstBytes = recs[0].index, recs[len(recs)-1].index+1, recs[0].bytes
		for _, rec := range recs {
			if rec.index > recs[0].index {
				if err := mergePane(w, rec.part); err != nil {
					return nil, fmt.Errorf("state of partition %d: pane %d of model %d, record %d: %w", id, pid.start, pid.model, rec.index, err)
				}
			}
			cur.liveBytes += rec.bytes
		}
		p.panes.open[pid.model] = append(p.panes.open[pid.model], cur)
	}
	for _, open := range p.panes.open {
		slices.SortFunc(open, func(a, b *Partial) int { return cmp.Compare(a.Start, b.Start) })
	}
	p.metaDirty = false
	return p, nil
}

// AppendChanges is Partition.AppendChanges for an aggregation.
func (a *Aggregation) AppendChanges(emit func(key, value []byte)) error {
	var key, val []byte
	if a.metaDirty {
		key = appendStateKey(key[:0], StateAggregation, a.id, compMeta)
		val = append(val[:0], stateVersion)
		val = binary.AppendVarint(val, a.wm)
		val = binary.AppendUvarint(val, uint64(len(a.progress)))
		for _, pr := range a.progress {
			val = wire.AppendBool(val, pr.known)
			val = binary.AppendVarint(val, pr.Watermark)
			val = wire.AppendBool(val, pr.Idle)
			val = wire.AppendBool(val, pr.Finished)
		}
		emit(key, val)
		a.metaDirty = false
	}
	windowKey := func(k windowKey) []byte {
		key = appendStateKey(key[:0], StateAggregation, a.id, compWindow)
		key = binary.AppendUvarint(key, uint64(k.window))
		key = binary.AppendUvarint(key, uint64(k.model))
		return binary.AppendVarint(key, k.start)
	}
	for _, k := range a.closedWin {
		emit(windowKey(k), nil)
	}
	a.closedWin = a.closedWin[:0]
	// In key order, so that the changelog is the same whatever the map's.
	for _, k := range slices.SortedFunc(maps.Keys(a.agg.open), compareWindowKeys) {
		ow := a.agg.open[k]
		if !ow.dirty {
			continue
		}
		var err error
		if val, err = appendOpenWindow(append(val[:0], stateVersion), ow); err != nil {
			return fmt.Errorf("window %d of model %d at %d: %w", k.window, k.model, k.start, err)
		}
		emit(windowKey(k), val)
		ow.dirty = false
	}
	for mi, dirty := range a.dirtyRefs {
		if !dirty {
			continue
		}
		var err error
		if val, err = a.appendModel(append(val[:0], stateVersion), mi); err != nil {
			return fmt.Errorf("model %d: %w", mi, err)
		}
		key = appendStateKey(key[:0], StateAggregation, a.id, compModel)
		emit(binary.AppendUvarint(key, uint64(mi)), val)
		a.dirtyRefs[mi] = false
	}
	return nil
}

func compareWindowKeys(x, y windowKey) int {
	return cmp.Or(cmp.Compare(x.start, y.start), cmp.Compare(x.model, y.model), cmp.Compare(x.window, y.window))
}

// appendModel appends model mi's record: its stream reference, the
// calibrator known, its detectors and pending errors.
func (a *Aggregation) appendModel(b []byte, mi int) ([]byte, error) {
	var err error
	ref := a.refs[mi]
	b = wire.AppendBool(b, ref != nil)
	if ref != nil {
		if b, err = wire.AppendBlob(b, ref); err != nil {
			return b, err
		}
	}
	c := a.cals[mi]
	b = wire.AppendBool(b, c.known)
	b = wire.AppendBool(b, c.c != nil)
	if c.c != nil {
		if b, err = wire.AppendBlob(b, c.c); err != nil {
			return b, err
		}
	}
	for _, d := range a.detectors[mi] {
		if b, err = wire.AppendBlob(b, d); err != nil {
			return b, err
		}
	}
	starts := slices.Sorted(maps.Keys(a.pending[mi]))
	b = binary.AppendUvarint(b, uint64(len(starts)))
	for _, s := range starts {
		b = binary.AppendVarint(b, s)
		b = AppendJoinedErrors(b, a.pending[mi][s])
	}
	return b, nil
}

// readModel reads what appendModel wrote into a.
func (a *Aggregation) readModel(r *wire.Reader, mi int) error {
	unmarshal := func(u interface{ UnmarshalBinary([]byte) error }) error {
		if blob := r.Blob(); r.Err() == nil {
			return u.UnmarshalBinary(blob)
		}
		return r.Err()
	}
	if r.Bool() {
		ref, err := a.set.Layout.DecodeReference(mi, r.Blob())
		if err != nil {
			return err
		}
		a.refs[mi] = ref
	}
	a.cals[mi].known = r.Bool()
	if r.Bool() {
		a.cals[mi].c = new(perf.Calibrator)
		if err := unmarshal(a.cals[mi].c); err != nil {
			return err
		}
	}
	for _, d := range a.detectors[mi] {
		if err := unmarshal(d); err != nil {
			return err
		}
	}
	for range r.Count(2) {
		s := r.Varint()
		a.pending[mi][s] = ReadJoinedErrors(r, nil)
	}
	return r.End()
}

// RestoreAggregation is RestorePartition for aggregation id.
func RestoreAggregation(set *Settings, id int32, records iter.Seq2[[]byte, []byte]) (*Aggregation, error) {
	a := NewAggregation(set, id)
	for key, val := range records {
		k, err := ParseStateKey(key)
		if err != nil {
			return nil, err
		}
		if k.Owner != StateAggregation || k.ID != id {
			continue
		}
		r := stateReader(val)
		switch k.Component {
		case compMeta:
			a.wm = r.Varint()
			if n := r.Uvarint(); r.Err() == nil && n != uint64(len(a.progress)) {
				return nil, fmt.Errorf("%w: state of %d input partitions, the inputs have %d (changing the partition count needs a new group)", ErrCorrupt, n, len(a.progress))
			}
			for i := range a.progress {
				pr := &a.progress[i]
				pr.known, pr.Watermark, pr.Idle, pr.Finished = r.Bool(), r.Varint(), r.Bool(), r.Bool()
				pr.Source = int32(i)
			}
			err = r.End()
		case compWindow:
			if k.Window >= len(set.Lengths) || k.Model >= len(set.Models) {
				err = fmt.Errorf("%w: window %d of model %d not configured", ErrCorrupt, k.Window, k.Model)
				break
			}
			wk := windowKey{k.Model, k.Window, k.Start}
			var ow *openWindow
			if ow, err = a.agg.readOpenWindow(wk, r.Rest()); err == nil {
				a.agg.open[wk] = ow
			}
		case compModel:
			if k.Model >= len(set.Models) {
				err = fmt.Errorf("%w: model %d not configured (changing the models needs a new group)", ErrCorrupt, k.Model)
				break
			}
			a.refs[k.Model] = nil
			err = a.readModel(r, k.Model)
		}
		if err != nil {
			return nil, fmt.Errorf("state of the aggregation of partition %d: %w", id, err)
		}
	}
	a.agg.closedThrough = a.wm
	a.metaDirty = false
	return a, nil
}

// Records returns the (key, value) pairs of m, for the Restore functions:
// what a runtime kept of the committed changelog, keyed by string(key).
func Records(m map[string][]byte) iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		// Sorted, so that restoring does the same whatever the map's order.
		for _, k := range slices.SortedFunc(maps.Keys(m), func(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) }) {
			if !yield([]byte(k), m[k]) {
				return
			}
		}
	}
}
