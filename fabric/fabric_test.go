package fabric_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/fedkeeper/fedkeeper/faas"
	gcfclient "github.com/fedkeeper/fedkeeper/faas/gcf"
	ofclient "github.com/fedkeeper/fedkeeper/faas/openfaas"
	"github.com/fedkeeper/fedkeeper/fabric"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fabric/gcf"
	"github.com/fedkeeper/fedkeeper/fabric/lambda"
	"github.com/fedkeeper/fedkeeper/fabric/openfaas"
	"github.com/fedkeeper/fedkeeper/functions/pack"
)

// Faults set at run time through the fabric's endpoint reach Cloud Functions and OpenFaaS
// the way the platforms fail: 429, 503, deleted functions, crashes, errors.
func TestFaultsAtRunTime(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..")
	ctx := context.Background()
	f, err := fabric.Start(ctx, fabric.Options{DataDir: t.TempDir(),
		GCF: &gcf.Options{Token: "tok"}, OpenFaaS: &openfaas.Options{Password: "pw", Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop()

	src, err := pack.GCFSource(ctx, filepath.Join(root, "functions", "gcf"), root)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := pack.BuildGo(ctx, filepath.Join(root, "functions", "openfaas"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g, _ := gcfclient.New(ctx, gcfclient.Options{Endpoint: f.URL + "/", Project: "p", Region: "us-central1", Token: "tok"})
	o, _ := ofclient.New(ofclient.Options{Gateway: f.URL, User: "admin", Password: "pw"})
	deploy := func() {
		t.Helper()
		if err := g.Deploy(ctx, faas.Function{Name: "nodeinfo", Code: src, Kind: "go122", Timeout: 2 * time.Second}); err != nil {
			t.Fatal(err)
		}
		if err := o.Deploy(ctx, faas.Function{Name: "nodeinfo", Image: "file://" + bin}); err != nil {
			t.Fatal(err)
		}
	}
	deploy()

	setFaults := func(auth func(*http.Request), fs faults.Faults) int {
		body, _ := json.Marshal(fs)
		req, _ := http.NewRequest(http.MethodPut, f.URL+fabric.FaultsPath, bytes.NewReader(body))
		auth(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer tok") }
	if code := setFaults(func(r *http.Request) { r.SetBasicAuth("admin", "wrong") }, faults.Faults{CrashRate: 1}); code != 401 {
		t.Fatalf("faults with wrong credentials: %d", code)
	}
	if code := setFaults(bearer, faults.Faults{CrashRate: 2}); code != 400 {
		t.Fatalf("a rate of 2: %d", code)
	}

	callers := map[string]faas.Caller{"gcf": g, "openfaas": o}
	tests := []struct {
		fault   faults.Faults
		wantErr error
		success bool
	}{
		{faults.Faults{ThrottleRate: 1}, faas.ErrThrottled, false},
		{faults.Faults{ServerErrorRate: 1}, faas.ErrUnavailable, false},
		{faults.Faults{CrashRate: 1}, nil, false},
		{faults.Faults{ErrorRate: 1}, nil, false},
		{faults.Faults{HangRate: 1}, nil, false},
		{faults.Faults{}, nil, true},
		{faults.Faults{DeleteRate: 1}, faas.ErrFunctionMissing, false},
	}
	for _, tc := range tests {
		if code := setFaults(bearer, tc.fault); code != 200 {
			t.Fatalf("set %+v: %d", tc.fault, code)
		}
		for name, c := range callers {
			act, err := c.Call(ctx, "nodeinfo", map[string]string{})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("%s under %+v: %v, want %v", name, tc.fault, err, tc.wantErr)
				}
				continue
			}
			if err != nil || act.Success != tc.success {
				t.Errorf("%s under %+v: %+v %v", name, tc.fault, act, err)
			}
		}
	}
	// After the injected deletions both functions are really gone.
	setFaults(bearer, faults.Faults{})
	for name, c := range callers {
		if _, err := c.Call(ctx, "nodeinfo", nil); !errors.Is(err, faas.ErrFunctionMissing) {
			t.Errorf("%s after deletion: %v", name, err)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, f.URL+fabric.FaultsPath, nil)
	req.SetBasicAuth("admin", "pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var status faults.Status
	if err := json.NewDecoder(resp.Body).Decode(&status); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if status.Injected[faults.Throttle] != 2 || status.Injected[faults.Delete] != 2 || status.Injected[faults.Hang] != 2 {
		t.Errorf("injected %v", status.Injected)
	}
}

// The fabric serves Lambda's API beside the others: calls signed with its credentials
// reach it through the fabric's listener, and its invocations meet the fabric's faults
// the way Lambda fails (429, TooManyRequestsException).
func TestLambdaIsServed(t *testing.T) {
	ctx := context.Background()
	f, err := fabric.Start(ctx, fabric.Options{DataDir: t.TempDir(), Faults: faults.New(faults.Faults{ThrottleRate: 1}),
		Lambda: &lambda.Options{AccessKeyID: "AKIAFABRIC", SecretAccessKey: "secret", Region: "eu-west-1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	c := awslambda.New(awslambda.Options{Region: "eu-west-1", BaseEndpoint: aws.String(f.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIAFABRIC", "secret", "")})
	var missing *lambdatypes.ResourceNotFoundException
	if _, err := c.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("fl_client")}); !errors.As(err, &missing) {
		t.Errorf("a function never created: %v, want ResourceNotFoundException", err)
	}
	var throttled *lambdatypes.TooManyRequestsException
	if _, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("fl_client")}); !errors.As(err, &throttled) {
		t.Errorf("an invocation under a throttling rate of 1: %v, want TooManyRequestsException", err)
	}
}
