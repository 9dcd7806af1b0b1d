// Package shapes generates traffic shapes and says what reckon must make of
// them: the test oracle of event time (docs/semantics.md) that the core's
// tests, the end-to-end test on kfake and the one on Apache Kafka share.
//
// A shape is a sequence of segments separated by long pauses (well above
// idle_timeout, so that every partition goes idle and the group watermark
// settles); a segment is a few bursts of records separated by short pauses
// (well below it). Partitions are skewed: some get most of a segment's
// records, some none. Events arrive out of order within the allowed
// lateness, some far beyond it; labels arrive segments after their
// predictions (days of label delay in event time); some records are
// duplicates, some error predictions, some not JSON at all.
//
// Model, in model.go, is an independent single-threaded reading of the
// rules: it knows nothing of panes, partitions' watermarks, aggregations
// or Kafka. Its verdicts hold for every interleaving of the partitions'
// records and every timing the pause schedule allows, because the
// generator keeps every event clear of the watermark's possible range: an
// event is either older than the watermark that settled in the last long
// pause (late for sure) or newer than any watermark its segment can reach
// (on time for sure); see Generate.
package shapes

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Options say what shapes to generate.
type Options struct {
	// Partitions is the input topics' partition count, and Partition
	// where the producer's partitioner puts a key (Kafka's murmur2 for
	// real topics).
	Partitions int
	Partition  func(key []byte) int32
	// Models are the model names; every model has a numeric feature "x"
	// and a categorical feature "c" (values a, b, c).
	Models []string
	// Windows are the window lengths (the first is the pane), Lateness the
	// allowed lateness, IdleTimeout idle_timeout and LabelTTL label_ttl.
	Windows     []time.Duration
	Lateness    time.Duration
	IdleTimeout time.Duration
	LabelTTL    time.Duration
	// Segments is how many segments a shape has at most, and Records
	// about how many prediction records a segment holds.
	Segments, Records int
	// Start is the event time of the first segment, and Gap the most event
	// time that may pass between two segments beyond a few panes (0: none):
	// days of label delay when labels come segments after their
	// predictions.
	Start time.Time
	Gap   time.Duration
	// SegmentMax, when not 0, makes feature "c" a segment of every model
	// with max_values SegmentMax, and draws c from SegmentValues values
	// (a, b, c, ...) instead of three.
	SegmentMax, SegmentValues int
}

// LongDelays are options whose labels come up to about 30 days (event
// time) after their predictions: nine days at most between segments, windows
// of an hour and a day, label_ttl 45 days.
func LongDelays(partitions int, partition func([]byte) int32) Options {
	o := Defaults(partitions, partition)
	o.Windows = []time.Duration{time.Hour, 24 * time.Hour}
	o.LabelTTL = 45 * 24 * time.Hour
	o.Gap = 9 * 24 * time.Hour
	o.Segments = 7
	return o
}

// Defaults are options for a small, fast shape.
func Defaults(partitions int, partition func([]byte) int32) Options {
	return Options{
		Partitions:  partitions,
		Partition:   partition,
		Models:      []string{"m1", "m2"},
		Windows:     []time.Duration{time.Minute, 3 * time.Minute},
		Lateness:    30 * time.Second,
		IdleTimeout: 2 * time.Second,
		LabelTTL:    72 * time.Hour,
		Segments:    5,
		Records:     60,
		Start:       time.Date(2026, 11, 20, 20, 0, 0, 0, time.UTC),
	}
}

// Config is the reckon configuration of the shapes, without the kafka
// block.
func (o Options) Config() string {
	ws := ""
	for i, w := range o.Windows {
		if i > 0 {
			ws += ", "
		}
		ws += durationText(w)
	}
	s := fmt.Sprintf("windows: [%s]\nallowed_lateness: %s\nidle_timeout: %s\nlabel_ttl: %s\nmax_clock_skew: 0s\nmodels:\n",
		ws, durationText(o.Lateness), durationText(o.IdleTimeout), durationText(o.LabelTTL))
	for _, m := range o.Models {
		s += fmt.Sprintf("  - name: %s\n    features: [{name: x, type: numeric}, {name: c, type: categorical}]\n", m)
		if o.SegmentMax > 0 {
			s += fmt.Sprintf("    segments: [{feature: c, max_values: %d}]\n", o.SegmentMax)
		}
	}
	return s
}

func durationText(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// Topic is an input topic.
type Topic int

// The input topics.
const (
	Predictions Topic = iota
	Outcomes
)

// Shape is one generated traffic shape.
type Shape struct {
	Seed     uint64
	Options  Options
	Segments []Segment
}

// Segment is a run of bursts separated by short pauses, followed by a long
// pause.
type Segment struct {
	Bursts []Burst
	// Members is how many consumer-group members run during the segment
	// (end-to-end tests start or stop members before it; 1 when unused).
	Members int
}

// Burst is records produced together, then a pause.
type Burst struct {
	Records []Record
	// Pause is the wall-clock pause after the burst: well below
	// IdleTimeout within a segment, well above it after a segment's last
	// burst.
	Pause time.Duration
}

// Record is one input record, as produced.
type Record struct {
	Topic     Topic
	Partition int32
	Key       []byte
	Value     []byte
	ev        event
}

// event is what a record means, for the model.
type event struct {
	bad       bool // not JSON: a dead letter
	model     int
	id        string
	timeMs    int64
	errorPred bool
	predicted bool
	label     bool
	x         *float64 // nil: missing
	c         string
}

// Generate returns the shape of seed. Event times follow these rules, which
// make every verdict independent of timing:
//
//   - Segment s starts at an event time T_s at or after the watermark that
//     settled after segment s−1 (the highest event time so far minus the
//     lateness) and at or after the end of segment s−1's events.
//   - Its on-time events lie in [T_s, T_s + span) with span below the
//     allowed lateness: no partition's watermark can pass T_s during the
//     segment, whatever order its records are read in, so none of them is
//     late and no window containing them closes before the next long pause.
//   - Its late events are older than the settled watermark: late for sure.
//   - A label comes in the segment of its prediction or a later one, at an
//     event time of its own segment.
func Generate(seed uint64, o Options) *Shape {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	sh := &Shape{Seed: seed, Options: o}
	lateness := o.Lateness.Milliseconds()
	pane := o.Windows[0].Milliseconds()
	t := o.Start.UnixMilli()
	settled := int64(minInt64) // the watermark after the last long pause
	maxSeen := int64(minInt64)
	type pending struct {
		model int
		id    string
		pred  bool
	}
	var unlabelled []pending
	weights := make([]float64, o.Partitions)
	next := 0
	newID := func(model int, part int32) string {
		// Rejection sampling: an id that the partitioner puts on part.
		for {
			next++
			id := fmt.Sprintf("s%d-%d-%d", seed, model, next)
			if o.Partition([]byte(id)) == part {
				return id
			}
		}
	}
	nSeg := 2 + rng.IntN(max(1, o.Segments-1))
	for s := range nSeg {
		seg := Segment{Members: 1}
		// Skew: a partition's share of the segment, some none at all.
		for p := range weights {
			switch r := rng.Float64(); {
			case r < 0.25:
				weights[p] = 0
			case r < 0.4:
				weights[p] = 8
			default:
				weights[p] = 1
			}
		}
		if s > 0 {
			t = max(t, settled)
			t += int64(rng.IntN(4)) * pane // zero to three panes of event time between segments
			t += int64(rng.IntN(int(pane)))
			if o.Gap > 0 {
				t += rng.Int64N(o.Gap.Milliseconds())
			}
		}
		start := t
		span := int64(rng.IntN(int(lateness*9/10))) + 1
		seg.Members = 1 + rng.IntN(3)
		bursts := 1 + rng.IntN(4)
		for b := range bursts {
			var burst Burst
			n := rng.IntN(o.Records/bursts + 1)
			for range n {
				part := pick(rng, weights)
				if part < 0 {
					break
				}
				model := rng.IntN(len(o.Models))
				e := event{model: model, id: newID(model, int32(part)), timeMs: start + rng.Int64N(span)}
				switch r := rng.Float64(); {
				case r < 0.08 && settled != minInt64:
					e.timeMs = settled - 1 - rng.Int64N(3*lateness) // beyond the lateness
				case r < 0.12:
					e.errorPred = true
				}
				if !e.errorPred {
					score := rng.Float64()
					e.predicted = score >= 0.5
					if rng.IntN(10) > 0 {
						x := float64(rng.IntN(50)) / 4
						e.x = &x
					}
					if o.SegmentMax > 0 {
						e.c = string(rune('a' + rng.IntN(o.SegmentValues)))
					} else {
						e.c = string(rune('a' + rng.IntN(3)))
					}
				}
				burst.Records = append(burst.Records, predictionRecord(o, e))
				if rng.IntN(30) == 0 { // a duplicate prediction
					burst.Records = append(burst.Records, predictionRecord(o, e))
				}
				if !e.errorPred {
					unlabelled = append(unlabelled, pending{model, e.id, true})
				}
				maxSeen = max(maxSeen, e.timeMs)
			}
			// Labels: for predictions of this segment or earlier ones.
			labels := rng.IntN(len(unlabelled)/2 + 1)
			for range labels {
				i := rng.IntN(len(unlabelled))
				u := unlabelled[i]
				unlabelled = append(unlabelled[:i], unlabelled[i+1:]...)
				e := event{model: u.model, id: u.id, timeMs: start + rng.Int64N(span), label: rng.IntN(3) == 0}
				if rng.IntN(12) == 0 && settled != minInt64 {
					e.timeMs = settled - 1 - rng.Int64N(3*lateness)
				}
				burst.Records = append(burst.Records, outcomeRecord(o, e))
				if rng.IntN(30) == 0 { // a duplicate outcome
					burst.Records = append(burst.Records, outcomeRecord(o, e))
				}
				maxSeen = max(maxSeen, e.timeMs)
			}
			if rng.IntN(6) == 0 { // an outcome whose prediction never comes
				model := rng.IntN(len(o.Models))
				part := rng.IntN(o.Partitions)
				e := event{model: model, id: newID(model, int32(part)), timeMs: start + rng.Int64N(span), label: true}
				burst.Records = append(burst.Records, outcomeRecord(o, e))
				maxSeen = max(maxSeen, e.timeMs)
			}
			if rng.IntN(8) == 0 { // not JSON
				part := rng.IntN(o.Partitions)
				burst.Records = append(burst.Records, Record{Topic: Predictions, Partition: int32(part), Key: []byte("bad"), Value: []byte("{not json"), ev: event{bad: true}})
			}
			burst.Pause = time.Duration(rng.IntN(int(o.IdleTimeout/time.Millisecond)/10+1)) * time.Millisecond
			if b == bursts-1 {
				burst.Pause = 3 * o.IdleTimeout
			}
			seg.Bursts = append(seg.Bursts, burst)
		}
		sh.Segments = append(sh.Segments, seg)
		t = start + span
		if maxSeen != minInt64 {
			settled = max(settled, maxSeen-lateness)
		}
	}
	if rng.IntN(2) == 0 {
		// Far in the future: the watermark passes every label_ttl, so
		// unlabelled predictions expire and lone outcomes are orphaned,
		// and every window of the shape closes.
		model, part := rng.IntN(len(o.Models)), rng.IntN(o.Partitions)
		e := event{model: model, id: newID(model, int32(part)), timeMs: t + 2*o.LabelTTL.Milliseconds(), c: "a", predicted: true}
		sh.Segments = append(sh.Segments, Segment{Members: 1, Bursts: []Burst{{Records: []Record{predictionRecord(o, e)}, Pause: 3 * o.IdleTimeout}}})
	}
	return sh
}

const minInt64 = -1 << 63

func pick(rng *rand.Rand, weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	if total == 0 {
		return -1
	}
	r := rng.Float64() * total
	for i, w := range weights {
		if r < w {
			return i
		}
		r -= w
	}
	return len(weights) - 1
}

func predictionRecord(o Options, e event) Record {
	m := map[string]any{
		"prediction_id": e.id,
		"model":         o.Models[e.model],
		"timestamp":     e.timeMs,
	}
	if e.errorPred {
		m["status"] = "error"
		m["error"] = "timeout"
	} else {
		p := 0
		if e.predicted {
			p = 1
		}
		m["predicted"] = p
		m["score"] = 0.5
		feats := map[string]any{"c": e.c}
		if e.x != nil {
			feats["x"] = *e.x
		} else {
			feats["x"] = nil
		}
		m["features"] = feats
	}
	v, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return Record{Topic: Predictions, Partition: o.Partition([]byte(e.id)), Key: []byte(e.id), Value: v, ev: e}
}

func outcomeRecord(o Options, e event) Record {
	l := 0
	if e.label {
		l = 1
	}
	v, err := json.Marshal(map[string]any{"prediction_id": e.id, "model": o.Models[e.model], "timestamp": e.timeMs, "label": l})
	if err != nil {
		panic(err)
	}
	return Record{Topic: Outcomes, Partition: o.Partition([]byte(e.id)), Key: []byte(e.id), Value: v, ev: e}
}

// Records are all of the shape's records in production order.
func (sh *Shape) Records() []Record {
	var out []Record
	for _, s := range sh.Segments {
		for _, b := range s.Bursts {
			out = append(out, b.Records...)
		}
	}
	return out
}

// EventTime is a record's event time, false for a record that is not JSON.
func EventTime(r Record) (int64, bool) { return r.ev.timeMs, !r.ev.bad }
