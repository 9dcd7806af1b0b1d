package windows

import (
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/internal/shapes"
	"github.com/reckonhq/reckon/results"
	"github.com/reckonhq/reckon/windows/join"
)

// group is an in-memory runtime of the core: what consumer/ does with
// Kafka, done with slices, deterministically from a seed. Members own
// partitions (a partition's core and its aggregation go together, as the
// co-partitioning balancer assigns them); each input partition and each
// aggregation's input is a log read from a position that a commit makes
// durable and an abort rewinds; a member's messages and state changes of
// a transaction become visible only when it commits, its results and
// counts count only then. Reassigning partitions restores them from the
// committed state, as a new owner does.
type group struct {
	t   testing.TB
	rng *rand.Rand
	set *Settings
	dec *event.Decoder
	pr  *event.Prediction
	out event.Outcome

	clock   time.Time
	members []*member
	owner   []int // partition → member

	inputs [][2]*inputLog // per partition, per topic
	msgs   []*msgLog      // per aggregation
	state  []map[string][]byte
	joins  []*joinLog // per partition: the join's committed changelog
	dirs   []string   // per partition: the directory of its last store

	parts []*Partition
	aggs  []*Aggregation

	// What committed transactions published.
	results map[shapes.WindowKey][]*results.Record
	counts  map[string]*shapes.Counters
	dead    uint64
}

type member struct {
	cals  Calibrations
	group int64
	// This transaction's messages, state changes and dead letters.
	txn   []sent
	dead  uint64
	parts []int32
}

type sent struct {
	to   int32
	kind MessageKind
	data []byte
}

type inputLog struct {
	recs                []shapes.Record
	committed, position int
}

type msgLog struct {
	msgs                []sent
	committed, position int
}

func newGroup(t testing.TB, o shapes.Options, seed uint64) *group {
	return newGroupOf(t, o, o.Config(), seed)
}

// newGroupOf is newGroup with the configuration cfgText (o gives the
// partitions and the partitioner).
func newGroupOf(t testing.TB, o shapes.Options, cfgText string, seed uint64) *group {
	cfg, err := config.Parse("shapes.yaml", []byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSettings(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	mp := make([]int32, len(cfg.Models))
	for i, m := range cfg.Models {
		mp[i] = o.Partition([]byte(m.Name))
	}
	set.SetTopology(o.Partitions, mp)
	g := &group{
		t:       t,
		rng:     rand.New(rand.NewPCG(seed, 77)),
		set:     set,
		dec:     event.NewDecoder(event.SchemaFromConfig(cfg), 1<<20),
		clock:   time.Unix(1_000_000, 0),
		owner:   make([]int, o.Partitions),
		inputs:  make([][2]*inputLog, o.Partitions),
		msgs:    make([]*msgLog, o.Partitions),
		state:   make([]map[string][]byte, o.Partitions),
		joins:   make([]*joinLog, o.Partitions),
		dirs:    make([]string, o.Partitions),
		parts:   make([]*Partition, o.Partitions),
		aggs:    make([]*Aggregation, o.Partitions),
		results: map[shapes.WindowKey][]*results.Record{},
		counts:  map[string]*shapes.Counters{},
	}
	g.pr = g.dec.NewPrediction()
	for _, m := range cfg.Models {
		g.counts[m.Name] = new(shapes.Counters)
	}
	for p := range o.Partitions {
		g.inputs[p] = [2]*inputLog{{}, {}}
		g.msgs[p] = &msgLog{}
		g.state[p] = map[string][]byte{}
		g.joins[p] = &joinLog{}
	}
	g.rebalance(1)
	return g
}

// rebalance commits every member's transaction and hands the partitions to
// n members, each restoring what it did not own from the committed state.
func (g *group) rebalance(n int) {
	for mi := range g.members {
		g.commit(mi)
	}
	old := g.owner
	var ms []*member
	for range n {
		ms = append(ms, &member{cals: NewCalibrations(g.set), group: Unset})
	}
	owner := make([]int, len(old))
	for p := range owner {
		owner[p] = g.rng.IntN(n)
	}
	for p := range owner {
		m := ms[owner[p]]
		m.parts = append(m.parts, int32(p))
		g.restore(int32(p), m)
	}
	g.members, g.owner = ms, owner
	for _, m := range ms {
		for _, p := range m.parts {
			m.cals.Adopt(g.aggs[p])
			m.group = max(m.group, g.aggs[p].Watermark())
		}
	}
}

// restore rebuilds partition p and its aggregation from the committed
// state, for member m, and rewinds what they read to the committed
// positions. Its join store is reopened on its last directory (a warm
// restart: only the changelog's tail is replayed) or a new one (cold), at
// random.
func (g *group) restore(p int32, m *member) {
	if old := g.parts[p]; old != nil {
		if err := old.JoinStore().Close(); err != nil {
			g.t.Fatal(err)
		}
	}
	dir := g.dirs[p]
	if dir == "" || g.rng.IntN(2) == 0 {
		dir = g.t.TempDir()
	}
	g.dirs[p] = dir
	st, err := join.Open(dir, g.set.LabelTTL, join.WithMemory(16<<20))
	if err != nil {
		g.t.Fatal(err)
	}
	log := g.joins[p]
	for _, r := range log.recs[st.Position():] {
		if err := st.Restore(r[0], r[1]); err != nil {
			g.t.Fatal(err)
		}
	}
	if err := st.Restored(int64(len(log.recs))); err != nil {
		g.t.Fatal(err)
	}
	g.restoreWith(p, m, st)
}

// restoreWith is restore with the join store st.
func (g *group) restoreWith(p int32, m *member, st *join.DiskStore) {
	part, err := RestorePartition(g.set, m.cals, p, g.clock, st, Records(g.state[p]))
	if err != nil {
		g.t.Fatal(err)
	}
	agg, err := RestoreAggregation(g.set, p, Records(g.state[p]))
	if err != nil {
		g.t.Fatal(err)
	}
	g.parts[p], g.aggs[p] = part, agg
	for _, in := range g.inputs[p] {
		in.position = in.committed
	}
	g.msgs[p].position = g.msgs[p].committed
}

// produce appends records to the input logs.
func (g *group) produce(recs []shapes.Record) {
	for _, r := range recs {
		in := g.inputs[r.Partition][r.Topic]
		in.recs = append(in.recs, r)
	}
}

// fetch reads up to n records of one input partition, as a fetch would.
func (g *group) fetch(p int32, topic shapes.Topic, n int) {
	in := g.inputs[p][topic]
	part := g.parts[p]
	m := g.members[g.owner[p]]
	end := min(in.position+n, len(in.recs))
	for _, r := range in.recs[in.position:end] {
		if topic == shapes.Predictions {
			if err := g.dec.DecodePrediction(r.Value, g.pr); err != nil {
				m.dead++
				continue
			}
			part.Observe(Predictions, g.pr.TimeMs)
			part.Prediction(g.pr)
		} else {
			if err := g.dec.DecodeOutcome(r.Value, &g.out); err != nil {
				m.dead++
				continue
			}
			part.Observe(Outcomes, g.out.TimeMs)
			part.Outcome(&g.out)
		}
	}
	in.position = end
	part.Fetched(Topic(topic), g.clock, end == len(in.recs))
}

// step is one batch of member mi: its partitions advance and send their
// panes; its aggregations read some of their input and advance.
func (g *group) step(mi int) { g.batch(mi, false) }

// batch is step, reading all of the aggregations' input when all is set.
func (g *group) batch(mi int, all bool) {
	m := g.members[mi]
	for _, p := range m.parts {
		var panes []*Partial
		panes = g.parts[p].Advance(g.clock, m.group, panes)
		g.sendPanes(m, panes)
		g.parts[p].Release(panes)
	}
	for _, p := range m.parts {
		l := g.msgs[p]
		n := len(l.msgs) - l.position
		if !all {
			n = g.rng.IntN(n + 1) // some of what is there
		}
		for _, s := range l.msgs[l.position : l.position+n] {
			if err := g.aggs[p].Receive(s.kind, s.data); err != nil {
				g.t.Fatal(err)
			}
		}
		l.position += n
		if err := g.aggs[p].Advance(); err != nil {
			g.t.Fatal(err)
		}
	}
	for _, p := range m.parts {
		m.cals.Adopt(g.aggs[p])
		m.group = max(m.group, g.aggs[p].Watermark())
	}
}

func (g *group) sendPanes(m *member, panes []*Partial) {
	for _, pane := range panes {
		v, err := AppendPaneMessage(nil, pane)
		if err != nil {
			g.t.Fatal(err)
		}
		m.txn = append(m.txn, sent{g.set.ModelPartition[pane.Model], KindPane, v})
	}
}

func (g *group) broadcast(m *member, kind MessageKind, v []byte) {
	for p := range g.set.Partitions {
		m.txn = append(m.txn, sent{int32(p), kind, v})
	}
}

// commit ends member mi's transaction: progress, state, and, once
// committed, its messages, results and counts.
func (g *group) commit(mi int) {
	m := g.members[mi]
	changes := map[int32][][2][]byte{}
	for _, p := range m.parts {
		panes, pr, changed := g.parts[p].Report(g.clock, m.group, nil)
		g.sendPanes(m, panes)
		g.parts[p].Release(panes)
		if changed {
			g.broadcast(m, KindProgress, AppendProgressMessage(nil, pr))
		}
		emit := func(k, v []byte) { changes[p] = append(changes[p], [2][]byte{slices.Clone(k), slices.Clone(v)}) }
		if err := g.parts[p].AppendChanges(emit); err != nil {
			g.t.Fatal(err)
		}
		if err := g.aggs[p].AppendChanges(emit); err != nil {
			g.t.Fatal(err)
		}
		g.joins[p].commit(g.t, g.parts[p].JoinStore())
	}
	for _, p := range m.parts {
		out := g.aggs[p].Output()
		for _, mi := range out.Completed {
			v, err := AppendCalibratorMessage(nil, mi, g.aggs[p].Reference(mi).Calibrator)
			if err != nil {
				g.t.Fatal(err)
			}
			g.broadcast(m, KindCalibrator, v)
		}
	}
	// Committed.
	for p, cs := range changes {
		for _, c := range cs {
			if c[1] == nil {
				delete(g.state[p], string(c[0]))
			} else {
				g.state[p][string(c[0])] = c[1]
			}
		}
	}
	for _, s := range m.txn {
		g.msgs[s.to].msgs = append(g.msgs[s.to].msgs, s)
	}
	m.txn = m.txn[:0]
	g.dead += m.dead
	m.dead = 0
	for _, p := range m.parts {
		for _, in := range g.inputs[p] {
			in.committed = in.position
		}
		g.msgs[p].committed = g.msgs[p].position
		g.applyCounts(g.parts[p].Counts())
		g.parts[p].Counts().Reset()
		out := g.aggs[p].Output()
		for _, rec := range out.Closed {
			k := shapes.WindowKey{Model: rec.Model, Window: rec.Window, Start: rec.Start}
			g.results[k] = append(g.results[k], rec)
		}
		for mi, n := range out.Late {
			g.counts[g.set.Models[mi]].Late += n
		}
		g.aggs[p].ResetOutput()
	}
}

// abort ends member mi's transaction without committing: everything is
// rolled back to the committed state.
func (g *group) abort(mi int) {
	m := g.members[mi]
	m.txn, m.dead = m.txn[:0], 0
	m.group = Unset
	m.cals = NewCalibrations(g.set)
	for _, p := range m.parts {
		st := g.parts[p].JoinStore()
		st.Abort()
		g.restoreWith(p, m, st)
	}
	for _, p := range m.parts {
		m.cals.Adopt(g.aggs[p])
		m.group = max(m.group, g.aggs[p].Watermark())
	}
}

func (g *group) applyCounts(c *Counts) {
	for mi, mc := range c.Models {
		k := g.counts[g.set.Models[mi]]
		for _, v := range mc.Versions {
			k.PredictionsOK += v[0]
			k.PredictionsError += v[1]
		}
		k.Late += mc.Late
		k.Joined += mc.Joined
		k.DuplicateOutcomes += mc.DuplicateOutcomes
		k.Orphaned += mc.Orphaned
		k.Expired += mc.Expired
		k.DuplicatePredictions += mc.DuplicatePredictions
		k.TP += mc.Confusion[0]
		k.FP += mc.Confusion[1]
		k.TN += mc.Confusion[2]
		k.FN += mc.Confusion[3]
	}
}

// pending reports whether any input record is not read yet.
func (g *group) pending() bool {
	for _, ins := range g.inputs {
		for _, in := range ins {
			if in.position < len(in.recs) {
				return true
			}
		}
	}
	return false
}

// readSome does one random thing a runtime may do next: fetch a chunk of
// some partition, run a member's batch, commit, or abort.
func (g *group) readSome() {
	switch r := g.rng.IntN(20); {
	case r < 12:
		var choices [][2]int
		for p, ins := range g.inputs {
			for t, in := range ins {
				if in.position < len(in.recs) {
					choices = append(choices, [2]int{p, t})
				}
			}
		}
		if len(choices) > 0 {
			c := choices[g.rng.IntN(len(choices))]
			g.fetch(int32(c[0]), shapes.Topic(c[1]), 1+g.rng.IntN(8))
		}
	case r < 17:
		g.step(g.rng.IntN(len(g.members)))
	case r < 19:
		g.commit(g.rng.IntN(len(g.members)))
	default:
		g.abort(g.rng.IntN(len(g.members)))
	}
}

// settle lets wall-clock time pass by d, in steps, with every member
// running batches and committing, until all messages are read.
func (g *group) settle(d time.Duration) {
	steps := 8
	for i := range steps + 4 {
		if i < steps {
			g.clock = g.clock.Add(d / time.Duration(steps))
		}
		for mi := range g.members {
			g.step(mi)
			g.commit(mi)
		}
	}
	// Then every member reads everything, until nothing is left: the
	// messages of one member's commit are read by another's next batch.
	for range 4 {
		for mi := range g.members {
			g.batch(mi, true)
			g.commit(mi)
		}
	}
}

// run plays the shape: each segment's bursts produced and read in a
// random interleaving, its short pauses as clock steps, then the long
// pause.
func (g *group) run(sh *shapes.Shape) {
	for _, seg := range sh.Segments {
		g.rebalance(seg.Members)
		for _, b := range seg.Bursts {
			g.produce(b.Records)
			// Until everything is read, and a few steps more (an abort
			// among them rewinds, and what it rewound is read again).
			for i := 0; g.pending() || i < 3; i++ {
				g.readSome()
			}
			if b.Pause < sh.Options.IdleTimeout {
				g.clock = g.clock.Add(b.Pause)
				continue
			}
			g.settle(b.Pause)
		}
	}
}

// check compares what the group published with the model's expectation.
func (g *group) check(sh *shapes.Shape) {
	g.t.Helper()
	for _, part := range g.parts {
		if err := part.JoinStore().Close(); err != nil {
			g.t.Fatal(err)
		}
	}
	ex := shapes.Model(sh)
	if err := shapes.Check(ex, g.results, g.counts, g.dead); err != nil {
		g.t.Fatalf("seed %d: %v", sh.Seed, err)
	}
}

// fnvPartition places keys for the in-memory runtime (the Kafka runtime
// uses murmur2; any stable hash does here).
func fnvPartition(n int) func([]byte) int32 {
	return func(key []byte) int32 {
		h := fnv.New32a()
		h.Write(key)
		return int32(h.Sum32() % uint32(n))
	}
}

// TestTrafficShapes plays generated traffic shapes through the in-memory
// runtime, with members joining and leaving, transactions aborted at
// random and every interleaving of the partitions' reads, and compares
// every published window and counter with the independent model of
// docs/semantics.md (internal/shapes). A mismatch names its seed.
func TestTrafficShapes(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 50
	}
	for seed := range uint64(seeds) {
		parts := 1 + int(seed%5)
		o := shapes.Defaults(parts, fnvPartition(parts))
		sh := shapes.Generate(seed, o)
		g := newGroup(t, o, seed)
		g.run(sh)
		g.check(sh)
	}
}

// TestLongLabelDelays plays shapes whose labels come up to about 30 days
// (event time) after their predictions, with a 45-day label_ttl and
// windows of an hour and a day: every window and counter as the model
// says, expiries included.
func TestLongLabelDelays(t *testing.T) {
	longest := 0.0
	for seed := range uint64(40) {
		parts := 1 + int(seed%3)
		o := shapes.LongDelays(parts, fnvPartition(parts))
		sh := shapes.Generate(seed, o)
		longest = max(longest, maxDelayDays(sh))
		g := newGroup(t, o, seed)
		g.run(sh)
		g.check(sh)
	}
	if longest < 25 {
		t.Errorf("the longest label delay was %.1f days: the test means about 30", longest)
	}
	t.Logf("longest label delay %.1f days", longest)
}

// maxDelayDays is the longest label delay of a shape in days: outcome time
// minus its prediction's time.
func maxDelayDays(sh *shapes.Shape) float64 {
	pred := map[string]int64{}
	var longest int64
	for _, r := range sh.Records() {
		ms, ok := shapes.EventTime(r)
		if !ok {
			continue
		}
		if r.Topic == shapes.Predictions {
			pred[string(r.Key)] = ms
		} else if p, ok := pred[string(r.Key)]; ok {
			longest = max(longest, ms-p)
		}
	}
	return float64(longest) / 86_400_000
}
