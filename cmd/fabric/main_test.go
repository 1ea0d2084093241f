package main

import (
	"strings"
	"testing"

	"github.com/fedkeeper/fedkeeper/fabric/openwhisk"
)

// The fabric runs the code it is sent: beyond loopback it wants credentials that were
// chosen, not the defaults.
func TestCheckExposure(t *testing.T) {
	all := map[string]bool{"auth": true, "gcf-token": true, "openfaas-password": true, "aws-secret-access-key": true}
	tests := []struct {
		name, addr, auth string
		set              map[string]bool
		want             string // part of the error, "" for none
	}{
		{"loopback with the defaults", "127.0.0.1:3233", openwhisk.GuestAuth, nil, ""},
		{"localhost with the defaults", "localhost:3233", openwhisk.GuestAuth, nil, ""},
		{"IPv6 loopback", "[::1]:3233", openwhisk.GuestAuth, nil, ""},
		{"every interface with the defaults", "0.0.0.0:3233", openwhisk.GuestAuth, nil, "-auth, -gcf-token, -openfaas-password, -aws-secret-access-key"},
		{"a host name with the defaults", "fabric.example:3233", openwhisk.GuestAuth, nil, "give -auth"},
		{"every interface, OpenFaaS password missing", ":3233", "u:k", map[string]bool{"auth": true, "gcf-token": true, "aws-secret-access-key": true}, "give -openfaas-password explicitly"},
		{"every interface, Lambda's secret missing", ":3233", "u:k", map[string]bool{"auth": true, "gcf-token": true, "openfaas-password": true}, "give -aws-secret-access-key explicitly"},
		{"every interface, the guest key given", "0.0.0.0:3233", openwhisk.GuestAuth, all, "published guest key"},
		{"every interface, every credential given", "0.0.0.0:3233", "u:k", all, ""},
		{"no port", "0.0.0.0", "u:k", all, "missing port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkExposure(tc.addr, tc.auth, tc.set)
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
