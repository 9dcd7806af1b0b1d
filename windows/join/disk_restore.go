package join

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// restoring is the state of a restore between the first Restore and
// Restored.
type restoring struct {
	// cold: the store was empty, so records are written as they come and
	// the time index and the counts are built at the end, in one pass.
	// Otherwise (warm) each record updates them as it is applied.
	cold  bool
	batch *pebble.Batch // warm
	// cold: records buffered, to be written in key order (a memtable takes
	// ordered keys several times faster), values in arena.
	ops   []restoreOp
	arena []byte
	begun bool // the metadata marking the restore unfinished is written
}

type restoreOp struct {
	id     ident
	seq    int32 // the record's place in the batch
	v0, v1 int32 // the value is arena[v0:v1]; v0 < 0 for a tombstone
}

// restoreBatchBytes is how much a warm restore buffers before writing to
// pebble.
const restoreBatchBytes = 4 << 20

// coldBatchBytes is how much a cold restore buffers: just over half a
// memtable, so that pebble takes each batch as a sorted run of its own (a
// "flushable batch", written to a table without going through the
// memtable).
func (d *DiskStore) coldBatchBytes() int { return int(memtableBytes(d.opts.memory))/2 + 4<<10 }

var errRestoreOrder = errors.New("join: Restore and Restored come before any event, after Open or Reset")

// Restore applies one changelog record, as Changes gave it and Kafka keeps
// it (value nil for a tombstone), to the state on disk. Call it for each
// record with IsChangelogKey from Position() on, in offset order, right after
// Open or Reset, then call Restored. Records already reflected on disk may
// come again: applying one twice is harmless. Sink sees nothing.
func (d *DiskStore) Restore(key, value []byte) error {
	if d.err != nil {
		return d.err
	}
	if len(d.jlog) > 0 {
		return errRestoreOrder
	}
	if d.rs == nil {
		d.rs = &restoring{cold: d.held == 0}
		if d.rs.cold {
			if err := d.reopenDB(true); err != nil {
				d.fail(err)
				return d.err
			}
		} else {
			d.rs.batch = d.db.NewIndexedBatch()
		}
	}
	if err := d.restore(key, value); err != nil {
		return fmt.Errorf("join: changelog record %x: %w", key, err)
	}
	if rs := d.rs; (rs.cold && len(rs.arena)+len(rs.ops)*(eKeyLen+4) >= d.coldBatchBytes()) ||
		(!rs.cold && rs.batch.Len() >= restoreBatchBytes) {
		return d.flushRestore(false)
	}
	return nil
}

func (d *DiskStore) restore(key, value []byte) error {
	b := d.rs.batch
	if string(key) == metaKey {
		wm, next, swept, err := decodeMetaValue(value)
		if err != nil {
			return err
		}
		d.wm, d.nextSweep, d.swept = wm, next, swept
		return nil
	}
	id, ok := parseEKey(key)
	if !ok {
		return fmt.Errorf("%w: not a join changelog key", errFormat)
	}
	var after entry
	if value != nil {
		var err error
		if after, err = decodeEntryValue(id.key, id.model, value); err != nil {
			return err
		}
	}
	if rs := d.rs; rs.cold {
		d.rs0++
		op := restoreOp{id: id, seq: int32(len(rs.ops)), v0: -1}
		if value != nil {
			op.v0 = int32(len(rs.arena))
			rs.arena = append(rs.arena, value...)
			op.v1 = int32(len(rs.arena))
		}
		rs.ops = append(rs.ops, op)
		return nil
	}
	// Warm: undo what the id held, then apply the record.
	v, closer, err := b.Get(key)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return err
	default:
		before, err := decodeEntryValue(id.key, id.model, v)
		closer.Close()
		if err != nil {
			return err
		}
		d.count(before, -1)
		if value == nil || before.t != after.t {
			if err := b.Delete(appendTKey(nil, before.t, id.key, id.model), nil); err != nil {
				return err
			}
		}
	}
	if value == nil {
		return b.Delete(key, nil)
	}
	d.count(after, +1)
	if err := b.Set(key, value, nil); err != nil {
		return err
	}
	return b.Set(appendTKey(nil, after.t, id.key, id.model), []byte{after.flags}, nil)
}

// count adds n to the gauges for e.
func (d *DiskStore) count(e entry, n int) {
	d.held += n
	switch e.state() {
	case statePending:
		d.pending += n
	case stateWaiting:
		d.waiting += n
	}
}

// flushRestore writes the restore's batch. A warm restore's batch carries
// the metadata, so that the counts on disk always match the entries there;
// the position stays the old one until Restored.
func (d *DiskStore) flushRestore(final bool) error {
	rs := d.rs
	b := rs.batch
	if rs.cold {
		b = d.db.NewBatch()
		if !rs.begun {
			// Until Restored, Open would start this directory afresh.
			b.Set([]byte{mPrefix}, d.appendLocalMeta(nil, false), nil)
			rs.begun = true
		}
		// Of two records of one key, the later one is written later, and
		// wins.
		slices.SortFunc(rs.ops, func(x, y restoreOp) int {
			if x.id.key != y.id.key { // the common case, decided by one comparison
				return cmp.Compare(x.id.key, y.id.key)
			}
			return cmp.Or(cmp.Compare(x.id.model, y.id.model), cmp.Compare(x.seq, y.seq))
		})
		var k []byte
		for i := range rs.ops {
			op := &rs.ops[i]
			k = appendEKey(k[:0], op.id.key, op.id.model)
			if op.v0 < 0 {
				b.Delete(k, nil)
			} else {
				b.Set(k, rs.arena[op.v0:op.v1], nil)
			}
		}
		rs.ops, rs.arena = rs.ops[:0], rs.arena[:0]
	} else {
		b.Set([]byte{mPrefix}, d.appendLocalMeta(nil, true), nil)
	}
	err := b.Commit(pebble.NoSync)
	b.Close()
	rs.batch = nil
	if err != nil {
		d.fail(err)
		return d.err
	}
	if !final && !rs.cold {
		rs.batch = d.db.NewIndexedBatch()
	}
	return nil
}

// Restored ends a restore: the store now reflects the changelog up to
// position (the offset after the last record read; Position() if there were
// none). It writes what Restore applied, builds the time index after a cold
// restore, and fills the memory cache. Call it even when there was nothing
// to restore; the store is then ready for events.
func (d *DiskStore) Restored(position int64) error {
	if d.err != nil {
		return d.err
	}
	if len(d.jlog) > 0 {
		return errRestoreOrder
	}
	cold := d.rs != nil && d.rs.cold
	if d.rs != nil {
		if err := d.flushRestore(true); err != nil {
			return err
		}
	}
	d.rs = nil
	d.pos = position
	defer func() { d.rs0 = 0 }()
	if err := d.load(cold); err != nil {
		d.fail(err)
		return d.err
	}
	if cold {
		// Back to normal operation: pebble merges the sorted runs level 0
		// holds in the background, while the store serves.
		if err := d.reopenDB(false); err != nil {
			d.fail(err)
			return d.err
		}
	}
	b := d.db.NewBatch()
	b.Set([]byte{mPrefix}, d.appendLocalMeta(nil, true), nil)
	if err := b.Commit(pebble.NoSync); err != nil {
		d.fail(err)
	}
	b.Close()
	d.last = d.snapshot()
	return d.err
}

// load reads every entry on disk in key order, into the memory cache while
// it has room. After a cold restore it also writes the time index and counts
// the entries, and drops any whose time the last sweep passed: an id retired
// whose tombstone the changelog topic no longer has.
func (d *DiskStore) load(build bool) error {
	// Size the cache for what it will hold, sparing the rehashes of growing.
	n := d.held
	if build {
		n = d.rs0
	}
	d.hot = table{}
	d.hot.alloc(max(min(capacityFor(n), d.hotCells*2/3), minCapacity))
	if build {
		d.held, d.pending, d.waiting = 0, 0, 0
	}
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: []byte{ePrefix}, UpperBound: []byte{ePrefix + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	var b *pebble.Batch
	if build {
		b = d.db.NewBatch()
		defer func() { b.Close() }()
	}
	full := false
	for ok := it.First(); ok; ok = it.Next() {
		id, ok := parseEKey(it.Key())
		if !ok {
			continue // the metadata record 'J' is not kept on disk
		}
		e, err := decodeEntryValue(id.key, id.model, it.Value())
		if err != nil {
			return err
		}
		if build {
			if e.t <= d.swept && d.swept != minSwept {
				b.Delete(it.Key(), nil)
				continue
			}
			d.count(e, +1)
			d.tops = append(d.tops, tOp{t: e.t, id: id, flags: e.flags})
			if len(d.tops) >= d.coldBatchBytes()/(tKeyLen+4) {
				if err := d.writeTimeIndex(b); err != nil {
					return err
				}
			}
		}
		if full && !build {
			break // the rest stays on disk
		}
		if full || !d.hotFits(e.t) {
			continue
		}
		if d.hot.full() {
			if n := len(d.hot.slots); n+n/2 > d.cellBudget() {
				full = true
				continue
			}
			d.hot.grow()
		}
		sl, off := d.hotCell(e)
		d.hot.insert(sl, off, e.tag)
	}
	if err := it.Error(); err != nil {
		return err
	}
	if build {
		if err := d.writeTimeIndex(b); err != nil {
			return err
		}
	}
	d.cold = d.held - d.hot.count
	return nil
}

// writeTimeIndex writes the time index records in tops, in key order, with
// the deletions already in b.
func (d *DiskStore) writeTimeIndex(b *pebble.Batch) error {
	slices.SortFunc(d.tops, compareTOps)
	var k []byte
	for _, op := range d.tops {
		k = appendTKey(k[:0], op.t, op.id.key, op.id.model)
		b.Set(k, []byte{op.flags}, nil)
	}
	d.tops = d.tops[:0]
	err := b.Commit(pebble.NoSync)
	b.Reset()
	return err
}

// Written returns when the state on disk was last written (by Commit or
// Restored), or the zero time for a new store. A changelog topic keeps
// tombstones only for its delete.retention.ms: a directory older than that
// may hold ids whose retirement the changelog no longer records, and should
// be Reset before restoring.
func (d *DiskStore) Written() time.Time {
	if d.writtenMs == 0 {
		return time.Time{}
	}
	return time.UnixMilli(d.writtenMs)
}
