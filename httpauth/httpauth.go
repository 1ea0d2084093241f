// Package httpauth checks the bearer tokens that guard every HTTP endpoint FedKeeper
// serves (metrics, health, the embedded Temporal's Web UI and frontend). It is its own
// small package so that a worker's endpoints need not link the Temporal server.
package httpauth

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
)

// Valid reports whether an Authorization header value is "Bearer TOKEN" for token,
// comparing in constant time. An empty token admits nobody.
func Valid(header, token string) bool {
	got, ok := strings.CutPrefix(header, "Bearer ")
	return ok && token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// Require serves next only to requests bearing token and answers others 401 with a
// challenge naming realm and what is missing.
func Require(token, realm, what string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Valid(r.Header.Get("Authorization"), token) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q", realm))
			http.Error(w, what, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ValidForBrowser reports whether a request carries token as a bearer token or as
// the password of HTTP basic authentication (any user name): what a browser's login
// prompt sends. It compares in constant time; an empty token admits nobody.
func ValidForBrowser(r *http.Request, token string) bool {
	if _, password, ok := r.BasicAuth(); ok && token != "" && subtle.ConstantTimeCompare([]byte(password), []byte(token)) == 1 {
		return true
	}
	return Valid(r.Header.Get("Authorization"), token)
}

// RequireForBrowser serves next only to requests ValidForBrowser admits and asks the
// others' browsers for the token as a password, saying in the body where to find it.
func RequireForBrowser(token, realm, where string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ValidForBrowser(r, token) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q, charset=\"UTF-8\"", realm))
			http.Error(w, where, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
