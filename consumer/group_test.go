package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/exporter"
	"github.com/reckonhq/reckon/internal/shapes"
	"github.com/reckonhq/reckon/results"
)

// kgroup is a consumer group of real processors on an embedded Kafka, with
// wall-clock idleness on a clock of the test's (WithClock), for tests of
// event time: a pause "well above idle_timeout" is one for sure, however
// loaded the machine, because the clock moves only once the group has read
// and committed what was produced.
type kgroup struct {
	ctx        context.Context
	c          *kfake.Cluster
	cfg        *config.Config
	clock      *testClock
	partitions int
	prod       *kgo.Client
	adm        *kadm.Client
	opts       []Option
	running    []*member
	stopped    []*member
}

type member struct {
	p      *Processor
	m      *exporter.Metrics
	cancel context.CancelFunc
	done   chan error
}

// testClock is a wall clock that moves only when told.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *testClock) add(d time.Duration) { c.ns.Add(int64(d)) }

// newKGroup starts an embedded Kafka with predictions and outcomes of
// partitions partitions (plus seed, more kfake options) for the
// configuration yaml (without its kafka block). Close it.
func newKGroup(ctx context.Context, yaml, group string, partitions int32, seed ...kfake.Opt) (*kgroup, error) {
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.SeedTopics(partitions, "predictions", "outcomes")}, seed...)...)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		c.Close()
		return nil, err
	}
	cfg.Kafka.Brokers = c.ListenAddrs()
	cfg.Kafka.Group = group
	cfg.StateDir = "" // a temporary directory per member
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchMaxBytes(16<<20))
	if err != nil {
		c.Close()
		return nil, err
	}
	g := &kgroup{ctx: ctx, c: c, cfg: cfg, clock: new(testClock), partitions: int(partitions), prod: prod, adm: kadm.NewClient(prod)}
	g.clock.ns.Store(time.Unix(1_000_000, 0).UnixNano())
	return g, nil
}

// close stops every member and the cluster.
func (g *kgroup) close() {
	for len(g.running) > 0 {
		g.stop()
	}
	g.prod.Close()
	g.c.Close()
}

// start adds a member.
func (g *kgroup) start(opts ...Option) *member {
	m := exporter.New(prometheus.NewRegistry(), "test", 0)
	mctx, mcancel := context.WithCancel(g.ctx)
	mc := *g.cfg
	mc.Listen = fmt.Sprintf("member-%d", len(g.running)+len(g.stopped))
	p := New(&mc, m, append([]Option{WithClock(g.clock.now), WithPollInterval(20 * time.Millisecond), WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	mem := &member{p: p, m: m, cancel: mcancel, done: make(chan error, 1)}
	go func() { mem.done <- p.Run(mctx) }()
	g.running = append(g.running, mem)
	return mem
}

// stop stops the newest member; it commits what it did and leaves.
func (g *kgroup) stop() error {
	mem := g.running[len(g.running)-1]
	g.running = g.running[:len(g.running)-1]
	mem.cancel()
	g.stopped = append(g.stopped, mem)
	return <-mem.done
}

// exited waits for mem's Run to return by itself (or ctx to end), moves it
// to the stopped members and returns what Run returned.
func (g *kgroup) exited(mem *member) error {
	var err error
	select {
	case err = <-mem.done:
	case <-g.ctx.Done():
		return fmt.Errorf("the member did not stop: %w", g.ctx.Err())
	}
	for i, m := range g.running {
		if m == mem {
			g.running = append(g.running[:i], g.running[i+1:]...)
		}
	}
	mem.cancel()
	g.stopped = append(g.stopped, mem)
	return err
}

// produce writes records to the partitions they name.
func (g *kgroup) produce(recs ...*kgo.Record) error {
	return g.prod.ProduceSync(g.ctx, recs...).FirstErr()
}

// produceShape writes shape records.
func (g *kgroup) produceShape(recs []shapes.Record) error {
	var krs []*kgo.Record
	for _, r := range recs {
		topic := "predictions"
		if r.Topic == shapes.Outcomes {
			topic = "outcomes"
		}
		krs = append(krs, &kgo.Record{Topic: topic, Partition: r.Partition, Key: r.Key, Value: r.Value})
	}
	return g.produce(krs...)
}

// pause is a long pause: once the group has read and committed everything
// produced, time passes by d, and the group settles with its watermark at
// least wm (Unset: any).
func (g *kgroup) pause(d time.Duration, wm int64) error {
	if err := waitRead(g.ctx, g.adm, g.cfg.Kafka.Group, "predictions", "outcomes"); err != nil {
		return err
	}
	g.clock.add(d)
	var ps []*Processor
	for _, mem := range g.running {
		ps = append(ps, mem.p)
	}
	return waitSettled(g.ctx, ps, g.partitions, g.clock, g.cfg.IdleTimeout, wm)
}

// results reads every committed record of the results topic.
func (g *kgroup) results() (map[shapes.WindowKey][]*results.Record, error) {
	return readResults(g.ctx, g.c.ListenAddrs(), g.cfg.Kafka.ResultsTopic)
}

// waitSettled waits until the members have settled after a long pause:
// every partition idle and reported so, every partition's and every
// aggregation's watermark at least wm, and a transaction committed since,
// so that all of it is committed. The pause goes on meanwhile: the clock
// moves on by idle every so often, since a rebalance that ends during the
// pause makes its partitions active again for idle_timeout.
func waitSettled(ctx context.Context, ps []*Processor, partitions int, clock *testClock, idle time.Duration, wm int64) error {
	settled := func() (bool, []uint64) {
		var commits []uint64
		// Every partition owned, once: a group in the middle of a
		// rebalance owns nothing and must not look settled.
		owned, aggs := map[int32]int{}, map[int32]int{}
		for _, p := range ps {
			p.mu.Lock()
			for part := range p.tasks {
				owned[part]++
			}
			for part := range p.aggs {
				aggs[part]++
			}
			p.mu.Unlock()
		}
		if len(owned) != partitions || len(aggs) != partitions {
			return false, nil
		}
		for part := range owned {
			if owned[part] != 1 || aggs[part] != 1 {
				return false, nil
			}
		}
		for _, p := range ps {
			p.mu.Lock()
			ok := true
			for _, t := range p.tasks {
				pr, sent := t.part.Reported()
				ok = ok && sent && pr.Idle && pr.Watermark >= wm && t.part.Watermark() >= wm
			}
			for _, a := range p.aggs {
				ok = ok && a.Watermark() >= wm
			}
			p.mu.Unlock()
			if !ok {
				return false, nil
			}
			commits = append(commits, p.commits.Load())
		}
		return true, commits
	}
	for i := 1; ; i++ {
		if i%5 == 0 {
			clock.add(idle)
		}
		if ok, at := settled(); ok {
			for i, p := range ps {
				for p.commits.Load() <= at[i] {
					if err := sleep(ctx, 10*time.Millisecond); err != nil {
						return fmt.Errorf("waiting for a commit: %w", err)
					}
				}
			}
			return nil
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return fmt.Errorf("waiting for the group to settle at %v: %w (%s)", time.UnixMilli(wm).UTC(), err, describe(ps))
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// waitRead waits until group has committed offsets at the end of every
// partition of topics.
func waitRead(ctx context.Context, adm *kadm.Client, group string, topics ...string) error {
	for {
		if err := sleep(ctx, 30*time.Millisecond); err != nil {
			return fmt.Errorf("waiting for group %s to read %v: %w", group, topics, err)
		}
		ends, err := adm.ListEndOffsets(ctx, topics...)
		if err != nil {
			return err
		}
		committed, err := adm.FetchOffsets(ctx, group)
		if errors.Is(err, kerr.GroupIDNotFound) {
			continue // no member has joined yet
		}
		if err != nil {
			return err
		}
		behind := false
		ends.Each(func(o kadm.ListedOffset) {
			c, ok := committed.Lookup(o.Topic, o.Partition)
			if o.Offset > 0 && (!ok || c.At < o.Offset) {
				behind = true
			}
		})
		if !behind {
			return nil
		}
	}
}

// readResults reads every committed record of the results topic.
func readResults(ctx context.Context, brokers []string, topic string) (map[shapes.WindowKey][]*results.Record, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { want[o.Partition] = o.Offset })
	out := map[shapes.WindowKey][]*results.Record{}
	seen := map[int32]int64{}
	done := func() bool {
		for p, end := range want {
			if end > 0 && seen[p] < end {
				return false
			}
		}
		return true
	}
	for !done() {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if fs.NumRecords() == 0 {
			break // the rest are transaction markers
		}
		var rerr error
		fs.EachRecord(func(r *kgo.Record) {
			seen[r.Partition] = r.Offset + 1
			rec, err := results.Unmarshal(r.Value)
			if err != nil {
				rerr = err
				return
			}
			k := shapes.WindowKey{Model: rec.Model, Window: rec.Window, Start: rec.Start.UTC()}
			out[k] = append(out[k], rec)
		})
		if rerr != nil {
			return nil, rerr
		}
	}
	return out, nil
}

// describe is what the members know, for a failure message.
func describe(ps []*Processor) string {
	var b strings.Builder
	for i, p := range ps {
		p.mu.Lock()
		fmt.Fprintf(&b, "member %d:", i)
		for part, t := range p.tasks {
			pr, sent := t.part.Reported()
			fmt.Fprintf(&b, " partition %d wm %d reported %+v (sent %v) idle %v;", part, t.part.Watermark(), pr, sent, t.part.Idle(p.now()))
		}
		for part, a := range p.aggs {
			fmt.Fprintf(&b, " aggregation %d wm %d;", part, a.Watermark())
		}
		p.mu.Unlock()
	}
	return b.String()
}
