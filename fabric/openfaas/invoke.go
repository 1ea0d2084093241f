package openfaas

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fabric/httpproc"
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
func (s *Server) run(ctx context.Context, name, method, path string, header http.Header, body []byte, fault faults.Kind) (result, bool) {
	res := result{callID: header.Get("X-Call-Id"), start: time.Now()}
	if res.callID == "" {
		res.callID = core.UUID()
	}
	s.mu.Lock()
	f, ok := s.functions[name]
	var gen int64
	var exec string
	var env []string
	timeout := s.opts.Timeout
	if ok {
		f.invocations++
		gen, exec, env = f.gen, f.exec, functionEnv(f.spec)
		timeout = execTimeout(f.spec, s.opts.Timeout)
	}
	s.mu.Unlock()
	if !ok {
		return res, false
	}
	key := fmt.Sprintf("%s@%d", name, gen)
	var started time.Time
	proc, cold, err := s.pool.Acquire(ctx, key, func() (*httpproc.Process, error) {
		started = time.Now()
		if err := faults.Wait(ctx, s.opts.Faults.ColdStart()); err != nil {
			return nil, err
		}
		p, err := httpproc.Start(ctx, httpproc.Spec{Path: exec, Dir: strings.TrimSuffix(exec, "/exec"), Env: env, StartTimeout: s.opts.Timeout})
		res.init = time.Since(started)
		return p, err
	})
	if !cold {
		started = time.Now()
	}
	res.cold, res.wait = cold, started.Sub(res.start)
	if err != nil {
		res.status = http.StatusBadGateway
		res.response.Body = []byte("Can't reach service for: " + name)
		res.duration = time.Since(res.start)
		return res, true
	}
	// A slow device: the wait is part of the function's run.
	_ = faults.Wait(ctx, s.opts.Faults.Activation())
	var resp httpproc.Response
	switch fault {
	case faults.Crash:
		proc.Kill()
		err = httpproc.ErrExited
	case faults.Hang:
		select {
		case <-time.After(timeout):
		case <-ctx.Done():
		}
		proc.Kill()
		err = httpproc.ErrTimeout
	case faults.Error:
		resp = httpproc.Response{Status: http.StatusInternalServerError, Header: http.Header{"Content-Type": {"application/json"}},
			Body: []byte(`{"error":"an injected fault: the function failed"}`)}
	default:
		resp, _, err = proc.Forward(ctx, method, path, header, body, timeout)
	}
	res.duration = time.Since(res.start)
	switch {
	case errors.Is(err, httpproc.ErrTimeout):
		s.pool.Release(key, proc, false)
		res.status = http.StatusGatewayTimeout
		res.response.Body = []byte("Function timed out after " + timeout.String())
	case err != nil:
		s.pool.Release(key, proc, false)
		res.status = http.StatusBadGateway
		res.response.Body = []byte("Can't reach service for: " + name)
	default:
		s.mu.Lock()
		current := s.functions[name] != nil && s.functions[name].gen == gen
		s.mu.Unlock()
		s.pool.Release(key, proc, current)
		res.response = resp
	}
	return res, true
}

// functionEnv is a replica's environment: the deployment's variables, fprocess as the
// watchdog has it, and the function's name, never the fabric's own environment.
func functionEnv(d deployment) []string {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"TMPDIR=" + os.TempDir(),
		"GOMAXPROCS=1",
		"OPENFAAS_FUNCTION=" + d.Service,
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
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.baseCtx.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
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
		s.purgeOld(name, -1)
	}
	res, ok := s.run(ctx, name, r.Method, forwardPath(r), r.Header, body, fault)
	if !ok {
		http.Error(w, "error finding function "+name+": not found", http.StatusNotFound)
		return
	}
	h := w.Header()
	for k, vs := range res.response.Header {
		if k != "Content-Length" && k != "Date" {
			h[k] = vs
		}
	}
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
	path := forwardPath(r)
	s.work.Add(1)
	go func() {
		defer s.work.Done()
		fault, _ := s.opts.Faults.Draw()
		res, ok := s.run(s.baseCtx, name, http.MethodPost, path, header, body, fault)
		if !ok || callback == "" {
			return
		}
		s.callBack(callback, name, res)
	}()
	w.Header().Set("X-Call-Id", callID)
	w.Header().Set("X-Start-Time", strconv.FormatInt(time.Now().UnixNano(), 10))
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) callBack(target, name string, res result) {
	req, err := http.NewRequestWithContext(s.baseCtx, http.MethodPost, target, bytes.NewReader(res.response.Body))
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
