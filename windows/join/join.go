// Package join implements reckon's delayed-label join (docs/semantics.md). It pairs
// each outcome with the prediction that has the same prediction_id and model,
// in event time, under a watermark supplied by the caller.
//
// # Semantics
//
// An id is a (Key, Model) pair, with Key = KeyOf(model, prediction_id). The
// label TTL is ttl and W is the watermark last passed to Advance. A Store holds
// each id it has seen, in one of three states, until the id's deadline:
//
//	pending  a prediction (time tp) with no outcome yet   deadline tp + ttl
//	waiting  an outcome (time to) with no prediction yet  deadline to + ttl
//	closed   decided; kept only to recognise duplicates   deadline max(tp, to) + ttl
//
// An id is live while W < deadline. When W reaches the deadline the id is
// retired and forgotten. A pending prediction is then reported Expired and a
// waiting outcome Orphaned; a closed id goes silently. An event is handled by
// the state of its id when it arrives. An id past its deadline counts as
// absent, once the Store has reported its retirement:
//
//	state    prediction arrives                       outcome arrives
//	absent   tp + ttl <= W: Expired, not held         to + ttl <= W: Orphaned, not held
//	         otherwise: held as pending               otherwise: held as waiting
//	pending  DuplicatePrediction                      Joined; closed
//	waiting  tp + ttl <= W: Expired and Orphaned;     DuplicateOutcome
//	         closed. Otherwise: Joined; closed
//	closed   DuplicatePrediction                      DuplicateOutcome
//
// What follows from the table:
//
//   - A join happens only while the prediction is live. An outcome that arrives
//     after W has reached its prediction's tp + ttl never joins it, even if the
//     prediction has not yet been swept: the lookup finds the entry overdue,
//     reports it Expired then, and treats the id as absent. The outcome then
//     waits like any early outcome. It is Orphaned when W reaches its own
//     to + ttl, unless a prediction with a live time and the same id arrives
//     first. That can only be a new prediction reusing the id, because a copy
//     of the old one carries the old, expired time. This result does not depend
//     on when sweeps run: the Store cannot know that a prediction already swept
//     ever existed, so it must not act on that knowledge when it has not been
//     swept either.
//   - An outcome that arrives while its prediction is pending joins it whatever
//     the outcome's own time. The outcome's TTL only bounds how long an outcome
//     waits for a prediction.
//   - A prediction that arrives already past its deadline is Expired, even if
//     its outcome is waiting. That outcome is then Orphaned at once: its id has
//     had its first prediction. The id stays held (closed), so later copies of
//     either event count as duplicates.
//   - Each duplicate event is reported once and never joins. The first
//     prediction and the first outcome of an id win. A duplicate counts as one
//     only while its id is held, so "seen within label_ttl" means: before W
//     reaches the id's deadline. That deadline runs from the later of the two
//     times once joined, so a copy of a late outcome still counts as a
//     duplicate. A copy arriving after the deadline is a new first event.
//   - An event already past its deadline on arrival, with no live id to meet,
//     is reported at once (Expired or Orphaned) and not held. A copy of it later
//     is reported again. It cannot be told from the first, because nothing
//     older than the TTL is remembered.
//
// Every decision depends only on the order of AddPrediction, AddOutcome and
// Advance calls and their arguments. The caller must replay the same sequence
// (the same watermarks included) to get the same results after a restore.
//
// # Reporting, sweeps and cost
//
// Joins and duplicates are reported at once. Retirements (Expired, Orphaned)
// are decided exactly but reported lazily, in one of two ways: when an event
// for the overdue id arrives, or at the next sweep. A sweep is one pass over
// the table, run by Advance when the watermark crosses a multiple of the sweep
// interval (by default ttl/16; see WithSweepInterval). Sweep points are aligned
// to the Unix epoch, so the schedule depends only on the watermarks. A sweep
// visits an entry about ttl/interval + 1 times in its life (17 by default),
// and Advance costs O(1) between sweeps. A retirement is reported at most one sweep interval of
// watermark after its deadline. Until then Pending and WaitingOutcomes still
// count it. Call Sweep to report everything overdue at once.
//
// A sweep is O(table capacity) inside a single Advance call, but it reads only
// the 4-byte time offset of each cell, and the rest of the cells that retire.
// At 5 million held ids it takes a few milliseconds (see BenchmarkSweep). With the default
// interval and a 24h TTL, that happens once per 90 minutes of event time.
//
// # Memory
//
// An id takes one 20-byte table cell from first sight until its deadline,
// whatever its state: pending, waiting or closed. The table is an open
// addressing hash table, at most 7/8 full, that grows by half. So a held id
// costs 23 to 35 bytes; BenchmarkMemoryPending measures 27 at 5 million. Event
// times are stored as 32-bit millisecond offsets from a base that follows the
// watermark. An id whose offset does not fit is held in a Go map on the side
// instead. That happens to times more than about 20 days ahead of the
// watermark (with a 24h TTL), and to old ones under a TTL of more than about
// 43 days. It is correct but costs several times the memory.
// AddPrediction, AddOutcome and Advance allocate only when the table grows or
// an id goes into the side map.
//
// # Two stores
//
// Store holds the state in memory and checkpoints it whole (MarshalBinary).
// DiskStore holds it in an embedded LSM (pebble) under a directory, with the
// ids it uses most cached in memory within a byte budget, and checkpoints it
// as a changelog of what each transaction changed. Both make every decision
// through the same code, so they report the same for the same calls; only
// the order of the retirements within one sweep may differ. DiskStore keeps
// times at full width: it has no side map, whatever the TTL.
// docs/state.md describes DiskStore's design and formats.
//
// # Concurrency
//
// A Store is not safe for concurrent use. It has no locks: one partition worker
// goroutine owns it, and only that goroutine may call its methods.
package join

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Prediction is a prediction event, as the join needs it. The caller leaves
// error events out: they carry no score and never join.
type Prediction struct {
	Key    uint64 // KeyOf(Model, prediction_id)
	Model  uint16 // model index
	TimeMs int64  // event time, milliseconds since the Unix epoch
	// Score is what the model predicted, as 32 bits kept bit for bit: a
	// binary model's score (NaN when absent), a regression model's value,
	// a multiclass model's predicted class index (-1: undeclared).
	Score     float32
	Predicted bool // predicted positive class
	// Tag is the caller's, kept with a pending prediction and given back
	// in Joined (package windows: the prediction's segment values).
	Tag uint64
}

// Outcome is an outcome (label) event.
type Outcome struct {
	Key    uint64 // KeyOf(Model, prediction_id)
	Model  uint16 // model index
	TimeMs int64  // event time, milliseconds since the Unix epoch
	Label  bool   // true for the positive class
	// Value, when Valued, is the label of a regression or multiclass
	// model (its value, or its class index), kept bit for bit while the
	// outcome waits for its prediction. A binary model's outcomes leave
	// it out, and their state is as it always was.
	Value  float32
	Valued bool
}

// Joined is a prediction joined with its outcome. The label delay is
// OutcomeTimeMs − PredTimeMs and may be negative when clocks disagree.
type Joined struct {
	Model         uint16
	PredTimeMs    int64   // the prediction's event time
	OutcomeTimeMs int64   // the outcome's event time: confusion counts go in its window
	Score         float32 // the prediction's score, bit for bit (NaN if absent)
	Predicted     bool    // the prediction's predicted class
	Label         bool    // the outcome's label
	Tag           uint64  // the prediction's Tag
	LabelValue    float32 // the outcome's Value (0 when not Valued)
}

// Stats are totals of what a Store has reported since New. They are
// process-local, like Prometheus counters: UnmarshalBinary leaves them
// unchanged and snapshots do not contain them.
type Stats struct {
	Joined               uint64
	DuplicatePredictions uint64
	DuplicateOutcomes    uint64
	Orphaned             uint64
	Expired              uint64
}

// Sink receives what a Store decides. The partition worker implements it,
// typically by incrementing per-model counters and feeding Joined records to
// the window state. A Store calls its methods synchronously from within
// AddPrediction, AddOutcome, Advance and Sweep. Within one call the order of
// the retirements reported is unspecified. A Sink must not call back into the
// Store. If a Sink method panics, the Store may be left half updated and must
// be discarded: restore it from the last snapshot.
type Sink interface {
	Joined(j Joined)
	DuplicatePrediction(model uint16)
	DuplicateOutcome(model uint16)
	// Expired reports a prediction that got no outcome within the TTL.
	Expired(model uint16, predTimeMs int64)
	// Orphaned reports an outcome whose prediction did not arrive in time.
	Orphaned(model uint16, outcomeTimeMs int64)
}

// Option configures a Store or a DiskStore.
type Option func(*options)

type options struct {
	interval int64 // sweep interval, ms; 0 for ttl/16
	capacity int   // ids to size the table for up front
	memory   int64 // DiskStore: memory budget, bytes
}

// WithSweepInterval sets how much watermark progress there is between sweeps
// (see the package documentation). A shorter interval reports retirements
// sooner and keeps Pending closer to exact, but runs more sweeps. The default
// is ttl/16. Values under a millisecond are taken as 1ms.
func WithSweepInterval(d time.Duration) Option {
	return func(o *options) { o.interval = max(d.Milliseconds(), 1) }
}

// WithCapacity sizes the table for n held ids up front, avoiding rehashes on
// the way there. A sweep still shrinks the table while it is less than a
// quarter full. A DiskStore ignores it.
func WithCapacity(n int) Option {
	return func(o *options) { o.capacity = n }
}

// Store is the join state of one partition: predictions waiting for a label,
// outcomes waiting for a prediction, and recently decided ids. Make one with
// New. It is owned by a single goroutine (see the package documentation).
type Store struct {
	core

	// base is the time origin of table.offs. An entry whose time is not within
	// int32 range of base lives in over instead of tab. An id is never held in
	// both.
	base int64
	tab  table
	over map[ident]entry
}

// core is what the state table of the package documentation acts on, shared
// by Store and DiskStore: the TTL, the watermark, the sweep schedule, the
// gauges and the totals. Its methods make every decision; the stores only
// hold entries.
type core struct {
	ttl      int64 // milliseconds, ≥ 1
	interval int64 // sweep interval, milliseconds, ≥ 1

	wm        int64 // watermark; math.MinInt64 before the first Advance
	nextSweep int64 // Advance sweeps once wm >= nextSweep

	pending, waiting int // held ids by state
	stats            Stats
}

// newCore returns the core of a new store with label TTL ttl.
func newCore(ttl time.Duration, o options) core {
	ms := ttl.Milliseconds()
	if ms < 1 {
		panic("join: label TTL must be at least 1ms, got " + ttl.String())
	}
	c := core{ttl: ms, interval: max(ms/16, 1), wm: math.MinInt64, nextSweep: math.MinInt64}
	if o.interval > 0 {
		c.interval = o.interval
	}
	return c
}

func applyOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// ident is an id as the side map keys it.
type ident struct {
	key   uint64
	model uint16
}

// entry is an id's state at full width, independent of where it is held.
type entry struct {
	key   uint64
	t     int64 // as table.offs, but absolute
	score uint32
	model uint16
	flags uint8
	tag   uint64 // pending: the prediction's Tag
}

func (e entry) state() uint8 { return e.flags & stateMask }

// hasScore reports whether e's score is state to keep: a pending
// prediction's, or a waiting outcome's Value.
func (e entry) hasScore() bool {
	return e.state() == statePending || e.state() == stateWaiting && e.flags&flagValue != 0
}

// New returns an empty Store with label TTL ttl. It panics if ttl is less
// than a millisecond.
func New(ttl time.Duration, opts ...Option) *Store {
	o := applyOptions(opts)
	s := &Store{core: newCore(ttl, o)}
	if o.capacity > 0 {
		s.tab.alloc(max(o.capacity*maxLoadDen/maxLoadNum+1, minCapacity))
	}
	return s
}

// Pending returns how many predictions are held waiting for a label: the
// reckon_pending_predictions gauge. It includes predictions already past
// their deadline that have not yet been reported Expired (at most one sweep
// interval of watermark behind).
func (c *core) Pending() int { return c.pending }

// WaitingOutcomes returns how many outcomes are held waiting for their
// prediction, including overdue ones not yet reported Orphaned.
func (c *core) WaitingOutcomes() int { return c.waiting }

// Len returns how many ids are held in any state. Memory is proportional to
// it.
func (s *Store) Len() int { return s.tab.count + len(s.over) }

// Watermark returns the watermark last passed to Advance, or math.MinInt64.
func (c *core) Watermark() int64 { return c.wm }

// Stats returns the totals reported so far.
func (c *core) Stats() Stats { return c.stats }

// AddPrediction processes a prediction event. It does not allocate unless the
// table grows.
func (s *Store) AddPrediction(p Prediction, sink Sink) {
	r := s.lookup(p.Key, p.Model)
	var e entry
	if r.found {
		e = s.get(r)
	}
	s.apply(&r, s.prediction(e, r.found, p, sink))
}

// AddOutcome processes an outcome event. It does not allocate unless the
// table grows.
func (s *Store) AddOutcome(o Outcome, sink Sink) {
	r := s.lookup(o.Key, o.Model)
	var e entry
	if r.found {
		e = s.get(r)
	}
	s.apply(&r, s.outcome(e, r.found, o, sink))
}

// apply carries out a decision on the id r refers to.
func (s *Store) apply(r *ref, d decision) {
	switch d.act {
	case put:
		s.set(r, d.e)
	case drop:
		s.del(*r)
	}
}

// decision is what becomes of an id's entry after an event.
type decision struct {
	e   entry // the id's entry afterwards, for put
	act action
}

type action uint8

const (
	keep action = iota // the entry stays as it was (or absent)
	put                // the id holds e, replacing what it held
	drop               // the id, which was held, is no longer
)

// prediction decides a prediction for an id that holds e if found, following
// the state table: it reports to sink, counts, and returns what becomes of
// the id.
func (c *core) prediction(e entry, found bool, p Prediction, sink Sink) decision {
	if found {
		if !c.overdue(e.t) {
			switch e.state() {
			case statePending, stateClosed:
				c.stats.DuplicatePredictions++
				sink.DuplicatePrediction(p.Model)
				return decision{}
			}
			c.waiting--
			if c.overdue(p.TimeMs) {
				c.stats.Expired++
				sink.Expired(p.Model, p.TimeMs)
				c.stats.Orphaned++
				sink.Orphaned(e.model, e.t)
			} else {
				c.stats.Joined++
				sink.Joined(Joined{
					Model:         p.Model,
					PredTimeMs:    p.TimeMs,
					OutcomeTimeMs: e.t,
					Score:         p.Score,
					Predicted:     p.Predicted,
					Label:         e.flags&flagLabel != 0,
					Tag:           p.Tag,
					LabelValue:    math.Float32frombits(e.score),
				})
			}
			return decision{entry{key: p.Key, model: p.Model, t: max(p.TimeMs, e.t), flags: stateClosed}, put}
		}
		c.retire(e, sink) // overdue, not yet swept: the id is absent
	}
	if c.overdue(p.TimeMs) {
		c.stats.Expired++
		sink.Expired(p.Model, p.TimeMs)
		if found {
			return decision{act: drop}
		}
		return decision{}
	}
	flags := statePending
	if p.Predicted {
		flags |= flagPredicted
	}
	c.pending++
	return decision{entry{key: p.Key, model: p.Model, t: p.TimeMs, score: math.Float32bits(p.Score), flags: flags, tag: p.Tag}, put}
}

// outcome decides an outcome, as prediction does a prediction.
func (c *core) outcome(e entry, found bool, o Outcome, sink Sink) decision {
	if found {
		if !c.overdue(e.t) {
			switch e.state() {
			case stateWaiting, stateClosed:
				c.stats.DuplicateOutcomes++
				sink.DuplicateOutcome(o.Model)
				return decision{}
			}
			c.pending--
			c.stats.Joined++
			sink.Joined(Joined{
				Model:         o.Model,
				PredTimeMs:    e.t,
				OutcomeTimeMs: o.TimeMs,
				Score:         math.Float32frombits(e.score),
				Predicted:     e.flags&flagPredicted != 0,
				Label:         o.Label,
				Tag:           e.tag,
				LabelValue:    o.Value,
			})
			return decision{entry{key: o.Key, model: o.Model, t: max(e.t, o.TimeMs), flags: stateClosed}, put}
		}
		c.retire(e, sink)
	}
	if c.overdue(o.TimeMs) {
		c.stats.Orphaned++
		sink.Orphaned(o.Model, o.TimeMs)
		if found {
			return decision{act: drop}
		}
		return decision{}
	}
	flags := stateWaiting
	if o.Label {
		flags |= flagLabel
	}
	var score uint32
	if o.Valued {
		flags |= flagValue
		score = math.Float32bits(o.Value)
	}
	c.waiting++
	return decision{entry{key: o.Key, model: o.Model, t: o.TimeMs, score: score, flags: flags}, put}
}

// Advance moves the watermark to watermarkMs. Once the watermark has crossed
// the next sweep point, it also sweeps (see Sweep). Between sweeps it is O(1).
// The watermark never goes back: a value below the current one is ignored,
// and an equal one is a no-op.
func (s *Store) Advance(watermarkMs int64, sink Sink) {
	if s.advance(watermarkMs) {
		s.Sweep(sink)
	}
}

// advance moves the watermark and reports whether it has crossed the next
// sweep point, which it then moves on.
func (c *core) advance(watermarkMs int64) bool {
	if watermarkMs <= c.wm {
		return false
	}
	c.wm = watermarkMs
	if watermarkMs < c.nextSweep {
		return false
	}
	// The next multiple of interval strictly after wm, saturating.
	q := watermarkMs / c.interval
	if watermarkMs%c.interval < 0 {
		q--
	}
	if q >= math.MaxInt64/c.interval {
		c.nextSweep = math.MaxInt64
	} else {
		c.nextSweep = (q + 1) * c.interval
	}
	return true
}

// Sweep retires every held id whose deadline the watermark has reached. It
// reports pending predictions Expired and waiting outcomes Orphaned, and
// forgets closed ids. It visits the whole table. Advance calls it on its own
// schedule; call it directly when counts must be exact now, as at shutdown or
// in tests. It does not move the sweep schedule.
func (s *Store) Sweep(sink Sink) {
	// Rebase slot times when the ideal base (wm − ttl/2) has drifted far from
	// the current one. Held times are above wm − ttl, so with base within
	// rebaseSlack of the ideal they fit while ttl/2 + rebaseSlack < 2^31 ms,
	// a TTL up to about 43 days.
	old, rebase := s.base, false
	if s.wm != math.MinInt64 {
		if nb := s.idealBase(); s.tab.count == 0 || !near(nb, s.base, rebaseSlack) {
			s.base, rebase = nb, true
		}
	}

	t := &s.tab
	if n := len(t.slots); n > 0 && t.count > 0 {
		// Start just after an empty slot. deleteAt moves an entry only
		// back into a hole between its home and itself, never across an
		// empty slot, and the holes a deletion at i leaves are at i and
		// after it. So the pass meets every entry exactly once, provided it
		// looks at position i again after a deletion there. Entries at
		// positions already passed are not touched.
		start := t.emptyIndex()
		limit := s.offsetLimit(old)
		s.sweepRange(start+1, n, old, limit, rebase, sink)
		s.sweepRange(0, start, old, limit, rebase, sink)
	}

	if len(s.over) > 0 {
		for _, e := range s.overSorted() {
			id := ident{e.key, e.model}
			if s.overdue(e.t) {
				s.retire(e, sink)
				delete(s.over, id)
			} else if s.fits(e.t) {
				delete(s.over, id)
				if t.full() {
					t.grow()
				}
				t.insert(s.slotOf(e), int32(e.t-s.base), e.tag)
			}
		}
	}
	if len(s.over) == 0 {
		s.over = nil // release the map's memory
	}
	if n := len(t.slots); n > minCapacity && t.count < n/shrinkDen {
		t.resize(capacityFor(t.count))
	}
}

// sweepRange sweeps table positions [lo, hi), whose offsets are relative to
// old. An entry is overdue exactly when its offset is at most limit (see
// offsetLimit). A sweep visits every cell, so the test that passes over cells
// reads only their offsets, eight at a time, with one branch: empty cells
// hold emptyOff, which is above every limit but the one that retires
// everything. Only blocks with an overdue entry (and every cell when
// rebasing) take the slow path.
func (s *Store) sweepRange(lo, hi int, old, limit int64, rebase bool, sink Sink) {
	offs := s.tab.offs[:hi]
	i := lo
	if !rebase {
		for ; i+8 <= len(offs); i += 8 {
			o := offs[i : i+8 : i+8]
			m := min(min(o[0], o[1]), min(o[2], o[3]), min(o[4], o[5]), min(o[6], o[7]))
			if int64(m) > limit {
				continue
			}
			// Deletions only move entries back, so cells the block test
			// passed over stay passed over, and cells in this block are
			// read again as they are now.
			for j := i; j < i+8; j++ {
				if int64(offs[j]) <= limit {
					s.sweepAt(j, old, limit, false, sink)
				}
			}
		}
	}
	for ; i < len(offs); i++ {
		s.sweepAt(i, old, limit, rebase, sink)
	}
}

// sweepAt sweeps table position i for sweepRange: it retires the entry there
// while it is overdue (a deletion pulls the next entry of the cluster into i)
// and, when rebasing, rewrites the offset of the entry left.
func (s *Store) sweepAt(i int, old, limit int64, rebase bool, sink Sink) {
	t := &s.tab
	for {
		off := int64(t.offs[i])
		if off > limit && !rebase {
			return
		}
		sl := &t.slots[i]
		if sl.empty() {
			return
		}
		tm := old + off // unvisited cells hold offsets from old
		if off <= limit {
			s.retire(s.entryOf(sl, tm, 0), sink)
			t.deleteAt(i) // pulls the next entries back: look at i again
			continue
		}
		if !s.fits(tm) { // rebasing
			s.spill(s.entryOf(sl, tm, t.tag(i)))
			t.deleteAt(i)
			continue
		}
		t.offs[i] = int32(tm - s.base)
		return
	}
}

// offsetLimit returns the largest offset from base b whose time is overdue,
// clamped to [math.MinInt32−1, math.MaxInt32]. A time t is overdue when
// t ≤ wm − ttl, or in every case once wm is math.MaxInt64, where
// deadlines saturate. That matches overdue.
func (s *Store) offsetLimit(b int64) int64 {
	const none, all = math.MinInt32 - 1, math.MaxInt32
	switch {
	case s.wm == math.MaxInt64:
		return all
	case s.wm < math.MinInt64+s.ttl:
		return none
	}
	tl := s.wm - s.ttl // overdue iff t <= tl
	if tl >= b {
		if uint64(tl)-uint64(b) >= all {
			return all
		}
		return tl - b
	}
	if uint64(b)-uint64(tl) >= -none {
		return none
	}
	return tl - b
}

// rebaseSlack is how far base may drift from its ideal before a sweep rewrites
// every offset. Most sweeps then only read the table, at the cost of 2^28 ms
// (3.1 days) of the int32 range.
const rebaseSlack uint64 = 1 << 28

// idealBase is the base a sweep aims for: wm − ttl/2, saturating. Live times
// lie in (wm − ttl, wm + a little], so this centres them in the int32 range.
func (s *Store) idealBase() int64 {
	if s.wm < math.MinInt64+s.ttl/2 {
		return math.MinInt64
	}
	return s.wm - s.ttl/2
}

// near reports whether |a − b| <= slack, without overflow.
func near(a, b int64, slack uint64) bool {
	if a < b {
		a, b = b, a
	}
	return uint64(a)-uint64(b) <= slack
}

// deadline returns t + ttl, saturating at math.MaxInt64.
func (c *core) deadline(t int64) int64 {
	if t > math.MaxInt64-c.ttl {
		return math.MaxInt64
	}
	return t + c.ttl
}

// overdue reports whether the watermark has reached the deadline of an event
// at time t.
func (c *core) overdue(t int64) bool { return c.deadline(t) <= c.wm }

// overdueLimit returns the latest overdue time: t is overdue exactly when
// t <= limit. ok is false when no time is overdue.
func (c *core) overdueLimit() (limit int64, ok bool) {
	switch {
	case c.wm == math.MaxInt64: // deadlines saturate there
		return math.MaxInt64, true
	case c.wm < math.MinInt64+c.ttl:
		return 0, false
	}
	return c.wm - c.ttl, true
}

// retire reports the retirement of a held entry: Expired for a pending
// prediction, Orphaned for a waiting outcome, nothing for a closed id. The
// caller removes the entry or overwrites it.
func (c *core) retire(e entry, sink Sink) {
	switch e.state() {
	case statePending:
		c.pending--
		c.stats.Expired++
		sink.Expired(e.model, e.t)
	case stateWaiting:
		c.waiting--
		c.stats.Orphaned++
		sink.Orphaned(e.model, e.t)
	}
}

// ref locates an id: in the table at i, in the side map, or, when absent, at
// the empty table slot i where it would be inserted.
type ref struct {
	id     ident
	i      int
	found  bool
	inOver bool
}

// lookup finds (key, model). It first makes room for one more table entry,
// so that set can insert at the position it returns.
// overSorted returns the entries held outside the table in (key, model)
// order: moving them into the table or a snapshot in map order would make
// the table's layout, and snapshots, differ between runs of the same
// history. It allocates; over is empty but for ids far ahead of the
// watermark.
func (s *Store) overSorted() []entry {
	es := make([]entry, 0, len(s.over))
	for _, e := range s.over {
		es = append(es, e)
	}
	slices.SortFunc(es, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.model, b.model))
	})
	return es
}

func (s *Store) lookup(key uint64, model uint16) ref {
	if s.tab.full() {
		s.tab.grow()
	}
	r := ref{id: ident{key, model}}
	r.i, r.found = s.tab.find(key, model)
	if !r.found && len(s.over) > 0 {
		_, r.found = s.over[r.id]
		r.inOver = r.found
	}
	return r
}

// get returns the entry r refers to, which must be found.
func (s *Store) get(r ref) entry {
	if r.inOver {
		return s.over[r.id]
	}
	return s.entryAt(r.i)
}

// set stores e, which has r's id, at r: it overwrites a found entry or inserts
// a new one. An entry goes in the table when its time fits, else in the side
// map, and it moves between them when needed. Afterwards r refers to e.
func (s *Store) set(r *ref, e entry) {
	if s.tab.count == 0 && len(s.over) == 0 {
		// An empty store may pick any base. Before the first watermark, use
		// the data itself.
		if s.wm == math.MinInt64 {
			s.base = e.t
		} else {
			s.base = s.idealBase()
		}
	}
	fits := s.fits(e.t)
	switch {
	case r.found && !r.inOver && fits:
		s.tab.slots[r.i] = s.slotOf(e)
		s.tab.offs[r.i] = int32(e.t - s.base)
		s.tab.setTag(r.i, e.tag)
		return
	case r.found && r.inOver && !fits:
		s.over[r.id] = e
		return
	case r.found && r.inOver: // moves into the table, at the position lookup found free
		delete(s.over, r.id)
	case r.found: // moves out of the table
		s.tab.deleteAt(r.i)
	}
	r.found, r.inOver = true, !fits
	if fits {
		s.tab.insertAt(r.i, s.slotOf(e), int32(e.t-s.base))
		s.tab.setTag(r.i, e.tag)
		return
	}
	s.spill(e)
}

// del removes the found entry r refers to.
func (s *Store) del(r ref) {
	if r.inOver {
		delete(s.over, r.id)
		return
	}
	s.tab.deleteAt(r.i)
}

// spill puts e in the side map.
func (s *Store) spill(e entry) {
	if s.over == nil {
		s.over = make(map[ident]entry)
	}
	s.over[ident{e.key, e.model}] = e
}

// fits reports whether time t can be stored as an int32 offset from base.
func (s *Store) fits(t int64) bool {
	d := t - s.base
	if (t^s.base) < 0 && (d^t) < 0 { // the subtraction overflowed
		return false
	}
	return d == int64(int32(d))
}

// entryOf widens a table slot whose absolute time is t.
func (s *Store) entryOf(sl *slot, t int64, tag uint64) entry {
	return entry{key: sl.key(), t: t, score: sl.score, model: sl.model, flags: sl.flags, tag: tag}
}

// entryAt widens the occupied table cell i, whose offset is from base.
func (s *Store) entryAt(i int) entry {
	return s.entryOf(&s.tab.slots[i], s.base+int64(s.tab.offs[i]), s.tab.tag(i))
}

// slotOf narrows e for the table, all but its time: its offset from base is
// int32(e.t − base), once the caller has checked that e.t fits.
func (s *Store) slotOf(e entry) slot {
	sl := slot{score: e.score, model: e.model, flags: e.flags}
	sl.setKey(e.key)
	return sl
}
