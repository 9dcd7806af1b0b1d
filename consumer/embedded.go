package consumer

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Embedded is an in-process Kafka (franz-go's kfake) for `reckon demo` and
// fast local tests. It speaks the Kafka protocol on loopback, so reckon
// talks to it exactly as to a real broker; it is not a substitute for one
// in CI.
type Embedded struct {
	c *kfake.Cluster
}

// NewEmbedded starts an embedded cluster of one broker on a free loopback
// port (or the given port when non-zero).
func NewEmbedded(port int) (*Embedded, error) {
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if port != 0 {
		opts = append(opts, kfake.Ports(port))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("starting embedded kafka: %w", err)
	}
	return &Embedded{c: c}, nil
}

// Brokers are the addresses to bootstrap from.
func (e *Embedded) Brokers() []string { return e.c.ListenAddrs() }

// Close stops the cluster.
func (e *Embedded) Close() { e.c.Close() }

// CreateTopicsOn creates topics with the given partition count on brokers,
// ignoring topics that exist already.
func CreateTopicsOn(ctx context.Context, brokers []string, partitions int32, topics ...string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return err
	}
	defer cl.Close()
	return EnsureTopics(ctx, kadm.NewClient(cl), partitions, nil, topics...)
}
