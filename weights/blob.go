package weights

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Parameter bytes live in a collection of their own per weights object, cut into chunks
// below MongoDB's 16 MB document limit (as GridFS does), while the small descriptive
// documents live in the shared collections. The reason is FerretDB, the embedded store:
// it answers every lookup, by _id too, by scanning the whole collection and parsing every
// document's JSON, so a collection of a hundred 2 MB documents costs 200 MB of parsing
// per lookup. One object per collection keeps every lookup as cheap as the object
// itself, on FerretDB and on MongoDB alike.

// chunkSize keeps each chunk document well under the 16 MB limit.
const chunkSize = 4 << 20

type chunkDoc struct {
	N    int    `bson:"_id"`
	Data []byte `bson:"data"`
}

// blobName is the collection holding an object's bytes: a short, safe name derived from
// the object's id.
func (s *Store) blobName(id string) string {
	sum := sha256.Sum256([]byte(id))
	return s.prefix + "_blob_" + hex.EncodeToString(sum[:12])
}

// putBlob replaces the bytes stored under name.
func (s *Store) putBlob(ctx context.Context, name string, data []byte) error {
	coll := s.db.Collection(name)
	if err := coll.Drop(ctx); err != nil {
		return fmt.Errorf("weights: clear %s: %w", name, err)
	}
	var docs []any
	for n, off := 0, 0; off < len(data) || n == 0; n, off = n+1, off+chunkSize {
		end := min(off+chunkSize, len(data))
		docs = append(docs, chunkDoc{N: n, Data: data[off:end]})
	}
	// One chunk at a time keeps each insert message small.
	for _, d := range docs {
		if _, err := coll.InsertOne(ctx, d); err != nil {
			return fmt.Errorf("weights: write %s: %w", name, err)
		}
	}
	return nil
}

// getBlob reads the bytes stored under name; size is what the caller expects.
func (s *Store) getBlob(ctx context.Context, name string, size int) ([]byte, error) {
	// One chunk per batch: FerretDB does not cap reply batches by size.
	cur, err := s.db.Collection(name).Find(ctx, bson.M{}, options.Find().SetSort(bson.M{"_id": 1}).SetBatchSize(1))
	if err != nil {
		return nil, fmt.Errorf("weights: read %s: %w", name, err)
	}
	defer cur.Close(ctx)
	data := make([]byte, 0, size)
	next := 0
	for cur.Next(ctx) {
		var c chunkDoc
		if err := cur.Decode(&c); err != nil {
			return nil, fmt.Errorf("weights: read %s: %w", name, err)
		}
		if c.N != next {
			return nil, fmt.Errorf("%w: chunk %d of %s missing", ErrDamaged, next, name)
		}
		data = append(data, c.Data...)
		next++
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("weights: read %s: %w", name, err)
	}
	return data, nil
}

// dropBlob removes the bytes stored under name.
func (s *Store) dropBlob(ctx context.Context, name string) error {
	err := s.db.Collection(name).Drop(ctx)
	var cmdErr mongo.CommandError
	if errors.As(err, &cmdErr) && cmdErr.Name == "NamespaceNotFound" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("weights: drop %s: %w", name, err)
	}
	return nil
}
