package consumer

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// MissingTopicError says an input topic does not exist.
type MissingTopicError struct{ Topic string }

func (e *MissingTopicError) Error() string {
	return fmt.Sprintf("input topic %q does not exist: create it (predictions and outcomes with the same partition count) before starting reckon", e.Topic)
}

// CheckCopartitioned returns the common partition count of topics, or a
// *MissingTopicError or *NotCopartitionedError.
func CheckCopartitioned(ctx context.Context, adm *kadm.Client, topics ...string) (int32, error) {
	details, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return 0, fmt.Errorf("listing topics: %w", err)
	}
	counts := make(map[string]int32, len(topics))
	var n int32 = -1
	mismatch := false
	for _, t := range topics {
		d, ok := details[t]
		if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			return 0, &MissingTopicError{Topic: t}
		}
		if d.Err != nil {
			return 0, fmt.Errorf("describing topic %q: %w", t, d.Err)
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

// EnsureTopics creates the topics that do not exist yet, with the given
// partition count and configs and the broker's default replication factor.
func EnsureTopics(ctx context.Context, adm *kadm.Client, partitions int32, configs map[string]*string, topics ...string) error {
	resp, err := adm.CreateTopics(ctx, partitions, -1, configs, topics...)
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
