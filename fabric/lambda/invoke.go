package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fabric/proclog"
	"github.com/fedkeeper/fedkeeper/fabric/runtimeapi"
)

// maxPayload is Lambda's bound on a synchronous invocation's request (and answer).
const maxPayload = 6 << 20

// maxLogTail is how much of an invocation's log X-Amz-Log-Result carries: its last 4 KB.
const maxLogTail = 4096

// Invoke's headers.
const (
	headerInvocationType  = "X-Amz-Invocation-Type"
	headerLogType         = "X-Amz-Log-Type"
	headerLogResult       = "X-Amz-Log-Result"
	headerFunctionError   = "X-Amz-Function-Error"
	headerExecutedVersion = "X-Amz-Executed-Version"
	headerRequestID       = "X-Amzn-Requestid"
)

func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	name := functionName(r.PathValue("name"))
	payload, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	if err != nil || len(payload) > maxPayload {
		apiError{http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", maxPayload)}.write(w)
		return
	}
	fault, _ := s.opts.Faults.Draw()
	if e, ok := s.platformFault(name, fault); !ok {
		e.write(w)
		return
	}
	f, ok := s.lookup(name)
	if !ok {
		notFound(s.ARN(name)).write(w)
		return
	}
	kind := r.Header.Get(headerInvocationType)
	switch kind {
	case "", "RequestResponse":
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	case "Event":
		s.invoker.Go(func(ctx context.Context) { s.run(ctx, f, payload, fault, received) })
		w.Header().Set(headerRequestID, core.UUID())
		w.WriteHeader(http.StatusAccepted)
		return
	default:
		invalid("X-Amz-Invocation-Type %q: want RequestResponse, Event or DryRun", kind).write(w)
		return
	}
	res := s.run(r.Context(), f, payload, fault, received)
	s.answer(w, r, res)
}

// platformFault applies a fault the platform answers itself: throttling, a service
// error, the function deleted.
func (s *Server) platformFault(name string, fault faults.Kind) (apiError, bool) {
	switch fault {
	case faults.Throttle:
		return apiError{http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded. (an injected fault)"}, false
	case faults.ServerError:
		return apiError{http.StatusInternalServerError, "ServiceException", "An injected fault: the service failed"}, false
	case faults.Delete:
		s.mu.Lock()
		delete(s.functions, name)
		s.mu.Unlock()
		s.invoker.Purge(name)
	}
	return apiError{}, true
}

// result is one invocation's outcome as the caller sees it.
type result struct {
	id       string
	payload  []byte
	errType  string // X-Amz-Function-Error, "" when it succeeded
	logs     []string
	duration time.Duration
	init     time.Duration
	cold     bool
	memory   int   // MB configured
	peak     int64 // bytes
}

// run makes one invocation of f through the invoker and turns what became of it
// into what Lambda answers: the function's payload, or an error document with
// X-Amz-Function-Error for a function error, a timeout or a runtime that failed.
func (s *Server) run(ctx context.Context, f *function, payload []byte, fault faults.Kind, received time.Time) result {
	rt, spec := s.spec(f)
	res := result{id: core.UUID(), memory: f.cfg.MemorySize}
	out := s.invoker.Invoke(ctx, core.Call[runtimeapi.Request, runtimeapi.Response]{
		Key: core.Key(f.cfg.FunctionName, f.gen), Runtime: rt, Spec: spec, Fault: fault, Received: received,
		Request: runtimeapi.Request{ID: res.id, FunctionARN: f.cfg.FunctionArn, Payload: payload},
		Timeout: time.Duration(f.cfg.Timeout) * time.Second,
		Current: func() bool { cur, ok := s.lookup(f.cfg.FunctionName); return ok && cur.gen == f.gen },
	})
	res.logs, res.cold, res.init = out.Logs, out.Cold, out.Init
	if !out.Ended.IsZero() && !out.Started.IsZero() {
		res.duration = out.Ended.Sub(out.Started) - out.Init
	}
	var start *core.StartError
	switch {
	case out.Err == nil:
		res.payload, res.peak = out.Response.Payload, out.Response.PeakRSS
		if out.Response.Error != nil {
			res.errType = "Unhandled"
		}
	case errors.Is(out.Err, core.ErrTimeout) && !errors.As(out.Err, &start):
		res.payload, res.errType = errorDocument("Sandbox.Timedout", fmt.Sprintf("%s Task timed out after %d.00 seconds",
			time.Now().UTC().Format(time.RFC3339), f.cfg.Timeout)), "Unhandled"
	case errors.As(out.Err, &start) && errors.Is(out.Err, runtimeapi.ErrInit):
		res.payload, res.errType = errorDocument("Runtime.InitError", out.Err.Error()), "Unhandled"
	default:
		res.payload, res.errType = errorDocument("Runtime.ExitError", out.Err.Error()), "Unhandled"
	}
	return res
}

// answer writes a synchronous invocation's result, with the log tail when asked.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, res result) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(headerExecutedVersion, latest)
	h.Set(headerRequestID, res.id)
	if res.errType != "" {
		h.Set(headerFunctionError, res.errType)
	}
	if r.Header.Get(headerLogType) == "Tail" {
		h.Set(headerLogResult, base64.StdEncoding.EncodeToString(logTail(res)))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.payload)
}

// logTail is the last 4 KB of the invocation's log as CloudWatch would hold it: START,
// the function's lines, END and the REPORT line.
func logTail(res result) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "START RequestId: %s Version: %s\n", res.id, latest)
	for _, line := range res.logs {
		b.WriteString(proclog.Text(line) + "\n")
	}
	fmt.Fprintf(&b, "END RequestId: %s\n", res.id)
	b.WriteString(Report(res.id, res.duration, res.memory, res.peak, res.cold, res.init) + "\n")
	tail := b.String()
	if len(tail) > maxLogTail {
		tail = tail[len(tail)-maxLogTail:]
	}
	return []byte(tail)
}

// Report is Lambda's REPORT line: the run's duration, the billed duration (rounded up
// to the millisecond), the configured and the peak memory, and on a cold start the
// init's duration.
func Report(id string, duration time.Duration, memoryMB int, peak int64, cold bool, init time.Duration) string {
	ms := float64(duration) / float64(time.Millisecond)
	line := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		id, ms, int64(math.Ceil(ms)), memoryMB, (peak+(1<<20)-1)>>20)
	if cold {
		line += fmt.Sprintf("Init Duration: %.2f ms\t", float64(init)/float64(time.Millisecond))
	}
	return line
}

func errorDocument(errorType, message string) []byte {
	doc, _ := json.Marshal(map[string]string{"errorType": errorType, "errorMessage": message})
	return doc
}
