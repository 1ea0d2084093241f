package weights

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// A round's state is one small document in Collection+"_rounds": sealed once its
// aggregation began, and the clients whose updates of that round an aggregation
// consumed. MongoDB without transactions is atomic per document only, so the
// protocol is ordered instead: writers store their update and then read this
// document; aggregations write it and then read the updates (see PutUpdate).

type roundDoc struct {
	ID         string `bson:"_id"`
	Experiment string `bson:"experiment"`
	Round      int    `bson:"round"`
	Sealed     bool   `bson:"sealed"`
	Consumed   []int  `bson:"consumed,omitempty"`
}

func roundID(experiment string, round int) string { return fmt.Sprintf("%s/r%d", experiment, round) }

func (s *Store) rounds() *mongo.Collection { return s.db.Collection(s.prefix + "_rounds") }

// SealRound closes a round to its clients' updates, before its aggregation lists them:
// an update written later is refused. Sealing again is harmless.
func (s *Store) SealRound(ctx context.Context, experiment string, round int) error {
	_, err := s.rounds().UpdateOne(ctx, bson.M{"_id": roundID(experiment, round)},
		bson.M{"$set": bson.M{"sealed": true, "experiment": experiment, "round": round}}, options.Update().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("weights: seal %s round %d: %w", experiment, round, err)
	}
	return nil
}

// MarkConsumed records that a global version holds these clients' updates of a round,
// before they are deleted, so a replayed late update of theirs is refused instead of
// being folded in a second time.
func (s *Store) MarkConsumed(ctx context.Context, experiment string, round int, clients []int) error {
	if len(clients) == 0 {
		return nil
	}
	_, err := s.rounds().UpdateOne(ctx, bson.M{"_id": roundID(experiment, round)},
		bson.M{"$addToSet": bson.M{"consumed": bson.M{"$each": clients}},
			"$set": bson.M{"experiment": experiment, "round": round}}, options.Update().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("weights: mark consumed updates of %s round %d: %w", experiment, round, err)
	}
	return nil
}

// RoundState says whether a round is sealed and whose updates were consumed.
type RoundState struct {
	Sealed   bool
	Consumed []int
}

// RoundState reads a round's state; a round never sealed has the zero state.
func (s *Store) RoundState(ctx context.Context, experiment string, round int) (RoundState, error) {
	var doc roundDoc
	err := s.rounds().FindOne(ctx, bson.M{"_id": roundID(experiment, round)}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return RoundState{}, nil
	}
	if err != nil {
		return RoundState{}, fmt.Errorf("weights: read the state of %s round %d: %w", experiment, round, err)
	}
	return RoundState{Sealed: doc.Sealed, Consumed: doc.Consumed}, nil
}

// roundClosed says whether a client's update of a round must be refused: a late one
// when an aggregation consumed that client's update, any other when the round is
// sealed. (Rounds aggregated by builds before seals existed have none; a straggler of
// such a round is stored and deleted with the round's other updates, or left over, as
// those builds did. The versions are not looked up instead: FerretDB would read every
// version's description for each client's write.)
func (s *Store) roundClosed(ctx context.Context, experiment string, round, client int, late bool) (bool, error) {
	st, err := s.RoundState(ctx, experiment, round)
	if err != nil {
		return false, err
	}
	if late {
		return slices.Contains(st.Consumed, client), nil
	}
	return st.Sealed, nil
}
