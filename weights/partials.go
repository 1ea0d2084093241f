package weights

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/fedkeeper/fedkeeper/fl/arch"
)

// A partial sum is derived data: the running FedAvg sum of some of a round's updates
// (a batch's, folded as its clients finished), kept in Collection+"_partials" with its
// bytes (float64, little-endian) stored like any vector's. PutPartial returns its
// digest, a checksum of the whole partial (the sum's bytes, its weight, and the updates
// in it), which the batch reports through Temporal; the aggregation merges a partial
// only by that digest, so a partial another try of the batch stored (a stopped worker
// that went on writing) is never taken for the one the round recorded, and otherwise
// reads the partial's updates themselves: a lost or stale partial costs time, never a
// wrong model. The process that stored a partial keeps it in memory by digest (up to
// cachedPartialBytes), so an aggregation on the same worker reads nothing back. A
// round's clean-up removes its partials.

// cachedPartialBytes bounds the partial sums a process keeps: the batches of a round
// held them in memory while they ran (ten 3.2 MB sums for a thousand MLP clients).
const cachedPartialBytes = 256 << 20

// PartialRef names a stored partial sum: its key among the round's, and its digest
// (PutPartial), which tells it from another partial stored under the same key.
type PartialRef struct {
	Key    string `json:"key"`
	Digest string `json:"digest"`
}

// Partial is a running sum of some of a round's updates.
type Partial struct {
	Experiment string
	Round      int
	// Key names the partial among the round's (a batch's first client).
	Key     string
	Sum     []float64
	Weight  float64
	Samples int
	// Refs are the updates in the sum.
	Refs []UpdateRef
	// bytesChecksum is the checksum of the sum's bytes, as read.
	bytesChecksum string
}

type partialDoc struct {
	ID         string      `bson:"_id"`
	Experiment string      `bson:"experiment"`
	Round      int         `bson:"round"`
	Weight     float64     `bson:"weight"`
	Samples    int         `bson:"samples"`
	Refs       []UpdateRef `bson:"refs"`
	Count      int         `bson:"count"`
	Checksum   string      `bson:"sha256"`
	Blob       string      `bson:"blob"`
	Where      string      `bson:"where,omitempty"`
}

// bytesDoc describes a partial sum's bytes as any vector's are.
func (pd partialDoc) bytesDoc() weightsDoc {
	return weightsDoc{ID: pd.ID, Count: pd.Count, Blob: pd.Blob, Where: pd.Where, Checksum: pd.Checksum}
}

func (s *Store) partialsColl() *mongo.Collection { return s.db.Collection(s.prefix + "_partials") }

func partialID(experiment string, round int, key string) string {
	return fmt.Sprintf("%s/r%d/%s", experiment, round, key)
}

func roundGroup(experiment string, round int) string { return fmt.Sprintf("%s/r%d", experiment, round) }

// digest names a partial sum by all it holds, given the checksum of its sum's bytes.
func (p Partial) digest(bytesChecksum string) string {
	h := sha256.New()
	fmt.Fprintf(h, "partial %q %d %q\n%s %x %d\n", p.Experiment, p.Round, p.Key, bytesChecksum, math.Float64bits(p.Weight), p.Samples)
	for _, r := range p.Refs {
		fmt.Fprintf(h, "%d %d %d %d %d %q\n", r.Round, r.Client, r.BaseVersion, r.Samples, r.Attempt, r.Checksum)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// PutPartial stores a partial sum, replacing one of the same key, and returns its
// digest, by which GetPartial reads it. This process keeps it in memory meanwhile;
// the sum's vector is kept as it is, so the caller must not change it afterwards.
func (s *Store) PutPartial(ctx context.Context, p Partial) (string, error) {
	data := make([]byte, 8*len(p.Sum))
	for i, v := range p.Sum {
		binary.LittleEndian.PutUint64(data[8*i:], math.Float64bits(v))
	}
	sum := sha256.Sum256(data)
	id := partialID(p.Experiment, p.Round, p.Key)
	// Count is in float32 values, as for every vector: two per float64.
	doc := weightsDoc{ID: id, Count: 2 * len(p.Sum), Checksum: hex.EncodeToString(sum[:])}
	// Named after the content: a replaced partial never overwrites the bytes a reader
	// of the earlier one is reading.
	if err := s.putParamsAs(ctx, &doc, data, id+"/"+doc.Checksum[:16], derived); err != nil {
		return "", fmt.Errorf("store partial sum %s: %w", id, err)
	}
	pd := partialDoc{ID: id, Experiment: p.Experiment, Round: p.Round, Weight: p.Weight, Samples: p.Samples, Refs: p.Refs,
		Count: doc.Count, Checksum: doc.Checksum, Blob: doc.Blob, Where: doc.Where}
	if _, err := s.partialsColl().ReplaceOne(ctx, bson.M{"_id": id}, pd, options.Replace().SetUpsert(true)); err != nil {
		return "", fmt.Errorf("weights: store partial sum %s: %w", id, err)
	}
	digest := p.digest(doc.Checksum)
	s.partials.put(digest, roundGroup(p.Experiment, p.Round), p, int64(len(data)))
	return digest, nil
}

// GetPartial returns the partial sum of that key and digest: the one this process
// stored, or else the stored one, read and verified, if it has that digest. The sum's
// vector may be shared; do not change it.
func (s *Store) GetPartial(ctx context.Context, experiment string, round int, key, digest string) (Partial, error) {
	id := partialID(experiment, round, key)
	if p, ok := s.partials.get(digest); ok {
		return p, nil
	}
	p, err := s.readPartial(ctx, experiment, round, key)
	if err != nil {
		return Partial{}, err
	}
	if got := p.digest(p.bytesChecksum); got != digest {
		return Partial{}, fmt.Errorf("%w: partial sum %s is another than the one named (digest %.16s…, not %.16s…)", ErrConflict, id, got, digest)
	}
	return p, nil
}

// readPartial reads and verifies the stored partial sum of a key.
func (s *Store) readPartial(ctx context.Context, experiment string, round int, key string) (Partial, error) {
	id := partialID(experiment, round, key)
	var pd partialDoc
	if err := s.partialsColl().FindOne(ctx, bson.M{"_id": id}).Decode(&pd); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return Partial{}, fmt.Errorf("%w: partial sum %s", ErrNotFound, id)
		}
		return Partial{}, fmt.Errorf("weights: read partial sum %s: %w", id, err)
	}
	data, err := s.getParams(ctx, pd.bytesDoc())
	if err != nil {
		return Partial{}, fmt.Errorf("partial sum %s: %w", id, err)
	}
	got := sha256.Sum256(data)
	if len(data) != 4*pd.Count || hex.EncodeToString(got[:]) != pd.Checksum {
		return Partial{}, fmt.Errorf("%w: partial sum %s", ErrDamaged, id)
	}
	p := Partial{Experiment: experiment, Round: round, Key: key, Weight: pd.Weight, Samples: pd.Samples, Refs: pd.Refs,
		Sum: make([]float64, len(data)/8), bytesChecksum: pd.Checksum}
	for i := range p.Sum {
		p.Sum[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
	}
	return p, nil
}

// deleteRoundPartials removes a round's partial sums with their bytes.
func (s *Store) deleteRoundPartials(ctx context.Context, experiment string, round int) error {
	s.partials.dropGroup(roundGroup(experiment, round))
	filter := bson.M{"experiment": experiment, "round": round}
	cur, err := s.partialsColl().Find(ctx, filter)
	if err != nil {
		return fmt.Errorf("weights: list partial sums of %s round %d: %w", experiment, round, err)
	}
	var pds []partialDoc
	if err := cur.All(ctx, &pds); err != nil {
		return fmt.Errorf("weights: list partial sums of %s round %d: %w", experiment, round, err)
	}
	if len(pds) == 0 {
		return nil
	}
	docs := make([]weightsDoc, len(pds))
	for i, pd := range pds {
		docs[i] = pd.bytesDoc()
	}
	if err := s.dropAllParams(ctx, docs); err != nil {
		return err
	}
	if _, err := s.partialsColl().DeleteMany(ctx, filter); err != nil {
		return fmt.Errorf("weights: delete partial sums of %s round %d: %w", experiment, round, err)
	}
	return nil
}

// ReadUpdate reads a client's update of a round straight from its bytes, named by the
// attempt and the checksum its writer reported, without looking its description up
// (which FerretDB answers by reading every description of the round). The checksum is
// verified. The bytes of an attempt a later one replaced are dropped with it, so a
// superseded attempt reads as missing.
func (s *Store) ReadUpdate(ctx context.Context, experiment string, round, client, attempt int, checksum string, manifest []arch.Param) ([]float32, error) {
	if len(checksum) < 16 {
		return nil, fmt.Errorf("weights: update checksum %q is too short", checksum)
	}
	key, _ := UpdateBlob(s.prefix, experiment, round, client, attempt, checksum)
	doc := weightsDoc{ID: key, Count: arch.NumParams(manifest), Checksum: checksum}
	doc.Where, doc.Blob = s.placeBytes(key, checksum, 4*doc.Count)
	data, err := s.getParams(ctx, doc)
	if err != nil {
		return nil, err
	}
	params, err := Decode(data, manifest, checksum)
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", key, err)
	}
	return params, nil
}
