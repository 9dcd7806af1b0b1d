package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
)

// Secret returns the SASL password: Password, or the content of
// PasswordFile with leading and trailing white space removed (as
// Prometheus reads its password_file keys: a trailing newline left by an
// editor or `echo` is not part of the password). The file is read on every
// call, so that a password rotated on disk is used from the next
// authentication on. The error names the file, never the password.
func (s *SASL) Secret() (string, error) {
	if s.PasswordFile == "" {
		return s.Password, nil
	}
	b, err := os.ReadFile(s.PasswordFile)
	if err != nil {
		return "", fileError(s.PasswordFile, err)
	}
	pw := strings.TrimSpace(string(b))
	if pw == "" {
		return "", fmt.Errorf("file %q is empty", s.PasswordFile)
	}
	return pw, nil
}

// RootCAs returns the certificates of CAFile, or nil when CAFile is empty
// (the system's roots are used then).
func (t *TLS) RootCAs() (*x509.CertPool, error) {
	if t.CAFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(t.CAFile)
	if err != nil {
		return nil, fileError(t.CAFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("file %q holds no PEM certificate", t.CAFile)
	}
	return pool, nil
}

// ClientCertificate returns the client certificate of CertFile with the key
// of KeyFile, its Leaf parsed; nil when CertFile is empty. The files are
// read on every call, so that a certificate renewed on disk (cert-manager,
// Vault) is presented from the next TLS handshake on.
func (t *TLS) ClientCertificate() (*tls.Certificate, error) {
	if t.CertFile == "" {
		return nil, nil
	}
	certPEM, err := os.ReadFile(t.CertFile)
	if err != nil {
		return nil, fileError(t.CertFile, err)
	}
	keyPEM, err := os.ReadFile(t.KeyFile)
	if err != nil {
		return nil, fileError(t.KeyFile, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// crypto/tls's messages name neither file.
		return nil, fmt.Errorf("files %q and %q: %w", t.CertFile, t.KeyFile, err)
	}
	return &cert, nil
}

// checkValidity reports a certificate that is expired or not valid yet at
// now, naming its subject.
func checkValidity(c *x509.Certificate, now time.Time) error {
	switch {
	case now.After(c.NotAfter):
		return fmt.Errorf("certificate %q expired at %s", c.Subject, c.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(c.NotBefore):
		return fmt.Errorf("certificate %q is not valid before %s", c.Subject, c.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

// fileError is err about path, without the Go package's prefix: `file
// "x": no such file or directory`.
func fileError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("file %q: %w", path, err)
}
