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
// bytes (float64, little-endian) stored like any vector's. The aggregation merges a
// partial only when every update it names is stored with the same attempt and
// checksum, and reads the updates themselves otherwise, so a lost or stale partial
// costs time, never a wrong model. A round's clean-up removes its partials.

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

// PutPartial stores a partial sum, replacing one of the same key.
func (s *Store) PutPartial(ctx context.Context, p Partial) error {
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
		return fmt.Errorf("store partial sum %s: %w", id, err)
	}
	pd := partialDoc{ID: id, Experiment: p.Experiment, Round: p.Round, Weight: p.Weight, Samples: p.Samples, Refs: p.Refs,
		Count: doc.Count, Checksum: doc.Checksum, Blob: doc.Blob, Where: doc.Where}
	if _, err := s.partialsColl().ReplaceOne(ctx, bson.M{"_id": id}, pd, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("weights: store partial sum %s: %w", id, err)
	}
	return nil
}

// GetPartial reads and verifies a partial sum.
func (s *Store) GetPartial(ctx context.Context, experiment string, round int, key string) (Partial, error) {
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
		Sum: make([]float64, len(data)/8)}
	for i := range p.Sum {
		p.Sum[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
	}
	return p, nil
}

// deleteRoundPartials removes a round's partial sums with their bytes.
func (s *Store) deleteRoundPartials(ctx context.Context, experiment string, round int) error {
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
// verified; the description may still differ (another attempt stored since), which is
// why the aggregation checks a partial sum against the descriptions.
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
