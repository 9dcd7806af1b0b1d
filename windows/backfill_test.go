package windows

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/results"
	"github.com/reckonhq/reckon/simulate"
	"github.com/reckonhq/reckon/windows/join"
)

// backfill is a runtime of the core shaped like the Kafka one reading a
// backlog as fast as it can: each input partition's two topics are fetched
// independently, up to fetchBytes of records each per batch (so the topic
// of smaller records, the outcomes, runs ahead in event time), panes reach
// the aggregations only once the transaction that sent them committed, and
// a transaction spans commitRecords records. One member owns every
// partition; --until-end finishes each partition once it has read both
// topics.
type backfill struct {
	t   testing.TB
	set *Settings
	dec *event.Decoder
	pr  *event.Prediction
	out event.Outcome

	parts []*Partition
	aggs  []*Aggregation
	cals  Calibrations
	group int64
	clock time.Time

	inputs [][2][][]byte // per partition, per topic: record values
	pos    [][2]int
	msgs   [][]sent // per aggregation: committed, unread
	txn    []sent
	state  map[string][]byte
	closed []*results.Record

	fetchBytes, commitRecords int
	sinceCommit               int
	stats                     backfillStats
}

// backfillStats are what a backfill held at its peak.
type backfillStats struct {
	// PeakHeap is the most live heap seen after a batch (after a
	// collection) beyond what it was once the input was generated (the
	// records themselves), PeakRetained the most pane partials held at once: open
	// in partitions, waiting in windows, and on free lists.
	PeakHeap, PeakRetained uint64
	baseHeap               uint64
	// Peak of each kind of retained partial.
	PeakOpen, PeakWaiting, PeakFree int
	// PeakState is the most bytes of committed state records.
	PeakState int
	Records   int
}

// backfillConfig is the configuration of simulate.Bench's traffic (3
// models of 10 features) with the given windows.
func backfillConfig(t testing.TB, o simulate.Options, windows ...string) *config.Config {
	cfg, err := simulate.Config(o, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Windows = nil
	for _, w := range windows {
		l, err := config.ParseDuration(w)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Windows = append(cfg.Windows, config.Window{Text: w, Length: l})
	}
	return cfg
}

// backfillTraffic is n records of simulate.Bench spread over span of event
// time.
func backfillTraffic(n int, span time.Duration) simulate.Options {
	o := simulate.Bench()
	// Records are predictions and the outcomes of about half of them.
	predictions := float64(n) / (1 + o.LabelRate*(1-o.ErrorRate))
	o.EventRate = predictions / span.Seconds()
	return o
}

func newBackfill(t testing.TB, o simulate.Options, cfg *config.Config, partitions, n int) *backfill {
	set, err := NewSettings(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	place := fnvPartition(partitions)
	mp := make([]int32, len(cfg.Models))
	for i, m := range cfg.Models {
		mp[i] = place([]byte(m.Name))
	}
	set.SetTopology(partitions, mp)
	b := &backfill{
		t: t, set: set,
		dec:           event.NewDecoder(event.SchemaFromConfig(cfg), 1<<20),
		cals:          NewCalibrations(set),
		group:         Unset,
		clock:         time.Unix(2_000_000_000, 0),
		inputs:        make([][2][][]byte, partitions),
		pos:           make([][2]int, partitions),
		msgs:          make([][]sent, partitions),
		state:         map[string][]byte{},
		fetchBytes:    1 << 20,
		commitRecords: 50_000,
	}
	b.pr = b.dec.NewPrediction()
	g := simulate.New(o)
	var r simulate.Record
	for range n {
		g.Next(&r)
		p := place(r.Key)
		b.inputs[p][r.Topic] = append(b.inputs[p][r.Topic], slices.Clone(r.Value))
	}
	for p := range partitions {
		st, err := join.Open(t.TempDir(), set.LabelTTL, join.WithMemory(16<<20))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Restored(0); err != nil {
			t.Fatal(err)
		}
		b.parts = append(b.parts, NewPartition(set, b.cals, int32(p), b.clock, st))
		b.aggs = append(b.aggs, NewAggregation(set, int32(p)))
	}
	if os.Getenv("RECKON_BACKFILL_HEAP") != "" {
		b.stats.baseHeap = liveHeap()
	}
	t.Cleanup(func() {
		for _, p := range b.parts {
			p.JoinStore().Close()
		}
	})
	return b
}

// run reads everything, committing every commitRecords records, until
// every window has closed.
func (b *backfill) run() {
	for !b.done() {
		b.step()
	}
}

// step is one batch, and a commit when due.
func (b *backfill) step() {
	{
		b.clock = b.clock.Add(10 * time.Millisecond)
		for p, part := range b.parts {
			for topic := range NumTopics {
				in := b.inputs[p][topic]
				start, size := b.pos[p][topic], 0
				end := start
				for end < len(in) && (end == start || size+len(in[end]) <= b.fetchBytes) {
					size += len(in[end])
					end++
				}
				b.fetch(part, topic, in[start:end])
				b.pos[p][topic] = end
				b.sinceCommit += end - start
				b.stats.Records += end - start
				part.Fetched(topic, b.clock, end == len(in))
			}
			if !part.Finished() && b.pos[p] == [2]int{len(b.inputs[p][0]), len(b.inputs[p][1])} {
				part.Finish()
			}
			b.sendPanes(part.Advance(b.clock, b.group, nil))
		}
		for p, a := range b.aggs {
			for _, s := range b.msgs[p] {
				if err := a.Receive(s.kind, s.data); err != nil {
					b.t.Fatal(err)
				}
			}
			b.msgs[p] = b.msgs[p][:0]
			if err := a.Advance(); err != nil {
				b.t.Fatal(err)
			}
			b.cals.Adopt(a)
			b.group = max(b.group, a.Watermark())
		}
		if b.sinceCommit >= b.commitRecords || b.finished() {
			b.commit()
			b.sinceCommit = 0
		}
		b.measure()
	}
}

func (b *backfill) fetch(part *Partition, topic Topic, recs [][]byte) {
	for _, v := range recs {
		if topic == Predictions {
			if err := b.dec.DecodePrediction(v, b.pr); err != nil {
				b.t.Fatal(err)
			}
			part.Observe(Predictions, b.pr.TimeMs)
			part.Prediction(b.pr)
			continue
		}
		if err := b.dec.DecodeOutcome(v, &b.out); err != nil {
			b.t.Fatal(err)
		}
		part.Observe(Outcomes, b.out.TimeMs)
		part.Outcome(&b.out)
	}
}

func (b *backfill) sendPanes(panes []*Partial) {
	for _, pane := range panes {
		v, err := AppendPaneMessage(nil, pane)
		if err != nil {
			b.t.Fatal(err)
		}
		b.txn = append(b.txn, sent{b.set.ModelPartition[pane.Model], KindPane, v})
	}
}

func (b *backfill) finished() bool {
	for _, p := range b.parts {
		if !p.Finished() {
			return false
		}
	}
	return true
}

func (b *backfill) done() bool {
	for _, a := range b.aggs {
		if !a.Done() {
			return false
		}
	}
	return true
}

// commit ends the transaction: progress, state, then the messages become
// readable.
func (b *backfill) commit() {
	for _, part := range b.parts {
		panes, pr, changed := part.Report(b.clock, b.group, nil)
		b.sendPanes(panes)
		part.Release(panes)
		if changed {
			v := AppendProgressMessage(nil, pr)
			for p := range b.aggs {
				b.txn = append(b.txn, sent{int32(p), KindProgress, v})
			}
		}
	}
	emit := func(k, v []byte) {
		if v == nil {
			delete(b.state, string(k))
		} else {
			b.state[string(k)] = slices.Clone(v)
		}
	}
	for p, part := range b.parts {
		if err := part.AppendChanges(emit); err != nil {
			b.t.Fatal(err)
		}
		if err := b.aggs[p].AppendChanges(emit); err != nil {
			b.t.Fatal(err)
		}
		st := part.JoinStore()
		if err := st.Changes(func(k, v []byte) {}); err != nil {
			b.t.Fatal(err)
		}
		if err := st.Commit(0); err != nil {
			b.t.Fatal(err)
		}
	}
	for _, s := range b.txn {
		b.msgs[s.to] = append(b.msgs[s.to], s)
	}
	b.txn = b.txn[:0]
	for _, a := range b.aggs {
		b.closed = append(b.closed, a.Output().Closed...)
		a.ResetOutput()
	}
	n := 0
	for k, v := range b.state {
		n += len(k) + len(v)
	}
	b.stats.PeakState = max(b.stats.PeakState, n)
}

// measure records the live heap and the partials retained.
func (b *backfill) measure() {
	open, waiting, free := 0, 0, 0
	for _, p := range b.parts {
		open += p.panes.Len()
		for _, f := range p.panes.free {
			free += len(f)
		}
	}
	for _, a := range b.aggs {
		for _, ow := range a.agg.open {
			waiting += len(ow.parts)
		}
		for _, f := range a.agg.free {
			free += len(f)
		}
	}
	s := &b.stats
	s.PeakOpen, s.PeakWaiting, s.PeakFree = max(s.PeakOpen, open), max(s.PeakWaiting, waiting), max(s.PeakFree, free)
	s.PeakRetained = max(s.PeakRetained, uint64(open+waiting+free))
	if os.Getenv("RECKON_BACKFILL_HEAP") == "" {
		return
	}
	if h := liveHeap() - s.baseHeap; h > s.PeakHeap {
		s.PeakHeap = h
		if f := os.Getenv("RECKON_BACKFILL_HEAP"); f != "1" {
			w, err := os.Create(f)
			if err != nil {
				b.t.Fatal(err)
			}
			pprof.Lookup("heap").WriteTo(w, 0)
			w.Close()
		}
	}
}

// digest is a hash of the results published, in order.
func (b *backfill) digest() string {
	h := sha256.New()
	for _, r := range b.closed {
		v, err := results.Marshal(r)
		if err != nil {
			b.t.Fatal(err)
		}
		h.Write(v)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // the heap profile lags a cycle
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestBackfillMemory reads a backfill of 200,000 records spread over 60
// days through windows [30d], [6h] and [6h, 30d], and logs what it held
// at its peak. RECKON_BACKFILL_HEAP=1 measures the live heap too (slow);
// a file name also writes the heap profile at the peak there.
func TestBackfillMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("a measurement")
	}
	const n, span = 200_000, 60 * 24 * time.Hour
	for _, ws := range [][]string{{"30d"}, {"6h"}, {"6h", "30d"}} {
		t.Run(strings.Join(ws, ","), func(t *testing.T) {
			o := backfillTraffic(n, span)
			b := newBackfill(t, o, backfillConfig(t, o, ws...), 4, n)
			b.run()
			t.Logf("windows %v: %+v, %d windows closed, results %s", ws, b.stats, len(b.closed), b.digest())
		})
	}
}

// TestBackfillRetention reads a backfill whose outcomes are fetched weeks
// of event time ahead of their predictions, through windows [6h, 30d]:
// one pane is open per 6h of that lead, per model and partition. What they
// cost must not outlive them: the partials kept for reuse stay within a
// few per model (they were every pane harvested), and a pane that only
// counts outcomes is a few KiB (it was 43 KiB, its performance histograms
// included).
func TestBackfillRetention(t *testing.T) {
	const n, partitions, perModel = 40_000, 4, 8
	o := backfillTraffic(n, 60*24*time.Hour)
	cfg := backfillConfig(t, o, "6h", "30d")
	b := newBackfill(t, o, cfg, partitions, n)
	b.run()
	models := len(cfg.Models)
	if b.stats.PeakOpen < 10*models*partitions {
		t.Fatalf("at most %d panes open at once: the outcomes did not run ahead, the test tests nothing", b.stats.PeakOpen)
	}
	// Each partition's panes, and the aggregations beyond what their
	// windows hold.
	if limit := (partitions+1)*models*perModel + b.stats.PeakWaiting; b.stats.PeakFree > limit {
		t.Errorf("%d partials kept for reuse at once (%d panes open, %d waiting in windows), want at most %d",
			b.stats.PeakFree, b.stats.PeakOpen, b.stats.PeakWaiting, limit)
	}
	l := b.set.Layout
	var ps []*Partial
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		p := l.NewPartial(0)
		p.Outcomes++
		ps = append(ps, p)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 100; per > 8<<10 {
		t.Errorf("a pane of %d features counting one outcome takes %d bytes, want at most 8 KiB", len(l[0]), per)
	}
}
