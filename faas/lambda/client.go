// Package lambda is FedKeeper's adapter of AWS Lambda, on aws-sdk-go-v2's Lambda
// client: it deploys a function's zip (creating it, or updating its code and
// configuration) and waits until Lambda says it is ready, removes it, tells whether it
// exists, and invokes it synchronously with its log tail, whose REPORT line gives the
// billed duration, the cold start's init and the peak memory. Credentials come from
// the options or the SDK's default chain (the AWS environment, shared files and
// profiles); the endpoint is AWS's own or, for the local fabric, the one given.
package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/fedkeeper/fedkeeper/faas"
)

// Options locate a Lambda and say who calls it.
type Options struct {
	// Region is required: a function lives in one.
	Region string
	// Endpoint replaces AWS's (the local fabric's URL); empty is AWS's own.
	Endpoint string
	// Role is the execution role's ARN every function is created with.
	Role string
	// AccessKeyID, SecretAccessKey and SessionToken are static credentials; empty, the
	// SDK's default chain finds them, reading Profile from the shared files if given.
	AccessKeyID, SecretAccessKey, SessionToken string
	Profile                                    string
	// HTTPClient overrides the SDK's.
	HTTPClient *http.Client
	// MaxAttempts bounds the SDK's own tries of one call, with backoff between them,
	// when Lambda throttles or fails on its side (default 5), waiting up to MaxBackoff
	// between two (default 20 s; the SDK draws each wait at random below it).
	MaxAttempts int
	MaxBackoff  time.Duration
	// ReadyWait bounds the wait for a deployed function to become Active and its
	// update Successful (default 5 minutes).
	ReadyWait time.Duration
}

// Client is one account's Lambda in one region.
type Client struct {
	api       *awslambda.Client
	role      string
	readyWait time.Duration
}

var (
	_ faas.Provider = (*Client)(nil)
	_ faas.Caller   = (*Client)(nil)
	_ faas.Checker  = (*Client)(nil)
)

// New builds the client; it does not contact Lambda. Credentials that the default
// chain cannot find fail the first call, not New.
func New(ctx context.Context, opts Options) (*Client, error) {
	if opts.Region == "" {
		return nil, errors.New("lambda: a region is required")
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 20 * time.Second
	}
	if opts.ReadyWait <= 0 {
		opts.ReadyWait = 5 * time.Minute
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, loadOptions(opts)...)
	if err != nil {
		return nil, fmt.Errorf("lambda: AWS configuration: %w", err)
	}
	api := awslambda.NewFromConfig(cfg, func(o *awslambda.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	})
	return &Client{api: api, role: opts.Role, readyWait: opts.ReadyWait}, nil
}

// loadOptions are the SDK's: the region, the credentials given (or the profile), and
// a retryer that backs off on throttling and server errors without the client-side
// retry quota, which a round of hundreds of clients against a throttling Lambda would
// drain and then fail calls that a wait would have saved.
func loadOptions(opts Options) []func(*awsconfig.LoadOptions) error {
	out := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(opts.Region),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts, o.RateLimiter, o.MaxBackoff = opts.MaxAttempts, ratelimit.None, opts.MaxBackoff
			})
		}),
	}
	if opts.AccessKeyID != "" {
		out = append(out, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, opts.SessionToken)))
	} else if opts.Profile != "" {
		out = append(out, awsconfig.WithSharedConfigProfile(opts.Profile))
	}
	if opts.HTTPClient != nil {
		out = append(out, awsconfig.WithHTTPClient(opts.HTTPClient))
	}
	return out
}

// MaxZip is the largest zip Lambda takes inline (50 MB).
const MaxZip = 50 << 20

// Deploy creates the function from fn's zip, or, when it exists, updates its code and
// then its configuration, and waits until Lambda reports it ready: Active after a
// creation, its last update Successful after an update. fn.Kind is the runtime
// (provided.al2023, python3.11), fn.EntryPoint a Python function's handler. Secrets
// become environment variables, Lambda's own way to hand a function its settings
// (encrypted at rest; shown only to principals allowed to read the configuration).
func (c *Client) Deploy(ctx context.Context, fn faas.Function) error {
	if len(fn.Code) == 0 || len(fn.Code) > MaxZip {
		return fmt.Errorf("lambda: deploy %s: the zip is %d bytes; Lambda takes 1 byte to 50 MB inline: %w", fn.Name, len(fn.Code), faas.ErrRejected)
	}
	settings := settingsOf(fn)
	_, err := c.api.CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String(fn.Name), Role: aws.String(c.role), Runtime: types.Runtime(fn.Kind),
		Handler: settings.Handler, Code: &types.FunctionCode{ZipFile: fn.Code}, MemorySize: settings.MemorySize,
		Timeout: settings.Timeout, Environment: settings.Environment, Architectures: []types.Architecture{types.ArchitectureX8664},
		Tags: map[string]string{"fedkeeper": "true"},
	})
	var conflict *types.ResourceConflictException
	switch {
	case err == nil:
		return c.waitActive(ctx, fn.Name)
	case !errors.As(err, &conflict):
		return classify("deploy "+fn.Name, err)
	}
	if _, err := c.api.UpdateFunctionCode(ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String(fn.Name), ZipFile: fn.Code}); err != nil {
		return classify("update the code of "+fn.Name, err)
	}
	if err := c.waitUpdated(ctx, fn.Name); err != nil {
		return err
	}
	_, err = c.api.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(fn.Name), Role: aws.String(c.role), Runtime: types.Runtime(fn.Kind), Handler: settings.Handler,
		MemorySize: settings.MemorySize, Timeout: settings.Timeout, Environment: settings.Environment,
	})
	if err != nil {
		return classify("update the configuration of "+fn.Name, err)
	}
	return c.waitUpdated(ctx, fn.Name)
}

// settings are a function's configuration as the API takes it.
type settings struct {
	Handler             *string
	MemorySize, Timeout *int32
	Environment         *types.Environment
}

func settingsOf(fn faas.Function) settings {
	var s settings
	if fn.EntryPoint != "" {
		s.Handler = aws.String(fn.EntryPoint)
	}
	if fn.MemoryMB > 0 {
		s.MemorySize = aws.Int32(int32(fn.MemoryMB))
	}
	if fn.Timeout > 0 {
		s.Timeout = aws.Int32(int32((fn.Timeout + time.Second - 1) / time.Second))
	}
	vars := maps.Clone(fn.Env)
	if vars == nil {
		vars = map[string]string{}
	}
	for setting, value := range fn.Secrets {
		vars[setting.Env()] = value
	}
	s.Environment = &types.Environment{Variables: vars}
	return s
}

func (c *Client) waitActive(ctx context.Context, name string) error {
	w := awslambda.NewFunctionActiveV2Waiter(c.api, func(o *awslambda.FunctionActiveV2WaiterOptions) { o.MinDelay = 500 * time.Millisecond })
	if err := w.Wait(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String(name)}, c.readyWait); err != nil {
		return fmt.Errorf("lambda: %s did not become Active: %w: %w", name, err, faas.ErrUnavailable)
	}
	return nil
}

func (c *Client) waitUpdated(ctx context.Context, name string) error {
	w := awslambda.NewFunctionUpdatedV2Waiter(c.api, func(o *awslambda.FunctionUpdatedV2WaiterOptions) { o.MinDelay = 500 * time.Millisecond })
	if err := w.Wait(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String(name)}, c.readyWait); err != nil {
		return fmt.Errorf("lambda: the update of %s did not succeed: %w: %w", name, err, faas.ErrUnavailable)
	}
	return nil
}

// Remove deletes the function; a missing one is fine.
func (c *Client) Remove(ctx context.Context, name string) error {
	_, err := c.api.DeleteFunction(ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String(name)})
	var missing *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &missing) {
		return classify("remove "+name, err)
	}
	return nil
}

// lastModifiedLayout is how Lambda writes LastModified.
const lastModifiedLayout = "2006-01-02T15:04:05.000-0700"

// Deployment implements faas.Checker: whether the function exists and when it was
// last created or changed, by Lambda's clock.
func (c *Client) Deployment(ctx context.Context, name string) (faas.Deployment, error) {
	out, err := c.api.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String(name)})
	var missing *types.ResourceNotFoundException
	switch {
	case errors.As(err, &missing):
		return faas.Deployment{}, nil
	case err != nil:
		return faas.Deployment{}, classify("get "+name, err)
	}
	d := faas.Deployment{Exists: true}
	if out.Configuration != nil && out.Configuration.LastModified != nil {
		d.Updated, _ = time.Parse(lastModifiedLayout, *out.Configuration.LastModified)
	}
	return d, nil
}

// MaxPayload is Lambda's bound on a synchronous invocation's request and answer.
const MaxPayload = 6 << 20

// Call invokes the function synchronously (RequestResponse) with params as the event,
// asking for the log tail. A function error (X-Amz-Function-Error) is a failed
// activation, its error document as the result's error; a request over 6 MB is
// refused before it is sent.
func (c *Client) Call(ctx context.Context, name string, params any) (faas.Activation, error) {
	payload, err := json.Marshal(params)
	if err != nil {
		return faas.Activation{}, fmt.Errorf("lambda: call %s: %w", name, err)
	}
	if len(payload) > MaxPayload {
		return faas.Activation{}, fmt.Errorf("lambda: call %s: the request is %d bytes, over Lambda's 6 MB (%d bytes) for a synchronous invocation; "+
			"relayed weights of this model do not fit: let the cluster's functions reach MongoDB (relay_weights: false): %w", name, len(payload), MaxPayload, faas.ErrRejected)
	}
	start := time.Now()
	out, err := c.api.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String(name), Payload: payload,
		InvocationType: types.InvocationTypeRequestResponse, LogType: types.LogTypeTail})
	if err != nil {
		return faas.Activation{}, classify("call "+name, err)
	}
	return toActivation(out, start, time.Now()), nil
}
