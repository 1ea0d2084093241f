// Package openfaas is a client of the OpenFaaS gateway for edge devices: deploy and
// remove through /system/functions, invoke synchronously through /function/NAME or
// queue through /async-function/NAME with a callback URL.
package openfaas

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/faas"
)

// Options locate a gateway.
type Options struct {
	Gateway  string
	User     string
	Password string
	// HTTPClient overrides the default client (no timeout of its own: calls last as long
	// as the function, bounded by the caller's context).
	HTTPClient *http.Client
}

// Client talks to one gateway.
type Client struct {
	base *url.URL
	opts Options
	http *http.Client
}

var (
	_ faas.Provider = (*Client)(nil)
	_ faas.Caller   = (*Client)(nil)
)

// New checks the options; it does not contact the gateway.
func New(opts Options) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(opts.Gateway, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("openfaas: gateway %q is not an http(s) address", opts.Gateway)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: base, opts: opts, http: hc}, nil
}

func (c *Client) url(path string) string { return c.base.String() + path }

func (c *Client) request(ctx context.Context, method, path string, body []byte, header http.Header) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.url(path), bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("openfaas: %w", err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if c.opts.User != "" {
		req.SetBasicAuth(c.opts.User, c.opts.Password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("openfaas: %s %s: %w: %w", method, path, faas.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return resp, nil, fmt.Errorf("openfaas: %s %s: read answer: %w: %w", method, path, faas.ErrUnavailable, err)
	}
	return resp, data, nil
}

func statusError(op string, status int, body []byte) error {
	kind := faas.ErrRejected
	switch {
	case status == http.StatusNotFound:
		kind = faas.ErrFunctionMissing
	case status == http.StatusTooManyRequests:
		kind = faas.ErrThrottled
	case status >= 500:
		kind = faas.ErrUnavailable
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return fmt.Errorf("openfaas: %s: HTTP %d: %s: %w", op, status, msg, kind)
}

// Deployment is the gateway's function definition.
type Deployment struct {
	Service     string            `json:"service"`
	Image       string            `json:"image"`
	EnvProcess  string            `json:"envProcess,omitempty"`
	EnvVars     map[string]string `json:"envVars,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Secrets name gateway secrets the function gets as files (/var/openfaas/secrets).
	Secrets []string   `json:"secrets,omitempty"`
	Limits  *Resources `json:"limits,omitempty"`
}

// Resources are a function's limits.
type Resources struct {
	Memory string `json:"memory,omitempty"`
	CPU    string `json:"cpu,omitempty"`
}

// Deploy creates the function, or updates it when it exists. fn.Image names the
// image; the function's name reaches it as OPENFAAS_FUNCTION.
func (c *Client) Deploy(ctx context.Context, fn faas.Function) error {
	if fn.Image == "" {
		return fmt.Errorf("openfaas: deploy %s: no image: %w", fn.Name, faas.ErrRejected)
	}
	env := map[string]string{"OPENFAAS_FUNCTION": fn.Name}
	if fn.Timeout > 0 {
		// The watchdog's limits: a function stops after exec_timeout, and its HTTP
		// server must wait as long for the request and the answer.
		limit := fn.Timeout.String()
		env["exec_timeout"], env["read_timeout"], env["write_timeout"] = limit, limit, limit
	}
	for k, v := range fn.Env {
		env[k] = v
	}
	d := Deployment{Service: fn.Name, Image: fn.Image, EnvVars: env, Labels: map[string]string{"fedkeeper": "true"}}
	for _, s := range slices.Sorted(maps.Keys(fn.Secrets)) {
		if err := c.PutSecret(ctx, s.Secret(), fn.Secrets[s]); err != nil {
			return err
		}
		d.Secrets = append(d.Secrets, s.Secret())
	}
	if fn.MemoryMB > 0 {
		d.Limits = &Resources{Memory: strconv.Itoa(fn.MemoryMB) + "Mi"}
	}
	body, _ := json.Marshal(d)
	header := http.Header{"Content-Type": []string{"application/json"}}
	resp, data, err := c.request(ctx, http.MethodGet, "/system/function/"+url.PathEscape(fn.Name), nil, nil)
	if err != nil {
		return err
	}
	method := http.MethodPost
	switch resp.StatusCode {
	case http.StatusOK:
		method = http.MethodPut
	case http.StatusNotFound:
	default:
		return statusError("deploy "+fn.Name, resp.StatusCode, data)
	}
	resp, data, err = c.request(ctx, method, "/system/functions", body, header)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return statusError("deploy "+fn.Name, resp.StatusCode, data)
	}
	return nil
}

// Secret is a gateway secret as /system/secrets takes it.
type Secret struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// PutSecret creates the gateway secret, or replaces its value when it exists. The
// gateway lists secrets by name only.
func (c *Client) PutSecret(ctx context.Context, name, value string) error {
	body, _ := json.Marshal(Secret{Name: name, Value: value})
	header := http.Header{"Content-Type": []string{"application/json"}}
	resp, data, err := c.request(ctx, http.MethodPost, "/system/secrets", body, header)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusConflict {
		resp, data, err = c.request(ctx, http.MethodPut, "/system/secrets", body, header)
		if err != nil {
			return err
		}
	}
	if resp.StatusCode/100 != 2 {
		return statusError("put secret "+name, resp.StatusCode, data)
	}
	return nil
}

// Remove deletes the function; a missing one is fine.
func (c *Client) Remove(ctx context.Context, name string) error {
	body, _ := json.Marshal(map[string]string{"functionName": name})
	resp, data, err := c.request(ctx, http.MethodDelete, "/system/functions", body, http.Header{"Content-Type": []string{"application/json"}})
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusNotFound {
		return nil
	}
	return statusError("remove "+name, resp.StatusCode, data)
}

// Get returns a deployed function's status, as the gateway reports it.
func (c *Client) Get(ctx context.Context, name string) (map[string]any, error) {
	resp, data, err := c.request(ctx, http.MethodGet, "/system/function/"+url.PathEscape(name), nil, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusError("get "+name, resp.StatusCode, data)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("openfaas: get %s: %w", name, err)
	}
	return out, nil
}

// Deployment implements faas.Checker. The gateway reports no update time.
func (c *Client) Deployment(ctx context.Context, name string) (faas.Deployment, error) {
	_, err := c.Get(ctx, name)
	switch {
	case errors.Is(err, faas.ErrFunctionMissing):
		return faas.Deployment{}, nil
	case err != nil:
		return faas.Deployment{}, err
	}
	return faas.Deployment{Exists: true}, nil
}

// Call invokes the function synchronously with params as the JSON body.
func (c *Client) Call(ctx context.Context, name string, params any) (faas.Activation, error) {
	body, err := json.Marshal(params)
	if err != nil {
		return faas.Activation{}, fmt.Errorf("openfaas: call %s: %w", name, err)
	}
	start := time.Now()
	resp, data, err := c.request(ctx, http.MethodPost, "/function/"+url.PathEscape(name), body, http.Header{"Content-Type": []string{"application/json"}})
	if err != nil {
		return faas.Activation{}, err
	}
	end := time.Now()
	switch resp.StatusCode {
	case http.StatusNotFound:
		return faas.Activation{}, statusError("call "+name, resp.StatusCode, data)
	case http.StatusTooManyRequests, http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable, http.StatusRequestEntityTooLarge:
		return faas.Activation{}, statusError("call "+name, resp.StatusCode, data)
	}
	return toActivation(resp.StatusCode, resp.Header, data, start, end), nil
}

// toActivation reads a function's answer: 2xx is a success; a 5xx from the function or
// the gateway (a crash, 502; a timeout, 504) is a failed activation.
func toActivation(status int, h http.Header, body []byte, start, end time.Time) faas.Activation {
	act := faas.Activation{ID: h.Get("X-Call-Id"), Start: start, End: end, Success: status >= 200 && status < 300, Status: "success"}
	if !act.Success {
		act.Status = "error"
		if status == http.StatusGatewayTimeout {
			act.Status, act.TimedOut = "timeout", true
		}
	}
	if json.Valid(body) {
		act.Result = body
	} else {
		act.Result, _ = json.Marshal(map[string]string{"error": strings.TrimSpace(string(body))})
	}
	if cold := h.Get("X-Fabric-Cold-Start"); cold != "" {
		act.ColdStart = cold == "true"
		act.InitTime = millis(h.Get("X-Fabric-Init-Ms"))
		act.WaitTime = millis(h.Get("X-Fabric-Wait-Ms"))
	}
	return act
}

func millis(v string) time.Duration {
	ms, _ := strconv.ParseInt(v, 10, 64)
	return time.Duration(ms) * time.Millisecond
}

// InvokeAsync queues an invocation; the gateway POSTs the answer to callbackURL (when
// given) with X-Function-Status and X-Call-Id. It returns the call id.
func (c *Client) InvokeAsync(ctx context.Context, name string, params any, callbackURL string) (string, error) {
	body, err := json.Marshal(params)
	if err != nil {
		return "", fmt.Errorf("openfaas: invoke %s: %w", name, err)
	}
	header := http.Header{"Content-Type": []string{"application/json"}}
	if callbackURL != "" {
		header.Set("X-Callback-Url", callbackURL)
	}
	resp, data, err := c.request(ctx, http.MethodPost, "/async-function/"+url.PathEscape(name), body, header)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusAccepted {
		return "", statusError("invoke "+name, resp.StatusCode, data)
	}
	id := resp.Header.Get("X-Call-Id")
	if id == "" {
		return "", errors.New("openfaas: the gateway gave no X-Call-Id")
	}
	return id, nil
}

// Callback parses a callback request of the gateway into the activation it reports.
func Callback(r *http.Request) (faas.Activation, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		return faas.Activation{}, fmt.Errorf("openfaas: read callback: %w", err)
	}
	status, err := strconv.Atoi(r.Header.Get("X-Function-Status"))
	if err != nil {
		return faas.Activation{}, errors.New("openfaas: callback without X-Function-Status")
	}
	end := time.Now()
	dur, _ := strconv.ParseFloat(r.Header.Get("X-Duration-Seconds"), 64)
	return toActivation(status, r.Header, body, end.Add(-time.Duration(dur*float64(time.Second))), end), nil
}
