package openwhisk

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/faas"
)

func TestNewChecksTheAddress(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
		wantURL string
	}{
		{"seed placeholder host", Options{APIHost: "<ADD API HOST of OW>", Auth: "a:b"}, "not an http(s) address", ""},
		{"seed placeholder auth", Options{APIHost: "https://ow:31001", Auth: "<ADD OW_AUTH here>"}, "uuid:key", ""},
		{"no host", Options{Auth: "a:b"}, "no API host", ""},
		{"bare host gets https", Options{APIHost: "ow.example.org:31001", Auth: "a:b"}, "", "https://ow.example.org:31001/api/v1/namespaces/_/actions/f"},
		{"api path is tolerated", Options{APIHost: "http://127.0.0.1:3233/api/v1", Auth: "a:b", Namespace: "guest"}, "", "http://127.0.0.1:3233/api/v1/namespaces/guest/actions/f"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.url(actionPath("f")...); got != tc.wantURL {
				t.Errorf("url %s, want %s", got, tc.wantURL)
			}
		})
	}
}

func TestErrorsAreClassified(t *testing.T) {
	status := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		w.Write([]byte(`{"error":"from the server","code":"x"}`))
	}))
	defer srv.Close()
	c, err := New(Options{APIHost: srv.URL, Auth: "uuid:secret-key"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		status int
		want   error
	}{
		{404, faas.ErrFunctionMissing},
		{429, faas.ErrThrottled},
		{503, faas.ErrUnavailable},
		{401, faas.ErrRejected},
		{413, faas.ErrRejected},
	}
	for _, tc := range tests {
		status = tc.status
		_, err := c.Invoke(context.Background(), "f", nil)
		if !errors.Is(err, tc.want) {
			t.Errorf("HTTP %d: %v, want %v", tc.status, err, tc.want)
		}
		if err != nil && (!strings.Contains(err.Error(), "from the server") || strings.Contains(err.Error(), "secret-key")) {
			t.Errorf("HTTP %d message: %v", tc.status, err)
		}
	}
	// A 404 while polling means "not finished yet", and removing a missing action is fine.
	status = 404
	if _, err := c.GetActivation(context.Background(), "abc"); !errors.Is(err, faas.ErrNotReady) {
		t.Errorf("poll 404: %v", err)
	}
	if err := c.Remove(context.Background(), "f"); err != nil {
		t.Errorf("remove missing: %v", err)
	}
}

// The action's "updated" (Unix milliseconds) is when it was last put: what tells an
// activation of an earlier deployment from one still running.
func TestDeploymentReadsWhenTheActionWasPut(t *testing.T) {
	body := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if body == "" {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"The requested resource does not exist."}`))
			return
		}
		w.Write([]byte(body))
	}))
	defer srv.Close()
	c, err := New(Options{APIHost: srv.URL, Auth: "uuid:key", Namespace: "guest"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		body string
		want faas.Deployment
	}{
		{"", faas.Deployment{}},
		{`{"namespace":"guest","name":"f","version":"0.0.2","updated":1795834800123}`, faas.Deployment{Exists: true, Updated: time.UnixMilli(1795834800123)}},
		{`{"namespace":"guest","name":"f","version":"0.0.1"}`, faas.Deployment{Exists: true}},
	}
	for _, tc := range tests {
		body = tc.body
		got, err := c.Deployment(context.Background(), "f")
		if err != nil || got.Exists != tc.want.Exists || !got.Updated.Equal(tc.want.Updated) {
			t.Errorf("body %q: %+v, %v; want %+v", tc.body, got, err, tc.want)
		}
	}
}
