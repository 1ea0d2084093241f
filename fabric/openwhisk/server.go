// Package openwhisk is the local fabric's OpenWhisk: it serves the OpenWhisk REST API
// (actions, invocations, activations, namespaces, limits) with basic authentication and
// runs every action as real processes under the actionloop protocol (native Go
// binaries, and Python actions under the fabric's Python launcher), keeping warm
// instances and recording cold starts as a real cluster does.
package openwhisk

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/container"
	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fabric/python"
)

// GuestAuth is the well-known key of OpenWhisk standalone's guest namespace.
const GuestAuth = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"

// Options configure the OpenWhisk part of the fabric.
type Options struct {
	// Namespace of the single subject; default "guest".
	Namespace string
	// Auth is the subject's "uuid:key"; required (GuestAuth is OpenWhisk standalone's
	// published one, for a fabric on loopback only).
	Auth string
	// DataDir receives the unpacked action code.
	DataDir string
	// APIHost is told to the functions as __OW_API_HOST.
	APIHost string
	// MaxContainers caps the function processes alive at once (default 2 per core, at least 4).
	MaxContainers int
	// ConcurrentInvocations in flight per namespace before 429 (default 1000).
	ConcurrentInvocations int
	// InvocationsPerMinute before 429; 0 means no rate limit.
	InvocationsPerMinute int
	// MaxBlockingWait caps a blocking invocation's wait before it turns into 202 (60 s).
	MaxBlockingWait time.Duration
	// IdleTimeout destroys warm containers unused this long (10 minutes).
	IdleTimeout time.Duration
	// MaxActivations kept in memory for GET (default 100,000).
	MaxActivations int
	// ClockSkew is how far this cluster's clock runs ahead of the machine's: every time
	// it reports (an action's updated, an activation's start and end) is shifted, as a
	// real cluster's would be (for tests of the keeper's clock handling).
	ClockSkew time.Duration
	// Limits of this deployment.
	MinMemory, MaxMemory   int
	MinTimeout, MaxTimeout int
	// Python is the interpreter of Python actions (python.DefaultInterpreter when
	// empty): every Python kind runs under it.
	Python string
	// Faults are injected into invocations when set.
	Faults *faults.Injector
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Namespace == "" {
		o.Namespace = "guest"
	}
	if o.MaxContainers <= 0 {
		o.MaxContainers = core.DefaultMaxInstances()
	}
	if o.ConcurrentInvocations <= 0 {
		o.ConcurrentInvocations = 1000
	}
	if o.MaxBlockingWait <= 0 {
		o.MaxBlockingWait = 60 * time.Second
	}
	if o.MaxActivations <= 0 {
		o.MaxActivations = 100000
	}
	if o.MinMemory <= 0 {
		o.MinMemory = 128
	}
	if o.MaxMemory <= 0 {
		o.MaxMemory = 8192
	}
	if o.MinTimeout <= 0 {
		o.MinTimeout = 100
	}
	if o.MaxTimeout <= 0 {
		o.MaxTimeout = 600000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server is the OpenWhisk API of the fabric.
type Server struct {
	opts        Options
	subject     string
	mux         *http.ServeMux
	guard       core.Guard
	invoker     *core.Invoker[container.Request, json.RawMessage]
	python      *python.Runtimes
	log         *slog.Logger
	mu          sync.Mutex
	actions     map[string]*action // by name (package/name)
	activations *activationStore
	inFlight    int
	minute      rateWindow
	generations atomic.Int64 // numbers every stored action version
}

// New prepares the server; Close releases its processes.
func New(opts Options) (*Server, error) {
	opts.defaults()
	uuid, key, ok := strings.Cut(opts.Auth, ":")
	if !ok || uuid == "" || key == "" {
		return nil, errors.New("openwhisk: auth must be uuid:key (no default: a fabric runs code it is sent)")
	}
	if opts.DataDir == "" {
		return nil, errors.New("openwhisk: a data directory is required")
	}
	// Actions live in memory; code unpacked by an earlier run of the fabric is garbage.
	if err := os.RemoveAll(filepath.Join(opts.DataDir, "actions")); err != nil {
		return nil, fmt.Errorf("openwhisk: clear old actions: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(opts.DataDir, "actions"), 0o700); err != nil {
		return nil, fmt.Errorf("openwhisk: create data directory: %w", err)
	}
	py, err := python.Install(filepath.Join(opts.DataDir, "python"), opts.Python)
	if err != nil {
		return nil, fmt.Errorf("openwhisk: %w", err)
	}
	s := &Server{
		opts: opts, subject: uuid, python: py, mux: http.NewServeMux(), log: opts.Logger,
		guard: core.Guard{Credential: core.Basic{UserPass: opts.Auth}, Deny: unauthorized},
		invoker: core.New[container.Request](core.Options[json.RawMessage]{
			MaxInstances: opts.MaxContainers, IdleTimeout: opts.IdleTimeout, Faults: opts.Faults, Failed: injectedFailure,
		}),
		actions: map[string]*action{}, activations: newActivationStore(opts.MaxActivations),
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	const base = "/api/v1/namespaces"
	auth := s.guard.Wrap
	s.mux.HandleFunc("GET /api/v1/namespaces", auth(s.listNamespaces))
	s.mux.HandleFunc("GET "+base+"/{ns}/limits", auth(s.namespaced(s.getLimits)))
	s.mux.HandleFunc("GET "+base+"/{ns}/actions", auth(s.namespaced(s.listActions)))
	s.mux.HandleFunc("PUT "+base+"/{ns}/actions/{name...}", auth(s.namespaced(s.putAction)))
	s.mux.HandleFunc("GET "+base+"/{ns}/actions/{name...}", auth(s.namespaced(s.getAction)))
	s.mux.HandleFunc("DELETE "+base+"/{ns}/actions/{name...}", auth(s.namespaced(s.deleteAction)))
	s.mux.HandleFunc("POST "+base+"/{ns}/actions/{name...}", auth(s.namespaced(s.invoke)))
	s.mux.HandleFunc("GET "+base+"/{ns}/activations", auth(s.namespaced(s.listActivations)))
	s.mux.HandleFunc("GET "+base+"/{ns}/activations/{id}", auth(s.namespaced(s.getActivation)))
	s.mux.HandleFunc("GET "+base+"/{ns}/activations/{id}/result", auth(s.namespaced(s.getActivationResult)))
	s.mux.HandleFunc("GET "+base+"/{ns}/activations/{id}/logs", auth(s.namespaced(s.getActivationLogs)))
	s.webRoutes()
	s.mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Origin", "*")
			w.Header().Set("Access-Control-Allow-Methods", "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent")
			return
		}
		writeError(w, http.StatusNotFound, "The requested resource does not exist.")
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Close stops accepting work, waits for running activations to be cut short and
// destroys every container.
func (s *Server) Close() { s.invoker.Close() }

// unauthorized answers a request without the subject's uuid:key.
func unauthorized(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusUnauthorized, "The supplied authentication is invalid")
}

// namespaced resolves "_" to the subject's namespace and refuses any other namespace.
func (s *Server) namespaced(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ns := r.PathValue("ns")
		if ns != "_" && ns != s.opts.Namespace {
			writeError(w, http.StatusForbidden, "The supplied authentication is not authorized to access this resource.")
			return
		}
		next(w, r)
	}
}

func (s *Server) listNamespaces(w http.ResponseWriter, _ *http.Request) {
	core.WriteJSON(w, http.StatusOK, []string{s.opts.Namespace})
}

func (s *Server) getLimits(w http.ResponseWriter, _ *http.Request) {
	core.WriteJSON(w, http.StatusOK, map[string]any{
		"invocationsPerMinute":  s.opts.InvocationsPerMinute,
		"concurrentInvocations": s.opts.ConcurrentInvocations,
		"firesPerMinute":        60,
		"maxActionInstances":    s.opts.MaxContainers,
		"minActionMemory":       s.opts.MinMemory << 20,
		"maxActionMemory":       s.opts.MaxMemory << 20,
		"minActionTimeout":      s.opts.MinTimeout,
		"maxActionTimeout":      s.opts.MaxTimeout,
		"minActionLogs":         0,
		"maxActionLogs":         10 << 20,
		"minActionConcurrency":  1,
		"maxActionConcurrency":  1,
		"maxParameterSize":      "1 MB",
	})
}

// idBytes make the 32 hex digits of OpenWhisk's activation and transaction ids.
const idBytes = 16

// writeError answers in OpenWhisk's error shape: the message and a transaction id.
func writeError(w http.ResponseWriter, status int, message string) {
	core.WriteJSON(w, status, map[string]string{"error": message, "code": core.HexID(idBytes)})
}

// rateWindow counts invocations in the current minute.
type rateWindow struct {
	start time.Time
	count int
}

func (rw *rateWindow) allow(now time.Time, limit int) (int, bool) {
	if limit <= 0 {
		return 0, true
	}
	if now.Sub(rw.start) >= time.Minute {
		rw.start, rw.count = now, 0
	}
	if rw.count >= limit {
		return rw.count, false
	}
	rw.count++
	return rw.count, true
}
