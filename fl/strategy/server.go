package strategy

import (
	"fmt"
	"math"
)

// Server optimiser kinds.
const (
	FedAvgM    = "fedavgm"
	FedAdam    = "fedadam"
	FedYogi    = "fedyogi"
	FedAdagrad = "fedadagrad"
)

// ServerOptimizer moves the global model along the round's pseudo-gradient
// Δ = average client model − global model instead of jumping to the average:
//
//	FedAvgM:    m ← β1·m + Δ;                 x ← x + η·m
//	FedAdagrad: m ← β1·m + (1−β1)·Δ;  v ← v + Δ²;                    x ← x + η·m/(√v + τ)
//	FedAdam:    m ← β1·m + (1−β1)·Δ;  v ← β2·v + (1−β2)·Δ²;           x ← x + η·m/(√v + τ)
//	FedYogi:    m ← β1·m + (1−β1)·Δ;  v ← v − (1−β2)·Δ²·sign(v − Δ²); x ← x + η·m/(√v + τ)
//
// with v starting at τ² (Reddi et al. 2021, Algorithm 2). FedAvgM with β1 = 0 and η = 1
// is FedAvg.
type ServerOptimizer struct {
	Kind string
	// LR is η, the server learning rate.
	LR float64
	// Beta1 is FedAvgM's momentum and the adaptive optimisers' first-moment decay;
	// Beta2 the second-moment decay (FedAdam, FedYogi).
	Beta1, Beta2 float64
	// Tau is the adaptivity: it bounds the step where v is small.
	Tau float64
}

// DefaultServerOptimizer returns a kind's settings: FedAvgM with η 1 and momentum 0.9;
// the adaptive ones with η 0.01, β1 0.9, β2 0.99 and τ 0.001, the values Reddi et al.
// found to work across their tasks (Flower's defaults of η 0.1 and τ 1e-9 move every
// weight of this project's MLP by up to 0.1 a round).
func DefaultServerOptimizer(kind string) (ServerOptimizer, error) {
	switch kind {
	case FedAvgM:
		return ServerOptimizer{Kind: kind, LR: 1, Beta1: 0.9}, nil
	case FedAdam, FedYogi, FedAdagrad:
		return ServerOptimizer{Kind: kind, LR: 0.01, Beta1: 0.9, Beta2: 0.99, Tau: 1e-3}, nil
	}
	return ServerOptimizer{}, fmt.Errorf("strategy: unknown server optimiser %q (want %s, %s, %s or %s)", kind, FedAvgM, FedAdam, FedYogi, FedAdagrad)
}

// ServerState is what a server optimiser carries from one round to the next. A fresh
// state is the zero value.
type ServerState struct {
	// M is the first moment (FedAvgM's momentum), V the second; nil before the first
	// round.
	M, V []float32
	// Rounds counts the steps taken.
	Rounds int
}

// Validate checks the settings.
func (o ServerOptimizer) Validate() error {
	switch o.Kind {
	case FedAvgM, FedAdam, FedYogi, FedAdagrad:
	default:
		return fmt.Errorf("strategy: unknown server optimiser %q", o.Kind)
	}
	if !(o.LR > 0) {
		return fmt.Errorf("strategy: server learning rate must be positive, got %v", o.LR)
	}
	if !(o.Beta1 >= 0 && o.Beta1 < 1) {
		return fmt.Errorf("strategy: beta1 must be in [0, 1), got %v", o.Beta1)
	}
	if o.Kind == FedAvgM {
		return nil
	}
	if (o.Kind == FedAdam || o.Kind == FedYogi) && !(o.Beta2 >= 0 && o.Beta2 < 1) {
		return fmt.Errorf("strategy: beta2 must be in [0, 1), got %v", o.Beta2)
	}
	if !(o.Tau > 0) {
		return fmt.Errorf("strategy: tau must be positive, got %v", o.Tau)
	}
	return nil
}

// Step returns the next global model from the current one, the round's average client
// model and the optimiser's state, and the state after the step. Nothing passed in is
// modified, so a retried aggregation that steps again from the stored state gets the
// same result.
func (o ServerOptimizer) Step(global, average []float32, state ServerState) ([]float32, ServerState, error) {
	if err := o.Validate(); err != nil {
		return nil, ServerState{}, err
	}
	n := len(global)
	if len(average) != n {
		return nil, ServerState{}, fmt.Errorf("strategy: average has %d values, the global model %d", len(average), n)
	}
	m := make([]float32, n)
	if state.M != nil {
		if len(state.M) != n {
			return nil, ServerState{}, fmt.Errorf("strategy: stored first moment has %d values, the model %d", len(state.M), n)
		}
		copy(m, state.M)
	}
	next := make([]float32, n)
	if o.Kind == FedAvgM {
		for i := range n {
			delta := float64(average[i]) - float64(global[i])
			mi := o.Beta1*float64(m[i]) + delta
			m[i] = float32(mi)
			next[i] = float32(float64(global[i]) + o.LR*mi)
		}
		return next, ServerState{M: m, Rounds: state.Rounds + 1}, nil
	}
	v := make([]float32, n)
	if state.V != nil {
		if len(state.V) != n {
			return nil, ServerState{}, fmt.Errorf("strategy: stored second moment has %d values, the model %d", len(state.V), n)
		}
		copy(v, state.V)
	} else {
		for i := range v {
			v[i] = float32(o.Tau * o.Tau)
		}
	}
	for i := range n {
		delta := float64(average[i]) - float64(global[i])
		mi := o.Beta1*float64(m[i]) + (1-o.Beta1)*delta
		vi, sq := float64(v[i]), delta*delta
		switch o.Kind {
		case FedAdagrad:
			vi += sq
		case FedAdam:
			vi = o.Beta2*vi + (1-o.Beta2)*sq
		case FedYogi:
			vi -= (1 - o.Beta2) * sq * sign(vi-sq)
		}
		m[i], v[i] = float32(mi), float32(vi)
		next[i] = float32(float64(global[i]) + o.LR*mi/(math.Sqrt(vi)+o.Tau))
	}
	return next, ServerState{M: m, V: v, Rounds: state.Rounds + 1}, nil
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}
