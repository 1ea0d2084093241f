package temporal

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"

	"github.com/fedkeeper/fedkeeper/httpauth"
	"github.com/fedkeeper/fedkeeper/loopback"
)

// startUI runs the Temporal UI server on a private port behind a gate on the public
// one. The UI server itself has no password option (only OpenID Connect), so the gate
// asks the browser for the API key (HTTP basic authentication, any user name) and
// passes it on as the bearer token the frontend checks. Reaching the private port
// directly gains nothing: the frontend refuses the UI's calls without the key.
func (s *Server) startUI(port int, namespaces []string, apiKey string) error {
	if port == 0 {
		p, err := loopback.FreePort()
		if err != nil {
			return fmt.Errorf("temporal: UI: %w", err)
		}
		port = p
	} else if err := portFree(port); err != nil {
		return fmt.Errorf("temporal: UI port %d: %w (set temporal.ui_port, or -1 to disable the UI)", port, err)
	}
	innerPort, err := loopback.FreePort()
	if err != nil {
		return fmt.Errorf("temporal: UI: %w", err)
	}
	defaultNS := "default"
	if len(namespaces) > 0 {
		defaultNS = namespaces[0]
	}
	cfg := &uiconfig.Config{
		Host:                localIP,
		Port:                innerPort,
		TemporalGRPCAddress: s.hostPort,
		EnableUI:            true,
		DefaultNamespace:    defaultNS,
		HideLogs:            true,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		DisableNewsFetch:    true,
	}
	s.ui = uiserver.NewServer(uioptions.WithConfigProvider(cfg))
	s.uiDone = make(chan struct{})
	go func() {
		defer close(s.uiDone)
		_ = s.ui.Start()
	}()
	inner := net.JoinHostPort(localIP, strconv.Itoa(innerPort))
	if err := waitListening(inner, 10*time.Second); err != nil {
		return fmt.Errorf("temporal: Web UI: %w", err)
	}

	addr := net.JoinHostPort(localIP, strconv.Itoa(port))
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("temporal: Web UI: %w", err)
	}
	s.uiGate = &http.Server{Handler: uiGate(&url.URL{Scheme: "http", Host: inner}, apiKey), ReadHeaderTimeout: 10 * time.Second}
	s.uiGateDone = make(chan struct{})
	go func() {
		defer close(s.uiGateDone)
		_ = s.uiGate.Serve(listener) // ends with ErrServerClosed when Stop closes it
	}()
	s.uiURL = "http://" + addr
	return nil
}

// uiGate lets through requests that carry the API key, as a basic-authentication
// password or as a bearer token, and hands them to the UI server with the bearer token
// the frontend expects.
func uiGate(inner *url.URL, apiKey string) http.Handler {
	proxy := httputil.NewSingleHostReverseProxy(inner)
	return httpauth.RequireForBrowser(apiKey, "FedKeeper Temporal UI",
		"the Temporal Web UI wants the API key as password: temporal_api_key in the data directory's stack.json (any user name)",
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+apiKey)
			proxy.ServeHTTP(w, r)
		}))
}
