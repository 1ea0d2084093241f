package gcf

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fabric/httpproc"
)

// Every way an execution can end reads as GCF reports it; the texts reach callers of
// the call method.
func TestVerdict(t *testing.T) {
	tests := []struct {
		name     string
		outcome  core.Outcome[httpproc.Response]
		wantIs   error
		wantText string
	}{
		{"an answer", core.Outcome[httpproc.Response]{Response: httpproc.Response{Status: 500}}, nil, ""},
		{"an injected error answers", core.Outcome[httpproc.Response]{Response: httpproc.InjectedFailure(), Fault: faults.Error}, nil, ""},
		{"a failed start-up", core.Outcome[httpproc.Response]{Err: &core.StartError{Err: fmt.Errorf("%w during start-up: oops", httpproc.ErrExited)}},
			errCrash, "function crashed: start-up failed: httpproc: the function process exited during start-up: oops"},
		{"a start-up past its limit is a crash too", core.Outcome[httpproc.Response]{Err: &core.StartError{Err: httpproc.ErrTimeout}},
			errCrash, "function crashed: start-up failed: httpproc: time limit exceeded"},
		{"a run past its limit", core.Outcome[httpproc.Response]{Err: httpproc.ErrTimeout}, errTimeout, "function execution took too long"},
		{"an injected hang", core.Outcome[httpproc.Response]{Err: fmt.Errorf("injected hang: %w", core.ErrTimeout), Fault: faults.Hang},
			errTimeout, "function execution took too long"},
		{"an injected hang cut short", core.Outcome[httpproc.Response]{Err: fmt.Errorf("injected hang: %w", context.Canceled), Fault: faults.Hang},
			errTimeout, "function execution took too long"},
		{"an injected crash", core.Outcome[httpproc.Response]{Err: fmt.Errorf("injected crash: %w", httpproc.ErrExited), Fault: faults.Crash},
			errCrash, "function crashed: an injected fault"},
		{"a process that died", core.Outcome[httpproc.Response]{Err: httpproc.ErrExited},
			errCrash, "function crashed: httpproc: the function process exited"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := verdict(tc.outcome)
			if tc.wantIs == nil {
				if err != nil {
					t.Fatalf("verdict %v, want none", err)
				}
				return
			}
			if !errors.Is(err, tc.wantIs) || err.Error() != tc.wantText {
				t.Errorf("verdict %q, want %q (%v)", err, tc.wantText, tc.wantIs)
			}
		})
	}
}
