package report

import (
	"slices"

	"github.com/fedkeeper/fedkeeper/billing"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// Bill is what an experiment's activations cost: in all, per platform, per round,
// the part spent on attempts that failed (each retry is billed too), and what reaching
// the target accuracy took.
type Bill struct {
	Total     billing.Charge            `json:"total"`
	Platforms map[string]billing.Charge `json:"platforms"`
	// Failed is the part of Total spent on attempts that brought no update.
	Failed billing.Charge `json:"failed"`
	Rounds []RoundBill    `json:"-"`
	// ToTarget is the cost of the rounds up to the first that reached the target.
	ToTarget *TargetCost `json:"to_target,omitempty"`
	// Prices is the table the bill was priced with.
	Prices config.Pricing `json:"prices"`
}

// RoundBill is one round's cost, in all and per platform.
type RoundBill struct {
	Round     int
	Total     billing.Charge
	Platforms map[string]billing.Charge
}

// TargetCost is the cost of reaching a target accuracy.
type TargetCost struct {
	Accuracy float64 `json:"accuracy"`
	Round    int     `json:"round"`
	USD      float64 `json:"usd"`
}

// NewBill prices every activation of the rounds' full records; target (0: none) is
// the accuracy whose cost ToTarget gives.
func NewBill(p billing.Pricer, rounds []workflows.RoundResult, target float64) Bill {
	b := Bill{Platforms: map[string]billing.Charge{}, Prices: p.Pricing()}
	for _, r := range rounds {
		rb := RoundBill{Round: r.Round, Platforms: map[string]billing.Charge{}}
		for _, o := range r.Outcomes {
			for _, run := range o.Runs {
				u, c := run.Priced(p, o.Platform, o.Function)
				rb.add(u.Platform, c)
				if !run.Success {
					b.Failed.Add(c)
				}
			}
		}
		b.Total.Add(rb.Total)
		for platform, c := range rb.Platforms {
			sum := b.Platforms[platform]
			sum.Add(c)
			b.Platforms[platform] = sum
		}
		b.Rounds = append(b.Rounds, rb)
		if target > 0 && b.ToTarget == nil && r.Accuracy >= target {
			b.ToTarget = &TargetCost{Accuracy: target, Round: r.Round, USD: b.Total.USD}
		}
	}
	return b
}

func (rb *RoundBill) add(platform string, c billing.Charge) {
	rb.Total.Add(c)
	sum := rb.Platforms[platform]
	sum.Add(c)
	rb.Platforms[platform] = sum
}

// Round is the bill of one round (zero if it has none).
func (b Bill) Round(round int) RoundBill {
	i := slices.IndexFunc(b.Rounds, func(rb RoundBill) bool { return rb.Round == round })
	if i < 0 {
		return RoundBill{Round: round}
	}
	return b.Rounds[i]
}
