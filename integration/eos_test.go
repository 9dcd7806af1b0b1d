package integration

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// eosMinKills is how many times TestExactlyOnceAcrossKills kills reckon at
// the least.
const eosMinKills = 4

// TestExactlyOnceAcrossKills proves docs/semantics.md "Delivery" across crashes:
// a reckon killed with SIGKILL at random moments while the stream is being
// produced, and restarted each time (the same group and instance id),
// publishes exactly the results of a reckon that ran uninterrupted over the
// same input: every (model, window, start) once, each record byte for byte
// the same, with counts equal to a ground truth computed independently
// from the input. Nothing is lost (state is restored from the checkpoint)
// and nothing counted twice (results and state commit atomically with the
// input offsets). It also proves that Prometheus counters advance only
// with committed work: summed over the lifetimes (each one's last scrape
// before it died), consumed records, predictions and joined outcomes never
// exceed what the input holds; the uninterrupted run's equal it exactly.
func TestExactlyOnceAcrossKills(t *testing.T) {
	t.Parallel() // own topics, groups (and broker): runs beside the others
	group, predTopic, outTopic, s := eosTopics(t, "eos")
	want := len(s.tr.windows)
	gA, gB := group+"-g1", group+"-g2"
	rA, rB := group+"-r1", group+"-r2"

	// Run A, uninterrupted, and run B, killed again and again, both
	// consume the stream while it is produced, in 12 chunks over 6 s.
	a := launchReckon(t, eosConfig(gA, predTopic, outTopic, rA), brokers, instanceArgs("a1")...)
	a.waitReady(t, 60*time.Second, 50*time.Millisecond)
	aScrapes := watch(a, 100*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	produced := make(chan error, 1)
	go func() { produced <- produceStream(ctx, brokers, s, predTopic, outTopic, 12, 500*time.Millisecond, nil) }()

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 6))
	cfgB := eosConfig(gB, predTopic, outTopic, rB)
	var lifetimes []map[string]*dto.MetricFamily
	var kills []string
	done := false
	checkProduced := func(block bool) {
		if done {
			return
		}
		select {
		case err := <-produced:
			if err != nil {
				t.Fatal(err)
			}
			done = true
		default:
			if block {
				if err := <-produced; err != nil {
					t.Fatal(err)
				}
				done = true
			}
		}
	}
	for len(kills) < eosMinKills || (eosMinKills > 0 && !done) {
		b := launchReckon(t, cfgB, brokers, instanceArgs("b1")...)
		b.waitReady(t, 60*time.Second, 50*time.Millisecond)
		w := watch(b, 100*time.Millisecond)
		life := time.Duration(500+rng.IntN(2500)) * time.Millisecond
		time.Sleep(life)
		if ok, err := b.exited(); ok {
			t.Fatalf("reckon exited by itself (%v) in lifetime %d", err, len(lifetimes)+1)
		}
		b.kill()
		last := w.finish()
		lifetimes = append(lifetimes, last)
		kills = append(kills, fmt.Sprintf("%v after ready (up %v)", life, time.Since(b.started).Round(time.Millisecond)))
		checkProduced(false)
	}
	t.Logf("run B: killed %d times (seed %d): %s", len(kills), seed, strings.Join(kills, ", "))

	// The last lifetime runs until every window is published, then stops
	// with SIGTERM.
	b := launchReckon(t, cfgB, brokers, instanceArgs("b1")...)
	b.waitReady(t, 60*time.Second, 50*time.Millisecond)
	w := watch(b, 100*time.Millisecond)
	checkProduced(true)
	readWindows(t, brokers, rB, want, 45*time.Second, 0) // all published
	time.Sleep(2 * eosCommitInterval)
	b.stop(t)
	lifetimes = append(lifetimes, w.finish())

	gotA := resultWindows(t, brokers, rA, want, 45*time.Second)
	time.Sleep(2 * eosCommitInterval)
	a.stop(t)
	lastA := aScrapes.finish()
	gotB := resultWindows(t, brokers, rB, want, 10*time.Second)

	checkWindows(t, "run A (uninterrupted)", gotA, gotA, s.tr)
	checkWindows(t, "run B (killed)", gotB, gotA, s.tr)
	checkCounters(t, "run A (uninterrupted)", sumCounters([]map[string]*dto.MetricFamily{lastA}), s, s.consumed(gA, predTopic, outTopic), false)
	checkCounters(t, "run B (killed), summed over its lifetimes", sumCounters(lifetimes), s, s.consumed(gB, predTopic, outTopic), true)
	for i, l := range lifetimes {
		if l == nil {
			t.Errorf("run B lifetime %d: no successful scrape", i+1)
		}
	}
	sum := sumCounters(lifetimes)
	t.Logf("run B: counters summed over %d lifetimes: consumed %v of %v", len(lifetimes), sum.consumed, s.consumed(gB, predTopic, outTopic))
}

// TestScaleOutAndBack proves docs/semantics.md "Scale-out" and "Delivery" over
// rebalances: while the stream is produced, a group grows from one member
// to three (static members m1, m2, m3) and back to one (m2 and m3 stopped
// with SIGTERM), and the results topic holds exactly what an uninterrupted
// single-member run publishes: every window once, byte for byte, with the
// ground truth's counts — per-model results merged from the members'
// partial sketches, partitions' state handed over with them. It also
// proves that a member exports reckon_consumer_lag_records only for the
// partitions it owns: after each rebalance the members' lag series cover
// disjoint partition sets, as many as reckon_assigned_partitions says, so a
// member that lost partitions stopped exporting them.
func TestScaleOutAndBack(t *testing.T) {
	t.Parallel() // own topics, groups (and broker): runs beside the others
	group, predTopic, outTopic, s := eosTopics(t, "scale")
	want := len(s.tr.windows)
	single, scaled := group+"-single", group+"-scaled"

	ref := launchReckon(t, eosConfig(single, predTopic, outTopic, single+"-results"), brokers, instanceArgs("s1")...)
	ref.waitReady(t, 60*time.Second, 50*time.Millisecond)
	cfg := eosConfig(scaled, predTopic, outTopic, scaled+"-results")
	m1 := launchReckon(t, cfg, brokers, instanceArgs("m1")...)
	m1.waitReady(t, 60*time.Second, 50*time.Millisecond)
	refScrapes, m1Scrapes := watch(ref, 100*time.Millisecond), watch(m1, 100*time.Millisecond)

	var others []*reckonProc
	var otherScrapes []*scraper
	var last []map[string]*dto.MetricFamily
	err := produceStream(context.Background(), brokers, s, predTopic, outTopic, 10, 1500*time.Millisecond, func(i int) {
		switch i {
		case 3:
			for _, id := range []string{"m2", "m3"} {
				others = append(others, launchReckon(t, cfg, brokers, instanceArgs(id)...))
			}
			for _, p := range others {
				p.waitReady(t, 60*time.Second, 50*time.Millisecond)
				otherScrapes = append(otherScrapes, watch(p, 100*time.Millisecond))
			}
			waitOwnership(t, "after scaling out to 3 members", append([]*reckonProc{m1}, others...), 30*time.Second)
		case 7:
			t0 := time.Now()
			var wg sync.WaitGroup
			for _, p := range others {
				wg.Go(func() { p.stop(t) })
			}
			wg.Wait()
			for _, sc := range otherScrapes {
				last = append(last, sc.finish())
			}
			waitOwnership(t, "after scaling back to 1 member", []*reckonProc{m1}, 60*time.Second)
			t.Logf("m2 and m3 stopped; m1 owned every partition %v after the SIGTERM", time.Since(t0).Round(time.Millisecond))
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	readWindows(t, brokers, scaled+"-results", want, 45*time.Second, 0) // all published
	time.Sleep(2 * eosCommitInterval)
	m1.stop(t)
	last = append(last, m1Scrapes.finish())
	gotRef := resultWindows(t, brokers, single+"-results", want, 45*time.Second)
	time.Sleep(2 * eosCommitInterval)
	ref.stop(t)
	lastRef := refScrapes.finish()
	got := resultWindows(t, brokers, scaled+"-results", want, 10*time.Second)

	checkWindows(t, "single member (uninterrupted)", gotRef, gotRef, s.tr)
	checkWindows(t, "scaled 1→3→1", got, gotRef, s.tr)
	checkCounters(t, "single member (uninterrupted)", sumCounters([]map[string]*dto.MetricFamily{lastRef}), s, s.consumed(single, predTopic, outTopic), false)
	checkCounters(t, "scaled 1→3→1, summed over the members", sumCounters(last), s, s.consumed(scaled, predTopic, outTopic), true)
}

// waitOwnership waits until the members together own every input partition
// (reckon_assigned_partitions) and each exports reckon_consumer_lag_records
// for exactly as many partitions as it owns, no partition by two members.
func waitOwnership(t *testing.T, what string, members []*reckonProc, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var state []string
		union := map[string]bool{}
		sum, ok := 0, true
		for i, p := range members {
			mfs, err := p.tryScrape()
			if err != nil {
				ok = false
				state = append(state, fmt.Sprintf("member %d: %v", i+1, err))
				continue
			}
			assigned, _ := value(mfs, "reckon_assigned_partitions", nil)
			parts := lagPartitions(mfs)
			sum += int(assigned)
			for part := range parts {
				union[part] = true
			}
			if assigned == 0 || len(parts) != int(assigned) {
				ok = false
			}
			state = append(state, fmt.Sprintf("member %d: %v assigned, lag series of partitions %v", i+1, assigned, slices.Sorted(maps.Keys(parts))))
		}
		if ok && sum == eosPartitions && len(union) == eosPartitions {
			t.Logf("%s: %s", what, strings.Join(state, "; "))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: after %v the members do not own the %d partitions apart, each exporting lag only for its own: %s",
				what, timeout, eosPartitions, strings.Join(state, "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// recoveryConfig is TestRecoveryTime's configuration: predictions wait for
// labels for a month of event time, so every one stays pending.
func recoveryConfig(group string) string {
	return eosYAML(group, group+"-predictions", group+"-outcomes", group+"-results", `windows: [1m]
allowed_lateness: 10s
label_ttl: 720h
models:
  - name: m
    features:
      - {name: x, type: numeric}
`)
}

// TestRecoveryTime measures how long a reckon killed with SIGKILL takes,
// once restarted, to be ready and to hold its join state again, with N
// predictions pending (N from RECKON_RECOVERY_PENDING, default 100000),
// and proves the join state is restored exactly: reckon_pending_predictions
// is N again after the restart (no outcome arrives, so none may be lost or
// added). The figures are logged, not asserted.
func TestRecoveryTime(t *testing.T) {
	n := 100000
	if v := os.Getenv("RECKON_RECOVERY_PENDING"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("RECKON_RECOVERY_PENDING=%q: want a positive number", v)
		}
	}
	group := uniqueName("recovery")
	createTopics(t, eosPartitions, group+"-predictions", group+"-outcomes")
	cl := newClient(t, kgo.DefaultProduceTopic(group+"-predictions"), kgo.ProducerLinger(5*time.Millisecond))
	const batch = 50000
	recs := make([]*kgo.Record, 0, min(n, batch))
	for i := range n {
		id := fmt.Sprintf("r-%08d", i)
		recs = append(recs, &kgo.Record{Key: []byte(id), Value: fmt.Appendf(nil,
			`{"prediction_id":%q,"model":"m","timestamp":%d,"score":0.%03d,"features":{"x":%d}}`,
			id, eosBase.Add(time.Duration(i)*10*time.Millisecond).UnixMilli(), i%1000, i%500)})
		if len(recs) == batch || i == n-1 {
			produceSync(t, cl, recs...)
			recs = recs[:0]
		}
	}

	cfg := recoveryConfig(group)
	p := launchReckon(t, cfg, brokers, instanceArgs("r1")...)
	p.waitReady(t, 60*time.Second, 50*time.Millisecond)
	consumeTimeout := 60*time.Second + time.Duration(n/10000)*time.Second
	t0 := time.Now()
	p.waitFor(t, consumeTimeout, fmt.Sprintf("reckon_pending_predictions = %d", n), func(m map[string]*dto.MetricFamily) bool {
		v, _ := value(m, "reckon_pending_predictions", nil)
		return v == float64(n)
	})
	consumed := time.Since(t0)
	time.Sleep(2 * eosCommitInterval)
	p.kill()

	q := launchReckon(t, cfg, brokers, instanceArgs("r1")...)
	q.waitReady(t, 120*time.Second, 10*time.Millisecond)
	ready := time.Since(q.started)
	deadline := time.Now().Add(consumeTimeout)
	last, seen := 0.0, false
	for {
		if mfs, err := q.tryScrape(); err == nil {
			last, seen = value(mfs, "reckon_pending_predictions", nil)
			if last == float64(n) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v after the restart reckon_pending_predictions = %v (exported %v), want %d: the join state was not restored (ready after %.2f s)",
				consumeTimeout, last, seen, n, ready.Seconds())
		}
		time.Sleep(20 * time.Millisecond)
	}
	restored := time.Since(q.started)
	t.Logf("recovery: %d pending, ready after %.2f s, pending restored after %.2f s (first run consumed them in %.2f s)",
		n, ready.Seconds(), restored.Seconds(), consumed.Seconds())
	// No outcome came, so the count stays.
	time.Sleep(2 * eosCommitInterval)
	if v, _ := value(q.scrape(t), "reckon_pending_predictions", nil); v != float64(n) {
		t.Errorf("reckon_pending_predictions = %v after the restore, want %d", v, n)
	}
}
