package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/testcontainers/testcontainers-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The Kafka every test in this package talks to, chosen once in TestMain:
//   - KAFKA_BROKERS, when set: a real broker (CI starts Apache Kafka from
//     its own jars, deploy/kafka-local/kafka.sh);
//   - else, when a Docker engine answers, a broker in a container started
//     with testcontainers-go's Kafka module (container_test.go);
//   - else an in-process kfake cluster, so that `go test ./...` works on a
//     machine with nothing but Go.
//
// Every run prints which one it used. Under CI=true a missing KAFKA_BROKERS
// is a failure: CI must test against the real broker and never silently
// falls back.
var (
	brokers   []string
	kafkaKind string
	reckonBin string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	switch env := os.Getenv("KAFKA_BROKERS"); {
	case env != "":
		brokers = strings.Split(env, ",")
		kafkaKind = "real broker from KAFKA_BROKERS"
	case os.Getenv("CI") == "true":
		// Checked before Docker on purpose: CI tests the Apache Kafka that
		// .ci/run starts and exports as KAFKA_BROKERS. Were it missing on a
		// CI machine that has Docker, taking the container path would
		// quietly test another broker (see kafkaImage) instead of reporting
		// the broken CI script.
		fmt.Fprintln(os.Stderr, "integration: CI=true but KAFKA_BROKERS is not set: CI must run against a real Kafka broker (see .ci/run); refusing to fall back to kfake")
		return 1
	default:
		why := dockerAnswers()
		if why == nil {
			// A Docker engine answered, so the user expects the container:
			// if it does not start (no image, no network, a broken engine)
			// the run fails with the error rather than falling back to
			// kfake, which would hide that the real broker was not tested.
			addrs, stop, err := startKafkaContainer()
			if err != nil {
				fmt.Fprintln(os.Stderr, "integration: a Docker engine answers but the Kafka container did not start (set KAFKA_BROKERS to use another broker):", err)
				return 1
			}
			defer func() {
				if err := stop(); err != nil {
					fmt.Fprintln(os.Stderr, "integration: removing the Kafka container:", err)
				}
			}()
			brokers = addrs
			kafkaKind = "testcontainers (" + kafkaImage + ")"
			break
		}
		c, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			fmt.Fprintln(os.Stderr, "integration: starting kfake:", err)
			return 1
		}
		defer c.Close()
		brokers = c.ListenAddrs()
		kafkaKind = "in-process kfake (no Docker engine answered testcontainers: " + why.Error() + "; set KAFKA_BROKERS for a real broker)"
	}
	fmt.Printf("integration: Kafka = %s at %s\n", kafkaKind, strings.Join(brokers, ","))

	dir, err := os.MkdirTemp("", "reckon-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	reckonBin = filepath.Join(dir, "reckon")
	// RECKON_IT_RACE=1 builds reckon with the race detector, halting on
	// the first race (GORACE is inherited by every reckon process), so
	// that the end-to-end tests exercise the processor's concurrency.
	args := []string{"build", "-o", reckonBin}
	if os.Getenv("RECKON_IT_RACE") == "1" {
		args = append(args, "-race")
		os.Setenv("GORACE", "halt_on_error=1 "+os.Getenv("GORACE"))
	}
	build := exec.Command("go", append(args, "../cmd/reckon")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "integration: building reckon:", err)
		return 1
	}
	return m.Run()
}

// dockerAnswers returns nil when a Docker engine answers, or why not. It
// asks testcontainers itself (what testcontainers.SkipIfProviderIsNotHealthy
// does), so the engine is found exactly where the container path will look
// for it: tc.host in ~/.testcontainers.properties, DOCKER_HOST (with
// DOCKER_TLS_VERIFY/DOCKER_CERT_PATH), /var/run/docker.sock, docker.host in
// the properties file, then the rootless and Docker Desktop sockets
// ($XDG_RUNTIME_DIR/docker.sock, ~/.docker/run/docker.sock,
// ~/.docker/desktop/docker.sock).
//
// testcontainers discovers the host with a background context, so the
// check runs in a goroutine: an engine that has not answered within a few
// seconds counts as absent.
func dockerAnswers() error {
	const timeout = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res := make(chan error, 1)
	go func() {
		// With no Docker host at all, testcontainers panics rather than
		// returning an error.
		defer func() {
			if r := recover(); r != nil {
				res <- fmt.Errorf("%v", r)
			}
		}()
		p, err := testcontainers.NewDockerProvider()
		if err != nil {
			res <- err
			return
		}
		res <- p.Health(ctx) // docker info; closes p's client
	}()
	select {
	case err := <-res:
		if err != nil {
			// errors.Join in testcontainers' discovery spans lines.
			return errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no answer within %v", timeout)
	}
}

// uniqueName returns prefix plus random hex, so that tests sharing one
// broker never share topics or groups.
func uniqueName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func newClient(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return newClientAt(t, brokers, opts...)
}

// clusterOpts holds the client options (TLS, SASL) of the clusters that
// need them, by first seed address: every helper that takes the addresses
// of a cluster connects with them (secure_harness_test.go registers a
// secured cluster's super user).
var clusterOpts sync.Map // string → []kgo.Opt

// seedOpts returns the options that connect to the cluster at addrs.
func seedOpts(addrs []string) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(addrs...)}
	if v, ok := clusterOpts.Load(addrs[0]); ok {
		opts = append(opts, v.([]kgo.Opt)...)
	}
	return opts
}

// newClientAt is newClient for the cluster at addrs.
func newClientAt(t *testing.T, addrs []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(seedOpts(addrs), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func createTopics(t *testing.T, partitions int32, topics ...string) {
	t.Helper()
	createTopicsAt(t, brokers, partitions, topics...)
}

// createTopicsAt is createTopics on the cluster at addrs.
func createTopicsAt(t *testing.T, addrs []string, partitions int32, topics ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(newClientAt(t, addrs))
	resp, err := adm.CreateTopics(ctx, partitions, 1, nil, topics...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil {
			t.Fatalf("creating %s: %v", r.Topic, r.Err)
		}
	}
}

// produceSync produces records and returns them with their partitions and
// offsets filled in.
func produceSync(t *testing.T, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// readTopic reads every committed record of topic, until want records
// arrived or the timeout passed.
func readTopic(t *testing.T, topic string, want int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl := newClient(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var got []*kgo.Record
	for len(got) < want {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		f.EachError(func(_ string, _ int32, err error) { t.Logf("reading %s: %v", topic, err) })
		got = append(got, f.Records()...)
	}
	return got
}

// reckonProc is a reckon process under test.
type reckonProc struct {
	cmd     *exec.Cmd
	addr    string
	out     *syncBuffer
	done    chan error
	started time.Time // just before the process was started
}

// startReckon runs `reckon run` with the given configuration (YAML; the
// test's brokers are filled in) and waits until /readyz answers 200.
func startReckon(t *testing.T, cfg string) *reckonProc {
	t.Helper()
	p := launchReckon(t, cfg, brokers)
	p.waitReady(t, 60*time.Second, 100*time.Millisecond)
	return p
}

// launchReckon starts `reckon run` with the given configuration against
// the cluster at addrs, with extra command-line arguments, on a free
// --listen address, without waiting for it to be ready. At the test's end
// it is stopped with SIGTERM (unless it exited already) and, if the test
// failed, its output is logged.
//
// A free address is only free until someone binds it: when many processes
// start at once (TestTrafficShapes), another may take it between freeAddr
// and reckon's listen, and /readyz would then answer for that process. So
// launchReckon waits until reckon has bound its address (it logs "serving
// metrics") and starts it again on another one if the address was taken.
func launchReckon(t *testing.T, cfg string, addrs []string, args ...string) *reckonProc {
	t.Helper()
	path := filepath.Join(t.TempDir(), "reckon.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		p := startReckonProc(t, path, addrs, args)
		if !p.addrTaken() || attempt == 5 {
			return p
		}
		t.Logf("reckon could not listen on %s, taken meanwhile; starting it on another address", p.addr)
	}
}

// startReckonProc is one attempt of launchReckon.
func startReckonProc(t *testing.T, path string, addrs []string, args []string) *reckonProc {
	t.Helper()
	addr := freeAddr(t)
	p := &reckonProc{addr: addr, out: new(syncBuffer), done: make(chan error, 1)}
	p.cmd = exec.Command(reckonBin, append([]string{"run", "--config", path, "--brokers", strings.Join(addrs, ","), "--listen", addr, "--log.level", "debug"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.stop(t)
		if strings.Contains(p.out.String(), "WARNING: DATA RACE") {
			t.Errorf("reckon reported a data race (RECKON_IT_RACE=1)")
		}
		if t.Failed() {
			t.Logf("reckon %s output:\n%s", strings.Join(args, " "), p.out.String())
		}
	})
	return p
}

// addrTaken waits until p has bound its --listen address or exited, and
// reports whether it exited because the address was in use.
func (p *reckonProc) addrTaken() bool {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(p.out.String(), "serving metrics") {
			return false
		}
		if ok, _ := p.exited(); ok {
			return strings.Contains(p.out.String(), "address already in use")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// waitReady polls /readyz every poll until it answers 200, failing the
// test if reckon exits first or timeout passes.
func (p *reckonProc) waitReady(t *testing.T, timeout, poll time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get("http://" + p.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-p.done:
			p.done <- err // for stop and kill
			t.Fatalf("reckon exited before ready: %v\n%s", err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("reckon not ready after %v\n%s", timeout, p.out.String())
		}
		time.Sleep(poll)
	}
}

// kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *reckonProc) kill() {
	p.cmd.Process.Kill()
	err := <-p.done
	p.done <- err
}

// exited reports whether the process has ended, and how.
func (p *reckonProc) exited() (bool, error) {
	select {
	case err := <-p.done:
		p.done <- err
		return true, err
	default:
		return false, nil
	}
}

// stop sends SIGTERM and waits for a clean exit (once).
func (p *reckonProc) stop(t *testing.T) {
	t.Helper()
	if ok, _ := p.exited(); ok {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Errorf("reckon exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		p.kill()
		t.Errorf("reckon did not stop within 30s of SIGTERM")
	}
}

// scrape returns the metric families reckon exposes now.
func (p *reckonProc) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := p.tryScrape()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// tryScrape is scrape for any goroutine: it returns the error.
func (p *reckonProc) tryScrape() (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

// waitFor scrapes until cond holds or the timeout passes, returning the
// last scrape.
func (p *reckonProc) waitFor(t *testing.T, timeout time.Duration, what string, cond func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		mfs := p.scrape(t)
		if cond(mfs) {
			return mfs
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// value returns the value of the series of name with exactly the given
// labels (others ignored when not named), and whether it exists.
func value(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		if matches(m, labels) {
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Untyped != nil:
				return m.GetUntyped().GetValue(), true
			}
		}
	}
	return 0, false
}

// series returns every series of name as label-set string → value, for
// exact comparison with an expected map.
func series(mfs map[string]*dto.MetricFamily, name string, keys ...string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range mfs[name].GetMetric() {
		var parts []string
		for _, k := range keys {
			parts = append(parts, k+"="+labelValue(m, k))
		}
		v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
		out[strings.Join(parts, ",")] = v
	}
	return out
}

func matches(m *dto.Metric, labels map[string]string) bool {
	for k, v := range labels {
		if labelValue(m, k) != v {
			return false
		}
	}
	return true
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer is a bytes.Buffer safe for a process's concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	// onWrite, when set, sees every write (reckon's output comes a line
	// per write), under mu.
	onWrite func(p []byte)
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.onWrite != nil {
		s.onWrite(p)
	}
	return s.b.Write(p)
}

// watch sets onWrite.
func (s *syncBuffer) watch(f func(p []byte)) {
	s.mu.Lock()
	s.onWrite = f
	s.mu.Unlock()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)

// produceSentinels produces, to every partition of both input topics, one
// valid prediction (predicted 0) and one outcome of model at time at, with
// explicit partitions. Sent after a scenario's records, they move the
// watermark of every partition to at − allowed_lateness, closing every
// window that ends by then; their own window stays open. The outcomes have
// ids no prediction has, so they wait and are orphaned at at + label_ttl.
func produceSentinels(t *testing.T, predTopic, outTopic string, partitions int32, model string, at time.Time) {
	t.Helper()
	produceSync(t, newClient(t, kgo.RecordPartitioner(kgo.ManualPartitioner())), sentinels(predTopic, outTopic, partitions, model, at)...)
}

// sentinels returns produceSentinels' records, each with its partition
// (produce them with kgo.ManualPartitioner).
func sentinels(predTopic, outTopic string, partitions int32, model string, at time.Time) []*kgo.Record {
	var recs []*kgo.Record
	for p := range partitions {
		id := fmt.Sprintf("sentinel-%d", p)
		recs = append(recs,
			&kgo.Record{Topic: predTopic, Partition: p, Key: []byte(id),
				Value: fmt.Appendf(nil, `{"prediction_id":%q,"model":%q,"timestamp":%d,"predicted":0}`, id, model, at.UnixMilli())},
			&kgo.Record{Topic: outTopic, Partition: p, Key: []byte("orphan-" + id),
				Value: fmt.Appendf(nil, `{"prediction_id":"orphan-%s","model":%q,"timestamp":%d,"label":0}`, id, model, at.UnixMilli())})
	}
	return recs
}
