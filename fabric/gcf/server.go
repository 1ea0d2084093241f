// Package gcf is the local fabric's Google Cloud Functions (1st gen): it serves the
// Cloud Functions v1 REST API (functions create/get/list/patch/delete/call,
// generateUploadUrl, operations) and the functions' HTTPS trigger URLs. A deployment
// builds an uploaded Go source the way the Go buildpack does (a generated main that
// starts functions-framework-go), or checks a Python one (main.py, requirements.txt)
// and serves it with the fabric's functions-framework runner on Flask; every instance
// runs as a real process serving HTTP on $PORT, one request at a time.
package gcf

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fabric/httpproc"
	"github.com/fedkeeper/fedkeeper/fabric/python"
)

// Options configure the Cloud Functions part of the fabric.
type Options struct {
	// Token is the bearer token every API and trigger request must carry.
	Token string
	// BaseURL is the fabric's own address, for upload and trigger URLs.
	BaseURL string
	// DataDir receives uploaded sources and built functions.
	DataDir string
	// MaxInstances caps the function processes alive at once (default 2 per core, at least 4).
	MaxInstances int
	// CallsPer100s is the quota of the test-only :call method (GCF's is 16).
	CallsPer100s int
	// IdleTimeout destroys warm instances unused this long (10 minutes).
	IdleTimeout time.Duration
	// GoCommand builds uploaded Go sources (default "go").
	GoCommand string
	// Python is the interpreter of Python functions (python.DefaultInterpreter when
	// empty): every Python runtime runs under it.
	Python string
	// Faults are injected into invocations when set.
	Faults *faults.Injector
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.CallsPer100s <= 0 {
		o.CallsPer100s = 16
	}
	if o.GoCommand == "" {
		o.GoCommand = "go"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server is the Cloud Functions API of the fabric.
type Server struct {
	opts    Options
	mux     *http.ServeMux
	guard   core.Guard
	invoker *core.Invoker[httpproc.Request, httpproc.Response]
	python  *python.Runtimes
	log     *slog.Logger

	secrets secretStore

	mu         sync.Mutex
	functions  map[string]*function // by full resource name
	operations map[string]*operation
	uploads    map[string]*upload // by upload token
	uploadKey  []byte             // signs upload URLs
	now        func() time.Time
	calls      []time.Time // recent :call requests, for the quota
}

// New prepares the server; Close releases its processes.
func New(opts Options) (*Server, error) {
	opts.defaults()
	if opts.Token == "" {
		return nil, errors.New("gcf: a bearer token is required")
	}
	if opts.DataDir == "" || opts.BaseURL == "" {
		return nil, errors.New("gcf: a data directory and the fabric's base URL are required")
	}
	// Functions live in memory; what an earlier run built is garbage.
	if err := os.RemoveAll(opts.DataDir); err != nil {
		return nil, fmt.Errorf("gcf: clear old functions: %w", err)
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("gcf: create data directory: %w", err)
	}
	py, err := python.Install(filepath.Join(opts.DataDir, "python"), opts.Python)
	if err != nil {
		return nil, fmt.Errorf("gcf: %w", err)
	}
	s := &Server{
		opts: opts, mux: http.NewServeMux(), log: opts.Logger, python: py,
		guard: core.Guard{Credential: core.Bearer{Token: opts.Token}, Deny: unauthenticated},
		invoker: core.New[httpproc.Request](core.Options[httpproc.Response]{
			MaxInstances: opts.MaxInstances, IdleTimeout: opts.IdleTimeout, Faults: opts.Faults, Failed: httpproc.InjectedFailure,
		}),
		functions: map[string]*function{}, operations: map[string]*operation{}, uploads: map[string]*upload{},
		uploadKey: []byte(core.HexID(32)), now: time.Now,
		secrets: secretStore{secrets: map[string]*secret{}},
	}
	s.routes()
	return s, nil
}

// Routes the fabric mounts on its listener.
const (
	APIPrefix     = "/v1/"
	UploadPrefix  = "/gcf-upload/"
	TriggerPrefix = "/gcf/"
)

func (s *Server) routes() {
	const loc = "/v1/projects/{project}/locations/{location}"
	auth := s.guard.Wrap
	s.mux.HandleFunc("GET /v1/projects/{project}/locations", auth(s.listLocations))
	s.mux.HandleFunc("POST "+loc+"/functions", auth(s.create))
	s.mux.HandleFunc("GET "+loc+"/functions", auth(s.list))
	s.mux.HandleFunc("POST "+loc+"/{method}", auth(s.locationMethod))
	s.mux.HandleFunc("GET "+loc+"/functions/{fn}", auth(s.get))
	s.mux.HandleFunc("PATCH "+loc+"/functions/{fn}", auth(s.patch))
	s.mux.HandleFunc("DELETE "+loc+"/functions/{fn}", auth(s.delete))
	s.mux.HandleFunc("POST "+loc+"/functions/{fn}", auth(s.functionMethod))
	s.mux.HandleFunc("GET /v1/operations/{op}", auth(s.getOperation))
	s.mux.HandleFunc("GET /v1/operations", auth(s.listOperations))
	s.secrets.routes(s.mux, auth)
	s.mux.HandleFunc("PUT "+UploadPrefix+"{token}", s.upload)
	s.mux.HandleFunc(TriggerPrefix+"{project}/{region}/{fn}/", auth(s.trigger))
	s.mux.HandleFunc(TriggerPrefix+"{project}/{region}/{fn}", auth(s.trigger))
	s.mux.HandleFunc(APIPrefix, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// TriggerURL is the HTTPS trigger of a function, as GCF's https://REGION-PROJECT.cloudfunctions.net/NAME.
func (s *Server) TriggerURL(project, region, fn string) string {
	return s.opts.BaseURL + TriggerPrefix + project + "/" + region + "/" + fn
}

// Close cuts running work (calls, builds) short and destroys every instance.
func (s *Server) Close() { s.invoker.Close() }

// unauthenticated answers a request without the fabric's bearer token as Google answers
// one without a valid OAuth token.
func unauthenticated(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" {
		writeError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request is missing required authentication credential. Expected OAuth 2 access token.")
		return
	}
	writeError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
}

func (s *Server) listLocations(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	var locs []map[string]string
	for _, l := range []string{"us-central1", "us-east1", "europe-west1", "asia-east2"} {
		locs = append(locs, map[string]string{"name": "projects/" + project + "/locations/" + l, "locationId": l})
	}
	writeJSON(w, http.StatusOK, map[string]any{"locations": locs})
}

// writeError answers in Google's error shape, which googleapi.Error decodes.
func writeError(w http.ResponseWriter, code int, status, message string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": message, "status": status}})
}

// writeJSON answers as Google's APIs do, naming the charset.
func writeJSON(w http.ResponseWriter, code int, v any) {
	core.WriteJSONAs(w, "application/json; charset=UTF-8", code, v)
}

// splitMethod parses "name:method" path segments.
func splitMethod(segment string) (string, string) {
	name, method, _ := strings.Cut(segment, ":")
	return name, method
}

func (s *Server) functionDir(name string, version int64) string {
	return filepath.Join(s.opts.DataDir, strings.ReplaceAll(name, "/", "_"), fmt.Sprint(version))
}
