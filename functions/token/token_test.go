package token

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestSignAndVerify(t *testing.T) {
	tok := Sign("k", "exp", "3", "7")
	tests := []struct {
		name  string
		key   string
		token string
		parts []string
		want  error
	}{
		{"same key and parts", "k", tok, []string{"exp", "3", "7"}, nil},
		{"another round", "k", tok, []string{"exp", "4", "7"}, ErrInvalid},
		{"another client", "k", tok, []string{"exp", "3", "8"}, ErrInvalid},
		{"another key", "x", tok, []string{"exp", "3", "7"}, ErrInvalid},
		{"no token", "k", "", []string{"exp", "3", "7"}, ErrInvalid},
		{"no key", "", tok, []string{"exp", "3", "7"}, ErrNoKey},
		{"a part more", "k", tok, []string{"exp", "3", "7", ""}, ErrInvalid},
		// The old encoding joined parts with "|": a separator inside a part moved the
		// boundary without changing the signed bytes.
		{"separator moved into a part", "k", Sign("k", "a|b", "1"), []string{"a", "b|1"}, ErrInvalid},
		{"separator moved out of a part", "k", Sign("k", "a", "b|1"), []string{"a|b", "1"}, ErrInvalid},
		{"parts split differently", "k", Sign("k", "ab", "c"), []string{"a", "bc"}, ErrInvalid},
		{"empty parts shifted", "k", Sign("k", "", "ab"), []string{"ab", ""}, ErrInvalid},
		{"a length prefix forged into a part", "k", Sign("k", "a", "b"), []string{"a\x00\x00\x00\x00\x00\x00\x00\x01b"}, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.key, tc.token, tc.parts...)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
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
