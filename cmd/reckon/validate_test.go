package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reckonhq/reckon/internal/testpki"
)

// TestValidateSecrets checks that `reckon validate` resolves the secrets
// (exit 2, file, line and key when one does not) and says where they come
// from without ever printing one.
func TestValidateSecrets(t *testing.T) {
	dir := t.TempDir()
	ca, err := testpki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Client("reckon", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.Write(filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")); err != nil {
		t.Fatal(err)
	}
	write("ca.pem", ca.PEM)
	write("pw", []byte("hunter2-secret\n"))
	write("empty", nil)
	cfg := func(sasl string) string {
		path := filepath.Join(dir, "reckon.yaml")
		write("reckon.yaml", []byte("kafka:\n  tls: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem}\n  sasl: "+sasl+"\nmodels: [{name: m}]\n"))
		return path
	}

	path := cfg("{mechanism: SCRAM-SHA-512, username: reckon, password_file: pw}")
	var out, errOut bytes.Buffer
	if err := cmdValidate([]string{"--config", path}, &out, &errOut); err != nil {
		t.Fatalf("validate: %v", err)
	}
	for _, want := range []string{"TLS, CA certificates of " + filepath.Join(dir, "ca.pem"), `client certificate "CN=reckon" valid until`,
		`SASL SCRAM-SHA-512 as "reckon" with the password in ` + filepath.Join(dir, "pw")} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q does not say %q", out.String(), want)
		}
	}
	if strings.Contains(out.String()+errOut.String(), "hunter2") {
		t.Errorf("validate printed the password: %s", out.String())
	}

	path = cfg("{mechanism: SCRAM-SHA-512, username: reckon, password_file: empty}")
	err = cmdValidate([]string{"--config", path}, &out, &errOut)
	var ue *usageError
	if !errors.As(err, &ue) {
		t.Fatalf("validate with an empty password file = %v, want a usage error (exit 2)", err)
	}
	if want := path + `:3: kafka.sasl.password_file: file "` + filepath.Join(dir, "empty") + `" is empty`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// TestSecurityDocACLs checks that docs/security.md grants what reckon
// needs: its kafka-acls.sh commands are those `reckon validate --acls`
// prints for the example configuration.
func TestSecurityDocACLs(t *testing.T) {
	var out bytes.Buffer
	if err := cmdValidate([]string{"--config", "../../config/testdata/reckon.yaml", "--acls", "User:reckon"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	commands := func(text string) []string {
		var cs []string
		for _, l := range strings.Split(text, "\n") {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "kafka-acls.sh ") && strings.Contains(l, " --add ") {
				cs = append(cs, l)
			}
		}
		return cs
	}
	got, want := commands(string(doc)), commands(out.String())
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("docs/security.md grants\n  %s\nbut reckon validate --acls User:reckon prints, for config/testdata/reckon.yaml,\n  %s",
			strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
