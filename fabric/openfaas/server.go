// Package openfaas is the local fabric's OpenFaaS gateway for edge devices: the
// /system/* management API with basic authentication, synchronous invocation at
// /function/NAME and queued invocation at /async-function/NAME with the X-Callback-Url
// callback. A function's "image" is a file:// URL naming an executable (a Go handler)
// or a folder holding a python3-http handler (function/handler.py, the layout faas-cli
// build makes, or handler.py itself); each replica runs as a real process serving HTTP
// on $PORT, as an of-watchdog upstream does, a Python one under the fabric's runner of
// the python3-http template.
package openfaas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fabric/httpproc"
	"github.com/fedkeeper/fedkeeper/fabric/python"
)

// Options configure the OpenFaaS gateway.
type Options struct {
	// User and Password of the gateway's basic authentication (default admin and a
	// generated password).
	User, Password string
	// DataDir receives the functions' executables.
	DataDir string
	// MaxInstances caps the function processes alive at once (default 2 per core, at least 4).
	MaxInstances int
	// Timeout is the gateway's read/write timeout for synchronous calls (default 5 minutes;
	// OpenFaaS ships 8 seconds, which training outlasts).
	Timeout     time.Duration
	IdleTimeout time.Duration
	// Python is the interpreter of python3-http functions (python.DefaultInterpreter
	// when empty).
	Python string
	// Faults are injected into invocations when set.
	Faults *faults.Injector
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.User == "" {
		o.User = "admin"
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Namespace is the only function namespace of the fabric's gateway.
const Namespace = "openfaas-fn"

// Server is the OpenFaaS gateway of the fabric.
type Server struct {
	opts    Options
	mux     *http.ServeMux
	guard   core.Guard
	invoker *core.Invoker[httpproc.Request, httpproc.Response]
	python  *python.Runtimes
	log     *slog.Logger
	gen     atomic.Int64
	client  *http.Client // for callbacks

	secrets secretStore

	mu        sync.Mutex
	functions map[string]*function
}

// deployment is the body of POST and PUT /system/functions.
type deployment struct {
	Service                string            `json:"service"`
	Image                  string            `json:"image"`
	Namespace              string            `json:"namespace,omitempty"`
	EnvProcess             string            `json:"envProcess,omitempty"`
	EnvVars                map[string]string `json:"envVars,omitempty"`
	Labels                 map[string]string `json:"labels,omitempty"`
	Annotations            map[string]string `json:"annotations,omitempty"`
	Secrets                []string          `json:"secrets,omitempty"`
	Constraints            []string          `json:"constraints,omitempty"`
	Limits                 *resources        `json:"limits,omitempty"`
	Requests               *resources        `json:"requests,omitempty"`
	ReadOnlyRootFilesystem bool              `json:"readOnlyRootFilesystem,omitempty"`
}

type resources struct {
	Memory string `json:"memory,omitempty"`
	CPU    string `json:"cpu,omitempty"`
}

type function struct {
	spec deployment
	gen  int64
	// exec is the pulled executable, or the pulled folder's handler.py when python.
	exec   string
	python bool
	// secretsEnv names the folder holding the function's secrets ("" without any).
	secretsEnv  string
	replicas    int
	invocations int64
	created     time.Time
}

// status is the function status of GET /system/functions.
type status struct {
	Name              string            `json:"name"`
	Image             string            `json:"image"`
	Namespace         string            `json:"namespace"`
	EnvProcess        string            `json:"envProcess,omitempty"`
	EnvVars           map[string]string `json:"envVars,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	Secrets           []string          `json:"secrets,omitempty"`
	InvocationCount   float64           `json:"invocationCount"`
	Replicas          int               `json:"replicas"`
	AvailableReplicas int               `json:"availableReplicas"`
	CreatedAt         time.Time         `json:"createdAt"`
}

// New prepares the gateway; Close releases its processes.
func New(opts Options) (*Server, error) {
	opts.defaults()
	if opts.Password == "" {
		return nil, errors.New("openfaas: a gateway password is required")
	}
	if opts.DataDir == "" {
		return nil, errors.New("openfaas: a data directory is required")
	}
	if err := os.RemoveAll(opts.DataDir); err != nil {
		return nil, fmt.Errorf("openfaas: clear old functions: %w", err)
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("openfaas: create data directory: %w", err)
	}
	// Service names are DNS labels: "_python" is no function's folder.
	py, err := python.Install(filepath.Join(opts.DataDir, "_python"), opts.Python)
	if err != nil {
		return nil, fmt.Errorf("openfaas: %w", err)
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), log: opts.Logger, python: py,
		guard: core.Guard{Credential: core.Basic{UserPass: opts.User + ":" + opts.Password}, Deny: unauthorized},
		invoker: core.New[httpproc.Request](core.Options[httpproc.Response]{
			MaxInstances: opts.MaxInstances, IdleTimeout: opts.IdleTimeout, Faults: opts.Faults, Failed: httpproc.InjectedFailure,
		}),
		functions: map[string]*function{}, client: &http.Client{Timeout: time.Minute}, secrets: secretStore{values: map[string]string{}}}
	s.routes()
	return s, nil
}

// Prefixes the fabric mounts.
var Prefixes = []string{"/system/", "/function/", "/async-function/"}

func (s *Server) routes() {
	auth := s.guard.Wrap
	s.mux.HandleFunc("GET /system/functions", auth(s.list))
	s.mux.HandleFunc("POST /system/functions", auth(s.deploy))
	s.mux.HandleFunc("PUT /system/functions", auth(s.update))
	s.mux.HandleFunc("DELETE /system/functions", auth(s.remove))
	s.mux.HandleFunc("GET /system/function/{name}", auth(s.get))
	s.mux.HandleFunc("POST /system/scale-function/{name}", auth(s.scale))
	s.mux.HandleFunc("GET /system/info", auth(s.info))
	s.secrets.routes(s.mux, auth)
	s.mux.HandleFunc("GET /system/namespaces", auth(func(w http.ResponseWriter, _ *http.Request) {
		core.WriteJSON(w, http.StatusOK, []string{Namespace})
	}))
	s.mux.HandleFunc("/function/{name}", auth(s.invoke))
	s.mux.HandleFunc("/function/{name}/{rest...}", auth(s.invoke))
	s.mux.HandleFunc("POST /async-function/{name}", auth(s.invokeAsync))
	s.mux.HandleFunc("POST /async-function/{name}/{rest...}", auth(s.invokeAsync))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close cuts running work (calls, queued calls, callbacks) short and destroys every
// replica.
func (s *Server) Close() { s.invoker.Close() }

// unauthorized answers a request without the gateway's basic credentials, which every
// route wants. (OpenFaaS leaves /function/ open by default; the fabric serves nothing
// without credentials.)
func unauthorized(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("WWW-Authenticate", `Basic realm="Restricted"`)
	http.Error(w, "invalid credentials", http.StatusUnauthorized)
}

func (s *Server) view(f *function) status {
	return status{Name: f.spec.Service, Image: f.spec.Image, Namespace: Namespace, EnvProcess: f.spec.EnvProcess,
		EnvVars: f.spec.EnvVars, Labels: f.spec.Labels, Annotations: f.spec.Annotations, Secrets: f.spec.Secrets,
		InvocationCount: float64(f.invocations), Replicas: f.replicas, AvailableReplicas: f.replicas, CreatedAt: f.created}
}

func (s *Server) list(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := make([]status, 0, len(s.functions))
	for _, f := range s.functions {
		out = append(out, s.view(f))
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	core.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, ok := s.functions[r.PathValue("name")]
	var st status
	if ok {
		st = s.view(f)
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "function not found", http.StatusNotFound)
		return
	}
	core.WriteJSON(w, http.StatusOK, st)
}

func (s *Server) info(w http.ResponseWriter, _ *http.Request) {
	core.WriteJSON(w, http.StatusOK, map[string]any{
		"arch":     runtime.GOARCH,
		"provider": map[string]string{"provider": "fedkeeper-fabric", "orchestration": "process", "version": "1"},
		"version":  map[string]string{"release": "fabric"},
	})
}

// readDeployment decodes and checks a deployment body.
func readDeployment(w http.ResponseWriter, r *http.Request) (deployment, bool) {
	var d deployment
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, &d)
	}
	if err != nil {
		http.Error(w, "invalid deployment: "+errText(err), http.StatusBadRequest)
		return d, false
	}
	if d.Service == "" || d.Image == "" {
		http.Error(w, "service and image are required", http.StatusBadRequest)
		return d, false
	}
	if d.Namespace != "" && d.Namespace != Namespace {
		http.Error(w, fmt.Sprintf("namespace %s is not allowed (only %s)", d.Namespace, Namespace), http.StatusBadRequest)
		return d, false
	}
	return d, true
}

// pull copies what a file:// image names, as a node pulls an image: later changes to
// the file do not reach deployed replicas. An executable is the function itself; a
// folder is a python3-http function, checked as building its image would check it.
func (s *Server) pull(ctx context.Context, image, service string, gen int64) (pulled, int, string) {
	u, err := url.Parse(image)
	if err != nil || u.Scheme != "file" || u.Path == "" {
		return pulled{}, http.StatusBadRequest, fmt.Sprintf("image %q cannot be pulled: the local fabric runs executables and python3-http handler folders named by file:// images", image)
	}
	info, err := os.Stat(u.Path)
	if err != nil {
		return pulled{}, http.StatusBadRequest, fmt.Sprintf("image %q: %s", image, errText(err))
	}
	dir := filepath.Join(s.opts.DataDir, service, strconv.FormatInt(gen, 10))
	if info.IsDir() {
		if err := s.pullFolder(ctx, u.Path, dir); err != nil {
			return pulled{}, http.StatusBadRequest, fmt.Sprintf("image %q cannot be pulled: %s", image, errText(err))
		}
		return pulled{exec: filepath.Join(dir, python.HandlerFile), dir: dir, python: true}, 0, ""
	}
	src, err := os.ReadFile(u.Path)
	if err != nil {
		return pulled{}, http.StatusBadRequest, fmt.Sprintf("image %q: %s", image, errText(err))
	}
	exec := filepath.Join(dir, "exec")
	if err := os.MkdirAll(dir, 0o700); err == nil {
		err = os.WriteFile(exec, src, 0o700)
	}
	if err != nil {
		return pulled{}, http.StatusInternalServerError, "store image: " + errText(err)
	}
	return pulled{exec: exec, dir: dir}, 0, ""
}

// pulled is a function's copy of its image.
type pulled struct {
	exec, dir string
	python    bool
}

// pullFolder copies a python3-http function's folder to dir in faas-cli build's
// layout (the handler in function/) and checks it.
func (s *Server) pullFolder(ctx context.Context, src, dir string) error {
	target := dir
	if _, err := os.Stat(filepath.Join(src, python.HandlerFile)); err != nil {
		// A handler folder itself: it becomes the function/ of the build layout.
		target = filepath.Join(dir, filepath.Dir(python.HandlerFile))
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return err
	}
	if err := os.CopyFS(target, os.DirFS(src)); err != nil {
		return err
	}
	return python.Handler{Runtimes: s.python}.Check(ctx, dir)
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func (s *Server) deploy(w http.ResponseWriter, r *http.Request) { s.store(w, r, false) }

func (s *Server) update(w http.ResponseWriter, r *http.Request) { s.store(w, r, true) }

// store deploys (POST, 202) or updates (PUT, 200; 404 when missing) a function.
func (s *Server) store(w http.ResponseWriter, r *http.Request, update bool) {
	d, ok := readDeployment(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	_, exists := s.functions[d.Service]
	s.mu.Unlock()
	if update && !exists {
		http.Error(w, "function not found", http.StatusNotFound)
		return
	}
	gen := s.gen.Add(1)
	image, code, msg := s.pull(r.Context(), d.Image, d.Service, gen)
	if code != 0 {
		http.Error(w, msg, code)
		return
	}
	secretsEnv, err := s.secrets.mount(d.Secrets, s.secretsDir(d.Service, gen))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	f := &function{spec: d, gen: gen, exec: image.exec, python: image.python, secretsEnv: secretsEnv, replicas: 1, created: time.Now().UTC()}
	if old, ok := s.functions[d.Service]; ok {
		f.created, f.replicas, f.invocations = old.created, old.replicas, old.invocations
	}
	s.functions[d.Service] = f
	s.mu.Unlock()
	s.opts.Faults.Deployed(d.Service)
	s.invoker.PurgeOld(d.Service, gen)
	s.log.Debug("function deployed", "function", d.Service)
	if update {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) remove(w http.ResponseWriter, r *http.Request) {
	var req struct {
		FunctionName string `json:"functionName"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || req.FunctionName == "" {
		http.Error(w, "functionName is required", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	_, ok := s.functions[req.FunctionName]
	delete(s.functions, req.FunctionName)
	s.mu.Unlock()
	if !ok {
		http.Error(w, "function not found", http.StatusNotFound)
		return
	}
	s.invoker.Purge(req.FunctionName)
	w.WriteHeader(http.StatusOK)
}

func (s *Server) scale(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Replicas int `json:"replicas"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || req.Replicas < 0 {
		http.Error(w, "replicas must be a non-negative number", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	f, ok := s.functions[r.PathValue("name")]
	if ok {
		f.replicas = req.Replicas
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "function not found", http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
