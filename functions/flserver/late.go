package flserver

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/weights"
)

// LateFolding is how a semi-asynchronous aggregation treats updates that arrived after
// their round was aggregated (FedBuff, Nguyen et al. 2022; the staleness weight of
// FedAsync, Xie et al. 2019). A late update trained from version b; folded into
// version v it is τ = (v−1) − b versions stale. Its change (update − version b) is
// applied to version v−1 and weighed by samples·(1+τ)^−Exponent; updates more than
// MaxStaleness versions stale are dropped.
type LateFolding struct {
	Exponent     float64 `json:"exponent"`
	MaxStaleness int     `json:"max_staleness"`
}

// StaleUpdate is a late update folded into a version.
type StaleUpdate struct {
	Round     int     `json:"round"`
	Client    int     `json:"client"`
	Staleness int     `json:"staleness"`
	Weight    float64 `json:"weight"`
}

// Weight is the discount of an update τ versions stale.
func (l LateFolding) Weight(staleness int) float64 {
	return math.Pow(1+float64(staleness), -l.Exponent)
}

// foldLate adds the experiment's pending late updates to the sum and returns every one
// it consumed: folded in, or dropped (too stale, damaged, another model). Robust
// strategies compare updates of one version, so they drop late ones.
func (a *aggregation) foldLate(ctx context.Context, store *weights.Store) ([]weights.UpdateRef, error) {
	p, manifest, acc, res := a.p, a.manifest, a.acc, &a.res
	refs, err := store.PendingUpdates(ctx, p.Experiment, p.Round)
	if err != nil || len(refs) == 0 {
		return nil, err
	}
	drop := func(ref weights.UpdateRef, reason string) {
		res.Rejected = append(res.Rejected, Rejection{Client: ref.Client, Round: ref.Round, Reason: reason})
	}
	// Versions read at most once each: the current one, and the bases of the late updates.
	versions := map[int][]float32{}
	version := func(v int) ([]float32, error) {
		if params, ok := versions[v]; ok {
			return params, nil
		}
		g, err := store.GetGlobal(ctx, p.Experiment, v)
		if err != nil {
			return nil, fmt.Errorf("late updates: %w", err)
		}
		if !model.SameManifest(g.Manifest, manifest) {
			return nil, fmt.Errorf("late updates: global v%d is not a %s model", v, p.Model.Kind)
		}
		versions[v] = g.Params
		return g.Params, nil
	}
	for _, ref := range refs {
		staleness := p.BaseVersion - ref.BaseVersion
		switch {
		case p.Strategy.Robust():
			drop(ref, fmt.Sprintf("late update of round %d: %s compares updates of one version only", ref.Round, p.Strategy.Kind()))
			continue
		case staleness < 1 || ref.BaseVersion < 0:
			drop(ref, fmt.Sprintf("late update of round %d claims base version %d, not before v%d", ref.Round, ref.BaseVersion, p.BaseVersion))
			continue
		case staleness > p.Late.MaxStaleness:
			drop(ref, fmt.Sprintf("late update of round %d is %d versions stale, more than %d", ref.Round, staleness, p.Late.MaxStaleness))
			continue
		}
		u, err := store.GetUpdate(ctx, p.Experiment, ref.Round, ref.Client)
		switch {
		case errors.Is(err, weights.ErrDamaged):
			drop(ref, err.Error())
			continue
		case err != nil:
			return nil, err
		case !model.SameManifest(u.Manifest, manifest):
			drop(ref, "late update has another model's shape")
			continue
		}
		current, err := version(p.BaseVersion)
		if err != nil {
			return nil, err
		}
		base, err := version(u.BaseVersion)
		if err != nil {
			return nil, err
		}
		// The client's change, applied to the current version.
		moved := make([]float32, len(current))
		for i := range moved {
			moved[i] = current[i] + (u.Params[i] - base[i])
		}
		weight := float64(u.Samples) * p.Late.Weight(staleness)
		if err := acc.AddWeighted(moved, weight, u.Samples); err != nil {
			drop(ref, err.Error())
			continue
		}
		res.Stale = append(res.Stale, StaleUpdate{Round: ref.Round, Client: ref.Client, Staleness: staleness, Weight: weight})
		a.countedLate = append(a.countedLate, u.Ref())
	}
	return refs, nil
}

// deleteConsumed removes a semi-asynchronous round's own updates and the late ones it
// consumed, after marking them consumed: their writers store late updates even into
// sealed rounds, so without the mark a replayed one would be folded in twice.
func deleteConsumed(ctx context.Context, store *weights.Store, p AggregateParams, late []weights.UpdateRef) error {
	if err := store.MarkConsumed(ctx, p.Experiment, p.Round, p.Clients); err != nil {
		return err
	}
	byRound := map[int][]int{}
	for _, ref := range late {
		byRound[ref.Round] = append(byRound[ref.Round], ref.Client)
	}
	for round, clients := range byRound {
		if err := store.MarkConsumed(ctx, p.Experiment, round, clients); err != nil {
			return err
		}
	}
	for _, c := range p.Clients {
		if err := store.DeleteUpdate(ctx, p.Experiment, p.Round, c); err != nil {
			return err
		}
	}
	for _, ref := range late {
		if err := store.DeleteUpdate(ctx, p.Experiment, ref.Round, ref.Client); err != nil {
			return err
		}
	}
	return nil
}
