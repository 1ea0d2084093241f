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
func (s *Server) execute(ctx context.Context, f *function, method, path string, header http.Header, body []byte, fault faults.Kind) (execution, error) {
	received := time.Now()
	s.mu.Lock()
	version, binary, dir, timeout := f.active, f.exec, f.dir, f.timeout
	env := s.functionEnv(f)
	name := f.resource.Name
	s.mu.Unlock()
	ex := execution{id: core.HexID(6)}
	var started time.Time
	proc, cold, err := s.pool.Acquire(ctx, fmt.Sprintf("%s@%d", name, version), func() (*httpproc.Process, error) {
		started = time.Now()
		if err := faults.Wait(ctx, s.opts.Faults.ColdStart()); err != nil {
			return nil, err
		}
		p, err := httpproc.Start(ctx, httpproc.Spec{Path: binary, Dir: dir, Env: env, StartTimeout: timeout})
		ex.init = time.Since(started)
		return p, err
	})
	if !cold {
		started = time.Now()
	}
	ex.cold, ex.wait = cold, started.Sub(received)
	if err != nil {
		return ex, fmt.Errorf("%w: start-up failed: %v", errCrash, err)
	}
	// A slow device: the wait is part of the function's run.
	_ = faults.Wait(ctx, s.opts.Faults.Activation())
	key := fmt.Sprintf("%s@%d", name, version)
	switch fault {
	case faults.Crash:
		s.pool.Release(key, proc, false)
		return ex, fmt.Errorf("%w: an injected fault", errCrash)
	case faults.Hang:
		select {
		case <-time.After(timeout):
		case <-ctx.Done():
		}
		s.pool.Release(key, proc, false)
		return ex, errTimeout
	case faults.Error:
		s.pool.Release(key, proc, true)
		ex.response = httpproc.Response{Status: http.StatusInternalServerError, Header: http.Header{"Content-Type": {"application/json"}},
			Body: []byte(`{"error":"an injected fault: the function failed"}`)}
		return ex, nil
	}
	resp, logs, err := proc.Forward(ctx, method, path, header, body, timeout)
	ex.response, ex.logs = resp, logs
	switch {
	case errors.Is(err, httpproc.ErrTimeout):
		s.pool.Release(key, proc, false)
		return ex, errTimeout
	case err != nil:
		s.pool.Release(key, proc, false)
		return ex, fmt.Errorf("%w: %v", errCrash, err)
	}
	s.mu.Lock()
	current := f.active == version
	s.mu.Unlock()
	s.pool.Release(key, proc, current)
	return ex, nil
}

// functionEnv is the environment GCF gives a Go function instance, never the fabric's.
func (s *Server) functionEnv(f *function) []string {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + f.dir,
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
	return env
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
	ex, err := s.execute(s.requestContext(r), f, r.Method, path, r.Header, body, fault)
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
	for k, vs := range ex.response.Header {
		if k == "Content-Length" || k == "Date" {
			continue
		}
		h[k] = vs
	}
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
		s.pool.Purge(func(key string) bool { return strings.HasPrefix(key, name+"@") })
		http.Error(w, "Error: Page not found. The requested URL was not found on this server.", http.StatusNotFound)
		return fault, false
	}
	return fault, true
}

// requestContext ends with the caller's request or the server.
func (s *Server) requestContext(r *http.Request) context.Context {
	ctx, cancel := context.WithCancel(r.Context())
	go func() {
		select {
		case <-s.baseCtx.Done():
		case <-ctx.Done():
		}
		cancel()
	}()
	return ctx
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
	ex, err := s.execute(s.requestContext(r), f, http.MethodPost, "/", header, []byte(req.Data), fault)
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
