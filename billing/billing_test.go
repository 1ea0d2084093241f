package billing

import (
	"math"
	"testing"

	"github.com/fedkeeper/fedkeeper/config"
)

// Every figure here is computed by hand from the public price lists.
func TestPrice(t *testing.T) {
	d := config.DefaultPricing()
	const mnistMLP = 4 * 397_510 // bytes of the seed's MLP
	tests := []struct {
		name  string
		price config.Price
		usage Usage
		want  Charge
	}{
		{"cloud functions, 512 MB, 260 ms billed as 300", d.Google,
			Usage{Platform: "google", Invoked: true, Seconds: 0.26, MemoryMB: 512, BytesIn: mnistMLP, BytesOut: mnistMLP},
			Charge{Invocations: 1, BilledSeconds: 0.3, GBSeconds: 0.15, GHzSeconds: 0.24, BytesIn: mnistMLP, BytesOut: mnistMLP,
				ComputeUSD: 0.15*0.0000025 + 0.24*0.00001, InvocationsUSD: 0.0000004, EgressUSD: mnistMLP / 1073741824.0 * 0.12,
				USD: 0.15*0.0000025 + 0.24*0.00001 + 0.0000004 + mnistMLP/1073741824.0*0.12}},
		{"cloud functions, 2 GB, 4.01 s", d.Google,
			Usage{Platform: "google", Invoked: true, Seconds: 4.01, MemoryMB: 2048},
			Charge{Invocations: 1, BilledSeconds: 4.1, GBSeconds: 8.2, GHzSeconds: 4.1 * 2.4,
				ComputeUSD: 8.2*0.0000025 + 9.84*0.00001, InvocationsUSD: 0.0000004, USD: 8.2*0.0000025 + 9.84*0.00001 + 0.0000004}},
		{"openwhisk as IBM sold it, 256 MB, 1.234 s", d.OpenWhisk,
			Usage{Platform: "openwhisk", Invoked: true, Seconds: 1.234, MemoryMB: 256, BytesIn: 100, BytesOut: 100},
			Charge{Invocations: 1, BilledSeconds: 1.3, GBSeconds: 0.325, BytesIn: 100, BytesOut: 100,
				ComputeUSD: 0.325 * 0.000017, USD: 0.325 * 0.000017}},
		{"exactly one increment is not two", d.OpenWhisk,
			Usage{Platform: "openwhisk", Invoked: true, Seconds: sum(0.1, 0.2), MemoryMB: 1024},
			Charge{Invocations: 1, BilledSeconds: 0.3, GBSeconds: 0.3, ComputeUSD: 0.3 * 0.000017, USD: 0.3 * 0.000017}},
		{"an edge gateway costs nothing", d.OpenFaaS,
			Usage{Platform: "openfaas", Invoked: true, Seconds: 2.0005, MemoryMB: 128, BytesOut: 5},
			Charge{Invocations: 1, BilledSeconds: 2.001, GBSeconds: 2.001 / 8, BytesOut: 5}},
		{"a priced edge gateway", config.Price{GBSecond: 0.00001, PerMillionInvocations: 1, IncrementMS: 1},
			Usage{Platform: "openfaas", Invoked: true, Seconds: 2, MemoryMB: 512},
			Charge{Invocations: 1, BilledSeconds: 2, GBSeconds: 1, ComputeUSD: 0.00001, InvocationsUSD: 0.000001, USD: 0.000011}},
		{"an attempt lost without a record still pays its invocation", d.Google,
			Usage{Platform: "google", Invoked: true, MemoryMB: 512},
			Charge{Invocations: 1, InvocationsUSD: 0.0000004, USD: 0.0000004}},
		{"an attempt never invoked costs nothing", d.Google,
			Usage{Platform: "google", Seconds: 3, MemoryMB: 512, BytesIn: 9}, Charge{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Price(tc.price, tc.usage)
			if got.Invocations != tc.want.Invocations || got.BytesIn != tc.want.BytesIn || got.BytesOut != tc.want.BytesOut {
				t.Errorf("counts %+v, want %+v", got, tc.want)
			}
			for _, f := range []struct {
				name      string
				got, want float64
			}{
				{"billed_s", got.BilledSeconds, tc.want.BilledSeconds}, {"gb_s", got.GBSeconds, tc.want.GBSeconds},
				{"ghz_s", got.GHzSeconds, tc.want.GHzSeconds}, {"compute", got.ComputeUSD, tc.want.ComputeUSD},
				{"invocations", got.InvocationsUSD, tc.want.InvocationsUSD}, {"egress", got.EgressUSD, tc.want.EgressUSD},
				{"usd", got.USD, tc.want.USD},
			} {
				if !near(f.got, f.want) {
					t.Errorf("%s = %.12g, want %.12g", f.name, f.got, f.want)
				}
			}
		})
	}
}

// sum adds in float64 at run time (0.1 + 0.2 is 0.30000000000000004), where constant
// arithmetic would be exact.
func sum(a, b float64) float64 { return a + b }

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12+1e-9*math.Abs(b) }

func TestBilledSeconds(t *testing.T) {
	tests := []struct {
		seconds   float64
		increment int
		want      float64
	}{
		{0, 100, 0}, {-1, 100, 0}, {0.001, 100, 0.1}, {0.1, 100, 0.1}, {0.100001, 100, 0.2},
		{sum(0.1, 0.2), 100, 0.3}, {sum(0.7, -0.4), 100, 0.3}, {59.95, 1000, 60}, {0.0004, 1, 0.001}, {1.23456, 0, 1.23456},
	}
	for _, tc := range tests {
		if got := BilledSeconds(tc.seconds, tc.increment); !near(got, tc.want) {
			t.Errorf("BilledSeconds(%v, %d) = %v, want %v", tc.seconds, tc.increment, got, tc.want)
		}
	}
}

// Cloud Functions 1st gen's CPU tiers.
func TestCPUGHz(t *testing.T) {
	tests := map[int]float64{128: 0.2, 100: 0.2, 256: 0.4, 512: 0.8, 1024: 1.4, 2048: 2.4, 4096: 4.8, 8192: 4.8, 16384: 4.8}
	for mb, want := range tests {
		if got := CPUGHz(mb); got != want {
			t.Errorf("CPUGHz(%d) = %v, want %v", mb, got, want)
		}
	}
}

func TestChargesAdd(t *testing.T) {
	var sum Charge
	a := Price(config.DefaultPricing().Google, Usage{Platform: "google", Invoked: true, Seconds: 1, MemoryMB: 1024, BytesOut: 1 << 30})
	sum.Add(a)
	sum.Add(a)
	if sum.Invocations != 2 || !near(sum.USD, 2*a.USD) || !near(sum.GHzSeconds, 2.8) || sum.BytesOut != 2<<30 || !near(sum.EgressUSD, 0.24) {
		t.Errorf("sum %+v of twice %+v", sum, a)
	}
}
