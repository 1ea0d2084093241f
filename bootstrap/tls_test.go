package bootstrap

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/tlstest"
)

// A server that requires a client certificate from the CA accepts the connection
// temporal.tls describes, and refuses one without the certificate.
func TestTemporalTLSPerformsMutualTLS(t *testing.T) {
	pki := tlstest.New(t, t.TempDir())
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pki.Server},
		ClientCAs: pki.Pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.(*tls.Conn).Handshake()
				_, _ = conn.Write([]byte("ok"))
			}()
		}
	}()
	handshake := func(tc *tls.Config) error {
		conn, err := tls.Dial("tcp", ln.Addr().String(), tc)
		if err != nil {
			return err
		}
		defer conn.Close()
		// TLS 1.3 reports a refused client certificate on the first read.
		buf := make([]byte, 2)
		_, err = conn.Read(buf)
		return err
	}

	mutual := config.Temporal{HostPort: ln.Addr().String(), TLS: config.TemporalTLS{CAFile: pki.CAFile, CertFile: pki.CertFile, KeyFile: pki.KeyFile}}
	tc, err := temporalTLS(mutual)
	if err != nil || tc == nil {
		t.Fatalf("tls config: %v %v", tc, err)
	}
	if tc.ServerName != "127.0.0.1" {
		t.Errorf("server name %q, want the host of host_port", tc.ServerName)
	}
	if err := handshake(tc); err != nil {
		t.Errorf("mutual TLS refused: %v", err)
	}

	serverOnly := mutual
	serverOnly.TLS.CertFile, serverOnly.TLS.KeyFile = "", ""
	tc, err = temporalTLS(serverOnly)
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(tc); err == nil {
		t.Error("a server requiring a client certificate accepted none")
	}

	// Without the CA the server's certificate is not trusted.
	tc, err = temporalTLS(config.Temporal{HostPort: ln.Addr().String(), TLS: config.TemporalTLS{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(tc); err == nil {
		t.Error("a certificate from an unknown CA was trusted")
	}
}

func TestTemporalTLSConfigs(t *testing.T) {
	dir := t.TempDir()
	pki := tlstest.New(t, dir)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		in      config.Temporal
		wantTLS bool
		wantErr string
	}{
		{"none", config.Temporal{HostPort: "t:7233"}, false, ""},
		{"enabled", config.Temporal{HostPort: "t:7233", TLS: config.TemporalTLS{Enabled: true}}, true, ""},
		{"plaintext wins for the embedded server", config.Temporal{HostPort: "t:7233", Plaintext: true, TLS: config.TemporalTLS{Enabled: true}}, false, ""},
		{"missing CA file", config.Temporal{HostPort: "t:7233", TLS: config.TemporalTLS{CAFile: filepath.Join(dir, "nope.pem")}}, false, "temporal.tls.ca_file"},
		{"CA file without certificates", config.Temporal{HostPort: "t:7233", TLS: config.TemporalTLS{CAFile: notPEM}}, false, "temporal.tls.ca_file"},
		{"key that does not match", config.Temporal{HostPort: "t:7233", TLS: config.TemporalTLS{CertFile: pki.CertFile, KeyFile: pki.CAFile}}, false, "temporal.tls.cert_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := temporalTLS(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got != nil) != tc.wantTLS {
				t.Errorf("TLS %v, want %v", got != nil, tc.wantTLS)
			}
		})
	}
}
