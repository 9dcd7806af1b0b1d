package consumer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/exporter"
	"github.com/reckonhq/reckon/internal/testpki"
)

// The tests here run against kfake with its authorizer on (Apache Kafka's
// own is tested in integration/, secure_test.go): each permission of
// RequiredAccess removed in turn stops the processor at start-up, naming it,
// before anything is consumed or produced.

const (
	testUser     = "reckon"
	testPassword = "reckon-secret"
	testAdmin    = "admin"
	adminSecret  = "admin-secret"
)

// saslConfig is testConfig for the SASL user reckon.
func saslConfig(t *testing.T, brokers []string, password string) *config.Config {
	t.Helper()
	cfg := testConfig(t, brokers)
	cfg.Kafka.SASL = &config.SASL{Mechanism: config.MechanismScramSHA512, Username: testUser, Password: password}
	return cfg
}

// aclsOf converts permissions to the ACLs that grant them.
func aclsOf(perms []Permission) []kfake.ACL {
	var out []kfake.ACL
	for _, p := range perms {
		out = append(out, kfake.ACL{Resource: p.Resource, Name: p.PatternName, Pattern: p.Pattern, Operation: p.Operation, Allow: true})
	}
	return out
}

// aclCluster starts kfake with ACLs enforced, the input topics, a super
// user and the user reckon allowed exactly perms.
func aclCluster(t *testing.T, perms []Permission, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{
		kfake.NumBrokers(1),
		kfake.SeedTopics(2, "predictions", "outcomes"),
		kfake.EnableSASL(),
		kfake.EnableACLs(),
		kfake.Superuser("SCRAM-SHA-512", testAdmin, adminSecret),
		kfake.User("SCRAM-SHA-512", testUser, testPassword, aclsOf(perms)...),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// adminClient is a super user's client of c.
func adminClient(t *testing.T, c *kfake.Cluster) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...),
		kgo.SASL(scram.Auth{User: testAdmin, Pass: adminSecret}.AsSha512Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// runUntilReadyOrError runs p until it is ready (then stops it and returns
// nil) or Run returns.
func runUntilReadyOrError(t *testing.T, p *Processor, ready *exporter.Readiness) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for {
		select {
		case err := <-done:
			if ctx.Err() != nil {
				t.Fatal("Run neither ready nor failed within 30s")
			}
			return err
		case <-time.After(20 * time.Millisecond):
			if ready.Ready() {
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("Run = %v after it was ready and stopped", err)
				}
				return nil
			}
		}
	}
}

// TestRequiredAccess checks the list itself: every topic, group and
// transactional id reckon uses, once per operation, the transactional id
// granted by its group's prefix.
func TestRequiredAccess(t *testing.T) {
	cfg := testConfig(t, []string{"127.0.0.1:9092"})
	cfg.Kafka.InstanceID = "m-0"
	var got []string
	for _, p := range RequiredAccess(cfg) {
		s := p.String()
		if p.IfMissing {
			s += " if missing"
		}
		got = append(got, s)
	}
	want := []string{
		`Read on topic "predictions"`,
		`Read on topic "outcomes"`,
		`Read on topic "reckon-rekey"`,
		`Write on topic "reckon-rekey"`,
		`Read on topic "reckon-partials"`,
		`Write on topic "reckon-partials"`,
		`Read on topic "reckon-state"`,
		`Write on topic "reckon-state"`,
		`Read on topic "reckon-join"`,
		`Write on topic "reckon-join"`,
		`Write on topic "reckon-dead-letter"`,
		`Write on topic "reckon-results"`,
		`DescribeConfigs on topic "predictions"`,
		`DescribeConfigs on topic "outcomes"`,
		`DescribeConfigs on topic "reckon-dead-letter"`,
		`DescribeConfigs on topic "reckon-results"`,
		`DescribeConfigs on topic "reckon-rekey"`,
		`DescribeConfigs on topic "reckon-partials"`,
		`DescribeConfigs on topic "reckon-state"`,
		`DescribeConfigs on topic "reckon-join"`,
		`Read on group "reckon"`,
		`Write on transactional id "reckon-m-0" (an ACL on the prefix "reckon-" grants it)`,
		`Create on topic "reckon-dead-letter" if missing`,
		`Create on topic "reckon-results" if missing`,
		`Create on topic "reckon-rekey" if missing`,
		`Create on topic "reckon-partials" if missing`,
		`Create on topic "reckon-state" if missing`,
		`Create on topic "reckon-join" if missing`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("RequiredAccess:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

// TestAccessEachPermission removes each permission of RequiredAccess in
// turn: the processor stops at start-up with an *AccessError naming exactly
// that permission, having created no topic, produced nothing and committed
// no offset. With all of them it starts.
func TestAccessEachPermission(t *testing.T) {
	need := RequiredAccess(testConfig(t, []string{"127.0.0.1:9092"}))
	t.Run("all granted", func(t *testing.T) {
		c := aclCluster(t, need)
		ready := new(exporter.Readiness)
		p := New(saslConfig(t, c.ListenAddrs(), testPassword), exporter.New(prometheus.NewRegistry(), "test", 0), WithReadiness(ready))
		if err := runUntilReadyOrError(t, p, ready); err != nil {
			t.Fatalf("with every permission of RequiredAccess: %v", err)
		}
	})
	for i, drop := range need {
		t.Run(drop.String(), func(t *testing.T) {
			c := aclCluster(t, slices.Delete(slices.Clone(need), i, i+1))
			ready := new(exporter.Readiness)
			p := New(saslConfig(t, c.ListenAddrs(), testPassword), exporter.New(prometheus.NewRegistry(), "test", 0), WithReadiness(ready))
			err := runUntilReadyOrError(t, p, ready)
			var ae *AccessError
			if !errors.As(err, &ae) {
				t.Fatalf("Run = %v, want an *AccessError", err)
			}
			if want := []Permission{drop}; !slices.Equal(ae.Missing, want) {
				t.Errorf("AccessError lists %v, want %v", ae.Missing, want)
			}
			if msg := err.Error(); !strings.Contains(msg, "missing "+drop.String()) || !strings.Contains(msg, `SASL SCRAM-SHA-512 user "reckon"`) {
				t.Errorf("message %q does not name the permission (%s) and the principal", msg, drop)
			}
			checkUntouched(t, c)
		})
	}
}

// TestAccessHiddenTopic: without Read on an input topic the authorizer
// hides it (Read implies Describe), yet DescribeConfigs, which does not
// imply Describe, is asked on its own ACL: reported only when it is
// missing too, so the message never names a permission that is granted.
func TestAccessHiddenTopic(t *testing.T) {
	need := RequiredAccess(testConfig(t, []string{"127.0.0.1:9092"}))
	var read, describe int = -1, -1
	for i, p := range need {
		if p.Resource == kmsg.ACLResourceTypeTopic && p.Name == "predictions" {
			switch p.Operation {
			case kmsg.ACLOperationRead:
				read = i
			case kmsg.ACLOperationDescribeConfigs:
				describe = i
			}
		}
	}
	if read < 0 || describe < 0 {
		t.Fatalf("RequiredAccess has no Read (%d) or DescribeConfigs (%d) on predictions", read, describe)
	}
	var granted []Permission
	for i, p := range need {
		if i != read && i != describe {
			granted = append(granted, p)
		}
	}
	c := aclCluster(t, granted)
	ready := new(exporter.Readiness)
	p := New(saslConfig(t, c.ListenAddrs(), testPassword), exporter.New(prometheus.NewRegistry(), "test", 0), WithReadiness(ready))
	err := runUntilReadyOrError(t, p, ready)
	var ae *AccessError
	if !errors.As(err, &ae) {
		t.Fatalf("Run = %v, want an *AccessError", err)
	}
	if want := []Permission{need[read], need[describe]}; !slices.Equal(ae.Missing, want) {
		t.Errorf("AccessError lists %v, want %v", ae.Missing, want)
	}
	checkUntouched(t, c)
}

// checkUntouched checks that reckon left no trace in c: only the input
// topics exist, and no group committed offsets.
func checkUntouched(t *testing.T, c *kfake.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := adminClient(t, c)
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if names := topics.Names(); !slices.Equal(names, []string{"outcomes", "predictions"}) {
		t.Errorf("topics after the refused start: %v, want only the inputs", names)
	}
	ends, err := adm.ListEndOffsets(ctx, "predictions", "outcomes")
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset != 0 {
			t.Errorf("%s/%d has %d records", o.Topic, o.Partition, o.Offset)
		}
	})
	offsets, err := adm.FetchOffsets(ctx, "reckon")
	if err == nil && len(offsets) > 0 {
		t.Errorf("group reckon committed offsets: %v", offsets)
	}
}

// TestAccessPrecreatedTopics checks the other way of deploying: an admin
// creates every topic, and reckon's principal may create none.
func TestAccessPrecreatedTopics(t *testing.T) {
	cfg := testConfig(t, []string{"127.0.0.1:9092"})
	var need []Permission
	for _, p := range RequiredAccess(cfg) {
		if !p.IfMissing {
			need = append(need, p)
		}
	}
	c := aclCluster(t, need)
	// As the admin would: `reckon topics create`, or kafka-topics.sh with
	// the max.message.bytes of docs/security.md.
	adm := adminClient(t, c)
	inputBytes, err := inputMaxBytes(context.Background(), adm, "predictions", "outcomes")
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range planTopics(cfg, inputBytes) {
		if tp.input {
			continue
		}
		if _, err := adm.CreateTopic(context.Background(), 2, -1, tp.configs, tp.name); err != nil {
			t.Fatal(err)
		}
	}
	ready := new(exporter.Readiness)
	p := New(saslConfig(t, c.ListenAddrs(), testPassword), exporter.New(prometheus.NewRegistry(), "test", 0), WithReadiness(ready))
	if err := runUntilReadyOrError(t, p, ready); err != nil {
		t.Fatalf("topics created by an admin, no Create permission: %v", err)
	}
}

// TestAuthErrors checks that refused certificates, in either direction,
// stop the processor at start-up with an *AuthError saying what to check,
// instead of being retried as a network error. Refused SASL credentials are
// tested against Apache Kafka (integration/secure_test.go): kfake closes
// the connection where Kafka answers SASL_AUTHENTICATION_FAILED.
func TestAuthErrors(t *testing.T) {
	ca, err := testpki.NewCA("broker CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := testpki.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.Server("broker")
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := server.TLS()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		writeTestFile(t, path, data)
		return path
	}
	caFile, otherFile := write("ca.pem", ca.PEM), write("other.pem", other.PEM)
	client := func(name string, signer *testpki.CA, notBefore, notAfter time.Time) (string, string) {
		l, err := signer.Client("reckon", notBefore, notAfter)
		if err != nil {
			t.Fatal(err)
		}
		return write(name+".pem", l.CertPEM), write(name+"-key.pem", l.KeyPEM)
	}
	now := time.Now()
	goodCert, goodKey := client("good", ca, now.Add(-time.Hour), now.Add(time.Hour))
	expiredCert, expiredKey := client("expired", ca, now.Add(-2*time.Hour), now.Add(-time.Hour))
	strangerCert, strangerKey := client("stranger", other, now.Add(-time.Hour), now.Add(time.Hour))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.PEM)
	mtls := &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: roots}

	tests := []struct {
		name  string
		opts  []kfake.Opt
		kafka func(k *config.Kafka)
		hint  string // in the message
		ok    bool
	}{
		{"broker certificate not trusted", []kfake.Opt{kfake.TLS(&tls.Config{Certificates: []tls.Certificate{serverCert}})},
			func(k *config.Kafka) { k.TLS = &config.TLS{Enabled: true, CAFile: otherFile} },
			"reckon does not trust the broker's certificate", false},
		{"client certificate expired", []kfake.Opt{kfake.TLS(mtls)},
			func(k *config.Kafka) {
				k.TLS = &config.TLS{Enabled: true, CAFile: caFile, CertFile: expiredCert, KeyFile: expiredKey}
			}, "the broker refused the TLS handshake", false},
		{"client certificate of an unknown CA", []kfake.Opt{kfake.TLS(mtls)},
			func(k *config.Kafka) {
				k.TLS = &config.TLS{Enabled: true, CAFile: caFile, CertFile: strangerCert, KeyFile: strangerKey}
			}, "the broker refused the TLS handshake", false},
		{"no client certificate", []kfake.Opt{kfake.TLS(mtls)},
			func(k *config.Kafka) { k.TLS = &config.TLS{Enabled: true, CAFile: caFile} },
			"the broker refused the TLS handshake", false},
		{"mutual TLS", []kfake.Opt{kfake.TLS(mtls)},
			func(k *config.Kafka) {
				k.TLS = &config.TLS{Enabled: true, CAFile: caFile, CertFile: goodCert, KeyFile: goodKey}
			}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(2, "predictions", "outcomes")}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cfg := testConfig(t, c.ListenAddrs())
			tc.kafka(&cfg.Kafka)
			ready := new(exporter.Readiness)
			p := New(cfg, exporter.New(prometheus.NewRegistry(), "test", 0), WithReadiness(ready))
			err = runUntilReadyOrError(t, p, ready)
			if tc.ok {
				if err != nil {
					t.Fatalf("Run = %v, want it to start", err)
				}
				return
			}
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("Run = %v (%T), want an *AuthError", err, err)
			}
			if isNetError(err) {
				t.Errorf("%v counts as a network error: Run would retry it", err)
			}
			if !strings.Contains(err.Error(), tc.hint) {
				t.Errorf("message %q does not say %q", err, tc.hint)
			}
			t.Logf("%s: %v", tc.name, err)
		})
	}
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestACLCommands checks the kafka-acls.sh commands that grant
// RequiredAccess; docs/security.md shows these (cmd/reckon checks it).
func TestACLCommands(t *testing.T) {
	cfg := testConfig(t, []string{"127.0.0.1:9092"})
	got := ACLCommands("User:reckon", "$BOOTSTRAP", "admin.properties", RequiredAccess(cfg))
	const add = "kafka-acls.sh --bootstrap-server $BOOTSTRAP --command-config admin.properties --add --allow-principal User:reckon"
	want := []string{
		add + " --operation Read --operation DescribeConfigs --topic predictions --topic outcomes",
		add + " --operation Read --operation Write --operation DescribeConfigs --topic reckon-rekey --topic reckon-partials --topic reckon-state --topic reckon-join",
		add + " --operation Write --operation DescribeConfigs --topic reckon-dead-letter --topic reckon-results",
		add + " --operation Read --group reckon",
		add + " --operation Write --resource-pattern-type prefixed --transactional-id reckon-",
		add + " --operation Create --topic reckon-dead-letter --topic reckon-results --topic reckon-rekey --topic reckon-partials --topic reckon-state --topic reckon-join",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ACLCommands:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	if q := shellQuote("User:CN=reckon,O=it's"); q != `'User:CN=reckon,O=it'\''s'` {
		t.Errorf("shellQuote = %s", q)
	}
}
