package gcf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fabric/httpproc"
	"github.com/fedkeeper/fedkeeper/fabric/python"
)

// maxRequest is GCF's limit on an HTTP function's request body.
const maxRequest = 10 << 20

// Headers the fabric adds to trigger answers so callers can see what GCF shows only in
// its logs: whether the instance was cold, and how long start-up and queueing took.
const (
	HeaderExecutionID = "Function-Execution-Id"
	HeaderColdStart   = "X-Fabric-Cold-Start"
	HeaderInitMillis  = "X-Fabric-Init-Ms"
	HeaderWaitMillis  = "X-Fabric-Wait-Ms"
)

type execution struct {
	id       string
	cold     bool
	init     time.Duration
	wait     time.Duration
	response httpproc.Response
	logs     []string
}

// errTimeout and errCrash are the outcomes GCF reports as 408 and 500.
var (
	errTimeout = errors.New("function execution took too long")
	errCrash   = errors.New("function crashed")
)

// execute runs one request on an instance of the function's active version.
func (s *Server) execute(ctx context.Context, f *function, req httpproc.Request, fault faults.Kind) (execution, error) {
	received := time.Now()
	s.mu.Lock()
	version, built, timeout := f.active, f.built, f.timeout
	env, err := s.functionEnv(f)
	name := f.resource.Name
	s.mu.Unlock()
	if err != nil {
		return execution{id: core.HexID(6)}, fmt.Errorf("%w: start-up failed: %v", errCrash, err)
	}
	var runtime core.Runtime[httpproc.Request, httpproc.Response] = httpproc.Runtime{}
	if built.python {
		runtime = python.EntryPoint{Runtimes: s.python}
	}
	o := s.invoker.Invoke(ctx, core.Call[httpproc.Request, httpproc.Response]{
		Key: core.Key(name, version), Runtime: runtime,
		Spec:    core.Spec{Path: built.exec, Dir: built.dir, Env: env, StartTimeout: timeout},
		Request: req, Timeout: timeout, Received: received, Fault: fault,
		Current: func() bool { return s.serves(f, version) },
	})
	ex := execution{id: core.HexID(6), cold: o.Cold, init: o.Init, wait: o.Wait(), response: o.Response, logs: o.Logs}
	return ex, verdict(o)
}

// verdict reads an outcome as GCF reports it: nil when the function answered (whatever
// its status), errTimeout (408) or errCrash (500).
func verdict(o core.Outcome[httpproc.Response]) error {
	var start *core.StartError
	switch {
	case errors.As(o.Err, &start):
		return fmt.Errorf("%w: start-up failed: %v", errCrash, start.Err)
	case o.Fault == faults.Hang || errors.Is(o.Err, core.ErrTimeout):
		return errTimeout
	case o.Fault == faults.Crash:
		return fmt.Errorf("%w: an injected fault", errCrash)
	case o.Err != nil:
		return fmt.Errorf("%w: %v", errCrash, o.Err)
	}
	return nil
}

// serves reports whether version is still the function's active one.
func (s *Server) serves(f *function, version int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f.active == version
}

// functionEnv is the environment GCF gives a function instance, never the fabric's:
// its own variables, and its secret environment variables resolved from Secret
// Manager.
func (s *Server) functionEnv(f *function) ([]string, error) {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + f.built.dir,
		"TMPDIR=" + os.TempDir(),
		"GOMAXPROCS=1",
		"FUNCTION_TARGET=" + f.resource.EntryPoint,
		"FUNCTION_SIGNATURE_TYPE=http",
		"K_SERVICE=" + f.short,
		"K_REVISION=" + strconv.FormatInt(f.active, 10),
		"FUNCTION_REGION=" + f.location,
		"GCP_PROJECT=" + f.project,
	}
	for k, v := range f.resource.EnvironmentVariables {
		env = append(env, k+"="+v)
	}
	secrets, err := s.secrets.resolve(f.project, f.resource.SecretEnvironmentVariables)
	return append(env, secrets...), err
}

func (s *Server) activeFunction(project, region, fn string) (*function, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.functions["projects/"+project+"/locations/"+region+"/functions/"+fn]
	if !ok || f.active == 0 {
		return nil, false
	}
	return f, true
}

// trigger serves a function's HTTPS trigger URL: the request goes to an instance as it
// came, and the instance's answer comes back.
func (s *Server) trigger(w http.ResponseWriter, r *http.Request) {
	f, ok := s.activeFunction(r.PathValue("project"), r.PathValue("region"), r.PathValue("fn"))
	if !ok {
		http.Error(w, "Error: Page not found. The requested URL was not found on this server.", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
	if err != nil {
		http.Error(w, "Error: request body exceeds 10 MB", http.StatusRequestEntityTooLarge)
		return
	}
	fault, ok := s.platformFault(w, f)
	if !ok {
		return
	}
	prefix := TriggerPrefix + r.PathValue("project") + "/" + r.PathValue("region") + "/" + r.PathValue("fn")
	path := strings.TrimPrefix(r.URL.Path, prefix)
	if path == "" {
		path = "/"
	}
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	ex, err := s.execute(r.Context(), f, httpproc.Request{Method: r.Method, Path: path, Header: r.Header, Body: body}, fault)
	h := w.Header()
	h.Set(HeaderExecutionID, ex.id)
	h.Set(HeaderColdStart, strconv.FormatBool(ex.cold))
	h.Set(HeaderInitMillis, strconv.FormatInt(ex.init.Milliseconds(), 10))
	h.Set(HeaderWaitMillis, strconv.FormatInt(ex.wait.Milliseconds(), 10))
	switch {
	case errors.Is(err, errTimeout):
		http.Error(w, "Error: function execution took too long", http.StatusRequestTimeout)
		return
	case err != nil:
		http.Error(w, "Error: could not handle the request", http.StatusInternalServerError)
		return
	}
	ex.response.CopyHeader(h)
	w.WriteHeader(ex.response.Status)
	_, _ = w.Write(ex.response.Body)
}

// platformFault answers for the platform when an injected fault says so (429, 503, or
// the function deleted and 404), and otherwise passes the function's fault on.
func (s *Server) platformFault(w http.ResponseWriter, f *function) (faults.Kind, bool) {
	fault, _ := s.opts.Faults.Draw()
	switch fault {
	case faults.Throttle:
		http.Error(w, "Rate exceeded (an injected fault).", http.StatusTooManyRequests)
		return fault, false
	case faults.ServerError:
		http.Error(w, "Service Unavailable (an injected fault).", http.StatusServiceUnavailable)
		return fault, false
	case faults.Delete:
		s.mu.Lock()
		name := f.resource.Name
		if s.functions[name] == f {
			delete(s.functions, name)
		}
		s.mu.Unlock()
		s.invoker.Purge(name)
		http.Error(w, "Error: Page not found. The requested URL was not found on this server.", http.StatusNotFound)
		return fault, false
	}
	return fault, true
}

// call serves the test-only functions.call method: data goes in as the request body
// and the answer comes back as a string, under GCF's 16-calls-per-100-seconds quota.
func (s *Server) call(w http.ResponseWriter, r *http.Request) {
	f, name, ok := s.lookup(w, r)
	if !ok {
		return
	}
	var req struct {
		Data string `json:"data"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.")
		return
	}
	if !s.allowCall() {
		writeError(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", fmt.Sprintf("Quota exceeded for quota metric 'Call requests' and limit 'Call requests per 100 seconds' (%d).", s.opts.CallsPer100s))
		return
	}
	s.mu.Lock()
	active := f.active != 0
	s.mu.Unlock()
	if !active {
		writeError(w, http.StatusBadRequest, "FAILED_PRECONDITION", fmt.Sprintf("Function %s is not ready", name))
		return
	}
	header := http.Header{"Content-Type": []string{"application/json"}}
	fault, _ := s.opts.Faults.Draw()
	ex, err := s.execute(r.Context(), f, httpproc.Request{Method: http.MethodPost, Path: "/", Header: header, Body: []byte(req.Data)}, fault)
	out := map[string]string{"executionId": ex.id}
	switch {
	case err != nil:
		out["error"] = err.Error()
	case ex.response.Status >= 300:
		out["error"] = strings.TrimSpace(string(ex.response.Body))
	default:
		out["result"] = string(ex.response.Body)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) allowCall() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := time.Now().Add(-100 * time.Second)
	kept := s.calls[:0]
	for _, t := range s.calls {
		if t.After(cutoff) {
			kept = append(kept, t)
		}
	}
	s.calls = kept
	if len(s.calls) >= s.opts.CallsPer100s {
		return false
	}
	s.calls = append(s.calls, time.Now())
	return true
}
