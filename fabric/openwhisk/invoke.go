package openwhisk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
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
	params, err := mergeParams(a, body)
	if errors.Is(err, errFinal) {
		writeError(w, http.StatusBadRequest, errFinal.Error())
		return
	}
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

	act := s.activations.create(core.HexID(idBytes), a, s.opts.Namespace, s.subject, now.Add(s.opts.ClockSkew))
	a.code.acquire()
	s.invoker.Go(func(ctx context.Context) { s.execute(ctx, act, a, params, fault) })
	return act, 0, ""
}

func isArray(raw json.RawMessage) bool {
	trimmed := bytes.TrimSpace(raw)
	return len(trimmed) > 0 && trimmed[0] == '['
}

// errFinal is OpenWhisk's answer to a request that sets a parameter the action binds
// under the final annotation.
var errFinal = errors.New("Request defines parameters that are not allowed (e.g., reserved properties).")

// mergeParams lays the invocation's parameters over the action's defaults, as
// OpenWhisk does: parameters marked init stay out (they are the container's
// environment), and an action annotated final refuses a request that sets any of its
// bound parameters.
func mergeParams(a *action, body []byte) (json.RawMessage, error) {
	var given map[string]json.RawMessage
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &given); err != nil {
			return nil, errors.New("parameters must be a JSON object")
		}
	}
	if err := a.checkFinal(given); err != nil {
		return nil, err
	}
	merged := map[string]json.RawMessage{}
	for _, kv := range a.Parameters {
		if !kv.Init {
			merged[kv.Key] = kv.Value
		}
	}
	for k, v := range given {
		merged[k] = v
	}
	return json.Marshal(merged)
}

// checkFinal refuses fields that would override a bound parameter of a final action.
func (a *action) checkFinal(fields map[string]json.RawMessage) error {
	final, ok := annotationValue(a.Annotations, "final")
	if !ok || !isTrue(final) {
		return nil
	}
	for _, kv := range a.Parameters {
		if _, set := fields[kv.Key]; set && string(kv.Value) != "null" {
			return errFinal
		}
	}
	return nil
}

// execute runs one activation to its end and stores the record.
func (s *Server) execute(ctx context.Context, act *activation, a *action, params json.RawMessage, fault faults.Kind) {
	defer a.code.release()
	defer s.leave()
	timeout := time.Duration(a.Limits.Timeout) * time.Millisecond
	runtime, spec := s.runtime(a)
	spec.StartTimeout = timeout
	o := s.invoker.Invoke(ctx, core.Call[container.Request, json.RawMessage]{
		Key: a.poolKey(), Runtime: runtime, Spec: spec,
		Request: container.Request{
			Value: params, Namespace: s.opts.Namespace, ActionName: "/" + s.opts.Namespace + "/" + a.Name,
			ActionVersion: a.Version, ActivationID: act.id, TransactionID: core.HexID(idBytes),
		},
		Timeout: timeout, Received: act.received, Fault: fault,
		// A container of a replaced version is not kept warm.
		Current: func() bool { return s.current(a) },
	})
	status, result, timedOut := a.verdict(o)
	act.finish(status, result, o.Logs, s.clock(o.Started), s.clock(o.Ended), o.Init, o.Cold, timedOut)
}

// clock is t as this cluster's clock shows it (see Options.ClockSkew).
func (s *Server) clock(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Add(s.opts.ClockSkew)
}

// leave frees an admitted activation's place under the concurrency limit.
func (s *Server) leave() {
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
}

// verdict reads an outcome as OpenWhisk reports it: the response's status and result,
// and whether the action's time limit ended it.
func (a *action) verdict(o core.Outcome[json.RawMessage]) (string, json.RawMessage, bool) {
	var start *core.StartError
	switch {
	case errors.As(o.Err, &start) && errors.Is(start.Err, core.ErrTimeout):
		return statusDeveloperError, errorResult(fmt.Sprintf("The action exceeded its time limits of %d milliseconds during initialization.", a.Limits.Timeout)), true
	case errors.As(o.Err, &start):
		return statusDeveloperError, errorResult("The action failed to initialize: " + start.Err.Error()), false
	case errors.Is(o.Err, core.ErrTimeout):
		return statusDeveloperError, errorResult(fmt.Sprintf("The action exceeded its time limits of %d milliseconds.", a.Limits.Timeout)), true
	case o.Err != nil:
		return statusDeveloperError, errorResult("The action did not produce a valid response and exited unexpectedly."), false
	}
	status, result := classify(o.Response)
	return status, result, false
}

// injectedFailure is the result of an action failing by an injected error fault: an
// application error, as the action's own {"error": …} would be.
func injectedFailure() json.RawMessage {
	return errorResult("an injected fault: the function failed")
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
	return append(env, initEnv(a.Parameters)...)
}

// initEnv are the parameters marked init as environment variables: a string as it is,
// any other value as its JSON text, as the invoker turns them into strings.
func initEnv(params []keyValue) []string {
	var env []string
	for _, kv := range params {
		if !kv.Init {
			continue
		}
		value := string(kv.Value)
		var text string
		if json.Unmarshal(kv.Value, &text) == nil {
			value = text
		}
		env = append(env, kv.Key+"="+value)
	}
	return env
}
