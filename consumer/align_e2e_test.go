package consumer

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/exporter"
	"github.com/reckonhq/reckon/simulate"
)

// TestCatchUpReadsTopicsInStep runs the processor over a backlog (2
// partitions, 60,000 records, small fetches so that it takes many batches)
// in which the outcomes topic, with fewer and smaller records, covers far
// more event time per fetch than the predictions topic, and records how
// many ids the join holds after each batch. Read in step, it holds about
// what label_ttl implies; read as Kafka fetches them (alignment off), the
// outcomes run ahead and wait in the join for their predictions.
func TestCatchUpReadsTopicsInStep(t *testing.T) {
	if testing.Short() {
		t.Skip("processes a backlog of 60,000 records twice")
	}
	o := simulate.Bench()
	o.Models, o.EventRate = simulate.Fleet(1, 4), 20 // 5,000 s of event time
	peak := func(aligned bool) (held int, consumed float64) {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "predictions", "outcomes"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cfg, err := simulate.Config(o, false)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Kafka.Brokers = c.ListenAddrs()
		cfg.StateDir = ""
		cfg.LabelTTL = 2 * time.Minute // the join's own state small beside what waits
		cfg.Kafka.PredictionsTopic, cfg.Kafka.OutcomesTopic = "predictions", "outcomes"
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.MaxBufferedRecords(200_000), kgo.ProducerBatchMaxBytes(16<<10))
		if err != nil {
			t.Fatal(err)
		}
		g := simulate.New(o)
		const total = 60_000
		for range total {
			var r simulate.Record
			g.Next(&r)
			topic := "predictions"
			if r.Topic == simulate.Outcomes {
				topic = "outcomes"
			}
			cl.Produce(context.Background(), &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value}, nil)
		}
		if err := cl.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		cl.Close()

		met := exporter.New(prometheus.NewRegistry(), "test", 0)
		// Small fetches, so that the backlog takes many batches, as a
		// large one does with the default sizes.
		p := New(cfg, met, WithClientOpts(kgo.FetchMaxPartitionBytes(32<<10)))
		if !aligned {
			p.slack = math.MaxInt64
		}
		p.afterBatch = func(p *Processor) {
			n := 0
			for _, t := range p.tasks {
				n += t.part.Held()
			}
			held = max(held, n)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		deadline := time.Now().Add(60 * time.Second)
		for consumed < total && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			consumed = testutil.ToFloat64(met.RecordsConsumed.WithLabelValues("predictions")) +
				testutil.ToFloat64(met.RecordsConsumed.WithLabelValues("outcomes"))
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if consumed != total {
			t.Fatalf("consumed %v of %d records", consumed, total)
		}
		return held, consumed
	}
	inStep, _ := peak(true)
	apart, _ := peak(false)
	t.Logf("peak ids held in the join: %d read in step, %d as fetched", inStep, apart)
	if inStep*2 > apart {
		t.Errorf("read in step the join held up to %d ids, as fetched %d: want less than half", inStep, apart)
	}
}
