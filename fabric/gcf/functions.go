package gcf

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
)

// cloudFunction is the v1 CloudFunction resource (the fields the fabric honours, and
// the output fields it fills).
type cloudFunction struct {
	Name                 string            `json:"name"`
	Description          string            `json:"description,omitempty"`
	EntryPoint           string            `json:"entryPoint,omitempty"`
	Runtime              string            `json:"runtime,omitempty"`
	AvailableMemoryMb    int64             `json:"availableMemoryMb,omitempty"`
	Timeout              string            `json:"timeout,omitempty"`
	MaxInstances         int64             `json:"maxInstances,omitempty"`
	MinInstances         int64             `json:"minInstances,omitempty"`
	SourceUploadURL      string            `json:"sourceUploadUrl,omitempty"`
	SourceArchiveURL     string            `json:"sourceArchiveUrl,omitempty"`
	SourceRepository     json.RawMessage   `json:"sourceRepository,omitempty"`
	HTTPSTrigger         *httpsTrigger     `json:"httpsTrigger,omitempty"`
	EventTrigger         json.RawMessage   `json:"eventTrigger,omitempty"`
	EnvironmentVariables map[string]string `json:"environmentVariables,omitempty"`
	// SecretEnvironmentVariables reference Secret Manager versions; instances get
	// their values, descriptions only the references.
	SecretEnvironmentVariables []secretEnvVar    `json:"secretEnvironmentVariables,omitempty"`
	Labels                     map[string]string `json:"labels,omitempty"`
	ServiceAccountEmail        string            `json:"serviceAccountEmail,omitempty"`
	IngressSettings            string            `json:"ingressSettings,omitempty"`
	Status                     string            `json:"status,omitempty"`
	UpdateTime                 string            `json:"updateTime,omitempty"`
	VersionID                  int64             `json:"versionId,omitempty,string"`
	BuildID                    string            `json:"buildId,omitempty"`
}

type httpsTrigger struct {
	URL           string `json:"url,omitempty"`
	SecurityLevel string `json:"securityLevel,omitempty"`
}

// function is a deployed function: its resource and, once built, its binary.
type function struct {
	resource cloudFunction
	// active is the version that serves requests (0 before the first build finishes).
	active   int64
	built    artifact
	timeout  time.Duration
	project  string
	location string
	short    string
}

var functionID = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,62}$`)

// parseName checks projects/P/locations/L/functions/F.
func parseName(name string) (project, location, fn string, ok bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 6 || parts[0] != "projects" || parts[2] != "locations" || parts[4] != "functions" || !functionID.MatchString(parts[5]) {
		return "", "", "", false
	}
	return parts[1], parts[3], parts[5], true
}

func fullName(r *http.Request) string {
	fn, _ := splitMethod(r.PathValue("fn"))
	return "projects/" + r.PathValue("project") + "/locations/" + r.PathValue("location") + "/functions/" + fn
}

func (s *Server) view(f *function) cloudFunction {
	out := f.resource
	if out.SourceUploadURL != "" {
		// Reads return the upload URL without its signature.
		out.SourceUploadURL = strings.SplitN(out.SourceUploadURL, "?", 2)[0]
	}
	return out
}

// readResource decodes a CloudFunction body and checks what the fabric can run.
func readResource(w http.ResponseWriter, r *http.Request) (cloudFunction, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "request too large")
		return cloudFunction{}, false
	}
	var cf cloudFunction
	if err := json.Unmarshal(body, &cf); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return cloudFunction{}, false
	}
	return cf, true
}

func validate(cf cloudFunction, creating bool) string {
	switch {
	case creating && cf.Runtime == "":
		return "Runtime is required."
	case cf.Runtime != "" && !strings.HasPrefix(cf.Runtime, "go") && !pythonRuntimes[cf.Runtime]:
		return fmt.Sprintf("Runtime %q is not available here: the local fabric builds Go sources (go121 … go126) and serves Python ones (python39 … python312).", cf.Runtime)
	case creating && cf.SourceUploadURL == "" && cf.SourceArchiveURL == "" && cf.SourceRepository == nil:
		return "Source is required: set sourceUploadUrl, sourceArchiveUrl or sourceRepository."
	case cf.SourceArchiveURL != "" || cf.SourceRepository != nil:
		return "The local fabric takes sources through generateUploadUrl only."
	case creating && cf.HTTPSTrigger == nil && cf.EventTrigger == nil:
		return "A trigger is required: set httpsTrigger."
	case cf.EventTrigger != nil:
		return "Event triggers are not available here; use httpsTrigger."
	case cf.AvailableMemoryMb < 0 || cf.AvailableMemoryMb > 8192:
		return fmt.Sprintf("availableMemoryMb %d is outside 128..8192.", cf.AvailableMemoryMb)
	}
	if cf.Timeout != "" {
		d, err := time.ParseDuration(cf.Timeout)
		if err != nil || d <= 0 || d > 540*time.Second {
			return fmt.Sprintf("timeout %q must be a duration up to 540s.", cf.Timeout)
		}
	}
	return ""
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	cf, ok := readResource(w, r)
	if !ok {
		return
	}
	parent := "projects/" + r.PathValue("project") + "/locations/" + r.PathValue("location")
	project, location, short, valid := parseName(cf.Name)
	if !valid || !strings.HasPrefix(cf.Name, parent+"/") {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("The function name %q must be %s/functions/<id>, with an id of letters, digits, _ and -.", cf.Name, parent))
		return
	}
	if msg := validate(cf, true); msg != "" {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg)
		return
	}
	if _, err := s.secrets.resolve(project, cf.SecretEnvironmentVariables); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
		return
	}
	source, ok := s.takeUpload(w, cf.SourceUploadURL)
	if !ok {
		return
	}
	s.mu.Lock()
	if _, exists := s.functions[cf.Name]; exists {
		s.mu.Unlock()
		// The create call itself succeeds; its operation fails, as on GCF.
		op := s.newOperation("CREATE_FUNCTION", cf.Name, 0)
		op.fail(6, "ALREADY_EXISTS", fmt.Sprintf("Function %s already exists", cf.Name))
		writeJSON(w, http.StatusOK, op.view())
		return
	}
	cf.Status, cf.VersionID = "DEPLOY_IN_PROGRESS", 1
	cf.UpdateTime = time.Now().UTC().Format(time.RFC3339Nano)
	if cf.EntryPoint == "" {
		cf.EntryPoint = short
	}
	cf.HTTPSTrigger = &httpsTrigger{URL: s.TriggerURL(project, location, short), SecurityLevel: securityLevel(cf.HTTPSTrigger)}
	f := &function{resource: cf, project: project, location: location, short: short}
	s.functions[cf.Name] = f
	s.mu.Unlock()
	op := s.newOperation("CREATE_FUNCTION", cf.Name, 1)
	s.startBuild(f, 1, source, op, nil)
	writeJSON(w, http.StatusOK, op.view())
}

func securityLevel(t *httpsTrigger) string {
	if t != nil && t.SecurityLevel != "" {
		return t.SecurityLevel
	}
	return "SECURE_OPTIONAL"
}

// takeUpload takes the source a sourceUploadUrl points at: the deploy holds it from
// now on, and the URL is spent.
func (s *Server) takeUpload(w http.ResponseWriter, uploadURL string) ([]byte, bool) {
	token, ok := strings.CutPrefix(strings.SplitN(uploadURL, "?", 2)[0], s.opts.BaseURL+UploadPrefix)
	s.mu.Lock()
	s.sweepUploads()
	up, found := s.uploads[token]
	if found && up.data != nil {
		delete(s.uploads, token)
	}
	s.mu.Unlock()
	if !ok || !found || up.data == nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "sourceUploadUrl was not issued by generateUploadUrl, has expired, was used already, or nothing was uploaded to it.")
		return nil, false
	}
	return up.data, true
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*function, string, bool) {
	name := fullName(r)
	s.mu.Lock()
	f, ok := s.functions[name]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("Function %s does not exist", name))
		return nil, name, false
	}
	return f, name, true
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	if _, method := splitMethod(r.PathValue("fn")); method != "" {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
		return
	}
	f, _, ok := s.lookup(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	view := s.view(f)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, view)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	project, location := r.PathValue("project"), r.PathValue("location")
	pageSize := 100
	if v := r.URL.Query().Get("pageSize"); v != "" {
		if _, err := fmt.Sscan(v, &pageSize); err != nil || pageSize < 1 {
			writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "pageSize must be a positive integer")
			return
		}
	}
	skip := 0
	if tok := r.URL.Query().Get("pageToken"); tok != "" {
		if _, err := fmt.Sscan(tok, &skip); err != nil || skip < 0 {
			writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "invalid pageToken")
			return
		}
	}
	s.mu.Lock()
	var all []cloudFunction
	for _, f := range s.functions {
		if f.project == project && (location == "-" || f.location == location) {
			all = append(all, s.view(f))
		}
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	out := map[string]any{"functions": []cloudFunction{}}
	if skip < len(all) {
		end := min(skip+pageSize, len(all))
		out["functions"] = all[skip:end]
		if end < len(all) {
			out["nextPageToken"] = fmt.Sprint(end)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request) {
	f, name, ok := s.lookup(w, r)
	if !ok {
		return
	}
	cf, ok := readResource(w, r)
	if !ok {
		return
	}
	if msg := validate(cf, false); msg != "" {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg)
		return
	}
	mask := map[string]bool{}
	for _, field := range strings.Split(r.URL.Query().Get("updateMask"), ",") {
		if field = strings.TrimSpace(field); field != "" {
			mask[field] = true
		}
	}
	if len(mask) == 0 {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "updateMask is required")
		return
	}
	if _, err := s.secrets.resolve(f.project, cf.SecretEnvironmentVariables); mask["secretEnvironmentVariables"] && err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
		return
	}
	var source []byte
	if mask["sourceUploadUrl"] {
		if source, ok = s.takeUpload(w, cf.SourceUploadURL); !ok {
			return
		}
	}
	s.mu.Lock()
	if f.resource.Status == "DEPLOY_IN_PROGRESS" || f.resource.Status == "DELETE_IN_PROGRESS" {
		s.mu.Unlock()
		writeError(w, http.StatusConflict, "ABORTED", fmt.Sprintf("An operation on function %s is already in progress.", name))
		return
	}
	prev := f.resource
	next := f.resource
	for field := range mask {
		switch field {
		case "sourceUploadUrl":
			next.SourceUploadURL = cf.SourceUploadURL
		case "entryPoint":
			next.EntryPoint = cf.EntryPoint
		case "runtime":
			next.Runtime = cf.Runtime
		case "availableMemoryMb":
			next.AvailableMemoryMb = cf.AvailableMemoryMb
		case "timeout":
			next.Timeout = cf.Timeout
		case "maxInstances":
			next.MaxInstances = cf.MaxInstances
		case "minInstances":
			next.MinInstances = cf.MinInstances
		case "environmentVariables":
			next.EnvironmentVariables = cf.EnvironmentVariables
		case "secretEnvironmentVariables":
			next.SecretEnvironmentVariables = cf.SecretEnvironmentVariables
		case "labels":
			next.Labels = cf.Labels
		case "description":
			next.Description = cf.Description
		default:
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("updateMask field %q cannot be changed here", field))
			return
		}
	}
	version := f.resource.VersionID + 1
	next.VersionID = version
	next.Status = "DEPLOY_IN_PROGRESS"
	next.UpdateTime = time.Now().UTC().Format(time.RFC3339Nano)
	f.resource = next
	s.mu.Unlock()
	op := s.newOperation("UPDATE_FUNCTION", name, version)
	// Without a new source the built binary stays and only the settings change.
	s.startBuild(f, version, source, op, &prev)
	writeJSON(w, http.StatusOK, op.view())
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	f, name, ok := s.lookup(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	f.resource.Status = "DELETE_IN_PROGRESS"
	delete(s.functions, name)
	s.mu.Unlock()
	op := s.newOperation("DELETE_FUNCTION", name, f.resource.VersionID)
	s.invoker.Purge(name)
	op.finish(nil)
	writeJSON(w, http.StatusOK, op.view())
}

// locationMethod serves POST …/locations/L/functions:generateUploadUrl.
func (s *Server) locationMethod(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("method") != "functions:generateUploadUrl" {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
		return
	}
	token := core.HexID(16)
	expires := s.now().Add(uploadValidity).Unix()
	s.mu.Lock()
	s.sweepUploads()
	s.uploads[token] = &upload{expires: time.Unix(expires, 0)}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"uploadUrl": fmt.Sprintf("%s%s%s?GoogleAccessId=fabric&Expires=%d&Signature=%s",
		s.opts.BaseURL, UploadPrefix, token, expires, s.uploadSignature(token, expires))})
}

// maxSource is GCF's limit on an uploaded source archive.
const maxSource = 100 << 20

// upload takes the PUT of a source zip to a signed URL (no Authorization header): the
// URL must carry the signature the fabric made for it and be within its expiry, and it
// takes one upload.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	expires, err := strconv.ParseInt(r.URL.Query().Get("Expires"), 10, 64)
	signed := err == nil && hmac.Equal([]byte(r.URL.Query().Get("Signature")), []byte(s.uploadSignature(token, expires)))
	s.mu.Lock()
	s.sweepUploads()
	up, issued := s.uploads[token]
	s.mu.Unlock()
	switch {
	case !signed:
		http.Error(w, "SignatureDoesNotMatch: the request signature we calculated does not match the signature you provided", http.StatusForbidden)
		return
	case !issued || s.now().Unix() > expires:
		http.Error(w, "ExpiredToken: the signed URL has expired or was never issued", http.StatusBadRequest)
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSource))
	if err != nil {
		http.Error(w, "EntityTooLarge: the source archive exceeds 100 MB", http.StatusRequestEntityTooLarge)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if up.data != nil {
		http.Error(w, "AccessDenied: this signed URL took its upload already", http.StatusForbidden)
		return
	}
	up.data = data
	w.WriteHeader(http.StatusOK)
}

// uploadValidity is how long a generated upload URL takes an upload (GCF: 5 minutes);
// an upload no deploy took is deleted then.
const uploadValidity = 5 * time.Minute

// upload is a source upload URL's state.
type upload struct {
	expires time.Time
	data    []byte // nil until the PUT
}

// uploadSignature signs an upload URL's token and expiry with the fabric's own key.
func (s *Server) uploadSignature(token string, expires int64) string {
	mac := hmac.New(sha256.New, s.uploadKey)
	fmt.Fprintf(mac, "%s\n%d", token, expires)
	return hex.EncodeToString(mac.Sum(nil))
}

// sweepUploads deletes the uploads past their expiry; the caller holds s.mu.
func (s *Server) sweepUploads() {
	now := s.now()
	for token, up := range s.uploads {
		if now.After(up.expires) {
			delete(s.uploads, token)
		}
	}
}

// functionMethod serves POST …/functions/F:call and F:generateDownloadUrl.
func (s *Server) functionMethod(w http.ResponseWriter, r *http.Request) {
	_, method := splitMethod(r.PathValue("fn"))
	switch method {
	case "call":
		s.call(w, r)
	default:
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
	}
}
