package core

import (
	"regexp"
	"testing"
)

func TestIDs(t *testing.T) {
	tests := []struct {
		name string
		id   func() string
		form *regexp.Regexp
	}{
		{"OpenWhisk activation", func() string { return HexID(16) }, regexp.MustCompile(`^[0-9a-f]{32}$`)},
		{"GCF execution", func() string { return HexID(6) }, regexp.MustCompile(`^[0-9a-f]{12}$`)},
		{"OpenFaaS call", UUID, regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first, second := tc.id(), tc.id()
			if !tc.form.MatchString(first) {
				t.Errorf("%q is not of the form %s", first, tc.form)
			}
			if first == second {
				t.Errorf("two ids alike: %s", first)
			}
		})
	}
}
