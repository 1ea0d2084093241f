package gcf

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Options{Token: "tok", BaseURL: "http://fabric", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func (s *Server) uploadURL(t *testing.T) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/projects/p/locations/l/functions:generateUploadUrl", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer tok")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var out struct {
		UploadURL string `json:"uploadUrl"`
	}
	if rec.Code != 200 || decode(rec.Body.Bytes(), &out) != nil {
		t.Fatalf("generateUploadUrl: %d %s", rec.Code, rec.Body)
	}
	return out.UploadURL
}

func (s *Server) put(uploadURL string) int {
	req := httptest.NewRequest(http.MethodPut, strings.TrimPrefix(uploadURL, "http://fabric"), strings.NewReader("zip bytes"))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec.Code
}

// A signed upload URL takes one upload, only with the fabric's own signature and
// within its expiry; the deploy takes the upload away, and uploads nobody took are
// deleted when they expire.
func TestUploadURLsAreSignedSpentAndSwept(t *testing.T) {
	s := newTestServer(t)
	good := s.uploadURL(t)
	u, _ := url.Parse(good)
	forged := *u
	q := forged.Query()
	q.Set("Signature", strings.Repeat("0", len(q.Get("Signature"))))
	forged.RawQuery = q.Encode()
	extended := *u
	q = extended.Query()
	q.Set("Expires", "99999999999")
	extended.RawQuery = q.Encode()
	tests := []struct {
		name, url string
		want      int
	}{
		{"a forged signature", forged.String(), http.StatusForbidden},
		{"a later expiry than signed", extended.String(), http.StatusForbidden},
		{"the signed URL", good, http.StatusOK},
		{"the signed URL again", good, http.StatusForbidden},
	}
	for _, tc := range tests {
		if got := s.put(tc.url); got != tc.want {
			t.Errorf("%s: HTTP %d, want %d", tc.name, got, tc.want)
		}
	}
	rec := httptest.NewRecorder()
	if data, ok := s.takeUpload(rec, good); !ok || string(data) != "zip bytes" {
		t.Fatalf("the deploy's take: %q %v", data, ok)
	}
	if _, ok := s.takeUpload(httptest.NewRecorder(), good); ok {
		t.Error("an upload was taken twice")
	}
	if len(s.uploads) != 0 {
		t.Errorf("%d uploads kept after the deploy took its own", len(s.uploads))
	}

	// Past its expiry a URL takes nothing, and what was uploaded is gone.
	late, unused := s.uploadURL(t), s.uploadURL(t)
	if s.put(unused) != http.StatusOK {
		t.Fatal("upload")
	}
	start := time.Now()
	s.now = func() time.Time { return start.Add(uploadValidity + time.Minute) }
	if got := s.put(late); got != http.StatusBadRequest {
		t.Errorf("an expired URL: HTTP %d, want 400", got)
	}
	if tokens := slices.Collect(maps.Keys(s.uploads)); len(tokens) != 0 {
		t.Errorf("expired uploads kept: %v", tokens)
	}
}

// A build sees none of the fabric's credentials, only what the go command needs.
func TestBuildEnvironmentIsMinimal(t *testing.T) {
	env := buildEnv([]string{"PATH=/usr/bin", "HOME=/root", "GOCACHE=/c", "GOPROXY=https://proxy", "FEDKEEPER_TOKEN_KEY=k",
		"AWS_SECRET_ACCESS_KEY=s", "FEDKEEPER_TEMPORAL_API_KEY=t", "OW_AUTH=a:b"})
	for _, want := range []string{"PATH=/usr/bin", "HOME=/root", "GOCACHE=/c", "GOPROXY=https://proxy", "CGO_ENABLED=0"} {
		if !slices.Contains(env, want) {
			t.Errorf("%s missing from %v", want, env)
		}
	}
	for _, kv := range env {
		if strings.Contains(kv, "KEY") || strings.Contains(kv, "AUTH") {
			t.Errorf("the build sees %s", kv)
		}
	}
}

func decode(data []byte, v any) error { return json.Unmarshal(data, v) }
