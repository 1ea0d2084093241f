package core

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func request(basic []string, header map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if basic != nil {
		r.SetBasicAuth(basic[0], basic[1])
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	return r
}

func TestCredentials(t *testing.T) {
	tests := []struct {
		name  string
		cred  Credential
		basic []string
		hdr   map[string]string
		want  bool
	}{
		{"basic, right", Basic{"uuid:key"}, []string{"uuid", "key"}, nil, true},
		{"basic, wrong key", Basic{"uuid:key"}, []string{"uuid", "nope"}, nil, false},
		{"basic, none given", Basic{"uuid:key"}, nil, nil, false},
		{"basic, a colon in the password", Basic{"admin:p:w"}, []string{"admin", "p:w"}, nil, true},
		{"basic, empty secret admits nobody", Basic{""}, []string{"", ""}, nil, false},
		{"basic, bearer instead", Basic{"uuid:key"}, nil, map[string]string{"Authorization": "Bearer uuid:key"}, false},
		{"bearer, right", Bearer{"tok"}, nil, map[string]string{"Authorization": "Bearer tok"}, true},
		{"bearer, wrong", Bearer{"tok"}, nil, map[string]string{"Authorization": "Bearer tik"}, false},
		{"bearer, no scheme", Bearer{"tok"}, nil, map[string]string{"Authorization": "tok"}, false},
		{"bearer, none given", Bearer{"tok"}, nil, nil, false},
		{"bearer, empty token admits nobody", Bearer{""}, nil, map[string]string{"Authorization": "Bearer "}, false},
		{"secret, right", Secret{"X-Require-Whisk-Auth", "s3cret"}, nil, map[string]string{"X-Require-Whisk-Auth": "s3cret"}, true},
		{"secret, wrong", Secret{"X-Require-Whisk-Auth", "s3cret"}, nil, map[string]string{"X-Require-Whisk-Auth": "guess"}, false},
		{"secret, other header", Secret{"X-Require-Whisk-Auth", "s3cret"}, nil, map[string]string{"X-Other": "s3cret"}, false},
		{"secret, empty admits nobody", Secret{"X-Require-Whisk-Auth", ""}, nil, nil, false},
		{"any of, the second", AnyOf{Basic{"a:b"}, Bearer{"tok"}}, nil, map[string]string{"Authorization": "Bearer tok"}, true},
		{"any of, the first", AnyOf{Basic{"a:b"}, Bearer{"tok"}}, []string{"a", "b"}, nil, true},
		{"any of, none", AnyOf{Basic{"a:b"}, Bearer{"tok"}}, []string{"a", "c"}, nil, false},
		{"any of nothing", AnyOf{}, []string{"a", "b"}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cred.Admits(request(tc.basic, tc.hdr)); got != tc.want {
				t.Errorf("Admits = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestGuard(t *testing.T) {
	g := Guard{Credential: Basic{"u:p"}, Deny: func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "go away", http.StatusTeapot)
	}}
	h := g.Wrap(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("inside")) })
	tests := []struct {
		name     string
		basic    []string
		wantCode int
		wantBody string
	}{
		{"admitted", []string{"u", "p"}, http.StatusOK, "inside"},
		{"denied in the platform's shape", []string{"u", "x"}, http.StatusTeapot, "go away\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h(w, request(tc.basic, nil))
			if w.Code != tc.wantCode || w.Body.String() != tc.wantBody {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body.String(), tc.wantCode, tc.wantBody)
			}
		})
	}
}
