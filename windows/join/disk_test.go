package join

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// forEach calls f for every held entry: the journal's, then the committed
// ones on disk that the journal does not hold.
func (d *DiskStore) forEach(f func(e entry)) {
	for i := range d.jlog {
		if c := &d.jlog[i]; c.has {
			f(c.after)
		}
	}
	d.diskEntries(func(e entry) {
		if _, ok := d.jidx[ident{e.key, e.model}]; !ok {
			f(e)
		}
	})
}

// diskEntries calls f for every entry on disk.
func (d *DiskStore) diskEntries(f func(e entry)) {
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: []byte{ePrefix}, UpperBound: []byte{ePrefix + 1}})
	if err != nil {
		panic(err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		id, ok := parseEKey(it.Key())
		if !ok {
			panic(fmt.Sprintf("key %x on disk", it.Key()))
		}
		e, err := decodeEntryValue(id.key, id.model, it.Value())
		if err != nil {
			panic(err)
		}
		f(e)
	}
}

// checkDiskInvariants verifies that the disk holds a time index record for
// each entry and no other, that the memory cache holds committed entries as
// they are on disk, and that the gauges count what is held.
func checkDiskInvariants(t testing.TB, d *DiskStore) {
	t.Helper()
	onDisk := make(map[ident]entry)
	d.diskEntries(func(e entry) {
		onDisk[ident{e.key, e.model}] = e
		if d.last.swept != minSwept && e.t <= d.last.swept {
			t.Fatalf("entry %+v on disk at or before the committed sweep limit %d", e, d.last.swept)
		}
	})
	if len(onDisk) != d.last.held {
		t.Fatalf("%d entries on disk, %d committed", len(onDisk), d.last.held)
	}
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tPrefix}, UpperBound: []byte{tPrefix + 1}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
		e, err := decodeTKey(it.Key(), it.Value())
		if err != nil {
			t.Fatal(err)
		}
		if want, ok := onDisk[ident{e.key, e.model}]; !ok || want.t != e.t || want.flags != e.flags {
			t.Fatalf("time index %+v, entry %+v (present %v)", e, want, ok)
		}
	}
	it.Close()
	if n != len(onDisk) {
		t.Fatalf("%d time index records for %d entries", n, len(onDisk))
	}
	hot := 0
	for i := range d.hot.slots {
		if d.hot.slots[i].empty() {
			continue
		}
		hot++
		e := d.hotEntry(i)
		if onDisk[ident{e.key, e.model}] != e {
			t.Fatalf("cached %+v, on disk %+v", e, onDisk[ident{e.key, e.model}])
		}
	}
	if hot != d.hot.count || hot+d.cold != len(onDisk) {
		t.Fatalf("cache holds %d (count %d), %d cold, %d on disk", hot, d.hot.count, d.cold, len(onDisk))
	}
	if len(d.jidx) != len(d.jlog) {
		t.Fatalf("journal index of %d for %d changes", len(d.jidx), len(d.jlog))
	}
	pending, waiting, all := 0, 0, 0
	d.forEach(func(e entry) {
		all++
		switch e.state() {
		case statePending:
			pending++
		case stateWaiting:
			waiting++
		}
	})
	if pending != d.Pending() || waiting != d.WaitingOutcomes() || all != d.Len() {
		t.Fatalf("Pending/WaitingOutcomes/Len = %d/%d/%d, held %d/%d/%d",
			d.Pending(), d.WaitingOutcomes(), d.Len(), pending, waiting, all)
	}
}

// changelog stands in for the compacted Kafka topic: records at offsets
// 0, 1, 2 …
type changelog struct {
	recs []logRec
}

type logRec struct{ key, value []byte }

// produce appends the store's changes and returns the position after them.
func (l *changelog) produce(t testing.TB, d *DiskStore) int64 {
	t.Helper()
	seen := make(map[string]bool)
	err := d.Changes(func(k, v []byte) {
		if seen[string(k)] {
			t.Fatalf("key %x twice in one transaction", k)
		}
		seen[string(k)] = true
		l.recs = append(l.recs, logRec{bytes.Clone(k), bytes.Clone(v)})
	})
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(l.recs))
}

// compacted returns what compaction may leave of the log: the newest record
// of each key, in offset order, without tombstones if dropTombstones.
func (l *changelog) compacted(dropTombstones bool) []logRec {
	newest := make(map[string]int)
	for i, r := range l.recs {
		newest[string(r.key)] = i
	}
	var out []logRec
	for i, r := range l.recs {
		if newest[string(r.key)] == i && (r.value != nil || !dropTombstones) {
			out = append(out, r)
		}
	}
	return out
}

// restore feeds recs to d and ends the restore at position end.
func restoreFrom(t testing.TB, d *DiskStore, recs []logRec, end int64) {
	t.Helper()
	for _, r := range recs {
		if err := d.Restore(r.key, r.value); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Restored(end); err != nil {
		t.Fatal(err)
	}
}

// testMemory is the budget of the tests' stores unless they say otherwise:
// enough to cache every id of their streams, and small, since pebble
// allocates its share at each Open.
const testMemory = 4 << 20

func openDisk(t testing.TB, dir string, ttl int64, opts ...Option) *DiskStore {
	t.Helper()
	d, err := Open(dir, time.Duration(ttl)*time.Millisecond, append([]Option{WithMemory(testMemory)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// diskRun is a DiskStore under test with its changelog, reopened at will
// as a partition worker would after a crash.
type diskRun struct {
	t    testing.TB
	ttl  int64
	opts []Option
	dir  string
	d    *DiskStore
	log  changelog
}

func newDiskRun(t testing.TB, ttl int64, opts ...Option) *diskRun {
	r := &diskRun{t: t, ttl: ttl, opts: opts, dir: t.TempDir()}
	r.d = openDisk(t, r.dir, ttl, opts...)
	restoreFrom(t, r.d, nil, 0)
	t.Cleanup(func() { r.d.Close() })
	return r
}

func (r *diskRun) commit() {
	r.t.Helper()
	if err := r.d.Commit(r.log.produce(r.t, r.d)); err != nil {
		r.t.Fatal(err)
	}
}

// warm closes the store without committing and opens its directory again,
// replaying the changelog from the position on disk.
func (r *diskRun) warm() {
	r.t.Helper()
	if err := r.d.Close(); err != nil {
		r.t.Fatal(err)
	}
	r.reopen()
}

// crash ends the store as a crash would: what pebble held in memory is lost
// (it has no write-ahead log). Then it restores warm.
func (r *diskRun) crash() {
	r.t.Helper()
	if err := r.d.db.Close(); err != nil { // no flush
		r.t.Fatal(err)
	}
	r.d.db = nil
	r.reopen()
}

func (r *diskRun) reopen() {
	r.t.Helper()
	r.d = openDisk(r.t, r.dir, r.ttl, r.opts...)
	restoreFrom(r.t, r.d, r.log.recs[r.d.Position():], int64(len(r.log.recs)))
}

// cold drops the directory and restores from the compacted changelog.
func (r *diskRun) cold(dropTombstones bool) {
	r.t.Helper()
	if err := r.d.Close(); err != nil {
		r.t.Fatal(err)
	}
	r.dir = r.t.TempDir()
	r.d = openDisk(r.t, r.dir, r.ttl, r.opts...)
	restoreFrom(r.t, r.d, r.log.compacted(dropTombstones), int64(len(r.log.recs)))
}

// TestDiskStoreMatchesReference runs the model test's streams through a
// DiskStore that commits at random points, and at others aborts, crashes and
// restores warm, or restores cold from the compacted changelog, with and
// without its tombstones. After an abort or a restore, the operations since
// the last commit are replayed, as a partition worker would after its
// transaction failed: they must report what they reported the first time.
// The store must keep matching the reference throughout, with a memory
// budget that holds everything and with one so small that most lookups go to
// disk.
func TestDiskStoreMatchesReference(t *testing.T) {
	budgets := []struct {
		name string
		opts []Option
	}{
		{"in memory", nil},
		{"mostly on disk", []Option{WithMemory(2 << 10)}},
	}
	for _, b := range budgets {
		for _, pr := range profiles {
			t.Run(b.name+"/"+pr.name, func(t *testing.T) {
				seeds := 2
				if testing.Short() {
					seeds = 1
				}
				for seed := range seeds {
					t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
						runDiskModel(t, pr, uint64(seed), b.opts)
					})
				}
			})
		}
	}
}

func runDiskModel(t *testing.T, pr profile, seed uint64, opts []Option) {
	rng := rand.New(rand.NewPCG(seed, 0x6469736b))
	ops := genStream(pr, rng)
	if pr.interval > 0 {
		opts = append(slices.Clone(opts), WithSweepInterval(time.Duration(pr.interval)*time.Millisecond))
	}
	r := newDiskRun(t, pr.ttl, opts...)
	ref := newRef(pr.ttl)
	rc := &recorder{}
	delta := multiset{}
	var since []op          // operations since the last commit
	sinceRecs := multiset{} // and what they reported
	type gauges struct{ pending, waiting, held int }
	committed := gauges{}
	restores := 0
	for i, o := range ops {
		apply(r.d, ref, o, rc)
		since = append(since, o)
		sinceRecs.add(rc.recs...)
		account(delta, rc, ref)
		switch x := rng.Float64(); {
		case x < 0.06:
			r.commit()
			since, sinceRecs = since[:0], multiset{}
			committed = gauges{r.d.Pending(), r.d.WaitingOutcomes(), r.d.Len()}
		case x < 0.065:
			switch rng.IntN(5) {
			case 0:
				r.d.Abort()
			case 1:
				r.warm()
			case 2:
				r.crash()
			case 3:
				r.cold(false)
			case 4:
				r.cold(true)
			}
			restores++
			if g := (gauges{r.d.Pending(), r.d.WaitingOutcomes(), r.d.Len()}); g != committed {
				t.Fatalf("step %d: after abort or restore, pending/waiting/held %+v, committed %+v", i, g, committed)
			}
			checkDiskInvariants(t, r.d)
			again := &recorder{}
			for _, o := range since {
				applyStore(r.d, o, again)
			}
			got := multiset{}
			got.add(again.recs...)
			if d := diff(got, sinceRecs); d != "" {
				t.Fatalf("step %d: replay after abort or restore, replay minus first run: %s", i, d)
			}
		}
		// compare reads every entry on disk: not at every step.
		if i%53 == 0 || i == len(ops)-1 {
			compare(t, r.d, ref, delta, i, o)
		}
		if i%499 == 0 {
			checkDiskInvariants(t, r.d)
		}
	}
	r.commit()
	checkDiskInvariants(t, r.d)
	if r.d.Len() != 0 || r.d.Pending() != 0 || r.d.WaitingOutcomes() != 0 {
		t.Fatalf("after drain: len %d pending %d waiting %d", r.d.Len(), r.d.Pending(), r.d.WaitingOutcomes())
	}
	if restores == 0 {
		t.Log("no abort or restore in this stream")
	}
}

// goldenChangelogs digests, for each model-test profile, the changelog a
// DiskStore writes along generated histories, committing every 25th
// operation. The records pin down the changelog format and its order:
// the same input must give the same changelog, byte for byte, from any
// version of reckon that writes format 1. Set RECKON_GOLDEN=print to print
// new digests (and say in the commit why they changed).
var goldenChangelogs = map[string]string{
	"dense duplicates":          "e0b2f242333d3a0833e18364",
	"sparse ids":                "b104e6dfefc9c4156738b706",
	"raw keys shared by models": "5575f1eb3a0244001ed58f43",
	"long sweep interval":       "01207e01581cd60b6b17c971",
	"tiny sweep interval":       "d4c20ddb5c5b91153fd46d7b",
	"forced sweeps":             "6c6eb9ea013b4312213a3f13",
	"rare advances big steps":   "1433139677bbd5197a3797b2",
	"far times and rebasing":    "a54fe448e2c95eb91c097f8b",
	"ttl beyond int32 range":    "4216c1e0cf343afd1506727e",
	"ttl of 180 days":           "87a79c15f46ed35ae4aa902d",
	"epoch times":               "9ae6eabf5946bc124937753d",
	"negative times":            "445d7a7529d2a46a0264d311",
}

func TestChangelogGolden(t *testing.T) {
	print := os.Getenv("RECKON_GOLDEN") == "print"
	for _, pr := range profiles {
		all := sha256.New()
		for seed := range 2 {
			// The same history with a cache that holds it all and with one
			// far too small: the changelog must not depend on the cache.
			big := changelogDigest(t, pr, uint64(seed))
			small := changelogDigest(t, pr, uint64(seed), WithMemory(2<<10))
			if !bytes.Equal(big, small) {
				t.Errorf("%s, seed %d: the changelog depends on the memory budget", pr.name, seed)
			}
			all.Write(big)
		}
		got := fmt.Sprintf("%x", all.Sum(nil)[:12])
		if print {
			fmt.Printf("\t%q: %q,\n", pr.name, got)
			continue
		}
		if want := goldenChangelogs[pr.name]; got != want {
			t.Errorf("%s: changelog digest %s, want %s", pr.name, got, want)
		}
	}
}

// changelogDigest digests the changelog of a history of profile pr.
func changelogDigest(t *testing.T, pr profile, seed uint64, opts ...Option) []byte {
	rng := rand.New(rand.NewPCG(seed, 0x676f6c64))
	if pr.interval > 0 {
		opts = append(opts, WithSweepInterval(time.Duration(pr.interval)*time.Millisecond))
	}
	r := newDiskRun(t, pr.ttl, opts...)
	for i, o := range genStream(pr, rng) {
		applyStore(r.d, o, &recorder{})
		if i%25 == 0 {
			r.commit()
		}
	}
	r.commit()
	h := sha256.New()
	for _, rec := range r.log.recs {
		h.Write(binary.AppendUvarint(nil, uint64(len(rec.key))))
		h.Write(rec.key)
		h.Write(binary.AppendVarint(nil, int64(len(rec.value))-boolToInt(rec.value == nil)))
		h.Write(rec.value)
	}
	return h.Sum(nil)
}

func boolToInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// diskState is everything a DiskStore's committed state determines.
type diskState struct {
	entries                map[ident]entry
	wm, next, swept        int64
	pending, waiting, held int
}

func stateOf(d *DiskStore) diskState {
	s := diskState{entries: make(map[ident]entry), wm: d.wm, next: d.nextSweep, swept: d.swept,
		pending: d.Pending(), waiting: d.WaitingOutcomes(), held: d.Len()}
	d.forEach(func(e entry) { s.entries[ident{e.key, e.model}] = e })
	return s
}

func (s diskState) equal(o diskState) bool {
	if len(s.entries) != len(o.entries) || s.wm != o.wm || s.next != o.next || s.swept != o.swept ||
		s.pending != o.pending || s.waiting != o.waiting || s.held != o.held {
		return false
	}
	for id, e := range s.entries {
		if o.entries[id] != e {
			return false
		}
	}
	return true
}

// Work that is aborted, or never committed before the process ends, leaves
// nothing on disk; committed work is all there, whether the directory is
// opened again (warm) or the changelog restored into an empty one (cold).
func TestDiskCommitAbortRestore(t *testing.T) {
	pr := profiles[1] // sparse ids
	rng := rand.New(rand.NewPCG(7, 7))
	ops := genStream(pr, rng)
	r := newDiskRun(t, pr.ttl, WithMemory(4<<10))
	half := len(ops) / 2
	for _, o := range ops[:half] {
		applyStore(r.d, o, &recorder{})
	}
	r.commit()
	want := stateOf(r.d)
	if want.held == 0 || want.pending == 0 {
		t.Fatalf("the first half holds nothing: %+v", want)
	}
	for _, o := range ops[half:] {
		applyStore(r.d, o, &recorder{})
	}
	if stateOf(r.d).equal(want) {
		t.Fatal("the second half changed nothing")
	}
	r.d.Abort()
	if got := stateOf(r.d); !got.equal(want) {
		t.Fatalf("after Abort: %d held, wm %d; committed %d held, wm %d", got.held, got.wm, want.held, want.wm)
	}
	for _, o := range ops[half:] {
		applyStore(r.d, o, &recorder{})
	}
	r.warm() // closes without committing: the second half is lost again
	if got := stateOf(r.d); !got.equal(want) {
		t.Fatalf("after a warm restore: %d held, wm %d; committed %d held, wm %d", got.held, got.wm, want.held, want.wm)
	}
	for _, o := range ops[half:] {
		applyStore(r.d, o, &recorder{})
	}
	r.crash()
	if got := stateOf(r.d); !got.equal(want) {
		t.Fatalf("after a crash: %d held, wm %d; committed %d held, wm %d", got.held, got.wm, want.held, want.wm)
	}
	r.cold(false)
	if got := stateOf(r.d); !got.equal(want) {
		t.Fatalf("after a cold restore: %d held, wm %d; committed %d held, wm %d", got.held, got.wm, want.held, want.wm)
	}
	checkDiskInvariants(t, r.d)
	if r.d.Written().IsZero() || time.Since(r.d.Written()) > time.Minute {
		t.Fatalf("Written() = %v", r.d.Written())
	}
}

// A warm restore applies only what the disk lacks, and tolerates records
// it already has.
func TestDiskWarmRestoreReplaysFromPosition(t *testing.T) {
	r := newDiskRun(t, 1000)
	rc := &recorder{}
	r.d.AddPrediction(Prediction{Key: 1, TimeMs: 10}, rc)
	r.d.AddPrediction(Prediction{Key: 2, TimeMs: 10}, rc)
	r.commit()
	pos := r.d.Position()
	if pos != int64(len(r.log.recs)) || pos != 2 {
		t.Fatalf("position %d after 2 records, log of %d", pos, len(r.log.recs))
	}
	// Another member commits more: a join and an advance.
	other := openDisk(t, t.TempDir(), 1000)
	restoreFrom(t, other, r.log.recs, int64(len(r.log.recs)))
	other.AddOutcome(Outcome{Key: 1, TimeMs: 20}, rc)
	other.Advance(500, rc)
	r.log.produce(t, other)
	other.Close()
	if len(rc.take()) != 1 {
		t.Fatal("want one join")
	}
	// This member's directory is at pos: it replays from there. Then
	// replaying everything again, from 0, changes nothing.
	r.d.Close()
	for i, from := range []int64{pos, 0} {
		d := openDisk(t, r.dir, 1000)
		if want := []int64{pos, int64(len(r.log.recs))}[i]; d.Position() != want {
			t.Fatalf("Position() = %d, want %d", d.Position(), want)
		}
		restoreFrom(t, d, r.log.recs[from:], int64(len(r.log.recs)))
		if d.Pending() != 1 || d.Len() != 2 || d.Watermark() != 500 {
			t.Fatalf("from %d: pending %d held %d wm %d", from, d.Pending(), d.Len(), d.Watermark())
		}
		checkDiskInvariants(t, d)
		d.AddOutcome(Outcome{Key: 1, TimeMs: 30}, rc) // closed: a duplicate
		if got := rc.take(); len(got) != 1 || got[0].kind != "DO" {
			t.Fatalf("from %d: %v, want a duplicate outcome", from, got)
		}
		d.Close()
	}
	r.d = openDisk(t, r.dir, 1000)
}

func TestDiskRestoreErrors(t *testing.T) {
	good := appendEntryValue(nil, entry{t: 5, flags: stateClosed})
	key := appendEKey(nil, 1, 0)
	tests := []struct {
		name       string
		key, value []byte
		want       string
	}{
		{"not a join key", []byte("w/0/0"), good, "not a join changelog key"},
		{"key too short", key[:5], good, "not a join changelog key"},
		{"future version", key, append([]byte{2}, good[1:]...), "version 2"},
		{"invalid state", key, []byte{1, 0, 10}, "flags"},
		{"unknown flags", key, []byte{1, stateClosed | 0x80, 10}, "flags"},
		{"truncated time", key, []byte{1, stateClosed}, "truncated"},
		{"pending without score", key, []byte{1, statePending, 10}, "truncated"},
		{"trailing bytes", key, append(bytes.Clone(good), 0), "trailing"},
		{"bad metadata", []byte(metaKey), []byte{1, 2}, "truncated"},
	}
	for _, warm := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprint(tt.name, " warm=", warm), func(t *testing.T) {
				r := newDiskRun(t, 1000)
				if warm {
					r.d.AddPrediction(Prediction{Key: 9, TimeMs: 1}, &recorder{})
					r.commit()
					r.d.Close()
					r.d = openDisk(t, r.dir, 1000)
				}
				err := r.d.Restore(tt.key, tt.value)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want one containing %q", err, tt.want)
				}
			})
		}
	}
}

// A cold restore cut short leaves a directory that Open empties.
func TestDiskUnfinishedColdRestore(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 1000)
	for i := range 5 {
		if err := d.Restore(appendEKey(nil, uint64(i), 0), appendEntryValue(nil, entry{t: 5, flags: stateClosed})); err != nil {
			t.Fatal(err)
		}
	}
	d.flushRestore(true) // as a batch would be written before a crash
	d.Close()
	d = openDisk(t, dir, 1000)
	defer d.Close()
	if d.Len() != 0 || d.Position() != 0 {
		t.Fatalf("reopened: %d held at position %d", d.Len(), d.Position())
	}
	n := 0
	d.diskEntries(func(entry) { n++ })
	if n != 0 {
		t.Fatalf("%d entries left on disk", n)
	}
}

func TestDiskReset(t *testing.T) {
	r := newDiskRun(t, 1000)
	r.d.AddPrediction(Prediction{Key: 1, TimeMs: 10}, &recorder{})
	r.commit()
	if err := r.d.Reset(); err != nil {
		t.Fatal(err)
	}
	if r.d.Len() != 0 || r.d.Position() != 0 || r.d.Watermark() != math.MinInt64 {
		t.Fatalf("after Reset: %d held, position %d", r.d.Len(), r.d.Position())
	}
	restoreFrom(t, r.d, r.log.recs, int64(len(r.log.recs)))
	if r.d.Pending() != 1 {
		t.Fatalf("restored after Reset: %d pending", r.d.Pending())
	}
}

// A store that fits its budget never reads the disk; one that does not
// evicts, and still finds every id.
func TestDiskCacheBudget(t *testing.T) {
	for _, mem := range []int64{defaultMemory, 8 << 10} {
		r := newDiskRun(t, 1<<40, WithMemory(mem))
		rc := &recorder{}
		const n = 5000
		for i := range n {
			r.d.AddPrediction(Prediction{Key: uint64(i), TimeMs: int64(i)}, rc)
			if i%100 == 99 {
				r.commit()
			}
		}
		if mem == defaultMemory && (r.d.cold != 0 || r.d.hot.count != n) {
			t.Fatalf("budget %d: %d cold, %d cached", mem, r.d.cold, r.d.hot.count)
		}
		if mem < defaultMemory && (r.d.cold == 0 || len(r.d.hot.slots) > r.d.hotCells) {
			t.Fatalf("budget %d: %d cold, %d cells of at most %d", mem, r.d.cold, len(r.d.hot.slots), r.d.hotCells)
		}
		for i := range n {
			r.d.AddOutcome(Outcome{Key: uint64(i), TimeMs: int64(i)}, rc)
		}
		if st := r.d.Stats(); st.Joined != n {
			t.Fatalf("budget %d: %d joined of %d", mem, st.Joined, n)
		}
		r.commit()
		checkDiskInvariants(t, r.d)
	}
}

// After a crash the disk lags: pebble runs without a write-ahead log, so its
// memtables are lost. The position on disk says so, and replaying from
// there makes the state equal to the committed one again.
func TestDiskCrashReplaysWhatWasLost(t *testing.T) {
	r := newDiskRun(t, 1000)
	rc := &recorder{}
	for i := range 3 {
		r.d.AddPrediction(Prediction{Key: uint64(i), TimeMs: 10}, rc)
		r.commit()
	}
	want := stateOf(r.d)
	r.d.db.Close() // as crash does
	r.d.db = nil
	d := openDisk(t, r.dir, 1000)
	if d.Position() >= int64(len(r.log.recs)) {
		t.Fatalf("position %d after a crash: nothing was lost, so the crash proves nothing", d.Position())
	}
	d.Close()
	r.reopen()
	if got := stateOf(r.d); !got.equal(want) {
		t.Fatalf("after the crash and replay: %+v, want %+v", got, want)
	}
}

// TestEvictionKeepsProbesShort: a store whose cache overflows evicts an
// entry for each new one. Most cached predictions are never looked up again,
// so an eviction that walked the cells in order (a clock hand) emptied the
// cells behind it and packed all others into one cluster of the
// linear-probing table, which nearly every probe then crossed: seconds per
// commit at a million cached ids. The longest run of occupied cells must
// stay that of a table at its load with holes spread evenly.
func TestEvictionKeepsProbesShort(t *testing.T) {
	d, err := Open(t.TempDir(), 720*time.Hour, WithMemory(4<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rng := rand.New(rand.NewPCG(15, 2026))
	rc := &recorder{}
	pos := int64(0)
	cells := 0
	for c := range 40 {
		for i := range 5_000 {
			d.AddPrediction(Prediction{Key: rng.Uint64(), Model: uint16(i % 3), TimeMs: int64(c*5_000 + i), Score: 0.5}, rc)
		}
		if err := d.Changes(func(k, v []byte) { pos++ }); err != nil {
			t.Fatal(err)
		}
		if err := d.Commit(pos); err != nil {
			t.Fatal(err)
		}
		rc.take()
		cells = len(d.hot.slots)
	}
	if d.cold == 0 {
		t.Fatalf("nothing evicted: %d cells cache all %d ids; the test needs a smaller budget", cells, d.hot.count)
	}
	longest, run := 0, 0
	for i := range 2 * cells { // twice round: a run may wrap
		if d.hot.slots[i%cells].empty() {
			run = 0
			continue
		}
		run++
		longest = max(longest, min(run, cells))
	}
	if longest > cells/4 {
		t.Errorf("the longest run of occupied cells is %d of %d (%d cached, %d evicted): probes cross much of the table", longest, cells, d.hot.count, d.cold)
	}
	t.Logf("%d cells, %d cached, %d evicted, longest run %d", cells, d.hot.count, d.cold, longest)
}
