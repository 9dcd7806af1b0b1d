package consumer

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/windows"
)

// Input topics, as indexes into per-topic arrays. The re-key topic
// (<group>-rekey, co-partitioned with the others) carries records whose
// Kafka key was not their prediction_id and that therefore landed in
// another partition than their prediction or outcome: a task forwards them
// there, keyed by prediction_id, and the task of the right partition
// processes them.
const (
	predictionsTopic = iota
	outcomesTopic
	rekeyTopic
	numInputTopics
)

// coreTopic maps the two event-time input topics to the core's.
var coreTopic = [2]windows.Topic{predictionsTopic: windows.Predictions, outcomesTopic: windows.Outcomes}

// Dead-letter headers, docs/events.md.
const (
	HeaderSourceTopic     = "reckon.source.topic"
	HeaderSourcePartition = "reckon.source.partition"
	HeaderSourceOffset    = "reckon.source.offset"
	HeaderError           = "reckon.error"
	// HeaderRekeyKind says what a re-keyed record is: "prediction" or
	// "outcome".
	HeaderRekeyKind = "reckon.rekey.kind"
)

// task is the Kafka side of one partition number of the input topics: it
// decodes the records, sends bad ones to the dead-letter topic and
// mis-keyed ones to the re-key topic, and hands the rest to the
// partition's core (windows.Partition). Only one goroutine touches a task
// at a time: a batch goroutine while processing, the processor's loop in
// between.
type task struct {
	partition int32
	part      *windows.Partition
	topics    *[numInputTopics]string
	deadTopic string

	dec     *event.Decoder
	pred    *event.Prediction
	outcome event.Outcome
	// assigned marks which input topics' partition this member owns.
	assigned [numInputTopics]bool

	// partitioner and partitions place a prediction_id the way producers
	// must (Kafka's murmur2), to tell whether a mis-keyed record is in the
	// right partition anyway.
	partitioner kgo.TopicPartitioner
	partitions  int

	// Per batch: input, then output read by the loop after the batch.
	recs     [numInputTopics][]*kgo.Record
	dead     []*kgo.Record
	forward  []*kgo.Record // records re-keyed to the re-key topic
	stats    recordStats
	harvest  []*windows.Partial
	panesOut []*kgo.Record // harvested panes, for the partials topic
	fetched  [2]bool       // whether the batch has records of each input topic (loop-owned)
	err      error         // of the batch's advance
}

// recordStats are what a task counted of the records themselves, applied
// to the metrics after commit.
type recordStats struct {
	consumed [numInputTopics]uint64
	dead     [numInputTopics][event.NumReasons]uint64
	misKeyed [numInputTopics]uint64
	rekeyed  [numInputTopics]uint64
}

func (p *Processor) newTask(partition int32, part *windows.Partition) *task {
	t := &task{
		partition:   partition,
		part:        part,
		topics:      &p.topics,
		deadTopic:   p.cfg.Kafka.DeadLetterTopic,
		dec:         event.NewDecoder(p.schema, p.cfg.MaxRecordBytes),
		partitioner: kgo.StickyKeyPartitioner(nil).ForTopic(""),
		partitions:  p.set.Partitions,
	}
	t.pred = t.dec.NewPrediction()
	return t
}

// inputLen is the number of records of the batch.
func (t *task) inputLen() int {
	n := 0
	for _, recs := range t.recs {
		n += len(recs)
	}
	return n
}

// process handles the batch's records. Predictions are processed before
// outcomes of the same batch, so that a label fetched together with its
// prediction finds it; re-keyed records of either kind come in between.
func (t *task) process(wall time.Time, maxTimeMs int64) {
	t.dec.SetMaxTime(maxTimeMs)
	t.dec.SetWallClock(wall)
	for _, r := range t.recs[predictionsTopic] {
		t.prediction(predictionsTopic, r)
	}
	for _, r := range t.recs[rekeyTopic] {
		if headerValue(r, HeaderRekeyKind) == "outcome" {
			t.outcomeRecord(rekeyTopic, r)
		} else {
			t.prediction(rekeyTopic, r)
		}
	}
	for _, r := range t.recs[outcomesTopic] {
		t.outcomeRecord(outcomesTopic, r)
	}
	t.recs = [numInputTopics][]*kgo.Record{}
}

// advance moves the partition's event time after a batch and encodes the
// panes it harvested for the partials topic.
func (t *task) advance(p *Processor, now time.Time, group int64) {
	t.harvest = t.part.Advance(now, group, t.harvest[:0])
	t.panesOut, t.err = p.paneRecords(t.panesOut[:0], t.harvest)
	t.part.Release(t.harvest)
}

// keyed reports whether record r of topic ti, whose prediction_id is id,
// may be processed here. A record keyed by something else is counted; when
// its prediction_id belongs to another partition it is queued for the
// re-key topic instead.
func (t *task) keyed(ti int, r *kgo.Record, id []byte, kind string) bool {
	if bytes.Equal(r.Key, id) {
		return true
	}
	t.stats.misKeyed[ti]++
	if ti == rekeyTopic || int32(t.partitioner.Partition(&kgo.Record{Key: id}, t.partitions)) == r.Partition {
		return true
	}
	t.stats.rekeyed[ti]++
	headers := make([]kgo.RecordHeader, 0, len(r.Headers)+1)
	headers = append(headers, r.Headers...)
	headers = append(headers, kgo.RecordHeader{Key: HeaderRekeyKind, Value: []byte(kind)})
	t.forward = append(t.forward, &kgo.Record{
		Topic:     t.topics[rekeyTopic],
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

func (t *task) prediction(ti int, r *kgo.Record) {
	t.stats.consumed[ti]++
	e := t.pred
	if err := t.dec.DecodePrediction(r.Value, e); err != nil {
		t.deadLetter(ti, r, err)
		return
	}
	if ti != rekeyTopic {
		t.part.Observe(coreTopic[ti], e.TimeMs)
	}
	if t.keyed(ti, r, e.ID, "prediction") {
		t.part.Prediction(e)
	}
}

func (t *task) outcomeRecord(ti int, r *kgo.Record) {
	t.stats.consumed[ti]++
	o := &t.outcome
	if err := t.dec.DecodeOutcome(r.Value, o); err != nil {
		t.deadLetter(ti, r, err)
		return
	}
	if ti != rekeyTopic {
		t.part.Observe(coreTopic[ti], o.TimeMs)
	}
	if t.keyed(ti, r, o.ID, "outcome") {
		t.part.Outcome(o)
	}
}

// deadLetter queues r for the dead-letter topic, byte for byte, with its
// original headers followed by reckon's.
func (t *task) deadLetter(topic int, r *kgo.Record, err error) {
	reason := event.ReasonInvalidJSON
	var de *event.DecodeError
	if errors.As(err, &de) {
		reason = de.Reason
	}
	t.stats.dead[topic][reason]++
	headers := make([]kgo.RecordHeader, 0, len(r.Headers)+4)
	headers = append(headers, r.Headers...)
	headers = append(headers,
		kgo.RecordHeader{Key: HeaderSourceTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: HeaderSourcePartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
		kgo.RecordHeader{Key: HeaderSourceOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
		kgo.RecordHeader{Key: HeaderError, Value: []byte(err.Error())},
	)
	t.dead = append(t.dead, &kgo.Record{
		Topic:     t.deadTopic,
		Key:       r.Key,
		Value:     r.Value,
		Headers:   headers,
		Timestamp: r.Timestamp,
	})
}

// errPartition wraps an error of partition part.
func errPartition(part int32, err error) error {
	return fmt.Errorf("partition %d: %w", part, err)
}
