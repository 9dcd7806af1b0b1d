package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/consumer"
)

func cmdValidate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "reckon.yaml", "configuration file")
	acls := fs.String("acls", "", "also print the kafka-acls.sh commands that grant this principal (User:reckon) what reckon needs with this configuration (docs/security.md)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The secrets are checked too: the password file holds a password,
	// the TLS files a CA certificate and a valid client certificate with
	// its key. Each problem names the file, the line and the key.
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	features := 0
	for _, m := range cfg.Models {
		features += len(m.Features)
	}
	fmt.Fprintf(stdout, "%s: ok (%d models, %d features, windows %v)\n", *cfgPath, len(cfg.Models), features, cfg.Windows)
	fmt.Fprintf(stdout, "kafka: %s\n", connection(&cfg.Kafka))
	if *acls != "" {
		fmt.Fprintf(stdout, "\n# What %s needs (BOOTSTRAP: a listener; ADMIN_CONFIG: a client configuration of a principal allowed to alter ACLs).\n", *acls)
		fmt.Fprintln(stdout, "# The last command lets reckon create its topics; leave it out if an admin creates them.")
		for _, c := range consumer.ACLCommands(*acls, `"$BOOTSTRAP"`, `"$ADMIN_CONFIG"`, consumer.RequiredAccess(cfg)) {
			fmt.Fprintln(stdout, c)
		}
	}
	return nil
}

// connection says how reckon will connect and authenticate, naming files
// and never a secret.
func connection(k *config.Kafka) string {
	var parts []string
	if t := k.TLS; t != nil {
		s := "TLS, the system's CA certificates"
		if t.CAFile != "" {
			s = "TLS, CA certificates of " + t.CAFile
		}
		if t.InsecureSkipVerify {
			s += " (not verified: insecure_skip_verify)"
		}
		parts = append(parts, s)
		// Load checked the certificate: it resolves.
		if c, err := t.ClientCertificate(); err == nil && c != nil {
			parts = append(parts, fmt.Sprintf("client certificate %q valid until %s", c.Leaf.Subject, c.Leaf.NotAfter.UTC().Format(time.RFC3339)))
		}
	} else {
		parts = append(parts, "plaintext (no TLS)")
	}
	if s := k.SASL; s != nil {
		from := "the password in the configuration"
		if s.PasswordFile != "" {
			from = "the password in " + s.PasswordFile
		}
		parts = append(parts, fmt.Sprintf("SASL %s as %q with %s", s.Mechanism, s.Username, from))
	} else if k.TLS == nil || k.TLS.CertFile == "" {
		parts = append(parts, "no authentication")
	}
	return strings.Join(parts, "; ")
}
