package weights

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Claims are short leases in Collection+"_claims" that let one of several workers do
// a job the others must not repeat (redeploying a function its cluster lost). A claim
// lapses after its lease, so a holder that died frees it; leases are long against any
// clock difference between workers.
//
// Each taking of a claim inserts a document of its own, "<key>#<n>", the n-th: an
// insert of an _id that exists fails atomically on MongoDB and on FerretDB alike,
// where FerretDB's conditional updates are not atomic (two workers' takeovers of one
// lapsed lease both succeeded in a test).

type claimDoc struct {
	ID       string    `bson:"_id"`
	Key      string    `bson:"key"`
	N        int       `bson:"n"`
	Holder   string    `bson:"holder"`
	Until    time.Time `bson:"until"`
	Released bool      `bson:"released"`
}

func (s *Store) claims() *mongo.Collection { return s.db.Collection(s.prefix + "_claims") }

// Claim takes the claim named key for holder for lease, and says whether it got it:
// false while another holder's lease runs.
func (s *Store) Claim(ctx context.Context, key, holder string, lease time.Duration) (bool, error) {
	latest, err := s.latestClaim(ctx, key)
	if err != nil {
		return false, err
	}
	if latest != nil && !latest.Released && time.Now().Before(latest.Until) {
		return false, nil
	}
	n := 1
	if latest != nil {
		n = latest.N + 1
	}
	doc := claimDoc{ID: fmt.Sprintf("%s#%d", key, n), Key: key, N: n, Holder: holder,
		Until: time.Now().Add(lease).UTC().Truncate(time.Millisecond)}
	_, err = s.claims().InsertOne(ctx, doc)
	switch {
	case mongo.IsDuplicateKeyError(err):
		return false, nil // another holder took the n-th first
	case err != nil:
		return false, fmt.Errorf("weights: claim %s: %w", key, err)
	}
	if latest != nil {
		// Only the latest taking counts; the older ones are history.
		_, _ = s.claims().DeleteOne(ctx, bson.M{"_id": latest.ID})
	}
	return true, nil
}

func (s *Store) latestClaim(ctx context.Context, key string) (*claimDoc, error) {
	var doc claimDoc
	err := s.claims().FindOne(ctx, bson.M{"key": key}, options.FindOne().SetSort(bson.M{"n": -1})).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("weights: read claim %s: %w", key, err)
	}
	return &doc, nil
}

// Release gives up holder's claim named key; one held by another is left alone.
func (s *Store) Release(ctx context.Context, key, holder string) error {
	latest, err := s.latestClaim(ctx, key)
	if err != nil || latest == nil || latest.Holder != holder {
		return err
	}
	if _, err := s.claims().UpdateOne(ctx, bson.M{"_id": latest.ID}, bson.M{"$set": bson.M{"released": true}}); err != nil {
		return fmt.Errorf("weights: release %s: %w", key, err)
	}
	return nil
}

// Renew extends holder's claim named key by lease from now, and says whether the
// claim is still holder's.
func (s *Store) Renew(ctx context.Context, key, holder string, lease time.Duration) (bool, error) {
	latest, err := s.latestClaim(ctx, key)
	if err != nil || latest == nil || latest.Holder != holder || latest.Released {
		return false, err
	}
	until := time.Now().Add(lease).UTC().Truncate(time.Millisecond)
	if _, err := s.claims().UpdateOne(ctx, bson.M{"_id": latest.ID}, bson.M{"$set": bson.M{"until": until}}); err != nil {
		return false, fmt.Errorf("weights: renew claim %s: %w", key, err)
	}
	return true, nil
}
