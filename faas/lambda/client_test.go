package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	golambda "github.com/aws/aws-lambda-go/lambda"

	"github.com/fedkeeper/fedkeeper/faas"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	fabriclambda "github.com/fedkeeper/fedkeeper/fabric/lambda"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/pack"
)

// TestMain doubles as a provided.al2023 bootstrap on aws-lambda-go when the fabric
// starts it under the Runtime API.
func TestMain(m *testing.M) {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		golambda.Start(handle)
		return
	}
	os.Exit(m.Run())
}

type event struct {
	Fail    string `json:"fail,omitempty"`
	SleepMS int    `json:"sleep_ms,omitempty"`
	Pad     string `json:"pad,omitempty"`
}

func handle(ctx context.Context, e event) (map[string]any, error) {
	if e.Fail != "" {
		return nil, errors.New(e.Fail)
	}
	// Work that may outlast the function's time limit, and does not look at the
	// context's deadline: Lambda must end it.
	time.Sleep(time.Duration(e.SleepMS) * time.Millisecond)
	return map[string]any{"version": os.Getenv("VERSION"), "token_key": os.Getenv(deployment.TokenKey.Env())}, nil
}

const (
	testKey, testSecret, testRegion = "AKIAADAPTERTEST", "adapter-test-secret", "eu-central-1"
	testRole                        = "arn:aws:iam::000000000000:role/fedkeeper-fl"
)

// fabricLambda serves the fabric's Lambda over real HTTP and returns its URL and the
// fault injector its invocations meet.
func fabricLambda(t *testing.T) (string, *faults.Injector) {
	t.Helper()
	inj := faults.New(faults.Faults{Seed: 7})
	s, err := fabriclambda.New(fabriclambda.Options{AccessKeyID: testKey, SecretAccessKey: testSecret, Region: testRegion,
		DataDir: t.TempDir(), Faults: inj})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL, inj
}

func newClient(t *testing.T, url string, edit func(*Options)) *Client {
	t.Helper()
	opts := Options{Region: testRegion, Endpoint: url, Role: testRole, AccessKeyID: testKey, SecretAccessKey: testSecret}
	if edit != nil {
		edit(&opts)
	}
	c, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// bootstrapZip is this test binary as a provided.al2023 function's zip.
func bootstrapZip(t *testing.T) []byte {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	zip, err := pack.ZipExecutable("bootstrap", data)
	if err != nil {
		t.Fatal(err)
	}
	return zip
}

func goFunction(t *testing.T, version string) faas.Function {
	return faas.Function{Name: "fl_client", Code: bootstrapZip(t), Kind: "provided.al2023", MemoryMB: 256, Timeout: 2 * time.Second,
		Env: map[string]string{"VERSION": version}, Secrets: map[deployment.Setting]string{deployment.TokenKey: "k3y"}}
}

func result(t *testing.T, act faas.Activation) map[string]string {
	t.Helper()
	var out map[string]string
	if err := json.Unmarshal(act.Result, &out); err != nil {
		t.Fatalf("result %s: %v", act.Result, err)
	}
	return out
}

// Deploying creates the function with its settings and secrets; the first call is a
// cold start whose init, billed duration and memory come from the REPORT line, the
// second a warm one; deploying again updates code and configuration in place.
func TestDeployCallAndRedeploy(t *testing.T) {
	url, _ := fabricLambda(t)
	c := newClient(t, url, nil)
	ctx := context.Background()
	if err := c.Deploy(ctx, goFunction(t, "v1")); err != nil {
		t.Fatal(err)
	}
	first, err := c.Deployment(ctx, "fl_client")
	if err != nil || !first.Exists || first.Updated.IsZero() {
		t.Fatalf("deployment %+v, %v: want it to exist with its LastModified", first, err)
	}
	cold, err := c.Call(ctx, "fl_client", event{})
	if err != nil {
		t.Fatal(err)
	}
	if got := result(t, cold); !cold.Success || got["version"] != "v1" || got["token_key"] != "k3y" {
		t.Fatalf("cold call %+v: %v; want v1 with its token key", cold, got)
	}
	if !cold.ColdStart || cold.InitTime <= 0 || cold.BilledDuration <= 0 || cold.MaxMemoryMB <= 0 || cold.ID == "" {
		t.Fatalf("cold call %+v: want a cold start with its init, billed duration, peak memory and request id", cold)
	}
	warm, err := c.Call(ctx, "fl_client", event{})
	if err != nil || !warm.Success || warm.ColdStart || warm.InitTime != 0 || warm.BilledDuration <= 0 {
		t.Fatalf("warm call %+v, %v: want a warm success without init", warm, err)
	}
	if err := c.Deploy(ctx, goFunction(t, "v2")); err != nil {
		t.Fatal(err)
	}
	second, err := c.Deployment(ctx, "fl_client")
	if err != nil || !second.Updated.After(first.Updated) {
		t.Fatalf("after the update %+v, %v: want a later LastModified than %v", second, err, first.Updated)
	}
	again, err := c.Call(ctx, "fl_client", event{})
	if err != nil || result(t, again)["version"] != "v2" || !again.ColdStart {
		t.Fatalf("after the update %+v, %v: want v2 on a new instance", again, err)
	}
	if err := c.Remove(ctx, "fl_client"); err != nil {
		t.Fatal(err)
	}
	if d, err := c.Deployment(ctx, "fl_client"); err != nil || d.Exists {
		t.Fatalf("after removal %+v, %v", d, err)
	}
	if err := c.Remove(ctx, "fl_client"); err != nil {
		t.Fatalf("removing a missing function: %v", err)
	}
}

// What a call can meet, as the keeper needs it classified: a function error and a
// timeout are failed activations; a missing function asks for a redeploy; a request
// over 6 MB is refused before it leaves; wrong credentials are rejected.
func TestCallOutcomes(t *testing.T) {
	url, _ := fabricLambda(t)
	c := newClient(t, url, nil)
	ctx := context.Background()
	if _, err := c.Call(ctx, "fl_client", event{}); !errors.Is(err, faas.ErrFunctionMissing) {
		t.Fatalf("calling a function never deployed: %v, want ErrFunctionMissing", err)
	}
	if err := c.Deploy(ctx, goFunction(t, "v1")); err != nil {
		t.Fatal(err)
	}
	failed, err := c.Call(ctx, "fl_client", event{Fail: "the model diverged"})
	if err != nil || failed.Success || !strings.Contains(result(t, failed)["error"], "the model diverged") {
		t.Fatalf("function error: %+v, %v: want a failed activation with the function's message", failed, err)
	}
	slow, err := c.Call(ctx, "fl_client", event{SleepMS: 10_000})
	if err != nil || slow.Success || !slow.TimedOut || !strings.Contains(result(t, slow)["error"], "Sandbox.Timedout") {
		t.Fatalf("a function past its 2 s limit: %+v, %v: want a timed-out activation", slow, err)
	}
	big := event{Pad: strings.Repeat("w", MaxPayload)}
	if _, err := c.Call(ctx, "fl_client", big); !errors.Is(err, faas.ErrRejected) || !strings.Contains(err.Error(), "6 MB") {
		t.Fatalf("a 6 MB request: %v, want it refused naming the limit", err)
	}
	forged := newClient(t, url, func(o *Options) { o.SecretAccessKey = "not-the-secret" })
	if _, err := forged.Call(ctx, "fl_client", event{}); !errors.Is(err, faas.ErrRejected) {
		t.Fatalf("a call signed with the wrong secret: %v, want ErrRejected", err)
	}
	if err := forged.Deploy(ctx, goFunction(t, "evil")); !errors.Is(err, faas.ErrRejected) {
		t.Fatalf("a deployment signed with the wrong secret: %v, want ErrRejected", err)
	}
	if got, err := c.Call(ctx, "fl_client", event{}); err != nil || result(t, got)["version"] != "v1" {
		t.Fatalf("after the forged calls %+v, %v: want v1 untouched", got, err)
	}
}

// Throttling and server errors are retried with backoff inside a call; when they
// persist, the call reports them as such, for the keeper to back off further.
func TestThrottlingIsRetriedThenReported(t *testing.T) {
	url, inj := fabricLambda(t)
	c := newClient(t, url, func(o *Options) { o.MaxAttempts, o.MaxBackoff = 8, 200*time.Millisecond })
	ctx := context.Background()
	if err := c.Deploy(ctx, goFunction(t, "v1")); err != nil {
		t.Fatal(err)
	}
	inj.Set(faults.Faults{ThrottleRate: 0.5, Seed: 3})
	for range 4 {
		if act, err := c.Call(ctx, "fl_client", event{}); err != nil || !act.Success {
			t.Fatalf("a call through 50%% throttling: %+v, %v: want the SDK's retries to get it through", act, err)
		}
	}
	if inj.Counts()[faults.Throttle] == 0 {
		t.Fatal("no call was throttled: the test proves nothing")
	}
	inj.Set(faults.Faults{ThrottleRate: 1})
	once := newClient(t, url, func(o *Options) { o.MaxAttempts, o.MaxBackoff = 2, 200*time.Millisecond })
	if _, err := once.Call(ctx, "fl_client", event{}); !errors.Is(err, faas.ErrThrottled) {
		t.Fatalf("a call throttled every time: %v, want ErrThrottled", err)
	}
	inj.Set(faults.Faults{ServerErrorRate: 1})
	if _, err := once.Call(ctx, "fl_client", event{}); !errors.Is(err, faas.ErrUnavailable) {
		t.Fatalf("a call failing on Lambda's side every time: %v, want ErrUnavailable", err)
	}
}

// Without credentials in the options, the SDK's default chain finds them as the AWS CLI
// does: in the environment, or in the shared files under a profile. Each is seen
// signing calls the fabric admits; a chain that finds the wrong secret is refused.
func TestCredentialsFromTheAWSEnvironment(t *testing.T) {
	url, _ := fabricLambda(t)
	ctx := context.Background()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true") // no instance role to fall back on here
	dir := t.TempDir()
	shared := dir + "/credentials"
	profiles := "[default]\naws_access_key_id = " + testKey + "\naws_secret_access_key = wrong\n\n" +
		"[fl]\naws_access_key_id = " + testKey + "\naws_secret_access_key = " + testSecret + "\n"
	if err := os.WriteFile(shared, []byte(profiles), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", shared)
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	for _, tc := range []struct {
		name    string
		env     map[string]string
		profile string
		ok      bool
	}{
		{"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", map[string]string{"AWS_ACCESS_KEY_ID": testKey, "AWS_SECRET_ACCESS_KEY": testSecret}, "", true},
		{"a profile of the shared credentials file", nil, "fl", true},
		{"AWS_PROFILE", map[string]string{"AWS_PROFILE": "fl"}, "", true},
		{"the default profile, with another secret", nil, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"} {
				t.Setenv(k, tc.env[k])
				if tc.env[k] == "" {
					os.Unsetenv(k)
				}
			}
			c := newClient(t, url, func(o *Options) { o.AccessKeyID, o.SecretAccessKey, o.Profile = "", "", tc.profile })
			_, err := c.Deployment(ctx, "fl_client")
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, faas.ErrRejected)) {
				t.Fatalf("GetFunction: %v, want success %v", err, tc.ok)
			}
		})
	}
}
