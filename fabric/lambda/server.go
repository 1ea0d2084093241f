// Package lambda is the local fabric's AWS Lambda: the control plane's REST API as the
// AWS SDKs call it (/2015-03-31/functions: CreateFunction, GetFunction,
// UpdateFunctionCode, UpdateFunctionConfiguration, DeleteFunction, ListFunctions) and
// Invoke, every
// call checked against the fabric's generated credentials with Signature Version 4.
// A function is a zip: a provided.al2023 (or provided.al2) function's bootstrap runs
// under the Lambda Runtime API (fabric/runtimeapi), a python3.x function's handler
// under the fabric's runtime interface client (fabric/python). Warm instances are
// reused; a cold start's init is timed and reported as Lambda reports it, in the REPORT
// line of the invocation's log tail.
package lambda

import (
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fabric/python"
	"github.com/fedkeeper/fedkeeper/fabric/runtimeapi"
)

// Options configure the fabric's Lambda.
type Options struct {
	// AccessKeyID and SecretAccessKey are the credentials every call must be signed
	// with (SigV4), for Region and the lambda service.
	AccessKeyID, SecretAccessKey string
	Region                       string
	// AccountID appears in the functions' ARNs (default 000000000000).
	AccountID string
	// DataDir receives the functions' unpacked code.
	DataDir string
	// MaxInstances caps the execution environments alive at once (default 2 per
	// core, at least 4).
	MaxInstances int
	IdleTimeout  time.Duration
	// Python is the interpreter of python3.x functions (python.DefaultInterpreter
	// when empty).
	Python string
	Faults *faults.Injector
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.AccountID == "" {
		o.AccountID = "000000000000"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server is the fabric's Lambda.
type Server struct {
	opts    Options
	mux     *http.ServeMux
	guard   core.Guard
	invoker *core.Invoker[runtimeapi.Request, runtimeapi.Response]
	python  *python.Runtimes
	log     *slog.Logger
	gen     atomic.Int64

	mu        sync.Mutex
	functions map[string]*function
}

// Prefixes the fabric mounts.
var Prefixes = []string{"/2015-03-31/functions"}

// New prepares the fabric's Lambda; Close releases its execution environments.
func New(opts Options) (*Server, error) {
	opts.defaults()
	switch {
	case opts.AccessKeyID == "" || opts.SecretAccessKey == "":
		return nil, fmt.Errorf("lambda: an access key and its secret are required")
	case opts.Region == "":
		return nil, fmt.Errorf("lambda: a region is required")
	case opts.DataDir == "":
		return nil, fmt.Errorf("lambda: a data directory is required")
	}
	// Function names hold no dot: "_python.d" is no function's folder.
	py, err := python.Install(filepath.Join(opts.DataDir, "_python.d"), opts.Python)
	if err != nil {
		return nil, fmt.Errorf("lambda: %w", err)
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), log: opts.Logger, python: py, functions: map[string]*function{},
		guard: core.Guard{Credential: core.SigV4{AccessKeyID: opts.AccessKeyID, SecretAccessKey: opts.SecretAccessKey,
			Region: opts.Region, Service: "lambda"}, Deny: denied},
		invoker: core.New[runtimeapi.Request](core.Options[runtimeapi.Response]{
			MaxInstances: opts.MaxInstances, IdleTimeout: opts.IdleTimeout, Faults: opts.Faults, Failed: injectedFailure,
		})}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	auth := s.guard.Wrap
	s.mux.HandleFunc("POST /2015-03-31/functions", auth(s.create))
	s.mux.HandleFunc("GET /2015-03-31/functions", auth(s.list))
	s.mux.HandleFunc("GET /2015-03-31/functions/{$}", auth(s.list))
	s.mux.HandleFunc("GET /2015-03-31/functions/{name}", auth(s.get))
	s.mux.HandleFunc("DELETE /2015-03-31/functions/{name}", auth(s.remove))
	s.mux.HandleFunc("PUT /2015-03-31/functions/{name}/code", auth(s.updateCode))
	s.mux.HandleFunc("PUT /2015-03-31/functions/{name}/configuration", auth(s.updateConfiguration))
	s.mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", auth(s.invoke))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close cuts running invocations short and destroys every execution environment.
func (s *Server) Close() { s.invoker.Close() }

// ARN is a function's ARN in this Lambda.
func (s *Server) ARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.opts.Region, s.opts.AccountID, name)
}

// functionName takes a function's name out of what a caller may pass: its name, its
// ARN or partial ARN, with or without a version qualifier ($LATEST only here).
func functionName(ref string) string {
	if i := strings.Index(ref, "function:"); i >= 0 {
		ref = ref[i+len("function:"):]
	}
	name, _, _ := strings.Cut(ref, ":")
	return name
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// apiError is an error as the Lambda API answers it: the type in X-Amzn-ErrorType
// (what the SDKs read), the message in the body.
type apiError struct {
	status  int
	kind    string
	message string
}

func (e apiError) write(w http.ResponseWriter) {
	w.Header().Set("X-Amzn-ErrorType", e.kind)
	core.WriteJSON(w, e.status, map[string]string{"Type": "User", "message": e.message, "__type": e.kind})
}

func notFound(arn string) apiError {
	return apiError{http.StatusNotFound, "ResourceNotFoundException", "Function not found: " + arn}
}

func invalid(format string, args ...any) apiError {
	return apiError{http.StatusBadRequest, "InvalidParameterValueException", fmt.Sprintf(format, args...)}
}

// denied answers a call without a valid signature of the fabric's credentials.
func denied(w http.ResponseWriter, r *http.Request) {
	kind := "InvalidSignatureException"
	message := "The request signature we calculated does not match the signature you provided."
	if !strings.Contains(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		kind, message = "MissingAuthenticationTokenException", "Missing Authentication Token"
	}
	apiError{http.StatusForbidden, kind, message}.write(w)
}

// injectedFailure is an invocation an injected error fault fails: a function error.
func injectedFailure() runtimeapi.Response {
	failure := runtimeapi.FunctionError{Type: "InjectedFault", Message: "an injected fault: the function failed"}
	return runtimeapi.Response{Payload: errorDocument(failure.Type, failure.Message), ContentType: "application/json", Error: &failure}
}
