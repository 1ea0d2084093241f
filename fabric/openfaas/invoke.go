package openfaas

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fabric/httpproc"
	"github.com/fedkeeper/fedkeeper/fabric/python"
)

// maxRequest bounds an invocation body.
const maxRequest = 32 << 20

// Headers of the fabric beside OpenFaaS's own X-Call-Id, X-Start-Time and
// X-Duration-Seconds: whether a new replica had to start, and how long that took.
const (
	HeaderColdStart  = "X-Fabric-Cold-Start"
	HeaderInitMillis = "X-Fabric-Init-Ms"
	HeaderWaitMillis = "X-Fabric-Wait-Ms"
)

type result struct {
	callID   string
	start    time.Time
	duration time.Duration
	cold     bool
	init     time.Duration
	wait     time.Duration
	response httpproc.Response
	status   int // the gateway's status when the function gave none
}

// run executes one request on a replica of the function.
func (s *Server) run(ctx context.Context, name string, req httpproc.Request, fault faults.Kind) (result, bool) {
	res := result{callID: req.Header.Get("X-Call-Id"), start: time.Now()}
	if res.callID == "" {
		res.callID = core.UUID()
	}
	s.mu.Lock()
	f, ok := s.functions[name]
	var gen int64
	var runtime core.Runtime[httpproc.Request, httpproc.Response] = httpproc.Runtime{}
	spec := core.Spec{StartTimeout: s.opts.Timeout}
	timeout := s.opts.Timeout
	if ok {
		f.invocations++
		gen, spec.Path, spec.Env = f.gen, f.exec, functionEnv(f.spec, f.secretsEnv)
		spec.Dir = strings.TrimSuffix(f.exec, "/exec")
		if f.python {
			runtime, spec.Dir = python.Handler{Runtimes: s.python}, filepath.Dir(filepath.Dir(f.exec))
		}
		timeout = execTimeout(f.spec, s.opts.Timeout)
	}
	s.mu.Unlock()
	if !ok {
		return res, false
	}
	o := s.invoker.Invoke(ctx, core.Call[httpproc.Request, httpproc.Response]{
		Key: core.Key(name, gen), Runtime: runtime, Spec: spec,
		Request: req, Timeout: timeout, Received: res.start, Fault: fault,
		Current: func() bool { return s.deployed(name, gen) },
	})
	var start *core.StartError
	if errors.As(o.Err, &start) {
		// The gateway answers only "Can't reach service"; why is in its log.
		s.log.Warn("a replica did not start", "function", name, "error", start.Err)
	}
	res.cold, res.init, res.wait, res.duration = o.Cold, o.Init, o.Wait(), o.Ended.Sub(res.start)
	res.response, res.status = answer(o, name, timeout)
	return res, true
}

// answer reads an outcome as the gateway reports it: the function's answer, or the
// gateway's own text and status (502 when no replica answered, 504 past the time limit).
func answer(o core.Outcome[httpproc.Response], name string, timeout time.Duration) (httpproc.Response, int) {
	unreachable := httpproc.Response{Body: []byte("Can't reach service for: " + name)}
	var start *core.StartError
	switch {
	case errors.As(o.Err, &start):
		return unreachable, http.StatusBadGateway
	case o.Fault == faults.Hang || errors.Is(o.Err, core.ErrTimeout):
		return httpproc.Response{Body: []byte("Function timed out after " + timeout.String())}, http.StatusGatewayTimeout
	case o.Err != nil:
		return unreachable, http.StatusBadGateway
	}
	return o.Response, 0
}

// deployed reports whether gen is still the function's deployed generation.
func (s *Server) deployed(name string, gen int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.functions[name]
	return f != nil && f.gen == gen
}

// functionEnv is a replica's environment: the deployment's variables, fprocess as the
// watchdog has it, and the function's name, never the fabric's own environment.
func functionEnv(d deployment, secretsEnv string) []string {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"TMPDIR=" + os.TempDir(),
		"GOMAXPROCS=1",
		"OPENFAAS_FUNCTION=" + d.Service,
		// A replica's host name is its pod's, which starts with the function's name.
		"HOSTNAME=" + d.Service,
	}
	if secretsEnv != "" {
		env = append(env, secretsEnv)
	}
	if d.EnvProcess != "" {
		env = append(env, "fprocess="+d.EnvProcess)
	}
	for k, v := range d.EnvVars {
		env = append(env, k+"="+v)
	}
	return env
}

// execTimeout is the function's time limit: its watchdog's exec_timeout when the
// deployment sets one (as a stack.yml environment does), bounded by the gateway's own.
func execTimeout(d deployment, gateway time.Duration) time.Duration {
	v, ok := d.EnvVars["exec_timeout"]
	if !ok {
		return gateway
	}
	t, err := time.ParseDuration(v)
	if err != nil {
		// The watchdog also reads bare seconds.
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			return gateway
		}
		t = time.Duration(n) * time.Second
	}
	if t <= 0 || t > gateway {
		return gateway
	}
	return t
}

func forwardPath(r *http.Request) string {
	path := "/" + r.PathValue("rest")
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	return path
}

func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSuffix(r.PathValue("name"), "."+Namespace)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	fault, _ := s.opts.Faults.Draw()
	switch fault {
	case faults.Throttle:
		http.Error(w, "Too many requests (an injected fault).", http.StatusTooManyRequests)
		return
	case faults.ServerError:
		http.Error(w, "Service unavailable (an injected fault).", http.StatusServiceUnavailable)
		return
	case faults.Delete:
		s.mu.Lock()
		delete(s.functions, name)
		s.mu.Unlock()
		s.invoker.Purge(name)
	}
	res, ok := s.run(r.Context(), name, httpproc.Request{Method: r.Method, Path: forwardPath(r), Header: r.Header, Body: body}, fault)
	if !ok {
		http.Error(w, "error finding function "+name+": not found", http.StatusNotFound)
		return
	}
	h := w.Header()
	res.response.CopyHeader(h)
	setCallHeaders(h, res)
	status := res.response.Status
	if res.status != 0 {
		status = res.status
	}
	w.WriteHeader(status)
	_, _ = w.Write(res.response.Body)
}

func setCallHeaders(h http.Header, res result) {
	h.Set("X-Call-Id", res.callID)
	h.Set("X-Start-Time", strconv.FormatInt(res.start.UnixNano(), 10))
	h.Set("X-Duration-Seconds", strconv.FormatFloat(res.duration.Seconds(), 'f', 6, 64))
	h.Set(HeaderColdStart, strconv.FormatBool(res.cold))
	h.Set(HeaderInitMillis, strconv.FormatInt(res.init.Milliseconds(), 10))
	h.Set(HeaderWaitMillis, strconv.FormatInt(res.wait.Milliseconds(), 10))
}

// invokeAsync queues the request and answers 202 at once; when the function finishes,
// its answer is POSTed to the X-Callback-Url, if one was given.
func (s *Server) invokeAsync(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSuffix(r.PathValue("name"), "."+Namespace)
	callback := r.Header.Get("X-Callback-Url")
	if callback != "" {
		if u, err := url.Parse(callback); err != nil || u.Scheme == "" || u.Host == "" {
			http.Error(w, "X-Callback-Url is not a URL", http.StatusBadRequest)
			return
		}
	}
	s.mu.Lock()
	_, exists := s.functions[name]
	s.mu.Unlock()
	if !exists {
		http.Error(w, "error finding function "+name+": not found", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	callID := core.UUID()
	header := r.Header.Clone()
	header.Set("X-Call-Id", callID)
	req := httpproc.Request{Method: http.MethodPost, Path: forwardPath(r), Header: header, Body: body}
	s.invoker.Go(func(ctx context.Context) { s.runQueued(ctx, name, req, callback) })
	w.Header().Set("X-Call-Id", callID)
	w.Header().Set("X-Start-Time", strconv.FormatInt(time.Now().UnixNano(), 10))
	w.WriteHeader(http.StatusAccepted)
}

// runQueued runs a queued request and posts its answer to callback, if one was given.
func (s *Server) runQueued(ctx context.Context, name string, req httpproc.Request, callback string) {
	fault, _ := s.opts.Faults.Draw()
	res, ok := s.run(ctx, name, req, fault)
	if !ok || callback == "" {
		return
	}
	s.callBack(ctx, callback, name, res)
}

func (s *Server) callBack(ctx context.Context, target, name string, res result) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(res.response.Body))
	if err != nil {
		return
	}
	for k, vs := range res.response.Header {
		req.Header[k] = vs
	}
	status := res.response.Status
	if res.status != 0 {
		status = res.status
	}
	req.Header.Set("X-Function-Status", strconv.Itoa(status))
	req.Header.Set("X-Function-Name", name)
	setCallHeaders(req.Header, res)
	resp, err := s.client.Do(req)
	if err != nil {
		s.log.Warn("callback failed", "function", name, "call", res.callID, "error", err)
		return
	}
	resp.Body.Close()
}
