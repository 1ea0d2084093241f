package httpproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
)

// TestMain doubles as the function: started as a process, this binary behaves as
// HTTPPROC_TEST_MODE says.
func TestMain(m *testing.M) {
	switch os.Getenv("HTTPPROC_TEST_MODE") {
	case "":
		os.Exit(m.Run())
	case "serve":
		err := http.ListenAndServe(net.JoinHostPort("127.0.0.1", os.Getenv("PORT")), http.HandlerFunc(serve))
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	case "exit":
		fmt.Fprintln(os.Stderr, "no luck today")
		os.Exit(3)
	case "mute":
		select {}
	}
}

// serve echoes the request, or sleeps on /sleep.
func serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/sleep" {
		time.Sleep(time.Minute)
	}
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Saw-Authorization", r.Header.Get("Authorization"))
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, "%s %s %s %s", r.Method, r.URL.RequestURI(), r.Header.Get("X-Test"), body)
}

func spec(mode string, startTimeout time.Duration) core.Spec {
	return core.Spec{Path: os.Args[0], Dir: os.TempDir(), Env: []string{"HTTPPROC_TEST_MODE=" + mode}, StartTimeout: startTimeout}
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
		{"listening", context.Background(), spec("serve", time.Minute), nil, ""},
		{"exits during start-up", context.Background(), spec("exit", time.Minute), ErrExited, "no luck today"},
		{"never listens", context.Background(), spec("mute", 300*time.Millisecond), core.ErrTimeout, "not listening after 300ms"},
		{"the caller gave up", cancelled, spec("mute", time.Minute), context.Canceled, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inst, err := Runtime{}.Start(tc.ctx, tc.spec)
			if inst != nil {
				defer inst.Kill()
			}
			if tc.wantIs == nil {
				if err != nil || !inst.Alive() {
					t.Fatalf("start: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, tc.wantIs) || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %v, want %v containing %q", err, tc.wantIs, tc.wantText)
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
		path      string
		killFirst bool
		wantIs    error
		wantAlive bool
	}{
		{"answers", context.Background(), "/echo?q=1", false, nil, true},
		{"past its time limit", context.Background(), "/sleep", false, core.ErrTimeout, false},
		{"killed before the request", context.Background(), "/echo", true, ErrExited, false},
		{"the caller gave up", cancelled, "/echo", false, context.Canceled, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Start(context.Background(), spec("serve", time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Kill()
			if tc.killFirst {
				p.Kill()
			}
			req := Request{Method: http.MethodPost, Path: tc.path, Body: []byte("hello"),
				Header: http.Header{"X-Test": {"t"}, "Authorization": {"Bearer platform-secret"}}}
			resp, _, err := p.Run(tc.ctx, req, core.Limit{Timeout: 500 * time.Millisecond})
			if !errors.Is(err, tc.wantIs) || (tc.wantIs == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tc.wantIs)
			}
			if p.Alive() != tc.wantAlive {
				t.Errorf("alive %v after the run, want %v", p.Alive(), tc.wantAlive)
			}
			if tc.wantIs != nil {
				return
			}
			if want := "POST /echo?q=1 t hello"; resp.Status != http.StatusCreated || string(resp.Body) != want {
				t.Errorf("answer %d %q, want 201 %q", resp.Status, resp.Body, want)
			}
			if got := resp.Header.Get("X-Saw-Authorization"); got != "" {
				t.Errorf("the platform's credentials reached the function: %q", got)
			}
		})
	}
}
