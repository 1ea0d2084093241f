package activities

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/fedkeeper/fedkeeper/fl/fedavg"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/weights"
)

// Aggregate averages the round's updates of the given clients (FedAvg, weighted by
// sample count) into global version Round. Updates that are missing, damaged, of
// another model, round or base version are rejected and listed. A round that was already
// aggregated returns the stored version unchanged, so a retry never counts an update twice.
func (a *Activities) Aggregate(ctx context.Context, in AggregateInput) (AggregateResult, error) {
	start := time.Now()
	store := a.deps.Store
	version := in.Round
	if info, err := store.GlobalInfo(ctx, in.Experiment, version); err == nil {
		activity.GetLogger(ctx).Info("round already aggregated", "experiment", in.Experiment, "version", version)
		return AggregateResult{Version: version, Updates: info.Updates, Samples: info.Samples, Counted: info.Clients,
			Seconds: time.Since(start).Seconds()}, nil
	} else if !errors.Is(err, weights.ErrNotFound) {
		return AggregateResult{}, err
	}

	manifest, err := in.Model.Manifest()
	if err != nil {
		return AggregateResult{}, badConfig("%v", err)
	}
	wanted := map[int]bool{}
	for _, c := range in.Clients {
		wanted[c] = true
	}
	acc := fedavg.NewAccumulator(model.NumParams(manifest))
	res := AggregateResult{Version: version}
	seen := map[int]bool{}
	reject := func(client int, reason string) {
		res.Rejected = append(res.Rejected, Rejection{Client: client, Reason: reason})
	}
	err = store.EachUpdate(ctx, in.Experiment, in.Round, func(client int, u weights.Update, damaged error) error {
		activity.RecordHeartbeat(ctx, client)
		if !wanted[client] || seen[client] {
			return nil // a client that did not report in time, or a duplicate
		}
		seen[client] = true
		switch {
		case damaged != nil:
			reject(client, damaged.Error())
		case u.BaseVersion != in.BaseVersion:
			reject(client, fmt.Sprintf("update is for round %d from version %d, want round %d from version %d", u.Round, u.BaseVersion, in.Round, in.BaseVersion))
		case !model.SameManifest(u.Manifest, manifest):
			reject(client, "update has another model's shape")
		default:
			if err := acc.Add(u.Params, u.Samples); err != nil {
				reject(client, err.Error())
				return nil
			}
			res.Counted = append(res.Counted, client)
		}
		return nil
	})
	if err != nil {
		return AggregateResult{}, err // the store is unwell: retry the whole aggregation
	}
	for _, c := range in.Clients {
		if !seen[c] {
			reject(c, "no update stored")
		}
	}
	sort.Ints(res.Counted)
	sort.Slice(res.Rejected, func(i, j int) bool { return res.Rejected[i].Client < res.Rejected[j].Client })
	if acc.Count() == 0 {
		return AggregateResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("round %d: none of %d updates could be aggregated", in.Round, len(in.Clients)), ErrTypeNoUpdates, nil)
	}
	avg, err := acc.Average()
	if err != nil {
		return AggregateResult{}, err
	}
	res.Updates, res.Samples = acc.Count(), acc.Samples()
	if _, err := store.PutGlobal(ctx, weights.Global{Experiment: in.Experiment, Version: version, Manifest: manifest,
		Params: avg, Updates: res.Updates, Samples: res.Samples, Clients: res.Counted}); err != nil {
		return AggregateResult{}, err
	}
	// The round's updates now live in the global version; dropping them keeps the
	// collection (and FerretDB's full scans of it) small.
	if _, err := store.DeleteRoundUpdates(ctx, in.Experiment, in.Round); err != nil {
		activity.GetLogger(ctx).Warn("could not delete aggregated updates", "round", in.Round, "error", err)
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}
