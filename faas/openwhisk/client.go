// Package openwhisk is a hand-written client of the Apache OpenWhisk REST API (the Go
// module proxy refuses openwhisk-client-go): actions, invocations and activations with
// basic authentication. It implements faas.Provider for real clusters and the local
// fabric alike.
package openwhisk

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/faas"
)

// Options locate a cluster.
type Options struct {
	// APIHost is https://host[:port] (a bare host gets https://).
	APIHost string
	// Namespace; empty means "_", the subject's own.
	Namespace string
	// Auth is "uuid:key".
	Auth string
	// Insecure skips TLS verification, for clusters with self-signed certificates.
	Insecure bool
	// HTTPClient overrides the default client (whose timeout outlasts the 60 s blocking wait).
	HTTPClient *http.Client
}

// Client talks to one OpenWhisk namespace.
type Client struct {
	base      *url.URL
	namespace string
	user      string
	password  string
	http      *http.Client
}

var (
	_ faas.Provider = (*Client)(nil)
	_ faas.Starter  = (*Client)(nil)
	_ faas.Checker  = (*Client)(nil)
	_ faas.Caller   = (*Client)(nil)
)

// New checks the options and builds a client; it does not contact the cluster.
func New(opts Options) (*Client, error) {
	host := strings.TrimSpace(opts.APIHost)
	if host == "" {
		return nil, errors.New("openwhisk: no API host")
	}
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	base, err := url.Parse(strings.TrimRight(host, "/"))
	if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") || strings.ContainsAny(base.Host, "<> ") {
		return nil, fmt.Errorf("openwhisk: API host %q is not an http(s) address", opts.APIHost)
	}
	base.Path = strings.TrimSuffix(base.Path, "/api/v1")
	user, password, ok := strings.Cut(opts.Auth, ":")
	if !ok || user == "" || password == "" {
		return nil, errors.New("openwhisk: auth must be uuid:key")
	}
	ns := opts.Namespace
	if ns == "" {
		ns = "_"
	}
	hc := opts.HTTPClient
	if hc == nil {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		// A worker polls up to a round's in-flight activations at once (1,000 by
		// default); the default transport keeps 100 idle connections in all, so each
		// burst of polls dialled hundreds anew and closed them again.
		transport.MaxIdleConns, transport.MaxIdleConnsPerHost = 0, maxIdleConns
		if opts.Insecure {
			transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it
		}
		hc = &http.Client{Transport: transport, Timeout: 75 * time.Second}
	}
	return &Client{base: base, namespace: ns, user: user, password: password, http: hc}, nil
}

// maxIdleConns is how many idle connections to its API host a client keeps.
const maxIdleConns = 1024

// APIError is a non-success answer of the API.
type APIError struct {
	Op      string
	Status  int
	Message string
	kind    error
}

func (e *APIError) Error() string {
	return fmt.Sprintf("openwhisk: %s: HTTP %d: %s", e.Op, e.Status, e.Message)
}

// Unwrap classifies the error for the keeper.
func (e *APIError) Unwrap() error { return e.kind }

func classify(status int) error {
	switch {
	case status == http.StatusNotFound:
		return faas.ErrFunctionMissing
	case status == http.StatusTooManyRequests:
		return faas.ErrThrottled
	case status >= 500:
		return faas.ErrUnavailable
	}
	return faas.ErrRejected
}

func (c *Client) url(parts ...string) string {
	u := *c.base
	u.Path += "/api/v1/namespaces/" + c.namespace + "/" + strings.Join(parts, "/")
	u.RawPath = ""
	return u.String()
}

func actionPath(name string) []string {
	return append([]string{"actions"}, strings.Split(name, "/")...)
}

// do sends a request and decodes a JSON answer into out (when non-nil) for the accepted
// statuses; any other status becomes an *APIError.
func (c *Client) do(ctx context.Context, op, method, target string, body any, out any, accept ...int) (int, http.Header, error) {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("openwhisk: %s: encode: %w", op, err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reader)
	if err != nil {
		return 0, nil, fmt.Errorf("openwhisk: %s: %w", op, err)
	}
	req.SetBasicAuth(c.user, c.password)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("openwhisk: %s: %w: %w", op, faas.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, resp.Header, fmt.Errorf("openwhisk: %s: read answer: %w: %w", op, faas.ErrUnavailable, err)
	}
	for _, ok := range accept {
		if resp.StatusCode == ok {
			if out != nil && len(data) > 0 {
				if err := json.Unmarshal(data, out); err != nil {
					return resp.StatusCode, resp.Header, fmt.Errorf("openwhisk: %s: decode answer: %w", op, err)
				}
			}
			return resp.StatusCode, resp.Header, nil
		}
	}
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(data))
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return resp.StatusCode, resp.Header, &APIError{Op: op, Status: resp.StatusCode, Message: msg, kind: classify(resp.StatusCode)}
}

// KeyValue is OpenWhisk's {key, value} pair.
type KeyValue struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
	// Init marks a parameter the container gets as an environment variable at its
	// start instead of in every activation's parameters.
	Init bool `json:"init,omitempty"`
}

// Exec is an action's code.
type Exec struct {
	Kind   string `json:"kind"`
	Code   string `json:"code,omitempty"`
	Main   string `json:"main,omitempty"`
	Image  string `json:"image,omitempty"`
	Binary bool   `json:"binary,omitempty"`
}

// Limits of an action.
type Limits struct {
	Timeout     int `json:"timeout,omitempty"`
	Memory      int `json:"memory,omitempty"`
	Logs        int `json:"logs,omitempty"`
	Concurrency int `json:"concurrency,omitempty"`
}

// Action is an action as the API returns it.
type Action struct {
	Namespace   string     `json:"namespace"`
	Name        string     `json:"name"`
	Version     string     `json:"version"`
	Exec        Exec       `json:"exec"`
	Annotations []KeyValue `json:"annotations"`
	Parameters  []KeyValue `json:"parameters"`
	Limits      Limits     `json:"limits"`
	// Updated is when the action was last put, in Unix milliseconds.
	Updated int64 `json:"updated,omitempty"`
}

// PutAction creates or (with overwrite) replaces an action.
func (c *Client) PutAction(ctx context.Context, name string, action Action, overwrite bool) (Action, error) {
	var out Action
	target := c.url(actionPath(name)...) + fmt.Sprintf("?overwrite=%t", overwrite)
	_, _, err := c.do(ctx, "put action "+name, http.MethodPut, target, action, &out, http.StatusOK)
	return out, err
}

// GetAction reads an action without its code.
func (c *Client) GetAction(ctx context.Context, name string) (Action, error) {
	var out Action
	_, _, err := c.do(ctx, "get action "+name, http.MethodGet, c.url(actionPath(name)...)+"?code=false", nil, &out, http.StatusOK)
	return out, err
}

// DeleteAction removes an action.
func (c *Client) DeleteAction(ctx context.Context, name string) error {
	_, _, err := c.do(ctx, "delete action "+name, http.MethodDelete, c.url(actionPath(name)...), nil, nil, http.StatusOK)
	return err
}

// Response is an activation's outcome.
type Response struct {
	Status  string          `json:"status"`
	Success bool            `json:"success"`
	Result  json.RawMessage `json:"result"`
}

// Record is a full activation record.
type Record struct {
	Namespace    string     `json:"namespace"`
	Name         string     `json:"name"`
	ActivationID string     `json:"activationId"`
	Start        int64      `json:"start"`
	End          int64      `json:"end"`
	Duration     int64      `json:"duration"`
	Response     Response   `json:"response"`
	Logs         []string   `json:"logs"`
	Annotations  []KeyValue `json:"annotations"`
}

// Annotation returns a record annotation's value.
func (r Record) Annotation(key string) (any, bool) {
	for _, kv := range r.Annotations {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// Invocation is what an invoke returns: the activation id and, when a blocking call
// finished in time, the record.
type Invocation struct {
	ActivationID string
	Record       *Record
}

// InvokeAction invokes an action. Non-blocking calls return at once (202); blocking ones
// return the record, or only the id when the platform's wait ran out (202 again).
func (c *Client) InvokeAction(ctx context.Context, name string, params any, blocking bool) (Invocation, error) {
	target := c.url(actionPath(name)...) + fmt.Sprintf("?blocking=%t", blocking)
	if params == nil {
		params = map[string]any{}
	}
	var raw json.RawMessage
	status, header, err := c.do(ctx, "invoke "+name, http.MethodPost, target, params, &raw,
		http.StatusOK, http.StatusAccepted, http.StatusBadGateway)
	if err != nil {
		return Invocation{}, err
	}
	inv := Invocation{ActivationID: header.Get("x-openwhisk-activation-id")}
	if status == http.StatusAccepted {
		var accepted struct {
			ActivationID string `json:"activationId"`
		}
		if err := json.Unmarshal(raw, &accepted); err == nil && accepted.ActivationID != "" {
			inv.ActivationID = accepted.ActivationID
		}
	} else {
		var rec Record
		if err := json.Unmarshal(raw, &rec); err != nil {
			return Invocation{}, fmt.Errorf("openwhisk: invoke %s: decode record: %w", name, err)
		}
		inv.Record = &rec
		if rec.ActivationID != "" {
			inv.ActivationID = rec.ActivationID
		}
	}
	if inv.ActivationID == "" {
		return Invocation{}, fmt.Errorf("openwhisk: invoke %s: answer carries no activation id", name)
	}
	return inv, nil
}

// GetActivation reads a finished activation; it returns faas.ErrNotReady while the
// platform has no record yet.
func (c *Client) GetActivation(ctx context.Context, id string) (Record, error) {
	var rec Record
	_, _, err := c.do(ctx, "get activation "+id, http.MethodGet, c.url("activations", id), nil, &rec, http.StatusOK)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		return Record{}, fmt.Errorf("activation %s: %w", id, faas.ErrNotReady)
	}
	return rec, err
}

// Deploy implements faas.Provider: it uploads fn.Code as an action of fn.Kind (a zip
// holding an "exec" binary for the native Go kinds, a zip with __main__.py or a single
// file for the Python ones), or, when fn.Image is set, a docker action (kind blackbox)
// of that image with fn.Code, if any, as its code. fn.EntryPoint is the action's main.
func (c *Client) Deploy(ctx context.Context, fn faas.Function) error {
	action := Action{
		Exec:   execOf(fn),
		Limits: Limits{Memory: fn.MemoryMB, Timeout: int(fn.Timeout.Milliseconds()), Concurrency: fn.Concurrency},
	}
	action.Parameters = initParameters(fn)
	annotations := fn.Annotations
	if len(action.Parameters) > 0 {
		// Requests may not override the bound parameters (OpenWhisk answers 400).
		annotations = maps.Clone(annotations)
		if annotations == nil {
			annotations = map[string]any{}
		}
		annotations["final"] = true
	}
	for _, k := range slices.Sorted(maps.Keys(annotations)) {
		action.Annotations = append(action.Annotations, KeyValue{Key: k, Value: annotations[k]})
	}
	_, err := c.PutAction(ctx, fn.Name, action, true)
	return err
}

// execOf is the exec of fn's action. A zip travels as base64 with binary set, other
// code as text, as the wsk CLI sends a .zip and a single source file.
func execOf(fn faas.Function) Exec {
	kind := fn.Kind
	if kind == "" {
		kind = "go:1.22"
	}
	ex := Exec{Kind: kind, Main: fn.EntryPoint}
	if fn.Image != "" {
		ex = Exec{Kind: "blackbox", Image: fn.Image, Main: fn.EntryPoint}
	}
	switch {
	case len(fn.Code) == 0:
	case bytes.HasPrefix(fn.Code, []byte("PK\x03\x04")):
		ex.Code, ex.Binary = base64.StdEncoding.EncodeToString(fn.Code), true
	default:
		ex.Code = string(fn.Code)
	}
	return ex
}

// initParameters are the function's settings and secrets as parameters marked init:
// OpenWhisk passes them to the container as environment variables when it starts, and
// never in an activation's parameters. (OpenWhisk has no secret store; bound
// parameters are shown to the namespace's owner only.)
func initParameters(fn faas.Function) []KeyValue {
	var out []KeyValue
	for _, k := range slices.Sorted(maps.Keys(fn.Env)) {
		out = append(out, KeyValue{Key: k, Value: fn.Env[k], Init: true})
	}
	for _, s := range slices.Sorted(maps.Keys(fn.Secrets)) {
		out = append(out, KeyValue{Key: s.Env(), Value: fn.Secrets[s], Init: true})
	}
	return out
}

// Remove implements faas.Provider.
func (c *Client) Remove(ctx context.Context, name string) error {
	err := c.DeleteAction(ctx, name)
	if errors.Is(err, faas.ErrFunctionMissing) {
		return nil
	}
	return err
}

// Call implements faas.Caller with a blocking invocation. OpenWhisk waits at most 60 s
// for a blocking call and then answers 202 with only the activation id; Call then polls
// the activation until it finishes or ctx ends.
func (c *Client) Call(ctx context.Context, name string, params any) (faas.Activation, error) {
	inv, err := c.InvokeAction(ctx, name, params, true)
	if err != nil {
		return faas.Activation{}, err
	}
	if inv.Record != nil {
		return ToActivation(*inv.Record), nil
	}
	delay := 100 * time.Millisecond
	for {
		rec, err := c.GetActivation(ctx, inv.ActivationID)
		if err == nil {
			return ToActivation(rec), nil
		}
		if !errors.Is(err, faas.ErrNotReady) {
			return faas.Activation{}, err
		}
		select {
		case <-ctx.Done():
			return faas.Activation{}, fmt.Errorf("openwhisk: call %s: %w", name, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// WebURL is the address of a web action (one outside any package).
func (c *Client) WebURL(name string) string {
	u := *c.base
	ns := c.namespace
	u.Path += "/api/v1/web/" + ns + "/default/" + name
	return u.String()
}

// Deployment implements faas.Checker.
func (c *Client) Deployment(ctx context.Context, name string) (faas.Deployment, error) {
	action, err := c.GetAction(ctx, name)
	switch {
	case errors.Is(err, faas.ErrFunctionMissing):
		return faas.Deployment{}, nil
	case err != nil:
		return faas.Deployment{}, err
	}
	d := faas.Deployment{Exists: true}
	if action.Updated > 0 {
		d.Updated = time.UnixMilli(action.Updated)
	}
	return d, nil
}

// Invoke implements faas.Provider.
func (c *Client) Invoke(ctx context.Context, name string, params any) (string, error) {
	inv, err := c.InvokeAction(ctx, name, params, false)
	return inv.ActivationID, err
}

// Activation implements faas.Provider.
func (c *Client) Activation(ctx context.Context, _ string, id string) (faas.Activation, error) {
	rec, err := c.GetActivation(ctx, id)
	if err != nil {
		return faas.Activation{}, err
	}
	return ToActivation(rec), nil
}

// ToActivation converts a record into the platform-neutral form.
func ToActivation(rec Record) faas.Activation {
	a := faas.Activation{
		ID: rec.ActivationID, Status: rec.Response.Status, Success: rec.Response.Success, Result: rec.Response.Result,
		Start: time.UnixMilli(rec.Start), End: time.UnixMilli(rec.End),
	}
	if v, ok := rec.Annotation("waitTime"); ok {
		a.WaitTime = millis(v)
	}
	if v, ok := rec.Annotation("initTime"); ok {
		a.InitTime = millis(v)
		a.ColdStart = true
	}
	if v, ok := rec.Annotation("timeout"); ok && v == true {
		a.TimedOut = true
	}
	return a
}

func millis(v any) time.Duration {
	if f, ok := v.(float64); ok {
		return time.Duration(f) * time.Millisecond
	}
	return 0
}
