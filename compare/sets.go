package compare

import (
	"fmt"
	"math"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/fl/attack"
	"github.com/fedkeeper/fedkeeper/fl/selection"
	"github.com/fedkeeper/fedkeeper/fl/strategy"
)

// Sets returns every comparison, by name: strategies, attack, selection, rounds,
// privacy, and FedAvg against FedProx on synthetic data at each straggler fraction
// (synthetic-0, synthetic-50, synthetic-90).
func Sets() []Set {
	return append([]Set{Strategies(), Attack(), Selection(), Rounds(), Privacy()}, SyntheticSets()...)
}

// Strategies runs every aggregation strategy on the base setup, nothing else changed.
func Strategies() Set {
	v := func(name string, s config.Strategy) Variant {
		return Variant{Name: name, Apply: func(fl *config.FederatedLearning) { fl.Strategy = s }}
	}
	return Set{
		Name:  "strategies",
		Title: "accuracy per round by aggregation strategy",
		About: "Every strategy on the same seeded experiment: the same clients in every round, the same data, the same initial model; only the aggregation differs. The server optimisers run with their defaults (fl/strategy.DefaultServerOptimizer); Krum and Multi-Krum assume one malicious client, trimmed mean trims 20% at each end.",
		Variants: []Variant{
			v("fedavg", config.Strategy{Name: strategy.FedAvg}),
			v("fedprox mu=0.01", config.Strategy{Name: strategy.FedProx, ProximalMu: 0.01}),
			v("fedavgm", config.Strategy{Name: strategy.FedAvgM}),
			v("fedadam", config.Strategy{Name: strategy.FedAdam}),
			v("fedyogi", config.Strategy{Name: strategy.FedYogi}),
			v("fedadagrad", config.Strategy{Name: strategy.FedAdagrad}),
			v("fedmedian", config.Strategy{Name: strategy.FedMedian}),
			v("trimmed_mean beta=0.2", config.Strategy{Name: strategy.TrimmedMeanName, TrimBeta: 0.2}),
			v("krum f=1", config.Strategy{Name: strategy.Krum, Byzantine: 1}),
			v("multi_krum f=1", config.Strategy{Name: strategy.MultiKrumName, Byzantine: 1}),
		},
	}
}

// AttackFraction and AttackFactor are the attack of the Attack set: this share of the
// clients send their update reversed and scaled five times.
const (
	AttackFraction = 0.3
	AttackFactor   = -5
)

// Attack runs FedAvg without and with malicious clients, and the robust strategies with
// them. Every client trains in every round, so each round holds all the malicious
// clients, and the data is split IID, so what separates the strategies is the attack
// and not the skew of the data.
func Attack() Set {
	spec := attack.Spec{Kind: attack.Scale, Fraction: AttackFraction, Factor: AttackFactor}
	// strategyFor builds a variant's strategy for the experiment's number of clients.
	v := func(name string, attacked bool, strategyFor func(malicious int) config.Strategy) Variant {
		return Variant{Name: name, Apply: func(fl *config.FederatedLearning) {
			fl.ClientsInfo.Selection = config.SelectAll
			fl.DataSampling.Distribution = "iid"
			fl.Strategy = strategyFor(len(spec.Malicious(fl.ClientsInfo.TotalNumClients)))
			fl.Attack = config.Attack{}
			if attacked {
				fl.Attack = config.Attack{Kind: spec.Kind, Fraction: spec.Fraction, Factor: spec.Factor}
			}
		}}
	}
	fixed := func(s config.Strategy) func(int) config.Strategy { return func(int) config.Strategy { return s } }
	// Krum and Multi-Krum are told how many malicious clients there are.
	expecting := func(name string) func(int) config.Strategy {
		return func(malicious int) config.Strategy { return config.Strategy{Name: name, Byzantine: malicious} }
	}
	percent := int(math.Round(AttackFraction * 100))
	return Set{
		Name:  "attack",
		Title: fmt.Sprintf("accuracy per round with %d%% malicious clients", percent),
		About: fmt.Sprintf("%d%% of the clients (chosen once by the seed) replace their update by the honest one reversed and scaled %v times; every client trains in every round and the data is split IID. FedAvg follows the attackers; the robust strategies leave them out. The first line is FedAvg without the attack, for reference. Krum and Multi-Krum are told how many malicious clients there are.", percent, -AttackFactor),
		Variants: []Variant{
			v("fedavg, no attack", false, fixed(config.Strategy{Name: strategy.FedAvg})),
			v("fedavg", true, fixed(config.Strategy{Name: strategy.FedAvg})),
			v("fedmedian", true, fixed(config.Strategy{Name: strategy.FedMedian})),
			v("trimmed_mean beta=0.3", true, fixed(config.Strategy{Name: strategy.TrimmedMeanName, TrimBeta: 0.3})),
			v("krum", true, expecting(strategy.Krum)),
			v("multi_krum", true, expecting(strategy.MultiKrumName)),
		},
	}
}

// Selection runs the selection policies with FedAvg; the base config's slow cluster
// (one with a fabric delay) makes some clients stragglers, which the straggler-aware
// policy learns to leave out, so its rounds are shorter.
func Selection() Set {
	v := func(name string, apply func(ci *config.ClientsInfo)) Variant {
		return Variant{Name: name, Apply: func(fl *config.FederatedLearning) { apply(&fl.ClientsInfo) }}
	}
	return Set{
		Name:  "selection",
		Title: "accuracy per round by client selection",
		About: "The client selection policies with FedAvg. A quarter of the clients run on a slow cluster (every activation waits 2 s first): random selection waits for them whenever it picks one, the straggler-aware policy tries every client once and then prefers the fast ones. The figure against time shows what that buys.",
		Variants: []Variant{
			v("random", func(ci *config.ClientsInfo) { ci.Selection = selection.PolicyRandom }),
			v("all", func(ci *config.ClientsInfo) { ci.Selection = config.SelectAll }),
			v("fraction 0.25", func(ci *config.ClientsInfo) { ci.Selection, ci.Fraction = config.SelectFraction, 0.25 }),
			v("straggler_aware", func(ci *config.ClientsInfo) { ci.Selection = selection.PolicyStragglerAware }),
		},
	}
}

// Rounds runs synchronous rounds against semi-asynchronous ones, which aggregate after
// some of their clients and fold the stragglers' updates into later versions.
func Rounds() Set {
	v := func(name, mode string, minUpdates int) Variant {
		return Variant{Name: name, Apply: func(fl *config.FederatedLearning) {
			fl.Round.Mode, fl.Round.MinUpdates = mode, minUpdates
		}}
	}
	return Set{
		Name:  "rounds",
		Title: "accuracy per round, synchronous and semi-asynchronous",
		About: "FedAvg with synchronous rounds, which wait for every selected client, and semi-asynchronous ones (round.mode: semi_async), which aggregate once some have reported; the slow cluster's clients then finish in the background and their updates are folded into a later version, weighed by (1+staleness)^-0.5. A round of the semi-asynchronous kind learns from fewer fresh updates, so it gains less per round; the figure against time shows whether it gains more per second.",
		Variants: []Variant{
			v("sync", config.ModeSync, 0),
			v("semi_async, after 5 of 10", config.ModeSemiAsync, 5),
			v("semi_async, after 8 of 10", config.ModeSemiAsync, 8),
		},
	}
}

// Privacy runs FedAvg without and with local differential privacy at growing noise:
// each client clips its change to the model and adds Gaussian noise before reporting.
func Privacy() Set {
	v := func(name string, clip, sigma float64) Variant {
		return Variant{Name: name, Apply: func(fl *config.FederatedLearning) {
			fl.Privacy = config.Privacy{Clip: clip, NoiseMultiplier: sigma, Delta: fl.Privacy.Delta}
		}}
	}
	return Set{
		Name:  "privacy",
		Title: "accuracy per round with local differential privacy",
		About: "FedAvg without and with local differential privacy: every client clips its change to the model to norm 5 and adds Gaussian noise of deviation σ·5 to each of the model's 397,510 parameters before reporting. ε (at δ = 10⁻⁵, Rényi accountant, for the client selected most often) is what the experiment reports after its last round. On a model this size the noise's norm is about 630·σ·5 against a change of norm 5 at most, so a single-digit or low double-digit ε (σ near 1) costs most of the accuracy, and the noise levels that keep the accuracy promise nothing (ε in the thousands): the price of local DP, which the table shows.",
		Variants: []Variant{
			v("no privacy", 0, 0),
			v("clip 5, sigma 0.001", 5, 0.001),
			v("clip 5, sigma 0.01", 5, 0.01),
			v("clip 5, sigma 0.1", 5, 0.1),
			v("clip 5, sigma 1", 5, 1),
		},
	}
}
