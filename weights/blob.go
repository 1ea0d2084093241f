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

// Parameter bytes live apart from the small descriptive documents, cut into chunks
// below MongoDB's 16 MB document limit (as GridFS does), in one collection,
// <collection>_chunks, each chunk under the _id "<blob>#<n>" and reached only by that
// exact _id. Both halves of that rule come from FerretDB, the embedded store, which
// keeps documents as JSON in SQLite (measured on 2 cores):
//   - a lookup by exact _id uses the index (2.7 ms among 900 documents), but any other
//     filter parses every document of the collection, so chunks are never listed or
//     filtered, and the descriptions stay in collections of their own;
//   - every new collection is a new SQLite table, and each one makes every connection
//     parse the whole schema again: creating the 300th collection cost 13 ms, the
//     first 4 ms, so a collection per object made a round of 1,000 clients quadratic.
// Collections written by earlier versions (one per object, named like the blob) are
// still read.

// chunkSize keeps each chunk document well under the 16 MB limit.
const chunkSize = 4 << 20

type chunkDoc struct {
	ID   string `bson:"_id"`
	Data []byte `bson:"data"`
}

// blobName names an object's bytes: short and safe, derived from the object's id.
func (s *Store) blobName(id string) string {
	sum := sha256.Sum256([]byte(id))
	return s.prefix + "_blob_" + hex.EncodeToString(sum[:12])
}

func chunkID(name string, n int) string { return fmt.Sprintf("%s#%d", name, n) }

// chunkCount is how many chunks hold size bytes (an empty object has one, empty).
func chunkCount(size int) int { return max(1, (size+chunkSize-1)/chunkSize) }

// putBlob replaces the bytes stored under name.
func (s *Store) putBlob(ctx context.Context, name string, data []byte) error {
	n := chunkCount(len(data))
	for i := range n {
		end := min((i+1)*chunkSize, len(data))
		doc := chunkDoc{ID: chunkID(name, i), Data: data[i*chunkSize : end]}
		if _, err := s.chunks.ReplaceOne(ctx, bson.M{"_id": doc.ID}, doc, options.Replace().SetUpsert(true)); err != nil {
			return fmt.Errorf("weights: write %s: %w", doc.ID, err)
		}
	}
	// A replaced object that was longer leaves chunks behind; remove them.
	for i := n; ; i++ {
		res, err := s.chunks.DeleteOne(ctx, bson.M{"_id": chunkID(name, i)})
		if err != nil {
			return fmt.Errorf("weights: write %s: %w", name, err)
		}
		if res.DeletedCount == 0 {
			return nil
		}
	}
}

// getBlob reads the size bytes stored under name.
func (s *Store) getBlob(ctx context.Context, name string, size int) ([]byte, error) {
	data := make([]byte, 0, size)
	for i := range chunkCount(size) {
		var c chunkDoc
		err := s.chunks.FindOne(ctx, bson.M{"_id": chunkID(name, i)}).Decode(&c)
		if errors.Is(err, mongo.ErrNoDocuments) {
			if i == 0 {
				return s.getLegacyBlob(ctx, name, size)
			}
			return nil, fmt.Errorf("%w: chunk %d of %s missing", ErrDamaged, i, name)
		}
		if err != nil {
			return nil, fmt.Errorf("weights: read %s: %w", chunkID(name, i), err)
		}
		data = append(data, c.Data...)
	}
	return data, nil
}

// getLegacyBlob reads an object an earlier version stored as a collection of its own.
func (s *Store) getLegacyBlob(ctx context.Context, name string, size int) ([]byte, error) {
	cur, err := s.db.Collection(name).Find(ctx, bson.M{}, options.Find().SetSort(bson.M{"_id": 1}).SetBatchSize(1))
	if err != nil {
		return nil, fmt.Errorf("weights: read %s: %w", name, err)
	}
	defer cur.Close(ctx)
	data := make([]byte, 0, size)
	next := 0
	for cur.Next(ctx) {
		var c struct {
			N    int    `bson:"_id"`
			Data []byte `bson:"data"`
		}
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
	if next == 0 {
		return nil, fmt.Errorf("%w: no bytes stored for %s", ErrDamaged, name)
	}
	return data, nil
}

// dropBlob removes the bytes stored under name (size bytes).
func (s *Store) dropBlob(ctx context.Context, name string, size int) error {
	for i := range chunkCount(size) {
		if _, err := s.chunks.DeleteOne(ctx, bson.M{"_id": chunkID(name, i)}); err != nil {
			return fmt.Errorf("weights: drop %s: %w", chunkID(name, i), err)
		}
	}
	return nil
}
