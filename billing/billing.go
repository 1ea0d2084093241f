// Package billing prices client activations the way FaaS platforms bill them: the
// billed duration (rounded up to the platform's increment) times the configured
// memory gives GB-seconds; Cloud Functions (1st gen) also bills the CPU its memory tier
// comes with, in GHz-seconds; every invocation costs a flat fee, whatever its outcome;
// and bytes a function sends out cost egress. It is arithmetic over activation records
// and the config's price table (config.Pricing), so the bill of an experiment can be
// recomputed from its clients.csv and checked by hand.
package billing

import (
	"math"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/fl/arch"
)

// Pricer prices the activations of one experiment: its config's price table and its
// functions' memory settings, and the size of its model.
type Pricer struct {
	pricing    config.Pricing
	functions  config.FederatedLearning
	modelBytes int64
}

// NewPricer is the Pricer of an experiment run with cfg, training model.
func NewPricer(cfg *config.Config, model arch.Spec) (Pricer, error) {
	manifest, err := model.Manifest()
	if err != nil {
		return Pricer{}, err
	}
	return Pricer{pricing: cfg.Pricing, functions: cfg.Scenarios.FederatedLearning,
		modelBytes: 4 * int64(arch.NumParams(manifest))}, nil
}

// MemoryMB is the memory function is deployed with on platform.
func (p Pricer) MemoryMB(platform, function string) int {
	return p.functions.MemoryMB(config.Platform(platform), function)
}

// ModelBytes is the size of the model's weights, what a client reads and sends.
func (p Pricer) ModelBytes() int64 { return p.modelBytes }

// Pricing is the price table the Pricer applies.
func (p Pricer) Pricing() config.Pricing { return p.pricing }

// Price prices one activation with its platform's price list.
func (p Pricer) Price(u Usage) Charge {
	return Price(p.pricing.For(config.Platform(u.Platform)), u)
}

// Usage is what one activation consumed, as its record says.
type Usage struct {
	Platform string
	// Invoked is false for an attempt that never reached the platform: it costs nothing.
	Invoked bool
	// Seconds is the run's duration on the platform (zero when no record was kept).
	Seconds  float64
	MemoryMB int
	// BytesIn and BytesOut are the model weights the function read and sent.
	BytesIn, BytesOut int64
}

// Charge is the priced Usage of one or more activations.
type Charge struct {
	Invocations   int     `json:"invocations"`
	BilledSeconds float64 `json:"billed_s"`
	GBSeconds     float64 `json:"gb_s"`
	GHzSeconds    float64 `json:"ghz_s"`
	BytesIn       int64   `json:"bytes_in"`
	BytesOut      int64   `json:"bytes_out"`
	// ComputeUSD is GB-seconds and GHz-seconds priced; InvocationsUSD the flat fees;
	// EgressUSD the bytes sent out; USD their sum.
	ComputeUSD     float64 `json:"compute_usd"`
	InvocationsUSD float64 `json:"invocations_usd"`
	EgressUSD      float64 `json:"egress_usd"`
	USD            float64 `json:"usd"`
}

// Add adds another charge into c.
func (c *Charge) Add(o Charge) {
	c.Invocations += o.Invocations
	c.BilledSeconds += o.BilledSeconds
	c.GBSeconds += o.GBSeconds
	c.GHzSeconds += o.GHzSeconds
	c.BytesIn += o.BytesIn
	c.BytesOut += o.BytesOut
	c.ComputeUSD += o.ComputeUSD
	c.InvocationsUSD += o.InvocationsUSD
	c.EgressUSD += o.EgressUSD
	c.USD += o.USD
}

// Price prices one activation with a price list.
func Price(p config.Price, u Usage) Charge {
	if !u.Invoked {
		return Charge{}
	}
	billed := BilledSeconds(u.Seconds, p.IncrementMS)
	gb := float64(u.MemoryMB) / 1024
	c := Charge{Invocations: 1, BilledSeconds: billed, GBSeconds: billed * gb, BytesIn: u.BytesIn, BytesOut: u.BytesOut}
	if u.Platform == string(config.Google) {
		c.GHzSeconds = billed * CPUGHz(u.MemoryMB)
	}
	c.ComputeUSD = c.GBSeconds*p.GBSecond + c.GHzSeconds*p.GHzSecond
	c.InvocationsUSD = p.PerMillionInvocations / 1e6
	c.EgressUSD = float64(u.BytesOut) / (1 << 30) * p.EgressPerGB
	c.USD = c.ComputeUSD + c.InvocationsUSD + c.EgressUSD
	return c
}

// BilledSeconds rounds a duration up to the billing increment. The duration is first
// rounded to the microsecond so that a float's last bit does not cost a whole increment
// (0.3 s is 300 ms, not 400).
func BilledSeconds(seconds float64, incrementMS int) float64 {
	if seconds <= 0 {
		return 0
	}
	micros := math.Round(seconds * 1e6)
	if incrementMS <= 0 {
		return micros / 1e6
	}
	step := float64(incrementMS) * 1000
	return math.Ceil(micros/step) * step / 1e6
}

// CPUGHz is the CPU clock Cloud Functions 1st gen allocates to a memory setting: that
// of the smallest tier holding it (128 MB: 200 MHz, 256 MB: 400 MHz, 512 MB: 800 MHz,
// 1 GB: 1.4 GHz, 2 GB: 2.4 GHz, 4 and 8 GB: 4.8 GHz).
func CPUGHz(memoryMB int) float64 {
	switch {
	case memoryMB <= 128:
		return 0.2
	case memoryMB <= 256:
		return 0.4
	case memoryMB <= 512:
		return 0.8
	case memoryMB <= 1024:
		return 1.4
	case memoryMB <= 2048:
		return 2.4
	default:
		return 4.8
	}
}
