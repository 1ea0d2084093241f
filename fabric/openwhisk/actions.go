package openwhisk

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
)

// keyValue is OpenWhisk's {key, value} pair for parameters and annotations. A
// parameter marked init reaches the container as an environment variable when it
// starts, never an activation's parameters.
type keyValue struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
	Init  bool            `json:"init,omitempty"`
}

type execSpec struct {
	Kind   string `json:"kind"`
	Code   string `json:"code,omitempty"`
	Image  string `json:"image,omitempty"`
	Main   string `json:"main,omitempty"`
	Binary bool   `json:"binary"`
}

type limits struct {
	Timeout     int `json:"timeout"`
	Memory      int `json:"memory"`
	Logs        int `json:"logs"`
	Concurrency int `json:"concurrency"`
}

// actionPut is the body of PUT …/actions/{name}.
type actionPut struct {
	Namespace      string     `json:"namespace,omitempty"`
	Name           string     `json:"name,omitempty"`
	Version        string     `json:"version,omitempty"`
	Publish        *bool      `json:"publish,omitempty"`
	Exec           *execSpec  `json:"exec,omitempty"`
	Annotations    []keyValue `json:"annotations,omitempty"`
	Parameters     []keyValue `json:"parameters,omitempty"`
	Limits         *limits    `json:"limits,omitempty"`
	DelAnnotations []string   `json:"delAnnotations,omitempty"`
}

// action is a stored action.
type action struct {
	Name        string
	Version     string
	Publish     bool
	Exec        execSpec // Code kept out; the unpacked binary lives in Dir
	Annotations []keyValue
	Parameters  []keyValue
	Limits      limits
	Updated     time.Time
	code        *codeDir
	codeText    string // base64, only served on GET ?code=true
	generation  int64
}

// codeDir is an action version's unpacked code. Activations accepted for a version keep
// its files until they finish, even when the action is updated or deleted meanwhile.
type codeDir struct {
	path     string
	mu       sync.Mutex
	refs     int
	obsolete bool
}

func (d *codeDir) acquire() {
	d.mu.Lock()
	d.refs++
	d.mu.Unlock()
}

func (d *codeDir) release() {
	d.mu.Lock()
	d.refs--
	gone := d.refs == 0 && d.obsolete
	d.mu.Unlock()
	if gone {
		_ = os.RemoveAll(d.path)
	}
}

// retire removes the files once no activation uses them.
func (d *codeDir) retire() {
	d.mu.Lock()
	d.obsolete = true
	gone := d.refs == 0
	d.mu.Unlock()
	if gone {
		_ = os.RemoveAll(d.path)
	}
}

// poolKey names the containers of this exact version.
func (a *action) poolKey() string { return core.Key(a.Name, a.generation) }

// current reports whether a is still the stored version of its action.
func (s *Server) current(a *action) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	stored, ok := s.actions[a.Name]
	return ok && stored.generation == a.generation
}

type actionJSON struct {
	Namespace   string     `json:"namespace"`
	Name        string     `json:"name"`
	Version     string     `json:"version"`
	Publish     bool       `json:"publish"`
	Exec        execSpec   `json:"exec"`
	Annotations []keyValue `json:"annotations"`
	Parameters  []keyValue `json:"parameters"`
	Limits      limits     `json:"limits"`
	Updated     int64      `json:"updated"`
}

func (s *Server) actionView(a *action, withCode bool) actionJSON {
	ns, name := s.opts.Namespace, a.Name
	if pkg, short, ok := strings.Cut(a.Name, "/"); ok {
		ns, name = ns+"/"+pkg, short
	}
	ex := a.Exec
	if withCode {
		ex.Code = a.codeText
	}
	return actionJSON{Namespace: ns, Name: name, Version: a.Version, Publish: a.Publish, Exec: ex,
		Annotations: nonNil(a.Annotations), Parameters: nonNil(a.Parameters), Limits: a.Limits, Updated: a.Updated.UnixMilli()}
}

func nonNil(kv []keyValue) []keyValue {
	if kv == nil {
		return []keyValue{}
	}
	return kv
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_@.\- ]*$`)

// actionName validates "name" or "package/name".
func actionName(raw string) (string, error) {
	parts := strings.Split(strings.Trim(raw, "/"), "/")
	if len(parts) > 2 {
		return "", errors.New("action names have at most a package and a name")
	}
	for _, p := range parts {
		if !namePattern.MatchString(p) || len(p) > 256 {
			return "", fmt.Errorf("%q is not a valid name", p)
		}
	}
	return strings.Join(parts, "/"), nil
}

// maxCodeBody admits OpenWhisk's 48 MB code limit after base64 and JSON.
const maxCodeBody = 72 << 20

func (s *Server) putAction(w http.ResponseWriter, r *http.Request) {
	name, err := actionName(r.PathValue("name"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCodeBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "The request content was malformed or too large.")
		return
	}
	var put actionPut
	if err := json.Unmarshal(body, &put); err != nil {
		writeError(w, http.StatusBadRequest, "The request content was malformed:\n"+err.Error())
		return
	}
	overwrite := r.URL.Query().Get("overwrite") == "true"

	s.mu.Lock()
	old, exists := s.actions[name]
	s.mu.Unlock()
	if exists && !overwrite {
		writeError(w, http.StatusConflict, "resource already exists")
		return
	}
	if !exists && put.Exec == nil {
		writeError(w, http.StatusBadRequest, "exec undefined")
		return
	}

	next := &action{Name: name, Limits: limits{Timeout: 60000, Memory: 256, Logs: 10, Concurrency: 1}}
	if exists {
		// PUT merges: fields missing from the body keep their old values.
		copyOld := *old
		next = &copyOld
	}
	next.generation = s.generations.Add(1)
	next.Version = bumpVersion(next.Version, put.Version)
	next.Updated = time.Now().Add(s.opts.ClockSkew)
	if put.Publish != nil {
		next.Publish = *put.Publish
	}
	if put.Parameters != nil {
		next.Parameters = put.Parameters
	}
	if put.Annotations != nil {
		next.Annotations = put.Annotations
	}
	next.Annotations = removeKeys(next.Annotations, put.DelAnnotations)
	if put.Limits != nil {
		if msg := s.checkLimits(put.Limits); msg != "" {
			writeError(w, http.StatusBadRequest, msg)
			return
		}
		next.Limits = mergeLimits(next.Limits, *put.Limits)
	}
	if put.Exec != nil {
		if err := s.storeExec(*put.Exec, name, next); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}

	s.mu.Lock()
	s.actions[name] = next
	s.mu.Unlock()
	s.opts.Faults.Deployed(name)
	if exists {
		s.invoker.Purge(name)
		if old.code != next.code {
			old.code.retire()
		}
	}
	s.log.Debug("action stored", "action", name, "version", next.Version)
	core.WriteJSON(w, http.StatusOK, s.actionView(next, false))
}

func (s *Server) checkLimits(l *limits) string {
	if l.Timeout != 0 && (l.Timeout < s.opts.MinTimeout || l.Timeout > s.opts.MaxTimeout) {
		return fmt.Sprintf("The request content was malformed:\ntimeout %d milliseconds below allowed threshold of %d milliseconds or exceeds allowed threshold of %d milliseconds", l.Timeout, s.opts.MinTimeout, s.opts.MaxTimeout)
	}
	if l.Memory != 0 && (l.Memory < s.opts.MinMemory || l.Memory > s.opts.MaxMemory) {
		return fmt.Sprintf("The request content was malformed:\nmemory %d MB below allowed threshold of %d MB or exceeds allowed threshold of %d MB", l.Memory, s.opts.MinMemory, s.opts.MaxMemory)
	}
	if l.Logs < 0 || l.Logs > 10 {
		return fmt.Sprintf("The request content was malformed:\nlogs %d MB exceeds allowed threshold of 10 MB", l.Logs)
	}
	if l.Concurrency < 0 {
		return "The request content was malformed:\nconcurrency must be positive"
	}
	return ""
}

func mergeLimits(old, put limits) limits {
	if put.Timeout != 0 {
		old.Timeout = put.Timeout
	}
	if put.Memory != 0 {
		old.Memory = put.Memory
	}
	if put.Logs != 0 {
		old.Logs = put.Logs
	}
	if put.Concurrency != 0 {
		old.Concurrency = put.Concurrency
	}
	return old
}

func bumpVersion(old, requested string) string {
	if requested != "" {
		return requested
	}
	var a, b, c int
	if _, err := fmt.Sscanf(old, "%d.%d.%d", &a, &b, &c); err != nil {
		return "0.0.1"
	}
	return fmt.Sprintf("%d.%d.%d", a, b, c+1)
}

func removeKeys(kv []keyValue, keys []string) []keyValue {
	if len(keys) == 0 {
		return kv
	}
	out := kv[:0:0]
	for _, p := range kv {
		drop := false
		for _, k := range keys {
			drop = drop || p.Key == k
		}
		if !drop {
			out = append(out, p)
		}
	}
	return out
}

func setKey(kv []keyValue, key string, value json.RawMessage) []keyValue {
	out := removeKeys(kv, []string{key})
	return append(out, keyValue{Key: key, Value: value})
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*action, bool) {
	name, err := actionName(r.PathValue("name"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	s.mu.Lock()
	a, ok := s.actions[name]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "The requested resource does not exist.")
		return nil, false
	}
	return a, true
}

func (s *Server) getAction(w http.ResponseWriter, r *http.Request) {
	a, ok := s.lookup(w, r)
	if !ok {
		return
	}
	core.WriteJSON(w, http.StatusOK, s.actionView(a, r.URL.Query().Get("code") != "false"))
}

func (s *Server) deleteAction(w http.ResponseWriter, r *http.Request) {
	a, ok := s.lookup(w, r)
	if !ok {
		return
	}
	s.remove(a)
	core.WriteJSON(w, http.StatusOK, s.actionView(a, false))
}

// remove deletes an action and its warm containers.
func (s *Server) remove(a *action) {
	s.mu.Lock()
	if s.actions[a.Name] == a {
		delete(s.actions, a.Name)
	}
	s.mu.Unlock()
	s.invoker.Purge(a.Name)
	a.code.retire()
	s.log.Debug("action deleted", "action", a.Name)
}

func (s *Server) listActions(w http.ResponseWriter, r *http.Request) {
	limit, skip, ok := paging(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	all := make([]*action, 0, len(s.actions))
	for _, a := range s.actions {
		all = append(all, a)
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].Updated.After(all[j].Updated) })
	out := []actionJSON{}
	for i := skip; i < len(all) && len(out) < limit; i++ {
		out = append(out, s.actionView(all[i], false))
	}
	core.WriteJSON(w, http.StatusOK, out)
}

// paging reads limit (0–200, default 30, 0 meaning 200) and skip.
func paging(w http.ResponseWriter, r *http.Request) (limit, skip int, ok bool) {
	limit, skip = 30, 0
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		if _, err := fmt.Sscan(v, &limit); err != nil || limit < 0 || limit > 200 {
			writeError(w, http.StatusBadRequest, "The request content was malformed:\nlimit must be between 0 and 200")
			return 0, 0, false
		}
		if limit == 0 {
			limit = 200
		}
	}
	if v := q.Get("skip"); v != "" {
		if _, err := fmt.Sscan(v, &skip); err != nil || skip < 0 {
			writeError(w, http.StatusBadRequest, "The request content was malformed:\nskip must be a non-negative integer")
			return 0, 0, false
		}
	}
	return limit, skip, true
}
