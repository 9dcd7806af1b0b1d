package consumer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/config"
)

// The topics reckon writes, and their max.message.bytes, which Kafka
// applies to a whole record batch, not to one record:
//
//   - reckon creates every topic it writes with batchBytes (more for the
//     dead-letter and re-key topics if the inputs take more), and its
//     producer sends batches of at most the smallest max.message.bytes of
//     the topics it writes (batchLimit);
//   - a topic that exists must take the largest single record reckon may
//     write to it (minBytes): the dead-letter and re-key topics hold input
//     records byte for byte plus a few headers, so they must take what the
//     input topics take and headerRoom more; the state topic holds records
//     cut into chunks of chunkBytes; the partials and results topics hold a
//     pane or a window of one model, usually a few KiB per feature. A
//     record larger than a topic takes stops the processor (ProduceError)
//     rather than commit past it.
const (
	headerRoom        = 64 << 10
	batchBytes        = 16 << 20
	defaultInputBytes = 1 << 20 // Kafka's default max.message.bytes, about
)

// topicPlan is every topic of a configuration, with how reckon creates it.
type topicPlan struct {
	name     string
	input    bool
	configs  map[string]*string
	minBytes int64 // the largest record it must take
}

func (p *Processor) topicPlans(inputBytes int64) []topicPlan {
	return planTopics(p.cfg, inputBytes)
}

func planTopics(cfg *config.Config, inputBytes int64) []topicPlan {
	size := func(extra ...string) map[string]*string {
		v := strconv.FormatInt(max(batchBytes, inputBytes+headerRoom), 10)
		m := map[string]*string{"max.message.bytes": &v}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = &extra[i+1]
		}
		return m
	}
	g := cfg.Kafka.Group
	return []topicPlan{
		{name: cfg.Kafka.PredictionsTopic, input: true},
		{name: cfg.Kafka.OutcomesTopic, input: true},
		{name: cfg.Kafka.DeadLetterTopic, configs: size(), minBytes: inputBytes + headerRoom},
		{name: g + "-rekey", configs: size(), minBytes: inputBytes + headerRoom},
		{name: cfg.Kafka.ResultsTopic, configs: size(), minBytes: defaultInputBytes},
		{name: g + "-partials", configs: size(), minBytes: defaultInputBytes},
		{name: g + "-state", configs: size("cleanup.policy", "compact"), minBytes: 2 * chunkBytes},
		{name: g + "-join", configs: size("cleanup.policy", "compact"), minBytes: defaultInputBytes},
	}
}

// TopicTooSmallError says a topic reckon writes to refuses records it may
// have to write: a transaction holding one would have to abort.
type TopicTooSmallError struct {
	Topic      string
	MaxBytes   int64 // its max.message.bytes
	NeedsBytes int64
}

func (e *TopicTooSmallError) Error() string {
	return fmt.Sprintf("topic %q accepts records of up to %d bytes (max.message.bytes), but reckon may write records of up to %d to it: raise it (kafka-configs.sh --alter --entity-type topics --entity-name %s --add-config max.message.bytes=%d)",
		e.Topic, e.MaxBytes, e.NeedsBytes, e.Topic, e.NeedsBytes)
}

// prepareTopics checks that the input topics exist and are co-partitioned,
// creates the internal, dead-letter and results topics when missing, and
// checks that every topic reckon writes accepts what it writes.
func (p *Processor) prepareTopics(ctx context.Context, base []kgo.Opt) error {
	cl, err := kgo.NewClient(base...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	if err := p.checkAccess(ctx, cl); err != nil {
		return err
	}
	adm := kadm.NewClient(cl)
	n, err := WaitCopartitioned(ctx, cl, p.topicWait, p.topics[predictionsTopic], p.topics[outcomesTopic])
	if err != nil {
		return err
	}
	if p.set.Partitions != 0 && p.set.Partitions != int(n) {
		return fmt.Errorf("the input topics now have %d partitions, %d when this member started: the partition count must not change under a running group", n, p.set.Partitions)
	}
	inputBytes, err := inputMaxBytes(ctx, adm, p.topics[predictionsTopic], p.topics[outcomesTopic])
	if err != nil {
		return err
	}
	plans := p.topicPlans(inputBytes)
	var names []string
	for _, t := range plans {
		if t.input {
			continue
		}
		if err := EnsureTopics(ctx, adm, n, t.configs, t.name); err != nil {
			return err
		}
		names = append(names, t.name)
	}
	// The internal topics may predate a change of the inputs' partition
	// count.
	if _, err := WaitCopartitioned(ctx, cl, p.topicWait, append(p.topics[:], p.partialsTopic, p.stateTopic, p.joinTopic)...); err != nil {
		return err
	}
	if p.joinRetention, err = deleteRetention(ctx, adm, p.joinTopic); err != nil {
		return err
	}
	if p.batchLimit, err = checkTopicSizes(ctx, adm, plans, names); err != nil {
		return err
	}
	if p.set.Partitions == 0 {
		p.set.SetTopology(int(n), modelPartitions(p.cfg, int(n)))
	}
	return nil
}

// inputMaxBytes is the largest max.message.bytes of the input topics.
func inputMaxBytes(ctx context.Context, adm *kadm.Client, topics ...string) (int64, error) {
	sizes, err := maxMessageBytes(ctx, adm, topics...)
	if err != nil {
		return 0, err
	}
	m := int64(defaultInputBytes)
	for _, s := range sizes {
		m = max(m, s)
	}
	return m, nil
}

// maxMessageBytes describes the topics' max.message.bytes. A topic just
// created may be unknown to the broker asked for a moment (seen on Apache
// Kafka right after `reckon topics create` created it), so an unknown
// topic is asked again for up to DefaultTopicWait.
func maxMessageBytes(ctx context.Context, adm *kadm.Client, topics ...string) (map[string]int64, error) {
	var rcs kadm.ResourceConfigs
	deadline := time.Now().Add(DefaultTopicWait)
	for {
		var err error
		rcs, err = adm.DescribeTopicConfigs(ctx, topics...)
		if err != nil {
			return nil, fmt.Errorf("describing the configuration of %v: %w", topics, err)
		}
		unknown := false
		for _, rc := range rcs {
			unknown = unknown || errors.Is(rc.Err, kerr.UnknownTopicOrPartition)
		}
		if !unknown || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	out := map[string]int64{}
	for _, rc := range rcs {
		if rc.Err != nil {
			return nil, fmt.Errorf("describing the configuration of topic %q: %w", rc.Name, rc.Err)
		}
		for _, c := range rc.Configs {
			if c.Key == "max.message.bytes" && c.Value != nil {
				v, err := strconv.ParseInt(*c.Value, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("topic %q: max.message.bytes %q: %w", rc.Name, *c.Value, err)
				}
				out[rc.Name] = v
			}
		}
	}
	return out, nil
}

// checkTopicSizes refuses a topic reckon writes to that would refuse a
// record it writes (a topic created before, by an operator or an earlier
// reckon), and returns the largest batch every one of them takes.
func checkTopicSizes(ctx context.Context, adm *kadm.Client, plans []topicPlan, names []string) (int64, error) {
	sizes, err := maxMessageBytes(ctx, adm, names...)
	if err != nil {
		return 0, err
	}
	limit := int64(batchBytes)
	for _, t := range plans {
		got, ok := sizes[t.name]
		if !ok || t.input {
			continue
		}
		if got < t.minBytes {
			return 0, &TopicTooSmallError{Topic: t.name, MaxBytes: got, NeedsBytes: t.minBytes}
		}
		limit = min(limit, got)
	}
	return limit, nil
}

// CreateTopics creates the topics of cfg as `reckon run` would, for
// `reckon topics create`: the input topics with partitions partitions
// when missing (existing ones must be co-partitioned; partitions 0 takes
// their count), then the output and internal topics. It reports what it
// created, and nothing else is changed.
func CreateTopics(ctx context.Context, cfg *config.Config, partitions int32) (created []string, err error) {
	base, err := ClientOpts(&cfg.Kafka)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(base...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	inputs := []string{cfg.Kafka.PredictionsTopic, cfg.Kafka.OutcomesTopic}
	n, err := CheckCopartitioned(ctx, cl, inputs...)
	var missing *MissingTopicError
	switch {
	case errors.As(err, &missing):
		if partitions <= 0 {
			return nil, fmt.Errorf("%w; give --partitions to create it", err)
		}
		n = partitions
		before, _ := adm.ListTopics(ctx, inputs...)
		if err := EnsureTopics(ctx, adm, n, nil, inputs...); err != nil {
			return nil, err
		}
		for _, t := range inputs {
			if !before.Has(t) {
				created = append(created, t)
			}
		}
		if n, err = WaitCopartitioned(ctx, cl, DefaultTopicWait, inputs...); err != nil {
			return created, err
		}
	case err != nil:
		return nil, err
	case partitions > 0 && partitions != n:
		return nil, fmt.Errorf("the input topics exist with %d partitions, not %d", n, partitions)
	}
	inputBytes, err := inputMaxBytes(ctx, adm, inputs...)
	if err != nil {
		return created, err
	}
	plans := planTopics(cfg, inputBytes)
	var names []string
	for _, t := range plans {
		if !t.input {
			names = append(names, t.name)
		}
	}
	before, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return created, fmt.Errorf("listing topics: %w", err)
	}
	for _, t := range plans {
		if t.input {
			continue
		}
		if err := EnsureTopics(ctx, adm, n, t.configs, t.name); err != nil {
			return created, err
		}
		if !before.Has(t.name) {
			created = append(created, t.name)
		}
	}
	_, err = checkTopicSizes(ctx, adm, plans, names)
	return created, err
}

// endOffsets lists the last stable offsets of the topics' partitions: the
// end of what a read_committed consumer can read now.
func endOffsets(ctx context.Context, base []kgo.Opt, topics ...string) (map[topicPartition]int64, error) {
	cl, err := kgo.NewClient(base...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	offs, err := kadm.NewClient(cl).ListCommittedOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing the end offsets of %v: %w", topics, err)
	}
	out := map[topicPartition]int64{}
	for ti, t := range topics {
		for part, o := range offs[t] {
			if o.Err != nil {
				return nil, fmt.Errorf("end offset of %s/%d: %w", t, part, o.Err)
			}
			out[topicPartition{ti, part}] = o.Offset
		}
	}
	return out, nil
}

// deleteRetention is topic's delete.retention.ms: how long compaction keeps
// its tombstones.
func deleteRetention(ctx context.Context, adm *kadm.Client, topic string) (time.Duration, error) {
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("describing the configuration of %s: %w", topic, err)
	}
	for _, rc := range rcs {
		if rc.Err != nil {
			return 0, fmt.Errorf("describing the configuration of %s: %w", topic, rc.Err)
		}
		for _, c := range rc.Configs {
			if c.Key == "delete.retention.ms" && c.Value != nil {
				ms, err := strconv.ParseInt(*c.Value, 10, 64)
				if err != nil {
					return 0, fmt.Errorf("%s: delete.retention.ms %q: %w", topic, *c.Value, err)
				}
				return time.Duration(ms) * time.Millisecond, nil
			}
		}
	}
	return 24 * time.Hour, nil // Kafka's default
}
