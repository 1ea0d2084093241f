package fabric

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"

	"github.com/fedkeeper/fedkeeper/fabric/faults"
)

// FaultsPath reads (GET) and replaces (PUT, a faults.Faults object) the faults the
// fabric injects. It takes the credentials of any platform the fabric serves.
const FaultsPath = "/fabric/faults"

// credential checks one platform's way of authenticating a request.
type credential func(r *http.Request) bool

func basicCredential(userPass string) credential {
	want := []byte(userPass)
	return func(r *http.Request) bool {
		user, pass, ok := r.BasicAuth()
		return ok && userPass != "" && subtle.ConstantTimeCompare([]byte(user+":"+pass), want) == 1
	}
}

func bearerCredential(token string) credential {
	want := []byte("Bearer " + token)
	return func(r *http.Request) bool {
		return token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) == 1
	}
}

func faultsHandler(inj *faults.Injector, creds []credential) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allowed := false
		for _, ok := range creds {
			allowed = allowed || ok(r)
		}
		if !allowed {
			http.Error(w, "invalid credentials", http.StatusUnauthorized)
			return
		}
		switch r.Method {
		case http.MethodGet:
		case http.MethodPut:
			var f faults.Faults
			body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
			if err == nil {
				err = json.Unmarshal(body, &f)
			}
			if err == nil {
				err = f.Check()
			}
			if err != nil {
				http.Error(w, "invalid faults: "+err.Error(), http.StatusBadRequest)
				return
			}
			inj.Set(f)
		default:
			http.Error(w, "GET or PUT", http.StatusMethodNotAllowed)
			return
		}
		data, err := inj.MarshalStatus()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(data)
	})
}
