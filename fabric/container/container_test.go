package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/functions/actionloop"
)

// TestMain doubles as the function: started as a container, this binary behaves as
// CONTAINER_TEST_MODE says.
func TestMain(m *testing.M) {
	switch os.Getenv("CONTAINER_TEST_MODE") {
	case "":
		os.Exit(m.Run())
	case "serve":
		if err := actionloop.Serve(serve); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case "exit":
		fmt.Fprintln(os.Stderr, "no luck today")
		os.Exit(3)
	case "bad-ack":
		fmt.Fprintln(os.NewFile(3, "results"), `{"ok":false}`)
		select {}
	case "mute":
		select {}
	}
}

// serve answers with its deadline and parameters, or sleeps when asked to.
func serve(ctx context.Context, params json.RawMessage) (any, error) {
	var p struct{ Sleep bool }
	_ = json.Unmarshal(params, &p)
	if p.Sleep {
		time.Sleep(time.Minute)
	}
	deadline, _ := ctx.Deadline()
	return map[string]any{"deadline": deadline.UnixMilli(), "params": params}, nil
}

func spec(mode string, startTimeout time.Duration) core.Spec {
	return core.Spec{Path: os.Args[0], Dir: os.TempDir(), Env: []string{"CONTAINER_TEST_MODE=" + mode}, StartTimeout: startTimeout}
}

func TestStart(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		spec     core.Spec
		wantIs   error
		wantText string
	}{
		{"acknowledged", context.Background(), spec("serve", time.Minute), nil, ""},
		{"exits during start-up", context.Background(), spec("exit", time.Minute), ErrExited, "no luck today"},
		{"never acknowledges", context.Background(), spec("mute", 200*time.Millisecond), core.ErrTimeout, "during initialisation (200ms)"},
		{"acknowledges wrongly", context.Background(), spec("bad-ack", time.Minute), nil, `bad acknowledgement "{\"ok\":false}"`},
		{"the caller gave up", cancelled, spec("mute", time.Minute), context.Canceled, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inst, err := Runtime{}.Start(tc.ctx, tc.spec)
			if tc.wantIs == nil && tc.wantText == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !inst.Alive() {
					t.Error("a started container is not alive")
				}
				inst.Kill()
				return
			}
			if inst != nil {
				inst.Kill()
			}
			if err == nil {
				t.Fatal("started, want an error")
			}
			if (tc.wantIs != nil && !errors.Is(err, tc.wantIs)) || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q, want %v containing %q", err, tc.wantIs, tc.wantText)
			}
		})
	}
}

func TestRun(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		params    string
		killFirst bool
		wantIs    error
		wantAlive bool
	}{
		{"answers", context.Background(), `{"x":1}`, false, nil, true},
		{"past its time limit", context.Background(), `{"Sleep":true}`, false, core.ErrTimeout, false},
		{"killed before the request", context.Background(), `{"x":1}`, true, ErrExited, false},
		{"the caller gave up", cancelled, `{"x":1}`, false, context.Canceled, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Start(context.Background(), spec("serve", time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Kill()
			if tc.killFirst {
				c.Kill()
			}
			limit := core.Limit{Timeout: 500 * time.Millisecond, Deadline: time.Now().Add(time.Hour).Truncate(time.Millisecond)}
			result, _, err := c.Run(tc.ctx, Request{Value: json.RawMessage(tc.params), ActivationID: "a1"}, limit)
			if !errors.Is(err, tc.wantIs) || (tc.wantIs == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tc.wantIs)
			}
			if c.Alive() != tc.wantAlive {
				t.Errorf("alive %v after the run, want %v", c.Alive(), tc.wantAlive)
			}
			if tc.wantIs != nil {
				return
			}
			var got struct {
				Deadline int64
				Params   json.RawMessage
			}
			if err := json.Unmarshal(result, &got); err != nil || got.Deadline != limit.Deadline.UnixMilli() || string(got.Params) != tc.params {
				t.Errorf("result %s, want the deadline %d and the parameters %s", result, limit.Deadline.UnixMilli(), tc.params)
			}
		})
	}
}
