package compare

import (
	"fmt"
	"math"
	"strings"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/fl/selection"
	"github.com/fedkeeper/fedkeeper/fl/strategy"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
)

// The FedProx paper's synthetic experiment as the synthetic sets run it, the values of
// experiments/fedprox-synthetic.yaml (a test keeps the two alike): Synthetic(1, 1) over
// 30 devices, 10 a round, mclr with SGD at 0.01, batch 10, 20 local epochs.
const (
	SyntheticDevices   = 30
	SyntheticPerRound  = 10
	SyntheticEpochs    = 20
	SyntheticLR        = 0.01
	SyntheticBatchSize = 10
	SyntheticRounds    = 100
)

// SyntheticStragglerFractions are the paper's straggler settings: 0%, 50%, 90%.
var SyntheticStragglerFractions = []float64{0, 0.5, 0.9}

// SyntheticSetPrefix starts the name of every synthetic set; "synthetic" names them all.
const SyntheticSetPrefix = "synthetic-"

// SyntheticSets are FedAvg against FedProx on the paper's synthetic data, one set per
// straggler fraction.
func SyntheticSets() []Set {
	out := make([]Set, len(SyntheticStragglerFractions))
	for i, s := range SyntheticStragglerFractions {
		out[i] = SyntheticStragglers(s)
	}
	return out
}

// SyntheticStragglers runs FedAvg and FedProx with μ ∈ {0, 0.01, 1} on Synthetic(1, 1)
// with the fraction s of every round's devices straggling: the paper's Figure 1 at one
// straggler level. Every variant meets the same devices, stragglers and batches.
func SyntheticStragglers(s float64) Set {
	percent := int(math.Round(s * 100))
	v := func(name string, st config.Strategy) Variant {
		return Variant{Name: name, Apply: func(fl *config.FederatedLearning) { fl.Strategy = st }}
	}
	about := fmt.Sprintf("The FedProx paper's synthetic experiment (experiments/fedprox-synthetic.yaml): Synthetic(1, 1) over %d devices, %d a round, multinomial logistic regression, SGD at lr %v, batch %d, E = %d local epochs.", SyntheticDevices, SyntheticPerRound, SyntheticLR, SyntheticBatchSize, SyntheticEpochs)
	if s > 0 {
		m := selection.StragglerCount(SyntheticPerRound, s)
		about += fmt.Sprintf(" Each round %d of the %d selected devices (drawn from the seed and the round, the same for every variant) are stragglers that manage 1 to %d epochs: FedAvg drops them and averages the other %d, FedProx counts their partial work.", m, SyntheticPerRound, SyntheticEpochs-1, SyntheticPerRound-m)
	} else {
		about += " No stragglers: FedProx with μ = 0 is then FedAvg."
	}
	about += " The loss is the training loss over every device weighted by its samples, the accuracy the test accuracy pooled over every device, as the paper reports them."
	return Set{
		Name:     fmt.Sprintf("%s%d", SyntheticSetPrefix, percent),
		Title:    fmt.Sprintf("accuracy per round on Synthetic(1, 1), %d%% stragglers", percent),
		About:    about,
		Prepare:  syntheticSetup(s),
		PlotLoss: true,
		Variants: []Variant{
			v("fedavg", config.Strategy{Name: strategy.FedAvg}),
			v("fedprox mu=0", config.Strategy{Name: strategy.FedProx, ProximalMu: 0}),
			v("fedprox mu=0.01", config.Strategy{Name: strategy.FedProx, ProximalMu: 0.01}),
			v("fedprox mu=1", config.Strategy{Name: strategy.FedProx, ProximalMu: 1}),
		},
	}
}

// SyntheticQueueSuffix ends the task queue of the synthetic sets' experiments, whose
// worker knows their 30 clients (Set.WorkerConfig).
const SyntheticQueueSuffix = "-synthetic"

// syntheticSetup turns the comparison's base experiment into the paper's synthetic one
// with fraction s of stragglers: every device a client of the base's OpenWhisk
// clusters (the edge cluster's delay would only slow it), the data, model and training
// of the paper, on a task queue of its own.
func syntheticSetup(s float64) func(cfg *config.Config) {
	return func(cfg *config.Config) {
		cfg.Stop.MaxRounds = SyntheticRounds
		if !strings.HasSuffix(cfg.Temporal.TaskQueue, SyntheticQueueSuffix) {
			cfg.Temporal.TaskQueue += SyntheticQueueSuffix
		}
		fl := &cfg.Scenarios.FederatedLearning
		fl.ClientsInfo.TotalNumClients, fl.ClientsInfo.NumClientsPerRound = SyntheticDevices, SyntheticPerRound
		fl.ClientsInfo.Selection = selection.PolicyRandom
		fl.ClientsInfo.OWClientsCount, fl.ClientsInfo.GCFClientsCount, fl.ClientsInfo.EdgeClientsCount = SyntheticDevices, 0, 0
		ds := &fl.DataSampling
		ds.Dataset, ds.Alpha, ds.Beta, ds.Distribution = config.DatasetSynthetic, 1, 1, "non_iid"
		ds.Model, ds.InputSize, ds.InputShapeX, ds.InputShapeY, ds.OutputSize = "mclr", synthetic.Features, 0, 0, synthetic.Classes
		ds.BatchSize = SyntheticBatchSize
		fl.TrainingTestData = config.TrainingTestData{}
		fl.ModelParams = config.ModelParams{Optim: "sgd", LR: SyntheticLR, LocalEpochs: SyntheticEpochs}
		fl.Stragglers = config.Stragglers{Fraction: s}
		fl.Round.Mode = config.ModeSync
	}
}
