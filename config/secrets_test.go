package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPKI is a CA that signs client certificates for the tests.
type testPKI struct {
	ca    *x509.Certificate
	key   *ecdsa.PrivateKey
	caPEM []byte
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{ca: ca, key: key, caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// writeClient writes a client certificate (CN=reckon) valid from
// notBefore to notAfter and its key.
func (p *testPKI) writeClient(t *testing.T, certFile, keyFile string, notBefore, notAfter time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "reckon"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p.write(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	p.write(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

func (p *testPKI) write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSecrets checks kafka.sasl.password_file and the TLS files: what
// resolves, and that each way of not resolving is an error naming the
// file, the line and the key, never the secret.
func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t)
	now := time.Now()
	pki.write(t, filepath.Join(dir, "ca.pem"), pki.caPEM)
	pki.writeClient(t, filepath.Join(dir, "ok.pem"), filepath.Join(dir, "ok-key.pem"), now.Add(-time.Hour), now.Add(time.Hour))
	pki.writeClient(t, filepath.Join(dir, "old.pem"), filepath.Join(dir, "old-key.pem"), now.Add(-2*time.Hour), now.Add(-time.Hour))
	pki.writeClient(t, filepath.Join(dir, "new.pem"), filepath.Join(dir, "new-key.pem"), now.Add(time.Hour), now.Add(2*time.Hour))
	pki.write(t, filepath.Join(dir, "password"), []byte("s3cr3t-pa55\n"))
	pki.write(t, filepath.Join(dir, "blank"), []byte(" \n"))
	pki.write(t, filepath.Join(dir, "not-pem"), []byte("hello"))
	path := filepath.Join(dir, "reckon.yaml")
	abs := func(f string) string { return filepath.Join(dir, f) }
	oldCert, newCert := readCert(t, abs("old.pem")), readCert(t, abs("new.pem"))

	tests := []struct {
		name, kafka string
		want        []string
	}{
		{"all resolve", "tls: {ca_file: ca.pem, cert_file: ok.pem, key_file: ok-key.pem}\n  sasl: {mechanism: SCRAM-SHA-512, username: u, password_file: password}", nil},
		{"password file missing", "sasl: {mechanism: PLAIN, username: u, password_file: nope}", []string{
			fmt.Sprintf(`%s:3: kafka.sasl.password_file: file %q: no such file or directory`, path, abs("nope")),
		}},
		{"password file blank", "sasl: {mechanism: PLAIN, username: u, password_file: blank}", []string{
			fmt.Sprintf(`%s:3: kafka.sasl.password_file: file %q is empty`, path, abs("blank")),
		}},
		{"password and file", "sasl: {mechanism: PLAIN, username: u, password: x, password_file: password}", []string{
			fmt.Sprintf(`%s:3: kafka.sasl.password_file: set password or password_file, not both`, path),
		}},
		{"ca not PEM", "tls: {ca_file: not-pem}", []string{
			fmt.Sprintf(`%s:3: kafka.tls.ca_file: file %q holds no PEM certificate`, path, abs("not-pem")),
		}},
		{"key of another certificate", "tls: {cert_file: ok.pem, key_file: old-key.pem}", []string{
			fmt.Sprintf(`%s:3: kafka.tls.cert_file: files %q and %q: tls: private key does not match public key`, path, abs("ok.pem"), abs("old-key.pem")),
		}},
		{"certificate expired", "tls: {cert_file: old.pem, key_file: old-key.pem}", []string{
			fmt.Sprintf(`%s:3: kafka.tls.cert_file: file %q: certificate "CN=reckon" expired at %s`, path, abs("old.pem"), oldCert.NotAfter.UTC().Format(time.RFC3339)),
		}},
		{"certificate not valid yet", "tls: {cert_file: new.pem, key_file: new-key.pem}", []string{
			fmt.Sprintf(`%s:3: kafka.tls.cert_file: file %q: certificate "CN=reckon" is not valid before %s`, path, abs("new.pem"), newCert.NotBefore.UTC().Format(time.RFC3339)),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := "kafka:\n  brokers: [\"k:9093\"]\n  " + tc.kafka + "\nmodels: [{name: m}]\n"
			c, err := Parse(path, []byte(in))
			checkErrors(t, err, tc.want)
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("an error shows the password: %v", err)
			}
			if tc.want == nil && c == nil {
				t.Fatal("no config")
			}
		})
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSecretsRotate checks that the password and the client certificate are
// read when used, not when parsed: a secret rotated on disk is used from the
// next connection on, without a restart.
func TestSecretsRotate(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t)
	pw, certFile, keyFile := filepath.Join(dir, "pw"), filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	pki.write(t, pw, []byte("first\n"))
	pki.writeClient(t, certFile, keyFile, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	in := "kafka:\n  tls: {cert_file: c.pem, key_file: k.pem}\n  sasl: {mechanism: SCRAM-SHA-256, username: u, password_file: pw}\nmodels: [{name: m}]\n"
	c, err := Parse(filepath.Join(dir, "reckon.yaml"), []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.Kafka.TLS.ClientCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Kafka.SASL.Secret(); got != "first" || err != nil {
		t.Fatalf("Secret() = %q, %v; want first", got, err)
	}
	pki.write(t, pw, []byte("second"))
	pki.writeClient(t, certFile, keyFile, time.Now().Add(-time.Hour), time.Now().Add(2*time.Hour))
	if got, err := c.Kafka.SASL.Secret(); got != "second" || err != nil {
		t.Errorf("after rotation Secret() = %q, %v; want second", got, err)
	}
	second, err := c.Kafka.TLS.ClientCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if first.Leaf.SerialNumber.Cmp(second.Leaf.SerialNumber) == 0 {
		t.Errorf("ClientCertificate returned the old certificate after it was renewed on disk")
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(f, *c.Kafka.SASL); strings.Contains(out, "second") || !strings.Contains(out, pw) {
			t.Errorf("%s of a SASL with password_file = %s: want the file's name and not the password", f, out)
		}
	}
}
