package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

// The seed's main.py options work as they are, beside FedKeeper's own names.
func TestSeedOptions(t *testing.T) {
	tests := []struct {
		args                  []string
		config                string
		remove, deploy, learn bool
	}{
		{nil, "config.yaml", false, false, true},
		{[]string{"-c", "./config.yaml", "-r"}, "./config.yaml", true, false, false},
		{[]string{"--configfile=seed.yaml", "--deploy"}, "seed.yaml", false, true, false},
		{[]string{"--configfile", "seed.yaml", "--start_fl"}, "seed.yaml", false, false, true},
		{[]string{"-configfile", "a.yaml", "--remove", "--deploy", "--start_fl"}, "a.yaml", true, true, true},
		{[]string{"-config", "b.yaml", "-r", "-d", "-s"}, "b.yaml", true, true, true},
		{[]string{"-c", "c.yaml", "-d"}, "c.yaml", false, true, false},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			o, err := parseFlags(tc.args, &out)
			if err != nil {
				t.Fatalf("%v: %s", err, out.String())
			}
			if o.configPath != tc.config || o.remove != tc.remove || o.deploy != tc.deploy || o.learn != tc.learn {
				t.Errorf("config %q remove %v deploy %v learn %v; want %q %v %v %v",
					o.configPath, o.remove, o.deploy, o.learn, tc.config, tc.remove, tc.deploy, tc.learn)
			}
		})
	}
}

// -h lists every flag once, its aliases beside it.
func TestHelpListsAliasesOnce(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseFlags([]string{"--help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	usage := out.String()
	for _, line := range []string{"  -config, -c, -configfile file\n", "  -r, -remove\n", "  -d, -deploy\n", "  -s, -start_fl\n"} {
		if strings.Count(usage, line) != 1 {
			t.Errorf("usage has %q %d times:\n%s", line, strings.Count(usage, line), usage)
		}
	}
	if n := strings.Count(usage, "\n  -"); n != 10 {
		t.Errorf("usage lists %d flags, want the starter's 10:\n%s", n, usage)
	}
}

// -seed-functions is a removal: alone it removes only the seed's functions and, like
// -r, does not start learning unless -s says so.
func TestSeedFunctionsFlag(t *testing.T) {
	tests := []struct {
		args                []string
		seed, remove, learn bool
	}{
		{[]string{"-seed-functions"}, true, false, false},
		{[]string{"--seed-functions", "-r"}, true, true, false},
		{[]string{"-seed-functions", "-r", "-d", "-s"}, true, true, true},
		{[]string{"-r"}, false, true, false},
	}
	for _, tc := range tests {
		o, err := parseFlags(tc.args, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if o.seedFunctions != tc.seed || o.remove != tc.remove || o.learn != tc.learn {
			t.Errorf("%v: seed %v remove %v learn %v, want %v %v %v", tc.args, o.seedFunctions, o.remove, o.learn, tc.seed, tc.remove, tc.learn)
		}
	}
}
