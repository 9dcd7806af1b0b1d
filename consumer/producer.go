package consumer

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Producer sends keyed records with Kafka's default partitioner (murmur2 of
// the key, as the Java client), which is what co-partitioning relies on.
// It is what `reckon simulate` and the tests use to publish traffic.
type Producer struct {
	cl   *kgo.Client
	sent atomic.Int64
	err  atomic.Pointer[error]
}

// NewProducer connects to brokers.
func NewProducer(brokers []string, opts ...kgo.Opt) (*Producer, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ProducerLinger(5e6), // 5ms: batch the simulator's bursts
	}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	return &Producer{cl: cl}, nil
}

// Send queues one record; failures surface from Flush.
func (p *Producer) Send(ctx context.Context, topic string, key, value []byte) {
	p.cl.Produce(ctx, &kgo.Record{Topic: topic, Key: key, Value: value}, func(_ *kgo.Record, err error) {
		if err != nil {
			p.err.CompareAndSwap(nil, &err)
			return
		}
		p.sent.Add(1)
	})
}

// Flush waits for every queued record and returns the first failure.
func (p *Producer) Flush(ctx context.Context) error {
	if err := p.cl.Flush(ctx); err != nil {
		return err
	}
	if e := p.err.Load(); e != nil {
		return *e
	}
	return nil
}

// Sent is the number of records acknowledged so far.
func (p *Producer) Sent() int64 { return p.sent.Load() }

// Close flushes nothing; call Flush first.
func (p *Producer) Close() { p.cl.Close() }
