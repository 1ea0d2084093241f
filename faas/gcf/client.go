// Package gcf drives Google Cloud Functions (1st gen) through Google's own client,
// google.golang.org/api/cloudfunctions/v1: deploy with a source upload and wait on the
// operation, remove, and invoke through the HTTPS trigger URL (or the rate-limited
// call method). The same code talks to Google and to the local fabric.
package gcf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	cloudfunctions "google.golang.org/api/cloudfunctions/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/idtoken"
	"google.golang.org/api/option"
	secretmanager "google.golang.org/api/secretmanager/v1"

	"github.com/fedkeeper/fedkeeper/faas"
)

// Options locate a project and region and say how to authenticate.
type Options struct {
	// Endpoint of the API; empty means Google's (https://cloudfunctions.googleapis.com/).
	Endpoint string
	Project  string
	Region   string
	// Token is a static bearer token for the API and the triggers (the local fabric's).
	Token string
	// CredentialsJSON is a service-account key (real GCF): OAuth for the API and ID
	// tokens for the triggers.
	CredentialsJSON []byte
	// HTTPClient overrides the client for uploads and triggers.
	HTTPClient *http.Client
}

// Client talks to one project and region.
type Client struct {
	svc     *cloudfunctions.Service
	sm      *secretmanager.Service
	project string
	region  string
	opts    Options
	plain   *http.Client

	mu       sync.Mutex
	triggers map[string]*http.Client // by audience, for real GCF
	urls     map[string]string       // trigger URL by function
}

var (
	_ faas.Provider = (*Client)(nil)
	_ faas.Caller   = (*Client)(nil)
	_ faas.Checker  = (*Client)(nil)
)

// New builds the client; it does not contact the API.
func New(ctx context.Context, opts Options) (*Client, error) {
	if opts.Project == "" || opts.Region == "" {
		return nil, errors.New("gcf: a project and a region are required")
	}
	var clientOpts []option.ClientOption
	switch {
	case opts.Token != "":
		clientOpts = append(clientOpts, option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: opts.Token, TokenType: "Bearer"})))
	case len(opts.CredentialsJSON) > 0:
		clientOpts = append(clientOpts, option.WithCredentialsJSON(opts.CredentialsJSON))
	default:
		return nil, errors.New("gcf: credentials are required (a service-account key or a token)")
	}
	if opts.Endpoint != "" {
		clientOpts = append(clientOpts, option.WithEndpoint(opts.Endpoint))
	}
	svc, err := cloudfunctions.NewService(ctx, clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("gcf: %w", err)
	}
	// Secret Manager answers at the same endpoint as the functions when one is given
	// (the local fabric serves both), at Google's own otherwise.
	sm, err := secretmanager.NewService(ctx, clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("gcf: secret manager: %w", err)
	}
	plain := opts.HTTPClient
	if plain == nil {
		plain = &http.Client{Timeout: 10 * time.Minute}
	}
	return &Client{svc: svc, sm: sm, project: opts.Project, region: opts.Region, opts: opts, plain: plain,
		triggers: map[string]*http.Client{}, urls: map[string]string{}}, nil
}

func (c *Client) parent() string {
	return "projects/" + c.project + "/locations/" + c.region
}

func (c *Client) name(fn string) string { return c.parent() + "/functions/" + fn }

// classify maps the API's errors to the keeper's classes.
func classify(err error) error {
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) {
		return fmt.Errorf("%w: %w", faas.ErrUnavailable, err)
	}
	switch {
	case gerr.Code == http.StatusNotFound:
		return fmt.Errorf("%w: %w", faas.ErrFunctionMissing, err)
	case gerr.Code == http.StatusTooManyRequests:
		return fmt.Errorf("%w: %w", faas.ErrThrottled, err)
	case gerr.Code >= 500 || gerr.Code == http.StatusConflict:
		return fmt.Errorf("%w: %w", faas.ErrUnavailable, err)
	}
	return fmt.Errorf("%w: %w", faas.ErrRejected, err)
}

// Deploy uploads fn.Code (a source zip) and creates the function, or updates it when it
// exists, then waits for the operation.
func (c *Client) Deploy(ctx context.Context, fn faas.Function) error {
	refs, err := c.secretRefs(ctx, fn.Secrets)
	if err != nil {
		return err
	}
	upload, err := c.svc.Projects.Locations.Functions.GenerateUploadUrl(c.parent(), &cloudfunctions.GenerateUploadUrlRequest{}).Context(ctx).Do()
	if err != nil {
		return fmt.Errorf("gcf: generate upload URL: %w", classify(err))
	}
	if err := c.putSource(ctx, upload.UploadUrl, fn.Code); err != nil {
		return err
	}
	runtime := fn.Kind
	if runtime == "" {
		runtime = "go122"
	}
	entry := fn.EntryPoint
	if entry == "" {
		entry = fn.Name
	}
	resource := &cloudfunctions.CloudFunction{
		Name: c.name(fn.Name), EntryPoint: entry, Runtime: runtime, SourceUploadUrl: upload.UploadUrl,
		HttpsTrigger: &cloudfunctions.HttpsTrigger{}, EnvironmentVariables: fn.Env, SecretEnvironmentVariables: refs,
		AvailableMemoryMb: int64(fn.MemoryMB),
	}
	if fn.Timeout > 0 {
		resource.Timeout = strconv.Itoa(int(fn.Timeout.Seconds())) + "s"
	}
	_, err = c.svc.Projects.Locations.Functions.Get(c.name(fn.Name)).Context(ctx).Do()
	var op *cloudfunctions.Operation
	switch {
	case err == nil:
		mask := "sourceUploadUrl,entryPoint,runtime,environmentVariables,secretEnvironmentVariables"
		if resource.AvailableMemoryMb > 0 {
			mask += ",availableMemoryMb"
		}
		if resource.Timeout != "" {
			mask += ",timeout"
		}
		op, err = c.svc.Projects.Locations.Functions.Patch(c.name(fn.Name), resource).UpdateMask(mask).Context(ctx).Do()
	case errors.Is(classify(err), faas.ErrFunctionMissing):
		op, err = c.svc.Projects.Locations.Functions.Create(c.parent(), resource).Context(ctx).Do()
	}
	if err != nil {
		return fmt.Errorf("gcf: deploy %s: %w", fn.Name, classify(err))
	}
	if _, err := c.wait(ctx, op); err != nil {
		return fmt.Errorf("gcf: deploy %s: %w", fn.Name, err)
	}
	c.mu.Lock()
	delete(c.urls, fn.Name)
	c.mu.Unlock()
	return nil
}

// putSource uploads a zip to a signed URL, without credentials as the API asks.
func (c *Client) putSource(ctx context.Context, url string, zip []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(zip))
	if err != nil {
		return fmt.Errorf("gcf: upload: %w", err)
	}
	req.Header.Set("Content-Type", "application/zip")
	req.Header.Set("x-goog-content-length-range", "0,104857600")
	resp, err := c.plain.Do(req)
	if err != nil {
		return fmt.Errorf("gcf: upload: %w: %w", faas.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		return fmt.Errorf("gcf: upload: HTTP %d: %s: %w", resp.StatusCode, strings.TrimSpace(string(body)), faas.ErrRejected)
	}
	return nil
}

// wait polls an operation until it is done.
func (c *Client) wait(ctx context.Context, op *cloudfunctions.Operation) (*cloudfunctions.Operation, error) {
	delay := 100 * time.Millisecond
	for !op.Done {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
		next, err := c.svc.Operations.Get(op.Name).Context(ctx).Do()
		if err != nil {
			return nil, fmt.Errorf("operation %s: %w", op.Name, classify(err))
		}
		op = next
	}
	if op.Error != nil {
		kind := faas.ErrRejected
		if op.Error.Code == 13 || op.Error.Code == 14 {
			kind = faas.ErrUnavailable
		}
		return nil, fmt.Errorf("operation %s failed (code %d): %s: %w", op.Name, op.Error.Code, op.Error.Message, kind)
	}
	return op, nil
}

// Remove deletes a function and waits for it; a missing function is fine.
func (c *Client) Remove(ctx context.Context, name string) error {
	op, err := c.svc.Projects.Locations.Functions.Delete(c.name(name)).Context(ctx).Do()
	if err != nil {
		if errors.Is(classify(err), faas.ErrFunctionMissing) {
			return nil
		}
		return fmt.Errorf("gcf: remove %s: %w", name, classify(err))
	}
	if _, err := c.wait(ctx, op); err != nil {
		return fmt.Errorf("gcf: remove %s: %w", name, err)
	}
	c.mu.Lock()
	delete(c.urls, name)
	c.mu.Unlock()
	return nil
}

// Get returns a function's resource.
func (c *Client) Get(ctx context.Context, name string) (*cloudfunctions.CloudFunction, error) {
	cf, err := c.svc.Projects.Locations.Functions.Get(c.name(name)).Context(ctx).Do()
	if err != nil {
		return nil, fmt.Errorf("gcf: get %s: %w", name, classify(err))
	}
	return cf, nil
}

// Deployment implements faas.Checker: a function exists once it is ACTIVE (one still
// deploying cannot be called yet).
func (c *Client) Deployment(ctx context.Context, name string) (faas.Deployment, error) {
	cf, err := c.Get(ctx, name)
	switch {
	case errors.Is(err, faas.ErrFunctionMissing):
		return faas.Deployment{}, nil
	case err != nil:
		return faas.Deployment{}, err
	}
	d := faas.Deployment{Exists: cf.Status == "ACTIVE"}
	if t, err := time.Parse(time.RFC3339Nano, cf.UpdateTime); err == nil {
		d.Updated = t
	}
	return d, nil
}

func (c *Client) triggerURL(ctx context.Context, name string) (string, error) {
	c.mu.Lock()
	url, ok := c.urls[name]
	c.mu.Unlock()
	if ok {
		return url, nil
	}
	cf, err := c.Get(ctx, name)
	if err != nil {
		return "", err
	}
	if cf.HttpsTrigger == nil || cf.HttpsTrigger.Url == "" {
		return "", fmt.Errorf("gcf: %s has no HTTPS trigger: %w", name, faas.ErrRejected)
	}
	c.mu.Lock()
	c.urls[name] = cf.HttpsTrigger.Url
	c.mu.Unlock()
	return cf.HttpsTrigger.Url, nil
}

// triggerClient authenticates trigger requests: the static token, or an ID token for
// the function's URL made from the service account.
func (c *Client) triggerClient(ctx context.Context, url string) (*http.Client, error) {
	if c.opts.Token != "" {
		return c.plain, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if hc, ok := c.triggers[url]; ok {
		return hc, nil
	}
	hc, err := idtoken.NewClient(ctx, url, option.WithCredentialsJSON(c.opts.CredentialsJSON))
	if err != nil {
		return nil, fmt.Errorf("gcf: ID token for %s: %w", url, err)
	}
	c.triggers[url] = hc
	return hc, nil
}

// Call invokes the function through its HTTPS trigger with params as the JSON body.
func (c *Client) Call(ctx context.Context, name string, params any) (faas.Activation, error) {
	url, err := c.triggerURL(ctx, name)
	if err != nil {
		return faas.Activation{}, err
	}
	body, err := json.Marshal(params)
	if err != nil {
		return faas.Activation{}, fmt.Errorf("gcf: call %s: %w", name, err)
	}
	hc, err := c.triggerClient(ctx, url)
	if err != nil {
		return faas.Activation{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return faas.Activation{}, fmt.Errorf("gcf: call %s: %w", name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return faas.Activation{}, fmt.Errorf("gcf: call %s: %w: %w", name, faas.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	end := time.Now()
	if err != nil {
		return faas.Activation{}, fmt.Errorf("gcf: call %s: read answer: %w: %w", name, faas.ErrUnavailable, err)
	}
	switch resp.StatusCode {
	case http.StatusNotFound:
		c.mu.Lock()
		delete(c.urls, name)
		c.mu.Unlock()
		return faas.Activation{}, fmt.Errorf("gcf: call %s: %w", name, faas.ErrFunctionMissing)
	case http.StatusTooManyRequests:
		return faas.Activation{}, fmt.Errorf("gcf: call %s: %w", name, faas.ErrThrottled)
	case http.StatusUnauthorized, http.StatusForbidden:
		return faas.Activation{}, fmt.Errorf("gcf: call %s: HTTP %d: %w", name, resp.StatusCode, faas.ErrRejected)
	case http.StatusServiceUnavailable, http.StatusBadGateway:
		return faas.Activation{}, fmt.Errorf("gcf: call %s: HTTP %d: %w", name, resp.StatusCode, faas.ErrUnavailable)
	}
	act := faas.Activation{
		ID: resp.Header.Get("Function-Execution-Id"), Start: start, End: end,
		Success: resp.StatusCode == http.StatusOK, Status: "success",
	}
	if !act.Success {
		act.Status = "error"
		if resp.StatusCode == http.StatusRequestTimeout {
			act.Status, act.TimedOut = "timeout", true
		}
	}
	if json.Valid(data) {
		act.Result = data
	} else {
		act.Result, _ = json.Marshal(map[string]string{"error": strings.TrimSpace(string(data))})
	}
	// The local fabric tells what GCF keeps in its logs.
	if cold := resp.Header.Get("X-Fabric-Cold-Start"); cold != "" {
		act.ColdStart = cold == "true"
		act.InitTime = headerMillis(resp.Header, "X-Fabric-Init-Ms")
		act.WaitTime = headerMillis(resp.Header, "X-Fabric-Wait-Ms")
	}
	return act, nil
}

func headerMillis(h http.Header, key string) time.Duration {
	ms, _ := strconv.ParseInt(h.Get(key), 10, 64)
	return time.Duration(ms) * time.Millisecond
}

// CallMethod runs the function through the API's call method (GCF allows 16 calls per
// 100 seconds): data is the request body, and the answer comes back as a string.
func (c *Client) CallMethod(ctx context.Context, name, data string) (executionID, result string, err error) {
	resp, err := c.svc.Projects.Locations.Functions.Call(c.name(name), &cloudfunctions.CallFunctionRequest{Data: data}).Context(ctx).Do()
	if err != nil {
		return "", "", fmt.Errorf("gcf: call method of %s: %w", name, classify(err))
	}
	if resp.Error != "" {
		return resp.ExecutionId, "", fmt.Errorf("gcf: %s failed: %s", name, resp.Error)
	}
	return resp.ExecutionId, resp.Result, nil
}
