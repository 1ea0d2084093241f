package openwhisk

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
)

// activation is one invocation, running or finished.
type activation struct {
	id        string
	action    string
	namespace string
	subject   string
	version   string
	limits    limits
	kind      string
	received  time.Time
	done      chan struct{}

	mu  sync.Mutex
	rec *record // nil until finished
}

type response struct {
	Status  string          `json:"status"`
	Success bool            `json:"success"`
	Result  json.RawMessage `json:"result"`
	Size    int             `json:"size,omitempty"`
}

// record is the full activation record of GET …/activations/{id}.
type record struct {
	Namespace    string     `json:"namespace"`
	Name         string     `json:"name"`
	Version      string     `json:"version"`
	Subject      string     `json:"subject"`
	ActivationID string     `json:"activationId"`
	Start        int64      `json:"start"`
	End          int64      `json:"end"`
	Duration     int64      `json:"duration"`
	StatusCode   int        `json:"-"` // only brief list entries carry it
	Response     response   `json:"response"`
	Logs         []string   `json:"logs"`
	Annotations  []keyValue `json:"annotations"`
	Publish      bool       `json:"publish"`
}

// brief is a list entry without docs.
type brief struct {
	Namespace    string     `json:"namespace"`
	Name         string     `json:"name"`
	Version      string     `json:"version"`
	Publish      bool       `json:"publish"`
	Annotations  []keyValue `json:"annotations"`
	ActivationID string     `json:"activationId"`
	Start        int64      `json:"start"`
	End          int64      `json:"end"`
	Duration     int64      `json:"duration"`
	StatusCode   int        `json:"statusCode"`
}

func (a *activation) record() *record {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rec
}

func annotation(key string, v any) keyValue {
	data, _ := json.Marshal(v)
	return keyValue{Key: key, Value: data}
}

// finish stores the outcome and wakes blocking callers.
func (a *activation) finish(status string, result json.RawMessage, logs []string, start, end time.Time, initTime time.Duration, cold, timedOut bool) {
	if start.IsZero() {
		start = end
	}
	shortName := a.action
	ns := a.namespace
	if pkg, name, ok := strings.Cut(a.action, "/"); ok {
		ns, shortName = ns+"/"+pkg, name
	}
	anns := []keyValue{
		annotation("path", a.namespace+"/"+a.action),
		annotation("kind", a.kind),
		annotation("limits", a.limits),
		annotation("waitTime", max(0, start.Sub(a.received).Milliseconds())),
	}
	if cold {
		anns = append(anns, annotation("initTime", initTime.Milliseconds()))
	}
	if timedOut {
		anns = append(anns, annotation("timeout", true))
	}
	if logs == nil {
		logs = []string{}
	}
	rec := &record{
		Namespace: ns, Name: shortName, Version: a.version, Subject: a.subject, ActivationID: a.id,
		Start: start.UnixMilli(), End: end.UnixMilli(), Duration: end.Sub(start).Milliseconds(),
		StatusCode: statusCodes[status],
		Response:   response{Status: status, Success: status == statusSuccess, Result: result, Size: len(result)},
		Logs:       logs, Annotations: anns,
	}
	a.mu.Lock()
	a.rec = rec
	a.mu.Unlock()
	close(a.done)
}

// activationStore keeps the most recent activations, oldest evicted first.
type activationStore struct {
	mu    sync.Mutex
	max   int
	byID  map[string]*activation
	order []string
}

func newActivationStore(max int) *activationStore {
	return &activationStore{max: max, byID: map[string]*activation{}}
}

func (st *activationStore) create(id string, a *action, ns, subject string, now time.Time) *activation {
	act := &activation{id: id, action: a.Name, namespace: ns, subject: subject, version: a.Version,
		limits: a.Limits, kind: a.Exec.Kind, received: now, done: make(chan struct{})}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.byID[id] = act
	st.order = append(st.order, id)
	for len(st.order) > st.max {
		delete(st.byID, st.order[0])
		st.order = st.order[1:]
	}
	return act
}

func (st *activationStore) get(id string) *activation {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.byID[id]
}

// finished returns the finished activations, newest first.
func (st *activationStore) finished() []*record {
	st.mu.Lock()
	ids := append([]string(nil), st.order...)
	st.mu.Unlock()
	var out []*record
	for i := len(ids) - 1; i >= 0; i-- {
		if act := st.get(ids[i]); act != nil {
			if rec := act.record(); rec != nil {
				out = append(out, rec)
			}
		}
	}
	return out
}

// findRecord answers 404 until the activation has finished, as OpenWhisk does while the
// record is not yet stored.
func (s *Server) findRecord(w http.ResponseWriter, r *http.Request) (*record, bool) {
	act := s.activations.get(r.PathValue("id"))
	if act == nil {
		writeError(w, http.StatusNotFound, "The requested resource does not exist.")
		return nil, false
	}
	rec := act.record()
	if rec == nil {
		writeError(w, http.StatusNotFound, "The requested resource does not exist.")
		return nil, false
	}
	return rec, true
}

func (s *Server) getActivation(w http.ResponseWriter, r *http.Request) {
	if rec, ok := s.findRecord(w, r); ok {
		core.WriteJSON(w, http.StatusOK, rec)
	}
}

func (s *Server) getActivationResult(w http.ResponseWriter, r *http.Request) {
	if rec, ok := s.findRecord(w, r); ok {
		core.WriteJSON(w, http.StatusOK, rec.Response)
	}
}

func (s *Server) getActivationLogs(w http.ResponseWriter, r *http.Request) {
	if rec, ok := s.findRecord(w, r); ok {
		core.WriteJSON(w, http.StatusOK, map[string][]string{"logs": rec.Logs})
	}
}

func (s *Server) listActivations(w http.ResponseWriter, r *http.Request) {
	limit, skip, ok := paging(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	docs, count := q.Get("docs") == "true", q.Get("count") == "true"
	if docs && count {
		writeError(w, http.StatusBadRequest, "The request content was malformed:\ndocs and count cannot be combined")
		return
	}
	name := strings.Trim(q.Get("name"), "/")
	var since, upto int64
	for key, dst := range map[string]*int64{"since": &since, "upto": &upto} {
		if v := q.Get(key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("The request content was malformed:\n%s must be epoch milliseconds", key))
				return
			}
			*dst = n
		}
	}
	var matched []*record
	for _, rec := range s.activations.finished() {
		full := rec.Name
		if pkg, ok := strings.CutPrefix(rec.Namespace, s.opts.Namespace+"/"); ok {
			full = pkg + "/" + rec.Name
		}
		if name != "" && full != name {
			continue
		}
		if (since != 0 && rec.Start < since) || (upto != 0 && rec.Start > upto) {
			continue
		}
		matched = append(matched, rec)
	}
	if count {
		core.WriteJSON(w, http.StatusOK, map[string]int{"activations": len(matched)})
		return
	}
	page := []any{}
	for i := skip; i < len(matched) && len(page) < limit; i++ {
		rec := matched[i]
		if docs {
			page = append(page, rec)
			continue
		}
		page = append(page, brief{Namespace: rec.Namespace, Name: rec.Name, Version: rec.Version, Publish: rec.Publish,
			Annotations: rec.Annotations, ActivationID: rec.ActivationID, Start: rec.Start, End: rec.End,
			Duration: rec.Duration, StatusCode: rec.StatusCode})
	}
	core.WriteJSON(w, http.StatusOK, page)
}
