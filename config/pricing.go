package config

import (
	"fmt"
	"math"
)

// Pricing is the bill's price table, one price list per platform (package billing
// applies it); what a config leaves out keeps the public list prices of DefaultPricing.
type Pricing struct {
	OpenWhisk Price `mapstructure:"openwhisk"`
	Google    Price `mapstructure:"google"`
	OpenFaaS  Price `mapstructure:"openfaas"`
	AWS       Price `mapstructure:"aws"`
}

// Price is one platform's prices in US dollars. IncrementMS is the billing
// granularity: a run's duration is rounded up to a multiple of it.
type Price struct {
	GBSecond              float64 `mapstructure:"gb_second"`
	GHzSecond             float64 `mapstructure:"ghz_second"`
	PerMillionInvocations float64 `mapstructure:"per_million_invocations"`
	EgressPerGB           float64 `mapstructure:"egress_per_gb"`
	IncrementMS           int     `mapstructure:"increment_ms"`
}

// For is the price list of a platform (zero for an unknown one).
func (p Pricing) For(platform Platform) Price {
	switch platform {
	case OpenWhisk:
		return p.OpenWhisk
	case Google:
		return p.Google
	case OpenFaaS:
		return p.OpenFaaS
	case AWS:
		return p.AWS
	}
	return Price{}
}

// DefaultPricing is the public price lists: Cloud Functions 1st gen (GB-s, GHz-s,
// invocations, egress, billed in 100 ms increments), OpenWhisk as IBM Cloud Functions
// sold it (GB-s), AWS Lambda on x86 (GB-s and requests, billed by the millisecond,
// with AWS's data transfer out to the internet), and an OpenFaaS gateway on hardware its owner already paid for
// (free unless configured). Free tiers are left out: they are monthly and per account,
// not per experiment.
func DefaultPricing() Pricing {
	return Pricing{
		Google:    Price{GBSecond: 0.0000025, GHzSecond: 0.0000100, PerMillionInvocations: 0.40, EgressPerGB: 0.12, IncrementMS: 100},
		OpenWhisk: Price{GBSecond: 0.000017, IncrementMS: 100},
		OpenFaaS:  Price{IncrementMS: 1},
		AWS:       Price{GBSecond: 0.0000166667, PerMillionInvocations: 0.20, EgressPerGB: 0.09, IncrementMS: 1},
	}
}

// pricingDefaults are the viper defaults of every pricing key, so that a key given as
// 0 (an edge gateway on one's own hardware) stays 0.
func pricingDefaults() map[string]any {
	out := map[string]any{}
	d := DefaultPricing()
	for _, platform := range Platforms() {
		p, key := d.For(platform), "pricing."+string(platform)+"."
		out[key+"gb_second"] = p.GBSecond
		out[key+"ghz_second"] = p.GHzSecond
		out[key+"per_million_invocations"] = p.PerMillionInvocations
		out[key+"egress_per_gb"] = p.EgressPerGB
		out[key+"increment_ms"] = p.IncrementMS
	}
	return out
}

// validatePricing refuses prices that are negative or not numbers, naming the key.
func validatePricing(p Pricing) error {
	for _, e := range []struct {
		platform Platform
		price    Price
	}{{OpenWhisk, p.OpenWhisk}, {Google, p.Google}, {OpenFaaS, p.OpenFaaS}, {AWS, p.AWS}} {
		key := fmt.Sprintf("pricing.%s.", e.platform)
		pr := e.price
		if err := firstBroken([]rule{
			{!price(pr.GBSecond), key + "gb_second", "must be a price ≥ 0 in US dollars, got %v", []any{pr.GBSecond}},
			{!price(pr.GHzSecond), key + "ghz_second", "must be a price ≥ 0 in US dollars, got %v", []any{pr.GHzSecond}},
			{!price(pr.PerMillionInvocations), key + "per_million_invocations", "must be a price ≥ 0 in US dollars, got %v", []any{pr.PerMillionInvocations}},
			{!price(pr.EgressPerGB), key + "egress_per_gb", "must be a price ≥ 0 in US dollars, got %v", []any{pr.EgressPerGB}},
			{pr.IncrementMS < 1 || pr.IncrementMS > 60_000, key + "increment_ms", "must be between 1 and 60000 ms (the billing granularity), got %d", []any{pr.IncrementMS}},
		}); err != nil {
			return err
		}
	}
	return nil
}

func price(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }

// MemoryMB is the memory a client function is deployed with on a platform, what its
// runs are billed for; 0 when the config sets none (an OpenFaaS function without a
// limit).
func (f FederatedLearning) MemoryMB(platform Platform, function string) int {
	fn := f.Functions[function]
	switch {
	case platform == OpenWhisk && fn.OpenWhisk != nil:
		return fn.OpenWhisk.Memory
	case platform == Google && fn.Google != nil:
		mb, _ := fn.Google.MemoryMB()
		return mb
	case platform == OpenFaaS && fn.OpenFaaS != nil:
		return fn.OpenFaaS.Memory
	case platform == AWS && fn.AWS != nil:
		return fn.AWS.Memory
	}
	return 0
}
