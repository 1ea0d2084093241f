package openwhisk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/container"
	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
)

// Status texts of an activation's response, with their codes.
const (
	statusSuccess          = "success"
	statusApplicationError = "application error"
	statusDeveloperError   = "action developer error"
	statusInternalError    = "whisk internal error"
)

var statusCodes = map[string]int{statusSuccess: 0, statusApplicationError: 1, statusDeveloperError: 2, statusInternalError: 3}

// maxPayload is OpenWhisk's 1 MB cap on invocation parameters and results.
const maxPayload = 1 << 20

func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	a, ok := s.lookup(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	blocking := q.Get("blocking") == "true"
	resultOnly := q.Get("result") == "true"
	wait := s.opts.MaxBlockingWait
	if v := q.Get("timeout"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 1 || time.Duration(ms)*time.Millisecond > s.opts.MaxBlockingWait {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("The request content was malformed:\ntimeout must be between 1 and %d milliseconds", s.opts.MaxBlockingWait.Milliseconds()))
			return
		}
		wait = time.Duration(ms) * time.Millisecond
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("The request content was malformed:\nrequest entity too large (limit %d bytes)", maxPayload))
		return
	}
	params, err := mergeParams(a.Parameters, body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "The request content was malformed:\n"+err.Error())
		return
	}

	act, status, msg := s.start(a, params)
	if act == nil {
		writeError(w, status, msg)
		return
	}

	w.Header().Set("x-openwhisk-activation-id", act.id)
	if !blocking {
		core.WriteJSON(w, http.StatusAccepted, map[string]string{"activationId": act.id})
		return
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-act.done:
	case <-timer.C:
		core.WriteJSON(w, http.StatusAccepted, map[string]string{"activationId": act.id})
		return
	case <-r.Context().Done():
		return
	}
	rec := act.record()
	status = http.StatusOK
	switch rec.Response.Status {
	case statusApplicationError, statusDeveloperError:
		status = http.StatusBadGateway
	case statusInternalError:
		status = http.StatusInternalServerError
	}
	if resultOnly || isArray(rec.Response.Result) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(rec.Response.Result)
		return
	}
	core.WriteJSON(w, status, rec)
}

// start admits an activation (or answers 429 under the namespace's limits) and runs it
// in the background.
func (s *Server) start(a *action, params json.RawMessage) (*activation, int, string) {
	fault, _ := s.opts.Faults.Draw()
	switch fault {
	case faults.Throttle:
		return nil, http.StatusTooManyRequests, "Too many requests in the last minute (an injected fault)."
	case faults.ServerError:
		return nil, http.StatusServiceUnavailable, "The server is currently unavailable (an injected fault)."
	case faults.Delete:
		s.remove(a)
		return nil, http.StatusNotFound, "The requested resource does not exist."
	}
	now := time.Now()
	s.mu.Lock()
	if s.inFlight >= s.opts.ConcurrentInvocations {
		n := s.inFlight
		s.mu.Unlock()
		return nil, http.StatusTooManyRequests, fmt.Sprintf("Too many concurrent requests in flight (count: %d, allowed: %d).", n, s.opts.ConcurrentInvocations)
	}
	if n, ok := s.minute.allow(now, s.opts.InvocationsPerMinute); !ok {
		s.mu.Unlock()
		return nil, http.StatusTooManyRequests, fmt.Sprintf("Too many requests in the last minute (count: %d, allowed: %d).", n, s.opts.InvocationsPerMinute)
	}
	s.inFlight++
	s.mu.Unlock()

	act := s.activations.create(core.HexID(idBytes), a, s.opts.Namespace, s.subject, now)
	a.code.acquire()
	s.executions.Add(1)
	go s.execute(act, a, params, fault)
	return act, 0, ""
}

func isArray(raw json.RawMessage) bool {
	trimmed := bytes.TrimSpace(raw)
	return len(trimmed) > 0 && trimmed[0] == '['
}

// mergeParams lays the invocation's parameters over the action's defaults.
func mergeParams(defaults []keyValue, body []byte) (json.RawMessage, error) {
	merged := map[string]json.RawMessage{}
	for _, kv := range defaults {
		merged[kv.Key] = kv.Value
	}
	if len(bytes.TrimSpace(body)) > 0 {
		var given map[string]json.RawMessage
		if err := json.Unmarshal(body, &given); err != nil {
			return nil, errors.New("parameters must be a JSON object")
		}
		for k, v := range given {
			merged[k] = v
		}
	}
	return json.Marshal(merged)
}

// execute runs one activation to its end and stores the record.
func (s *Server) execute(act *activation, a *action, params json.RawMessage, fault faults.Kind) {
	defer s.executions.Done()
	defer a.code.release()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	timeout := time.Duration(a.Limits.Timeout) * time.Millisecond
	ctx := s.baseCtx

	var initTime time.Duration
	var startedAt time.Time
	c, cold, err := s.pool.Acquire(ctx, a.poolKey(), func() (*container.Container, error) {
		startedAt = time.Now()
		if err := faults.Wait(ctx, s.opts.Faults.ColdStart()); err != nil {
			return nil, err
		}
		c, err := container.Start(ctx, container.Spec{
			Path: filepath.Join(a.code.path, "exec"), Dir: a.code.path, Env: s.functionEnv(a), InitTimeout: timeout,
		})
		initTime = time.Since(startedAt)
		return c, err
	})
	if !cold {
		startedAt = time.Now()
	}
	if err != nil {
		msg := "The action failed to initialize: " + err.Error()
		if errors.Is(err, container.ErrTimeout) {
			msg = fmt.Sprintf("The action exceeded its time limits of %d milliseconds during initialization.", a.Limits.Timeout)
		}
		act.finish(statusDeveloperError, errorResult(msg), nil, startedAt, time.Now(), initTime, cold, errors.Is(err, container.ErrTimeout))
		return
	}

	// A slow device: the wait is part of the activation, inside its time limit.
	deadline := time.Now().Add(timeout)
	_ = faults.Wait(ctx, s.opts.Faults.Activation())
	request := map[string]any{
		"value":          params,
		"namespace":      s.opts.Namespace,
		"action_name":    "/" + s.opts.Namespace + "/" + a.Name,
		"action_version": a.Version,
		"activation_id":  act.id,
		"transaction_id": core.HexID(idBytes),
		"deadline":       strconv.FormatInt(deadline.UnixMilli(), 10),
	}
	var result json.RawMessage
	var logs []string
	switch fault {
	case faults.Crash:
		c.Kill()
		_, logs, err = c.Run(ctx, request, timeout)
	case faults.Hang:
		select {
		case <-time.After(timeout):
			err = container.ErrTimeout
		case <-ctx.Done():
			err = ctx.Err()
		}
		c.Kill()
	case faults.Error:
		result = errorResult("an injected fault: the function failed")
	default:
		result, logs, err = c.Run(ctx, request, timeout)
	}
	end := time.Now()
	switch {
	case errors.Is(err, container.ErrTimeout):
		s.pool.Release(a.poolKey(), c, false)
		act.finish(statusDeveloperError, errorResult(fmt.Sprintf("The action exceeded its time limits of %d milliseconds.", a.Limits.Timeout)), logs, startedAt, end, initTime, cold, true)
	case err != nil:
		s.pool.Release(a.poolKey(), c, false)
		act.finish(statusDeveloperError, errorResult("The action did not produce a valid response and exited unexpectedly."), logs, startedAt, end, initTime, cold, false)
	default:
		// A container of a replaced version is not kept warm.
		s.pool.Release(a.poolKey(), c, s.current(a))
		status, res := classify(result)
		act.finish(status, res, logs, startedAt, end, initTime, cold, false)
	}
}

// classify reads a result line as OpenWhisk does: an object with an "error" key is an
// application error, any other object or array a success, anything else the
// developer's error; results over 1 MB are truncated into an application error.
func classify(line []byte) (string, json.RawMessage) {
	if len(line) > maxPayload {
		return statusApplicationError, errorResult(fmt.Sprintf("The action produced a response that exceeded the allowable length: %d > %d bytes.", len(line), maxPayload))
	}
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) > 0 && trimmed[0] == '[' && json.Valid(trimmed) {
		return statusSuccess, json.RawMessage(trimmed)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil || obj == nil {
		return statusDeveloperError, errorResult("The action did not return a dictionary or array.")
	}
	if _, ok := obj["error"]; ok {
		return statusApplicationError, json.RawMessage(trimmed)
	}
	return statusSuccess, json.RawMessage(trimmed)
}

func errorResult(msg string) json.RawMessage {
	data, _ := json.Marshal(map[string]string{"error": msg})
	return data
}

// functionEnv is what a function process sees: a small, clean environment like a
// container's, never the fabric's own (which may hold credentials).
func (s *Server) functionEnv(a *action) []string {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + a.code.path,
		"TMPDIR=" + os.TempDir(),
		"GOMAXPROCS=1", // one core per function, as a container's CPU share
		"__OW_API_HOST=" + s.opts.APIHost,
		"__OW_NAMESPACE=" + s.opts.Namespace,
		"__OW_ACTION_NAME=/" + s.opts.Namespace + "/" + a.Name,
		"__OW_ACTION_VERSION=" + a.Version,
	}
	for _, kv := range a.Annotations {
		if kv.Key == "provide-api-key" && string(kv.Value) == "true" {
			env = append(env, "__OW_API_KEY="+s.opts.Auth)
		}
	}
	return env
}
