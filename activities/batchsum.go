package activities

import (
	"context"
	"fmt"
	"sync"

	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/fedavg"
	"github.com/fedkeeper/fedkeeper/weights"
)

// batchSum is a batch's running FedAvg sum of its counted clients' updates, folded as
// they finish, so the round's aggregation merges a few sums instead of reading every
// update after the last one arrived. The updates are folded in the batch's order (a
// client's waits for those before it), so the sum, and the global model, are the same
// bits however the clients' finishes interleave, in a resumed batch too. It is derived
// data: an update it cannot read or check is left out (the aggregation reads that one
// itself), and the aggregation merges the stored sum only if every update in it is
// still stored as it was folded.
type batchSum struct {
	a        *Activities
	on       bool
	manifest []arch.Param
	tasks    []ClientTask
	mu       sync.Mutex // one update at a time: memory stays one model per batch
	finished []*finishedClient
	next     int // the first client not yet folded or passed over
	acc      *fedavg.Accumulator
	refs     []weights.UpdateRef
	key      string
	round    int
	exp      string
}

func newBatchSum(a *Activities, task BatchTask) *batchSum {
	s := &batchSum{a: a}
	// A sum of one update would cost twice its bytes (float64) and save no read.
	if !task.Fold || a.deps.Store == nil || len(task.Clients) < 2 {
		return s
	}
	first := task.Clients[0]
	manifest, err := first.Model.Manifest()
	if err != nil {
		return s
	}
	s.on, s.manifest, s.acc = true, manifest, fedavg.NewAccumulator(arch.NumParams(manifest))
	s.tasks, s.finished = task.Clients, make([]*finishedClient, len(task.Clients))
	s.exp, s.round, s.key = first.Experiment, first.Round, fmt.Sprintf("b%d", first.Client)
	return s
}

// finishedClient is a client's record, with its update's bytes if its result carried
// them, waiting for its turn to be folded.
type finishedClient struct {
	rec  ClientAttempts
	data []byte
}

// done takes the i-th client's record (and the update bytes its result carried, if
// any) and folds every finished client's update from the first not yet folded up to
// the first still running.
func (s *batchSum) done(ctx context.Context, i int, rec ClientAttempts, data []byte) {
	if !s.on {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finished[i] = &finishedClient{rec: rec, data: data}
	for ; s.next < len(s.finished) && s.finished[s.next] != nil; s.next++ {
		if f := s.finished[s.next]; f.rec.Counted {
			s.fold(ctx, s.tasks[s.next], *f)
		}
		s.finished[s.next] = nil // folded: its record and bytes may go
	}
}

// fold adds a counted client's update: the bytes its result carried, checked against
// the checksum it reported, or else read by the name its function reported. An update
// without a checksum, or that cannot be read, is left to the aggregation.
func (s *batchSum) fold(ctx context.Context, task ClientTask, f finishedClient) {
	rec := f.rec
	if len(rec.Runs) == 0 {
		return
	}
	run := rec.Runs[len(rec.Runs)-1]
	if run.UpdateSHA256 == "" {
		return
	}
	params, err := s.updateParams(ctx, task, rec.Attempts, run.UpdateSHA256, f.data)
	if err != nil {
		s.a.deps.Logger.Warn("batch sum: update left to the aggregation", "client", task.Client, "error", err)
		return
	}
	if s.acc.Add(params, run.Samples) == nil {
		s.refs = append(s.refs, weights.UpdateRef{Round: task.Round, Client: task.Client, BaseVersion: task.BaseVersion,
			Samples: run.Samples, Attempt: rec.Attempts, Checksum: run.UpdateSHA256})
	}
}

// updateParams decodes the bytes a result carried, verified by their checksum, or
// reads the stored update.
func (s *batchSum) updateParams(ctx context.Context, task ClientTask, attempt int, checksum string, data []byte) ([]float32, error) {
	if data != nil {
		if params, err := weights.Decode(data, s.manifest, checksum); err == nil {
			return params, nil
		}
	}
	return s.a.deps.Store.ReadUpdate(ctx, task.Experiment, task.Round, task.Client, attempt, checksum, s.manifest)
}

// store writes the sum for the aggregation and returns its key and digest, or "" when
// there is none (nothing folded, or the write failed: the aggregation then reads the
// updates). The store keeps the sum's vector: the batch is done with it.
func (s *batchSum) store(ctx context.Context) (key, digest string) {
	if !s.on || len(s.refs) < 2 {
		return "", ""
	}
	p := s.acc.Partial()
	digest, err := s.a.deps.Store.PutPartial(ctx, weights.Partial{Experiment: s.exp, Round: s.round, Key: s.key,
		Sum: p.Sum, Weight: p.Weight, Samples: p.Samples, Refs: s.refs})
	if err != nil {
		s.a.deps.Logger.Warn("batch sum not stored: the aggregation reads the updates", "error", err)
		return "", ""
	}
	return s.key, digest
}
