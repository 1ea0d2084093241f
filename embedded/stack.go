// Package embedded brings up, in process, whatever the config leaves empty or calls
// "embedded": the Temporal server with its Web UI, the MongoDB-compatible store and a
// local FaaS fabric per OpenWhisk cluster. It records the addresses in the data
// directory (see package discovery), so workers started later on the same machine
// join the same stack.
package embedded

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/embedded/discovery"
	"github.com/fedkeeper/fedkeeper/embedded/fabrics"
	"github.com/fedkeeper/fedkeeper/embedded/mongodb"
	"github.com/fedkeeper/fedkeeper/embedded/temporal"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/logging"
)

// Default ports of the embedded Temporal server and UI, as the Temporal CLI's dev server.
const (
	DefaultFrontendPort = 7233
	DefaultUIPort       = 8233
)

// Stack is what Start brought up.
type Stack struct {
	discovery.Endpoints
	temporal *temporal.Server
	mongo    *mongodb.Server
	fabrics  *fabrics.Set
	file     string
}

// Options tune Start; tests use free ports everywhere.
type Options struct {
	// FreePorts ignores the default Temporal ports and picks free ones.
	FreePorts bool
	Logger    *slog.Logger
}

// Start brings up the embedded services the config asks for.
func Start(ctx context.Context, cfg *config.Config, opts Options) (*Stack, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("embedded: data directory: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded: create data directory: %w", err)
	}
	s := &Stack{Endpoints: discovery.Endpoints{OpenWhisk: map[string]discovery.FabricEndpoint{},
		Google: map[string]discovery.GoogleEndpoint{}, OpenFaaS: map[string]discovery.OpenFaaSEndpoint{}, PID: os.Getpid(), Started: time.Now().UTC()},
		file: discovery.File(dataDir)}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()

	// A stack that starts again takes the ports (and credentials) it had, when free.
	prev, err := discovery.Read(dataDir)
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	sticky := func(addr string) int {
		if port := discovery.PortOf(addr); discovery.Free(port) {
			return port
		}
		return 0
	}

	if config.IsEmbedded(cfg.Temporal.HostPort) {
		frontend, ui := cfg.Temporal.FrontendPort, cfg.Temporal.UIPort
		if frontend == 0 {
			frontend = sticky(prev.TemporalHostPort)
		}
		if frontend == 0 && !opts.FreePorts {
			frontend = DefaultFrontendPort
		}
		if ui == 0 {
			ui = sticky(prev.UIURL)
		}
		if ui == 0 && !opts.FreePorts {
			ui = DefaultUIPort
		}
		// Like the fabrics' credentials, the key survives a restart, so workers that
		// outlived the stack keep their connection.
		apiKey := prev.TemporalAPIKey
		if apiKey == "" {
			apiKey = fabrics.NewSecret(32)
		}
		srv, err := temporal.Start(temporal.Options{
			DBPath: filepath.Join(dataDir, "temporal.db"), FrontendPort: frontend, UIPort: ui,
			Namespaces: []string{cfg.Temporal.Namespace}, LogFile: filepath.Join(dataDir, "temporal.log"),
			APIKey: apiKey,
		})
		if err != nil {
			return nil, err
		}
		s.temporal = srv
		s.TemporalHostPort, s.UIURL, s.TemporalAPIKey = srv.HostPort(), srv.UIURL(), apiKey
		logger.Info("embedded Temporal server started", "host_port", s.TemporalHostPort, "ui", s.UIURL)
	}

	if config.IsEmbedded(cfg.Scenarios.FederatedLearning.MongoConfig.URL) {
		srv, err := mongodb.Start(ctx, mongodb.Options{Dir: filepath.Join(dataDir, "mongodb"), Socket: socketFor(dataDir),
			Logger: logging.AtLeast(logger, slog.LevelError)})
		if err != nil {
			return nil, err
		}
		s.mongo = srv
		s.MongoURI = srv.URI()
		// FerretDB moves large binary values at tens of MB/s; files beside it at GB/s.
		s.TensorDir = filepath.Join(dataDir, "tensors")
		logger.Info("embedded MongoDB-compatible store started", "uri", s.MongoURI)
	}

	set, err := fabrics.Start(ctx, cfg, dataDir, logger, &s.Endpoints, prev)
	if err != nil {
		return nil, err
	}
	s.fabrics = set

	if err := discovery.Write(s.file, s.Endpoints); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// AnnounceDashboard records in the endpoints file the dashboard this stack's process
// serves, so the starters and workers that join the stack point to it rather than
// serving one each.
func (s *Stack) AnnounceDashboard(url string) error {
	s.Endpoints.DashboardURL = url
	return discovery.Write(s.file, s.Endpoints)
}

// socketFor is the embedded store's Unix socket for a data directory: in a private
// folder of the temporary directory (socket paths are short, and the MongoDB driver
// lower-cases them), named after the data directory so every process finds it.
func socketFor(dataDir string) string {
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	sum := sha256.Sum256([]byte(dataDir))
	base := os.TempDir()
	if base != strings.ToLower(base) {
		base = "/tmp"
	}
	return filepath.Join(base, fmt.Sprintf("fedkeeper-%d-%s", os.Getuid(), hex.EncodeToString(sum[:6])), "mongodb.sock")
}

// TemporalInternode lists the embedded Temporal services' own addresses, which answer
// only callers holding the server's certificate.
func (s *Stack) TemporalInternode() []string {
	if s.temporal == nil {
		return nil
	}
	return s.temporal.InternodeAddresses()
}

// Injected sums the faults the stack's fabrics injected so far.
func (s *Stack) Injected() map[faults.Kind]int {
	if s.fabrics == nil {
		return map[faults.Kind]int{}
	}
	return s.fabrics.Injected()
}

// Stop shuts everything down, fabric first (its functions write to the store). The
// endpoints file stays: the next start reuses its ports.
func (s *Stack) Stop() {
	if s.fabrics != nil {
		s.fabrics.Stop()
	}
	if s.mongo != nil {
		s.mongo.Stop()
	}
	if s.temporal != nil {
		s.temporal.Stop()
	}

}
