package flserver

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/fedkeeper/fedkeeper/fl/fedavg"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/weights"
)

// Aggregate turns the round's updates of the given clients into global version Round:
// FedAvg (weighted by sample count) unless p.Strategy says otherwise — a server
// optimiser stepping from the previous version along the average's change (its state
// stored beside each version), or a robust combination (median, trimmed mean, Krum).
// Updates that are missing, damaged, of another model or from another base version are
// rejected and listed, as are those Krum leaves out. The round is sealed before its
// updates are read, so an update that comes later is refused rather than left behind.
// A round already aggregated returns the stored version unchanged (finishing its
// clean-up), so a retry never counts an update twice. progress is called for every
// update read.
func Aggregate(ctx context.Context, store *weights.Store, p AggregateParams, progress func(client int)) (AggregateResult, error) {
	if info, err := store.GlobalInfo(ctx, p.Experiment, p.Round); err == nil {
		res := AggregateResult{Version: p.Round, Updates: info.Updates, Samples: info.Samples, Counted: info.Clients, Existing: true}
		// The first attempt may have stopped before its clean-up.
		return res, cleanUp(ctx, store, p, info.Late)
	} else if !errors.Is(err, weights.ErrNotFound) {
		return AggregateResult{}, err
	}
	manifest, err := p.Model.Manifest()
	if err != nil {
		return AggregateResult{}, err
	}
	if err := p.Strategy.Validate(); err != nil {
		return AggregateResult{}, fmt.Errorf("%w: %v", ErrBadStrategy, err)
	}
	if err := store.SealRound(ctx, p.Experiment, p.Round); err != nil {
		return AggregateResult{}, err
	}
	agg := newAggregation(p, manifest)
	unread := agg.mergePartials(ctx, store)
	if err := store.EachUpdate(ctx, p.Experiment, p.Round, unread, func(client int, u weights.Update, damaged error) error {
		if progress != nil {
			progress(client)
		}
		agg.add(client, u, damaged)
		return nil
	}); err != nil {
		return AggregateResult{}, err
	}
	agg.missing()
	var consumed []weights.UpdateRef
	if p.Late != nil {
		if consumed, err = agg.foldLate(ctx, store); err != nil {
			return AggregateResult{}, err
		}
	}
	params, err := agg.combine(ctx, store)
	if err != nil {
		return AggregateResult{}, err
	}
	res := agg.res
	if _, err := store.PutGlobal(ctx, weights.Global{Experiment: p.Experiment, Version: p.Round, Manifest: manifest,
		Params: params, Updates: res.Updates, Samples: res.Samples, Clients: res.Counted, Late: consumed, Counted: agg.audit()}); err != nil {
		return AggregateResult{}, err
	}
	return res, cleanUp(ctx, store, p, consumed)
}

// cleanUp removes what a stored version consumed. A synchronous round's updates all go
// (the round is sealed, none can follow); a semi-asynchronous round keeps its
// stragglers' updates for the next version to fold in (see deleteConsumed). A failure
// is returned: the retried aggregation finds its version and cleans up again.
func cleanUp(ctx context.Context, store *weights.Store, p AggregateParams, late []weights.UpdateRef) error {
	if p.KeepUpdates && p.Late == nil {
		return nil
	}
	if p.Late == nil {
		if _, err := store.DeleteRoundUpdates(ctx, p.Experiment, p.Round); err != nil {
			return fmt.Errorf("clean up round %d's updates (the aggregation is retried): %w", p.Round, err)
		}
		return nil
	}
	return deleteConsumed(ctx, store, p, late)
}

// aggregation collects one round's updates.
type aggregation struct {
	p        AggregateParams
	manifest []model.Param
	acc      *fedavg.Accumulator
	res      AggregateResult
	seen     map[int]bool
	// Robust strategies need every model at once; the others only the running sum.
	models                     [][]float32
	modelClients, modelSamples []int
	// counted are the updates added to the sum, the round's own by client.
	counted map[int]weights.UpdateRef
	// merged counts the updates that came in partial sums.
	merged      int
	countedLate []weights.UpdateRef
}

func newAggregation(p AggregateParams, manifest []model.Param) *aggregation {
	return &aggregation{p: p, manifest: manifest, acc: fedavg.NewAccumulator(model.NumParams(manifest)),
		res: AggregateResult{Version: p.Round}, seen: map[int]bool{}, counted: map[int]weights.UpdateRef{}}
}

func (a *aggregation) reject(client int, reason string) {
	a.res.Rejected = append(a.res.Rejected, Rejection{Client: client, Reason: reason})
}

// add counts one stored update, or rejects it with the reason.
func (a *aggregation) add(client int, u weights.Update, damaged error) {
	if a.seen[client] {
		return
	}
	a.seen[client] = true
	switch {
	case damaged != nil:
		a.reject(client, damaged.Error())
	case u.BaseVersion != a.p.BaseVersion:
		a.reject(client, fmt.Sprintf("update is for round %d from version %d, want round %d from version %d", u.Round, u.BaseVersion, a.p.Round, a.p.BaseVersion))
	case !model.SameManifest(u.Manifest, a.manifest):
		a.reject(client, "update has another model's shape")
	default:
		if err := a.acc.Add(u.Params, u.Samples); err != nil {
			a.reject(client, err.Error())
			return
		}
		a.res.Counted = append(a.res.Counted, client)
		a.counted[client] = u.Ref()
		if a.p.Strategy.Robust() {
			a.models = append(a.models, u.Params)
			a.modelClients, a.modelSamples = append(a.modelClients, client), append(a.modelSamples, u.Samples)
		}
	}
}

// missing rejects the clients that stored no update.
func (a *aggregation) missing() {
	for _, c := range a.p.Clients {
		if !a.seen[c] {
			a.reject(c, "no update stored")
		}
	}
}

// combine returns the next version's parameters by the round's strategy.
func (a *aggregation) combine(ctx context.Context, store *weights.Store) ([]float32, error) {
	sort.Ints(a.res.Counted)
	sort.Slice(a.res.Rejected, func(i, j int) bool { return a.res.Rejected[i].Client < a.res.Rejected[j].Client })
	if a.acc.Count() == 0 {
		return nil, fmt.Errorf("%w: round %d had %d clients", ErrNoUpdates, a.p.Round, len(a.p.Clients))
	}
	avg, err := a.acc.Average()
	if err != nil {
		return nil, err
	}
	a.res.Updates, a.res.Samples, a.res.FromPartials = a.acc.Count(), a.acc.Samples(), a.merged
	switch {
	case a.p.Strategy.Robust():
		combined, used, err := a.p.Strategy.Combine(a.models, a.modelSamples)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadStrategy, err)
		}
		a.res = chosenOnly(a.res, a.modelClients, a.modelSamples, used, a.p.Strategy.Kind())
		return combined, nil
	case a.p.Strategy.HasServerOptimizer():
		return stepServer(ctx, store, a.p, a.manifest, avg)
	}
	return avg, nil
}

// audit lists the updates whose content the version holds: the counted clients' (a
// robust strategy's choice), then the late ones folded in.
func (a *aggregation) audit() []weights.UpdateRef {
	var out []weights.UpdateRef
	for _, c := range a.res.Counted {
		out = append(out, a.counted[c])
	}
	return append(out, a.countedLate...)
}

// mergePartials merges the round's partial sums that are the ones their batches
// reported (by digest) and hold only clients counted here, from the round's base
// version, none merged twice, and returns the clients still to read. A partial that
// cannot be read or does not qualify is left out: its clients' updates are read
// instead. The store is not listed: a batch folded each update by the attempt and
// checksum its client reported, from bytes verified against that checksum, and the
// store never lets an earlier attempt's update replace a later one, so the digest
// the batch reported through Temporal is all that ties a partial to the round.
func (a *aggregation) mergePartials(ctx context.Context, store *weights.Store) []int {
	if len(a.p.Partials) == 0 || a.p.Clients == nil || a.p.Strategy.Robust() || a.p.Late != nil {
		return a.p.Clients
	}
	wanted := map[int]bool{}
	for _, c := range a.p.Clients {
		wanted[c] = true
	}
	for _, ref := range a.p.Partials {
		if ref.Digest == "" {
			continue // a batch of an earlier build named none: its clients are read
		}
		p, err := store.GetPartial(ctx, a.p.Experiment, a.p.Round, ref.Key, ref.Digest)
		if err != nil || !a.qualifies(p, wanted) {
			continue
		}
		if err := a.acc.Merge(fedavg.Partial{Sum: p.Sum, Weight: p.Weight, Samples: p.Samples, Count: len(p.Refs)}); err != nil {
			continue
		}
		for _, r := range p.Refs {
			a.seen[r.Client] = true
			a.res.Counted = append(a.res.Counted, r.Client)
			a.counted[r.Client] = r
		}
		a.merged += len(p.Refs)
	}
	unread := []int{} // not nil: nil would read every client's
	for _, c := range a.p.Clients {
		if !a.seen[c] {
			unread = append(unread, c)
		}
	}
	return unread
}

// qualifies says whether every update a partial holds is of one of the round's counted
// clients, from the round's base version, and not merged yet, nor twice in it.
func (a *aggregation) qualifies(p weights.Partial, wanted map[int]bool) bool {
	if len(p.Refs) == 0 {
		return false
	}
	in := map[int]bool{}
	for _, r := range p.Refs {
		if !wanted[r.Client] || a.seen[r.Client] || in[r.Client] || r.Round != a.p.Round || r.BaseVersion != a.p.BaseVersion {
			return false
		}
		in[r.Client] = true
	}
	return true
}
