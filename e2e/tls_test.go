package e2e

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/embedded/temporal"
	"github.com/fedkeeper/fedkeeper/tlstest"
)

// TestTemporalOverTLS connects FedKeeper's client, configured only through the keys a
// user writes (temporal.host_port, api_key, tls.*), to a real Temporal frontend that
// speaks TLS: first with an API key over TLS, the way Temporal Cloud's API-key
// namespaces work, then with mutual TLS, the way its certificate namespaces and
// self-hosted clusters with requireClientAuth work.
func TestTemporalOverTLS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	const apiKey = "tls-test-key"
	for _, tc := range []struct {
		name   string
		mutual bool
	}{{"api key over tls", false}, {"mutual tls", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			pki := tlstest.New(t, dir)
			frontend := &temporal.FrontendTLS{CertPEM: pki.ServerCertPEM, KeyPEM: pki.ServerKeyPEM}
			if tc.mutual {
				frontend.ClientCAPEM = pki.CAPEM
			}
			srv, err := temporal.Start(temporal.Options{DBPath: filepath.Join(dir, "temporal.db"), UIPort: -1,
				Namespaces: []string{"default"}, APIKey: apiKey, FrontendTLS: frontend})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()

			good := config.Temporal{HostPort: srv.HostPort(), Namespace: "default", APIKey: apiKey,
				TLS: config.TemporalTLS{CAFile: pki.CAFile}}
			if tc.mutual {
				good.TLS.CertFile, good.TLS.KeyFile = pki.CertFile, pki.KeyFile
			}
			if err := describe(ctx, good, logger); err != nil {
				t.Fatalf("the configured client was refused: %v", err)
			}

			bad := map[string]config.Temporal{}
			untrusted := good
			untrusted.TLS = config.TemporalTLS{Enabled: true, CertFile: good.TLS.CertFile, KeyFile: good.TLS.KeyFile}
			bad["a client that does not trust the server's CA"] = untrusted
			plaintext := good
			plaintext.Plaintext, plaintext.TLS = true, config.TemporalTLS{}
			bad["a plaintext client"] = plaintext
			wrongKey := good
			wrongKey.APIKey = "not-the-key"
			bad["a wrong API key"] = wrongKey
			if tc.mutual {
				noCert := good
				noCert.TLS.CertFile, noCert.TLS.KeyFile = "", ""
				bad["a client without a certificate"] = noCert
			}
			for name, tcfg := range bad {
				if err := describe(ctx, tcfg, logger); err == nil {
					t.Errorf("%s was let in", name)
				}
			}
		})
	}
}

// describe dials with cfg and makes one namespace call, bounded so a refused TLS
// handshake does not wait out the test.
func describe(ctx context.Context, tcfg config.Temporal, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := bootstrap.Dial(ctx, &config.Config{Temporal: tcfg}, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: tcfg.Namespace})
	return err
}
