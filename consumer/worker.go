package consumer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/windows"
	"github.com/reckonhq/reckon/windows/join"
)

// Input topics, as indexes into per-topic arrays. The re-key topic
// (<group>-rekey, co-partitioned with the others) carries records whose
// Kafka key was not their prediction_id and that therefore landed in
// another partition than their prediction or outcome: a worker forwards
// them there, keyed by prediction_id, and the worker of the right partition
// processes them.
const (
	predictionsTopic = iota
	outcomesTopic
	rekeyTopic
	numInputTopics
)

// Dead-letter headers, DESIGN.md §1.
const (
	HeaderSourceTopic     = "reckon.source.topic"
	HeaderSourcePartition = "reckon.source.partition"
	HeaderSourceOffset    = "reckon.source.offset"
	HeaderError           = "reckon.error"
	// HeaderRekeyKind says what a re-keyed record is: "prediction" or
	// "outcome".
	HeaderRekeyKind = "reckon.rekey.kind"
)

// worker owns the state of one partition number of both input topics. Only
// one goroutine touches a worker at a time: a batch goroutine while
// processing, the processor loop in between.
type worker struct {
	partition int32
	topics    *[numInputTopics]string
	deadTopic string

	dec     *event.Decoder
	pred    *event.Prediction
	outcome event.Outcome
	panes   *windows.Panes
	sources [numInputTopics]*windows.Source
	// wm is this partition's watermark (DESIGN.md §2): over its own
	// predictions and outcomes partitions, so that which events are late,
	// which panes close and which predictions expire depends on the
	// partition's records alone, not on which member owns what.
	wm *windows.Watermark
	// assigned marks which input topics' partition this member owns.
	assigned [numInputTopics]bool
	join     *join.Store
	// cal says how each model's scores are calibrated for estimation.
	// Shared by the processor's workers; written by the loop between
	// batches only.
	cal []calibration

	// checkpoint is the newest committed checkpoint; next the one this
	// transaction writes. sent is the progress last committed to the
	// partials topic, pendingSent this transaction's.
	checkpoint, next  checkpoint
	encoded           []byte // this transaction's checkpoint, before chunking
	sent, pendingSent progress
	dirty             bool

	// partitioner and partitions place a prediction_id the way producers
	// must (Kafka's murmur2), to tell whether a mis-keyed record is in the
	// right partition anyway.
	partitioner kgo.TopicPartitioner
	partitions  int

	// Per batch: input, then output read by the loop after the batch.
	recs      [numInputTopics][]*kgo.Record
	watermark int64 // the watermark when the batch started: older events are late
	dead      []*kgo.Record
	forward   []*kgo.Record // records re-keyed to the re-key topic
	stats     batchStats
	harvest   []*windows.Partial
	panesOut  []*kgo.Record // harvested panes, for the partials topic
	fetched   [2]bool       // whether the batch has records of each input topic (loop-owned)
	err       error         // of the batch's advance
}

// batchStats are one batch's counts, applied to the metrics after commit.
type batchStats struct {
	consumed [numInputTopics]uint64
	dead     [numInputTopics][event.NumReasons]uint64
	misKeyed [numInputTopics]uint64
	rekeyed  [numInputTopics]uint64
	models   []modelStats
}

type modelStats struct {
	// versions maps model_version to [ok, error] prediction counts. Entries
	// are kept across batches (zeroed, not deleted) so that a known version
	// costs no allocation.
	versions   map[string]*[2]uint64
	latencies  []float64
	scores     []float64
	late       uint64
	violations [][event.NumViolationKinds]uint64 // [0] is _undeclared, [i+1] feature i

	// The join's decisions.
	joined, dupOutcomes, orphaned, expired, dupPredictions uint64
	confusion                                              [4]uint64 // tp, fp, tn, fn
	labelDelays                                            []float64
}

// Confusion cells, in modelStats.confusion order.
const (
	cellTP = iota
	cellFP
	cellTN
	cellFN
)

var cellNames = [4]string{"tp", "fp", "tn", "fn"}

func newWorker(p *Processor, partition int32, now time.Time) *worker {
	schema := p.schema
	w := &worker{
		partition:   partition,
		topics:      &p.topics,
		deadTopic:   p.cfg.Kafka.DeadLetterTopic,
		dec:         event.NewDecoder(schema, p.cfg.MaxRecordBytes),
		panes:       windows.NewPanes(p.paneLength, p.layout),
		wm:          windows.NewWatermark(p.cfg.AllowedLateness, p.cfg.IdleTimeout),
		join:        join.New(p.cfg.LabelTTL),
		cal:         p.cal,
		partitioner: kgo.StickyKeyPartitioner(nil).ForTopic(""),
		partitions:  p.partitions,
		sent:        progress{wm: windows.Unset},
	}
	w.pred = w.dec.NewPrediction()
	for i := range w.sources {
		w.sources[i] = windows.NewSource(now)
	}
	w.stats.models = make([]modelStats, schema.Len())
	for i := range w.stats.models {
		w.stats.models[i] = modelStats{
			versions:   make(map[string]*[2]uint64),
			violations: make([][event.NumViolationKinds]uint64, len(schema.Model(i).Features)+1),
		}
	}
	return w
}

// advance moves the partition's watermark at wall-clock time now, and
// with it the panes and the join: closed panes are encoded for the partials
// topic (out), expired predictions counted. It reports whether anything
// changed.
func (w *worker) advance(p *Processor, now time.Time, out []*kgo.Record) ([]*kgo.Record, error) {
	before := w.wm.Current()
	wm := w.wm.Advance(now, []*windows.Source{w.sources[predictionsTopic], w.sources[outcomesTopic]})
	if wm == before {
		return out, nil
	}
	w.dirty = true
	w.harvest = w.panes.Harvest(wm, w.harvest[:0])
	for _, part := range w.harvest {
		part.Source = w.partition
		v := append(make([]byte, 0, 4096), partialsVersion)
		v = binary.AppendUvarint(v, uint64(w.partition))
		v, err := part.AppendBinary(v)
		if err != nil {
			return out, fmt.Errorf("encoding a pane of partition %d: %w", w.partition, err)
		}
		out = append(out, &kgo.Record{
			Topic:     p.partialsTopic,
			Partition: p.modelPartition[part.Model],
			Key:       []byte(p.schema.Model(part.Model).Name),
			Value:     v,
			Headers:   []kgo.RecordHeader{{Key: HeaderPartialKind, Value: []byte(kindPartial)}},
		})
	}
	w.panes.Release(w.harvest)
	w.join.Advance(wm, w)
	return out, nil
}

// idle reports whether both input partitions are idle (DESIGN.md §2): the
// partition then holds back nobody's watermark.
func (w *worker) idle(now time.Time, timeout time.Duration) bool {
	return w.sources[predictionsTopic].Idle(now, timeout) && w.sources[outcomesTopic].Idle(now, timeout)
}

// inputLen is the number of records of the batch.
func (w *worker) inputLen() int {
	n := 0
	for _, recs := range w.recs {
		n += len(recs)
	}
	return n
}

func (w *worker) hasInput() bool {
	for _, recs := range w.recs {
		if len(recs) > 0 {
			return true
		}
	}
	return false
}

// process handles the batch's records. Predictions are processed before
// outcomes of the same batch, so that a label fetched together with its
// prediction finds it; re-keyed records of either kind come in between.
func (w *worker) process(maxTimeMs int64) {
	w.dirty = true
	w.watermark = w.wm.Current()
	w.dec.SetMaxTime(maxTimeMs)
	w.dec.SetWallClock(time.Now())
	for _, r := range w.recs[predictionsTopic] {
		w.prediction(predictionsTopic, r)
	}
	for _, r := range w.recs[rekeyTopic] {
		if headerValue(r, HeaderRekeyKind) == "outcome" {
			w.outcomeRecord(rekeyTopic, r)
		} else {
			w.prediction(rekeyTopic, r)
		}
	}
	for _, r := range w.recs[outcomesTopic] {
		w.outcomeRecord(outcomesTopic, r)
	}
	w.recs = [numInputTopics][]*kgo.Record{}
}

// keyed reports whether record r of topic ti, whose prediction_id is id,
// may be processed here. A record keyed by something else is counted; when
// its prediction_id belongs to another partition it is queued for the
// re-key topic instead.
func (w *worker) keyed(ti int, r *kgo.Record, id []byte, kind string) bool {
	if bytes.Equal(r.Key, id) {
		return true
	}
	w.stats.misKeyed[ti]++
	if ti == rekeyTopic || int32(w.partitioner.Partition(&kgo.Record{Key: id}, w.partitions)) == r.Partition {
		return true
	}
	w.stats.rekeyed[ti]++
	headers := make([]kgo.RecordHeader, 0, len(r.Headers)+1)
	headers = append(headers, r.Headers...)
	headers = append(headers, kgo.RecordHeader{Key: HeaderRekeyKind, Value: []byte(kind)})
	w.forward = append(w.forward, &kgo.Record{
		Topic:     w.topics[rekeyTopic],
		Key:       bytes.Clone(id), // id aliases the decoder's buffers
		Value:     r.Value,
		Headers:   headers,
		Timestamp: r.Timestamp,
	})
	return false
}

func headerValue(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func (w *worker) prediction(ti int, r *kgo.Record) {
	w.stats.consumed[ti]++
	p := w.pred
	if err := w.dec.DecodePrediction(r.Value, p); err != nil {
		w.deadLetter(ti, r, err)
		return
	}
	// Observed before any forwarding: the re-key topic takes no part in
	// the watermark (it is empty in a well-keyed deployment and would
	// otherwise hold everything until idle), so a forwarded event counts
	// where it first arrived.
	w.sources[ti].Observe(p.TimeMs)
	if !w.keyed(ti, r, p.ID, "prediction") {
		return
	}

	ms := &w.stats.models[p.Model]
	c := ms.versions[string(p.ModelVersion)]
	if c == nil {
		c = new([2]uint64)
		ms.versions[string(p.ModelVersion)] = c
	}
	if p.Error {
		c[1]++
	} else {
		c[0]++
	}
	if p.LatencySeconds == p.LatencySeconds { // not NaN
		ms.latencies = append(ms.latencies, p.LatencySeconds)
	}
	if !p.Error && p.Score == p.Score {
		ms.scores = append(ms.scores, p.Score)
	}
	for _, v := range p.Violations {
		ms.violations[v.Feature+1][v.Kind]++
	}

	if !p.Error {
		w.join.AddPrediction(join.Prediction{
			Key:       join.KeyOf(uint16(p.Model), p.ID),
			Model:     uint16(p.Model),
			TimeMs:    p.TimeMs,
			Score:     float32(p.Score),
			Predicted: p.Predicted,
		}, w)
	}

	if p.TimeMs < w.watermark {
		ms.late++
		return
	}
	cal, deferEstimate := w.cal[p.Model].at(p.TimeMs)
	w.panes.Get(p.Model, p.TimeMs).AddPrediction(p, cal, deferEstimate)
}

func (w *worker) outcomeRecord(ti int, r *kgo.Record) {
	w.stats.consumed[ti]++
	o := &w.outcome
	if err := w.dec.DecodeOutcome(r.Value, o); err != nil {
		w.deadLetter(ti, r, err)
		return
	}
	w.sources[ti].Observe(o.TimeMs) // see prediction
	if !w.keyed(ti, r, o.ID, "outcome") {
		return
	}
	if o.TimeMs < w.watermark {
		w.stats.models[o.Model].late++
	} else {
		w.panes.Get(o.Model, o.TimeMs).Outcomes++
	}
	w.join.AddOutcome(join.Outcome{
		Key:    join.KeyOf(uint16(o.Model), o.ID),
		Model:  uint16(o.Model),
		TimeMs: o.TimeMs,
		Label:  o.Label,
	}, w)
}

// Joined implements join.Sink: the pair counts live at once, and in the
// window of its outcome time unless that window has closed.
func (w *worker) Joined(j join.Joined) {
	ms := &w.stats.models[j.Model]
	ms.joined++
	cell := cellTN
	switch {
	case j.Predicted && j.Label:
		cell = cellTP
	case j.Predicted:
		cell = cellFP
	case j.Label:
		cell = cellFN
	}
	ms.confusion[cell]++
	ms.labelDelays = append(ms.labelDelays, float64(max(j.OutcomeTimeMs-j.PredTimeMs, 0))/1000)
	if j.OutcomeTimeMs < w.watermark {
		return // the window of its outcome time has closed
	}
	pane := w.panes.Get(int(j.Model), j.OutcomeTimeMs)
	pane.Perf.Add(float64(j.Score), j.Predicted, j.Label)
	pane.Joined = append(pane.Joined, windows.JoinedError{OutcomeMs: j.OutcomeTimeMs, PredMs: j.PredTimeMs, Wrong: j.Predicted != j.Label})
}

// DuplicatePrediction implements join.Sink.
func (w *worker) DuplicatePrediction(model uint16) { w.stats.models[model].dupPredictions++ }

// DuplicateOutcome implements join.Sink.
func (w *worker) DuplicateOutcome(model uint16) { w.stats.models[model].dupOutcomes++ }

// Expired implements join.Sink.
func (w *worker) Expired(model uint16, _ int64) { w.stats.models[model].expired++ }

// Orphaned implements join.Sink.
func (w *worker) Orphaned(model uint16, _ int64) { w.stats.models[model].orphaned++ }

// deadLetter queues r for the dead-letter topic, byte for byte, with its
// original headers followed by reckon's.
func (w *worker) deadLetter(topic int, r *kgo.Record, err error) {
	reason := event.ReasonInvalidJSON
	var de *event.DecodeError
	if errors.As(err, &de) {
		reason = de.Reason
	}
	w.stats.dead[topic][reason]++
	headers := make([]kgo.RecordHeader, 0, len(r.Headers)+4)
	headers = append(headers, r.Headers...)
	headers = append(headers,
		kgo.RecordHeader{Key: HeaderSourceTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: HeaderSourcePartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
		kgo.RecordHeader{Key: HeaderSourceOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
		kgo.RecordHeader{Key: HeaderError, Value: []byte(err.Error())},
	)
	w.dead = append(w.dead, &kgo.Record{
		Topic:     w.deadTopic,
		Key:       r.Key,
		Value:     r.Value,
		Headers:   headers,
		Timestamp: r.Timestamp,
	})
}
