package consumer

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/windows"
)

// Reading a partition's two input topics in step.
//
// Kafka fetches each topic-partition up to a byte limit, not to an event
// time: a member catching up on a backlog reads the outcomes topic (fewer,
// smaller records) far ahead in event time of the predictions topic, or the
// other way round. The watermark waits for the slower one, so the faster
// one's ids pile up in the join (waiting outcomes or pending predictions)
// and its panes stay open: in reckon bench the join held 1.7 million ids
// instead of 0.2 million, and each commit checkpointed them all. Like Kafka
// Streams, which picks a task's next record by timestamp across its
// partitions, the loop keeps the two in step: the topic whose event time is
// more than alignSlack ahead of the other's is paused (franz-go drops what
// it had buffered for it and fetches it again on resume, so no offset moves
// past an unprocessed record) until the other is within half the slack or
// has nothing more to read: it reached its end, or the last poll brought
// none of its records (the end is known only from the last fetch, which a
// quiet topic does not repeat, so the end alone could leave the paused
// topic paused for good).

// alignSlack is how far ahead in event time one input topic of a partition
// may run before it is paused: allowed_lateness, at least a minute.
func alignSlack(allowedLateness time.Duration) int64 {
	return max(allowedLateness, time.Minute).Milliseconds()
}

// pausedTopic says which input topic of a partition to pause now (or -1),
// given the one paused so far (or -1); fetched says whether the last poll
// brought records of each.
func pausedTopic(pred, out *windows.Source, fetched [2]bool, paused int, slack int64) int {
	pm, om := pred.Max(), out.Max()
	if pm == windows.Unset || om == windows.Unset {
		return -1
	}
	for _, c := range [...]struct {
		topic         int
		lead          int64
		behind        *windows.Source
		behindFetched bool
	}{{outcomesTopic, om - pm, pred, fetched[predictionsTopic]}, {predictionsTopic, pm - om, out, fetched[outcomesTopic]}} {
		limit := slack
		if paused == c.topic {
			limit = slack / 2 // hysteresis: no pause and resume every batch
		}
		if c.lead > limit && c.behindFetched && !c.behind.CaughtUp() {
			return c.topic
		}
	}
	return -1
}

// align pauses and resumes the input topics of the owned partitions after
// a batch (see above). It runs on the loop, between batches.
func (p *Processor) align(cl *kgo.Client) {
	var pause, resume map[string][]int32
	add := func(m *map[string][]int32, ti int, part int32) {
		if *m == nil {
			*m = map[string][]int32{}
		}
		(*m)[p.topics[ti]] = append((*m)[p.topics[ti]], part)
	}
	for part, t := range p.tasks {
		was, ok := p.paused[part]
		if !ok {
			was = -1
		}
		now := pausedTopic(t.part.Source(windows.Predictions), t.part.Source(windows.Outcomes), t.fetched, was, p.slack)
		if now == was {
			continue
		}
		if was >= 0 {
			add(&resume, was, part)
		}
		if now >= 0 {
			add(&pause, now, part)
			p.paused[part] = now
		} else {
			delete(p.paused, part)
		}
	}
	if resume != nil {
		cl.ResumeFetchPartitions(resume)
	}
	if pause != nil {
		cl.PauseFetchPartitions(pause)
	}
}

// resumeAll resumes every paused partition: on an assignment change the
// partitions may belong to someone else, or come back with new state.
func (p *Processor) resumeAll(cl *kgo.Client) {
	if paused := cl.PauseFetchPartitions(nil); len(paused) > 0 {
		cl.ResumeFetchPartitions(paused)
	}
	clear(p.paused)
}
