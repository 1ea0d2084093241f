package runtimeapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// The Runtime API's paths.
const (
	pathNext      = "/2018-06-01/runtime/invocation/next"
	pathResponse  = "/2018-06-01/runtime/invocation/{id}/response"
	pathError     = "/2018-06-01/runtime/invocation/{id}/error"
	pathInitError = "/2018-06-01/runtime/init/error"
)

// Its headers.
const (
	headerRequestID   = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline    = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID     = "Lambda-Runtime-Trace-Id"
	// headerErrorType names a posted error's type, as a header or (aws-lambda-go,
	// when the response stream fails) as a trailer of a response.
	headerErrorType = "Lambda-Runtime-Function-Error-Type"
)

// maxErrorDocument bounds an error document a runtime posts.
const maxErrorDocument = 1 << 20

// event is one invocation waiting for the runtime's GET …/next.
type event struct {
	req      Request
	deadline time.Time
}

// api is one instance's Runtime API: it hands the invocation in flight to the
// runtime and takes its one answer.
type api struct {
	ready      chan struct{} // closed at the first GET …/next
	readyOnce  sync.Once
	initFailed chan FunctionError
	events     chan event
	mu         sync.Mutex
	current    string // the request id in flight, "" once answered
	results    chan Response
}

func newAPI() *api {
	return &api{ready: make(chan struct{}), initFailed: make(chan FunctionError, 1), events: make(chan event, 1)}
}

func (a *api) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathNext, a.next)
	mux.HandleFunc("POST "+pathResponse, a.response)
	mux.HandleFunc("POST "+pathError, a.invocationError)
	mux.HandleFunc("POST "+pathInitError, a.initError)
	return mux
}

// begin makes ev the invocation in flight and returns where its answer will come.
func (a *api) begin(ev event) <-chan Response {
	results := make(chan Response, 1)
	a.mu.Lock()
	a.current, a.results = ev.req.ID, results
	a.mu.Unlock()
	a.events <- ev // the one place; the caller holds the instance for one invocation
	return results
}

// answer delivers the answer to invocation id, if it is the one in flight and not
// answered yet.
func (a *api) answer(id string, resp Response) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if id == "" || id != a.current {
		return false
	}
	a.current = ""
	a.results <- resp
	return true
}

// inFlight says whether id is the invocation waiting for its answer.
func (a *api) inFlight(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return id != "" && id == a.current
}

// next hands the runtime the next event, waiting for one as long as it takes (the
// runtime's GET has no timeout: between invocations the environment is idle).
func (a *api) next(w http.ResponseWriter, r *http.Request) {
	a.readyOnce.Do(func() { close(a.ready) })
	var ev event
	select {
	case ev = <-a.events:
	case <-r.Context().Done():
		return
	}
	h := w.Header()
	h.Set(headerRequestID, ev.req.ID)
	h.Set(headerDeadline, deadlineHeader(ev.deadline))
	h.Set(headerFunctionARN, ev.req.FunctionARN)
	if ev.req.TraceID != "" {
		h.Set(headerTraceID, ev.req.TraceID)
	}
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(ev.req.Payload)
}

// response takes an invocation's result. One past MaxResponse fails the invocation,
// as do the error trailers a runtime sends when its response stream broke.
func (a *api) response(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !a.inFlight(id) {
		refuse(w, http.StatusBadRequest, "InvalidRequestID", fmt.Sprintf("invalid request id %q: not the invocation in flight", id))
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxResponse+1))
	switch {
	case err != nil:
		a.answer(id, failed(FunctionErrorUnknown, "the runtime's response could not be read: "+err.Error()))
		refuse(w, http.StatusBadRequest, "InvalidResponse", err.Error())
		return
	case len(data) > MaxResponse:
		a.answer(id, failed(FunctionErrorTooLarge, fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponse)))
		refuse(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "the response is larger than the 6 MB a synchronous invocation may answer")
		return
	case r.Trailer.Get(headerErrorType) != "":
		a.answer(id, failed(r.Trailer.Get(headerErrorType), "the function's response stream failed"))
	default:
		a.answer(id, Response{Payload: data, ContentType: r.Header.Get("Content-Type")})
	}
	accepted(w)
}

// invocationError takes an invocation's error document.
func (a *api) invocationError(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !a.inFlight(id) {
		refuse(w, http.StatusBadRequest, "InvalidRequestID", fmt.Sprintf("invalid request id %q: not the invocation in flight", id))
		return
	}
	doc, fe := readErrorDocument(r)
	a.answer(id, Response{Payload: doc, ContentType: "application/json", Error: &fe})
	accepted(w)
}

// initError takes the runtime's report that it cannot start.
func (a *api) initError(w http.ResponseWriter, r *http.Request) {
	_, fe := readErrorDocument(r)
	select {
	case a.initFailed <- fe:
	default: // reported already
	}
	accepted(w)
}

// readErrorDocument reads a posted error document and its type: the header's, or
// else the document's errorType, or else Unhandled. A document that is not JSON is
// wrapped in one, so the caller always gets Lambda's shape.
func readErrorDocument(r *http.Request) ([]byte, FunctionError) {
	data, _ := io.ReadAll(io.LimitReader(r.Body, maxErrorDocument))
	var doc struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		doc.Message = string(data)
		data, _ = json.Marshal(map[string]string{"errorMessage": doc.Message, "errorType": FunctionErrorUnknown})
	}
	fe := FunctionError{Type: r.Header.Get(headerErrorType), Message: doc.Message}
	if fe.Type == "" {
		fe.Type = doc.Type
	}
	if fe.Type == "" {
		fe.Type = FunctionErrorUnknown
	}
	return data, fe
}

// failed is an invocation the fabric fails itself, with Lambda's error document.
func failed(errorType, message string) Response {
	doc, _ := json.Marshal(map[string]string{"errorMessage": message, "errorType": errorType})
	return Response{Payload: doc, ContentType: "application/json", Error: &FunctionError{Type: errorType, Message: message}}
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

// refuse answers a call the Runtime API does not take, in its error shape.
func refuse(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorMessage": message, "errorType": errorType})
}
