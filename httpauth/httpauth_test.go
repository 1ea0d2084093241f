package httpauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRequire(t *testing.T) {
	h := Require("s3cret", "test", "want the token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("inside"))
	}))
	for _, tc := range []struct {
		name, header string
		want         int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"wrong token", "Bearer nope", http.StatusUnauthorized},
		{"basic instead of bearer", "Basic czNjcmV0", http.StatusUnauthorized},
		{"token without scheme", "s3cret", http.StatusUnauthorized},
		{"right token", "Bearer s3cret", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d", w.Code, tc.want)
			}
			if tc.want == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") != `Bearer realm="test"` {
				t.Errorf("challenge %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
	if Valid("Bearer ", "") {
		t.Error("an empty token admitted an empty bearer")
	}
}

func TestRequireForBrowser(t *testing.T) {
	h := RequireForBrowser("s3cret", "dash", "the password is in token.file", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("inside"))
	}))
	for _, tc := range []struct {
		name string
		set  func(*http.Request)
		want int
	}{
		{"nothing", func(*http.Request) {}, http.StatusUnauthorized},
		{"basic, wrong password", func(r *http.Request) { r.SetBasicAuth("me", "nope") }, http.StatusUnauthorized},
		{"basic, the token as user name", func(r *http.Request) { r.SetBasicAuth("s3cret", "") }, http.StatusUnauthorized},
		{"basic, empty password", func(r *http.Request) { r.SetBasicAuth("me", "") }, http.StatusUnauthorized},
		{"bearer, wrong", func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }, http.StatusUnauthorized},
		{"token in the query", func(r *http.Request) { r.URL.RawQuery = "token=s3cret" }, http.StatusUnauthorized},
		{"basic, any user", func(r *http.Request) { r.SetBasicAuth("anyone", "s3cret") }, http.StatusOK},
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret") }, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			tc.set(r)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d", w.Code, tc.want)
			}
			if tc.want == http.StatusUnauthorized && (w.Header().Get("WWW-Authenticate") != `Basic realm="dash", charset="UTF-8"` || !strings.Contains(w.Body.String(), "token.file")) {
				t.Errorf("challenge %q, body %q", w.Header().Get("WWW-Authenticate"), w.Body.String())
			}
		})
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth("x", "")
	if ValidForBrowser(r, "") {
		t.Error("an empty token admitted an empty password")
	}
}
