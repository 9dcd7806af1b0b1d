package consumer

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/exporter"
	"github.com/reckonhq/reckon/internal/shapes"
	"github.com/reckonhq/reckon/windows/perf"
)

// TestTrafficShapesKfake plays generated traffic shapes (internal/shapes)
// through real processors on an embedded Kafka (kfake), members joining and
// leaving between segments, and compares every results-topic record and
// every counter with the independent model of docs/semantics.md. Wall-clock
// idleness runs on a clock of the test's (WithClock), so that a pause "well
// above idle_timeout" is one for sure, however loaded the machine: the test
// waits until the group has read and committed everything before it moves
// the clock past idle_timeout. RECKON_SHAPES sets the number of seeds
// (default 200; 20 with -short), RECKON_SHAPE_SEED runs one seed.
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
	first := uint64(0)
	if s := os.Getenv("RECKON_SHAPE_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("RECKON_SHAPE_SEED=%q: %v", s, err)
		}
		first, seeds = n, 1
	}
	for seed := first; seed < first+uint64(seeds); seed++ {
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

func murmur2Partition(n int) func([]byte) int32 {
	p := kgo.StickyKeyPartitioner(nil).ForTopic("")
	return func(key []byte) int32 { return int32(p.Partition(&kgo.Record{Key: key}, n)) }
}

// playShape runs one seed's shape and checks it.
func playShape(seed uint64) error {
	parts := 1 + int(seed%4)
	return playShapeWith(seed, shapes.Defaults(parts, murmur2Partition(parts)), parts)
}

// playShapeWith is playShape with options o over parts partitions.
func playShapeWith(seed uint64, o shapes.Options, parts int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sh := shapes.Generate(seed, o)
	ex := shapes.Model(sh)
	g, err := newKGroup(ctx, o.Config()+"commit_interval: 20ms\n", fmt.Sprintf("shapes-%d", seed), int32(parts))
	if err != nil {
		return err
	}
	defer g.close()
	for si, seg := range sh.Segments {
		for len(g.running) < seg.Members {
			g.start()
		}
		for len(g.running) > seg.Members {
			if err := g.stop(); err != nil {
				return fmt.Errorf("segment %d: a member stopped with %w", si, err)
			}
		}
		for _, b := range seg.Bursts {
			if err := g.produceShape(b.Records); err != nil {
				return err
			}
			if b.Pause < o.IdleTimeout {
				g.clock.add(b.Pause)
				continue
			}
			if err := g.pause(b.Pause, ex.Settled[si]); err != nil {
				return fmt.Errorf("segment %d: %w", si, err)
			}
		}
	}
	for len(g.running) > 0 {
		if err := g.stop(); err != nil {
			return fmt.Errorf("a member stopped with %w", err)
		}
	}
	got, err := g.results()
	if err != nil {
		return err
	}
	counts := map[string]*shapes.Counters{}
	var dead uint64
	for _, name := range o.Models {
		counts[name] = new(shapes.Counters)
	}
	for _, mem := range g.stopped {
		dead += sumCounters(mem.m, counts, o.Models)
	}
	return shapes.Check(ex, got, counts, dead)
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

// TestLongLabelDelaysKfake is TestTrafficShapesKfake with labels up to
// about 30 days (event time) after their predictions, a 45-day label_ttl
// and windows of an hour and a day: every results record and counter
// equals the model's, expiries included, across members joining and
// leaving.
func TestLongLabelDelaysKfake(t *testing.T) {
	seeds := 20
	if testing.Short() {
		seeds = 4
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for seed := range uint64(seeds) {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			parts := 1 + int(seed%3)
			if err := playShapeWith(seed, shapes.LongDelays(parts, murmur2Partition(parts)), parts); err != nil {
				t.Errorf("seed %d: %v", seed, err)
			}
		})
	}
	wg.Wait()
}
