package cliflags

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

type values struct {
	config string
	remove bool
}

func newSet(out *bytes.Buffer) (*Set, *values) {
	v := &values{}
	s := New("tool", "usage: tool [flags]", out)
	s.String(&v.config, "config.yaml", "config `file`", "config", "c", "configfile")
	s.Bool(&v.remove, "remove the `functions`", "r", "remove")
	return s, v
}

// Every name of a flag, with one dash or two, sets the same variable.
func TestAliasesShareTheVariable(t *testing.T) {
	tests := []struct {
		args       []string
		wantConfig string
		wantRemove bool
	}{
		{nil, "config.yaml", false},
		{[]string{"-config", "a.yaml"}, "a.yaml", false},
		{[]string{"-c", "b.yaml", "-r"}, "b.yaml", true},
		{[]string{"--configfile=c.yaml", "--remove"}, "c.yaml", true},
		{[]string{"--configfile", "d.yaml"}, "d.yaml", false},
		{[]string{"-c", "e.yaml", "--configfile", "f.yaml"}, "f.yaml", false},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			s, v := newSet(&out)
			if err := s.Parse(tc.args); err != nil {
				t.Fatalf("%v: %s", err, out.String())
			}
			if v.config != tc.wantConfig || v.remove != tc.wantRemove {
				t.Errorf("config %q remove %v, want %q %v", v.config, v.remove, tc.wantConfig, tc.wantRemove)
			}
		})
	}
}

// The usage lists a flag once, with all its names and its default.
func TestUsageListsEachFlagOnce(t *testing.T) {
	var out bytes.Buffer
	s, _ := newSet(&out)
	if err := s.Parse([]string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	want := "usage: tool [flags]\n" +
		"  -config, -c, -configfile file\n    \tconfig file (default \"config.yaml\")\n" +
		"  -r, -remove\n    \tremove the functions\n"
	if out.String() != want {
		t.Errorf("usage\n%s\nwant\n%s", out.String(), want)
	}
}

func TestStrayArgumentIsAnError(t *testing.T) {
	var out bytes.Buffer
	s, _ := newSet(&out)
	err := s.Parse([]string{"-r", "config.yaml"})
	if err == nil || !strings.Contains(err.Error(), `unexpected argument "config.yaml"`) {
		t.Fatalf("error %v", err)
	}
	if !strings.Contains(out.String(), "usage: tool") {
		t.Errorf("no usage after the error: %s", out.String())
	}
}
