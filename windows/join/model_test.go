package join

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// refStore is a brute-force reference for the semantics in the package
// documentation. It uses a Go map, full-width times and an exact scan on
// every Advance. It was written from the state table, not from Store.
type refStore struct {
	ttl int64
	wm  int64
	ids map[ident]*refEntry
	out []rec
}

type refEntry struct {
	state  string // "pending", "waiting" or "closed"
	model  uint16
	tp, to int64 // prediction and outcome times, when seen
	score  uint32
	pred   bool
	label  bool
}

func newRef(ttl int64) *refStore {
	return &refStore{ttl: ttl, wm: math.MinInt64, ids: make(map[ident]*refEntry)}
}

func (r *refStore) deadline(e *refEntry) int64 {
	switch e.state {
	case "pending":
		return e.tp + r.ttl
	case "waiting":
		return e.to + r.ttl
	}
	return max(e.tp, e.to) + r.ttl
}

func (r *refStore) addPrediction(p Prediction) {
	id := ident{p.Key, p.Model}
	late := p.TimeMs+r.ttl <= r.wm
	e, ok := r.ids[id]
	switch {
	case !ok && late:
		r.out = append(r.out, expiredRec(p.Model, p.TimeMs))
	case !ok:
		r.ids[id] = &refEntry{state: "pending", model: p.Model, tp: p.TimeMs,
			score: math.Float32bits(p.Score), pred: p.Predicted}
	case e.state == "pending" || e.state == "closed":
		r.out = append(r.out, rec{kind: "DP", model: p.Model})
	case late: // waiting outcome meets a prediction already past its deadline
		r.out = append(r.out, expiredRec(p.Model, p.TimeMs), orphanedRec(e.model, e.to))
		e.state, e.tp = "closed", p.TimeMs
	default:
		r.out = append(r.out, rec{kind: "J", model: p.Model, t1: p.TimeMs, t2: e.to,
			score: math.Float32bits(p.Score), pred: p.Predicted, label: e.label})
		e.state, e.tp = "closed", p.TimeMs
	}
}

func (r *refStore) addOutcome(o Outcome) {
	id := ident{o.Key, o.Model}
	e, ok := r.ids[id]
	switch {
	case !ok && o.TimeMs+r.ttl <= r.wm:
		r.out = append(r.out, orphanedRec(o.Model, o.TimeMs))
	case !ok:
		r.ids[id] = &refEntry{state: "waiting", model: o.Model, to: o.TimeMs, label: o.Label}
	case e.state == "waiting" || e.state == "closed":
		r.out = append(r.out, rec{kind: "DO", model: o.Model})
	default: // pending: joins whatever the outcome's time
		r.out = append(r.out, rec{kind: "J", model: o.Model, t1: e.tp, t2: o.TimeMs,
			score: e.score, pred: e.pred, label: o.Label})
		e.state, e.to = "closed", o.TimeMs
	}
}

func (r *refStore) advance(w int64) {
	if w <= r.wm {
		return
	}
	r.wm = w
	for id, e := range r.ids {
		if r.deadline(e) > w {
			continue
		}
		switch e.state {
		case "pending":
			r.out = append(r.out, expiredRec(e.model, e.tp))
		case "waiting":
			r.out = append(r.out, orphanedRec(e.model, e.to))
		}
		delete(r.ids, id)
	}
}

func (r *refStore) counts() (pending, waiting int) {
	for _, e := range r.ids {
		switch e.state {
		case "pending":
			pending++
		case "waiting":
			waiting++
		}
	}
	return
}

// op is one step of a generated stream.
type op struct {
	kind string // "P", "O", "W" (advance), "S" (sweep)
	p    Prediction
	o    Outcome
	w    int64
}

func (o op) String() string {
	switch o.kind {
	case "P":
		return fmt.Sprintf("P(k%#x m%d t%d)", o.p.Key, o.p.Model, o.p.TimeMs)
	case "O":
		return fmt.Sprintf("O(k%#x m%d t%d)", o.o.Key, o.o.Model, o.o.TimeMs)
	case "W":
		return fmt.Sprintf("W(%d)", o.w)
	}
	return "S"
}

// profile shapes a random stream.
type profile struct {
	name      string
	ttl       int64 // ms
	interval  int64 // sweep interval, ms; 0 for the default
	ids       int   // id pool size: small pools make many duplicates
	models    int
	events    int
	rawKeys   bool    // keys are small integers shared across models
	pOutcome  float64 // chance that an event is an outcome
	pAdvance  float64 // chance of a watermark step after an event
	pSweep    float64 // chance of a forced Sweep after an event
	pFar      float64 // chance of a time far from now (days to years)
	step      int64   // typical watermark step, ms
	startTime int64
}

var profiles = []profile{
	{name: "dense duplicates", ttl: 100, ids: 40, models: 2, events: 4000, pOutcome: 0.5, pAdvance: 0.3, step: 20},
	{name: "sparse ids", ttl: 1000, ids: 5000, models: 3, events: 8000, pOutcome: 0.45, pAdvance: 0.1, step: 100},
	{name: "raw keys shared by models", ttl: 50, ids: 30, models: 4, events: 4000, rawKeys: true, pOutcome: 0.5, pAdvance: 0.4, step: 10},
	{name: "long sweep interval", ttl: 200, interval: 5000, ids: 300, models: 2, events: 6000, pOutcome: 0.5, pAdvance: 0.3, step: 30},
	{name: "tiny sweep interval", ttl: 200, interval: 1, ids: 300, models: 2, events: 4000, pOutcome: 0.5, pAdvance: 0.3, step: 30},
	{name: "forced sweeps", ttl: 300, ids: 200, models: 2, events: 4000, pOutcome: 0.5, pAdvance: 0.2, pSweep: 0.05, step: 40},
	{name: "rare advances big steps", ttl: 100, ids: 500, models: 2, events: 6000, pOutcome: 0.5, pAdvance: 0.01, step: 2000},
	{name: "far times and rebasing", ttl: 3_600_000, ids: 400, models: 2, events: 6000, pOutcome: 0.5, pAdvance: 0.2, pFar: 0.05, step: 400_000},
	{name: "ttl beyond int32 range", ttl: 60 * 86_400_000, ids: 300, models: 2, events: 4000, pOutcome: 0.5, pAdvance: 0.2, pFar: 0.05, step: 5 * 86_400_000},
	{name: "ttl of 180 days", ttl: 180 * 86_400_000, ids: 400, models: 2, events: 5000, pOutcome: 0.5, pAdvance: 0.2, pFar: 0.02, step: 12 * 86_400_000, startTime: 1_795_000_000_000},
	{name: "epoch times", ttl: 86_400_000, ids: 2000, models: 3, events: 6000, pOutcome: 0.5, pAdvance: 0.1, pFar: 0.01, step: 3_600_000, startTime: 1_795_000_000_000},
	{name: "negative times", ttl: 1000, ids: 500, models: 2, events: 4000, pOutcome: 0.5, pAdvance: 0.2, step: 150, startTime: -1_000_000},
}

// genStream makes a random stream: out-of-order and late events, labels
// before predictions, duplicates of both kinds, ids never labelled, watermark
// steps of random size (some zero, some backwards).
func genStream(pr profile, rng *rand.Rand) []op {
	var ops []op
	now := pr.startTime
	wm := now - pr.ttl
	for range pr.events {
		now += rng.Int64N(max(pr.step/4, 1) + 1)
		id := rng.IntN(pr.ids)
		model := uint16(rng.IntN(pr.models))
		var key uint64
		if pr.rawKeys {
			key = uint64(id)
		} else {
			key = KeyOf(model, fmt.Appendf(nil, "id-%d", id))
		}
		// Event times around now: mostly recent, some before the watermark,
		// some beyond the TTL, some far away.
		t := now - rng.Int64N(pr.ttl+1) + rng.Int64N(pr.ttl/2+1)
		if rng.Float64() < 0.1 {
			t = wm - rng.Int64N(2*pr.ttl+1)
		}
		if rng.Float64() < pr.pFar {
			far := []int64{30 * 86_400_000, 400 * 86_400_000, 1 << 40}[rng.IntN(3)]
			if rng.IntN(2) == 0 {
				far = -far
			}
			t = now + far
		}
		if rng.Float64() < pr.pOutcome {
			ops = append(ops, op{kind: "O", o: Outcome{Key: key, Model: model, TimeMs: t, Label: rng.IntN(2) == 0}})
		} else {
			score := float32(rng.Float64())
			if rng.IntN(20) == 0 {
				score = float32(math.NaN())
			}
			ops = append(ops, op{kind: "P", p: Prediction{Key: key, Model: model, TimeMs: t, Score: score, Predicted: rng.IntN(2) == 0}})
		}
		if rng.Float64() < pr.pAdvance {
			switch rng.IntN(10) {
			case 0: // the same watermark again
			case 1: // backwards: ignored
				ops = append(ops, op{kind: "W", w: wm - rng.Int64N(pr.step+1)})
				continue
			default:
				wm = max(wm, now-pr.step) + rng.Int64N(pr.step+1)
			}
			ops = append(ops, op{kind: "W", w: wm})
		}
		if rng.Float64() < pr.pSweep {
			ops = append(ops, op{kind: "S"})
		}
	}
	// Drain: everything retires.
	ops = append(ops, op{kind: "W", w: math.MaxInt64 / 2}, op{kind: "S"})
	return ops
}

func newForProfile(pr profile) *Store {
	var opts []Option
	if pr.interval > 0 {
		opts = append(opts, WithSweepInterval(time.Duration(pr.interval)*time.Millisecond))
	}
	return New(time.Duration(pr.ttl)*time.Millisecond, opts...)
}

// apply runs one op on the Store and the reference.
func apply(s tested, ref *refStore, o op, sink Sink) {
	applyStore(s, o, sink)
	switch o.kind {
	case "P":
		ref.addPrediction(o.p)
	case "O":
		ref.addOutcome(o.o)
	case "W":
		ref.advance(o.w)
	}
}

// applyStore runs one op on the Store only.
func applyStore(s tested, o op, sink Sink) {
	switch o.kind {
	case "P":
		s.AddPrediction(o.p, sink)
	case "O":
		s.AddOutcome(o.o, sink)
	case "W":
		s.Advance(o.w, sink)
	case "S":
		s.Sweep(sink)
	}
}

// compare checks that what the Store reported, plus the retirements it owes,
// equals what the reference reported, and that the gauges agree. delta holds
// the Store's records minus the reference's, with zero counts deleted.
func compare(t *testing.T, s tested, ref *refStore, delta multiset, step int, o op) {
	t.Helper()
	owed, owedP, owedW, owedAll := overdueRecs(s)
	check := multiset{}
	for r, n := range delta {
		check[r] = n
	}
	check.add(owed...)
	if !allZero(check) {
		t.Fatalf("step %d (%v): store minus reference: %s", step, o, nonZero(check))
	}
	rp, rw := ref.counts()
	if s.Pending()-owedP != rp || s.WaitingOutcomes()-owedW != rw || s.Len()-owedAll != len(ref.ids) {
		t.Fatalf("step %d (%v): pending/waiting/len %d/%d/%d (owing %d/%d/%d), reference %d/%d/%d",
			step, o, s.Pending(), s.WaitingOutcomes(), s.Len(), owedP, owedW, owedAll, rp, rw, len(ref.ids))
	}
}

func allZero(m multiset) bool {
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func nonZero(m multiset) string {
	out := multiset{}
	for r, n := range m {
		if n != 0 {
			out[r] = n
		}
	}
	return diff(out, multiset{})
}

// account moves new records of the Store (+1) and the reference (−1) into
// delta.
func account(delta multiset, rc *recorder, ref *refStore) {
	for _, r := range rc.take() {
		if delta[r]++; delta[r] == 0 {
			delete(delta, r)
		}
	}
	for _, r := range ref.out {
		if delta[r]--; delta[r] == 0 {
			delete(delta, r)
		}
	}
	ref.out = ref.out[:0]
}

// count adds one record to the totals.
func (st *Stats) count(r rec) {
	switch r.kind {
	case "J":
		st.Joined++
	case "DP":
		st.DuplicatePredictions++
	case "DO":
		st.DuplicateOutcomes++
	case "E":
		st.Expired++
	case "O":
		st.Orphaned++
	}
}

func TestStoreMatchesReference(t *testing.T) {
	for _, pr := range profiles {
		t.Run(pr.name, func(t *testing.T) {
			seeds := 20
			if testing.Short() {
				seeds = 3
			}
			for seed := range seeds {
				t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(seed), 0x6a6f696e))
					ops := genStream(pr, rng)
					s, ref := newForProfile(pr), newRef(pr.ttl)
					rc := &recorder{}
					delta := multiset{}
					var st Stats
					for i, o := range ops {
						apply(s, ref, o, rc)
						for _, r := range rc.recs {
							st.count(r)
						}
						account(delta, rc, ref)
						if i%7 == 0 || i == len(ops)-1 {
							compare(t, s, ref, delta, i, o)
							checkInvariants(t, s)
						}
					}
					// After the drain nothing is held and nothing is owed.
					if s.Len() != 0 || s.Pending() != 0 || s.WaitingOutcomes() != 0 {
						t.Fatalf("after drain: len %d pending %d waiting %d", s.Len(), s.Pending(), s.WaitingOutcomes())
					}
					if s.Stats() != st {
						t.Fatalf("Stats() = %+v, records say %+v", s.Stats(), st)
					}
				})
			}
		})
	}
}

// Every outcome kind must actually occur in the generated streams, or the
// comparison above proves less than it seems.
func TestStreamsCoverEveryOutcome(t *testing.T) {
	total := Stats{}
	for _, pr := range profiles {
		rng := rand.New(rand.NewPCG(1, 2))
		s := newForProfile(pr)
		for _, o := range genStream(pr, rng) {
			applyStore(s, o, &recorder{})
		}
		st := s.Stats()
		total.Joined += st.Joined
		total.DuplicatePredictions += st.DuplicatePredictions
		total.DuplicateOutcomes += st.DuplicateOutcomes
		total.Expired += st.Expired
		total.Orphaned += st.Orphaned
	}
	if total.Joined == 0 || total.DuplicatePredictions == 0 || total.DuplicateOutcomes == 0 ||
		total.Expired == 0 || total.Orphaned == 0 {
		t.Fatalf("streams miss an outcome kind: %+v", total)
	}
	t.Logf("%+v", total)
}
