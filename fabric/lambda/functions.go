package lambda

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/archive"
	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/python"
	"github.com/fedkeeper/fedkeeper/fabric/runtimeapi"
)

// maxCreateBody bounds a CreateFunction or UpdateFunctionCode body: Lambda's 50 MB
// zip, base64 in JSON.
const maxCreateBody = 70 << 20

// Lambda's bounds and defaults of a function's configuration.
const (
	defaultTimeout, maxTimeout  = 3, 900
	defaultMemory, minMemory    = 128, 128
	maxMemory                   = 10240
	lastModifiedLayout          = "2006-01-02T15:04:05.000-0700"
	latest                      = "$LATEST"
	providedRuntimePrefix       = "provided."
	pythonRuntimePrefix         = "python3."
	bootstrapFile               = "bootstrap"
	initTimeout                 = 10 * time.Second // Lambda's init phase limit
	defaultPath                 = "/usr/local/bin:/usr/bin:/bin"
	invalidRuntimeMessageFormat = "The runtime parameter of %s is not supported here: the local fabric runs provided.al2023, provided.al2 and python3.x"
)

// configuration is a function's FunctionConfiguration, as the API shows it.
type configuration struct {
	FunctionName     string       `json:"FunctionName"`
	FunctionArn      string       `json:"FunctionArn"`
	Runtime          string       `json:"Runtime"`
	Role             string       `json:"Role"`
	Handler          string       `json:"Handler,omitempty"`
	CodeSize         int64        `json:"CodeSize"`
	CodeSha256       string       `json:"CodeSha256"`
	Timeout          int          `json:"Timeout"`
	MemorySize       int          `json:"MemorySize"`
	LastModified     string       `json:"LastModified"`
	Version          string       `json:"Version"`
	State            string       `json:"State"`
	LastUpdateStatus string       `json:"LastUpdateStatus"`
	PackageType      string       `json:"PackageType"`
	Architectures    []string     `json:"Architectures"`
	RevisionID       string       `json:"RevisionId"`
	Environment      *environment `json:"Environment,omitempty"`
}

type environment struct {
	Variables map[string]string `json:"Variables"`
}

// createRequest is CreateFunction's body (the fields the fabric uses).
type createRequest struct {
	FunctionName string       `json:"FunctionName"`
	Runtime      string       `json:"Runtime"`
	Role         string       `json:"Role"`
	Handler      string       `json:"Handler"`
	Timeout      *int         `json:"Timeout"`
	MemorySize   *int         `json:"MemorySize"`
	Environment  *environment `json:"Environment"`
	Code         struct {
		ZipFile []byte `json:"ZipFile"` // base64 in JSON, as []byte is
	} `json:"Code"`
}

// function is one deployed function: its configuration and its unpacked code.
type function struct {
	cfg configuration
	gen int64
	dir string
}

func (s *Server) lookup(name string) (*function, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.functions[name]
	return f, ok
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if e, ok := readJSON(r, &req); !ok {
		e.write(w)
		return
	}
	if !validName.MatchString(req.FunctionName) {
		invalid("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint", req.FunctionName).write(w)
		return
	}
	if _, exists := s.lookup(req.FunctionName); exists {
		apiError{http.StatusConflict, "ResourceConflictException", "Function already exist: " + req.FunctionName}.write(w)
		return
	}
	cfg := configuration{FunctionName: req.FunctionName, FunctionArn: s.ARN(req.FunctionName), Runtime: req.Runtime, Role: req.Role,
		Handler: req.Handler, Timeout: defaultTimeout, MemorySize: defaultMemory, Version: latest, State: "Active",
		LastUpdateStatus: "Successful", PackageType: "Zip", Architectures: []string{"x86_64"}, Environment: req.Environment}
	if req.Timeout != nil {
		cfg.Timeout = *req.Timeout
	}
	if req.MemorySize != nil {
		cfg.MemorySize = *req.MemorySize
	}
	if e, ok := checkConfiguration(cfg); !ok {
		e.write(w)
		return
	}
	f, e, ok := s.unpack(cfg, req.Code.ZipFile)
	if !ok {
		e.write(w)
		return
	}
	s.mu.Lock()
	s.functions[cfg.FunctionName] = f
	s.mu.Unlock()
	s.opts.Faults.Deployed(cfg.FunctionName)
	core.WriteJSON(w, http.StatusCreated, f.cfg)
}

// checkConfiguration refuses what Lambda refuses: a role that is no IAM role's ARN,
// a runtime the fabric cannot run, a Python function without its handler, a timeout or
// memory size out of bounds.
func checkConfiguration(cfg configuration) (apiError, bool) {
	switch {
	case !strings.HasPrefix(cfg.Role, "arn:aws:iam::") || !strings.Contains(cfg.Role, ":role/"):
		return invalid("The role defined for the function cannot be assumed by Lambda: %q is not an IAM role's ARN", cfg.Role), false
	case !strings.HasPrefix(cfg.Runtime, providedRuntimePrefix) && !strings.HasPrefix(cfg.Runtime, pythonRuntimePrefix):
		return invalid(invalidRuntimeMessageFormat, cfg.Runtime), false
	case strings.HasPrefix(cfg.Runtime, pythonRuntimePrefix) && !strings.Contains(cfg.Handler, "."):
		return invalid("Handler %q of a %s function must name module.function", cfg.Handler, cfg.Runtime), false
	case cfg.Timeout < 1 || cfg.Timeout > maxTimeout:
		return invalid("Timeout %d is out of range: 1 to %d seconds", cfg.Timeout, maxTimeout), false
	case cfg.MemorySize < minMemory || cfg.MemorySize > maxMemory:
		return invalid("MemorySize %d is out of range: %d to %d MB", cfg.MemorySize, minMemory, maxMemory), false
	}
	return apiError{}, true
}

// unpack stores a function's zip as a new version of its code and returns the
// function with it: a provided runtime's zip must hold an executable bootstrap.
func (s *Server) unpack(cfg configuration, zip []byte) (*function, apiError, bool) {
	if len(zip) == 0 {
		return nil, invalid("Code.ZipFile is required: the local fabric takes zips inline"), false
	}
	gen := s.gen.Add(1)
	dir := filepath.Join(s.opts.DataDir, cfg.FunctionName, strconv.FormatInt(gen, 10))
	if _, err := archive.Unzip(zip, dir); err != nil {
		return nil, invalid("Could not unzip uploaded file: %v", err), false
	}
	if strings.HasPrefix(cfg.Runtime, providedRuntimePrefix) {
		info, err := os.Stat(filepath.Join(dir, bootstrapFile))
		if err != nil || info.Mode()&0o100 == 0 {
			return nil, invalid("The zip of a %s function needs an executable %s at its root", cfg.Runtime, bootstrapFile), false
		}
	}
	sum := sha256.Sum256(zip)
	cfg.CodeSize, cfg.CodeSha256 = int64(len(zip)), base64.StdEncoding.EncodeToString(sum[:])
	cfg.LastModified = time.Now().UTC().Format(lastModifiedLayout)
	cfg.RevisionID = core.UUID()
	return &function{cfg: cfg, gen: gen, dir: dir}, apiError{}, true
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	name := functionName(r.PathValue("name"))
	f, ok := s.lookup(name)
	if !ok {
		notFound(s.ARN(name)).write(w)
		return
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"Configuration": f.cfg,
		"Code": map[string]string{"RepositoryType": "S3", "Location": ""}})
}

// list is ListFunctions: every function's configuration, by name, in one page.
func (s *Server) list(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	configs := make([]configuration, 0, len(s.functions))
	for _, name := range slices.Sorted(maps.Keys(s.functions)) {
		configs = append(configs, s.functions[name].cfg)
	}
	s.mu.Unlock()
	core.WriteJSON(w, http.StatusOK, map[string]any{"Functions": configs})
}

func (s *Server) remove(w http.ResponseWriter, r *http.Request) {
	name := functionName(r.PathValue("name"))
	s.mu.Lock()
	f, ok := s.functions[name]
	delete(s.functions, name)
	s.mu.Unlock()
	if !ok {
		notFound(s.ARN(name)).write(w)
		return
	}
	s.invoker.Purge(name)
	_ = os.RemoveAll(filepath.Dir(f.dir))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) updateCode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ZipFile []byte `json:"ZipFile"`
	}
	if e, ok := readJSON(r, &req); !ok {
		e.write(w)
		return
	}
	s.replace(w, functionName(r.PathValue("name")), func(cfg configuration) (*function, apiError, bool) {
		return s.unpack(cfg, req.ZipFile)
	})
}

func (s *Server) updateConfiguration(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Runtime, Role, Handler string
		Timeout, MemorySize    *int
		Environment            *environment
	}
	if e, ok := readJSON(r, &req); !ok {
		e.write(w)
		return
	}
	s.replace(w, functionName(r.PathValue("name")), func(cfg configuration) (*function, apiError, bool) {
		cfg.Runtime, cfg.Role, cfg.Handler = or(req.Runtime, cfg.Runtime), or(req.Role, cfg.Role), or(req.Handler, cfg.Handler)
		if req.Timeout != nil {
			cfg.Timeout = *req.Timeout
		}
		if req.MemorySize != nil {
			cfg.MemorySize = *req.MemorySize
		}
		if req.Environment != nil {
			cfg.Environment = &environment{Variables: maps.Clone(req.Environment.Variables)}
		}
		if e, ok := checkConfiguration(cfg); !ok {
			return nil, e, false
		}
		old, _ := s.lookup(cfg.FunctionName)
		// The same code, a new version: its environments start with the new settings.
		cfg.LastModified, cfg.RevisionID = time.Now().UTC().Format(lastModifiedLayout), core.UUID()
		return &function{cfg: cfg, gen: s.gen.Add(1), dir: old.dir}, apiError{}, true
	})
}

// replace updates a function with what change makes of its configuration, and retires
// the environments of its earlier version.
func (s *Server) replace(w http.ResponseWriter, name string, change func(configuration) (*function, apiError, bool)) {
	old, ok := s.lookup(name)
	if !ok {
		notFound(s.ARN(name)).write(w)
		return
	}
	f, e, ok := change(old.cfg)
	if !ok {
		e.write(w)
		return
	}
	s.mu.Lock()
	s.functions[name] = f
	s.mu.Unlock()
	s.opts.Faults.Deployed(name)
	s.invoker.PurgeOld(name, f.gen)
	core.WriteJSON(w, http.StatusOK, f.cfg)
}

// spec is what a cold start of the function runs: the runtime its configuration names
// and the environment Lambda gives a function's process.
func (s *Server) spec(f *function) (core.Runtime[runtimeapi.Request, runtimeapi.Response], core.Spec) {
	env := map[string]string{}
	if f.cfg.Environment != nil {
		maps.Copy(env, f.cfg.Environment.Variables)
	}
	maps.Copy(env, map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME": f.cfg.FunctionName, "AWS_LAMBDA_FUNCTION_VERSION": latest,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(f.cfg.MemorySize), "AWS_REGION": s.opts.Region,
		"AWS_DEFAULT_REGION": s.opts.Region, "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/" + f.cfg.FunctionName,
		"AWS_LAMBDA_LOG_STREAM_NAME":     time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + core.HexID(16),
		"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand", "_HANDLER": f.cfg.Handler, "LAMBDA_TASK_ROOT": f.dir,
		"PATH": defaultPath, "TZ": ":UTC", "LANG": "en_US.UTF-8",
	})
	vars := make([]string, 0, len(env))
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	spec := core.Spec{Path: filepath.Join(f.dir, bootstrapFile), Dir: f.dir, Env: vars, StartTimeout: initTimeout}
	if strings.HasPrefix(f.cfg.Runtime, pythonRuntimePrefix) {
		return python.LambdaHandler{Runtimes: s.python}, spec
	}
	return runtimeapi.Runtime{}, spec
}

// readJSON decodes a request's JSON body.
func readJSON(r *http.Request, v any) (apiError, bool) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxCreateBody+1))
	if err != nil || len(data) > maxCreateBody {
		return apiError{http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than 70167211 bytes for the CreateFunction operation"}, false
	}
	if err := json.Unmarshal(data, v); err != nil {
		return invalid("the request body is not JSON the API takes: %v", err), false
	}
	return apiError{}, true
}

func or(value, fallback string) string {
	if value == "" {
		return fallback
	}
	return value
}
