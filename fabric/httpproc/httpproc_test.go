package httpproc

import (
	"net/http"
	"slices"
	"testing"
)

func TestCopyHeader(t *testing.T) {
	fn := Response{Header: http.Header{
		"Content-Type":   {"application/json"},
		"X-Custom":       {"a", "b"},
		"Content-Length": {"12"},
		"Date":           {"Mon, 01 Jan 2024 00:00:00 GMT"},
	}}
	dst := http.Header{"X-Call-Id": {"id"}, "Content-Type": {"text/plain"}}
	fn.CopyHeader(dst)
	tests := []struct {
		key  string
		want []string
	}{
		{"Content-Type", []string{"application/json"}}, // the function's answer wins
		{"X-Custom", []string{"a", "b"}},
		{"X-Call-Id", []string{"id"}}, // the platform's own stays
		{"Content-Length", nil},       // the platform's server sets these
		{"Date", nil},
	}
	for _, tc := range tests {
		if got := dst.Values(tc.key); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.key, got, tc.want)
		}
	}
}
