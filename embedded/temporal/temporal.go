// Package temporal runs the embedded Temporal server (all four services in process,
// SQLite persistence in a WAL file so a rerun finds the earlier histories) and,
// optionally, the Temporal Web UI. Everything listens on 127.0.0.1 only, and nothing
// answers without credentials: the frontend and the UI want the API key, and the
// services speak among themselves over mutual TLS.
package temporal

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	uiserver "github.com/temporalio/ui-server/v2/server"

	"github.com/fedkeeper/fedkeeper/loopback"
)

// Options configure the embedded server.
type Options struct {
	// DBPath is the SQLite file; created with the schema when missing.
	DBPath string
	// FrontendPort on 127.0.0.1; 0 picks a free port.
	FrontendPort int
	// UIPort of the Web UI on 127.0.0.1; 0 picks a free port, negative disables the UI.
	UIPort int
	// Namespaces to create (idempotent).
	Namespaces []string
	// SearchAttributes to register on the namespaces.
	SearchAttributes map[string]enumspb.IndexedValueType
	// LogFile receives the server's own log; empty discards it.
	LogFile string
	// APIKey is what clients must send ("authorization: Bearer KEY") and what the Web UI
	// asks for as its password. Required.
	APIKey string
	// FrontendTLS, when set, makes the public frontend speak TLS, as a Temporal cluster
	// reached over a network does (Temporal Cloud: TLS and an API key, or mutual TLS).
	// The Web UI dials the frontend in plaintext, so it needs UIPort -1.
	FrontendTLS *FrontendTLS
}

// FrontendTLS is the frontend's certificate and key (PEM) and, for mutual TLS, the CA
// (PEM) that must have issued every client's certificate.
type FrontendTLS struct {
	CertPEM, KeyPEM []byte
	ClientCAPEM     []byte
}

// Server is a running embedded Temporal.
type Server struct {
	server     temporal.Server
	ui         *uiserver.Server
	uiDone     chan struct{}
	uiGate     *http.Server
	uiGateDone chan struct{}
	hostPort   string
	internode  []string
	uiURL      string
}

// HostPort is the frontend's gRPC address.
func (s *Server) HostPort() string { return s.hostPort }

// InternodeAddresses are where the other services listen (mutual TLS only).
func (s *Server) InternodeAddresses() []string { return s.internode }

// UIURL is the Web UI's address, or "" when disabled.
func (s *Server) UIURL() string { return s.uiURL }

// localIP is where every service and the UI listen.
const localIP = loopback.Host

// Start brings up the server and waits until its frontend accepts connections.
func Start(opts Options) (*Server, error) {
	if opts.DBPath == "" {
		return nil, errors.New("temporal: a database path is required")
	}
	if opts.APIKey == "" {
		return nil, errors.New("temporal: an API key is required")
	}
	if opts.FrontendTLS != nil && opts.UIPort >= 0 {
		return nil, errors.New("temporal: the Web UI cannot reach a TLS frontend; disable it (UIPort -1)")
	}
	if err := os.MkdirAll(filepath.Dir(opts.DBPath), 0o700); err != nil {
		return nil, fmt.Errorf("temporal: create data directory: %w", err)
	}
	frontendPort := opts.FrontendPort
	if frontendPort == 0 {
		p, err := loopback.FreePort()
		if err != nil {
			return nil, fmt.Errorf("temporal: %w", err)
		}
		frontendPort = p
	} else if err := portFree(frontendPort); err != nil {
		return nil, fmt.Errorf("temporal: frontend port %d: %w (set temporal.frontend_port)", frontendPort, err)
	}
	ports := map[primitives.ServiceName]int{primitives.FrontendService: frontendPort}
	// The system workers reach the server through the internal frontend, which trusts
	// its (mutually authenticated) callers, so they need no API key.
	for _, svc := range []primitives.ServiceName{primitives.InternalFrontendService, primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		p, err := loopback.FreePort()
		if err != nil {
			return nil, fmt.Errorf("temporal: %w", err)
		}
		ports[svc] = p
	}
	hostPort := net.JoinHostPort(localIP, strconv.Itoa(frontendPort))

	sqlConfig := config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: opts.DBPath,
		// WAL: several times faster than the default rollback journal for the server's
		// many small transactions.
		ConnectAttributes: map[string]string{"mode": "rwc", "journal_mode": "wal", "synchronous": "normal", "busy_timeout": "10000"},
		// One connection. With four, SQLite's single writer made concurrent transactions
		// fail with "database is locked" (517: a read transaction that could not become
		// a write) or wait out the 10 s busy timeout, stalling the server under load;
		// a round of 1,000 clients took as long with one (19.6 s against 20.5 s, cmd/bench
		// -only rounds, 2026-11-28).
		MaxConns:     1,
		MaxIdleConns: 1,
	}
	if _, err := os.Stat(opts.DBPath); errors.Is(err, os.ErrNotExist) {
		if err := sqliteschema.SetupSchema(&sqlConfig); err != nil {
			return nil, fmt.Errorf("temporal: create schema in %s: %w", opts.DBPath, err)
		}
	}
	var namespaces []*sqliteschema.NamespaceConfig
	for _, ns := range opts.Namespaces {
		nsConfig, err := sqliteschema.NewNamespaceConfig("active", ns, false, opts.SearchAttributes)
		if err != nil {
			return nil, fmt.Errorf("temporal: namespace %s: %w", ns, err)
		}
		namespaces = append(namespaces, nsConfig)
	}
	if err := sqliteschema.CreateNamespaces(&sqlConfig, namespaces...); err != nil {
		return nil, fmt.Errorf("temporal: create namespaces: %w", err)
	}

	internode, err := internodeTLS()
	if err != nil {
		return nil, err
	}
	cfg := &config.Config{
		Global: config.Global{TLS: config.RootTLS{Internode: internode, Frontend: frontendTLS(opts.FrontendTLS)}},
		// No Global.Metrics: the server then reports to a no-op handler instead of
		// opening a Prometheus port.
		Persistence: config.Persistence{
			DefaultStore: sqliteplugin.PluginName, VisibilityStore: sqliteplugin.PluginName, NumHistoryShards: 1,
			DataStores: map[string]config.DataStore{sqliteplugin.PluginName: {SQL: &sqlConfig}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace: false, FailoverVersionIncrement: 10,
			MasterClusterName: "active", CurrentClusterName: "active",
			ClusterInformation: map[string]cluster.ClusterInformation{
				"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: hostPort},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services:            map[string]config.Service{},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	var services, internodeAddrs []string
	for svc, port := range ports {
		addr := net.JoinHostPort(localIP, strconv.Itoa(port))
		cfg.Services[string(svc)] = config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: localIP}}
		hosts[svc] = static.SingleLocalHost(addr)
		services = append(services, string(svc))
		if svc != primitives.FrontendService {
			internodeAddrs = append(internodeAddrs, addr)
		}
	}

	logger := log.NewNoopLogger()
	var zapLogger log.Logger
	if opts.LogFile != "" {
		zapLogger = log.NewZapLogger(log.BuildZapLogger(log.Config{Level: "warn", OutputFile: opts.LogFile}))
	}
	serverOpts := []temporal.ServerOption{
		temporal.WithConfig(cfg),
		temporal.ForServices(services),
		temporal.WithStaticHosts(hosts),
		temporal.WithClaimMapper(claimMapperFor(opts.APIKey)),
		temporal.WithAuthorizer(adminOnly{}),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			// Otherwise the server phones home for a version check at start.
			dynamicconfig.EnableServerVersionCheck.Key(): []dynamicconfig.ConstrainedValue{{Value: false}},
			// Search attributes registered above become usable at once.
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
		}),
	}
	if zapLogger != nil {
		serverOpts = append(serverOpts, temporal.WithLogger(zapLogger))
	} else {
		serverOpts = append(serverOpts, temporal.WithLogger(logger))
	}
	srv, err := temporal.NewServer(serverOpts...)
	if err != nil {
		return nil, fmt.Errorf("temporal: configure server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("temporal: start server: %w", err)
	}
	s := &Server{server: srv, hostPort: hostPort, internode: internodeAddrs}
	if err := waitListening(hostPort, 30*time.Second); err != nil {
		_ = srv.Stop()
		return nil, err
	}
	if opts.UIPort >= 0 {
		if err := s.startUI(opts.UIPort, opts.Namespaces, opts.APIKey); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// Stop shuts the UI and the server down.
func (s *Server) Stop() {
	if s.uiGate != nil {
		_ = s.uiGate.Close()
		<-s.uiGateDone
	}
	if s.ui != nil {
		s.ui.Stop()
		<-s.uiDone
	}
	_ = s.server.Stop()
}

func portFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(localIP, strconv.Itoa(port)))
	if err != nil {
		return errors.New("the port is in use")
	}
	return l.Close()
}

// waitListening polls until addr accepts TCP connections.
func waitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return conn.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("temporal: %s not listening after %v: %w", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
