package config

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reckonhq/reckon/internal/testpki"
)

// writePKI writes, in dir, ca.pem and the files of client certificates
// (cert, key) valid over the given spans, and returns the CA.
func writePKI(t *testing.T, dir string, clients map[string][2]time.Time) *testpki.CA {
	t.Helper()
	ca, err := testpki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, span := range clients {
		writeClient(t, ca, filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"), span[0], span[1])
	}
	return ca
}

func writeClient(t *testing.T, ca *testpki.CA, certFile, keyFile string, notBefore, notAfter time.Time) {
	t.Helper()
	l, err := ca.Client("reckon", notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Write(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
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
	now := time.Now()
	writePKI(t, dir, map[string][2]time.Time{
		"ok":  {now.Add(-time.Hour), now.Add(time.Hour)},
		"old": {now.Add(-2 * time.Hour), now.Add(-time.Hour)},
		"new": {now.Add(time.Hour), now.Add(2 * time.Hour)},
	})
	writeFile(t, filepath.Join(dir, "password"), []byte("s3cr3t-pa55\n"))
	writeFile(t, filepath.Join(dir, "blank"), []byte(" \n"))
	writeFile(t, filepath.Join(dir, "not-pem"), []byte("hello"))
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
	ca := writePKI(t, dir, nil)
	pw, certFile, keyFile := filepath.Join(dir, "pw"), filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	writeFile(t, pw, []byte("first\n"))
	writeClient(t, ca, certFile, keyFile, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
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
	writeFile(t, pw, []byte("second"))
	writeClient(t, ca, certFile, keyFile, time.Now().Add(-time.Hour), time.Now().Add(2*time.Hour))
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
