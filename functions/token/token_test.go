package token

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestSignAndVerify(t *testing.T) {
	tok := Sign("k", "exp", 3, 7)
	tests := []struct {
		name  string
		key   string
		token string
		parts []any
		ok    bool
	}{
		{"same key and parts", "k", tok, []any{"exp", 3, 7}, true},
		{"another round", "k", tok, []any{"exp", 4, 7}, false},
		{"another client", "k", tok, []any{"exp", 3, 8}, false},
		{"another key", "x", tok, []any{"exp", 3, 7}, false},
		{"no token", "k", "", []any{"exp", 3, 7}, false},
		{"no key", "", tok, []any{"exp", 3, 7}, false},
		// Parts are separated: ("ab", 1) is not ("a", "b1").
		{"shifted parts", "k", Sign("k", "ab", 1), []any{"a", "b1"}, false},
	}
	for _, tc := range tests {
		err := Verify(tc.key, tc.token, tc.parts...)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if err := Verify("k", "bad", "exp"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad token: %v", err)
	}
}

func TestLoadOrCreateSharesOneKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sub", "token.key")
	a, err := LoadOrCreate(file)
	if err != nil || len(a) != 64 {
		t.Fatalf("key %q %v", a, err)
	}
	b, err := LoadOrCreate(file)
	if err != nil || a != b {
		t.Fatalf("second load %q, want %q (%v)", b, a, err)
	}
}
