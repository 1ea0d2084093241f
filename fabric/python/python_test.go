package python

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A requirements.txt is read as pip reads its names: comments, options and version
// specifiers aside; what the interpreter has (Debian's packages) counts as installed,
// whatever the spelling, and so do the names the runner provides.
func TestMissing(t *testing.T) {
	if err := Require(context.Background(), DefaultInterpreter, "flask"); err != nil {
		t.Fatal(err)
	}
	r, err := Install(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		requirements string // "" writes no file
		provided     []string
		want         []string
	}{
		{"no file", "", nil, nil},
		{"installed, any spelling and version", "Flask>=2.0\njson5-not-here ; python_version > '3'\n# a comment\n-r other.txt\n\nWerkzeug==2.2.2 # pinned\n", nil, []string{"json5-not-here"}},
		{"a module by its import name", "importlib_metadata_not_here\njson\n", nil, []string{"importlib_metadata_not_here"}},
		{"provided by the runner", "functions-framework==3.*\n", []string{"functions_framework"}, []string{}},
		{"not provided otherwise", "functions-framework==3.*\n", nil, []string{"functions-framework"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "requirements.txt")
			if tc.requirements != "" {
				if err := os.WriteFile(path, []byte(tc.requirements), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := r.Missing(context.Background(), path, tc.provided...)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Errorf("missing %q, want %q", got, tc.want)
			}
		})
	}
	msg := r.MissingError([]string{"scikit_learn", "Pillow"}).Error()
	for _, want := range []string{"scikit_learn, Pillow", DefaultInterpreter, "cannot pip install", "apt-get install python3-scikit-learn python3-pillow"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

// An interpreter that is not there is named, with what to do about it.
func TestAvailable(t *testing.T) {
	r, err := Install(t.TempDir(), "/nonexistent/python3")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Available(); err == nil || !strings.Contains(err.Error(), "/nonexistent/python3 is missing") || !strings.Contains(err.Error(), "fabric.python") {
		t.Errorf("Available: %v", err)
	}
	if err := Require(context.Background(), "/nonexistent/python3", "flask"); err == nil || !strings.Contains(err.Error(), "install python3 python3-flask") {
		t.Errorf("Require: %v", err)
	}
}
