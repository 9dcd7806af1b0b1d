package consumer

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/reckonhq/reckon/config"
)

// ClientOpts returns the franz-go options that connect to the configured
// cluster: seed brokers, client id, TLS and SASL.
//
// The CA certificates are read once, here. The client certificate and the
// SASL password are read from their files at every TLS handshake and every
// authentication (config.TLS.ClientCertificate, config.SASL.Secret), so
// that secrets rotated on disk are used from the next connection on; a
// secret that no longer resolves fails that connection, with the file named.
func ClientOpts(k *config.Kafka) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(k.Brokers...),
		kgo.ClientID(k.ClientID),
	}
	if t := k.TLS; t != nil && t.Enabled {
		roots, err := t.RootCAs()
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.ca_file: %w", err)
		}
		tc := &tls.Config{RootCAs: roots, InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
		if t.CertFile != "" {
			tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				c, err := t.ClientCertificate()
				if err != nil {
					return nil, fmt.Errorf("kafka.tls client certificate: %w", err)
				}
				return c, nil
			}
		}
		opts = append(opts, kgo.Dialer((&tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: tc}).DialContext))
	}
	if s := k.SASL; s != nil {
		m, err := saslMechanism(s)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// saslMechanism returns the mechanism of s, which asks s for the password
// at every authentication.
func saslMechanism(s *config.SASL) (sasl.Mechanism, error) {
	secret := func() (string, error) {
		pw, err := s.Secret()
		if err != nil {
			return "", fmt.Errorf("kafka.sasl.password_file: %w", err)
		}
		return pw, nil
	}
	scramAuth := func(context.Context) (scram.Auth, error) {
		pw, err := secret()
		return scram.Auth{User: s.Username, Pass: pw}, err
	}
	switch s.Mechanism {
	case config.MechanismPlain:
		return plain.Plain(func(context.Context) (plain.Auth, error) {
			pw, err := secret()
			return plain.Auth{User: s.Username, Pass: pw}, err
		}), nil
	case config.MechanismScramSHA256:
		return scram.Sha256(scramAuth), nil
	case config.MechanismScramSHA512:
		return scram.Sha512(scramAuth), nil
	}
	return nil, fmt.Errorf("kafka.sasl.mechanism %q is not supported", s.Mechanism)
}
