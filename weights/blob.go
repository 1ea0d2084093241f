package weights

import (
	"bytes"
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
// below MongoDB's 16 MB document limit (as GridFS does). Where depends on the size,
// because of two costs of FerretDB, the embedded store, which keeps documents as JSON
// in SQLite (measured on 2 cores):
//   - a lookup or delete, by _id too, reads every document of its collection: 3 ms
//     among 900 small documents, 680 ms among a hundred 1.6 MB ones;
//   - every new collection is a new SQLite table, and each one makes every connection
//     parse the whole schema again: creating the 300th collection cost 13 ms, the
//     first 4 ms, so a collection per object made a round of 1,000 small clients
//     quadratic (85 s; 24 s with shared collections).
// So a large object (above ownCollectionAbove) gets a collection of its own, named like
// the blob, with chunks numbered from 0: reading it reads only it, and deleting it is a
// cheap drop; its own bytes cost far more than the table's creation. A small object's
// chunks go, under the _id "<blob>#<n>", into one of chunkShards collections created
// once, <collection>_chunks_<xx>, where a lookup scans a small share of small
// documents. MongoDB itself finds chunks through its _id index either way.

// chunkSize keeps each chunk document well under the 16 MB limit.
const chunkSize = 4 << 20

// chunkShards is how many collections hold the chunks of small objects.
const chunkShards = 256

// ownCollectionAbove is the size from which an object gets a collection of its own.
const ownCollectionAbove = 256 << 10

// ChunkLocation says where chunk n of an object of size bytes, stored under the name
// blob (its document's "blob" field), is: the collection and the chunk's _id. It is for
// tools that read the store directly; prefix is the configured collection name.
func ChunkLocation(prefix, blob string, size, n int) (collection string, id any) {
	if size > ownCollectionAbove {
		return blob, n
	}
	return shardOf(prefix, blob), chunkID(blob, n)
}

// shardOf names the shared collection that holds a small object's chunks.
func shardOf(prefix, blob string) string {
	sum := sha256.Sum256([]byte(blob))
	return shardName(prefix, int(sum[0])%chunkShards)
}

// shardName names the i-th of the collections that hold small objects' chunks.
func shardName(prefix string, i int) string { return fmt.Sprintf("%s_chunks_%02x", prefix, i) }

func (s *Store) chunksOf(name string) *mongo.Collection {
	return s.db.Collection(shardOf(s.prefix, name))
}

type chunkDoc struct {
	ID   string `bson:"_id"`
	Data []byte `bson:"data"`
}

// blobName names an object's bytes: short and safe, derived from the object's id.
func (s *Store) blobName(id string) string { return blobName(s.prefix, id) }

func blobName(prefix, id string) string {
	sum := sha256.Sum256([]byte(id))
	return prefix + "_blob_" + hex.EncodeToString(sum[:12])
}

func chunkID(name string, n int) string { return fmt.Sprintf("%s#%d", name, n) }

// chunkCount is how many chunks hold size bytes (an empty object has one, empty).
func chunkCount(size int) int { return max(1, (size+chunkSize-1)/chunkSize) }

// putBlob replaces the bytes stored under name.
func (s *Store) putBlob(ctx context.Context, name string, data []byte) error {
	if len(data) > ownCollectionAbove {
		return s.putOwnBlob(ctx, name, data)
	}
	// A small object is one chunk. Inserted first: FerretDB checks a new _id against
	// its index, where the replacement's lookup reads the whole shard.
	doc := chunkDoc{ID: chunkID(name, 0), Data: data}
	_, err := s.chunksOf(name).InsertOne(ctx, doc)
	switch {
	case err == nil:
		return nil
	case !mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("weights: write %s: %w", doc.ID, err)
	}
	if _, err := s.chunksOf(name).ReplaceOne(ctx, bson.M{"_id": doc.ID}, doc, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("weights: write %s: %w", doc.ID, err)
	}
	// An object of earlier builds, replaced, may leave chunks behind; remove them.
	for i := 1; ; i++ {
		res, err := s.chunksOf(name).DeleteOne(ctx, bson.M{"_id": chunkID(name, i)})
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
	if size > ownCollectionAbove {
		return s.getOwnBlob(ctx, name, size)
	}
	data := make([]byte, 0, size)
	for i := range chunkCount(size) {
		var c chunkDoc
		err := s.chunksOf(name).FindOne(ctx, bson.M{"_id": chunkID(name, i)}).Decode(&c)
		if errors.Is(err, mongo.ErrNoDocuments) {
			if i == 0 {
				// Earlier versions gave every object a collection of its own.
				return s.getOwnBlob(ctx, name, size)
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

// putOwnBlob replaces a large object's collection. An object named after its content
// (updates are) that is stored whole already is left alone: dropping it would pull the
// bytes from under a reader of the same content.
func (s *Store) putOwnBlob(ctx context.Context, name string, data []byte) error {
	coll := s.db.Collection(name)
	if n, err := coll.CountDocuments(ctx, bson.M{}); err == nil && n == int64(chunkCount(len(data))) && s.sameOwnBlob(ctx, name, data) {
		return nil
	}
	if err := coll.Drop(ctx); err != nil {
		return fmt.Errorf("weights: clear %s: %w", name, err)
	}
	// One chunk per insert keeps each message small.
	for i := range chunkCount(len(data)) {
		end := min((i+1)*chunkSize, len(data))
		if _, err := coll.InsertOne(ctx, bson.M{"_id": i, "data": data[i*chunkSize : end]}); err != nil {
			return fmt.Errorf("weights: write %s: %w", name, err)
		}
	}
	return nil
}

// getOwnBlob reads an object kept in a collection of its own.
func (s *Store) getOwnBlob(ctx context.Context, name string, size int) ([]byte, error) {
	// One chunk per batch: FerretDB does not cap reply batches by size.
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
	if size > ownCollectionAbove {
		err := s.db.Collection(name).Drop(ctx)
		var cmdErr mongo.CommandError
		if err != nil && !(errors.As(err, &cmdErr) && cmdErr.Name == "NamespaceNotFound") {
			return fmt.Errorf("weights: drop %s: %w", name, err)
		}
		return nil
	}
	for i := range chunkCount(size) {
		if _, err := s.chunksOf(name).DeleteOne(ctx, bson.M{"_id": chunkID(name, i)}); err != nil {
			return fmt.Errorf("weights: drop %s: %w", chunkID(name, i), err)
		}
	}
	return nil
}

// sameOwnBlob says whether a large object's collection holds exactly data.
func (s *Store) sameOwnBlob(ctx context.Context, name string, data []byte) bool {
	stored, err := s.getOwnBlob(ctx, name, len(data))
	return err == nil && bytes.Equal(stored, data)
}

// dropSmallBlobs removes the chunks of small objects, given by name, with one delete
// per shard: FerretDB reads the whole shard for each delete, so one per object made a
// round's clean-up quadratic.
func (s *Store) dropSmallBlobs(ctx context.Context, names []string) error {
	byShard := map[string][]string{}
	for _, name := range names {
		shard := shardOf(s.prefix, name)
		byShard[shard] = append(byShard[shard], chunkID(name, 0))
	}
	for shard, ids := range byShard {
		if _, err := s.db.Collection(shard).DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}}); err != nil {
			return fmt.Errorf("weights: drop %d objects from %s: %w", len(ids), shard, err)
		}
	}
	return nil
}

// PrepareChunkShards creates the collections that hold small objects' chunks, on
// FerretDB, before an experiment's first round writes to them. Created there on first
// use, each new collection is a new SQLite table, and every pooled connection then
// parses the whole schema again: the first round of a thousand small clients created
// some 250 of them while fifty connections were busy, at twice a later round's time.
// Created here, at the experiment's start, they take a fraction of a second. MongoDB
// itself needs nothing of the kind, and is left alone.
func (s *Store) PrepareChunkShards(ctx context.Context) error {
	var info bson.M
	if err := s.db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return fmt.Errorf("weights: ask the server what it is: %w", err)
	}
	if _, ferret := info["ferretdbVersion"]; !ferret {
		return nil
	}
	names, err := s.db.ListCollectionNames(ctx, bson.M{})
	if err != nil {
		return fmt.Errorf("weights: list collections: %w", err)
	}
	have := map[string]bool{}
	for _, name := range names {
		have[name] = true
	}
	for i := range chunkShards {
		name := shardName(s.prefix, i)
		if have[name] {
			continue
		}
		var cmdErr mongo.CommandError
		if err := s.db.CreateCollection(ctx, name); err != nil && !(errors.As(err, &cmdErr) && cmdErr.Name == "NamespaceExists") {
			return fmt.Errorf("weights: create %s: %w", name, err)
		}
	}
	return nil
}
