package core

import (
	"net/http/httptest"
	"testing"
)

func TestWriteJSON(t *testing.T) {
	tests := []struct {
		name     string
		write    func(w *httptest.ResponseRecorder)
		wantType string
		wantCode int
		wantBody string
	}{
		{"plain", func(w *httptest.ResponseRecorder) { WriteJSON(w, 201, map[string]int{"a": 1}) },
			"application/json", 201, "{\"a\":1}\n"},
		{"with a charset", func(w *httptest.ResponseRecorder) {
			WriteJSONAs(w, "application/json; charset=UTF-8", 404, []string{"x"})
		},
			"application/json; charset=UTF-8", 404, "[\"x\"]\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			tc.write(w)
			if got := w.Header().Get("Content-Type"); got != tc.wantType {
				t.Errorf("Content-Type %q, want %q", got, tc.wantType)
			}
			if w.Code != tc.wantCode || w.Body.String() != tc.wantBody {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body.String(), tc.wantCode, tc.wantBody)
			}
		})
	}
}
