package gcf

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The fabric's Secret Manager (v1): the secrets a function's secretEnvironmentVariables
// reference, resolved into its instances' environment when they start, as Cloud
// Functions does. The paths are Secret Manager's own, under the same base URL and
// bearer token as the functions:
//
//	POST   /v1/projects/P/secrets?secretId=S          create
//	GET    /v1/projects/P/secrets/S                   describe
//	DELETE /v1/projects/P/secrets/S                   delete with its versions
//	POST   /v1/projects/P/secrets/S:addVersion        add a version (payload.data, base64)
//	GET    /v1/projects/P/secrets/S/versions/V:access read a version (V a number or "latest")

// secretEnvVar is a function's reference to a secret version.
type secretEnvVar struct {
	Key       string `json:"key"`
	ProjectID string `json:"projectId,omitempty"`
	Secret    string `json:"secret"`
	Version   string `json:"version,omitempty"`
}

// secretStore holds the fabric's secrets by "projects/P/secrets/S".
type secretStore struct {
	mu      sync.Mutex
	secrets map[string]*secret
}

type secret struct {
	created  time.Time
	versions [][]byte // version n is versions[n-1]
}

func (st *secretStore) routes(mux *http.ServeMux, auth func(http.HandlerFunc) http.HandlerFunc) {
	const base = "/v1/projects/{project}/secrets"
	mux.HandleFunc("POST "+base, auth(st.create))
	mux.HandleFunc("GET "+base+"/{secret}", auth(st.get))
	mux.HandleFunc("DELETE "+base+"/{secret}", auth(st.delete))
	mux.HandleFunc("POST "+base+"/{secret}", auth(st.secretMethod))
	mux.HandleFunc("GET "+base+"/{secret}/versions/{version}", auth(st.access))
}

func secretName(project, id string) string { return "projects/" + project + "/secrets/" + id }

func (st *secretStore) create(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("secretId")
	if !functionID.MatchString(id) {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("secretId %q must be letters, digits, _ and -.", id))
		return
	}
	name := secretName(r.PathValue("project"), id)
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.secrets[name]; ok {
		writeError(w, http.StatusConflict, "ALREADY_EXISTS", fmt.Sprintf("Secret [%s] already exists.", name))
		return
	}
	st.secrets[name] = &secret{created: time.Now().UTC()}
	writeJSON(w, http.StatusOK, st.view(name))
}

// view describes a secret; the caller holds st.mu.
func (st *secretStore) view(name string) map[string]any {
	return map[string]any{"name": name, "createTime": st.secrets[name].created.Format(time.RFC3339Nano),
		"replication": map[string]any{"automatic": map[string]any{}}}
}

func (st *secretStore) get(w http.ResponseWriter, r *http.Request) {
	name := secretName(r.PathValue("project"), r.PathValue("secret"))
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.secrets[name]; !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("Secret [%s] not found.", name))
		return
	}
	writeJSON(w, http.StatusOK, st.view(name))
}

func (st *secretStore) delete(w http.ResponseWriter, r *http.Request) {
	name := secretName(r.PathValue("project"), r.PathValue("secret"))
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.secrets[name]; !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("Secret [%s] not found.", name))
		return
	}
	delete(st.secrets, name)
	writeJSON(w, http.StatusOK, map[string]any{})
}

// secretMethod serves POST …/secrets/S:addVersion.
func (st *secretStore) secretMethod(w http.ResponseWriter, r *http.Request) {
	id, method := splitMethod(r.PathValue("secret"))
	if method != "addVersion" {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
		return
	}
	var body struct {
		Payload struct {
			Data string `json:"data"`
		} `json:"payload"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	data, err := base64.StdEncoding.DecodeString(body.Payload.Data)
	if err != nil || len(data) > 64<<10 {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "payload.data must be base64 of at most 64 KiB.")
		return
	}
	name := secretName(r.PathValue("project"), id)
	st.mu.Lock()
	defer st.mu.Unlock()
	sec, ok := st.secrets[name]
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("Secret [%s] not found.", name))
		return
	}
	sec.versions = append(sec.versions, data)
	writeJSON(w, http.StatusOK, map[string]any{"name": name + "/versions/" + strconv.Itoa(len(sec.versions)), "state": "ENABLED",
		"createTime": time.Now().UTC().Format(time.RFC3339Nano)})
}

// access serves GET …/secrets/S/versions/V:access.
func (st *secretStore) access(w http.ResponseWriter, r *http.Request) {
	version, method := splitMethod(r.PathValue("version"))
	if method != "access" {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
		return
	}
	name := secretName(r.PathValue("project"), r.PathValue("secret"))
	data, n, err := st.value(name, version)
	if err != nil {
		writeError(w, http.StatusNotFound, "NOT_FOUND", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name + "/versions/" + strconv.Itoa(n),
		"payload": map[string]string{"data": base64.StdEncoding.EncodeToString(data)}})
}

// value reads a version of a secret ("latest" or empty: the newest), and its number.
func (st *secretStore) value(name, version string) ([]byte, int, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	sec, ok := st.secrets[name]
	if !ok {
		return nil, 0, fmt.Errorf("Secret [%s] not found.", name)
	}
	n := len(sec.versions)
	if version != "" && version != "latest" {
		var err error
		if n, err = strconv.Atoi(version); err != nil || n < 1 || n > len(sec.versions) {
			return nil, 0, fmt.Errorf("Secret Version [%s/versions/%s] not found.", name, version)
		}
	}
	if n == 0 {
		return nil, 0, fmt.Errorf("Secret [%s] has no versions.", name)
	}
	return sec.versions[n-1], n, nil
}

// resolve turns a function's secret references into environment entries, as an
// instance starts; a reference that cannot be read fails the start.
func (st *secretStore) resolve(project string, refs []secretEnvVar) ([]string, error) {
	var env []string
	for _, ref := range refs {
		p := ref.ProjectID
		if p == "" {
			p = project
		}
		data, _, err := st.value(secretName(p, ref.Secret), ref.Version)
		if err != nil {
			return nil, fmt.Errorf("secret environment variable %s: %w", ref.Key, err)
		}
		env = append(env, ref.Key+"="+string(data))
	}
	return env, nil
}

// readJSON decodes a small request body into v, answering 400 when it cannot.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return false
	}
	return true
}
