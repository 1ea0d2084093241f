package bootstrap

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"

	"github.com/fedkeeper/fedkeeper/config"
)

// temporalTLS builds the client's TLS settings from temporal.tls, or returns nil when
// the config asks for none. Errors name the key whose file is wrong.
func temporalTLS(t config.Temporal) (*tls.Config, error) {
	if t.Plaintext || !t.TLS.On() {
		return nil, nil
	}
	out := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.TLS.ServerName}
	if out.ServerName == "" {
		if host, _, err := net.SplitHostPort(t.HostPort); err == nil {
			out.ServerName = host
		}
	}
	if t.TLS.CAFile != "" {
		pem, err := os.ReadFile(t.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("temporal.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("temporal.tls.ca_file: %s holds no PEM certificate", t.TLS.CAFile)
		}
		out.RootCAs = pool
	}
	if t.TLS.CertFile != "" || t.TLS.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.TLS.CertFile, t.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("temporal.tls.cert_file and key_file: %w", err)
		}
		out.Certificates = []tls.Certificate{cert}
	}
	return out, nil
}
