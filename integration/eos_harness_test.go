package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/results"
)

// Helpers of the exactly-once acceptance tests (docs/semantics.md "Delivery" and
// "Scale-out"; issue 6): a deterministic stream with its ground truth, the
// configuration, and checks of the results topic and of counters over a
// process's lifetimes.

// eosFeatures says whether the tests use what issue 6 adds to reckon: the
// configuration key commit_interval (how often the transaction with state
// and offsets commits) and the `reckon run --instance-id` flag (static
// membership, Kafka's group.instance.id). They are the contract these tests
// accept; set it to false only to run the tests against a reckon without
// them (the at-least-once reckon before issue 6), to watch them fail for
// the reasons they exist. Without --instance-id a killed member stays in
// the group until its session times out (45 s), so each restart is slow.
const eosFeatures = true

// eosCommitInterval is commit_interval in the tests' configurations.
const eosCommitInterval = 200 * time.Millisecond

// eosPartitions is the partition count of the tests' input topics.
const eosPartitions = 4

// eosBase is the event time the streams start at.
var eosBase = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// eosYAML is a configuration of the exactly-once tests: the kafka block,
// commit_interval (when eosFeatures), idle_timeout far beyond any test's
// wall time so that idleness never changes results, max_clock_skew 0s since
// the event times are in the past, and body: the rest.
func eosYAML(group, predTopic, outTopic, resultsTopic, body string) string {
	commit := ""
	if eosFeatures {
		commit = "commit_interval: " + eosCommitInterval.String() + "\n"
	}
	return fmt.Sprintf(`
kafka:
  group: %s
  predictions_topic: %s
  outcomes_topic: %s
  dead_letter_topic: %s-dead
  results_topic: %s
  # A static member stopped for good (scale-in) gives its partitions back
  # after the session timeout: keep it short.
  session_timeout: 6s
idle_timeout: 1h
max_clock_skew: 0s
%s%s`, group, predTopic, outTopic, group, resultsTopic, commit, body)
}

// eosConfig is the configuration of the tests over an eosStream: two
// models, one with a stream reference (so that drift results depend on
// restored reference state), windows of 1m and 5m.
func eosConfig(group, predTopic, outTopic, resultsTopic string) string {
	return eosYAML(group, predTopic, outTopic, resultsTopic, fmt.Sprintf(`windows: [1m, 5m]
allowed_lateness: 10s
label_ttl: 10m
models:
  - name: fraud
    threshold: 0.5
    reference: {from: %q, to: %q}
    features:
      - {name: amount, type: numeric, min: 0}
      - {name: country, type: categorical}
  - name: churn
    threshold: 0.3
    features:
      - {name: tenure, type: numeric}
`, eosBase.Format(time.RFC3339), eosBase.Add(10*time.Minute).Format(time.RFC3339)))
}

// eosTopics creates the input topics of a test named prefix and returns
// the test's unique name, the topics and the stream to produce there.
func eosTopics(t *testing.T, prefix string) (name, predTopic, outTopic string, s *eosStream) {
	t.Helper()
	name = uniqueName(prefix)
	predTopic, outTopic = name+"-predictions", name+"-outcomes"
	createTopics(t, eosPartitions, predTopic, outTopic)
	return name, predTopic, outTopic, newEOSStream(6000)
}

// instanceArgs returns the `reckon run` arguments of a group member with
// static membership id.
func instanceArgs(id string) []string {
	if !eosFeatures {
		return nil
	}
	return []string{"--instance-id", id}
}

// eosEvent is one input record of a stream.
type eosEvent struct {
	outcome bool
	id      string
	at      time.Time
	value   []byte
}

// eosStream is a deterministic stream of predictions of two models over 30
// simulated minutes, a share of them errors, and outcomes for about 60% of
// the ok predictions 10 s to 4 min after them, in event-time order so that
// nothing is late; and its ground truth, tallied here independently of
// reckon's code.
type eosStream struct {
	events      []eosEvent
	tr          *truth             // every window the sentinels close
	predictions map[string]float64 // model=,model_version=,status=, sentinels included
	joined      map[string]float64 // model=: outcomes joined
	preds, outs int                // records, sentinels included
	sentinel    time.Time          // the sentinels' event time
}

func newEOSStream(n int) *eosStream {
	s := &eosStream{
		tr:          &truth{windows: map[string]results.Record{}},
		predictions: map[string]float64{},
		joined:      map[string]float64{"model=fraud": 0, "model=churn": 0},
		sentinel:    eosBase.Add(90 * time.Minute),
	}
	rng := rand.New(rand.NewPCG(6, 2026))
	step := 30 * time.Minute / time.Duration(n)
	countries := []string{"DE", "DE", "DE", "FR", "FR", "US", "IT"}
	for i := range n {
		at := eosBase.Add(time.Duration(i) * step)
		id := fmt.Sprintf("eos-%06d", i)
		model, version, threshold := "fraud", "v"+strconv.Itoa(1+i%2), 0.5
		if i%3 == 0 {
			model, version, threshold = "churn", "v7", 0.3
		}
		var b strings.Builder
		fmt.Fprintf(&b, `{"prediction_id":%q,"model":%q,"model_version":%q,"timestamp":%d`, id, model, version, at.UnixMilli())
		status := "ok"
		if i%23 == 0 {
			status = "error"
			b.WriteString(`,"status":"error","error":"timeout"}`)
		}
		s.predictions["model="+model+",model_version="+version+",status="+status]++
		s.tr.addToWindows(model, at, func(r *results.Record) {
			r.Predictions++
			if status == "error" {
				r.Errors++
			}
		})
		s.events = append(s.events, eosEvent{id: id, at: at})
		if status == "error" {
			s.events[len(s.events)-1].value = []byte(b.String())
			continue
		}
		score := float64(rng.IntN(1000)) / 1000
		fmt.Fprintf(&b, `,"score":%g,"latency_ms":%g`, score, float64(1+rng.IntN(1000))/10)
		if model == "fraud" {
			fmt.Fprintf(&b, `,"features":{"amount":%.2f,"country":%q}}`, 50*math.Exp(rng.NormFloat64()), countries[rng.IntN(len(countries))])
		} else {
			fmt.Fprintf(&b, `,"features":{"tenure":%d}}`, rng.IntN(61))
		}
		s.events[len(s.events)-1].value = []byte(b.String())
		if rng.Float64() >= 0.6 {
			continue
		}
		ot := at.Add(time.Duration(10+rng.IntN(230)) * time.Second)
		label := rng.Float64() < score
		s.events = append(s.events, eosEvent{outcome: true, id: id, at: ot, value: fmt.Appendf(nil,
			`{"prediction_id":%q,"model":%q,"timestamp":%d,"label":%d}`, id, model, ot.UnixMilli(), map[bool]int{false: 0, true: 1}[label])})
		s.joined["model="+model]++
		s.tr.addToWindows(model, ot, func(r *results.Record) {
			r.Outcomes++
			c := &r.Confusion
			switch predicted := score >= threshold; {
			case predicted && label:
				c.TP++
			case predicted:
				c.FP++
			case label:
				c.FN++
			default:
				c.TN++
			}
		})
	}
	sort.SliceStable(s.events, func(i, j int) bool { return s.events[i].at.Before(s.events[j].at) })
	for _, e := range s.events {
		if e.outcome {
			s.outs++
		} else {
			s.preds++
		}
	}
	// produceSentinels' records: a prediction of churn, without version, and
	// an outcome per partition.
	s.preds += eosPartitions
	s.outs += eosPartitions
	s.predictions["model=churn,model_version=,status=ok"] += eosPartitions
	for k, r := range s.tr.windows {
		if r.End.After(s.sentinel) {
			delete(s.tr.windows, k)
		}
	}
	return s
}

// chunks returns the stream's records for the two topics in k chunks of
// consecutive event time, the sentinels (with their partitions: produce
// them with kgo.ManualPartitioner) last and apart.
func (s *eosStream) chunks(predTopic, outTopic string, k int) (chunks [][]*kgo.Record, sentinelRecs []*kgo.Record) {
	for c := range k {
		var recs []*kgo.Record
		for _, e := range s.events[c*len(s.events)/k : (c+1)*len(s.events)/k] {
			topic := predTopic
			if e.outcome {
				topic = outTopic
			}
			recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(e.id), Value: e.value})
		}
		chunks = append(chunks, recs)
	}
	return chunks, sentinels(predTopic, outTopic, eosPartitions, "churn", s.sentinel)
}

// consumed is reckon_records_consumed_total as it must end.
func (s *eosStream) consumed(group, predTopic, outTopic string) map[string]float64 {
	return map[string]float64{"topic=" + predTopic: float64(s.preds), "topic=" + outTopic: float64(s.outs), "topic=" + group + "-rekey": 0}
}

// produceStream produces the stream to the cluster at addrs in k chunks,
// pause apart, then the sentinels, calling before(i) before chunk i (i = k
// for the sentinels). It returns the first error instead of failing the
// test, so that it can run in its own goroutine.
func produceStream(ctx context.Context, addrs []string, s *eosStream, predTopic, outTopic string, k int, pause time.Duration, before func(i int)) error {
	cl, err := kgo.NewClient(seedOpts(addrs)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	manual, err := kgo.NewClient(append(seedOpts(addrs), kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	if err != nil {
		return err
	}
	defer manual.Close()
	chunks, sents := s.chunks(predTopic, outTopic, k)
	for i, c := range chunks {
		if i > 0 {
			select {
			case <-time.After(pause):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if before != nil {
			before(i)
		}
		if err := cl.ProduceSync(ctx, c...).FirstErr(); err != nil {
			return fmt.Errorf("producing chunk %d: %w", i, err)
		}
	}
	if before != nil {
		before(k)
	}
	if err := manual.ProduceSync(ctx, sents...).FirstErr(); err != nil {
		return fmt.Errorf("producing the sentinels: %w", err)
	}
	return nil
}

// scraper scrapes one reckon process frequently while it runs and keeps
// the last successful scrape: what the process had counted when it ended,
// as far as Prometheus could have known.
type scraper struct {
	p    *reckonProc
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	last map[string]*dto.MetricFamily
	n    int
}

func watch(p *reckonProc, every time.Duration) *scraper {
	s := &scraper{p: p, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			if mfs, err := p.tryScrape(); err == nil {
				s.mu.Lock()
				s.last, s.n = mfs, s.n+1
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// finish stops scraping (call it once the process ended) and returns the
// last successful scrape (nil if none succeeded).
func (s *scraper) finish() map[string]*dto.MetricFamily {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// lifetimeCounters are the exactly-once counters of docs/semantics.md summed
// over the last scrapes of a member's (or a group's) lifetimes.
type lifetimeCounters struct {
	consumed, predictions, joined map[string]float64
}

func sumCounters(scrapes []map[string]*dto.MetricFamily) lifetimeCounters {
	c := lifetimeCounters{map[string]float64{}, map[string]float64{}, map[string]float64{}}
	for _, mfs := range scrapes {
		for k, v := range series(mfs, "reckon_records_consumed_total", "topic") {
			c.consumed[k] += v
		}
		for k, v := range series(mfs, "reckon_predictions_total", "model", "model_version", "status") {
			c.predictions[k] += v
		}
		for k, v := range series(mfs, "reckon_outcomes_total", "model", "result") {
			if m, ok := strings.CutSuffix(k, ",result=joined"); ok {
				c.joined[m] += v
			}
		}
	}
	return c
}

// checkCounters compares counters with the truth: exactly, or with atMost
// only that none exceeds it (work a killed process committed after its last
// scrape is not in the sum).
func checkCounters(t *testing.T, what string, got lifetimeCounters, s *eosStream, consumed map[string]float64, atMost bool) {
	t.Helper()
	for _, c := range []struct {
		name      string
		got, want map[string]float64
	}{
		{"reckon_records_consumed_total", got.consumed, consumed},
		{"reckon_predictions_total", got.predictions, s.predictions},
		{"reckon_outcomes_total{result=joined}", got.joined, s.joined},
	} {
		if !atMost {
			compare(t, what+": "+c.name, c.got, c.want)
			continue
		}
		for k, g := range c.got {
			if w, ok := c.want[k]; !ok && g > 0 {
				t.Errorf("%s: %s{%s} = %v, want no such series", what, c.name, k, g)
			} else if g > w {
				t.Errorf("%s: %s{%s} = %v over the lifetimes, more than the %v records there are: counted twice", what, c.name, k, g, w)
			}
		}
	}
}

// windowKey names a window as truth does.
func windowKey(model, window string, start time.Time) string {
	return model + "/" + window + "/" + start.UTC().Format(time.RFC3339)
}

// readWindows reads the results topic (read_committed) until it holds
// want distinct windows or timeout passed, then for settle more to see any
// record beyond them. It returns each window's first record value, and
// what was wrong: windows published more than once (with both values),
// records that are not results or not keyed by their model.
func readWindows(t *testing.T, addrs []string, topic string, want int, timeout, settle time.Duration) (map[string][]byte, []string) {
	t.Helper()
	cl := newClientAt(t, addrs, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	got := map[string][]byte{}
	var problems []string
	poll := func(ctx context.Context) bool {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return false
		}
		f.EachError(func(_ string, _ int32, err error) { t.Logf("reading %s: %v", topic, err) })
		for _, r := range f.Records() {
			rec, err := results.Unmarshal(r.Value)
			if err != nil {
				problems = append(problems, fmt.Sprintf("record %q: %v", r.Value, err))
				continue
			}
			k := windowKey(rec.Model, rec.Window, rec.Start)
			if prev, dup := got[k]; dup {
				problems = append(problems, fmt.Sprintf("window %s published more than once:\n  %s\n  %s", k, prev, r.Value))
				continue
			}
			if string(r.Key) != rec.Model {
				problems = append(problems, fmt.Sprintf("record key %q, want the model %q", r.Key, rec.Model))
			}
			got[k] = r.Value
		}
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for len(got) < want && poll(ctx) {
	}
	sctx, scancel := context.WithTimeout(context.Background(), settle)
	defer scancel()
	for poll(sctx) {
	}
	return got, problems
}

// resultWindows is readWindows failing the test for each problem, settling
// for a second.
func resultWindows(t *testing.T, addrs []string, topic string, want int, timeout time.Duration) map[string][]byte {
	t.Helper()
	got, problems := readWindows(t, addrs, topic, want, timeout, time.Second)
	for _, p := range problems {
		t.Errorf("%s: %s", topic, p)
	}
	return got
}

// checkWindows compares the windows of a run with those of an
// uninterrupted run byte for byte, and both with the ground truth's counts.
func checkWindows(t *testing.T, what string, got, uninterrupted map[string][]byte, tr *truth) {
	t.Helper()
	var missing, differ, extra []string
	bytesDiffer := 0
	for _, k := range slices.Sorted(maps.Keys(tr.windows)) {
		want := tr.windows[k]
		for _, run := range []struct {
			name string
			recs map[string][]byte
		}{{what, got}, {"the uninterrupted run", uninterrupted}} {
			v, ok := run.recs[k]
			if !ok {
				if run.name == what {
					missing = append(missing, k)
				} else {
					t.Errorf("the uninterrupted run lacks window %s", k)
				}
				continue
			}
			rec, err := results.Unmarshal(v)
			if err != nil {
				continue // reported by resultWindows
			}
			if rec.Predictions != want.Predictions || rec.Errors != want.Errors || rec.Outcomes != want.Outcomes ||
				rec.Confusion != want.Confusion || !rec.End.Equal(want.End) {
				if differ = append(differ, run.name+" "+k); len(differ) > 10 {
					continue
				}
				t.Errorf("%s: window %s: predictions %d errors %d outcomes %d confusion %+v end %s; the truth is %d %d %d %+v %s",
					run.name, k, rec.Predictions, rec.Errors, rec.Outcomes, rec.Confusion, rec.End.Format(time.RFC3339),
					want.Predictions, want.Errors, want.Outcomes, want.Confusion, want.End.Format(time.RFC3339))
			}
		}
		if a, b := got[k], uninterrupted[k]; a != nil && b != nil && !bytes.Equal(a, b) {
			if bytesDiffer++; bytesDiffer > 10 {
				continue
			}
			t.Errorf("%s: window %s differs from the uninterrupted run: %s", what, k, jsonDiff(a, b))
		}
	}
	for k := range got {
		if _, ok := tr.windows[k]; !ok {
			extra = append(extra, k)
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("%s: %d of %d windows missing %v; %d not expected %v", what, len(missing), len(tr.windows), missing, len(extra), extra)
	}
	t.Logf("%s: %d windows published, %d expected, %d missing, %d with wrong counts (either run), %d not equal to the uninterrupted run's",
		what, len(got), len(tr.windows), len(missing), len(differ), bytesDiffer)
}

// jsonDiff describes where two JSON documents differ (at most 5 places).
func jsonDiff(a, b []byte) string {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return fmt.Sprintf("%s vs %s", a, b)
	}
	var out []string
	var walk func(path string, x, y any)
	walk = func(path string, x, y any) {
		if len(out) >= 5 {
			return
		}
		mx, okx := x.(map[string]any)
		my, oky := y.(map[string]any)
		if okx && oky {
			keys := map[string]bool{}
			for k := range mx {
				keys[k] = true
			}
			for k := range my {
				keys[k] = true
			}
			for _, k := range slices.Sorted(maps.Keys(keys)) {
				walk(path+"."+k, mx[k], my[k])
			}
			return
		}
		if !reflect.DeepEqual(x, y) {
			out = append(out, fmt.Sprintf("%s: %v vs %v", path, x, y))
		}
	}
	walk("", x, y)
	if len(out) == 0 {
		return "same fields, different bytes"
	}
	return strings.Join(out, "; ")
}

// lagPartitions returns the partitions (of any topic) a scrape has
// reckon_consumer_lag_records series for.
func lagPartitions(mfs map[string]*dto.MetricFamily) map[string]bool {
	parts := map[string]bool{}
	for _, m := range mfs["reckon_consumer_lag_records"].GetMetric() {
		parts[labelValue(m, "partition")] = true
	}
	return parts
}
