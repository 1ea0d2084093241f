package openfaas

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	fndeployment "github.com/fedkeeper/fedkeeper/functions/deployment"
)

// The gateway's secrets (/system/secrets): created, replaced and deleted by value,
// listed by name only. A function deployed with secrets gets each as a file named like
// the secret, as OpenFaaS mounts them in /var/openfaas/secrets; the fabric runs
// functions as plain processes, so the files lie in a folder of the function's own
// that only its user may read, named by FEDKEEPER_SECRETS_DIR.

type secretStore struct {
	mu     sync.Mutex
	values map[string]string
}

type secretBody struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Value     string `json:"value,omitempty"`
}

var secretName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

func (st *secretStore) routes(mux *http.ServeMux, auth func(http.HandlerFunc) http.HandlerFunc) {
	mux.HandleFunc("GET /system/secrets", auth(st.list))
	mux.HandleFunc("POST /system/secrets", auth(st.put(false)))
	mux.HandleFunc("PUT /system/secrets", auth(st.put(true)))
	mux.HandleFunc("DELETE /system/secrets", auth(st.delete))
}

func (st *secretStore) list(w http.ResponseWriter, _ *http.Request) {
	st.mu.Lock()
	out := make([]secretBody, 0, len(st.values))
	for name := range st.values {
		out = append(out, secretBody{Name: name, Namespace: Namespace})
	}
	st.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	core.WriteJSON(w, http.StatusOK, out)
}

func readSecret(w http.ResponseWriter, r *http.Request) (secretBody, bool) {
	var b secretBody
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&b); err != nil || !secretName.MatchString(b.Name) {
		http.Error(w, "a secret needs a name of lower-case letters, digits, - and .", http.StatusBadRequest)
		return b, false
	}
	return b, true
}

// put creates a secret (POST: 201, 409 when it exists) or replaces its value (PUT:
// 200, 404 when missing).
func (st *secretStore) put(replace bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, ok := readSecret(w, r)
		if !ok {
			return
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		_, exists := st.values[b.Name]
		switch {
		case replace && !exists:
			http.Error(w, "secret not found: "+b.Name, http.StatusNotFound)
		case !replace && exists:
			http.Error(w, "secret exists: "+b.Name, http.StatusConflict)
		case replace:
			st.values[b.Name] = b.Value
			w.WriteHeader(http.StatusOK)
		default:
			st.values[b.Name] = b.Value
			w.WriteHeader(http.StatusCreated)
		}
	}
}

func (st *secretStore) delete(w http.ResponseWriter, r *http.Request) {
	b, ok := readSecret(w, r)
	if !ok {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, exists := st.values[b.Name]; !exists {
		http.Error(w, "secret not found: "+b.Name, http.StatusNotFound)
		return
	}
	delete(st.values, b.Name)
	w.WriteHeader(http.StatusOK)
}

// mount writes a deployment's secrets as files into dir (readable by the owner only)
// and returns the environment entry that names it; a secret the gateway lacks fails the
// deployment.
func (st *secretStore) mount(names []string, dir string) (string, error) {
	if len(names) == 0 {
		return "", nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("secrets: %w", err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, name := range names {
		value, ok := st.values[name]
		if !ok {
			return "", fmt.Errorf("secret %q not found in namespace %s", name, Namespace)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o600); err != nil {
			return "", fmt.Errorf("secrets: %w", err)
		}
	}
	return fndeployment.SecretsDirEnv + "=" + dir, nil
}

func (s *Server) secretsDir(service string, gen int64) string {
	return filepath.Join(s.opts.DataDir, "secrets", service, strconv.FormatInt(gen, 10))
}
