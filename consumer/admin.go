package consumer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// MissingTopicError says an input topic does not exist.
type MissingTopicError struct{ Topic string }

func (e *MissingTopicError) Error() string {
	return fmt.Sprintf("input topic %q does not exist: create it (predictions and outcomes with the same partition count) before starting reckon", e.Topic)
}

// CheckCopartitioned returns the common partition count of topics, or a
// *MissingTopicError or *NotCopartitionedError. It asks a broker afresh
// rather than through the client's metadata cache (kadm's reads go through
// it): a topic seen missing would stay missing in the cache for
// MetadataMinAge, however often one asked.
func CheckCopartitioned(ctx context.Context, cl *kgo.Client, topics ...string) (int32, error) {
	req := kmsg.NewPtrMetadataRequest()
	// Asking must not create: a broker with auto.create.topics.enable would
	// otherwise make a mistyped input topic with its default partitions.
	req.AllowAutoTopicCreation = false
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, fmt.Errorf("reading metadata of %v: %w", topics, err)
	}
	byName := make(map[string]*kmsg.MetadataResponseTopic, len(resp.Topics))
	for i, t := range resp.Topics {
		if t.Topic != nil {
			byName[*t.Topic] = &resp.Topics[i]
		}
	}
	counts := make(map[string]int32, len(topics))
	var n int32 = -1
	mismatch := false
	for _, t := range topics {
		d, ok := byName[t]
		var err error
		if ok {
			err = kerr.ErrorForCode(d.ErrorCode)
		}
		if !ok || errors.Is(err, kerr.UnknownTopicOrPartition) {
			return 0, &MissingTopicError{Topic: t}
		}
		if err != nil {
			return 0, fmt.Errorf("describing topic %q: %w", t, err)
		}
		c := int32(len(d.Partitions))
		counts[t] = c
		if n >= 0 && c != n {
			mismatch = true
		}
		n = c
	}
	if mismatch {
		return 0, &NotCopartitionedError{Partitions: counts}
	}
	return n, nil
}

// DefaultTopicWait is how long start-up waits for a missing topic to appear.
// A topic just created is known to the controller before every broker's
// metadata shows it, so a member started right after its topics were created
// (by a deployment script, a test, or reckon itself for the internal topics)
// can see it missing for a moment; a topic still missing after this long is
// a configuration error.
const DefaultTopicWait = 10 * time.Second

// WaitCopartitioned is CheckCopartitioned, retried with backoff while a topic
// is missing, for at most wait. Any other outcome is returned at once.
func WaitCopartitioned(ctx context.Context, cl *kgo.Client, wait time.Duration, topics ...string) (int32, error) {
	deadline := time.Now().Add(wait)
	for backoff := 50 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
		n, err := CheckCopartitioned(ctx, cl, topics...)
		var missing *MissingTopicError
		left := time.Until(deadline)
		if !errors.As(err, &missing) || left <= 0 {
			return n, err
		}
		t := time.NewTimer(min(backoff, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
	}
}

// EnsureTopics creates the topics that do not exist yet, with the given
// partition count and configs and the broker's default replication factor.
// It asks which exist first and creates only the others: an authorizer
// refuses CreateTopics for a topic the principal may not create even when
// the topic exists, and a least-privilege principal may create none
// (docs/security.md).
func EnsureTopics(ctx context.Context, adm *kadm.Client, partitions int32, configs map[string]*string, topics ...string) error {
	// WithAuthorizedOps makes kadm ask a broker afresh, not its cache.
	meta, err := adm.Metadata(kadm.WithAuthorizedOps(ctx), topics...)
	if err != nil {
		return fmt.Errorf("reading metadata of %v: %w", topics, err)
	}
	var missing []string
	for _, t := range topics {
		if d, ok := meta.Topics[t]; !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	resp, err := adm.CreateTopics(ctx, partitions, -1, configs, missing...)
	if err != nil {
		return fmt.Errorf("creating topics %v: %w", topics, err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("creating topic %q: %w", r.Topic, r.Err)
		}
	}
	return nil
}
