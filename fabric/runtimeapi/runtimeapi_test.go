package runtimeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/fedkeeper/fedkeeper/fabric/core"
)

// TestMain doubles as the function: started with BOOTSTRAP set, this binary is a
// provided.al2023 bootstrap on aws-lambda-go's own runtime loop ("go"), or a runtime
// that speaks the API by hand ("init-error", "exit", "wrong-id").
func TestMain(m *testing.M) {
	switch os.Getenv("BOOTSTRAP") {
	case "":
		os.Exit(m.Run())
	case "go":
		lambda.Start(handle)
	case "init-error":
		post(os.Getenv("AWS_LAMBDA_RUNTIME_API"), pathInitError, `{"errorMessage":"no model file","errorType":"Runtime.ImportModuleError"}`)
		os.Exit(1)
	case "exit":
		fmt.Fprintln(os.Stderr, "bootstrap: cannot start")
		os.Exit(3)
	case "wrong-id":
		wrongID()
	}
}

type order struct {
	Do    string `json:"do"`
	Sleep int    `json:"sleep_ms,omitempty"`
}

type answer struct {
	PID         int    `json:"pid"`
	RequestID   string `json:"request_id"`
	FunctionARN string `json:"function_arn"`
	DeadlineMS  int64  `json:"deadline_ms"`
	Big         string `json:"big,omitempty"`
}

func handle(ctx context.Context, o order) (answer, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	a := answer{PID: os.Getpid(), RequestID: lc.AwsRequestID, FunctionARN: lc.InvokedFunctionArn, DeadlineMS: deadline.UnixMilli()}
	switch o.Do {
	case "fail":
		return a, errors.New("the model diverged")
	case "panic":
		panic("out of memory, as it were")
	case "sleep":
		time.Sleep(time.Duration(o.Sleep) * time.Millisecond) // the work that runs too long
	case "big":
		a.Big = strings.Repeat("x", MaxResponse)
	}
	return a, nil
}

// wrongID answers its first event for another request id first, then for its own with
// the status the wrong one got.
func wrongID() {
	base := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API")
	resp, err := http.Get(base + pathNext)
	if err != nil {
		os.Exit(1)
	}
	id := resp.Header.Get(headerRequestID)
	resp.Body.Close()
	status := post(os.Getenv("AWS_LAMBDA_RUNTIME_API"), "/2018-06-01/runtime/invocation/not-"+id+"/response", `{}`)
	post(os.Getenv("AWS_LAMBDA_RUNTIME_API"), "/2018-06-01/runtime/invocation/"+id+"/response", fmt.Sprintf(`{"wrong_id_status":%d}`, status))
	_, _ = http.Get(base + pathNext) // waits for the next event, as a runtime does
}

func post(addr, path, body string) int {
	resp, err := http.Post("http://"+addr+path, "application/json", strings.NewReader(body))
	if err != nil {
		os.Exit(1)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func start(t *testing.T, bootstrap string) *Process {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(context.Background(), core.Spec{Path: self, Dir: t.TempDir(), Env: []string{"BOOTSTRAP=" + bootstrap}, StartTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

func invoke(t *testing.T, p *Process, id string, o order, timeout time.Duration) (Response, answer, error) {
	t.Helper()
	payload, _ := json.Marshal(o)
	resp, _, err := p.Run(context.Background(), Request{ID: id, FunctionARN: "arn:aws:lambda:eu-west-1:000000000000:function:fl_client", Payload: payload},
		core.Limit{Timeout: timeout})
	var a answer
	if err == nil && resp.Error == nil {
		if err := json.Unmarshal(resp.Payload, &a); err != nil {
			t.Fatalf("answer %q: %v", resp.Payload, err)
		}
	}
	return resp, a, err
}

// aws-lambda-go's runtime loop gets each event with its request id, function ARN and
// deadline, answers it, and serves the next from the same warm process.
func TestGoBootstrapServesEventsWarm(t *testing.T) {
	p := start(t, "go")
	before := time.Now()
	_, first, err := invoke(t, p, "req-1", order{Do: "echo"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if first.RequestID != "req-1" || first.FunctionARN != "arn:aws:lambda:eu-west-1:000000000000:function:fl_client" {
		t.Errorf("the handler's context: %+v", first)
	}
	if d := time.UnixMilli(first.DeadlineMS).Sub(before); d < 9*time.Second || d > 11*time.Second {
		t.Errorf("the handler's deadline is %v after the invocation, want the 10 s limit", d)
	}
	if rss := p.PeakRSS(); rss < 1<<20 || rss > 1<<30 {
		t.Errorf("peak RSS %d bytes: want the process's, between 1 MiB and 1 GiB", rss)
	}
	_, second, err := invoke(t, p, "req-2", order{Do: "echo"}, 10*time.Second)
	if err != nil || second.RequestID != "req-2" || second.PID != first.PID {
		t.Errorf("second invocation %+v (%v): want req-2 from the same process %d", second, err, first.PID)
	}
}

// A handler's error fails its invocation with the error document and keeps the
// process warm; a panic fails it too, and the process exits, as on Lambda.
func TestFunctionErrorsAndPanics(t *testing.T) {
	p := start(t, "go")
	resp, _, err := invoke(t, p, "req-1", order{Do: "fail"}, 10*time.Second)
	if err != nil || resp.Error == nil || resp.Error.Message != "the model diverged" || resp.Error.Type != "errorString" {
		t.Fatalf("%+v %+v (%v): want errorString: the model diverged", resp, resp.Error, err)
	}
	var doc map[string]any
	if json.Unmarshal(resp.Payload, &doc) != nil || doc["errorMessage"] != "the model diverged" {
		t.Errorf("error document %s", resp.Payload)
	}
	if _, _, err := invoke(t, p, "req-2", order{Do: "echo"}, 10*time.Second); err != nil {
		t.Fatalf("after a function error: %v", err)
	}
	resp, _, err = invoke(t, p, "req-3", order{Do: "panic"}, 10*time.Second)
	if err != nil || resp.Error == nil || !strings.Contains(resp.Error.Message, "out of memory") {
		t.Fatalf("panic: %+v (%v)", resp, err)
	}
	<-p.proc.Exited()
	if _, _, err := invoke(t, p, "req-4", order{Do: "echo"}, 10*time.Second); !errors.Is(err, ErrExited) {
		t.Errorf("after a panic: %v, want ErrExited", err)
	}
}

// An invocation past its limit is timed out and its process destroyed; an answer past
// 6 MB fails the invocation.
func TestTimeoutAndTooLargeAnswer(t *testing.T) {
	p := start(t, "go")
	if _, _, err := invoke(t, p, "req-1", order{Do: "sleep", Sleep: 5000}, 300*time.Millisecond); !errors.Is(err, core.ErrTimeout) {
		t.Fatalf("a 5 s run under a 0.3 s limit: %v, want a timeout", err)
	}
	if p.Alive() {
		t.Error("the timed-out process is alive")
	}
	p = start(t, "go")
	resp, _, err := invoke(t, p, "req-1", order{Do: "big"}, 30*time.Second)
	if err != nil || resp.Error == nil || resp.Error.Type != FunctionErrorTooLarge {
		t.Errorf("a 6 MB answer: %+v (%v), want %s", resp.Error, err, FunctionErrorTooLarge)
	}
}

// A runtime that reports an init error, or exits before asking for an event, fails its
// start with what it said.
func TestInitFailures(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		bootstrap string
		want      error
		says      string
	}{
		{"init-error", ErrInit, "Runtime.ImportModuleError: no model file"},
		{"exit", ErrExited, "bootstrap: cannot start"},
	} {
		t.Run(tc.bootstrap, func(t *testing.T) {
			_, err := Start(context.Background(), core.Spec{Path: self, Dir: t.TempDir(), Env: []string{"BOOTSTRAP=" + tc.bootstrap}, StartTimeout: 30 * time.Second})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("start: %v, want %v saying %q", err, tc.want, tc.says)
			}
		})
	}
}

// An answer for a request id that is not in flight is refused with 400 and changes
// nothing; the invocation's own answer then goes through.
func TestAnswerForAnotherRequestIsRefused(t *testing.T) {
	p := start(t, "wrong-id")
	resp, _, err := p.Run(context.Background(), Request{ID: "req-1", Payload: []byte(`{}`)}, core.Limit{Timeout: 10 * time.Second})
	if err != nil || resp.Error != nil || string(resp.Payload) != `{"wrong_id_status":400}` {
		t.Errorf("%s %+v (%v): want the invocation's own answer, after a 400 for the other id", resp.Payload, resp.Error, err)
	}
}
