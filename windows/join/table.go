package join

import (
	"math"
	"math/bits"
)

// Entry states, kept in the low two bits of slot.flags. Zero is an empty slot.
const (
	statePending uint8 = 1 // prediction held, waiting for its outcome
	stateWaiting uint8 = 2 // outcome held, waiting for its prediction
	stateClosed  uint8 = 3 // decided; held only to recognise duplicates

	stateMask     uint8 = 0x03
	flagPredicted uint8 = 0x04 // pending: the prediction's Predicted
	flagLabel     uint8 = 0x08 // waiting: the outcome's Label
	flagValue     uint8 = 0x20 // waiting: score holds the outcome's Value
	flagsKnown          = stateMask | flagPredicted | flagLabel | flagValue
	// flagTagged marks, in an encoded pending entry only, that a tag
	// follows; it is never set in memory.
	flagTagged uint8 = 0x40
)

// slot is one table cell without its time: 16 bytes, 4-byte aligned, so a
// cache line holds four whole slots. The 64-bit key is split into two uint32
// halves: a uint64 field would force 8-byte alignment, which costs nothing
// here but would on any later field. The cell's time offset lives apart, in
// table.offs (see there).
//
// Meaning of score by state: pending: the prediction's score bits; waiting:
// the outcome's Value bits with flagValue, else unused (0); closed: unused.
type slot struct {
	klo, khi uint32
	score    uint32
	model    uint16
	flags    uint8
	hi       int8 // DiskStore: bits 32 to 39 of the time offset; 0 in a Store
}

func (s *slot) key() uint64     { return uint64(s.klo) | uint64(s.khi)<<32 }
func (s *slot) setKey(k uint64) { s.klo, s.khi = uint32(k), uint32(k>>32) }
func (s *slot) empty() bool     { return s.flags&stateMask == 0 }

// table is an open-addressing hash table of slots with linear probing.
// Deletion shifts later entries of the cluster back into the hole (Knuth's
// Algorithm R), so there are no tombstones and the probe sequences stay
// short.
//
// Linear probing and not Robin Hood: almost every lookup that misses is
// followed by an insert, and inserting needs the first empty slot of the
// cluster either way. Robin Hood would add the writes of displacing entries
// and save nothing. Successful lookups probe the same number of slots on
// average with both. The price of the 7/8 maximum load: just before the table
// grows, a miss probes about 32 slots (10 sequential cache lines). Averaged
// over the growth cycle it is a few.
//
// Home slots come from a multiply-shift ("fastrange") reduction of a Fibonacci
// scrambled key. The capacity need not be a power of two, so the table grows by
// half rather than doubling. Keys that are not well mixed, such as small
// integers in tests, still spread evenly.
//
// A cell is slots[i] and offs[i], held in two arrays so that a sweep, which
// tests every cell's deadline, reads 4 bytes per cell instead of 20. Lookups
// read slots only, and offs[i] once they have found i.
//
// Invariants: every entry sits in its home slot or after it with no empty slot
// in between (cyclically). At least one slot is empty, so every probe loop
// ends; grow keeps count ≤ maxLoadNum/maxLoadDen of the capacity. An empty
// cell is slot{} with offs[i] = emptyOff.
type table struct {
	slots []slot
	// offs[i] is the time of the entry in slots[i], as an offset from
	// Store.base: for a pending entry the prediction time, for a waiting
	// one the outcome time, for a closed one the later of the two. So the
	// id's deadline is base + off + ttl in every state.
	offs []int32
	// tags[i] is the tag of the entry in slots[i] (Prediction.Tag): nil
	// until an entry has a tag other than 0, so that stores without tags
	// pay nothing for them.
	tags  []uint64
	count int
	// warm receives a load of offs at a probe's home, only so that the
	// load is made: see find.
	warm int32
}

// emptyOff is the offset of an empty cell. It is the latest offset, so that
// a sweep's deadline test alone passes over empty cells (except when every
// time is overdue, and then it checks the slot). Entries may hold it too.
const emptyOff = math.MaxInt32

// alloc replaces the cells with c empty ones.
func (t *table) alloc(c int) {
	t.slots = make([]slot, c)
	t.offs = make([]int32, c)
	for i := range t.offs {
		t.offs[i] = emptyOff
	}
	if t.tags != nil {
		t.tags = make([]uint64, c)
	}
}

// tag is the tag of cell i.
func (t *table) tag(i int) uint64 {
	if t.tags == nil {
		return 0
	}
	return t.tags[i]
}

// setTag sets the tag of cell i.
func (t *table) setTag(i int, tag uint64) {
	if t.tags == nil {
		if tag == 0 {
			return
		}
		t.tags = make([]uint64, len(t.slots))
	}
	t.tags[i] = tag
}

const (
	minCapacity = 16
	// Grow at 7/8 full to 3/2 the capacity. After growing, the load is 7/12.
	// So a table holding n entries uses between 20/(7/8) = 22.9 and
	// 20/(7/12) = 34.3 bytes per entry, except under minCapacity.
	maxLoadNum, maxLoadDen = 7, 8
	// Shrink at sweeps, when fewer than 1/4 of the slots are in use, to a
	// capacity where the load is 7/12.
	shrinkDen = 4
)

// fib is 2^64/φ, rounded to odd. Multiplying by it scrambles the key so that
// all of its bits reach the high bits used for the home slot.
const fib = 0x9E3779B97F4A7C15

func (t *table) home(key uint64) int {
	hi, _ := bits.Mul64(key*fib, uint64(len(t.slots)))
	return int(hi)
}

// find looks up (key, model). If the entry is present it returns its
// position and found. Otherwise it returns the empty slot where insertAt must
// put it.
func (t *table) find(key uint64, model uint16) (i int, found bool) {
	n := len(t.slots)
	i = t.home(key)
	// The caller reads or writes offs[i] next, for i at or just after the
	// home. Loading it now overlaps that cache miss with the slot's.
	t.warm = t.offs[i]
	for {
		s := &t.slots[i]
		if s.empty() {
			return i, false
		}
		if s.key() == key && s.model == model {
			return i, true
		}
		if i++; i == n {
			i = 0
		}
	}
}

// insertAt stores s with offset off in the empty cell i that find returned
// for its key. The caller has made room, so count+1 fits the capacity.
func (t *table) insertAt(i int, s slot, off int32) {
	t.slots[i] = s
	t.offs[i] = off
	t.count++
}

// insert adds an entry that is known to be absent.
func (t *table) insert(s slot, off int32, tag uint64) {
	i, _ := t.find(s.key(), s.model)
	t.insertAt(i, s, off)
	t.setTag(i, tag)
}

// deleteAt empties position i, then moves later entries of the cluster whose
// probe sequence passes i back into the hole, repeating with each new hole
// (Knuth's Algorithm R). An entry only moves back to a hole between its home
// and itself, never across an empty slot. sweep relies on this.
func (t *table) deleteAt(i int) {
	n := len(t.slots)
	j := i
	for {
		if j++; j == n {
			j = 0
		}
		s := &t.slots[j]
		if s.empty() {
			break
		}
		// The entry at j may fill the hole at i unless its home lies
		// cyclically in (i, j].
		h := t.home(s.key())
		if i <= j {
			if i < h && h <= j {
				continue
			}
		} else if i < h || h <= j {
			continue
		}
		t.slots[i] = *s
		t.offs[i] = t.offs[j]
		if t.tags != nil {
			t.tags[i] = t.tags[j]
		}
		i = j
	}
	t.slots[i] = slot{}
	t.offs[i] = emptyOff
	if t.tags != nil {
		t.tags[i] = 0
	}
	t.count--
}

// full reports whether one more entry would pass the maximum load.
func (t *table) full() bool {
	return (t.count+1)*maxLoadDen > len(t.slots)*maxLoadNum
}

// capacityFor returns a capacity at which n entries fill 7/12 of the table.
// Growing or shrinking to it leaves room in both directions.
func capacityFor(n int) int {
	c := n * 12 / 7
	if c < minCapacity {
		c = minCapacity
	}
	return c
}

// resize rehashes every entry into a table of capacity c. c must hold them.
func (t *table) resize(c int) {
	old, oldOffs, oldTags := t.slots, t.offs, t.tags
	t.alloc(c)
	t.count = 0
	for i := range old {
		if !old[i].empty() {
			var tag uint64
			if oldTags != nil {
				tag = oldTags[i]
			}
			t.insert(old[i], oldOffs[i], tag)
		}
	}
}

// grow makes room for one more entry.
func (t *table) grow() {
	if t.slots == nil {
		t.alloc(minCapacity)
		return
	}
	t.resize(len(t.slots) + len(t.slots)/2)
}

// emptyIndex returns the position of some empty slot. One always exists.
func (t *table) emptyIndex() int {
	for i := range t.slots {
		if t.slots[i].empty() {
			return i
		}
	}
	panic("join: table has no empty slot") // the load bound makes this unreachable
}
