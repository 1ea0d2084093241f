package config

import (
	"strings"
	"testing"
)

// Without a pricing section every platform keeps its public list price; a section
// changes only the keys it gives, and a price of 0 stays 0.
func TestPricing(t *testing.T) {
	c, err := Parse([]byte("{}"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Pricing != DefaultPricing() {
		t.Errorf("pricing %+v, want the defaults %+v", c.Pricing, DefaultPricing())
	}
	c, err = Parse([]byte("pricing:\n  google:\n    gb_second: 0\n  openfaas:\n    gb_second: 0.00001\n    increment_ms: 100\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	g, want := c.Pricing.Google, DefaultPricing().Google
	if g.GBSecond != 0 || g.GHzSecond != want.GHzSecond || g.PerMillionInvocations != 0.4 || g.EgressPerGB != 0.12 || g.IncrementMS != 100 {
		t.Errorf("google %+v", g)
	}
	if f := c.Pricing.For(OpenFaaS); f.GBSecond != 0.00001 || f.IncrementMS != 100 || f.PerMillionInvocations != 0 {
		t.Errorf("openfaas %+v", f)
	}
	if c.Pricing.OpenWhisk != DefaultPricing().OpenWhisk {
		t.Errorf("openwhisk %+v", c.Pricing.OpenWhisk)
	}
}

func TestPricingErrors(t *testing.T) {
	tests := []struct{ yaml, key, msg string }{
		{"pricing:\n  google:\n    gb_second: -1\n", "pricing.google.gb_second", "must be a price ≥ 0"},
		{"pricing:\n  openwhisk:\n    ghz_second: .inf\n", "pricing.openwhisk.ghz_second", "must be a price ≥ 0"},
		{"pricing:\n  openfaas:\n    egress_per_gb: .nan\n", "pricing.openfaas.egress_per_gb", "must be a price ≥ 0"},
		{"pricing:\n  google:\n    per_million_invocations: -0.4\n", "pricing.google.per_million_invocations", "must be a price ≥ 0"},
		{"pricing:\n  google:\n    increment_ms: 0\n", "pricing.google.increment_ms", "between 1 and 60000"},
		{"pricing:\n  google:\n    gb_secnd: 1\n", "pricing.google", "gb_secnd"},
	}
	for _, tc := range tests {
		_, err := Parse([]byte(tc.yaml), noEnv)
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: %v, want %s: %s", tc.yaml, err, tc.key, tc.msg)
		}
	}
}

// Each platform's memory setting of a function is what its runs are billed for.
func TestFunctionMemory(t *testing.T) {
	c, err := Parse([]byte("scenarios:\n  federated_learning:\n    functions:\n      f:\n        google: {memory: 2GB}\n        openwhisk: {memory: 384}\n        openfaas: {memory: 128}\n      g:\n        openwhisk: {}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	fl := c.Scenarios.FederatedLearning
	for _, tc := range []struct {
		platform Platform
		function string
		want     int
	}{{Google, "f", 2048}, {OpenWhisk, "f", 384}, {OpenFaaS, "f", 128}, {OpenWhisk, "g", 256}, {Google, "g", 0}, {OpenWhisk, "none", 0}} {
		if got := fl.MemoryMB(tc.platform, tc.function); got != tc.want {
			t.Errorf("%s %s: %d MB, want %d", tc.platform, tc.function, got, tc.want)
		}
	}
}
