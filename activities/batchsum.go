package activities

import (
	"context"
	"fmt"
	"sync"

	"go.temporal.io/sdk/activity"

	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/fedavg"
	"github.com/fedkeeper/fedkeeper/weights"
)

// batchSum is a batch's running FedAvg sum of its counted clients' updates, folded as
// each finishes, so the round's aggregation merges a few sums instead of reading every
// update after the last one arrived. It is derived data: an update it cannot read or
// check is left out (the aggregation reads that one itself), and the aggregation
// merges the stored sum only if every update in it is still stored as it was folded.
type batchSum struct {
	a        *Activities
	on       bool
	manifest []arch.Param
	mu       sync.Mutex // one update at a time: memory stays one model per batch
	acc      *fedavg.Accumulator
	refs     []weights.UpdateRef
	key      string
	round    int
	exp      string
}

func newBatchSum(a *Activities, task BatchTask) *batchSum {
	s := &batchSum{a: a}
	if !task.Fold || a.deps.Store == nil || len(task.Clients) == 0 {
		return s
	}
	first := task.Clients[0]
	manifest, err := first.Model.Manifest()
	if err != nil {
		return s
	}
	s.on, s.manifest, s.acc = true, manifest, fedavg.NewAccumulator(arch.NumParams(manifest))
	s.exp, s.round, s.key = first.Experiment, first.Round, fmt.Sprintf("b%d", first.Client)
	return s
}

// fold adds a counted client's stored update, the one of its counted attempt.
func (s *batchSum) fold(ctx context.Context, task ClientTask, attempt int) {
	if !s.on {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.a.deps.Store.GetUpdate(ctx, task.Experiment, task.Round, task.Client)
	switch {
	case err != nil:
		activity.GetLogger(ctx).Warn("batch sum: update left to the aggregation", "client", task.Client, "error", err)
		return
	case u.Attempt != attempt || u.BaseVersion != task.BaseVersion || !arch.SameManifest(u.Manifest, s.manifest):
		return // the aggregation reads it and says why
	}
	if s.acc.Add(u.Params, u.Samples) == nil {
		s.refs = append(s.refs, u.Ref())
	}
}

// store writes the sum for the aggregation and returns its key, or "" when there is
// none (nothing folded, or the write failed: the aggregation then reads the updates).
func (s *batchSum) store(ctx context.Context) string {
	if !s.on || len(s.refs) == 0 {
		return ""
	}
	p := s.acc.Partial()
	err := s.a.deps.Store.PutPartial(ctx, weights.Partial{Experiment: s.exp, Round: s.round, Key: s.key,
		Sum: p.Sum, Weight: p.Weight, Samples: p.Samples, Refs: s.refs})
	if err != nil {
		activity.GetLogger(ctx).Warn("batch sum not stored: the aggregation reads the updates", "error", err)
		return ""
	}
	return s.key
}
