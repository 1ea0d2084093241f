package fabric

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
)

// FaultsPath reads (GET) and replaces (PUT, a faults.Faults object) the faults the
// fabric injects. It takes the credentials of any platform the fabric serves.
const FaultsPath = "/fabric/faults"

// faultsHandler serves FaultsPath to whoever holds one of admins.
func faultsHandler(inj *faults.Injector, admins core.AnyOf) http.Handler {
	return core.Guard{Credential: admins, Deny: unauthorized}.Wrap(faultsEndpoint{inj}.serve)
}

func unauthorized(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "invalid credentials", http.StatusUnauthorized)
}

// faultsEndpoint reads and replaces the faults of one injector.
type faultsEndpoint struct{ inj *faults.Injector }

func (e faultsEndpoint) serve(w http.ResponseWriter, r *http.Request) {
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
		e.inj.Set(f)
	default:
		http.Error(w, "GET or PUT", http.StatusMethodNotAllowed)
		return
	}
	data, err := e.inj.MarshalStatus()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(data)
}
