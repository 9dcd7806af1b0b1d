package consumer

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/reckonhq/reckon/config"
)

// ClientOpts returns the franz-go options that connect to the configured
// cluster: seed brokers, client id, TLS and SASL.
func ClientOpts(k *config.Kafka) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(k.Brokers...),
		kgo.ClientID(k.ClientID),
	}
	if k.TLS != nil && k.TLS.Enabled {
		tc := &tls.Config{InsecureSkipVerify: k.TLS.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
		if k.TLS.CAFile != "" {
			pem, err := os.ReadFile(k.TLS.CAFile)
			if err != nil {
				return nil, fmt.Errorf("kafka.tls.ca_file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("kafka.tls.ca_file %s: no PEM certificates", k.TLS.CAFile)
			}
		}
		if k.TLS.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(k.TLS.CertFile, k.TLS.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("kafka.tls client certificate: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		opts = append(opts, kgo.Dialer((&tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: tc}).DialContext))
	}
	if s := k.SASL; s != nil {
		var m sasl.Mechanism
		switch s.Mechanism {
		case config.MechanismPlain:
			m = plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism()
		case config.MechanismScramSHA256:
			m = scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism()
		case config.MechanismScramSHA512:
			m = scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism()
		default:
			return nil, fmt.Errorf("kafka.sasl.mechanism %q is not supported", s.Mechanism)
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}
