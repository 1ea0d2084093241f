package core

import (
	"crypto/subtle"
	"net/http"

	"github.com/fedkeeper/fedkeeper/httpauth"
)

// A Credential admits the requests that carry one platform's kind of authentication.
// Every comparison takes constant time, and an empty secret admits nobody.
type Credential interface {
	Admits(r *http.Request) bool
}

// Basic admits HTTP basic authentication whose "user:password" is UserPass (OpenWhisk's
// uuid:key, the OpenFaaS gateway's user and password). What a client sends always holds
// the colon, so an empty UserPass admits nobody.
type Basic struct{ UserPass string }

// Admits implements Credential.
func (b Basic) Admits(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	return ok && equal(user+":"+pass, b.UserPass)
}

// Bearer admits "Authorization: Bearer Token", as Google's APIs take an OAuth token. The
// check is httpauth's, the one every other FedKeeper endpoint uses.
type Bearer struct{ Token string }

// Admits implements Credential.
func (b Bearer) Admits(r *http.Request) bool {
	return httpauth.Valid(r.Header.Get("Authorization"), b.Token)
}

// Secret admits a request whose Header carries Value, as OpenWhisk web actions take
// their require-whisk-auth secret in X-Require-Whisk-Auth.
type Secret struct{ Header, Value string }

// Admits implements Credential.
func (s Secret) Admits(r *http.Request) bool {
	return s.Value != "" && equal(r.Header.Get(s.Header), s.Value)
}

// AnyOf admits what any of its credentials admits: the fabric's own endpoints take the
// credentials of every platform it serves.
type AnyOf []Credential

// Admits implements Credential.
func (a AnyOf) Admits(r *http.Request) bool {
	for _, c := range a {
		if c.Admits(r) {
			return true
		}
	}
	return false
}

func equal(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// Guard serves only the requests its Credential admits; Deny answers the others, in the
// platform's own shape (each platform words its 401 differently).
type Guard struct {
	Credential Credential
	Deny       http.HandlerFunc
}

// Wrap guards next.
func (g Guard) Wrap(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !g.Credential.Admits(r) {
			g.Deny(w, r)
			return
		}
		next(w, r)
	}
}
