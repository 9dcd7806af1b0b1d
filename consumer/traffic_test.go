package consumer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/reckonhq/reckon/internal/shapes"
	"github.com/reckonhq/reckon/results"
	"github.com/reckonhq/reckon/windows"
)

// Regression tests of issue 13's findings against real processors on kfake.

const trafficConfig = `windows: [1m]
allowed_lateness: 10s
idle_timeout: 5s
max_clock_skew: 0s
commit_interval: 20ms
models:
  - name: m
    features: [{name: x, type: numeric}]
`

func prediction(id string, at time.Time) *kgo.Record {
	v := fmt.Sprintf(`{"prediction_id":%q,"model":"m","timestamp":%d,"score":0.7,"features":{"x":1}}`, id, at.UnixMilli())
	return &kgo.Record{Topic: "predictions", Key: []byte(id), Value: []byte(v)}
}

// keyed places records as Kafka's default partitioner would.
func keyed(partitions int, recs ...*kgo.Record) []*kgo.Record {
	part := murmur2Partition(partitions)
	for _, r := range recs {
		r.Partition = part(r.Key)
	}
	return recs
}

func windowAt(start time.Time) shapes.WindowKey {
	return shapes.WindowKey{Model: "m", Window: "1m", Start: start.UTC()}
}

func onlyRecord(t *testing.T, got map[shapes.WindowKey][]*results.Record, k shapes.WindowKey) *results.Record {
	t.Helper()
	if n := len(got[k]); n != 1 {
		t.Fatalf("window %v published %d times, want once", k, n)
	}
	return got[k][0]
}

// TestIdlePartitionsKeepWhatTheyRead is finding 1: 3 partitions, 300
// predictions stamped 20:17:30, a pause longer than idle_timeout, then one
// prediction at 20:18:20 and 29 more. The window [20:17, 20:18) said 108
// predictions and 192 were counted late: the idle partitions' panes had
// not reached the merge when the first partition to move on closed the
// window. Now an idle partition flushes its panes before it reports itself
// idle.
func TestIdlePartitionsKeepWhatTheyRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g, err := newKGroup(ctx, trafficConfig, "idle", 3)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	mem := g.start()
	t0 := time.Date(2026, 12, 7, 20, 17, 30, 0, time.UTC)
	var burst []*kgo.Record
	for i := range 300 {
		burst = append(burst, prediction("a"+strconv.Itoa(i), t0))
	}
	if err := g.produce(keyed(3, burst...)...); err != nil {
		t.Fatal(err)
	}
	if err := g.pause(8*time.Second, t0.Add(-10*time.Second).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	// One prediction moves one partition on; the others are idle.
	if err := g.produce(keyed(3, prediction("b0", t0.Add(50*time.Second)))...); err != nil {
		t.Fatal(err)
	}
	var more []*kgo.Record
	for i := range 29 {
		more = append(more, prediction("b"+strconv.Itoa(i+1), t0.Add(50*time.Second+time.Duration(i)*100*time.Millisecond)))
	}
	if err := g.produce(keyed(3, more...)...); err != nil {
		t.Fatal(err)
	}
	if err := g.pause(8*time.Second, t0.Add(40*time.Second).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	got, err := g.results()
	if err != nil {
		t.Fatal(err)
	}
	if r := onlyRecord(t, got, windowAt(t0.Truncate(time.Minute))); r.Predictions != 300 {
		t.Errorf("window [20:17, 20:18) says %d predictions, want 300", r.Predictions)
	}
	if late := testutil.ToFloat64(mem.m.LateEvents.WithLabelValues("m")); late != 0 {
		t.Errorf("reckon_late_events_total = %v, want 0: every event was read before the watermark passed it", late)
	}
}

// backfill is a finished backfill of [20:00, 20:30) over 4 partitions, one
// of which stops at 20:10: every partition goes idle at the end.
func backfill(t *testing.T, g *kgroup) (start, last time.Time) {
	t.Helper()
	start = time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	var recs []*kgo.Record
	part := murmur2Partition(4)
	for i := range 1800 {
		at := start.Add(time.Duration(i) * time.Second)
		id := "p" + strconv.Itoa(i)
		if part([]byte(id)) == 3 && i >= 600 {
			continue // partition 3 stops at 20:10
		}
		recs = append(recs, prediction(id, at))
		last = at
	}
	if err := g.produce(keyed(4, recs...)...); err != nil {
		t.Fatal(err)
	}
	return start, last
}

// TestFinishedBackfillCloses is finding 2: when every partition goes idle
// together the watermark stayed below the end of the data, and the last
// windows waited for unrelated traffic, or not, depending on timing. Now,
// with every partition idle, the watermark moves to the highest partition
// watermark: 20:29:59 − 10s, which closes every window but the last.
func TestFinishedBackfillCloses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g, err := newKGroup(ctx, trafficConfig, "backfill", 4)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	g.start()
	start, last := backfill(t, g)
	if last.Before(start.Add(29*time.Minute + 30*time.Second)) {
		t.Fatalf("the backfill ends at %v: too early for this test", last)
	}
	if err := g.pause(10*time.Second, last.Add(-10*time.Second).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	got, err := g.results()
	if err != nil {
		t.Fatal(err)
	}
	for m := range 29 {
		onlyRecord(t, got, windowAt(start.Add(time.Duration(m)*time.Minute)))
	}
	if n := len(got[windowAt(start.Add(29*time.Minute))]); n != 0 {
		t.Errorf("the last window, within the allowed lateness of the data's end, published %d times, want 0", n)
	}
}

// TestUntilEnd runs the same backfill with reckon run --until-end: the
// member returns by itself once every window holding events, the last
// included, is published, and the group's offsets are at the end.
func TestUntilEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g, err := newKGroup(ctx, trafficConfig, "until-end", 4)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	start, _ := backfill(t, g)
	mem := g.start(WithUntilEnd())
	if err := g.exited(mem); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	got, err := g.results()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 30 {
		t.Errorf("%d windows published, want 30", len(got))
	}
	total := uint64(0)
	for m := range 30 {
		total += onlyRecord(t, got, windowAt(start.Add(time.Duration(m)*time.Minute))).Predictions
	}
	if consumed := testutil.ToFloat64(mem.m.RecordsConsumed.WithLabelValues("predictions")); uint64(consumed) != total {
		t.Errorf("the windows hold %d predictions, %v were read", total, consumed)
	}
	if err := waitRead(ctx, g.adm, g.cfg.Kafka.Group, "predictions", "outcomes"); err != nil {
		t.Fatal(err)
	}
}

// TestLargeDeadLetter is finding 3: a 2 MB record on input topics that take
// 10 MB was counted as a dead letter and its transaction committed, but the
// dead-letter topic (created with the broker's default size) refused it.
// Now reckon creates the dead-letter topic to take what the inputs take.
func TestLargeDeadLetter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g, err := newKGroup(ctx, trafficConfig, "large", 1, kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	setMaxBytes(t, g, 10<<20, "predictions", "outcomes")
	big := bytes.Repeat([]byte("x"), 2<<20)
	rec := &kgo.Record{Topic: "predictions", Key: []byte("big"), Value: big}
	if err := g.produce(rec); err != nil {
		t.Fatal(err)
	}
	mem := g.start()
	if err := g.pause(time.Minute, windows.Unset); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(mem.m.DeadLetters.WithLabelValues("predictions", "too_large")); n != 1 {
		t.Errorf("reckon_dead_letter_total{reason=too_large} = %v, want 1", n)
	}
	dead := readAll(t, g, g.cfg.Kafka.DeadLetterTopic)
	if len(dead) != 1 || !bytes.Equal(dead[0].Value, big) {
		t.Fatalf("the dead-letter topic holds %d records, want the 2 MB record once", len(dead))
	}
}

// TestDeadLetterTopicTooSmall: a dead-letter topic created before, smaller
// than what the inputs take, is refused at start-up, before anything is
// read, rather than found out at the first large record.
func TestDeadLetterTopicTooSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g, err := newKGroup(ctx, trafficConfig, "small", 1, kfake.NumBrokers(1), kfake.SeedTopics(1, "reckon-dead-letter"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	setMaxBytes(t, g, 10<<20, "predictions", "outcomes")
	mem := g.start()
	var tooSmall *TopicTooSmallError
	if err := g.exited(mem); !errors.As(err, &tooSmall) || tooSmall.Topic != "reckon-dead-letter" {
		t.Fatalf("Run = %v, want a *TopicTooSmallError naming reckon-dead-letter", err)
	}
	if !strings.Contains(tooSmall.Error(), "max.message.bytes") {
		t.Errorf("message %q does not say which setting to raise", tooSmall)
	}
}

// TestFailedWriteAborts: a record of the transaction that the broker
// refuses (a dead letter, here) aborts the transaction: nothing is committed
// past it, no counter moves, and the processor stops with a *ProduceError
// rather than retry forever. Run again without the fault, it processes the
// record exactly once.
func TestFailedWriteAborts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g, err := newKGroup(ctx, trafficConfig, "fault", 1, kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	// Refuse every write to the dead-letter topic (created here, as
	// reckon would, to know its id: produce requests may name topics by
	// id).
	dlq := g.cfg.Kafka.DeadLetterTopic
	v := "1114124"
	created, err := g.adm.CreateTopic(ctx, 1, -1, map[string]*string{"max.message.bytes": &v}, dlq)
	if err != nil {
		t.Fatal(err)
	}
	var fixed atomic.Bool
	g.c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if fixed.Load() {
			g.c.DropControl()
			return nil, nil, false
		}
		g.c.KeepControl()
		pr := req.(*kmsg.ProduceRequest)
		refuse := false
		for _, t := range pr.Topics {
			refuse = refuse || t.Topic == dlq || t.TopicID == created.ID
		}
		if !refuse {
			return nil, nil, false
		}
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		for _, t := range pr.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic, rt.TopicID = t.Topic, t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = kerr.InvalidRecord.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	if err := g.produce(&kgo.Record{Topic: "predictions", Key: []byte("bad"), Value: []byte("{not json")}); err != nil {
		t.Fatal(err)
	}
	mem := g.start()
	var pe *ProduceError
	if err := g.exited(mem); !errors.As(err, &pe) {
		t.Fatalf("Run = %v, want a *ProduceError", err)
	}
	if n := testutil.ToFloat64(mem.m.DeadLetters.WithLabelValues("predictions", "invalid_json")); n != 0 {
		t.Errorf("reckon_dead_letter_total = %v after the aborted transaction, want 0", n)
	}
	committed, err := g.adm.FetchOffsets(ctx, g.cfg.Kafka.Group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatal(err)
	}
	if o, ok := committed.Lookup("predictions", 0); ok && o.At > 0 {
		t.Errorf("offset %d committed past the record whose dead letter was not written", o.At)
	}

	// Without the fault: the record is read again and dead-lettered once.
	fixed.Store(true)
	again := g.start()
	if err := g.pause(time.Minute, windows.Unset); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(again.m.DeadLetters.WithLabelValues("predictions", "invalid_json")); n != 1 {
		t.Errorf("reckon_dead_letter_total = %v after the retry, want 1", n)
	}
	if dead := readAll(t, g, g.cfg.Kafka.DeadLetterTopic); len(dead) != 1 {
		t.Errorf("the dead-letter topic holds %d records, want 1", len(dead))
	}
}

// setMaxBytes sets the max.message.bytes of topics.
func setMaxBytes(t *testing.T, g *kgroup, n int, topics ...string) {
	t.Helper()
	v := strconv.Itoa(n)
	resp, err := g.adm.AlterTopicConfigs(g.ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.message.bytes", Value: &v}}, topics...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
}

// readAll reads every committed record of topic.
func readAll(t *testing.T, g *kgroup, topic string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(g.c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxBytes(64<<20), kgo.FetchMaxPartitionBytes(64<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for {
		ctx, cancel := context.WithTimeout(g.ctx, 2*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		if fs.NumRecords() == 0 {
			return out
		}
		out = append(out, fs.Records()...)
	}
}

// TestLargeStateRestores: a state too large for one record (the join of
// 120,000 pending predictions) is written in chunks, several to a batch,
// and restored whole by the next member. The state topic was created with
// room for one chunk while the producer sent batches of several: every
// commit was refused (found by reckon bench).
func TestLargeStateRestores(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g, err := newKGroup(ctx, trafficConfig, "large-state", 1, kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	t0 := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	const n = 120_000
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, prediction("p"+strconv.Itoa(i), t0.Add(time.Duration(i)*time.Millisecond)))
	}
	if err := g.produce(recs...); err != nil {
		t.Fatal(err)
	}
	first := g.start()
	if err := g.pause(time.Minute, windows.Unset); err != nil {
		t.Fatal(err)
	}
	if err := g.stop(); err != nil {
		t.Fatalf("the first member stopped with %v", err)
	}
	if p := testutil.ToFloat64(first.m.Pending); p != n {
		t.Fatalf("%v pending before the restart, want %d", p, n)
	}
	second := g.start()
	if err := g.pause(time.Minute, windows.Unset); err != nil {
		t.Fatal(err)
	}
	second.p.mu.Lock()
	pending := 0
	for _, tk := range second.p.tasks {
		pending += tk.part.Pending()
	}
	second.p.mu.Unlock()
	if pending != n {
		t.Errorf("%d pending after the restore, want %d", pending, n)
	}
}
