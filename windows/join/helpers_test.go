package join

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// rec is one Sink call, comparable so records can be counted as a multiset.
type rec struct {
	kind   string // J, DP, DO, E, O
	model  uint16
	t1, t2 int64  // J: prediction and outcome time; E, O: the event time
	score  uint32 // J: score bits, so that NaN compares
	pred   bool
	label  bool
}

func (r rec) String() string {
	switch r.kind {
	case "J":
		return fmt.Sprintf("J(m%d p%d o%d s%#x pred=%v label=%v)", r.model, r.t1, r.t2, r.score, r.pred, r.label)
	case "E", "O":
		return fmt.Sprintf("%s(m%d t%d)", r.kind, r.model, r.t1)
	}
	return fmt.Sprintf("%s(m%d)", r.kind, r.model)
}

func joinedRec(j Joined) rec {
	return rec{kind: "J", model: j.Model, t1: j.PredTimeMs, t2: j.OutcomeTimeMs,
		score: math.Float32bits(j.Score), pred: j.Predicted, label: j.Label}
}

func expiredRec(model uint16, t int64) rec  { return rec{kind: "E", model: model, t1: t} }
func orphanedRec(model uint16, t int64) rec { return rec{kind: "O", model: model, t1: t} }

// recorder is a Sink that keeps every call in order.
type recorder struct{ recs []rec }

func (r *recorder) Joined(j Joined)              { r.recs = append(r.recs, joinedRec(j)) }
func (r *recorder) DuplicatePrediction(m uint16) { r.recs = append(r.recs, rec{kind: "DP", model: m}) }
func (r *recorder) DuplicateOutcome(m uint16)    { r.recs = append(r.recs, rec{kind: "DO", model: m}) }
func (r *recorder) Expired(m uint16, t int64)    { r.recs = append(r.recs, expiredRec(m, t)) }
func (r *recorder) Orphaned(m uint16, t int64)   { r.recs = append(r.recs, orphanedRec(m, t)) }

func (r *recorder) take() []rec {
	out := r.recs
	r.recs = nil
	return out
}

// multiset counts records.
type multiset map[rec]int

func (m multiset) add(rs ...rec) {
	for _, r := range rs {
		m[r]++
	}
}

// diff describes how a differs from b, or returns "" when they are equal.
func diff(a, b multiset) string {
	var out []string
	for r, n := range a {
		if b[r] != n {
			out = append(out, fmt.Sprintf("%v: %d vs %d", r, n, b[r]))
		}
	}
	for r, n := range b {
		if _, ok := a[r]; !ok {
			out = append(out, fmt.Sprintf("%v: 0 vs %d", r, n))
		}
	}
	slices.Sort(out)
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("… %d more", len(out)-10))
	}
	return strings.Join(out, "; ")
}

// forEach calls f for every held entry, wherever it is held.
func (s *Store) forEach(f func(e entry)) {
	for i := range s.tab.slots {
		if !s.tab.slots[i].empty() {
			f(s.entryAt(i))
		}
	}
	for _, e := range s.over {
		f(e)
	}
}

// tested is what the tests drive: a Store or a DiskStore.
type tested interface {
	AddPrediction(Prediction, Sink)
	AddOutcome(Outcome, Sink)
	Advance(int64, Sink)
	Sweep(Sink)
	Pending() int
	WaitingOutcomes() int
	Len() int
	Watermark() int64
	Stats() Stats
	overdue(t int64) bool
	// forEach calls f for every held entry.
	forEach(f func(e entry))
}

var (
	_ tested = (*Store)(nil)
	_ tested = (*DiskStore)(nil)
)

// overdueRecs returns the retirements a Sweep would report now, without
// reporting them, and how many of the held ids are overdue.
func overdueRecs(s tested) (recs []rec, pending, waiting, all int) {
	s.forEach(func(e entry) {
		if !s.overdue(e.t) {
			return
		}
		all++
		switch e.state() {
		case statePending:
			pending++
			recs = append(recs, expiredRec(e.model, e.t))
		case stateWaiting:
			waiting++
			recs = append(recs, orphanedRec(e.model, e.t))
		}
	})
	return
}

// checkInvariants verifies a store's structure and counters.
func checkInvariants(t testing.TB, st tested) {
	t.Helper()
	s, ok := st.(*Store)
	if !ok {
		checkDiskInvariants(t, st.(*DiskStore))
		return
	}
	tab := &s.tab
	n := len(tab.slots)
	count, pending, waiting := 0, 0, 0
	seen := make(map[ident]bool)
	// run is the number of occupied slots ending at position i. Start after
	// an empty slot so that runs do not wrap unseen.
	start, run := 0, 0
	for i := range tab.slots {
		if tab.slots[i].empty() {
			start = i
			break
		}
	}
	for k := 1; k <= n; k++ {
		i := (start + k) % n
		sl := &tab.slots[i]
		if sl.empty() {
			if *sl != (slot{}) || tab.offs[i] != emptyOff {
				t.Fatalf("empty cell %d not cleared: %+v, offset %d", i, *sl, tab.offs[i])
			}
			run = 0
			continue
		}
		run++
		count++
		id := ident{sl.key(), sl.model}
		if seen[id] {
			t.Fatalf("id %+v held twice", id)
		}
		seen[id] = true
		// Linear probing: no empty slot between the entry's home and the
		// entry, so the home lies within the run.
		if d := (i - tab.home(sl.key()) + n) % n; d >= run {
			t.Fatalf("slot %d: home %d slots back, but only %d occupied slots end here", i, d, run)
		}
	}
	if count != tab.count {
		t.Fatalf("table count %d, %d slots occupied", tab.count, count)
	}
	if n > 0 && count*maxLoadDen > n*maxLoadNum {
		t.Fatalf("table over maximum load: %d of %d", count, n)
	}
	for id, e := range s.over {
		if seen[id] {
			t.Fatalf("id %+v held in table and side map", id)
		}
		if id != (ident{e.key, e.model}) {
			t.Fatalf("side map entry %+v under id %+v", e, id)
		}
	}
	s.forEach(func(e entry) {
		switch e.state() {
		case statePending:
			pending++
		case stateWaiting:
			waiting++
		}
	})
	if pending != s.Pending() || waiting != s.WaitingOutcomes() {
		t.Fatalf("Pending/WaitingOutcomes = %d/%d, held %d/%d", s.Pending(), s.WaitingOutcomes(), pending, waiting)
	}
}
