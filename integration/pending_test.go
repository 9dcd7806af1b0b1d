package integration

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/results"
)

// pendingKillDefault is how many pending predictions TestPendingKill loads
// in the suite: enough for several commits of the join's store, small
// enough for CI. RECKON_PENDING_KILL sets another number (10000000 is the
// acceptance test of issue 15, on Apache Kafka: docs/state.md).
const pendingKillDefault = 20_000

// pendingKillMinKills is how many of TestPendingKill's kills must land
// inside a commit.
const pendingKillMinKills = 3

// TestPendingKill is TestExactlyOnceAcrossKills on top of a backlog of
// predictions waiting for labels that never come (label_ttl 720h): the
// join's store holds them on disk under state_dir (state_memory 64MiB, so
// that beyond a few million most are only on disk), and reckon is killed
// with SIGKILL inside a commit (between the debug lines that bracket
// one), while it loads the backlog and while the stream is produced, and
// restarted on the same state_dir each time (a warm restore: pebble's
// memtables are lost with the process, and the changelog's tail is
// replayed). At least one kill comes once the whole backlog is held. Every window the stream closes (the backlog's included) must
// equal the ground truth and the uninterrupted run's, byte for byte, and
// the counters summed over the lifetimes may not exceed it.
func TestPendingKill(t *testing.T) {
	t.Parallel() // own topics, groups (and broker): runs beside the others
	n := pendingKillDefault
	if v := os.Getenv("RECKON_PENDING_KILL"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("RECKON_PENDING_KILL=%q: want a positive number of pending predictions", v)
		}
	}
	// Generous bounds for the big backlog: loading 10 million takes
	// minutes on a small machine, twice (runs A and B side by side).
	patience := 2*time.Minute + time.Duration(n/10_000)*time.Second
	group, predTopic, outTopic, s := eosTopics(t, "pendkill")
	backlogStart := eosBase.Add(-10 * time.Minute)
	addBacklog(s, n, backlogStart)
	want := len(s.tr.windows)
	gA, gB := group+"-g1", group+"-g2"
	rA, rB := group+"-r1", group+"-r2"
	dirA, dirB := filepath.Join(t.TempDir(), "state-a"), filepath.Join(t.TempDir(), "state-b")

	start := time.Now()
	if err := produceBacklog(context.Background(), brokers, predTopic, n, backlogStart); err != nil {
		t.Fatal(err)
	}
	t.Logf("produced %d pending predictions in %v", n, time.Since(start).Round(time.Millisecond))

	a := launchReckon(t, pendingConfig(gA, predTopic, outTopic, rA, dirA), brokers, instanceArgs("a1")...)
	a.waitReady(t, patience, 50*time.Millisecond)
	aScrapes := watch(a, 200*time.Millisecond)

	// Run B is killed inside commits while it loads the backlog; once it
	// has, the stream is produced, and B is killed inside commits again.
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 15))
	cfgB := pendingConfig(gB, predTopic, outTopic, rB, dirB)
	var lifetimes []map[string]*dto.MetricFamily
	var kills []string
	inCommit := 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var produced chan error
	done := false
	loadedKill := false // a kill inside a commit with the whole backlog held
	for inCommit < pendingKillMinKills || !done || !loadedKill {
		b := launchReckon(t, cfgB, brokers, instanceArgs("b1")...)
		b.waitReady(t, patience, 50*time.Millisecond)
		w := watch(b, 200*time.Millisecond)
		loaded := false
		if inCommit >= 1 && !loadedKill {
			// One kill once the store holds the whole backlog (most of
			// it only on disk when it is big).
			b.waitFor(t, patience, "the backlog held", func(m map[string]*dto.MetricFamily) bool {
				v, _ := value(m, "reckon_pending_predictions", nil)
				return v >= float64(n)
			})
			loaded = true
		}
		if loadedKill && produced == nil {
			produced = make(chan error, 1)
			go func() { produced <- produceStream(ctx, brokers, s, predTopic, outTopic, 8, 300*time.Millisecond, nil) }()
		}
		// Let it commit a few times, then kill it a random few
		// milliseconds into the next commit.
		skip := 1 + rng.IntN(4)
		delay := time.Duration(rng.IntN(30)) * time.Millisecond
		began, ended := make(chan struct{}), make(chan struct{}, 1)
		var once sync.Once
		seen := 0
		b.out.watch(func(p []byte) {
			switch {
			case bytes.Contains(p, []byte("committing a transaction")):
				if seen++; seen > skip {
					once.Do(func() { close(began) })
				}
			case bytes.Contains(p, []byte("transaction ended")) && seen > skip:
				select {
				case ended <- struct{}{}:
				default:
				}
			}
		})
		select {
		case <-began:
		case <-time.After(patience):
			t.Fatalf("lifetime %d: no commit within %v", len(lifetimes)+1, patience)
		}
		time.Sleep(delay)
		b.kill()
		b.out.watch(nil)
		during := len(ended) == 0
		if during {
			inCommit++
			loadedKill = loadedKill || loaded
		}
		if ok, err := b.exited(); !ok {
			t.Fatalf("lifetime %d: reckon still running after SIGKILL (%v)", len(lifetimes)+1, err)
		}
		lifetimes = append(lifetimes, w.finish())
		kills = append(kills, fmt.Sprintf("%v into commit %d (inside it: %v, backlog held: %v)", delay, skip+1, during, loaded))
		if produced != nil {
			select {
			case err := <-produced:
				if err != nil {
					t.Fatal(err)
				}
				done = true
				produced = make(chan error) // never again
			default:
			}
		}
		if len(kills) > 40 {
			t.Fatalf("%d kills and only %d inside a commit: %s", len(kills), inCommit, strings.Join(kills, ", "))
		}
	}
	t.Logf("run B: killed %d times, %d inside a commit (seed %d): %s", len(kills), inCommit, seed, strings.Join(kills, ", "))

	b := launchReckon(t, cfgB, brokers, instanceArgs("b1")...)
	b.waitReady(t, patience, 50*time.Millisecond)
	w := watch(b, 200*time.Millisecond)
	readWindows(t, brokers, rB, want, patience, 0) // all published
	time.Sleep(2 * eosCommitInterval)
	pendingB := b.waitFor(t, patience, "every record committed", func(m map[string]*dto.MetricFamily) bool {
		v, _ := value(m, "reckon_pending_predictions", nil)
		return v >= float64(n)
	})
	b.stop(t)
	lifetimes = append(lifetimes, w.finish())

	gotA := resultWindows(t, brokers, rA, want, patience)
	time.Sleep(2 * eosCommitInterval)
	a.stop(t)
	lastA := aScrapes.finish()
	gotB := resultWindows(t, brokers, rB, want, 10*time.Second)

	checkWindows(t, "run A (uninterrupted)", gotA, gotA, s.tr)
	checkWindows(t, "run B (killed in commits)", gotB, gotA, s.tr)
	checkCounters(t, "run A (uninterrupted)", sumCounters([]map[string]*dto.MetricFamily{lastA}), s, s.consumed(gA, predTopic, outTopic), false)
	checkCounters(t, "run B (killed), summed over its lifetimes", sumCounters(lifetimes), s, s.consumed(gB, predTopic, outTopic), true)
	// Pending at the end: the backlog, and the stream's predictions that
	// got no outcome (none expires within 720h).
	pa, _ := value(lastA, "reckon_pending_predictions", nil)
	pb, _ := value(pendingB, "reckon_pending_predictions", nil)
	if pa < float64(n) || pa != pb {
		t.Errorf("reckon_pending_predictions: run A %v, run B %v; want equal and at least the backlog's %d", pa, pb, n)
	}
	t.Logf("pending predictions at the end: %v; %d windows; took %v", pa, want, time.Since(start).Round(time.Second))
}

// pendingConfig is eosConfig with label_ttl 720h, the given state_dir and
// a small state_memory.
func pendingConfig(group, predTopic, outTopic, resultsTopic, stateDir string) string {
	cfg := eosConfig(group, predTopic, outTopic, resultsTopic)
	cfg = strings.Replace(cfg, "label_ttl: 10m\n", fmt.Sprintf("label_ttl: 720h\nstate_dir: %q\nstate_memory: 64MiB\n", stateDir), 1)
	return cfg
}

// backlogRecord is the i-th pending prediction: model churn, version vP,
// a score, no features; its outcome never comes.
func backlogRecord(i int, at time.Time) []byte {
	return fmt.Appendf(nil, `{"prediction_id":"pend-%08d","model":"churn","model_version":"vP","timestamp":%d,"score":0.%03d}`,
		i, at.UnixMilli(), 100+i*7919%900)
}

// backlogTime spreads n predictions evenly over the 10 minutes from start.
func backlogTime(start time.Time, i, n int) time.Time {
	return start.Add(time.Duration(int64(i) * int64(10*time.Minute) / int64(n)))
}

// addBacklog adds n pending predictions from start to the stream's truth.
func addBacklog(s *eosStream, n int, start time.Time) {
	perMinute := map[time.Time]int{}
	for i := range n {
		perMinute[backlogTime(start, i, n).Truncate(time.Minute)]++
	}
	for m, c := range perMinute {
		s.tr.addToWindows("churn", m, func(r *results.Record) { r.Predictions += uint64(c) })
	}
	s.predictions["model=churn,model_version=vP,status=ok"] += float64(n)
	s.preds += n
}

// produceBacklog produces the n pending predictions, in event-time order.
func produceBacklog(ctx context.Context, addrs []string, topic string, n int, start time.Time) error {
	cl, err := kgo.NewClient(append(seedOpts(addrs), kgo.MaxBufferedRecords(200_000), kgo.ProducerLinger(5*time.Millisecond))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	var mu sync.Mutex
	var first error
	for i := range n {
		r := &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "pend-%08d", i), Value: backlogRecord(i, backlogTime(start, i, n))}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	return first
}
