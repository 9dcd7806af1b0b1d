package join

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/bits"
	"os"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// DiskStore is a Store whose state lives in an embedded LSM (pebble) under a
// directory, with the entries it uses most in memory, and which records what
// each transaction changed as a changelog: key/value pairs that a compacted
// Kafka topic turns into exactly the live state. Its decisions, Sink calls
// and gauges are those of Store for the same calls (the package
// documentation); only the order of the retirements one sweep reports may
// differ. docs/state.md describes the design and the formats.
//
// # Transactions
//
// Every change since the last Commit is held in memory, in a journal, and
// nothing of it reaches the disk before Commit:
//
//	AddPrediction, AddOutcome, Advance, Sweep   the transaction's work
//	Changes(f)                                  f(key, value) for each id it changed, and for the metadata
//	Commit(position)                            once Kafka has committed them: write them to disk
//	Abort()                                     instead: back to the state of the last Commit
//
// A retirement or a join costs a sweep or a commit only what it changes: the
// disk holds a time index, so a sweep reads only the ids it retires.
//
// # Restoring
//
// Open a directory, read the changelog from Position() on, pass each record
// to Restore, then call Restored with the offset after the last one. A
// directory that already holds the state (a warm restore) needs only the
// records written since; an empty one (cold) needs all of them.
//
// # Memory
//
// A DiskStore keeps about WithMemory bytes (default 256 MiB): 1/4 for
// pebble's block cache, up to 1/4 (at most 128 MiB) for its two memtables,
// 1/8 left for pebble's other structures and the Go runtime, and the rest
// for a cache of committed entries (23 to 34 bytes per id). The journal of
// the open transaction is on top: about 100 bytes per id it changed. While
// every committed id is cached, the disk is only written; an id that is not
// cached costs a pebble lookup (bloom filters spare the data blocks of most
// absent ids).
//
// A DiskStore is not safe for concurrent use: one goroutine owns it, as it
// owns a Store. Its errors stick: after an I/O error, Changes and Commit
// return it, and the DiskStore must be closed and opened again.
type DiskStore struct {
	core
	dir  string
	opts options
	db   *pebble.DB

	held int // ids held: committed ones changed by the journal

	// hot caches committed entries: exactly those that are on disk, with the
	// same contents. A cell's time is 40 bits from hotBase (see hotTime).
	// cold counts the committed entries that are not in hot: while it is
	// zero, an id absent from hot and from the journal is absent.
	hot      table
	hotBase  int64
	hotCells int    // the capacity hot may grow to
	evictRnd uint64 // the state of evict's random starts
	cold     int

	// The journal: every id the open transaction changed, in the order of
	// its first change, with its committed state (before) and its state now
	// (after). due orders the times of the entries it holds, so that a sweep
	// finds those overdue without scanning it.
	jidx map[ident]int32
	jlog []change
	due  dueHeap

	// swept is the limit of the last sweep: no committed id has a time at or
	// below it, but those the journal holds.
	swept int64

	last      snapshotOf // the state of the last Commit, for Abort
	writtenMs int64      // when the metadata on disk was written, Unix ms
	pos       int64      // the changelog position of the state on disk
	err       error      // the first I/O error; it sticks
	arena     []byte     // what Changes hands out, valid until Commit or Abort

	rs  *restoring // non-nil between the first Restore and Restored
	rs0 int        // entry records a cold restore has read

	kbuf  [tKeyLen]byte
	order []eOp // Commit's buffers
	tops  []tOp
}

// eOp is an entry write of Commit: the id, inline so that sorting reads
// contiguous memory rather than chasing journal indices (the sort was 7% of
// the full pipeline's CPU that way), and its journal index.
type eOp struct {
	id ident
	i  int32
}

// compareTOps orders time index writes as their keys sort.
func compareTOps(x, y tOp) int {
	if x.t != y.t {
		return cmp.Compare(x.t, y.t)
	}
	return cmp.Or(cmp.Compare(x.id.key, y.id.key), cmp.Compare(x.id.model, y.id.model))
}

// tOp is a write to the time index.
type tOp struct {
	t     int64
	id    ident
	flags uint8
	del   bool
}

// snapshotOf is what Abort puts back.
type snapshotOf struct {
	core  core
	held  int
	swept int64
}

// change is one id in the journal.
type change struct {
	id            ident
	before, after entry
	had, has      bool // whether the id was held at the last commit, and is now
}

// changed reports whether the transaction changed the id's committed state.
func (c *change) changed() bool {
	return c.had != c.has || (c.has && c.before != c.after)
}

// minSwept is the swept limit of a store that never swept.
const minSwept = math.MinInt64

// flagRef marks a hot cell as used since an eviction's scan last
// passed. It lives in the cell's flags, above the bits of flagsKnown.
const flagRef uint8 = 0x10

const defaultMemory = 256 << 20

// WithMemory sets a DiskStore's memory budget in bytes (see DiskStore). A
// Store ignores it.
func WithMemory(bytes int64) Option {
	return func(o *options) { o.memory = bytes }
}

// Open opens the DiskStore in dir, creating the directory if it is missing,
// with label TTL ttl (which may differ from the one the state was written
// with: held times are kept, not deadlines). Each store needs a directory of
// its own. It panics if ttl is less than a millisecond.
//
// A directory left by a cold restore that did not finish is emptied.
func Open(dir string, ttl time.Duration, opts ...Option) (*DiskStore, error) {
	o := applyOptions(opts)
	if o.memory <= 0 {
		o.memory = defaultMemory
	}
	d := &DiskStore{core: newCore(ttl, o), dir: dir, opts: o, swept: minSwept}
	if err := d.open(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *DiskStore) open() error {
	m := d.opts.memory
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return fmt.Errorf("join: state directory: %w", err)
	}
	if err := d.openDB(false); err != nil {
		return err
	}
	d.hotCells = max(int(m-m/4-2*memtableBytes(m)-m/8)/cellBytes, minCapacity)
	d.hot.alloc(minCapacity)
	d.jidx = make(map[ident]int32)

	mt, err := d.readMeta()
	switch {
	case err != nil:
		d.db.Close()
		return err
	case mt == nil || !mt.complete:
		// New, or a cold restore that did not finish: start empty.
		if err := d.wipe(); err != nil {
			d.db.Close()
			return err
		}
	default:
		d.wm, d.nextSweep, d.swept = mt.wm, mt.nextSweep, mt.swept
		d.pending, d.waiting, d.held = mt.pending, mt.waiting, mt.held
		d.pos, d.writtenMs = mt.pos, mt.writtenMs
		d.cold = d.held
	}
	d.last = d.snapshot()
	return nil
}

// openDB opens pebble in the store's directory. In bulk mode, for a cold
// restore, pebble compacts nothing on its own: the sorted runs the restore
// writes pile up in level 0 until Restored merges them all at once, each
// byte written twice instead of once per level.
func (d *DiskStore) openDB(bulk bool) error {
	m := d.opts.memory
	cache := pebble.NewCache(max(m/4, 1<<20))
	defer cache.Unref()
	po := &pebble.Options{
		Cache:                       cache,
		DisableWAL:                  true, // the changelog in Kafka is the log
		MemTableSize:                uint64(memtableBytes(m)),
		MemTableStopWritesThreshold: 2,
		FormatMajorVersion:          pebble.FormatNewest,
		Logger:                      quietLogger{},
	}
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	if bulk {
		po.DisableAutomaticCompactions = true
		po.L0CompactionThreshold = math.MaxInt32 / 2
		po.L0CompactionFileThreshold = math.MaxInt32 / 2
		po.L0StopWritesThreshold = math.MaxInt32
	}
	db, err := pebble.Open(d.dir, po)
	if err != nil {
		return fmt.Errorf("join: opening %s: %w", d.dir, err)
	}
	d.db = db
	return nil
}

// reopenDB closes pebble, with everything written on disk, and opens it
// again in or out of bulk mode.
func (d *DiskStore) reopenDB(bulk bool) error {
	err := d.db.Flush()
	err = errors.Join(err, d.db.Close())
	d.db = nil
	if err != nil {
		return fmt.Errorf("join: closing %s: %w", d.dir, err)
	}
	return d.openDB(bulk)
}

const cellBytes = 20 // a hot table cell: a slot and an offset

// tagBytes is what a cell costs more once the store holds tags.
const tagBytes = 8

// cellBudget is the capacity hot may grow to: hotCells, or fewer once
// cells hold tags, so that the cache stays within its memory.
func (d *DiskStore) cellBudget() int {
	if d.hot.tags == nil {
		return d.hotCells
	}
	return max(d.hotCells*cellBytes/(cellBytes+tagBytes), minCapacity)
}

// memtableBytes is the size of one of pebble's memtables under a memory
// budget of m bytes. There are at most two. Larger memtables cost less CPU
// per write (fewer flushes and compactions) up to about 64 MiB.
func memtableBytes(m int64) int64 { return min(max(m/8, 1<<20), 64<<20) }

// Close closes the store. The open transaction is lost; what was committed
// is on disk, so that opening the directory again replays nothing. (After a
// crash instead, the memtables are lost with the process: pebble runs
// without a write-ahead log, and a warm restore replays what they held.)
func (d *DiskStore) Close() error {
	if d.db == nil {
		return nil
	}
	var err error
	if d.err == nil && d.rs == nil {
		err = d.db.Flush()
	}
	err = errors.Join(err, d.db.Close())
	d.db = nil
	if err != nil {
		return fmt.Errorf("join: closing %s: %w", d.dir, err)
	}
	return nil
}

// Reset empties the store and its directory: the next restore is cold. Use it
// when the directory's state cannot be continued (Position beyond the
// changelog's end, or older than the changelog topic keeps tombstones).
func (d *DiskStore) Reset() error {
	if err := d.Close(); err != nil {
		return err
	}
	if err := os.RemoveAll(d.dir); err != nil {
		return fmt.Errorf("join: removing %s: %w", d.dir, err)
	}
	*d = DiskStore{core: newCore(time.Duration(d.ttl)*time.Millisecond, d.opts), dir: d.dir, opts: d.opts, swept: minSwept}
	return d.open()
}

// Len returns how many ids are held in any state.
func (d *DiskStore) Len() int { return d.held }

// Position returns the changelog position the state on disk reflects: the
// offset passed to the last Commit or Restored, 0 for a new store. A restore
// reads the changelog from there.
func (d *DiskStore) Position() int64 { return d.pos }

// Err returns the first I/O error the store met, or nil.
func (d *DiskStore) Err() error { return d.err }

func (d *DiskStore) fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("join: state store %s: %w", d.dir, err)
	}
}

// MemoryBytes returns the bytes the store holds in memory: the entry cache,
// the journal, and pebble's block cache and memtables.
func (d *DiskStore) MemoryBytes() int64 {
	m := d.db.Metrics()
	cell := int64(cellBytes)
	if d.hot.tags != nil {
		cell += tagBytes
	}
	n := int64(len(d.hot.slots))*cell +
		int64(cap(d.jlog))*int64(sizeofChange) + int64(len(d.jidx))*mapBytesPerID +
		int64(cap(d.due))*16 + int64(cap(d.arena))
	return n + m.BlockCache.Size + int64(m.MemTable.Size)
}

// DiskBytes returns the bytes the store's directory holds.
func (d *DiskStore) DiskBytes() int64 { return int64(d.db.Metrics().DiskSpaceUsage()) }

const (
	sizeofChange  = 64 // change: ident (16) and two entries (24 each)
	mapBytesPerID = 40 // a map[ident]int32 entry with its share of empty slots
)

func (d *DiskStore) snapshot() snapshotOf {
	return snapshotOf{core: d.core, held: d.held, swept: d.swept}
}

// AddPrediction processes a prediction event, as Store.AddPrediction does.
func (d *DiskStore) AddPrediction(p Prediction, sink Sink) {
	e, found, j := d.lookup(p.Key, p.Model)
	d.record(ident{p.Key, p.Model}, e, found, j, d.prediction(e, found, p, sink))
}

// AddOutcome processes an outcome event, as Store.AddOutcome does.
func (d *DiskStore) AddOutcome(o Outcome, sink Sink) {
	e, found, j := d.lookup(o.Key, o.Model)
	d.record(ident{o.Key, o.Model}, e, found, j, d.outcome(e, found, o, sink))
}

// Advance moves the watermark, as Store.Advance does, sweeping at the same
// points.
func (d *DiskStore) Advance(watermarkMs int64, sink Sink) {
	if d.advance(watermarkMs) {
		d.Sweep(sink)
	}
}

// lookup returns the entry the id holds now, and its journal index, or −1
// when the journal does not have it.
func (d *DiskStore) lookup(key uint64, model uint16) (e entry, found bool, j int32) {
	if j, ok := d.jidx[ident{key, model}]; ok {
		c := &d.jlog[j]
		return c.after, c.has, j
	}
	if i, ok := d.hot.find(key, model); ok {
		d.hot.slots[i].flags |= flagRef
		return d.hotEntry(i), true, -1
	}
	if d.cold > 0 {
		e, found = d.get(key, model)
	}
	return e, found, -1
}

// record puts a decision about id, whose entry was e (found) and journal
// index j, into the journal.
func (d *DiskStore) record(id ident, e entry, found bool, j int32, dc decision) {
	if dc.act == keep {
		return
	}
	if j < 0 {
		j = int32(len(d.jlog))
		d.jlog = append(d.jlog, change{id: id, before: e, after: e, had: found, has: found})
		d.jidx[id] = j
	}
	c := &d.jlog[j]
	if dc.act == drop {
		c.has = false
		d.held--
		return
	}
	if !c.has {
		d.held++
	}
	c.after, c.has = dc.e, true
	d.due.push(dc.e.t, j)
}

// Sweep retires every held id whose deadline the watermark has reached, as
// Store.Sweep does. It reads the committed ids that retire, from the time
// index on disk, and the overdue ones of the journal; nothing else.
func (d *DiskStore) Sweep(sink Sink) {
	limit, ok := d.overdueLimit()
	if !ok {
		return
	}
	if d.last.held > 0 && limit >= d.swept { // committed ids may be overdue
		d.sweepDisk(limit, sink)
	}
	for len(d.due) > 0 && d.due[0].t <= limit {
		it := d.due.pop()
		c := &d.jlog[it.j]
		if c.has && c.after.t == it.t { // else a stale item: the entry changed
			d.retire(c.after, sink)
			c.has = false
			d.held--
		}
	}
	d.swept = max(d.swept, limit)
}

// sweepDisk retires the committed ids with times in [swept, limit] that the
// journal does not hold.
func (d *DiskStore) sweepDisk(limit int64, sink Sink) {
	if d.err != nil {
		return
	}
	lo := appendTKey(nil, d.swept, 0, 0)
	var hi []byte
	if limit < math.MaxInt64 {
		hi = appendTKey(nil, limit+1, 0, 0)
	} else {
		hi = []byte{tPrefix + 1}
	}
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		d.fail(err)
		return
	}
	for ok := it.First(); ok; ok = it.Next() {
		e, err := decodeTKey(it.Key(), it.Value())
		if err != nil {
			d.fail(err)
			break
		}
		id := ident{e.key, e.model}
		if _, ok := d.jidx[id]; ok {
			continue // the journal's state is the id's
		}
		d.retire(e, sink)
		d.record(id, e, true, -1, decision{act: drop})
	}
	if err := it.Close(); err != nil {
		d.fail(err)
	}
}

// Changes calls f for every id the open transaction changed, with the key
// and value of its changelog record (value nil: the id is no longer held),
// then, if the watermark or the sweep schedule moved, for the metadata
// record. Records come in a deterministic order; a key comes at most once.
// key and value stay valid until Commit or Abort. Changes does not change
// the store; it returns the store's error, if any, and then calls nothing:
// the caller must abort.
func (d *DiskStore) Changes(f func(key, value []byte)) error {
	if d.err != nil {
		return d.err
	}
	d.arena = d.arena[:0]
	for i := range d.jlog {
		c := &d.jlog[i]
		if !c.changed() {
			continue
		}
		start := len(d.arena)
		d.arena = appendEKey(d.arena, c.id.key, c.id.model)
		k := d.arena[start:len(d.arena):len(d.arena)]
		var v []byte
		if c.has {
			start = len(d.arena)
			d.arena = appendEntryValue(d.arena, c.after)
			v = d.arena[start:len(d.arena):len(d.arena)]
		}
		f(k, v)
	}
	if d.wm != d.last.core.wm || d.nextSweep != d.last.core.nextSweep || d.swept != d.last.swept {
		start := len(d.arena)
		d.arena = appendMetaValue(d.arena, d.wm, d.nextSweep, d.swept)
		f([]byte(metaKey), d.arena[start:len(d.arena):len(d.arena)])
	}
	return nil
}

// Commit makes the open transaction the committed state: it writes what the
// transaction changed to disk, with position, the changelog position after
// the records Changes gave (the offset of the last one plus one; pass
// Position() when there were none). Call it once Kafka has committed them.
// On error nothing in memory changes, and the store must be closed: the disk
// may lag the changelog, which a warm restore makes good.
func (d *DiskStore) Commit(position int64) error {
	if d.err != nil {
		return d.err
	}
	// The writes go in key order, entries then the time index: a memtable
	// takes keys in order several times faster than scattered ones.
	d.order = d.order[:0]
	d.tops = d.tops[:0]
	rangeDeleted := d.swept != d.last.swept // see below
	for i := range d.jlog {
		c := &d.jlog[i]
		if !c.changed() {
			continue
		}
		d.order = append(d.order, eOp{id: c.id, i: int32(i)})
		if c.had && (!c.has || c.before.t != c.after.t) && !(rangeDeleted && c.before.t <= d.swept) {
			d.tops = append(d.tops, tOp{t: c.before.t, id: c.id, del: true})
		}
		if c.has {
			d.tops = append(d.tops, tOp{t: c.after.t, id: c.id, flags: c.after.flags & flagsKnown})
		}
	}
	slices.SortFunc(d.order, func(x, y eOp) int {
		if x.id.key != y.id.key {
			return cmp.Compare(x.id.key, y.id.key)
		}
		return cmp.Compare(x.id.model, y.id.model)
	})
	slices.SortFunc(d.tops, compareTOps)
	b := d.db.NewBatch()
	defer b.Close()
	var buf []byte
	for _, o := range d.order {
		c := &d.jlog[o.i]
		buf = appendEKey(buf[:0], c.id.key, c.id.model)
		if !c.has {
			b.Delete(buf, nil) // the batch copies keys and values
			continue
		}
		k := len(buf)
		buf = appendEntryValue(buf, c.after)
		b.Set(buf[:k], buf[k:], nil)
	}
	if rangeDeleted {
		// Every time index record at or before the sweep limit is of an id
		// retired: one range deletion instead of one per id.
		end := []byte{tPrefix + 1}
		if d.swept < math.MaxInt64 {
			end = appendTKey(buf[:0], d.swept+1, 0, 0)
		}
		b.DeleteRange([]byte{tPrefix}, end, nil)
	}
	for _, op := range d.tops {
		buf = appendTKey(buf[:0], op.t, op.id.key, op.id.model)
		if op.del {
			b.Delete(buf, nil)
			continue
		}
		b.Set(buf, []byte{op.flags}, nil)
	}
	d.pos = position
	b.Set([]byte{mPrefix}, d.appendLocalMeta(nil, true), nil)
	if err := b.Commit(pebble.NoSync); err != nil {
		d.fail(err)
		return d.err
	}
	for i := range d.jlog {
		if c := &d.jlog[i]; c.changed() {
			d.cache(c)
		}
	}
	d.last = d.snapshot()
	d.endTransaction()
	return nil
}

// Abort drops the open transaction: the store is back at the state of the
// last Commit, Stats included.
func (d *DiskStore) Abort() {
	s := d.last
	d.core, d.held, d.swept = s.core, s.held, s.swept
	d.endTransaction()
}

func (d *DiskStore) endTransaction() {
	clear(d.jidx)
	d.jlog = d.jlog[:0]
	d.due = d.due[:0]
	d.arena = d.arena[:0]
	if cap(d.jlog) > 1<<16 && len(d.jidx) == 0 {
		// A burst made the journal large: let it go rather than keep its
		// memory for good.
		d.jlog, d.jidx = nil, make(map[ident]int32)
	}
}

// get reads a committed entry from disk.
func (d *DiskStore) get(key uint64, model uint16) (entry, bool) {
	if d.err != nil {
		return entry{}, false
	}
	k := appendEKey(d.kbuf[:0], key, model)
	v, closer, err := d.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return entry{}, false
	}
	if err != nil {
		d.fail(err)
		return entry{}, false
	}
	e, err := decodeEntryValue(key, model, v)
	closer.Close()
	if err != nil {
		d.fail(err)
		return entry{}, false
	}
	return e, true
}

// The hot table's times: a 40-bit offset from hotBase, the low 32 bits in
// offs and the high 8 (signed) in the slot's hi byte. That spans ±17 years,
// far beyond any TTL; an entry outside it stays on disk only.
const hotSpan = 1 << 39

func (d *DiskStore) hotFits(t int64) bool {
	if d.hot.count == 0 {
		return true // any base will do
	}
	off := t - d.hotBase
	if (t^d.hotBase) < 0 && (off^t) < 0 { // the subtraction overflowed
		return false
	}
	return -hotSpan <= off && off < hotSpan
}

func (d *DiskStore) hotEntry(i int) entry {
	sl := &d.hot.slots[i]
	t := d.hotBase + (int64(sl.hi)<<32 | int64(uint32(d.hot.offs[i])))
	return entry{key: sl.key(), t: t, score: sl.score, model: sl.model, flags: sl.flags & flagsKnown, tag: d.hot.tag(i)}
}

func (d *DiskStore) hotCell(e entry) (slot, int32) {
	if d.hot.count == 0 {
		d.hotBase = e.t
	}
	off := e.t - d.hotBase
	sl := slot{score: e.score, model: e.model, flags: e.flags, hi: int8(off >> 32)}
	sl.setKey(e.key)
	return sl, int32(uint32(off))
}

// cache brings hot up to date with a committed change.
func (d *DiskStore) cache(c *change) {
	i, in := d.hot.find(c.id.key, c.id.model)
	switch {
	case in && c.has && d.hotFits(c.after.t):
		sl, off := d.hotCell(c.after)
		sl.flags |= d.hot.slots[i].flags & flagRef
		d.hot.slots[i], d.hot.offs[i] = sl, off
		d.hot.setTag(i, c.after.tag)
	case in:
		d.hot.deleteAt(i)
		if c.has {
			d.cold++
		}
	case c.has:
		if c.had {
			d.cold-- // it joins hot, or is counted again below
		}
		if !d.hotFits(c.after.t) || !d.makeRoom() {
			d.cold++
			return
		}
		sl, off := d.hotCell(c.after)
		d.hot.insert(sl, off, c.after.tag)
	case c.had:
		d.cold--
	}
}

// makeRoom makes room in hot for one more entry, growing it within its
// budget or evicting an entry. It reports false if hot cannot hold any.
func (d *DiskStore) makeRoom() bool {
	if !d.hot.full() {
		return true
	}
	if n := len(d.hot.slots); n+n/2 <= d.cellBudget() {
		d.hot.grow()
		return true
	}
	if d.hot.count == 0 {
		return false
	}
	d.evict()
	return true
}

// evict moves one entry out of hot, second-chance style: from a random
// cell, the scan passes over cells, clearing the mark of those used since a
// scan last passed, and evicts the first unmarked one. The entry stays on
// disk.
//
// The start is random, not a clock hand that carries on where it stopped:
// the cache is a linear-probing table, and a hand that evicts in cell order
// (most entries are unmarked: a new prediction is rarely looked up again
// before its label) empties the cells behind it and leaves every other cell
// full, one cluster that nearly every probe then crosses, to the hand: an
// insertion cost a scan of much of the table (seconds per commit at a
// million cached entries). Random starts spread the holes evenly, and the
// probes stay as short as the load allows.
func (d *DiskStore) evict() {
	t := &d.hot
	d.evictRnd = d.evictRnd*6364136223846793005 + 1442695040888963407 // PCG's LCG step
	hi, _ := bits.Mul64(d.evictRnd^d.evictRnd>>29, uint64(len(t.slots)))
	i := int(hi)
	for {
		if i >= len(t.slots) {
			i = 0
		}
		sl := &t.slots[i]
		if !sl.empty() {
			if sl.flags&flagRef == 0 {
				t.deleteAt(i)
				d.cold++
				return
			}
			sl.flags &^= flagRef
		}
		i++
	}
}

// dueHeap is a binary min-heap of the times of journal entries. An item
// whose entry has since changed is left in place and skipped when popped.
type dueHeap []dueItem

type dueItem struct {
	t int64
	j int32
}

func (h *dueHeap) push(t int64, j int32) {
	*h = append(*h, dueItem{t, j})
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].t <= s[i].t {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *dueHeap) pop() dueItem {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l, m := 2*i+1, i
		if l < n && s[l].t < s[m].t {
			m = l
		}
		if r := l + 1; r < n && s[r].t < s[m].t {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// quietLogger keeps pebble's informational messages out of reckon's logs.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	slog.Error("pebble: " + fmt.Sprintf(format, args...))
}
func (quietLogger) Fatalf(format string, args ...any) { pebble.DefaultLogger.Fatalf(format, args...) }
