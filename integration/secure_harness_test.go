package integration

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/consumer"
	"github.com/reckonhq/reckon/internal/testpki"
)

// A secured Apache Kafka: SASL_SSL (SCRAM-SHA-512) and mutual-TLS
// listeners, ACLs enforced (allow.everyone.if.no.acl.found=false), a super
// user. .ci/run starts one beside the plain broker with
// deploy/kafka-local/kafka.sh (KAFKA_SECURITY=secure) and exports what
// `kafka.sh env` prints, the variables of secureEnv. Without them the tests
// that need it skip, saying so, except under CI=true, where they fail.
type secureCluster struct {
	sasl, mtls  []string // bootstrap addresses of the two listeners
	caFile      string   // the CA that signed the broker's and clients' certificates
	ca          *testpki.CA
	adminUser   string
	adminPass   string
	adminConfig string // the super user's admin.properties, for kafka-acls.sh
	adminOpts   []kgo.Opt
}

// secureEnv are the variables `kafka.sh env` prints for a secured broker.
var secureEnv = []string{
	"KAFKA_SASL_SSL_BROKERS", "KAFKA_MTLS_BROKERS", "KAFKA_TLS_CA_FILE", "KAFKA_TLS_CA_KEY_FILE",
	"KAFKA_ADMIN_USER", "KAFKA_ADMIN_PASSWORD_FILE", "KAFKA_ADMIN_CONFIG",
}

var (
	sharedSecureOnce sync.Once
	sharedSecure     *secureCluster
	sharedSecureErr  error
)

// secureClusterOrSkip returns the secured cluster of the environment.
func secureClusterOrSkip(t *testing.T) *secureCluster {
	t.Helper()
	var missing []string
	for _, v := range secureEnv {
		if os.Getenv(v) == "" {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %v not set: CI must test reckon against a broker that enforces TLS, SASL and ACLs (.ci/run starts one)", missing)
		}
		t.Skipf("no secured Kafka broker (%v not set); start one with `KAFKA_SECURITY=secure deploy/kafka-local/kafka.sh start` and export what `KAFKA_SECURITY=secure deploy/kafka-local/kafka.sh env` prints", missing)
	}
	sharedSecureOnce.Do(func() { sharedSecure, sharedSecureErr = newSecureCluster(os.Getenv) })
	if sharedSecureErr != nil {
		t.Fatal(sharedSecureErr)
	}
	return sharedSecure
}

// startOwnSecureBroker starts a secured broker of t's own (see
// startOwnBroker).
func startOwnSecureBroker(t *testing.T) (*ownBroker, *secureCluster) {
	t.Helper()
	_, mtls, _ := net.SplitHostPort(freeAddr(t))
	own := startOwnBroker(t, "KAFKA_SECURITY=secure", "KAFKA_MTLS_PORT="+mtls)
	out, err := own.run("env")
	if err != nil {
		t.Fatalf("kafka.sh env: %v\n%s", err, out)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	c, err := newSecureCluster(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return own, c
}

// newSecureCluster reads a secured cluster's description from the
// variables of secureEnv, and registers its super user's client options
// for the helpers that take its SASL_SSL address (clusterOpts).
func newSecureCluster(getenv func(string) string) (*secureCluster, error) {
	ca, err := testpki.LoadCA(getenv("KAFKA_TLS_CA_FILE"), getenv("KAFKA_TLS_CA_KEY_FILE"))
	if err != nil {
		return nil, fmt.Errorf("the secured broker's CA: %w", err)
	}
	pw, err := os.ReadFile(getenv("KAFKA_ADMIN_PASSWORD_FILE"))
	if err != nil {
		return nil, err
	}
	c := &secureCluster{
		sasl:        strings.Split(getenv("KAFKA_SASL_SSL_BROKERS"), ","),
		mtls:        strings.Split(getenv("KAFKA_MTLS_BROKERS"), ","),
		caFile:      getenv("KAFKA_TLS_CA_FILE"),
		ca:          ca,
		adminUser:   getenv("KAFKA_ADMIN_USER"),
		adminPass:   strings.TrimSpace(string(pw)),
		adminConfig: getenv("KAFKA_ADMIN_CONFIG"),
	}
	c.adminOpts = c.saslOpts(c.adminUser, c.adminPass)
	clusterOpts.Store(c.sasl[0], c.adminOpts)
	return c, nil
}

// saslOpts are the client options of user over SASL_SSL.
func (c *secureCluster) saslOpts(user, password string) []kgo.Opt {
	roots := x509.NewCertPool()
	roots.AddCert(c.ca.Cert)
	return []kgo.Opt{
		kgo.DialTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}),
		kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha512Mechanism()),
	}
}

// admin returns a super user's admin client.
func (c *secureCluster) admin(t *testing.T) *kadm.Client {
	t.Helper()
	return kadm.NewClient(newClientAt(t, c.sasl))
}

// scramUser creates SCRAM-SHA-512 user name with a random password, writes
// the password to a file in dir (for kafka.sasl.password_file), and waits
// until the broker knows the user. It returns the file and the password.
func (c *secureCluster) scramUser(t *testing.T, dir, name string) (file, password string) {
	t.Helper()
	password = uniqueName("pw") + uniqueName("")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := c.admin(t)
	res, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: name, Mechanism: kadm.ScramSha512, Iterations: 4096, Password: password}})
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatalf("creating SCRAM user %s: %v", name, err)
	}
	// The controller has it; wait for the broker that authenticates.
	for {
		d, err := adm.DescribeUserSCRAMs(ctx, name)
		if err == nil && d[name].Err == nil && len(d[name].CredInfos) > 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("SCRAM user %s not visible on the broker: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	file = filepath.Join(dir, name+".password")
	if err := os.WriteFile(file, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, password
}

// clientCert writes a client certificate for CN=name (principal
// User:name), signed by the cluster's CA, and its key into dir.
func (c *secureCluster) clientCert(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	l, err := c.ca.Client(name, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := l.Write(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// saslBlock is the kafka.tls and kafka.sasl of user over SASL_SSL.
func (c *secureCluster) saslBlock(user, passwordFile string) string {
	return fmt.Sprintf("tls: {ca_file: %q}\nsasl: {mechanism: SCRAM-SHA-512, username: %q, password_file: %q}", c.caFile, user, passwordFile)
}

// mtlsBlock is the kafka.tls of a client certificate.
func (c *secureCluster) mtlsBlock(certFile, keyFile string) string {
	return fmt.Sprintf("tls: {ca_file: %q, cert_file: %q, key_file: %q}", c.caFile, certFile, keyFile)
}

// withKafka adds block (YAML keys of the kafka mapping) to the kafka block
// of configuration cfg.
func withKafka(t *testing.T, cfg, block string) string {
	t.Helper()
	const head = "\nkafka:\n"
	if strings.Count(cfg, head) != 1 {
		t.Fatalf("configuration without one top-level kafka block:\n%s", cfg)
	}
	return strings.Replace(cfg, head, head+"  "+strings.ReplaceAll(block, "\n", "\n  ")+"\n", 1)
}

// requiredAccess is consumer.RequiredAccess of configuration cfg for the
// member with instance id instance.
func requiredAccess(t *testing.T, cfg, instance string) []consumer.Permission {
	t.Helper()
	c, err := config.Parse("test.yaml", []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	c.Kafka.InstanceID = instance
	return consumer.RequiredAccess(c)
}

// acl is an ACL as the tests compare them.
type acl struct {
	resource, pattern, name, operation string
}

func (a acl) String() string {
	return fmt.Sprintf("%s %s %s:%s", a.operation, a.pattern, a.resource, a.name)
}

// aclsOf returns the ACLs that grant perms, sorted and without duplicates.
func aclsOf(perms []consumer.Permission) []acl {
	var out []acl
	for _, p := range perms {
		out = append(out, acl{p.Resource.String(), p.Pattern.String(), p.PatternName, p.Operation.String()})
	}
	slices.SortFunc(out, func(a, b acl) int { return strings.Compare(a.String(), b.String()) })
	return slices.Compact(out)
}

// grant gives principal ("User:x") the ACLs that grant perms, and waits
// until the broker enforces them.
func (c *secureCluster) grant(t *testing.T, principal string, perms []consumer.Permission) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := c.admin(t)
	for _, p := range perms {
		b := kadm.NewACLs().Allow(principal).AllowHosts().ResourcePatternType(p.Pattern).Operations(p.Operation)
		switch p.Resource.String() {
		case "TOPIC":
			b.Topics(p.PatternName)
		case "GROUP":
			b.Groups(p.PatternName)
		case "TRANSACTIONAL_ID":
			b.TransactionalIDs(p.PatternName)
		default:
			t.Fatalf("no ACL builder for %v", p.Resource)
		}
		res, err := adm.CreateACLs(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("creating ACL %v: %v", p, r.Err)
			}
		}
	}
	c.waitACLs(t, principal, aclsOf(perms))
}

// waitACLs waits until the broker's authorizer holds exactly want for
// principal: the controller commits ACLs before the broker applies them.
func (c *secureCluster) waitACLs(t *testing.T, principal string, want []acl) {
	t.Helper()
	var got []acl
	deadline := time.Now().Add(30 * time.Second)
	for {
		got = c.aclsFor(t, principal)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ACLs of %s on the broker:\n  %v\nwant\n  %v", principal, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// aclsFor returns the ACLs of principal on the broker, sorted.
func (c *secureCluster) aclsFor(t *testing.T, principal string) []acl {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := kadm.NewACLs().Allow(principal).AllowHosts().AnyResource().ResourcePatternType(kadm.ACLPatternAny).Operations(kadm.OpAny)
	res, err := c.admin(t).DescribeACLs(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	var out []acl
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("describing ACLs: %v", r.Err)
		}
		for _, d := range r.Described {
			out = append(out, acl{d.Type.String(), d.Pattern.String(), d.Name, d.Operation.String()})
		}
	}
	slices.SortFunc(out, func(a, b acl) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// grantAsDocumented gives principal what the configuration at cfgPath
// needs the way docs/security.md says: running, with Apache Kafka's own
// kafka-acls.sh (deploy/kafka-local/kafka.sh kafka-acls), the commands
// `reckon validate --acls` prints. It checks that the broker then holds
// exactly the ACLs of perms, and no more.
func (c *secureCluster) grantAsDocumented(t *testing.T, cfgPath, principal string, perms []consumer.Permission) {
	t.Helper()
	out, err := exec.Command(reckonBin, "validate", "--config", cfgPath, "--acls", principal).CombinedOutput()
	if err != nil {
		t.Fatalf("reckon validate --acls: %v\n%s", err, out)
	}
	script, err := filepath.Abs("../deploy/kafka-local/kafka.sh")
	if err != nil {
		t.Fatal(err)
	}
	var commands []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "kafka-acls.sh ") {
			commands = append(commands, l)
		}
	}
	if len(commands) == 0 {
		t.Fatalf("reckon validate --acls printed no kafka-acls.sh command:\n%s", out)
	}
	t0 := time.Now()
	// kafka-acls.sh is Kafka's own AclCommand; each command starts a JVM,
	// so they run side by side.
	var wg sync.WaitGroup
	errs := make([]error, len(commands))
	outs := make([][]byte, len(commands))
	for i, cmd := range commands {
		wg.Go(func() {
			sh := exec.Command("bash", "-c", `kafka-acls.sh() { bash "$KAFKA_SH" kafka-acls "$@"; }; `+cmd)
			sh.Env = append(os.Environ(), "KAFKA_SH="+script, "BOOTSTRAP="+c.sasl[0], "ADMIN_CONFIG="+c.adminConfig)
			outs[i], errs[i] = sh.CombinedOutput()
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v\n%s", commands[i], err, outs[i])
		}
	}
	t.Logf("granted %s the documented ACLs with kafka-acls.sh (%d commands, %v)", principal, len(commands), time.Since(t0).Round(time.Millisecond))
	c.waitACLs(t, principal, aclsOf(perms))
}
