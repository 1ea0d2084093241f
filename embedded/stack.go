// Package embedded brings up, in process, whatever the config leaves empty or calls
// "embedded": the Temporal server with its Web UI, the MongoDB-compatible store and a
// local FaaS fabric per OpenWhisk cluster. It records the addresses in the data
// directory (see package discovery), so workers started later on the same machine
// join the same stack.
package embedded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/embedded/discovery"
	"github.com/fedkeeper/fedkeeper/embedded/mongodb"
	"github.com/fedkeeper/fedkeeper/embedded/temporal"
	"github.com/fedkeeper/fedkeeper/fabric"
	"github.com/fedkeeper/fedkeeper/fabric/gcf"
	"github.com/fedkeeper/fedkeeper/fabric/openfaas"
	"github.com/fedkeeper/fedkeeper/fabric/openwhisk"
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
	fabrics  []*fabric.Fabric
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

	if config.IsEmbedded(cfg.Temporal.HostPort) {
		frontend, ui := cfg.Temporal.FrontendPort, cfg.Temporal.UIPort
		if frontend == 0 && !opts.FreePorts {
			frontend = DefaultFrontendPort
		}
		if ui == 0 && !opts.FreePorts {
			ui = DefaultUIPort
		}
		srv, err := temporal.Start(temporal.Options{
			DBPath: filepath.Join(dataDir, "temporal.db"), FrontendPort: frontend, UIPort: ui,
			Namespaces: []string{cfg.Temporal.Namespace}, LogFile: filepath.Join(dataDir, "temporal.log"),
		})
		if err != nil {
			return nil, err
		}
		s.temporal = srv
		s.TemporalHostPort, s.UIURL = srv.HostPort(), srv.UIURL()
		logger.Info("embedded Temporal server started", "host_port", s.TemporalHostPort, "ui", s.UIURL)
	}

	if config.IsEmbedded(cfg.Scenarios.FederatedLearning.MongoConfig.URL) {
		srv, err := mongodb.Start(ctx, mongodb.Options{Dir: filepath.Join(dataDir, "mongodb"), Logger: logging.AtLeast(logger, slog.LevelError)})
		if err != nil {
			return nil, err
		}
		s.mongo = srv
		s.MongoURI = srv.URI()
		logger.Info("embedded MongoDB-compatible store started", "uri", s.MongoURI)
	}

	if err := s.startFabrics(ctx, cfg, dataDir, logger); err != nil {
		return nil, err
	}

	if err := discovery.Write(s.file, s.Endpoints); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// startFabrics brings up one local fabric per embedded cluster, each speaking its
// platform's API with credentials of its own.
func (s *Stack) startFabrics(ctx context.Context, cfg *config.Config, dataDir string, logger *slog.Logger) error {
	start := func(platform, name string, port int, opts fabric.Options) (*fabric.Fabric, error) {
		opts.Addr = "127.0.0.1:0"
		if port != 0 {
			opts.Addr = fmt.Sprintf("127.0.0.1:%d", port)
		}
		opts.DataDir, opts.Logger = filepath.Join(dataDir, "fabric", platform+"-"+name), logger
		f, err := fabric.Start(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("embedded: %s cluster %s: %w", platform, name, err)
		}
		s.fabrics = append(s.fabrics, f)
		logger.Info("local FaaS fabric started", "platform", platform, "cluster", name, "url", f.URL)
		return f, nil
	}
	for _, name := range sortedKeys(cfg.Providers.OpenWhisk) {
		cluster := cfg.Providers.OpenWhisk[name]
		if !config.IsEmbedded(cluster.Auth.OWAPIHost) {
			continue
		}
		auth := cluster.Auth.OWAuth
		if auth == "" {
			auth = randomAuth()
		}
		ns := cluster.Namespace
		if ns == "" || ns == "_" {
			ns = "guest"
		}
		f, err := start("openwhisk", name, cluster.Fabric.Port, fabric.Options{
			OpenWhisk: &openwhisk.Options{Namespace: ns, Auth: auth, MaxContainers: cluster.Fabric.MaxContainers, Logger: logger},
		})
		if err != nil {
			return err
		}
		s.OpenWhisk[name] = discovery.FabricEndpoint{APIHost: f.URL, Auth: auth}
	}
	for _, name := range sortedKeys(cfg.Providers.Google) {
		cluster := cfg.Providers.Google[name]
		if !cluster.Embedded() {
			continue
		}
		token := cluster.AccessToken
		if token == "" {
			token = randomHex(32)
		}
		f, err := start("google", name, cluster.Fabric.Port, fabric.Options{
			GCF: &gcf.Options{Token: token, MaxInstances: cluster.Fabric.MaxContainers, Logger: logger},
		})
		if err != nil {
			return err
		}
		s.Google[name] = discovery.GoogleEndpoint{APIEndpoint: f.URL + "/", Token: token}
	}
	for _, name := range sortedKeys(cfg.Providers.OpenFaaS) {
		cluster := cfg.Providers.OpenFaaS[name]
		if !cluster.Embedded() {
			continue
		}
		user, password := cluster.Auth.User, cluster.Auth.Password
		if user == "" {
			user = "admin"
		}
		if password == "" {
			password = randomHex(24)
		}
		f, err := start("openfaas", name, cluster.Fabric.Port, fabric.Options{
			OpenFaaS: &openfaas.Options{User: user, Password: password, MaxInstances: cluster.Fabric.MaxContainers, Logger: logger},
		})
		if err != nil {
			return err
		}
		s.OpenFaaS[name] = discovery.OpenFaaSEndpoint{Gateway: f.URL, User: user, Password: password}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// randomAuth makes an OpenWhisk-style uuid:key credential for an embedded fabric.
func randomAuth() string {
	var b [16 + 32]byte
	_, _ = rand.Read(b[:])
	u := hex.EncodeToString(b[:16])
	return u[:8] + "-" + u[8:12] + "-" + u[12:16] + "-" + u[16:20] + "-" + u[20:] + ":" + hex.EncodeToString(b[16:])
}

// Stop shuts everything down, fabric first (its functions write to the store), and
// removes the endpoints file.
func (s *Stack) Stop() {
	for _, f := range s.fabrics {
		f.Stop()
	}
	if s.mongo != nil {
		s.mongo.Stop()
	}
	if s.temporal != nil {
		s.temporal.Stop()
	}
	if s.file != "" {
		discovery.Remove(s.file, os.Getpid())
	}
}
