// Package httpfn serves a catalog function over HTTP, the calling convention of Cloud
// Functions (functions-framework) and OpenFaaS handlers: the request body is the JSON
// parameters, the response body the JSON result; a failure is a 500 with {"error": …}.
package httpfn

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
)

// maxBody bounds a request (GCF accepts 10 MB).
const maxBody = 10 << 20

// Handler adapts fn (a catalog function, or a client the SDK serves) to net/http.
func Handler(fn func(ctx context.Context, params json.RawMessage) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "request too large"})
			return
		}
		if len(body) == 0 {
			body = []byte("{}")
		}
		if !json.Valid(body) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the request body is not JSON"})
			return
		}
		out, err := fn(r.Context(), body)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"error":"result is not JSON"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
