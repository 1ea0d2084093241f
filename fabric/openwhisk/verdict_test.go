package openwhisk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/fedkeeper/fedkeeper/fabric/container"
	"github.com/fedkeeper/fedkeeper/fabric/core"
)

// Every way an activation can end reads as OpenWhisk's record says it.
func TestVerdict(t *testing.T) {
	a := &action{Limits: limits{Timeout: 500}}
	tests := []struct {
		name         string
		outcome      core.Outcome[json.RawMessage]
		wantStatus   string
		wantResult   string
		wantTimedOut bool
	}{
		{"an answer", core.Outcome[json.RawMessage]{Response: json.RawMessage(`{"ok":true}`)},
			statusSuccess, `{"ok":true}`, false},
		{"the action's own error", core.Outcome[json.RawMessage]{Response: json.RawMessage(`{"error":"boom"}`)},
			statusApplicationError, `{"error":"boom"}`, false},
		{"an injected error", core.Outcome[json.RawMessage]{Response: injectedFailure()},
			statusApplicationError, `{"error":"an injected fault: the function failed"}`, false},
		{"start-up past the time limit",
			core.Outcome[json.RawMessage]{Err: &core.StartError{Err: fmt.Errorf("%w during initialisation (500ms)", container.ErrTimeout)}},
			statusDeveloperError, `{"error":"The action exceeded its time limits of 500 milliseconds during initialization."}`, true},
		{"a start that failed",
			core.Outcome[json.RawMessage]{Err: &core.StartError{Err: fmt.Errorf("%w during initialisation: oops", container.ErrExited)}},
			statusDeveloperError, `{"error":"The action failed to initialize: container: the function process exited during initialisation: oops"}`, false},
		{"a run past the time limit", core.Outcome[json.RawMessage]{Err: container.ErrTimeout},
			statusDeveloperError, `{"error":"The action exceeded its time limits of 500 milliseconds."}`, true},
		{"an injected hang", core.Outcome[json.RawMessage]{Err: fmt.Errorf("injected hang: %w", core.ErrTimeout)},
			statusDeveloperError, `{"error":"The action exceeded its time limits of 500 milliseconds."}`, true},
		{"a process that died", core.Outcome[json.RawMessage]{Err: container.ErrExited},
			statusDeveloperError, `{"error":"The action did not produce a valid response and exited unexpectedly."}`, false},
		{"cut short by the fabric's end", core.Outcome[json.RawMessage]{Err: fmt.Errorf("injected hang: %w", context.Canceled)},
			statusDeveloperError, `{"error":"The action did not produce a valid response and exited unexpectedly."}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, result, timedOut := a.verdict(tc.outcome)
			if status != tc.wantStatus || string(result) != tc.wantResult || timedOut != tc.wantTimedOut {
				t.Errorf("verdict %q %s %v, want %q %s %v", status, result, timedOut, tc.wantStatus, tc.wantResult, tc.wantTimedOut)
			}
		})
	}
	if errors.Is(container.ErrExited, core.ErrTimeout) {
		t.Error("an exit reads as a timeout")
	}
}
