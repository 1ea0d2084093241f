package core

import (
	"encoding/json"
	"net/http"
)

// WriteJSON answers v as JSON with status, under Content-Type application/json.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	WriteJSONAs(w, "application/json", status, v)
}

// WriteJSONAs is WriteJSON under another content type: Google's APIs name their charset.
func WriteJSONAs(w http.ResponseWriter, contentType string, status int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	// The status is sent; a failed encoding (the client went away) has nobody to tell.
	_ = json.NewEncoder(w).Encode(v)
}
