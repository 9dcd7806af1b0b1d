package join

import (
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// step is one call in a scenario and the records it must produce (as a
// multiset: the order of retirements within a sweep is unspecified).
type step struct {
	do    string // P, O, W (Advance), S (Sweep)
	id    uint64 // used directly as the key
	model uint16
	t     int64 // event time or watermark
	score float32
	flag  bool // Predicted or Label
	want  []rec
}

func P(id uint64, t int64, want ...rec) step {
	return step{do: "P", id: id, t: t, score: 0.25, want: want}
}
func O(id uint64, t int64, want ...rec) step { return step{do: "O", id: id, t: t, want: want} }
func W(w int64, want ...rec) step            { return step{do: "W", t: w, want: want} }
func S(want ...rec) step                     { return step{do: "S", want: want} }

func (s step) m(model uint16) step     { s.model = model; return s }
func (s step) sc(score float32) step   { s.score = score; return s }
func (s step) set() step               { s.flag = true; return s }
func (s step) expect(want ...rec) step { s.want = want; return s }

func j(model uint16, tp, to int64, score float32, pred, label bool) rec {
	return rec{kind: "J", model: model, t1: tp, t2: to, score: math.Float32bits(score), pred: pred, label: label}
}

var (
	dp = rec{kind: "DP"}
	do = rec{kind: "DO"}
)

func e(t int64) rec { return expiredRec(0, t) }
func o(t int64) rec { return orphanedRec(0, t) }

// TestScenarios pins down every edge case of the package documentation. The
// TTL is 100ms. The sweep interval is 1ms unless a case says otherwise, so
// Advance reports retirements exactly.
func TestScenarios(t *testing.T) {
	nan := math.Float32frombits(0x7fc0_0001) // a NaN with a payload
	tests := []struct {
		name     string
		interval time.Duration
		steps    []step
		// held pending/waiting/ids after the last step
		pending, waiting, held int
	}{
		{
			name:  "prediction then outcome joins",
			steps: []step{P(1, 0).set(), O(1, 50).set().expect(j(0, 0, 50, 0.25, true, true))},
			held:  1,
		},
		{
			name:  "outcome waits for its prediction",
			steps: []step{O(1, 10).set(), P(1, 0).expect(j(0, 0, 10, 0.25, false, true))},
			held:  1,
		},
		{
			name:  "joins one millisecond before the deadline",
			steps: []step{P(1, 0), W(99), O(1, 99, j(0, 0, 99, 0.25, false, false))},
			held:  1,
		},
		{
			name:  "prediction expires when the watermark reaches t + ttl",
			steps: []step{P(1, 0), W(99), W(100, e(0))},
		},
		{
			// The brief's first case: the prediction is overdue but no sweep
			// has run. The outcome must not join it. The prediction is
			// reported Expired at that moment, and the outcome waits and is
			// Orphaned at its own deadline.
			name:     "outcome after the prediction's deadline, before any sweep",
			interval: time.Hour,
			steps: []step{
				W(0), // the first Advance sweeps; the next sweep is at 1h
				P(1, 0),
				W(100), // overdue, not swept: still counted pending
				O(1, 50, e(0)),
				W(150), // overdue, not swept
				S(o(50)),
			},
		},
		{
			name: "outcome after the prediction's deadline, already swept",
			steps: []step{
				W(0),
				P(1, 0),
				W(100, e(0)),
				O(1, 50),
				W(150, o(50)),
			},
		},
		{
			// A copy of the expired prediction carries the expired time: it
			// cannot join the outcome either. It is the outcome's first
			// prediction, past its deadline, so the outcome is Orphaned then.
			name:     "a copy of the expired prediction does not join the waiting outcome",
			interval: time.Hour,
			steps: []step{
				W(0), P(1, 0), W(100),
				O(1, 50, e(0)),
				P(1, 0, e(0), o(50)),
				O(1, 50, do), // closed until max(0, 50) + ttl = 150
				W(150),
				O(1, 50, o(50)), // forgotten; past its deadline on arrival
			},
		},
		{
			name: "duplicate outcome after a join is a duplicate until max(tp, to) + ttl",
			steps: []step{
				P(1, 0), O(1, 80, j(0, 0, 80, 0.25, false, false)),
				W(150),
				O(1, 80, do), // past the prediction's deadline, not the outcome's
				W(179),
				O(1, 80, do),
				W(180),          // the closed id is forgotten, silently
				O(1, 80, o(80)), // a new first outcome, already past its deadline
				O(1, 181),       // a new first outcome that waits
			},
			waiting: 1, held: 1,
		},
		{
			name: "duplicate prediction after a join",
			steps: []step{
				P(1, 0), O(1, 10, j(0, 0, 10, 0.25, false, false)),
				P(1, 0, dp),
				P(1, 5).sc(0.9).expect(dp),
				W(110),
				P(1, 0, e(0)), // forgotten: a new first prediction, already expired
			},
		},
		{
			name: "outcome, duplicate outcome, then prediction: the first outcome wins",
			steps: []step{
				O(1, 10).set(),
				O(1, 20, do),
				P(1, 0, j(0, 0, 10, 0.25, false, true)),
				O(1, 30, do),
			},
			held: 1,
		},
		{
			name: "duplicate prediction while pending: the first prediction wins",
			steps: []step{
				P(1, 0).sc(0.1).set(),
				P(1, 5).sc(0.9).expect(dp),
				O(1, 30, j(0, 0, 30, 0.1, true, false)),
			},
			held: 1,
		},
		{
			name: "prediction past its deadline on arrival is reported and not held",
			steps: []step{
				W(1000),
				P(1, 900, e(900)),
				P(1, 900, e(900)), // nothing was held: not a duplicate
				P(1, 901),         // live: held
			},
			pending: 1, held: 1,
		},
		{
			name: "prediction past its deadline meets a waiting outcome",
			steps: []step{
				W(1000),
				O(1, 950),
				P(1, 850, e(850), o(950)),
				O(1, 950, do),
				P(1, 990, dp),
				W(1049),
				W(1050), // closed until max(850, 950) + ttl
			},
		},
		{
			name:  "outcome past its deadline with no prediction is orphaned at once",
			steps: []step{W(1000), O(1, 900, o(900))},
		},
		{
			name:  "late outcome joins a live prediction",
			steps: []step{W(1000), P(1, 950), O(1, 0, j(0, 950, 0, 0.25, false, false))},
			held:  1,
		},
		{
			name:  "equal and backward watermarks are ignored",
			steps: []step{P(1, 0), W(50), W(50), W(10), W(99), W(-5), W(100, e(0))},
		},
		{
			name: "same key in two models is two ids",
			steps: []step{
				P(1, 0).m(0),
				O(1, 10).m(1),
				P(1, 5).m(1).expect(j(1, 5, 10, 0.25, false, false)),
				O(1, 20).m(0).expect(j(0, 0, 20, 0.25, false, false)),
			},
			held: 2,
		},
		{
			name:  "NaN score is kept bit for bit",
			steps: []step{P(1, 0).sc(nan), O(1, 1, j(0, 0, 1, nan, false, false))},
			held:  1,
		},
		{
			name: "a forgotten id starts over",
			steps: []step{
				P(1, 0), O(1, 10, j(0, 0, 10, 0.25, false, false)),
				W(110),
				P(1, 200), O(1, 210, j(0, 200, 210, 0.25, false, false)),
			},
			held: 1,
		},
		{
			name: "one sweep reports several",
			steps: []step{
				P(1, 0), P(2, 10), O(3, 20), P(4, 30), O(4, 40, j(0, 30, 40, 0.25, false, false)),
				W(200, e(0), e(10), o(20)),
			},
		},
		{
			name: "extreme times saturate",
			steps: []step{
				P(1, math.MinInt64), // before any watermark: held
				P(2, math.MaxInt64), // deadline saturates at MaxInt64
				O(3, math.MaxInt64-50),
				W(0, e(math.MinInt64)),
				W(math.MaxInt64 - 1),
				W(math.MaxInt64, e(math.MaxInt64), o(math.MaxInt64-50)),
			},
		},
	}
	for _, v := range variants {
		for _, tt := range tests {
			t.Run(v.name+"/"+tt.name, func(t *testing.T) {
				interval := tt.interval
				if interval == 0 {
					interval = time.Millisecond
				}
				u := v.make(t, 100, WithSweepInterval(interval))
				rc := &recorder{}
				for i, st := range tt.steps {
					s := u.store()
					switch st.do {
					case "P":
						s.AddPrediction(Prediction{Key: st.id, Model: st.model, TimeMs: st.t, Score: st.score, Predicted: st.flag}, rc)
					case "O":
						s.AddOutcome(Outcome{Key: st.id, Model: st.model, TimeMs: st.t, Label: st.flag}, rc)
					case "W":
						s.Advance(st.t, rc)
					case "S":
						s.Sweep(rc)
					}
					got, want := multiset{}, multiset{}
					got.add(rc.take()...)
					want.add(st.want...)
					if d := diff(got, want); d != "" {
						t.Fatalf("step %d %s(%d, %d): got minus want: %s", i, st.do, st.id, st.t, d)
					}
					checkInvariants(t, s)
					u.step()
				}
				// Report what is owed, then compare the gauges.
				s := u.store()
				s.Sweep(rc)
				if extra := rc.take(); len(extra) > 0 {
					t.Fatalf("Sweep after the last step reported %v", extra)
				}
				if s.Pending() != tt.pending || s.WaitingOutcomes() != tt.waiting || s.Len() != tt.held {
					t.Fatalf("pending/waiting/held = %d/%d/%d, want %d/%d/%d",
						s.Pending(), s.WaitingOutcomes(), s.Len(), tt.pending, tt.waiting, tt.held)
				}
			})
		}
	}
}

// underTest is a store in a test, with what happens to it between steps.
type underTest interface {
	store() tested
	step() // called after each step
}

type memoryUnderTest struct{ s *Store }

func (m memoryUnderTest) store() tested { return m.s }
func (memoryUnderTest) step()           {}

// diskUnderTest commits after each step, and then restores warm or cold.
type diskUnderTest struct {
	r          *diskRun
	commit     bool
	warm, cold bool
}

func (u *diskUnderTest) store() tested { return u.r.d }
func (u *diskUnderTest) step() {
	if u.commit {
		u.r.commit()
	}
	if u.warm {
		u.r.warm()
	}
	if u.cold {
		u.r.cold(false)
	}
}

// variants are the stores that tests written for Store run against: a Store,
// and a DiskStore with commits and restores between steps, which must not
// change what it decides.
var variants = []struct {
	name string
	make func(t *testing.T, ttl int64, opts ...Option) underTest
}{
	{"Store", func(t *testing.T, ttl int64, opts ...Option) underTest {
		return memoryUnderTest{New(time.Duration(ttl)*time.Millisecond, opts...)}
	}},
	{"DiskStore", func(t *testing.T, ttl int64, opts ...Option) underTest {
		return &diskUnderTest{r: newDiskRun(t, ttl, opts...)}
	}},
	{"DiskStore committing", func(t *testing.T, ttl int64, opts ...Option) underTest {
		return &diskUnderTest{r: newDiskRun(t, ttl, opts...), commit: true}
	}},
	{"DiskStore restoring warm", func(t *testing.T, ttl int64, opts ...Option) underTest {
		return &diskUnderTest{r: newDiskRun(t, ttl, opts...), commit: true, warm: true}
	}},
	{"DiskStore restoring cold, tiny cache", func(t *testing.T, ttl int64, opts ...Option) underTest {
		return &diskUnderTest{r: newDiskRun(t, ttl, append(opts, WithMemory(1))...), commit: true, cold: true}
	}},
}

// Between sweeps, gauges include overdue ids. They are exact after a sweep.
func TestPendingBetweenSweeps(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			u := v.make(t, 100, WithSweepInterval(time.Hour))
			rc := &recorder{}
			u.store().Advance(0, rc)
			u.store().AddPrediction(Prediction{Key: 1}, rc)
			u.step()
			u.store().AddOutcome(Outcome{Key: 2}, rc)
			u.step()
			u.store().Advance(100, rc)
			u.step()
			s := u.store()
			if s.Pending() != 1 || s.WaitingOutcomes() != 1 || len(rc.recs) != 0 {
				t.Fatalf("before the sweep: pending %d waiting %d records %v", s.Pending(), s.WaitingOutcomes(), rc.recs)
			}
			s.Advance(time.Hour.Milliseconds(), rc) // crosses the sweep point
			if s.Pending() != 0 || s.WaitingOutcomes() != 0 || len(rc.take()) != 2 {
				t.Fatalf("after the sweep: pending %d waiting %d", s.Pending(), s.WaitingOutcomes())
			}
		})
	}
}

// Sweeps run when the watermark crosses a multiple of the interval, however
// the watermark gets there.
func TestSweepSchedule(t *testing.T) {
	tests := []struct {
		name   string
		marks  []int64
		sweeps int
	}{
		{"first advance sweeps", []int64{5}, 1},
		{"within one interval", []int64{5, 6, 9}, 1},
		{"crossing at the multiple", []int64{5, 10}, 2},
		{"one jump over many multiples", []int64{5, 95}, 2},
		{"every other mark crosses", []int64{5, 10, 15, 20, 25}, 3},
		{"negative watermarks", []int64{-25, -21, -20, -1, 0}, 4},
		{"near the end of time", []int64{math.MaxInt64 - 3, math.MaxInt64}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(time.Second, WithSweepInterval(10*time.Millisecond))
			sweeps := 0
			rc := &recorder{}
			for _, w := range tt.marks {
				before := s.nextSweep
				s.Advance(w, rc)
				if s.nextSweep != before {
					sweeps++
					if s.nextSweep != math.MaxInt64 && (s.nextSweep <= w || s.nextSweep%10 != 0) {
						t.Fatalf("after Advance(%d): next sweep at %d", w, s.nextSweep)
					}
				}
			}
			if sweeps != tt.sweeps {
				t.Fatalf("%d sweeps, want %d", sweeps, tt.sweeps)
			}
		})
	}
}

// A long run in epoch milliseconds keeps every id in the compact table:
// rebasing follows the watermark, so the side map stays empty, for any TTL up
// to about 43 days.
func TestRebaseKeepsTableCompact(t *testing.T) {
	const day = 24 * time.Hour
	for _, ttl := range []time.Duration{time.Minute, time.Hour, day, 7 * day, 40 * day} {
		t.Run(ttl.String(), func(t *testing.T) {
			ms := ttl.Milliseconds()
			span := 4*ms + 100*day.Milliseconds()
			step := max(ms/24, span/5000)
			s := New(ttl)
			rc := &recorder{}
			rng := rand.New(rand.NewPCG(3, 4))
			var recent []uint64 // keys of predictions, oldest first
			start := int64(1_795_000_000_000)
			for now := start; now < start+span; now += step {
				for range 20 {
					key := rng.Uint64()
					recent = append(recent, key)
					s.AddPrediction(Prediction{Key: key, TimeMs: now - rng.Int64N(step)}, rc)
				}
				// Outcomes for earlier predictions, stamped now: label
				// delays up to the length of recent.
				for range 10 {
					key := recent[rng.IntN(len(recent))]
					s.AddOutcome(Outcome{Key: key, TimeMs: now - rng.Int64N(step)}, rc)
				}
				if keep := int(20 * (ms*3/2/step + 1)); len(recent) > keep {
					recent = recent[len(recent)-keep:]
				}
				s.Advance(now-step/2, rc)
				if len(s.over) != 0 {
					t.Fatalf("at %d: %d ids in the side map", now-start, len(s.over))
				}
			}
			checkInvariants(t, s)
			if st := s.Stats(); st.Joined == 0 || st.Expired == 0 {
				t.Fatalf("the run should join and expire: %+v", st)
			}
		})
	}
}

func TestNewPanicsOnShortTTL(t *testing.T) {
	for _, ttl := range []time.Duration{0, -time.Second, time.Microsecond} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "TTL") {
					t.Errorf("New(%v): recovered %v, want a panic about the TTL", ttl, r)
				}
			}()
			New(ttl)
		}()
	}
}

// A cell is a 16-byte slot and a 4-byte offset: 20 bytes per cell.
func TestSlotSize(t *testing.T) {
	if n := unsafe.Sizeof(slot{}) + unsafe.Sizeof(int32(0)); n != 20 {
		t.Fatalf("a cell is %d bytes, want 20", n)
	}
}

// The table grows and shrinks and keeps its invariants through both.
func TestGrowAndShrink(t *testing.T) {
	s := New(100 * time.Millisecond)
	rc := &recorder{}
	const n = 100_000
	keep := func(i int) bool { return i%100 == 99 }
	for i := range n {
		tm := int64(i % 50)
		if keep(i) {
			tm = 10_000
		}
		s.AddPrediction(Prediction{Key: uint64(i), TimeMs: tm}, rc) // raw keys: poorly mixed input
	}
	checkInvariants(t, s)
	if s.Pending() != n {
		t.Fatalf("pending %d, want %d", s.Pending(), n)
	}
	big := len(s.tab.slots)
	if load := float64(n) / float64(big); load < 0.58 || load > 0.875 {
		t.Fatalf("load %.3f outside [7/12, 7/8]", load)
	}
	// Retire 99%: expire those with t < 25, join the rest but the 1% kept,
	// then let the joined ids' deadlines (t + ttl < 150) pass.
	s.Advance(124, rc)
	for i := range n {
		if i%50 >= 25 && !keep(i) {
			s.AddOutcome(Outcome{Key: uint64(i), TimeMs: 0}, rc)
		}
	}
	s.Advance(150, rc)
	checkInvariants(t, s)
	if s.Len() != n/100 || len(s.tab.slots) >= big/4 {
		t.Fatalf("after retiring 99%%: %d held in %d slots (was %d)", s.Len(), len(s.tab.slots), big)
	}
	s.Advance(20_000, rc)
	if s.Len() != 0 || len(s.tab.slots) != minCapacity {
		t.Fatalf("empty store keeps %d slots, want %d", len(s.tab.slots), minCapacity)
	}
}

// countingSink is a Sink that only counts, as a partition worker's would.
type countingSink struct{ Stats }

func (c *countingSink) Joined(Joined)              { c.Stats.Joined++ }
func (c *countingSink) DuplicatePrediction(uint16) { c.DuplicatePredictions++ }
func (c *countingSink) DuplicateOutcome(uint16)    { c.DuplicateOutcomes++ }
func (c *countingSink) Expired(uint16, int64)      { c.Stats.Expired++ }
func (c *countingSink) Orphaned(uint16, int64)     { c.Stats.Orphaned++ }

// The hot path allocates nothing once the table has room.
func TestNoAllocations(t *testing.T) {
	s := New(time.Hour, WithCapacity(10_000))
	sink := &countingSink{}
	var i int64
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		s.AddPrediction(Prediction{Key: uint64(i), TimeMs: i}, sink)
		s.AddPrediction(Prediction{Key: uint64(i), TimeMs: i}, sink) // duplicate
		s.AddOutcome(Outcome{Key: uint64(i), TimeMs: i + 1}, sink)
		s.AddOutcome(Outcome{Key: uint64(i + 1_000_000), TimeMs: i}, sink) // waits
		s.Advance(i, sink)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}

// bytesPerPending fills a fresh Store with n pending predictions and returns
// the heap growth per prediction.
func bytesPerPending(n int, opts ...Option) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := New(24*time.Hour, opts...)
	sink := &countingSink{}
	for i := range n {
		s.AddPrediction(Prediction{Key: KeyOf(uint16(i%4), nil) ^ uint64(i)*fib, Model: uint16(i % 4),
			TimeMs: 1_795_000_000_000 + int64(i), Score: 0.5}, sink)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if s.Pending() != n {
		panic("not all pending")
	}
	runtime.KeepAlive(s)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// TestMemoryPending holds 5 million pending predictions. A held id costs at
// most 20 bytes / (7/12 load) = 34.3 bytes.
func TestMemoryPending(t *testing.T) {
	if testing.Short() {
		t.Skip("holds 5 million predictions")
	}
	const n = 5_000_000
	got := bytesPerPending(n)
	t.Logf("%.1f bytes/pending at %d", got, n)
	if got > 34.5 {
		t.Fatalf("%.1f bytes per pending prediction, want at most 34.3", got)
	}
}
