package gcf

import (
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
)

// operation is a long-running operation of the v1 API.
type operation struct {
	mu       sync.Mutex
	name     string
	kind     string
	target   string
	version  int64
	started  time.Time
	done     bool
	errCode  int
	errState string
	errMsg   string
	response json.RawMessage
}

type operationJSON struct {
	Name     string          `json:"name"`
	Done     bool            `json:"done"`
	Error    *statusJSON     `json:"error,omitempty"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
	Response json.RawMessage `json:"response,omitempty"`
}

type statusJSON struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (s *Server) newOperation(kind, target string, version int64) *operation {
	op := &operation{name: "operations/" + core.HexID(12), kind: kind, target: target, version: version, started: time.Now().UTC()}
	s.mu.Lock()
	s.operations[op.name] = op
	s.mu.Unlock()
	return op
}

// finish completes the operation with the resource as its response (nil for deletes).
func (op *operation) finish(resource *cloudFunction) {
	op.mu.Lock()
	defer op.mu.Unlock()
	if resource != nil {
		withType := map[string]any{"@type": "type.googleapis.com/google.cloud.functions.v1.CloudFunction"}
		data, _ := json.Marshal(resource)
		var fields map[string]any
		_ = json.Unmarshal(data, &fields)
		for k, v := range fields {
			withType[k] = v
		}
		op.response, _ = json.Marshal(withType)
	}
	op.done = true
}

// fail completes the operation with a google.rpc.Status.
func (op *operation) fail(code int, state, message string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.done, op.errCode, op.errState, op.errMsg = true, code, state, message
}

func (op *operation) view() operationJSON {
	op.mu.Lock()
	defer op.mu.Unlock()
	meta, _ := json.Marshal(map[string]any{
		"@type":      "type.googleapis.com/google.cloud.functions.v1.OperationMetadataV1",
		"type":       op.kind,
		"target":     op.target,
		"versionId":  op.version,
		"updateTime": op.started.Format(time.RFC3339Nano),
	})
	out := operationJSON{Name: op.name, Done: op.done, Metadata: meta}
	if op.errMsg != "" {
		out.Error = &statusJSON{Code: op.errCode, Message: op.errMsg}
	} else if op.done {
		out.Response = op.response
	}
	return out
}

func (s *Server) getOperation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	op, ok := s.operations["operations/"+r.PathValue("op")]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Operation "+r.PathValue("op")+" does not exist")
		return
	}
	writeJSON(w, http.StatusOK, op.view())
}

func (s *Server) listOperations(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	ops := make([]*operation, 0, len(s.operations))
	for _, op := range s.operations {
		ops = append(ops, op)
	}
	s.mu.Unlock()
	sort.Slice(ops, func(i, j int) bool { return ops[i].started.After(ops[j].started) })
	views := make([]operationJSON, 0, len(ops))
	for _, op := range ops {
		views = append(views, op.view())
	}
	writeJSON(w, http.StatusOK, map[string]any{"operations": views})
}
