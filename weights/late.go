package weights

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// UpdateRef names a stored update without its parameters.
type UpdateRef struct {
	Round       int `bson:"round" json:"round"`
	Client      int `bson:"client" json:"client"`
	BaseVersion int `bson:"base_version" json:"base_version"`
	Samples     int `bson:"samples" json:"samples"`
	// Attempt and Checksum say which of the client's attempts, with which content (in
	// a version's audit of the updates it counted).
	Attempt  int    `bson:"attempt,omitempty" json:"attempt,omitempty"`
	Checksum string `bson:"sha256,omitempty" json:"sha256,omitempty"`
}

// Ref names the update, with its attempt and checksum.
func (u Update) Ref() UpdateRef {
	return UpdateRef{Round: u.Round, Client: u.Client, BaseVersion: u.BaseVersion, Samples: u.Samples, Attempt: u.Attempt, Checksum: u.Checksum}
}

// PendingUpdates lists the experiment's stored updates of rounds before round, oldest
// first: with semi-asynchronous rounds, the stragglers' updates that arrived after
// their round was aggregated and wait to be folded into the next version.
func (s *Store) PendingUpdates(ctx context.Context, experiment string, round int) ([]UpdateRef, error) {
	opts := options.Find().SetSort(bson.D{{Key: "round", Value: 1}, {Key: "client", Value: 1}}).
		SetProjection(bson.M{"round": 1, "client": 1, "base_version": 1, "samples": 1})
	cur, err := s.updates.Find(ctx, bson.M{"experiment": experiment, "round": bson.M{"$lt": round}}, opts)
	if err != nil {
		return nil, fmt.Errorf("weights: list pending updates of %s: %w", experiment, err)
	}
	var refs []UpdateRef
	if err := cur.All(ctx, &refs); err != nil {
		return nil, fmt.Errorf("weights: list pending updates of %s: %w", experiment, err)
	}
	return refs, nil
}

// DeleteUpdate removes one client's update of a round, its bytes first; a missing one
// is not an error, so a retried clean-up succeeds.
func (s *Store) DeleteUpdate(ctx context.Context, experiment string, round, client int) error {
	id := updateID(experiment, round, client)
	var doc weightsDoc
	err := s.updates.FindOne(ctx, bson.M{"_id": id}, options.FindOne().SetProjection(infoProjection)).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("weights: delete update %s: %w", id, err)
	}
	if err := s.dropParams(ctx, doc); err != nil {
		return fmt.Errorf("weights: delete update %s: %w", id, err)
	}
	if _, err := s.updates.DeleteOne(ctx, bson.M{"_id": id}); err != nil {
		return fmt.Errorf("weights: delete update %s: %w", id, err)
	}
	return nil
}
