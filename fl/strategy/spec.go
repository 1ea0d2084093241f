package strategy

import (
	"fmt"
	"math"
)

// Strategy names.
const (
	FedAvg          = "fedavg"
	FedProx         = "fedprox"
	FedMedian       = "fedmedian"
	TrimmedMeanName = "trimmed_mean"
	Krum            = "krum"
	MultiKrumName   = "multi_krum"
)

// Names lists every strategy a config may choose.
var Names = []string{FedAvg, FedProx, FedAvgM, FedAdam, FedYogi, FedAdagrad, FedMedian, TrimmedMeanName, Krum, MultiKrumName}

// Spec chooses how a round's client models become the next global model, with the
// settings of that strategy. The zero value is FedAvg, so rounds of experiments started
// before strategies existed aggregate as they did.
type Spec struct {
	Name string `json:"name,omitempty"`
	// Server optimisers (fedavgm, fedadam, fedyogi, fedadagrad); zero takes the kind's
	// default (DefaultServerOptimizer).
	ServerLR float64 `json:"server_lr,omitempty"`
	Beta1    float64 `json:"beta1,omitempty"`
	Beta2    float64 `json:"beta2,omitempty"`
	Tau      float64 `json:"tau,omitempty"`
	// ProximalMu is FedProx's μ: the clients add μ/2·‖w − w_global‖² to their loss.
	ProximalMu float64 `json:"proximal_mu,omitempty"`
	// TrimBeta is the fraction trimmed_mean drops at each end.
	TrimBeta float64 `json:"trim_beta,omitempty"`
	// Byzantine is the number of malicious clients Krum and Multi-Krum tolerate;
	// Selected the models Multi-Krum averages (0: n − Byzantine).
	Byzantine int `json:"byzantine,omitempty"`
	Selected  int `json:"selected,omitempty"`
}

// Kind is the strategy's name, FedAvg for the zero value.
func (s Spec) Kind() string {
	if s.Name == "" {
		return FedAvg
	}
	return s.Name
}

// Only keeps the settings the chosen strategy reads, so a config's defaults for the
// others travel nowhere; FedAvg becomes the zero Spec, as earlier builds carried it.
func (s Spec) Only() Spec {
	switch s.Kind() {
	case FedAvg:
		return Spec{}
	case FedProx:
		return Spec{Name: s.Name, ProximalMu: s.ProximalMu}
	case FedAvgM, FedAdam, FedYogi, FedAdagrad:
		return Spec{Name: s.Name, ServerLR: s.ServerLR, Beta1: s.Beta1, Beta2: s.Beta2, Tau: s.Tau}
	case TrimmedMeanName:
		return Spec{Name: s.Name, TrimBeta: s.TrimBeta}
	case Krum, MultiKrumName:
		return Spec{Name: s.Name, Byzantine: s.Byzantine, Selected: s.Selected}
	}
	return Spec{Name: s.Name}
}

// Validate checks the name and the settings that do not depend on the round.
func (s Spec) Validate() error {
	switch s.Kind() {
	case FedAvg, FedMedian:
		return nil
	case FedProx:
		// μ = 0 is allowed: FedProx without its proximal term differs from FedAvg only
		// in counting stragglers' partial work, the paper's ablation.
		if !(s.ProximalMu >= 0) || math.IsInf(s.ProximalMu, 0) {
			return fmt.Errorf("strategy: fedprox needs a finite proximal_mu ≥ 0, got %v", s.ProximalMu)
		}
		return nil
	case FedAvgM, FedAdam, FedYogi, FedAdagrad:
		_, err := s.ServerOptimizer()
		return err
	case TrimmedMeanName:
		if !(s.TrimBeta > 0 && s.TrimBeta < 0.5) {
			return fmt.Errorf("strategy: trimmed_mean needs 0 < trim_beta < 0.5, got %v", s.TrimBeta)
		}
		return nil
	case Krum, MultiKrumName:
		if s.Byzantine < 0 || s.Selected < 0 {
			return fmt.Errorf("strategy: %s needs non-negative byzantine and selected, got %d and %d", s.Kind(), s.Byzantine, s.Selected)
		}
		return nil
	}
	return fmt.Errorf("strategy: unknown strategy %q (want one of %v)", s.Name, Names)
}

// ServerOptimizer returns the server optimiser of fedavgm, fedadam, fedyogi and
// fedadagrad, defaults filled in.
func (s Spec) ServerOptimizer() (ServerOptimizer, error) {
	o, err := DefaultServerOptimizer(s.Kind())
	if err != nil {
		return ServerOptimizer{}, err
	}
	if s.ServerLR != 0 {
		o.LR = s.ServerLR
	}
	if s.Beta1 != 0 {
		o.Beta1 = s.Beta1
	}
	if s.Beta2 != 0 {
		o.Beta2 = s.Beta2
	}
	if s.Tau != 0 {
		o.Tau = s.Tau
	}
	return o, o.Validate()
}

// HasServerOptimizer reports whether the strategy steps a server optimiser.
func (s Spec) HasServerOptimizer() bool {
	switch s.Kind() {
	case FedAvgM, FedAdam, FedYogi, FedAdagrad:
		return true
	}
	return false
}

// Robust reports whether the strategy needs every client model at once (median,
// trimmed mean, Krum) rather than a running weighted sum.
func (s Spec) Robust() bool {
	switch s.Kind() {
	case FedMedian, TrimmedMeanName, Krum, MultiKrumName:
		return true
	}
	return false
}

// Combine applies a robust strategy to the round's client models (and their sample
// counts). It returns the models it used, by index: every one, or Krum's choice.
func (s Spec) Combine(models [][]float32, samples []int) ([]float32, []int, error) {
	all := func() []int {
		out := make([]int, len(models))
		for i := range out {
			out[i] = i
		}
		return out
	}
	switch s.Kind() {
	case FedMedian:
		m, err := Median(models)
		return m, all(), err
	case TrimmedMeanName:
		m, err := TrimmedMean(models, s.TrimBeta)
		return m, all(), err
	case Krum:
		return MultiKrum(models, samples, s.Byzantine, 1)
	case MultiKrumName:
		m := s.Selected
		if m == 0 {
			m = len(models) - s.Byzantine
		}
		return MultiKrum(models, samples, s.Byzantine, m)
	}
	return nil, nil, fmt.Errorf("strategy: %s is not a robust strategy", s.Kind())
}
