package python

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/runtimeapi"
)

const lambdaSource = `
import os

LOADED = os.getpid()  # the module is imported once per instance


def handler(event, context):
    if event.get("fail"):
        raise ValueError("the model diverged")
    if event.get("unanswerable"):
        return {"a set": {1, 2}}
    return {"sum": event["a"] + event["b"], "pid": LOADED, "request_id": context.aws_request_id,
            "arn": context.invoked_function_arn, "remaining_ms": context.get_remaining_time_in_millis(),
            "name": context.function_name}
`

// startLambda starts the source's handler under the fabric's runtime interface
// client, as Lambda's python3.x runtime would.
func startLambda(t *testing.T, source, handler string) (*runtimeapi.Process, error) {
	t.Helper()
	if err := Require(context.Background(), DefaultInterpreter); err != nil {
		t.Fatal(err)
	}
	r, err := Install(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.py"), []byte(source), 0o600); err != nil {
		t.Fatal(err)
	}
	inst, err := LambdaHandler{r}.Start(context.Background(), core.Spec{Dir: dir, StartTimeout: time.Minute,
		Env: []string{"_HANDLER=" + handler, "LAMBDA_TASK_ROOT=" + dir, "AWS_LAMBDA_FUNCTION_NAME=fl_client"}})
	if err != nil {
		return nil, err
	}
	p := inst.(*runtimeapi.Process)
	t.Cleanup(p.Kill)
	return p, nil
}

// A Python handler gets its event and Lambda's context, answers as JSON, keeps its
// module loaded between invocations, and reports its exceptions (and answers that are
// not JSON) as Lambda's error documents without losing the warm process.
func TestLambdaPythonHandler(t *testing.T) {
	p, err := startLambda(t, lambdaSource, "main.handler")
	if err != nil {
		t.Fatal(err)
	}
	run := func(id, event string) runtimeapi.Response {
		t.Helper()
		resp, _, err := p.Run(context.Background(), runtimeapi.Request{ID: id, FunctionARN: "arn:aws:lambda:eu-west-1:000000000000:function:fl_client",
			Payload: []byte(event)}, core.Limit{Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var first, second struct {
		Sum         int    `json:"sum"`
		PID         int    `json:"pid"`
		RequestID   string `json:"request_id"`
		ARN         string `json:"arn"`
		RemainingMS int    `json:"remaining_ms"`
		Name        string `json:"name"`
	}
	if err := json.Unmarshal(run("req-1", `{"a": 2, "b": 3}`).Payload, &first); err != nil {
		t.Fatal(err)
	}
	if first.Sum != 5 || first.RequestID != "req-1" || !strings.HasSuffix(first.ARN, ":function:fl_client") || first.Name != "fl_client" ||
		first.RemainingMS < 25_000 || first.RemainingMS > 30_000 {
		t.Errorf("first answer %+v", first)
	}
	failed := run("req-2", `{"fail": true}`)
	if failed.Error == nil || failed.Error.Type != "ValueError" || failed.Error.Message != "the model diverged" ||
		!strings.Contains(string(failed.Payload), `"stackTrace"`) {
		t.Errorf("an exception: %+v %s", failed.Error, failed.Payload)
	}
	if bad := run("req-3", `{"unanswerable": true}`); bad.Error == nil || bad.Error.Type != "Runtime.MarshalError" {
		t.Errorf("an answer that is not JSON: %+v", bad.Error)
	}
	if err := json.Unmarshal(run("req-4", `{"a": 1, "b": 1}`).Payload, &second); err != nil {
		t.Fatal(err)
	}
	if second.Sum != 2 || second.RequestID != "req-4" || second.PID != first.PID {
		t.Errorf("after the errors: %+v, want the same warm instance as %d", second, first.PID)
	}
}

// A handler whose module cannot be imported, or that is not in it, fails the
// instance's init with Lambda's error types.
func TestLambdaPythonInitErrors(t *testing.T) {
	for _, tc := range []struct {
		source, handler, errorType string
	}{
		{"import not_a_module_here\n", "main.handler", "Runtime.ImportModuleError"},
		{"x = 1\n", "main.handler", "Runtime.HandlerNotFound"},
		{lambdaSource, "handler", "Runtime.MalformedHandlerName"},
	} {
		t.Run(tc.errorType, func(t *testing.T) {
			_, err := startLambda(t, tc.source, tc.handler)
			if !errors.Is(err, runtimeapi.ErrInit) || !strings.Contains(err.Error(), tc.errorType) {
				t.Errorf("start: %v, want an init error %s", err, tc.errorType)
			}
		})
	}
}
