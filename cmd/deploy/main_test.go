package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

// deploy.py's command lines, in its long and short spellings, read as they did there.
func TestSeedOptions(t *testing.T) {
	tests := []struct {
		args []string
		want options
	}{
		{[]string{"-c", "./config.yaml", "-a", "-s", "test", "-f", "nodeinfo", "-d"},
			options{configPath: "./config.yaml", all: true, scenario: "test", functions: "nodeinfo", doDeploy: true}},
		{[]string{"--configfile=./config.yaml", "--ow_providers_list=invasic_cluster", "--gcf_providers_list", "gcf_cluster",
			"--scenario_name", "test", "--functions_list", "nodeinfo", "--remove"},
			options{configPath: "./config.yaml", ow: "invasic_cluster", gcf: "gcf_cluster", scenario: "test", functions: "nodeinfo", doRemove: true}},
		{[]string{"--configfile", "c.yaml", "--all_providers", "--deploy", "-m"},
			options{configPath: "c.yaml", all: true, scenario: "test", doDeploy: true, metaData: true}},
		{[]string{"-config", "c.yaml", "-e", "edge", "-r", "--get_meta_data"},
			options{configPath: "c.yaml", edge: "edge", scenario: "test", doRemove: true, metaData: true}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			got, err := parseFlags(tc.args, &out)
			if err != nil {
				t.Fatalf("%v: %s", err, out.String())
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDeployOrRemove(t *testing.T) {
	for _, args := range [][]string{{"-a"}, {"-a", "-d", "--remove"}} {
		var out bytes.Buffer
		if _, err := parseFlags(args, &out); err == nil || !strings.Contains(out.String(), "exactly one of -d") {
			t.Errorf("%v: error %v, output %q", args, err, out.String())
		}
	}
}

// -h lists every flag once, with deploy.py's long name beside the letter.
func TestHelpListsAliasesOnce(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	usage := out.String()
	for _, line := range []string{"  -config, -c, -configfile file\n", "  -a, -all_providers\n", "  -o, -ow_providers_list clusters\n",
		"  -g, -gcf_providers_list clusters\n", "  -l, -lambda_providers_list clusters\n", "  -s, -scenario_name scenario\n", "  -f, -functions_list functions\n",
		"  -d, -deploy\n", "  -r, -remove\n"} {
		if strings.Count(usage, line) != 1 {
			t.Errorf("usage has %q %d times:\n%s", line, strings.Count(usage, line), usage)
		}
	}
	if n := strings.Count(usage, "\n  -"); n != 11 {
		t.Errorf("usage lists %d flags, want 11:\n%s", n, usage)
	}
}
