package dashboard

import (
	"context"
	"errors"
	"fmt"
	"sync"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/runner"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// recordCache keeps the records of finished rounds, which never change, so a page
// polling every second reads each round workflow's result once.
type recordCache struct {
	mu     sync.Mutex
	rounds map[roundKey]workflows.RoundResult
	// models are the experiments' models, read from their first workflow input.
	models map[string]arch.Spec
}

type roundKey struct {
	experiment string
	round      int
}

func newRecordCache() *recordCache {
	return &recordCache{rounds: map[roundKey]workflows.RoundResult{}, models: map[string]arch.Spec{}}
}

// errRoundRunning says a round's workflow has not ended: a semi-asynchronous round
// whose last clients still train after its aggregation.
var errRoundRunning = errors.New("the round is still running")

// get returns a finished round's full record, reading it from Temporal the first time.
func (rc *recordCache) get(ctx context.Context, c client.Client, experiment string, round int) (workflows.RoundResult, error) {
	key := roundKey{experiment, round}
	rc.mu.Lock()
	rec, ok := rc.rounds[key]
	rc.mu.Unlock()
	if ok {
		return rec, nil
	}
	d, err := c.DescribeWorkflowExecution(ctx, workflows.RoundWorkflowID(experiment, round), "")
	if err != nil {
		return rec, fmt.Errorf("round %d: %w", round, err)
	}
	if d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return rec, errRoundRunning
	}
	rec, err = runner.RoundRecord(ctx, c, experiment, round)
	if err != nil {
		return rec, err
	}
	rc.mu.Lock()
	if len(rc.rounds) >= maxCachedRounds {
		// Bounded memory in a long-lived worker: forget them all; a page reads back
		// the ones it shows.
		clear(rc.rounds)
	}
	rc.rounds[key] = rec
	rc.mu.Unlock()
	return rec, nil
}

// maxCachedRounds bounds the records kept: a round of a thousand clients is about half
// a megabyte of activations, so this stays within a few hundred megabytes.
const maxCachedRounds = 500

// model is the model an experiment trains, as its workflow's input says.
func (rc *recordCache) model(ctx context.Context, c client.Client, experiment string) (arch.Spec, bool) {
	rc.mu.Lock()
	m, ok := rc.models[experiment]
	rc.mu.Unlock()
	if ok {
		return m, true
	}
	iter := c.GetWorkflowHistory(ctx, experiment, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !iter.HasNext() {
		return m, false
	}
	ev, err := iter.Next()
	started := ev.GetWorkflowExecutionStartedEventAttributes()
	if err != nil || started == nil {
		return m, false
	}
	var p workflows.ExperimentParams
	if converter.GetDefaultDataConverter().FromPayloads(started.GetInput(), &p) != nil {
		return m, false
	}
	rc.mu.Lock()
	rc.models[experiment] = p.Model
	rc.mu.Unlock()
	return p.Model, true
}
