package integration

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/consumer"
	"github.com/reckonhq/reckon/internal/shapes"
	"github.com/reckonhq/reckon/results"
	"github.com/reckonhq/reckon/windows"
)

// shapesIdle is idle_timeout of TestTrafficShapes. The generator makes
// every short pause at most a tenth of it and every long pause three times
// it, in real time here.
const shapesIdle = 2 * time.Second

// shapesParallel is how many shapes TestTrafficShapes plays at once, each
// with its own topics, group and up to three reckon processes. The shapes
// spend most of their time waiting in long pauses, so this many fit on two
// cores.
const shapesParallel = 10

// shapesSettleTimeout bounds each long pause: how long the group may take
// to settle where the model says (rebalances included) before the test
// fails.
const shapesSettleTimeout = time.Minute

// TestTrafficShapes plays generated traffic shapes (internal/shapes) through
// reckon processes in real time, against the suite's Kafka, and compares
// every results-topic record and every counter with the independent model
// of docs/semantics.md, as TestTrafficShapesKfake (consumer/) does in-process
// with a fake clock. Here idleness is the real wall clock: idle_timeout is
// shapesIdle, short pauses are really short, long pauses really long, and
// the group grows and shrinks between segments as Segment.Members says
// (each member a `reckon run` process).
//
// Members are dynamic (no --instance-id): a segment's member count is the
// group scaled for good, and a dynamic member that stops leaves the group
// at once, so its partitions move to the others in the rebalance that
// follows. A static member would keep them, unprocessed, until its session
// timed out, which lengthens every scale-in without changing what event
// time must make of the input; restarts of static members are what
// TestExactlyOnceAcrossKills and TestScaleOutAndBack test.
//
// A long pause is over when the group has committed its input offsets at
// the end of the input topics, the pause has lasted its real time (three
// times idle_timeout), every input partition has reported itself idle at
// the model's watermark (Expectation.Settled) on the partials topic, and
// shapes.Check passes against the model of the shape so far: every window
// closed by then published once with the model's counts, no other window,
// and the counters summed over the members equal the model's. The
// partitions' reports are needed because the windows alone do not prove
// that the watermark settled (a window closed by the settled watermark may
// close before it), and the generator's late events are late only against
// the settled watermark. The wait tolerates rebalances (a newly assigned
// partition is active for idle_timeout): it fails only after
// shapesSettleTimeout.
//
// Counters are process-local, so a member is scraped just before it stops.
// A member commits its in-flight work when it stops, and that work would be
// in no scrape; but members stop only right after a pause in which the
// counters equalled the model's, so nothing countable is in flight then:
// every record's counts are committed (offsets at the end) and every
// retirement (expiry, orphan) the settled watermark implies is counted, and
// without new input the watermark moves no further. Counters never go
// down, so an over-count is still there at the next pause; after the last
// one the test holds for idle_timeout before stopping the members, and
// checks the results topic once more after they stopped.
//
// RECKON_KAFKA_SHAPES sets the number of seeds (default 20): seeds 0 to
// N−1, each a subtest seed=N, so that one is replayed with
// -run 'TestTrafficShapes/seed=N$'.
func TestTrafficShapes(t *testing.T) {
	seeds := 20
	if s := os.Getenv("RECKON_KAFKA_SHAPES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("RECKON_KAFKA_SHAPES=%q: want a number of seeds", s)
		}
		seeds = n
	}
	t.Logf("%d shapes, %d at a time, idle_timeout %v, against %s", seeds, shapesParallel, shapesIdle, kafkaKind)
	// Subtests run in goroutines of the test's own rather than with
	// t.Parallel, whose limit (-parallel, GOMAXPROCS) would play two shapes
	// at a time: a shape mostly waits.
	sem := make(chan struct{}, shapesParallel)
	var wg sync.WaitGroup
	for seed := range uint64(seeds) {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { playShapeKafka(t, seed, nil) })
		})
	}
	wg.Wait()
}

// shapePartitioner is where Kafka's default partitioner (murmur2, as
// reckon's producers and the Java client) puts a key among n partitions.
func shapePartitioner(n int) func([]byte) int32 {
	p := kgo.StickyKeyPartitioner(nil).ForTopic("")
	return func(key []byte) int32 { return int32(p.Partition(&kgo.Record{Key: key}, n)) }
}

// shapeRun is one shape being played.
type shapeRun struct {
	t    *testing.T
	seed uint64
	sh   *shapes.Shape
	cfg  string

	group, predTopic, outTopic, resultsTopic string

	adm     *kadm.Client
	running []*reckonProc
	// stopped holds the counters and dead letters of the members that
	// stopped, as scraped just before.
	stopped     map[string]*shapes.Counters
	stoppedDead uint64
	results     *resultsReader
	partials    *partialsWatcher
}

// playShapeKafka plays the shape of seed; tune, when not nil, changes its
// options first.
func playShapeKafka(t *testing.T, seed uint64, tune func(*shapes.Options)) {
	parts := 1 + int(seed%4)
	o := shapes.Defaults(parts, shapePartitioner(parts))
	o.IdleTimeout = shapesIdle
	if tune != nil {
		tune(&o)
	}
	sh := shapes.Generate(seed, o)
	name := uniqueName(fmt.Sprintf("shapes%d", seed))
	r := &shapeRun{
		t: t, seed: seed, sh: sh,
		group: name, predTopic: name + "-predictions", outTopic: name + "-outcomes", resultsTopic: name + "-results",
		adm:     kadm.NewClient(newClient(t)),
		stopped: map[string]*shapes.Counters{},
	}
	for _, m := range o.Models {
		r.stopped[m] = new(shapes.Counters)
	}
	createTopics(t, int32(parts), r.predTopic, r.outTopic)
	r.cfg = fmt.Sprintf(`kafka:
  group: %s
  predictions_topic: %s
  outcomes_topic: %s
  dead_letter_topic: %s-dead
  results_topic: %s
commit_interval: 100ms
%s`, r.group, r.predTopic, r.outTopic, r.group, r.resultsTopic, o.Config())
	parsed, err := config.Parse("shapes.yaml", []byte(r.cfg))
	if err != nil {
		t.Fatal(err)
	}
	prod := newClient(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	begin := time.Now()

	for si, seg := range sh.Segments {
		r.scale(si, seg.Members)
		if r.results == nil {
			// The first member created the results and partials topics.
			r.results = newResultsReader(t, r.resultsTopic)
			r.partials = newPartialsWatcher(t, r.group+"-partials", windows.LayoutOf(parsed))
		}
		for bi, b := range seg.Bursts {
			var recs []*kgo.Record
			for _, rec := range b.Records {
				topic := r.predTopic
				if rec.Topic == shapes.Outcomes {
					topic = r.outTopic
				}
				recs = append(recs, &kgo.Record{Topic: topic, Partition: rec.Partition, Key: rec.Key, Value: rec.Value})
			}
			produceSync(t, prod, recs...)
			if bi < len(seg.Bursts)-1 {
				time.Sleep(b.Pause)
				continue
			}
			r.settle(si, time.Now().Add(b.Pause))
		}
	}
	ex := shapes.Model(sh)
	// Anything still in flight (nothing is, if reckon is right) has time
	// to show before the members stop.
	time.Sleep(shapesIdle)
	if err := r.check(ex); err != nil {
		r.logWindows(ex)
		r.partials.logDuplicates(seed)
		t.Fatalf("seed %d, after the last pause and %v more: %v", seed, shapesIdle, err)
	}
	r.scale(len(sh.Segments), 0)
	// What the members committed as they stopped is on the results topic
	// too: read it to its end once more.
	if err := r.results.readToEnd(r.adm); err != nil {
		t.Fatal(err)
	}
	if err := r.check(ex); err != nil {
		r.logWindows(ex)
		r.partials.logDuplicates(seed)
		t.Fatalf("seed %d, after every member stopped: %v", seed, err)
	}
	t.Logf("seed %d: %d partitions, %d segments (members %v), %d windows closed, %d open; %v",
		seed, parts, len(sh.Segments), memberCounts(sh), len(ex.Windows), len(ex.Open), time.Since(begin).Round(time.Second))
}

func memberCounts(sh *shapes.Shape) []int {
	var out []int
	for _, s := range sh.Segments {
		out = append(out, s.Members)
	}
	return out
}

// scale starts or stops members before segment si until n run. A member
// is scraped just before it stops (see TestTrafficShapes for why that is
// sound here).
func (r *shapeRun) scale(si, n int) {
	t := r.t
	var started []*reckonProc
	for len(r.running) < n {
		p := launchReckon(t, r.cfg, brokers)
		r.running = append(r.running, p)
		started = append(started, p)
	}
	for _, p := range started {
		p.waitReady(t, 60*time.Second, 100*time.Millisecond)
	}
	var stopping []*reckonProc
	for len(r.running) > n {
		p := r.running[len(r.running)-1]
		r.running = r.running[:len(r.running)-1]
		mfs, err := p.tryScrape()
		if err != nil {
			t.Fatalf("seed %d, before segment %d: scraping a member before it stops: %v", r.seed, si, err)
		}
		r.stoppedDead += addCounters(mfs, r.stopped, r.predTopic, r.outTopic)
		stopping = append(stopping, p)
	}
	var wg sync.WaitGroup
	for _, p := range stopping {
		wg.Go(func() { p.stop(t) })
	}
	wg.Wait()
}

// settle waits until the long pause after segment si is over: the group
// has committed its input offsets at the end of the input topics, real
// time has reached until, every input partition has reported itself idle
// at the model's watermark (Expectation.Settled), and the results and
// counters are what the model of the shape so far says.
func (r *shapeRun) settle(si int, until time.Time) {
	t := r.t
	prefix := *r.sh
	prefix.Segments = prefix.Segments[:si+1]
	ex := shapes.Model(&prefix)
	wm := ex.Settled[si]
	ctx, cancel := context.WithTimeout(context.Background(), shapesSettleTimeout)
	defer cancel()
	why := "the pause has not lasted long enough"
	for {
		err := r.partials.poll(ctx)
		var behind string
		if err == nil {
			behind, err = r.behind(ctx)
		}
		switch {
		case err != nil:
			if ctx.Err() == nil {
				why = err.Error()
			}
		case behind != "":
			why = "the group has not committed its input offsets at the end: " + behind
		case time.Now().Before(until):
			why = "the pause has not lasted long enough"
		default:
			if not := r.partials.settled(r.sh.Options.Partitions, wm); not != "" {
				why = not
				break
			}
			err := r.results.poll(ctx)
			if err == nil {
				err = r.check(ex)
			}
			if err == nil {
				return
			}
			if ctx.Err() == nil {
				why = err.Error()
			}
		}
		for _, p := range r.running {
			if ok, err := p.exited(); ok {
				t.Fatalf("seed %d, segment %d: a member exited during the pause: %v", r.seed, si, err)
			}
		}
		select {
		case <-ctx.Done():
			r.logWindows(ex)
			r.partials.logDuplicates(r.seed)
			t.Fatalf("seed %d, segment %d: the group did not settle at %v (the model's watermark) within %v: %s",
				r.seed, si, time.UnixMilli(wm).UTC().Format(time.RFC3339Nano), shapesSettleTimeout, why)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// check compares the results read so far and the members' counters
// (those stopped as scraped before they stopped, the running ones now)
// with ex.
func (r *shapeRun) check(ex *shapes.Expectation) error {
	counts := map[string]*shapes.Counters{}
	for m, c := range r.stopped {
		cc := *c
		counts[m] = &cc
	}
	dead := r.stoppedDead
	for _, p := range r.running {
		mfs, err := p.tryScrape()
		if err != nil {
			return err
		}
		dead += addCounters(mfs, counts, r.predTopic, r.outTopic)
	}
	return shapes.Check(ex, r.results.got, counts, dead)
}

// logWindows logs every window published or expected, for a failure:
// shapes.Check stops at the first difference.
func (r *shapeRun) logWindows(ex *shapes.Expectation) {
	keys := map[shapes.WindowKey]bool{}
	for k := range ex.Windows {
		keys[k] = true
	}
	for k := range r.results.got {
		keys[k] = true
	}
	sorted := slices.SortedFunc(maps.Keys(keys), func(a, b shapes.WindowKey) int { return strings.Compare(a.String(), b.String()) })
	var b strings.Builder
	for _, k := range sorted {
		want, ok := ex.Windows[k]
		fmt.Fprintf(&b, "\n  %v want", k)
		if ok {
			fmt.Fprintf(&b, " %d/%d/%d/%v", want.Predictions, want.Errors, want.Outcomes, [4]uint64{want.TP, want.FP, want.TN, want.FN})
		} else {
			fmt.Fprintf(&b, " none (open: %v)", ex.Open[k])
		}
		for _, rec := range r.results.got[k] {
			c := rec.Confusion
			fmt.Fprintf(&b, ", got %d/%d/%d/%v", rec.Predictions, rec.Errors, rec.Outcomes, [4]uint64{c.TP, c.FP, c.TN, c.FN})
		}
	}
	r.t.Logf("seed %d: windows (predictions/errors/outcomes/[tp fp tn fn]):%s", r.seed, b.String())
}

// behind describes the input partitions whose committed offset is not at
// their end ("" when none is).
func (r *shapeRun) behind(ctx context.Context) (string, error) {
	ends, err := r.adm.ListEndOffsets(ctx, r.predTopic, r.outTopic)
	if err != nil {
		return "", err
	}
	committed, err := r.adm.FetchOffsets(ctx, r.group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return "no offsets committed yet", nil
	}
	if err != nil {
		return "", err
	}
	var behind []string
	ends.Each(func(o kadm.ListedOffset) {
		c, ok := committed.Lookup(o.Topic, o.Partition)
		if o.Offset > 0 && (!ok || c.At < o.Offset) {
			behind = append(behind, fmt.Sprintf("%s/%d at %d of %d", o.Topic, o.Partition, c.At, o.Offset))
		}
	})
	return strings.Join(behind, ", "), nil
}

// addCounters adds a scrape's counters, per model of counts, to counts and
// returns its dead letters of the input topics.
func addCounters(mfs map[string]*dto.MetricFamily, counts map[string]*shapes.Counters, predTopic, outTopic string) uint64 {
	sum := func(name string, labels map[string]string) uint64 {
		var v float64
		for _, m := range mfs[name].GetMetric() {
			if matches(m, labels) {
				v += m.GetCounter().GetValue()
			}
		}
		return uint64(v)
	}
	for model, c := range counts {
		mo := func(kv ...string) map[string]string {
			l := map[string]string{"model": model}
			for i := 0; i < len(kv); i += 2 {
				l[kv[i]] = kv[i+1]
			}
			return l
		}
		c.PredictionsOK += sum("reckon_predictions_total", mo("status", "ok"))
		c.PredictionsError += sum("reckon_predictions_total", mo("status", "error"))
		c.Late += sum("reckon_late_events_total", mo())
		c.Joined += sum("reckon_outcomes_total", mo("result", "joined"))
		c.DuplicateOutcomes += sum("reckon_outcomes_total", mo("result", "duplicate"))
		c.Orphaned += sum("reckon_outcomes_total", mo("result", "orphaned"))
		c.Expired += sum("reckon_predictions_expired_total", mo())
		c.DuplicatePredictions += sum("reckon_duplicate_predictions_total", mo())
		c.TP += sum("reckon_confusion_total", mo("outcome", "tp"))
		c.FP += sum("reckon_confusion_total", mo("outcome", "fp"))
		c.TN += sum("reckon_confusion_total", mo("outcome", "tn"))
		c.FN += sum("reckon_confusion_total", mo("outcome", "fn"))
	}
	return sum("reckon_dead_letter_total", map[string]string{"topic": predTopic}) +
		sum("reckon_dead_letter_total", map[string]string{"topic": outTopic})
}

// resultsReader reads a results topic (read_committed) as it grows.
type resultsReader struct {
	t     *testing.T
	topic string
	cl    *kgo.Client
	got   map[shapes.WindowKey][]*results.Record
	// next is the offset after the last record read, per partition.
	next map[int32]int64
}

func newResultsReader(t *testing.T, topic string) *resultsReader {
	return &resultsReader{
		t:     t,
		topic: topic,
		cl: newClient(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			// Transaction markers kept: the position reaches the end.
			kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords()),
		got:  map[shapes.WindowKey][]*results.Record{},
		next: map[int32]int64{},
	}
}

// poll reads what is there to read now.
func (rr *resultsReader) poll(ctx context.Context) error {
	for {
		pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		fs := rr.cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var err error
		fs.EachError(func(_ string, _ int32, e error) {
			if !errors.Is(e, context.DeadlineExceeded) && !errors.Is(e, context.Canceled) {
				rr.t.Logf("reading %s: %v", rr.topic, e)
			}
		})
		fs.EachRecord(func(rec *kgo.Record) {
			rr.next[rec.Partition] = rec.Offset + 1
			if rec.Attrs.IsControl() {
				return
			}
			res, uerr := results.Unmarshal(rec.Value)
			if uerr != nil {
				err = fmt.Errorf("%s: record %q: %w", rr.topic, rec.Value, uerr)
				return
			}
			if string(rec.Key) != res.Model {
				err = fmt.Errorf("%s: record key %q, want the model %q", rr.topic, rec.Key, res.Model)
				return
			}
			k := shapes.WindowKey{Model: res.Model, Window: res.Window, Start: res.Start.UTC()}
			rr.got[k] = append(rr.got[k], res)
		})
		if err != nil || fs.NumRecords() == 0 {
			return err
		}
	}
}

// readToEnd reads every partition up to its end as of now (call it when
// no transaction is open on the topic).
func (rr *resultsReader) readToEnd(adm *kadm.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, rr.topic)
	if err != nil {
		return err
	}
	for {
		if err := rr.poll(ctx); err != nil {
			return fmt.Errorf("reading %s to its end: %w", rr.topic, err)
		}
		done := true
		ends.Each(func(o kadm.ListedOffset) {
			if rr.next[o.Partition] < o.Offset {
				done = false
			}
		})
		if done {
			return nil
		}
	}
}

// partialsWatcher reads a group's partials topic (<group>-partials, reckon's
// internal topic between members), the only place where reckon says how
// far each input partition's watermark has come: every partition's
// progress (windows.Progress) is sent there to every aggregation whenever
// it changes. It also keeps the pane fragments, to name any published
// twice when a window's counts are wrong.
type partialsWatcher struct {
	t      *testing.T
	topic  string
	layout windows.Layout
	cl     *kgo.Client
	// progress is each input partition's last progress, as read in
	// partition 0 (progress goes to every partition).
	progress  map[int32]windows.Progress
	fragments map[fragmentKey][]fragment
}

// fragmentKey identifies a harvested pane: its partition and number.
type fragmentKey struct {
	source int32
	seq    uint64
}

type fragment struct {
	producer              int64 // the member's transactional producer
	at                    time.Time
	model                 int
	start                 int64
	predictions, outcomes uint64
}

func newPartialsWatcher(t *testing.T, topic string, layout windows.Layout) *partialsWatcher {
	return &partialsWatcher{
		t: t, topic: topic, layout: layout,
		cl: newClient(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(kgo.ReadCommitted())),
		progress:  map[int32]windows.Progress{},
		fragments: map[fragmentKey][]fragment{},
	}
}

// poll reads what is there to read now.
func (w *partialsWatcher) poll(ctx context.Context) error {
	for {
		pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		fs := w.cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var err error
		fs.EachRecord(func(rec *kgo.Record) {
			if err != nil {
				return
			}
			kind := ""
			for _, h := range rec.Headers {
				if h.Key == consumer.HeaderPartialKind {
					kind = string(h.Value)
				}
			}
			switch kind {
			case windows.KindProgress.String():
				if rec.Partition != 0 {
					return
				}
				var pr windows.Progress
				if pr, err = windows.DecodeProgressMessage(rec.Value); err == nil {
					if old, ok := w.progress[pr.Source]; ok {
						pr.Watermark = max(pr.Watermark, old.Watermark) // never goes back
					}
					w.progress[pr.Source] = pr
				}
			case windows.KindPane.String():
				src, n := binary.Uvarint(rec.Value[min(1, len(rec.Value)):])
				if n <= 0 {
					err = fmt.Errorf("%s: pane record %x", w.topic, rec.Value)
					return
				}
				var p *windows.Partial
				if p, _, err = w.layout.DecodePartial(rec.Value[1+n:]); err == nil {
					k := fragmentKey{int32(src), p.Seq}
					w.fragments[k] = append(w.fragments[k], fragment{rec.ProducerID, rec.Timestamp, p.Model, p.Start, p.Predictions, p.Outcomes})
				}
			}
			if err != nil {
				err = fmt.Errorf("%s/%d@%d: %w", w.topic, rec.Partition, rec.Offset, err)
			}
		})
		if err != nil || fs.NumRecords() == 0 {
			return err
		}
	}
}

// settled says why the input partitions have not settled at wm ("" when
// they have): each must have reported itself idle at wm or above, as every
// partition does once the group watermark reached the highest partition
// watermark (docs/semantics.md) and its member learnt it.
func (w *partialsWatcher) settled(partitions int, wm int64) string {
	var not []string
	for s := range int32(partitions) {
		pr, ok := w.progress[s]
		switch {
		case !ok:
			not = append(not, fmt.Sprintf("partition %d has not reported", s))
		case !pr.Idle || pr.Watermark < wm:
			not = append(not, fmt.Sprintf("partition %d reported %+v", s, pr))
		}
	}
	if len(not) == 0 {
		return ""
	}
	return fmt.Sprintf("not every input partition reported itself idle at %d: %s", wm, strings.Join(not, "; "))
}

// logDuplicates logs every pane fragment published more than once.
func (w *partialsWatcher) logDuplicates(seed uint64) {
	for k, fs := range w.fragments {
		if len(fs) < 2 {
			continue
		}
		var b strings.Builder
		for _, f := range fs {
			fmt.Fprintf(&b, "\n  by producer %d at %s: model %d pane %s, %d predictions, %d outcomes",
				f.producer, f.at.Format("15:04:05.000"), f.model, time.UnixMilli(f.start).UTC().Format(time.RFC3339), f.predictions, f.outcomes)
		}
		w.t.Logf("seed %d: fragment %d of partition %d's panes published %d times:%s", seed, k.seq, k.source, len(fs), b.String())
	}
}
