package windows

import (
	"math"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/windows/join"
	"github.com/reckonhq/reckon/windows/perf"
)

// Topic is one of a partition's two input streams: partition N of the
// predictions topic and partition N of the outcomes topic, which the
// co-partitioned topics guarantee to hold the same prediction_ids.
type Topic uint8

// The input streams of a partition.
const (
	Predictions Topic = iota
	Outcomes
	NumTopics
)

// Partition is the event-time core of one input partition: both topics'
// partition N, already decoded. It owns the partition's sources and
// watermark, its open panes, its delayed-label join and its counts, and
// knows nothing of Kafka: a runtime feeds it events and wall-clock facts
// (what was fetched when), and carries what it harvests to the
// aggregations. A Partition is owned by one goroutine at a time and takes
// no lock; in steady state its per-event methods allocate nothing.
//
// # Event time
//
// The partition's own watermark is NextWatermark over its two sources.
// What it reports, and uses, is its watermark: the highest of its own and
// the group watermark the runtime last gave it (Advance), never going
// back. An event older than the watermark when it is read is late
// (docs/semantics.md): counted, and added to no pane. Below the watermark the
// partition sends nothing more: a pane is harvested once the watermark
// reaches its end, and when the partition is idle (both sources idle, or
// finished) it first flushes every open pane, so that the aggregations can
// skip it without losing anything it has read. A pane that receives events
// after a flush is harvested again later as another fragment of the same
// pane; fragments carry a sequence number that orders them.
type Partition struct {
	id   int32
	set  *Settings
	cals Calibrations

	sources [NumTopics]*Source
	// own is NextWatermark over the sources; wm is the watermark:
	// max(own, the group watermark given). Both never go back.
	own, wm  int64
	finished bool
	seq      uint64 // fragments harvested so far
	// reported is the progress last reported (sent is false before the
	// first report); it is state, so that a partition restored after a
	// rollback reports what the aggregations have not seen yet.
	reported Progress
	sent     bool

	panes *Panes
	join  *join.DiskStore
	// dicts are the segment values seen, per model and segment
	// (segment.go), and segVals the current prediction's.
	dicts   [][]segmentDict
	segVals []segmentValue
	counts  Counts
	harvest []*Partial // scratch

	// State changes since the last AppendChanges (state.go); the join
	// keeps its own.
	metaDirty bool
	removed   []paneRecords
}

// NewPartition returns the core of partition id, assigned at now with
// nothing seen but what its join store st holds (the runtime opens the
// store, restores it from the join's changelog and closes it: see
// JoinStore). cals is shared with the member's other partitions and only
// read.
func NewPartition(set *Settings, cals Calibrations, id int32, now time.Time, st *join.DiskStore) *Partition {
	p := &Partition{
		id:     id,
		set:    set,
		cals:   cals,
		own:    Unset,
		wm:     Unset,
		panes:  NewPanes(time.Duration(set.PaneLength)*time.Millisecond, set.Layout),
		join:   st,
		counts: NewCounts(set.Layout),
		dicts:  newSegmentDicts(set),
	}
	for i := range p.sources {
		p.sources[i] = NewSource(now)
	}
	return p
}

// ID is the partition number.
func (p *Partition) ID() int32 { return p.id }

// Source is the event-time progress of one of the partition's topics.
func (p *Partition) Source(t Topic) *Source { return p.sources[t] }

// Fetched records that records of topic t were fetched at now, and whether
// that reached the end of its partition. A runtime calls it for every
// fetch that brought records, and at assignment.
func (p *Partition) Fetched(t Topic, now time.Time, caughtUp bool) {
	p.sources[t].Fetched(now, caughtUp)
}

// Watermark is the partition's watermark: below it, events are late and
// nothing more is harvested.
func (p *Partition) Watermark() int64 { return p.wm }

// Counts are the counts since the runtime last reset them.
func (p *Partition) Counts() *Counts { return &p.counts }

// Pending is the number of predictions waiting for an outcome.
func (p *Partition) Pending() int { return p.join.Pending() }

// Held is the number of ids the join holds: pending predictions, waiting
// outcomes, and decided ids kept to recognise duplicates.
func (p *Partition) Held() int { return p.join.Len() }

// JoinStore is the partition's join store. Its state is a changelog of its
// own, apart from the partition's records (AppendChanges): the runtime
// writes the store's Changes in the transaction, Commits the store once the
// transaction committed and Aborts it when not, restores it, and Closes
// it when the partition goes.
func (p *Partition) JoinStore() *join.DiskStore { return p.join }

// Observe records the event time of an event read from topic t. A runtime
// calls it for every event of the input topics, including one it then
// forwards elsewhere (a mis-keyed record re-keyed to its partition counts
// in event time where it was first read: the re-key path takes no part in
// the watermark), and not for the events it receives forwarded.
func (p *Partition) Observe(t Topic, ms int64) {
	p.sources[t].Observe(ms)
	p.metaDirty = true
}

// Prediction processes one valid prediction: counts, the join, and its
// pane unless it is late. The runtime has called Observe first if the event
// came from the predictions topic.
func (p *Partition) Prediction(e *event.Prediction) {
	ms := &p.counts.Models[e.Model]
	c := ms.Versions[string(e.ModelVersion)]
	if c == nil {
		c = new([2]uint64)
		ms.Versions[string(e.ModelVersion)] = c
	}
	if e.Error {
		c[1]++
	} else {
		c[0]++
	}
	if e.LatencySeconds == e.LatencySeconds { // not NaN
		ms.Latencies = append(ms.Latencies, e.LatencySeconds)
	}
	if !e.Error && e.Score == e.Score {
		ms.Scores = append(ms.Scores, e.Score)
	}
	for _, v := range e.Violations {
		ms.Violations[v.Feature+1][v.Kind]++
	}
	var tag uint64
	if len(p.dicts[e.Model]) > 0 {
		tag = p.segmentTag(e)
	}
	if !e.Error {
		// The join keeps 32 bits of what the model predicted: a binary
		// model's score, a regression model's value (so its figures are
		// over single-precision values and labels), a multiclass model's
		// class index.
		score := e.Score
		switch e.Kind {
		case event.KindRegression:
			score = e.Value
		case event.KindMulticlass:
			score = float64(e.Class)
		}
		p.join.AddPrediction(join.Prediction{
			Key:       join.KeyOf(uint16(e.Model), e.ID),
			Model:     uint16(e.Model),
			TimeMs:    e.TimeMs,
			Score:     float32(score),
			Predicted: e.Predicted,
			Tag:       tag,
		}, (*sink)(p))
	}
	if e.TimeMs < p.wm {
		ms.Late++
		return
	}
	cal, deferEstimate := p.cals[e.Model].at(e.TimeMs)
	pane := p.panes.Get(e.Model, e.TimeMs)
	pane.AddPrediction(e, cal, deferEstimate)
	if pca := p.set.PCA[e.Model]; pca != nil {
		pane.AddMultivariate(pca, e)
	}
	if len(p.dicts[e.Model]) > 0 {
		p.addSegments(pane, e, cal, deferEstimate)
	}
}

// Outcome processes one valid outcome: its pane unless it is late, and the
// join. The runtime has called Observe first if the event came from the
// outcomes topic.
func (p *Partition) Outcome(o *event.Outcome) {
	ms := &p.counts.Models[o.Model]
	if o.NewClass {
		ms.Violations[len(p.set.Layout[o.Model])+2][event.ViolationNewCategory]++
	}
	if o.TimeMs < p.wm {
		ms.Late++
	} else {
		p.panes.Get(o.Model, o.TimeMs).AddOutcome(o, len(p.set.Classes[o.Model]))
	}
	jo := join.Outcome{
		Key:    join.KeyOf(uint16(o.Model), o.ID),
		Model:  uint16(o.Model),
		TimeMs: o.TimeMs,
		Label:  o.Label,
	}
	switch o.Kind {
	case event.KindRegression:
		jo.Value, jo.Valued = float32(o.Value), true
	case event.KindMulticlass:
		jo.Value, jo.Valued = float32(o.Class), true
	}
	p.join.AddOutcome(jo, (*sink)(p))
}

// Advance moves the partition's watermark at wall-clock time now, given the
// group watermark as the runtime knows it (Unset: not known), and with it
// the panes and the join: it appends the panes the watermark passed to out
// (the caller sends them to their model's aggregation and must not keep
// them past the next call into p), and counts the predictions that
// expired.
func (p *Partition) Advance(now time.Time, group int64, out []*Partial) []*Partial {
	in := [NumTopics]Input{}
	for i, s := range p.sources {
		in[i] = Input{Watermark: s.watermark(p.set.Lateness), Idle: p.finished || s.Idle(now, p.set.IdleTimeout)}
	}
	p.own = NextWatermark(p.own, in[:])
	wm := max(p.wm, p.own, group)
	if wm == p.wm {
		return out
	}
	p.wm = wm
	p.metaDirty = true
	return p.harvestBefore(wm, out)
}

// Idle reports whether the partition is idle at now (docs/semantics.md): both
// its sources have been idle for idle_timeout with nothing left to read,
// or it has finished.
func (p *Partition) Idle(now time.Time) bool {
	if p.finished {
		return true
	}
	for _, s := range p.sources {
		if !s.Idle(now, p.set.IdleTimeout) {
			return false
		}
	}
	return true
}

// Report is what the runtime sends at the end of a transaction, after the
// panes of Advance: it advances (as Advance), and when the partition is
// idle flushes every open pane into out too; then it returns its progress,
// and whether it differs from the last one reported (only then need it be
// sent to every aggregation). The aggregations may skip an idle partition
// because it has sent everything it read. The runtime must send the panes
// before the progress, and both in the transaction that commits p's state.
func (p *Partition) Report(now time.Time, group int64, out []*Partial) ([]*Partial, Progress, bool) {
	out = p.Advance(now, group, out)
	idle := p.Idle(now)
	if idle {
		out = p.harvestBefore(math.MaxInt64, out)
	}
	pr := Progress{Source: p.id, Watermark: p.wm, Idle: idle, Finished: p.finished}
	if p.sent && pr == p.reported {
		return out, pr, false
	}
	p.reported, p.sent = pr, true
	p.metaDirty = true
	return out, pr, true
}

// Reported is the progress last reported, and whether there was one.
func (p *Partition) Reported() (Progress, bool) { return p.reported, p.sent }

// Finish ends the partition's input (reckon run --until-end): its own
// watermark moves to the end of the longest window holding its latest
// event, so that every window holding its events closes, and it counts as
// idle from now on. Predictions whose label_ttl ends before that expire.
func (p *Partition) Finish() {
	p.finished = true
	p.metaDirty = true
	last := Unset
	for _, s := range p.sources {
		last = max(last, s.Max())
	}
	if last != Unset {
		longest := p.set.Lengths[len(p.set.Lengths)-1]
		p.own = max(p.own, floorTo(last, longest)+longest)
	}
}

// Finished reports whether Finish was called.
func (p *Partition) Finished() bool { return p.finished }

// harvestBefore harvests the panes ending at or before wm into out,
// stamping each with its source and fragment number, and advances the
// join to the watermark.
func (p *Partition) harvestBefore(wm int64, out []*Partial) []*Partial {
	p.harvest = p.panes.Harvest(wm, p.harvest[:0])
	for _, part := range p.harvest {
		part.Source = p.id
		part.Seq = p.seq
		p.seq++
		if part.next > part.first {
			p.removed = append(p.removed, paneRecords{paneID{part.Model, part.Start}, part.first, part.next})
		}
		out = append(out, part)
	}
	if len(p.harvest) > 0 {
		p.metaDirty = true
	}
	if p.wm > p.join.Watermark() {
		p.join.Advance(p.wm, (*sink)(p))
	}
	return out
}

// Release hands back harvested panes once the runtime has encoded them.
func (p *Partition) Release(parts []*Partial) { p.panes.Release(parts) }

// sink receives the join's decisions for partition p.
type sink Partition

// Joined implements join.Sink: the pair counts live at once, and in the
// pane of its outcome time unless that is late.
func (s *sink) Joined(j join.Joined) {
	p := (*Partition)(s)
	ms := &p.counts.Models[j.Model]
	ms.Joined++
	kind := p.set.Kinds[j.Model]
	if kind == config.KindBinary {
		ms.Confusion[perf.CellOf(j.Predicted, j.Label)]++
	}
	ms.LabelDelays = append(ms.LabelDelays, float64(max(j.OutcomeTimeMs-j.PredTimeMs, 0))/1000)
	if j.OutcomeTimeMs < p.wm {
		return // its outcome time's pane has been harvested: late
	}
	pane := p.panes.Get(int(j.Model), j.OutcomeTimeMs)
	classes := len(p.set.Classes[j.Model])
	pane.AddJoined(&j, kind, classes)
	switch kind {
	case config.KindBinary:
		pane.Joined = append(pane.Joined, JoinedError{OutcomeMs: j.OutcomeTimeMs, PredMs: j.PredTimeMs, Wrong: j.Predicted != j.Label})
	case config.KindMulticlass:
		// The concept-drift detectors watch the stream of misclassifications.
		pane.Joined = append(pane.Joined, JoinedError{OutcomeMs: j.OutcomeTimeMs, PredMs: j.PredTimeMs, Wrong: j.Score != j.LabelValue || j.Score < 0})
	}
	if len(p.dicts[j.Model]) > 0 {
		p.joinedSegments(pane, &j, kind, classes)
	}
}

// DuplicatePrediction implements join.Sink.
func (s *sink) DuplicatePrediction(model uint16) { s.counts.Models[model].DuplicatePredictions++ }

// DuplicateOutcome implements join.Sink.
func (s *sink) DuplicateOutcome(model uint16) { s.counts.Models[model].DuplicateOutcomes++ }

// Expired implements join.Sink.
func (s *sink) Expired(model uint16, _ int64) { s.counts.Models[model].Expired++ }

// Orphaned implements join.Sink.
func (s *sink) Orphaned(model uint16, _ int64) { s.counts.Models[model].Orphaned++ }
