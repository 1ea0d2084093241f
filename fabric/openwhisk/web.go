package openwhisk

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fedkeeper/fedkeeper/fabric/core"
)

// Web actions: /api/v1/web/{namespace}/{package}/{action}[.ext], where actions outside
// a package use the package "default". The action must be annotated web-export; with
// raw-http the body and query reach it unparsed (the seed deployed with --web raw).
//
// OpenWhisk serves web actions to anyone unless require-whisk-auth is set. The fabric
// serves nothing without credentials: a caller gives the namespace's basic
// authentication or, when require-whisk-auth is a string, that secret in
// X-Require-Whisk-Auth.

func (s *Server) webRoutes() {
	s.mux.HandleFunc("/api/v1/web/{ns}/{pkg}/{action}", s.web)
	s.mux.HandleFunc("/api/v1/web/{ns}/{pkg}/{action}/{rest...}", s.web)
}

func annotationValue(kv []keyValue, key string) (json.RawMessage, bool) {
	for _, p := range kv {
		if p.Key == key {
			return p.Value, true
		}
	}
	return nil, false
}

func isTrue(raw json.RawMessage) bool {
	return strings.TrimSpace(string(raw)) == "true"
}

func (s *Server) web(w http.ResponseWriter, r *http.Request) {
	ns, pkg, action := r.PathValue("ns"), r.PathValue("pkg"), r.PathValue("action")
	action, ext, _ := strings.Cut(action, ".")
	name := action
	if pkg != "default" {
		name = pkg + "/" + action
	}
	s.mu.Lock()
	a, ok := s.actions[name]
	s.mu.Unlock()
	if (ns != s.opts.Namespace && ns != "_") || !ok {
		writeError(w, http.StatusNotFound, "The requested resource does not exist.")
		return
	}
	if exported, ok := annotationValue(a.Annotations, "web-export"); !ok || !isTrue(exported) {
		writeError(w, http.StatusNotFound, "The requested resource does not exist.")
		return
	}
	if !s.webAuthorized(r, a) {
		writeError(w, http.StatusUnauthorized, "The supplied authentication is invalid")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "The request content was malformed:\nrequest entity too large")
		return
	}
	params, ok := webParams(w, r, a, body)
	if !ok {
		return
	}
	act, status, msg := s.start(a, params)
	if act == nil {
		writeError(w, status, msg)
		return
	}
	w.Header().Set("x-openwhisk-activation-id", act.id)
	timer := time.NewTimer(time.Duration(a.Limits.Timeout)*time.Millisecond + s.opts.MaxBlockingWait)
	defer timer.Stop()
	select {
	case <-act.done:
	case <-timer.C:
		writeError(w, http.StatusAccepted, "Response not yet ready.")
		return
	case <-r.Context().Done():
		return
	}
	writeWebResult(w, act.record(), ext)
}

func (s *Server) webAuthorized(r *http.Request, a *action) bool {
	creds := core.AnyOf{s.guard.Credential}
	// require-whisk-auth may also be true, which asks for the namespace's key only.
	if required, ok := annotationValue(a.Annotations, "require-whisk-auth"); ok {
		var secret string
		if json.Unmarshal(required, &secret) == nil {
			creds = append(creds, core.Secret{Header: "X-Require-Whisk-Auth", Value: secret})
		}
	}
	return creds.Admits(r)
}

// webParams builds the action's parameters: the HTTP context as __ow_* fields and, for
// raw actions, the body and query as they came (the body base64 when it is JSON or
// binary), otherwise the query and a JSON body merged in.
func webParams(w http.ResponseWriter, r *http.Request, a *action, body []byte) (json.RawMessage, bool) {
	headers := map[string]string{}
	for k, vs := range r.Header {
		if strings.EqualFold(k, "Authorization") || strings.EqualFold(k, "X-Require-Whisk-Auth") {
			continue
		}
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	params := map[string]any{}
	for _, kv := range a.Parameters {
		if !kv.Init {
			params[kv.Key] = kv.Value
		}
	}
	params["__ow_method"] = strings.ToLower(r.Method)
	params["__ow_headers"] = headers
	params["__ow_path"] = "/" + r.PathValue("rest")
	raw, _ := annotationValue(a.Annotations, "raw-http")
	if isTrue(raw) {
		params["__ow_query"] = r.URL.RawQuery
		if len(body) > 0 {
			if json.Valid(body) || !utf8.Valid(body) {
				params["__ow_body"] = base64.StdEncoding.EncodeToString(body)
			} else {
				params["__ow_body"] = string(body)
			}
		}
	} else {
		given := map[string]json.RawMessage{}
		for k, vs := range r.URL.Query() {
			given[k], _ = json.Marshal(vs[0])
		}
		if len(body) > 0 {
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(body, &fields); err != nil {
				writeError(w, http.StatusBadRequest, "The request content was malformed:\nthe body must be a JSON object")
				return nil, false
			}
			maps.Copy(given, fields)
		}
		if err := a.checkFinal(given); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return nil, false
		}
		for k, v := range given {
			params[k] = v
		}
	}
	data, err := json.Marshal(params)
	if err != nil {
		writeError(w, http.StatusBadRequest, "The request content was malformed")
		return nil, false
	}
	return data, true
}

// writeWebResult turns an activation into the HTTP answer: the result as JSON for .json,
// otherwise the result's {statusCode, headers, body}.
func writeWebResult(w http.ResponseWriter, rec *record, ext string) {
	if rec.Response.Status != statusSuccess {
		status := http.StatusBadGateway
		if rec.Response.Status == statusInternalError {
			status = http.StatusInternalServerError
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(rec.Response.Result)
		return
	}
	if ext == "json" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(rec.Response.Result)
		return
	}
	var out struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Body       json.RawMessage   `json:"body"`
	}
	if err := json.Unmarshal(rec.Response.Result, &out); err != nil {
		writeError(w, http.StatusBadGateway, "The action did not produce a valid response.")
		return
	}
	for k, v := range out.Headers {
		w.Header().Set(k, v)
	}
	var payload []byte
	var text string
	switch {
	case len(out.Body) == 0 || string(out.Body) == "null":
	case json.Unmarshal(out.Body, &text) == nil:
		payload = []byte(text)
		ctype := w.Header().Get("Content-Type")
		if ctype != "" && !strings.HasPrefix(ctype, "text/") && !strings.Contains(ctype, "json") {
			// A binary content type carries its body base64-encoded.
			if decoded, err := base64.StdEncoding.DecodeString(text); err == nil {
				payload = decoded
			}
		} else if ctype == "" {
			w.Header().Set("Content-Type", "text/html")
		}
	default:
		payload = out.Body
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
	}
	status := out.StatusCode
	if status == 0 {
		status = http.StatusOK
		if len(payload) == 0 {
			status = http.StatusNoContent
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(payload)
}
