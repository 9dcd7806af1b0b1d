package windows

import (
	"bytes"
	"encoding/binary"
	"errors"
	"iter"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/results"
)

// changelog applies state changes as a compacted topic keeps them.
type changelog map[string][]byte

func (c changelog) emit(key, value []byte) {
	if value == nil {
		delete(c, string(key))
		return
	}
	c[string(key)] = bytes.Clone(value)
}

func TestParseStateKey(t *testing.T) {
	key := func(owner byte, id int32, comp byte, rest ...int64) []byte {
		b := appendStateKey(nil, owner, id, comp)
		for i, v := range rest {
			if comp == compPane && i == 1 || comp == compWindow && i == 2 {
				b = binary.AppendVarint(b, v)
			} else {
				b = binary.AppendUvarint(b, uint64(v))
			}
		}
		return b
	}
	tests := []struct {
		name string
		key  []byte
		want StateKey
		bad  bool
	}{
		{"partition meta", key(StatePartition, 7, compMeta), StateKey{Owner: StatePartition, ID: 7, Component: compMeta}, false},
		{"pane", key(StatePartition, 2, compPane, 1, -60_000, 300), StateKey{Owner: StatePartition, ID: 2, Component: compPane, Model: 1, Start: -60_000, Index: 300}, false},
		{"a pane without its record's index", key(StatePartition, 2, compPane, 1, -60_000), StateKey{}, true},
		{"an earlier build's join snapshot", key(StatePartition, 0, 'j'), StateKey{}, true},
		{"aggregation meta", key(StateAggregation, 3, compMeta), StateKey{Owner: StateAggregation, ID: 3, Component: compMeta}, false},
		{"window", key(StateAggregation, 1, compWindow, 1, 2, base), StateKey{Owner: StateAggregation, ID: 1, Component: compWindow, Window: 1, Model: 2, Start: base}, false},
		{"model", key(StateAggregation, 1, compModel, 4), StateKey{Owner: StateAggregation, ID: 1, Component: compModel, Model: 4}, false},
		{"unknown owner", key('x', 0, compMeta), StateKey{}, true},
		{"an earlier build's key", []byte("w/0/0"), StateKey{}, true},
		{"a pane of an aggregation", key(StateAggregation, 0, compPane, 0, 0, 0), StateKey{}, true},
		{"trailing bytes", append(key(StatePartition, 0, compMeta), 0), StateKey{}, true},
		{"truncated", key(StateAggregation, 1, compWindow, 1)[:5], StateKey{}, true},
		{"empty", nil, StateKey{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStateKey(tt.key)
			if tt.bad {
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("ParseStateKey = %+v, %v; want ErrCorrupt", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseStateKey = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// randomTraffic feeds n random events of both models into p, with times
// around base+at.
func randomTraffic(rng *rand.Rand, p *Partition, n int, at int64) {
	for i := range n {
		id := "id" + strconv.Itoa(rng.IntN(n*2))
		ms := base + at + rng.Int64N(120_000)
		model := rng.IntN(2)
		if rng.IntN(3) == 0 {
			p.Observe(Outcomes, ms)
			p.Outcome(&event.Outcome{ID: []byte(id), Model: model, TimeMs: ms, Label: rng.IntN(2) == 0})
			continue
		}
		e := pred(model, id, ms)
		e.Num[0] = rng.NormFloat64()
		e.Error = i%17 == 0
		p.Observe(Predictions, ms)
		p.Prediction(e)
	}
}

// TestPartitionStateRestores: written as changes, round after round, the
// state restores into a partition that then behaves as the one that never
// stopped: the same panes, counts and decisions from there on.
func TestPartitionStateRestores(t *testing.T) {
	set := coreSettings(t, 2)
	rng := rand.New(rand.NewPCG(5, 6))
	live := NewPartition(set, NewCalibrations(set), 1, t0, openStore(t, set))
	log := changelog{}
	var jlog joinLog
	for round := range 12 {
		randomTraffic(rng, live, 200, int64(round)*40_000)
		now := t0.Add(time.Duration(round) * time.Second)
		if round%4 == 3 {
			now = now.Add(time.Hour) // idle: flushes
		}
		panes, _, _ := live.Report(now, Unset, nil)
		live.Release(panes)
		if err := live.AppendChanges(log.emit); err != nil {
			t.Fatal(err)
		}
		jlog.commit(t, live.JoinStore())
	}
	restored, err := RestorePartition(set, NewCalibrations(set), 1, t0, jlog.restore(t, set, ""), Records(log))
	if err != nil {
		t.Fatal(err)
	}
	live.Counts().Reset() // counted before: a restore starts at zero
	// The same traffic from here on gives the same output.
	a, b := rand.New(rand.NewPCG(7, 8)), rand.New(rand.NewPCG(7, 8))
	randomTraffic(a, live, 300, 400_000)
	randomTraffic(b, restored, 300, 400_000)
	for _, p := range []*Partition{live, restored} {
		p.Fetched(Predictions, t0, true)
		p.Fetched(Outcomes, t0, true)
	}
	out := func(p *Partition) []byte {
		panes, pr, _ := p.Report(t0.Add(2*time.Hour), base+10*time.Hour.Milliseconds(), nil)
		var b []byte
		for _, pane := range panes {
			var err error
			if b, err = pane.AppendBinary(b); err != nil {
				t.Fatal(err)
			}
		}
		// The join's snapshot bytes depend on its table's layout, which a
		// restore rebuilds: what it holds is compared instead.
		return AppendProgressMessage(b, pr)
	}
	if !bytes.Equal(out(live), out(restored)) {
		t.Error("the restored partition's panes or progress differ from the live one's")
	}
	if live.Pending() != restored.Pending() || live.Held() != restored.Held() {
		t.Errorf("the join holds %d ids (%d pending) live, %d (%d) restored", live.Held(), live.Pending(), restored.Held(), restored.Pending())
	}
	lc, rc := live.Counts().Models, restored.Counts().Models
	for mi := range lc {
		l, r := lc[mi], rc[mi]
		if l.Late != r.Late || l.Joined != r.Joined || l.Expired != r.Expired || l.Orphaned != r.Orphaned ||
			l.DuplicatePredictions != r.DuplicatePredictions || l.DuplicateOutcomes != r.DuplicateOutcomes {
			t.Errorf("model %d counts after the restore differ: late %d/%d joined %d/%d expired %d/%d", mi, l.Late, r.Late, l.Joined, r.Joined, l.Expired, r.Expired)
		}
	}
}

// TestAggregationStateRestores is TestPartitionStateRestores for an
// aggregation: restored half-way, it closes the same windows.
func TestAggregationStateRestores(t *testing.T) {
	set := coreSettings(t, 2)
	rng := rand.New(rand.NewPCG(9, 10))
	parts := []*Partition{NewPartition(set, NewCalibrations(set), 0, t0, openStore(t, set)), NewPartition(set, NewCalibrations(set), 1, t0, openStore(t, set))}
	var msgs []sent
	for round := range 10 {
		for _, p := range parts {
			randomTraffic(rng, p, 150, int64(round)*50_000)
			panes, pr, _ := p.Report(t0.Add(time.Duration(round)*time.Second), Unset, nil)
			for _, pane := range panes {
				if !(pane.Model == 0) {
					continue // model b is aggregated on partition 1
				}
				v, err := AppendPaneMessage(nil, pane)
				if err != nil {
					t.Fatal(err)
				}
				msgs = append(msgs, sent{0, KindPane, v})
			}
			p.Release(panes)
			msgs = append(msgs, sent{0, KindProgress, AppendProgressMessage(nil, pr)})
		}
	}
	run := func(restoreAt int) []byte {
		a := NewAggregation(set, 0)
		log := changelog{}
		var closed []*results.Record
		for i, m := range msgs {
			if err := a.Receive(m.kind, m.data); err != nil {
				t.Fatal(err)
			}
			if err := a.Advance(); err != nil {
				t.Fatal(err)
			}
			closed = append(closed, a.Output().Closed...)
			a.ResetOutput()
			if err := a.AppendChanges(log.emit); err != nil {
				t.Fatal(err)
			}
			if i == restoreAt {
				var err error
				if a, err = RestoreAggregation(set, 0, Records(log)); err != nil {
					t.Fatal(err)
				}
			}
		}
		var b []byte
		for _, r := range closed {
			j, err := results.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, j...)
		}
		return b
	}
	want := run(-1)
	if len(want) == 0 {
		t.Fatal("no window closed")
	}
	for _, at := range []int{3, len(msgs) / 2, len(msgs) - 2} {
		if got := run(at); !bytes.Equal(got, want) {
			t.Errorf("restored after message %d: the closed windows differ", at)
		}
	}
}

// TestStateRefusesCorrupt: a value of another version, a truncated value
// or a state of another partition count is an error, never a panic or a
// silently wrong state.
func TestStateRefusesCorrupt(t *testing.T) {
	set := coreSettings(t, 2)
	p := NewPartition(set, NewCalibrations(set), 0, t0, openStore(t, set))
	randomTraffic(rand.New(rand.NewPCG(1, 1)), p, 100, 0)
	a := NewAggregation(set, 0)
	progress(a, t, 0, base, false, false)
	log := changelog{}
	if err := p.AppendChanges(log.emit); err != nil {
		t.Fatal(err)
	}
	if err := a.AppendChanges(log.emit); err != nil {
		t.Fatal(err)
	}
	for key, val := range log {
		for name, bad := range map[string][]byte{
			"version":   append([]byte{9}, val[1:]...),
			"truncated": val[:len(val)/2],
		} {
			m := changelog{key: bad}
			_, perr := RestorePartition(set, NewCalibrations(set), 0, t0, openStore(t, set), Records(m))
			_, aerr := RestoreAggregation(set, 0, Records(m))
			if perr == nil && aerr == nil {
				k, _ := ParseStateKey([]byte(key))
				t.Errorf("%s value of %+v restored without an error", name, k)
			}
		}
	}
	if _, err := RestoreAggregation(coreSettingsN(t, 3), 0, Records(log)); err == nil {
		t.Error("a state of 2 partitions restored into 3")
	}
}

func coreSettingsN(t *testing.T, n int) *Settings { return coreSettings(t, n) }

// FuzzRestore: no state record read from Kafka makes a restore panic.
func FuzzRestore(f *testing.F) {
	set := coreSettings(f, 2)
	p := NewPartition(set, NewCalibrations(set), 0, t0, openStore(f, set))
	randomTraffic(rand.New(rand.NewPCG(2, 2)), p, 50, 0)
	a := NewAggregation(set, 0)
	log := changelog{}
	p.AppendChanges(log.emit)
	a.AppendChanges(log.emit)
	for k, v := range log {
		f.Add([]byte(k), v)
	}
	st := openStore(f, set)
	f.Fuzz(func(t *testing.T, key, val []byte) {
		m := changelog{string(key): val}
		RestorePartition(set, NewCalibrations(set), 0, t0, st, Records(m))
		RestoreAggregation(set, 0, Records(m))
		a := NewAggregation(set, 0)
		for _, k := range []MessageKind{KindPane, KindProgress, KindCalibrator} {
			a.Receive(k, val)
		}
	})
}

// TestPaneCheckpoints: a pane open across hundreds of commits is written as
// what changed at each commit (now and then whole, see Open panes in
// state.go), at a fraction of what writing it whole every time would cost,
// and a partition restored after any commit continues exactly as the live
// one: the same pane, bit for bit, in exact mode and past it.
func TestPaneCheckpoints(t *testing.T) {
	set := coreSettings(t, 2)
	rng := rand.New(rand.NewPCG(11, 12))
	live := NewPartition(set, NewCalibrations(set), 1, t0, openStore(t, set))
	log := changelog{}
	var jlog joinLog
	var paneBytes, wholeBytes, maxWhole, events int
	emit := func(k, v []byte) {
		if key, err := ParseStateKey(k); err == nil && key.Component == compPane {
			paneBytes += len(k) + len(v)
		}
		log.emit(k, v)
	}
	const commits = 700
	forkAt := map[int]bool{0: true, 1: true, 37: true, maxPaneRecords - 1: true, maxPaneRecords: true, 400: true, commits - 2: true}
	forks := []*Partition{live}
	id := 0
	for c := range commits {
		// Bursts and lulls: a commit holds 0 to 60 events, all of them in
		// the pane [base, base+1m); 25,000 distinct values in all, so the
		// pane leaves exact mode half-way.
		n := rng.IntN(61)
		if c%50 < 10 {
			n = rng.IntN(3)
		}
		for range n {
			ms := base + rng.Int64N(50_000)
			e := pred(0, "p"+strconv.Itoa(id), ms)
			id++
			e.Num[0] = rng.NormFloat64()
			for _, p := range forks {
				p.Observe(Predictions, ms)
				p.Prediction(e)
			}
			events++
		}
		for _, p := range forks {
			panes, _, _ := p.Report(t0, Unset, nil)
			if len(panes) > 0 {
				t.Fatalf("commit %d: %d panes harvested before the end", c, len(panes))
			}
		}
		if err := live.AppendChanges(emit); err != nil {
			t.Fatal(err)
		}
		for _, p := range forks[1:] {
			if err := p.AppendChanges(func(k, v []byte) {}); err != nil {
				t.Fatal(err)
			}
		}
		jlog.commit(t, live.JoinStore())
		whole := 0
		if open := live.panes.open[0]; len(open) > 0 && open[0].written != nil {
			b, err := open[0].written.AppendBinary(nil)
			if err != nil {
				t.Fatal(err)
			}
			whole = len(b)
			wholeBytes += whole
			// A pane shrinks when it leaves exact mode.
			maxWhole = max(maxWhole, whole)
		}
		records, liveBytes := 0, 0
		for k, v := range log {
			if key, _ := ParseStateKey([]byte(k)); key.Component == compPane {
				records++
				liveBytes += len(v)
			}
		}
		if records > maxPaneRecords {
			t.Fatalf("commit %d: %d live records of one pane, want at most %d", c, records, maxPaneRecords)
		}
		if liveBytes > 3*maxWhole {
			t.Fatalf("commit %d: the pane's live records hold %d bytes, more than 3 times the most the pane ever held (%d)", c, liveBytes, maxWhole)
		}
		if forkAt[c] {
			// In any order: a compacted topic's order is not the index's.
			f, err := RestorePartition(set, NewCalibrations(set), 1, t0, jlog.restore(t, set, ""), shuffled(rng, log))
			if err != nil {
				t.Fatal(err)
			}
			forks = append(forks, f)
		}
	}
	if live.panes.open[0][0].written.Features[0].Num.Exact() {
		t.Fatal("the pane never left exact mode: the test covers less than it says")
	}
	out := func(p *Partition) []byte {
		p.Fetched(Predictions, t0, true)
		p.Fetched(Outcomes, t0, true)
		panes, _, _ := p.Report(t0.Add(time.Hour), Unset, nil) // idle: flushes
		var b []byte
		for _, pane := range panes {
			var err error
			if b, err = pane.AppendBinary(b); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}
	want := out(live)
	for i, f := range forks[1:] {
		if !bytes.Equal(out(f), want) {
			t.Errorf("restored after commit %d: the pane differs from the live one's", slices.Sorted(maps.Keys(forkAt))[i])
		}
	}
	// Once harvested, the pane's records are all deleted.
	if err := live.AppendChanges(log.emit); err != nil {
		t.Fatal(err)
	}
	for k := range log {
		if key, _ := ParseStateKey([]byte(k)); key.Component == compPane {
			t.Errorf("record %+v of a harvested pane is still live", key)
		}
	}
	t.Logf("%d events over %d commits: %d bytes of pane records (%.1f per event), %d bytes had the pane been written whole at every commit (%.1f×)",
		events, commits, paneBytes, float64(paneBytes)/float64(events), wholeBytes, float64(wholeBytes)/float64(paneBytes))
	if paneBytes*10 > wholeBytes {
		t.Errorf("pane records cost %d bytes, more than a tenth of writing the pane whole at every commit (%d)", paneBytes, wholeBytes)
	}
}

// shuffled yields the records of log in a random order.
func shuffled(rng *rand.Rand, log changelog) iter.Seq2[[]byte, []byte] {
	keys := slices.Collect(maps.Keys(log))
	rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return func(yield func([]byte, []byte) bool) {
		for _, k := range keys {
			if !yield([]byte(k), log[k]) {
				return
			}
		}
	}
}
