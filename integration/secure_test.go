package integration

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/reckonhq/reckon/consumer"
	"github.com/reckonhq/reckon/internal/testpki"
)

// The tests of reckon against a broker that enforces what production
// clusters do (secure_harness_test.go): no anonymous client, SASL_SSL or
// mutual TLS, and ACLs. docs/security.md is what they check.

// secureInputs returns the secured cluster, a directory for the test's
// files, and a unique name whose input topics it created there.
func secureInputs(t *testing.T, prefix string) (sc *secureCluster, dir, name, predTopic, outTopic string) {
	t.Helper()
	sc = secureClusterOrSkip(t)
	name = uniqueName(prefix)
	predTopic, outTopic = name+"-predictions", name+"-outcomes"
	createTopicsAt(t, sc.sasl, eosPartitions, predTopic, outTopic)
	return sc, t.TempDir(), name, predTopic, outTopic
}

// writeConfig writes configuration cfg to dir/name and returns its path.
func writeConfig(t *testing.T, dir, name, cfg string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSecureExactlyOnce runs the exactly-once scenario of
// TestExactlyOnceAcrossKills through the secured broker, twice at once: a
// member over SASL_SSL (SCRAM-SHA-512), whose principal is granted what
// docs/security.md grants with Kafka's own kafka-acls.sh (reckon creates its
// topics), and a member over mutual TLS, whose principal is granted the
// same without Create (an admin created the topics). Each is killed with
// SIGKILL again and again while the stream is produced, and restarted. Both
// publish exactly what an uninterrupted run on the plain broker publishes:
// every window once, byte for byte, with the ground truth's counts; their
// counters, summed over the lifetimes, never exceed the input's.
func TestSecureExactlyOnce(t *testing.T) {
	t.Parallel() // own topics, groups and principals
	sc, dir, name, predTopic, outTopic := secureInputs(t, "secure-eos")
	createTopics(t, eosPartitions, predTopic, outTopic)
	s := newEOSStream(6000)
	want := len(s.tr.windows)

	// The reference: the plain broker, uninterrupted, all input at once.
	plain := name + "-plain"
	ref := launchReckon(t, eosConfig(plain, predTopic, outTopic, plain+"-results"), brokers, instanceArgs("p1")...)
	ref.waitReady(t, 60*time.Second, 50*time.Millisecond)
	refScrapes := watch(ref, 100*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := produceStream(ctx, brokers, s, predTopic, outTopic, 1, 0, nil); err != nil {
		t.Fatal(err)
	}

	// SASL_SSL: the principal gets what `reckon validate --acls` prints,
	// run through kafka-acls.sh, and nothing else.
	saslGroup := name + "-sasl"
	pwFile, password := sc.scramUser(t, dir, saslGroup)
	saslCfg := withKafka(t, eosConfig(saslGroup, predTopic, outTopic, saslGroup+"-results"), sc.saslBlock(saslGroup, pwFile))
	sc.grantAsDocumented(t, writeConfig(t, dir, "sasl.yaml", saslCfg), "User:"+saslGroup, requiredAccess(t, saslCfg, "s1"))

	// Mutual TLS: the certificate's CN is the principal; an admin
	// creates every topic, so the principal may create none.
	mtlsGroup := name + "-mtls"
	cert, key := sc.clientCert(t, dir, mtlsGroup)
	mtlsBase := eosConfig(mtlsGroup, predTopic, outTopic, mtlsGroup+"-results")
	mtlsCfg := withKafka(t, mtlsBase, sc.mtlsBlock(cert, key))
	var perms []consumer.Permission
	var owned []string
	for _, p := range requiredAccess(t, mtlsCfg, "m1") {
		if p.IfMissing {
			owned = append(owned, p.Name)
			continue
		}
		perms = append(perms, p)
	}
	createOwnedTopics(t, sc, dir, mtlsBase, owned)
	sc.grant(t, "User:"+mtlsGroup, perms)

	type member struct {
		what, cfg, id string
		addrs         []string
		lifetimes     []map[string]*dto.MetricFamily
	}
	members := []*member{
		{what: "SASL_SSL", cfg: saslCfg, id: "s1", addrs: sc.sasl},
		{what: "mutual TLS", cfg: mtlsCfg, id: "m1", addrs: sc.mtls},
	}
	produced := make(chan error, 1)
	go func() { produced <- produceStream(ctx, sc.sasl, s, predTopic, outTopic, 12, 500*time.Millisecond, nil) }()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 18))
	kills := 0
	for done := false; kills < 3 || !done; kills++ {
		procs, scrapes := launchAll(t, members, func(m *member) (string, []string, []string) { return m.cfg, m.addrs, instanceArgs(m.id) })
		time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
		for i, p := range procs {
			if ok, err := p.exited(); ok {
				t.Fatalf("%s member exited by itself (%v) in lifetime %d", members[i].what, err, kills+1)
			}
			p.kill()
			members[i].lifetimes = append(members[i].lifetimes, scrapes[i].finish())
		}
		select {
		case err := <-produced:
			if err != nil {
				t.Fatal(err)
			}
			done = true
		default:
		}
	}
	t.Logf("both members killed %d times (seed %d)", kills, seed)

	// The last lifetimes run until every window is published.
	procs, scrapes := launchAll(t, members, func(m *member) (string, []string, []string) { return m.cfg, m.addrs, instanceArgs(m.id) })
	for _, m := range members {
		readWindows(t, sc.sasl, resultsOf(m.cfg), want, 60*time.Second, 0) // all published
	}
	time.Sleep(2 * eosCommitInterval)
	for i, p := range procs {
		p.stop(t)
		members[i].lifetimes = append(members[i].lifetimes, scrapes[i].finish())
		// --log.level debug: the password is in no log line.
		if strings.Contains(p.out.String(), password) {
			t.Errorf("the %s member logged the SASL password", members[i].what)
		}
	}

	gotRef := resultWindows(t, brokers, plain+"-results", want, 45*time.Second)
	time.Sleep(2 * eosCommitInterval)
	ref.stop(t)
	lastRef := refScrapes.finish()
	checkWindows(t, "plain broker (uninterrupted)", gotRef, gotRef, s.tr)
	checkCounters(t, "plain broker (uninterrupted)", sumCounters([]map[string]*dto.MetricFamily{lastRef}), s, s.consumed(plain, predTopic, outTopic), false)
	for _, m := range members {
		group := strings.TrimSuffix(resultsOf(m.cfg), "-results")
		got := resultWindows(t, sc.sasl, resultsOf(m.cfg), want, 10*time.Second)
		checkWindows(t, m.what+" (killed)", got, gotRef, s.tr)
		if len(got) != len(gotRef) {
			t.Errorf("%s: %d windows, the plain run %d", m.what, len(got), len(gotRef))
		}
		checkCounters(t, m.what+" (killed), summed over its lifetimes", sumCounters(m.lifetimes), s, s.consumed(group, predTopic, outTopic), true)
	}
}

// resultsOf is the results topic of configuration cfg.
func resultsOf(cfg string) string {
	_, rest, _ := strings.Cut(cfg, "results_topic: ")
	topic, _, _ := strings.Cut(rest, "\n")
	return topic
}

// launchAll starts a reckon per member and waits until all are ready.
func launchAll[M any](t *testing.T, members []M, how func(M) (cfg string, addrs, args []string)) ([]*reckonProc, []*scraper) {
	t.Helper()
	var procs []*reckonProc
	var scrapes []*scraper
	for _, m := range members {
		cfg, addrs, args := how(m)
		procs = append(procs, launchReckon(t, cfg, addrs, args...))
	}
	for _, p := range procs {
		p.waitReady(t, 60*time.Second, 50*time.Millisecond)
		scrapes = append(scrapes, watch(p, 100*time.Millisecond))
	}
	return procs, scrapes
}

// createOwnedTopics creates, as the secured cluster's admin, the topics
// that reckon creates when it may (names, those of RequiredAccess's Create
// permissions), the way docs/security.md tells an admin to: `reckon topics
// create` with the admin's credentials and the member's configuration
// (cfg, without its kafka.tls and kafka.sasl), so
// each gets the partitions, cleanup policy and max.message.bytes that
// reckon run would have given it.
func createOwnedTopics(t *testing.T, sc *secureCluster, dir, cfg string, names []string) {
	t.Helper()
	pwFile := filepath.Join(dir, "admin-password")
	if err := os.WriteFile(pwFile, []byte(sc.adminPass), 0o600); err != nil {
		t.Fatal(err)
	}
	adminCfg := withKafka(t, cfg, sc.saslBlock(sc.adminUser, pwFile))
	path := filepath.Join(dir, "admin-reckon.yaml")
	if err := os.WriteFile(path, []byte(adminCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(reckonBin, "topics", "create", "--config", path, "--brokers", strings.Join(sc.sasl, ","), "--partitions", strconv.Itoa(eosPartitions)).CombinedOutput()
	if err != nil {
		t.Fatalf("reckon topics create as the admin: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topics, err := sc.admin(t).ListTopics(ctx, names...)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !topics.Has(n) {
			t.Fatalf("reckon topics create did not create %s:\n%s", n, out)
		}
	}
}

// waitExit waits until reckon exits by itself and returns its exit status.
func (p *reckonProc) waitExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("reckon: %v", err)
		}
		return 0
	case <-time.After(timeout):
		t.Fatalf("reckon still running after %v, want it to stop at start-up:\n%s", timeout, p.out.String())
	}
	return -1
}

// TestSecureEachACL proves that each permission docs/security.md grants is
// needed, and that a missing one stops reckon at start-up, never after
// partial work: for each, a principal allowed everything else runs reckon,
// which exits with status 1 and a message naming exactly that permission and
// its resource, having never been ready, created no topic and committed no
// offset, although input waits to be consumed.
func TestSecureEachACL(t *testing.T) {
	t.Parallel()
	sc, dir, base, predTopic, outTopic := secureInputs(t, "acl")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := newEOSStream(200)
	if err := produceStream(ctx, sc.sasl, s, predTopic, outTopic, 1, 0, nil); err != nil {
		t.Fatal(err)
	}
	config := func(i int) (group, cfg string) {
		group = fmt.Sprintf("%s-%02d", base, i)
		pwFile, _ := sc.scramUser(t, dir, group)
		return group, withKafka(t, eosConfig(group, predTopic, outTopic, group+"-results"), sc.saslBlock(group, pwFile))
	}
	_, cfg := config(99)
	n := len(requiredAccess(t, cfg, "a1"))
	for i := range n {
		group, cfg := config(i)
		need := requiredAccess(t, cfg, "a1")
		drop := need[i]
		t.Run(drop.String(), func(t *testing.T) {
			t.Parallel()
			sc.grant(t, "User:"+group, slices.Delete(slices.Clone(need), i, i+1))
			p := launchReckon(t, cfg, sc.sasl, instanceArgs("a1")...)
			if code := p.waitExit(t, 60*time.Second); code != 1 {
				t.Fatalf("exit status %d, want 1:\n%s", code, p.out.String())
			}
			out := p.out.String()
			if !strings.Contains(out, "missing "+drop.String()+": to "+drop.Why) {
				t.Errorf("the output does not name the missing permission %s:\n%s", drop, out)
			}
			if c := strings.Count(out, "  missing "); c != 1 {
				t.Errorf("%d missing permissions reported, want 1 (%s):\n%s", c, drop, out)
			}
			if strings.Contains(out, "partitions assigned") {
				t.Errorf("reckon was assigned partitions before it stopped:\n%s", out)
			}
			checkNoTrace(t, sc, group)
		})
	}
}

// checkNoTrace checks that group's member left nothing on the secured
// cluster: no topic of its own, no committed offset.
func checkNoTrace(t *testing.T, sc *secureCluster, group string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := sc.admin(t)
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range topics.Names() {
		if strings.HasPrefix(name, group+"-") {
			t.Errorf("topic %s exists: reckon got as far as creating its topics", name)
		}
	}
	// A broker whose __consumer_offsets is still being created (a fresh
	// one) answers COORDINATOR_NOT_AVAILABLE for a while: ask again.
	var offsets kadm.OffsetResponses
	for {
		offsets, err = adm.FetchOffsets(ctx, group)
		if !kerr.IsRetriable(err) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatalf("fetching the offsets of %s: %v", group, err)
	}
	offsets.Each(func(o kadm.OffsetResponse) {
		t.Errorf("group %s committed %s/%d at %d", group, o.Topic, o.Partition, o.At)
	})
}

// TestSecureAuthFailures checks that credentials or certificates the
// broker or reckon refuses stop reckon at start-up with a message saying
// what to check, instead of retries, and never show a password.
func TestSecureAuthFailures(t *testing.T) {
	t.Parallel()
	sc, dir, name, predTopic, outTopic := secureInputs(t, "auth")
	cfg := func(group, block string) string {
		return withKafka(t, eosConfig(group, predTopic, outTopic, group+"-results"), block)
	}
	_, right := sc.scramUser(t, dir, name)
	wrongFile := filepath.Join(dir, "wrong.password")
	if err := os.WriteFile(wrongFile, []byte("not-"+right), 0o600); err != nil {
		t.Fatal(err)
	}
	stranger, err := testpki.NewCA("a CA the broker does not know")
	if err != nil {
		t.Fatal(err)
	}
	strangerCA := filepath.Join(dir, "stranger-ca.pem")
	if err := os.WriteFile(strangerCA, stranger.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	strangerCert, err := stranger.Client(name, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	strangerCertFile, strangerKeyFile := filepath.Join(dir, "stranger.pem"), filepath.Join(dir, "stranger-key.pem")
	if err := strangerCert.Write(strangerCertFile, strangerKeyFile); err != nil {
		t.Fatal(err)
	}
	expired, err := sc.ca.Client(name, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	expiredFile, expiredKey := filepath.Join(dir, "expired.pem"), filepath.Join(dir, "expired-key.pem")
	if err := expired.Write(expiredFile, expiredKey); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		addrs []string
		block string
		code  int
		says  []string
	}{
		{"wrong password", sc.sasl, sc.saslBlock(name, wrongFile), 1,
			[]string{"SASL_AUTHENTICATION_FAILED", `SASL SCRAM-SHA-512 user "` + name + `"`, "check kafka.sasl.username and the password"}},
		{"broker certificate not trusted", sc.sasl, fmt.Sprintf("tls: {ca_file: %q}\nsasl: {mechanism: SCRAM-SHA-512, username: %q, password: x}", strangerCA, name), 1,
			[]string{"x509: certificate signed by unknown authority", "reckon does not trust the broker's certificate: check kafka.tls.ca_file"}},
		{"client certificate of another CA", sc.mtls, sc.mtlsBlock(strangerCertFile, strangerKeyFile), 1,
			[]string{"remote error: tls:", "the broker refused the TLS handshake"}},
		{"no client certificate", sc.mtls, fmt.Sprintf("tls: {ca_file: %q}", sc.caFile), 1,
			[]string{"remote error: tls:", "the broker refused the TLS handshake"}},
		{"client certificate expired", sc.mtls, sc.mtlsBlock(expiredFile, expiredKey), 2,
			[]string{"kafka.tls.cert_file: file " + fmt.Sprintf("%q", expiredFile) + `: certificate "CN=` + name + `" expired at`}},
		{"SASL mechanism not enabled", sc.sasl, fmt.Sprintf("tls: {ca_file: %q}\nsasl: {mechanism: PLAIN, username: %q, password: x}", sc.caFile, name), 1,
			[]string{"UNSUPPORTED_SASL_MECHANISM", "check kafka.sasl.mechanism"}},
		{"plaintext to the TLS listener", sc.sasl, fmt.Sprintf("sasl: {mechanism: SCRAM-SHA-512, username: %q, password: x}", name), 1,
			[]string{"is this a plaintext connection speaking to a tls endpoint?"}},
		{"TLS to a plaintext listener", brokers, fmt.Sprintf("tls: {ca_file: %q}", sc.caFile), 1,
			[]string{"using TLS when the broker is not expecting it"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := launchReckon(t, cfg(fmt.Sprintf("%s-%d", name, i), tc.block), tc.addrs)
			t0 := time.Now()
			code := p.waitExit(t, 60*time.Second)
			out := p.out.String()
			if code != tc.code {
				t.Errorf("exit status %d, want %d", code, tc.code)
			}
			for _, s := range tc.says {
				if !strings.Contains(out, s) {
					t.Errorf("the output does not say %q:\n%s", s, out)
				}
			}
			if strings.Contains(out, right) {
				t.Errorf("the output shows a password:\n%s", out)
			}
			t.Logf("exit %d after %v: %s", code, time.Since(t0).Round(time.Millisecond), lastLine(out))
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestSecureBrokerDropsTLS is TestBrokerRestart over SASL_SSL with a
// least-privilege principal: mid-stream the secured broker (its own) stops,
// so every TLS session reckon has ends, and starts again; the same reckon
// process logs the failure, reconnects (new TLS handshakes, SCRAM again)
// and publishes exactly the results of an uninterrupted run, byte for
// byte, with counters equal to the input's: nothing lost or doubled.
func TestSecureBrokerDropsTLS(t *testing.T) {
	t.Parallel()
	own, sc := startOwnSecureBroker(t)
	dir := t.TempDir()
	group := uniqueName("tlsdrop")
	pwFile, _ := sc.scramUser(t, dir, group)
	secure := func(cfg string) string { return withKafka(t, cfg, sc.saslBlock(group, pwFile)) }
	sc.grant(t, "User:"+group, requiredAccess(t, secure(eosConfig(group, group+"-predictions", group+"-outcomes", group+"-results")), "r1"))
	p := brokerRestart(t, own, sc.sasl, group, secure)
	if out := p.out.String(); !strings.Contains(out, "Kafka session failed") && !strings.Contains(out, "fetch error") {
		t.Errorf("reckon logged nothing while its broker was away:\n%s", out)
	}
}
