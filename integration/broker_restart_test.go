package integration

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// ownBroker is a single-node Apache Kafka of one test's own, run by
// deploy/kafka-local/kafka.sh on free ports with its data in the test's
// temporary directory, so that the test may stop and restart it without
// disturbing the other tests (and packages) on the shared broker.
type ownBroker struct {
	addr   string
	script string
	env    []string
}

// startOwnBroker starts a broker for t, stopped (and its data deleted) when
// t ends, with env added to kafka.sh's environment (KAFKA_SECURITY=secure,
// say). A test that cannot have one is skipped, except under CI=true, where
// it fails: CI must test what the test is there for.
func startOwnBroker(t *testing.T, env ...string) *ownBroker {
	t.Helper()
	script, err := filepath.Abs("../deploy/kafka-local/kafka.sh")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(freeAddr(t))
	_, ctrl, _ := net.SplitHostPort(freeAddr(t))
	b := &ownBroker{addr: "127.0.0.1:" + port, script: script, env: append(os.Environ(),
		"KAFKA_RUN_DIR="+filepath.Join(t.TempDir(), "kafka"),
		"KAFKA_PORT="+port, "KAFKA_CONTROLLER_PORT="+ctrl,
		"KAFKA_HEAP_OPTS=-Xms128m -Xmx512m")}
	b.env = append(b.env, env...)
	t0 := time.Now()
	if out, err := b.run("start"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: cannot start this test's own Kafka broker with %s start: %v\n%s", script, err, out)
		}
		t.Skipf("cannot start a Kafka broker of this test's own (needs a JDK 17+ and the jars kafka.sh fetches): %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := b.run("stop"); err != nil {
			t.Errorf("stopping the test's broker: %v\n%s", err, out)
		}
	})
	t.Logf("own broker at %s, started in %v", b.addr, time.Since(t0).Round(time.Millisecond))
	return b
}

// run runs kafka.sh with cmd (start, stop, halt, resume) for this broker.
func (b *ownBroker) run(cmd string) ([]byte, error) {
	c := exec.Command("bash", b.script, cmd)
	c.Env = b.env
	return c.CombinedOutput()
}

// TestBrokerRestart proves that reckon rides out a restart of the Kafka
// cluster it works with (docs/semantics.md "Delivery": after a crash, every
// result equals an uninterrupted run's): mid-stream the broker (its own,
// single node: group and transaction coordinator, partition leader) stops
// for a few seconds and starts again on its data; the same reckon process,
// never restarted, recovers by itself and publishes exactly the results of
// a reckon over the same input on a broker that stayed up — every window
// once, byte for byte, with the ground truth's counts — and its counters
// end equal to the input's (nothing counted twice by work redone after the
// outage).
func TestBrokerRestart(t *testing.T) {
	t.Parallel() // own topics, groups (and broker): runs beside the others
	own := startOwnBroker(t)
	brokerRestart(t, own, []string{own.addr}, uniqueName("brokerrestart"), func(cfg string) string { return cfg })
}

// brokerRestart is TestBrokerRestart's scenario on the broker own, reached
// at addrs, for the group named group; secure(cfg) turns a configuration
// of the shared broker into one of own (adding TLS and SASL, say). It
// returns the reckon that rode the restart out, stopped.
func brokerRestart(t *testing.T, own *ownBroker, addrs []string, group string, secure func(cfg string) string) *reckonProc {
	t.Helper()
	predTopic, outTopic := group+"-predictions", group+"-outcomes"
	createTopicsAt(t, addrs, eosPartitions, predTopic, outTopic)
	createTopics(t, eosPartitions, predTopic, outTopic)
	s := newEOSStream(6000)
	want := len(s.tr.windows)

	// The uninterrupted run, on the shared broker, all input at once.
	ref := launchReckon(t, eosConfig(group+"-ref", predTopic, outTopic, group+"-ref-results"), brokers, instanceArgs("ref")...)
	ref.waitReady(t, 60*time.Second, 50*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := produceStream(ctx, brokers, s, predTopic, outTopic, 1, 0, nil); err != nil {
		t.Fatal(err)
	}

	p := launchReckon(t, secure(eosConfig(group, predTopic, outTopic, group+"-results")), addrs, instanceArgs("r1")...)
	p.waitReady(t, 60*time.Second, 50*time.Millisecond)
	var down time.Duration
	err := produceStream(ctx, addrs, s, predTopic, outTopic, 8, 700*time.Millisecond, func(i int) {
		if i != 4 {
			return
		}
		t0 := time.Now()
		if out, err := own.run("halt"); err != nil {
			t.Fatalf("halting the broker: %v\n%s", err, out)
		}
		time.Sleep(3 * time.Second)
		if out, err := own.run("resume"); err != nil {
			t.Fatalf("restarting the broker: %v\n%s", err, out)
		}
		down = time.Since(t0)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("broker stopped and restarted mid-stream, unreachable for %v", down.Round(time.Millisecond))

	readWindows(t, addrs, group+"-results", want, 60*time.Second, 0) // all published
	if ok, err := p.exited(); ok {
		t.Fatalf("reckon exited (%v) instead of recovering from the broker restart", err)
	}
	consumed := s.consumed(group, predTopic, outTopic)
	var mfs map[string]*dto.MetricFamily
	deadline := time.Now().Add(5 * time.Second)
	for {
		mfs = p.scrape(t)
		c := sumCounters([]map[string]*dto.MetricFamily{mfs})
		if time.Now().After(deadline) || (c.consumed["topic="+predTopic] == consumed["topic="+predTopic] && c.consumed["topic="+outTopic] == consumed["topic="+outTopic]) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.stop(t)
	got := resultWindows(t, addrs, group+"-results", want, 10*time.Second)
	gotRef := resultWindows(t, brokers, group+"-ref-results", want, 45*time.Second)
	ref.stop(t)

	checkWindows(t, "uninterrupted run", gotRef, gotRef, s.tr)
	checkWindows(t, "across the broker restart", got, gotRef, s.tr)
	checkCounters(t, "across the broker restart", sumCounters([]map[string]*dto.MetricFamily{mfs}), s, consumed, false)
	return p
}
