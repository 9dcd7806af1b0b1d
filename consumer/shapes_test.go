package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/exporter"
	"github.com/reckonhq/reckon/internal/shapes"
	"github.com/reckonhq/reckon/results"
	"github.com/reckonhq/reckon/windows/perf"
)

// TestTrafficShapesKfake plays generated traffic shapes (internal/shapes)
// through real processors on an embedded Kafka (kfake), members joining and
// leaving between segments, and compares every results-topic record and
// every counter with the independent model of DESIGN.md §2. Wall-clock
// idleness runs on a clock of the test's (WithClock), so that a pause "well
// above idle_timeout" is one for sure, however loaded the machine: the test
// waits until the group has read and committed everything before it moves
// the clock past idle_timeout. RECKON_SHAPES sets the number of seeds
// (default 200; 20 with -short).
func TestTrafficShapesKfake(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 20
	}
	if s := os.Getenv("RECKON_SHAPES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("RECKON_SHAPES=%q: %v", s, err)
		}
		seeds = n
	}
	const parallel = 16
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for seed := range uint64(seeds) {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := playShape(seed); err != nil {
				t.Errorf("seed %d: %v", seed, err)
			}
		})
	}
	wg.Wait()
}

// testClock is a wall clock that moves only when told.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *testClock) add(d time.Duration) { c.ns.Add(int64(d)) }

func murmur2Partition(n int) func([]byte) int32 {
	p := kgo.StickyKeyPartitioner(nil).ForTopic("")
	return func(key []byte) int32 { return int32(p.Partition(&kgo.Record{Key: key}, n)) }
}

// playShape runs one seed's shape and checks it.
func playShape(seed uint64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	parts := 1 + int(seed%4)
	o := shapes.Defaults(parts, murmur2Partition(parts))
	sh := shapes.Generate(seed, o)
	c, err := kfake.NewCluster(kfake.SeedTopics(int32(parts), "predictions", "outcomes"))
	if err != nil {
		return err
	}
	defer c.Close()
	cfg, err := config.Parse("shapes.yaml", []byte(o.Config()+"commit_interval: 20ms\n"))
	if err != nil {
		return err
	}
	cfg.Kafka.Brokers = c.ListenAddrs()
	cfg.Kafka.Group = fmt.Sprintf("shapes-%d", seed)

	clock := new(testClock)
	clock.ns.Store(time.Unix(1_000_000, 0).UnixNano())
	ex := shapes.Model(sh)
	type member struct {
		p      *Processor
		m      *exporter.Metrics
		cancel context.CancelFunc
		done   chan error
	}
	var running, stopped []*member
	start := func() {
		m := exporter.New(prometheus.NewRegistry(), "test", 0)
		mctx, mcancel := context.WithCancel(ctx)
		mc := *cfg
		mc.Listen = fmt.Sprintf("member-%d", len(running)+len(stopped))
		p := New(&mc, m, WithClock(clock.now), WithPollInterval(20*time.Millisecond), WithLogger(slog.New(slog.DiscardHandler)))
		mem := &member{p: p, m: m, cancel: mcancel, done: make(chan error, 1)}
		go func() { mem.done <- p.Run(mctx) }()
		running = append(running, mem)
	}
	stop := func() error {
		mem := running[len(running)-1]
		running = running[:len(running)-1]
		mem.cancel()
		stopped = append(stopped, mem)
		return <-mem.done
	}
	defer func() {
		for len(running) > 0 {
			stop()
		}
	}()

	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer prod.Close()
	adm := kadm.NewClient(prod)

	for si, seg := range sh.Segments {
		for len(running) < seg.Members {
			start()
		}
		for len(running) > seg.Members {
			if err := stop(); err != nil {
				return fmt.Errorf("segment %d: a member stopped with %w", si, err)
			}
		}
		for _, b := range seg.Bursts {
			var recs []*kgo.Record
			for _, r := range b.Records {
				topic := "predictions"
				if r.Topic == shapes.Outcomes {
					topic = "outcomes"
				}
				recs = append(recs, &kgo.Record{Topic: topic, Partition: r.Partition, Key: r.Key, Value: r.Value})
			}
			if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				return err
			}
			if b.Pause < o.IdleTimeout {
				clock.add(b.Pause)
				continue
			}
			// A long pause: once the group has read everything, time
			// passes, and the group settles where the model says.
			if err := waitRead(ctx, adm, cfg.Kafka.Group, "predictions", "outcomes"); err != nil {
				return fmt.Errorf("segment %d: %w", si, err)
			}
			clock.add(b.Pause)
			var ps []*Processor
			for _, mem := range running {
				ps = append(ps, mem.p)
			}
			if err := waitSettled(ctx, ps, clock, o.IdleTimeout, ex.Settled[si]); err != nil {
				return fmt.Errorf("segment %d: %w", si, err)
			}
		}
	}
	for len(running) > 0 {
		if err := stop(); err != nil {
			return fmt.Errorf("a member stopped with %w", err)
		}
	}
	got, err := readResults(ctx, c.ListenAddrs(), cfg.Kafka.ResultsTopic)
	if err != nil {
		return err
	}
	counts := map[string]*shapes.Counters{}
	var dead uint64
	for _, name := range o.Models {
		counts[name] = new(shapes.Counters)
	}
	for _, mem := range stopped {
		dead += sumCounters(mem.m, counts, o.Models)
	}
	return shapes.Check(ex, got, counts, dead)
}

// waitSettled waits until the members have settled after a long pause:
// every partition idle and reported so, every partition's and every
// aggregation's watermark at least wm, and a transaction committed since,
// so that all of it is committed. The pause goes on meanwhile: the clock
// moves on by idle every so often, since a rebalance that ends during the
// pause makes its partitions active again for idle_timeout.
func waitSettled(ctx context.Context, ps []*Processor, clock *testClock, idle time.Duration, wm int64) error {
	settled := func() (bool, []uint64) {
		var commits []uint64
		for _, p := range ps {
			p.mu.Lock()
			ok := len(p.tasks) > 0 || len(ps) > 1
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
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for group %s to read %v: %w", group, topics, ctx.Err())
		case <-time.After(30 * time.Millisecond):
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

// sumCounters adds a member's counters to counts and returns its dead
// letters.
func sumCounters(m *exporter.Metrics, counts map[string]*shapes.Counters, models []string) uint64 {
	get := func(c prometheus.Collector) uint64 { return uint64(testutil.ToFloat64(c)) }
	for _, name := range models {
		k := counts[name]
		k.PredictionsOK += sumOver(m.Predictions, map[string]string{"model": name, "status": "ok"})
		k.PredictionsError += sumOver(m.Predictions, map[string]string{"model": name, "status": "error"})
		k.Late += get(m.LateEvents.WithLabelValues(name))
		k.Joined += get(m.Outcomes.WithLabelValues(name, "joined"))
		k.DuplicateOutcomes += get(m.Outcomes.WithLabelValues(name, "duplicate"))
		k.Orphaned += get(m.Outcomes.WithLabelValues(name, "orphaned"))
		k.Expired += get(m.Expired.WithLabelValues(name))
		k.DuplicatePredictions += get(m.DuplicatePredictions.WithLabelValues(name))
		k.TP += get(m.Confusion.WithLabelValues(name, perf.CellTP.String()))
		k.FP += get(m.Confusion.WithLabelValues(name, perf.CellFP.String()))
		k.TN += get(m.Confusion.WithLabelValues(name, perf.CellTN.String()))
		k.FN += get(m.Confusion.WithLabelValues(name, perf.CellFN.String()))
	}
	var dead uint64
	for _, r := range event.Reasons() {
		dead += get(m.DeadLetters.WithLabelValues("predictions", r.String()))
		dead += get(m.DeadLetters.WithLabelValues("outcomes", r.String()))
	}
	return dead
}

// sumOver sums the series of a counter vector whose labels match.
func sumOver(v *prometheus.CounterVec, match map[string]string) uint64 {
	ch := make(chan prometheus.Metric, 64)
	go func() { v.Collect(ch); close(ch) }()
	var sum float64
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			continue
		}
		ok := true
		for _, lp := range pb.GetLabel() {
			if want, in := match[lp.GetName()]; in && want != lp.GetValue() {
				ok = false
			}
		}
		if ok {
			sum += pb.GetCounter().GetValue()
		}
	}
	return uint64(sum)
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
