package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Search attributes let the Web UI list and filter experiments and rounds, for example
// `FedKeeperExperiment = "mnist-…" AND FedKeeperAccuracy > 0.9`. The SQL visibility
// stores of the embedded server hold three custom attributes of each numeric type, so
// there are exactly three Int and three Double ones.
var (
	// ExperimentAttr names the experiment on its workflow and on every round.
	ExperimentAttr = temporal.NewSearchAttributeKeyKeyword("FedKeeperExperiment")
	// RoundAttr is the round of a round workflow; on the experiment, the last finished.
	RoundAttr = temporal.NewSearchAttributeKeyInt64("FedKeeperRound")
	// AccuracyAttr and LossAttr are the test metrics of the round's global model.
	AccuracyAttr = temporal.NewSearchAttributeKeyFloat64("FedKeeperAccuracy")
	LossAttr     = temporal.NewSearchAttributeKeyFloat64("FedKeeperLoss")
	// ClientsAttr counts the clients whose updates were aggregated.
	ClientsAttr = temporal.NewSearchAttributeKeyInt64("FedKeeperClients")
	// RetriesAttr counts re-invocations in the round (on the experiment: all rounds).
	RetriesAttr = temporal.NewSearchAttributeKeyInt64("FedKeeperRetries")
	// RoundSecondsAttr is the round's wall time (on the experiment: the last round's).
	RoundSecondsAttr = temporal.NewSearchAttributeKeyFloat64("FedKeeperRoundSeconds")
)

// SearchAttributeTypes lists the attributes FedKeeper writes, for registering them with
// a namespace.
func SearchAttributeTypes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		ExperimentAttr.GetName():   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		RoundAttr.GetName():        enumspb.INDEXED_VALUE_TYPE_INT,
		AccuracyAttr.GetName():     enumspb.INDEXED_VALUE_TYPE_DOUBLE,
		LossAttr.GetName():         enumspb.INDEXED_VALUE_TYPE_DOUBLE,
		ClientsAttr.GetName():      enumspb.INDEXED_VALUE_TYPE_INT,
		RetriesAttr.GetName():      enumspb.INDEXED_VALUE_TYPE_INT,
		RoundSecondsAttr.GetName(): enumspb.INDEXED_VALUE_TYPE_DOUBLE,
	}
}

// roundAttributes are what a finished round shows in the Web UI's columns and filters.
func roundAttributes(s RoundSummary) []temporal.SearchAttributeUpdate {
	return []temporal.SearchAttributeUpdate{
		RoundAttr.ValueSet(int64(s.Round)),
		AccuracyAttr.ValueSet(s.Accuracy),
		LossAttr.ValueSet(s.Loss),
		ClientsAttr.ValueSet(int64(s.Counted)),
		RetriesAttr.ValueSet(int64(s.Retries)),
		RoundSecondsAttr.ValueSet(s.TotalSeconds),
	}
}

// experimentAttributes show the experiment's latest round, with the retries of all.
func experimentAttributes(rounds []RoundSummary) []temporal.SearchAttributeUpdate {
	last := rounds[len(rounds)-1]
	for _, r := range rounds[:len(rounds)-1] {
		last.Retries += r.Retries
	}
	return roundAttributes(last)
}

// roundMemo is the finished round's summary in the workflow's memo, which the Web UI
// shows on the workflow's page.
func roundMemo(s RoundSummary) map[string]any {
	return map[string]any{
		"round": s.Round, "version": s.Version, "accuracy": s.Accuracy, "loss": s.Loss,
		"clients": s.Clients, "counted": s.Counted, "samples": s.Samples, "retries": s.Retries, "late": s.Late,
		"invoke_s": s.InvokeSeconds, "train_s": s.TrainSeconds, "aggregate_s": s.AggregateSeconds,
		"eval_s": s.EvalSeconds, "total_s": s.TotalSeconds,
	}
}
