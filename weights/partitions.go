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

// Partitions records how an experiment's training data was split among its clients.
type Partitions struct {
	Experiment string    `bson:"_id" json:"experiment"`
	Scheme     string    `bson:"scheme" json:"scheme"`
	Seed       uint64    `bson:"seed" json:"seed"`
	Clients    []Share   `bson:"clients" json:"clients"`
	Created    time.Time `bson:"created" json:"created"`
}

// Share is one client's part: how many examples of each digit it holds.
type Share struct {
	Client  int   `bson:"client" json:"client"`
	Samples int   `bson:"samples" json:"samples"`
	Labels  []int `bson:"labels" json:"labels"`
}

func (s *Store) partitions() *mongo.Collection { return s.db.Collection(s.prefix + "_partitions") }

// PutPartitions stores an experiment's partition record, replacing an earlier one.
func (s *Store) PutPartitions(ctx context.Context, p Partitions) error {
	if p.Created.IsZero() {
		p.Created = time.Now().UTC().Truncate(time.Millisecond)
	}
	// Seeds above 2^63 do not fit BSON's int64; store the bits.
	doc := bson.M{"_id": p.Experiment, "scheme": p.Scheme, "seed": int64(p.Seed), "clients": p.Clients, "created": p.Created}
	if _, err := s.partitions().ReplaceOne(ctx, bson.M{"_id": p.Experiment}, doc, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("weights: store partitions of %s: %w", p.Experiment, err)
	}
	return nil
}

// GetPartitions reads an experiment's partition record.
func (s *Store) GetPartitions(ctx context.Context, experiment string) (Partitions, error) {
	var doc struct {
		Experiment string    `bson:"_id"`
		Scheme     string    `bson:"scheme"`
		Seed       int64     `bson:"seed"`
		Clients    []Share   `bson:"clients"`
		Created    time.Time `bson:"created"`
	}
	err := s.partitions().FindOne(ctx, bson.M{"_id": experiment}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Partitions{}, fmt.Errorf("%w: partitions of %s", ErrNotFound, experiment)
	}
	if err != nil {
		return Partitions{}, fmt.Errorf("weights: read partitions of %s: %w", experiment, err)
	}
	return Partitions{Experiment: doc.Experiment, Scheme: doc.Scheme, Seed: uint64(doc.Seed), Clients: doc.Clients, Created: doc.Created}, nil
}
