package weights

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/fedkeeper/fedkeeper/fl/arch"
)

// Errors of PutUpdate: each refuses the update and leaves the store as it was.
var (
	// ErrRoundClosed refuses an update for a round already aggregated (a late client),
	// or a late update its round's aggregations already consumed.
	ErrRoundClosed = errors.New("weights: the round is already aggregated")
	// ErrSuperseded refuses an update of an attempt older than the one stored: a
	// replayed invocation never overwrites a later attempt's work.
	ErrSuperseded = errors.New("weights: a later attempt's update is stored")
	// ErrAttemptStored refuses other content for an attempt whose update is stored.
	ErrAttemptStored = errors.New("weights: this attempt's update is already stored with other content")
)

// maxReplaceRaces bounds how often PutUpdate retries a replacement that lost a race
// with another writer of the same client's update.
const maxReplaceRaces = 3

// PutUpdate stores a client's update for a round and returns its checksum, which with
// the update's round, client and attempt names its bytes (UpdateBlob). It is refused (and nothing changes)
// when the round is closed (see SealRound; u.AcceptLate: when an aggregation consumed
// this client's update, see MarkConsumed), when a later attempt's update is stored,
// or when this attempt stored other content. The same content stored again is a
// no-op, so a retried write is harmless.
//
// The update is written first and the round's state read afterwards, while an
// aggregation seals the round before it lists the updates: either the listing sees
// the update, or the writer sees the seal and takes its update back. So no update
// lands unseen after an aggregation.
func (s *Store) PutUpdate(ctx context.Context, u Update) (string, error) {
	if arch.NumParams(u.Manifest) != len(u.Params) {
		return "", fmt.Errorf("weights: update of client %d has %d values, manifest needs %d", u.Client, len(u.Params), arch.NumParams(u.Manifest))
	}
	data, sum := Encode(u.Params)
	id := updateID(u.Experiment, u.Round, u.Client)
	doc := weightsDoc{
		ID: id, Experiment: u.Experiment, Round: u.Round, Client: u.Client, Attempt: u.Attempt, BaseVersion: u.BaseVersion,
		Samples: u.Samples, Loss: u.Loss, Manifest: toManifestDocs(u.Manifest), DType: "float32",
		Count: len(u.Params), Checksum: sum, Created: time.Now().UTC().Truncate(time.Millisecond),
	}
	// Each attempt and content has bytes of its own, so a refused write never touches
	// the bytes of the update it lost to.
	key, _ := UpdateBlob(s.prefix, u.Experiment, u.Round, u.Client, u.Attempt, sum)
	if err := s.putParamsAs(ctx, &doc, data, key, durable); err != nil {
		return "", fmt.Errorf("store update %s: %w", id, err)
	}
	w := updateWrite{store: s, doc: doc, late: u.AcceptLate}
	return sum, w.commit(ctx)
}

// UpdateBlob names an update's bytes (docs/CLIENT-PROTOCOL.md §5): key, what the name
// is derived from, and blob, the name itself. Each attempt and content has bytes of its
// own.
func UpdateBlob(collection, experiment string, round, client, attempt int, checksum string) (key, blob string) {
	key = fmt.Sprintf("%s/a%d/%s", updateID(experiment, round, client), attempt, checksum[:16])
	return key, blobName(collection, key)
}

// updateWrite is one PutUpdate after its bytes are stored: it writes the description,
// then checks the round, undoing what it wrote when the round turns out closed.
type updateWrite struct {
	store *Store
	doc   weightsDoc
	late  bool
	// replaced is the earlier attempt's description this write replaced, if any.
	replaced *weightsDoc
	// noop is set when the same content was stored already.
	noop bool
}

func (w *updateWrite) commit(ctx context.Context) error {
	if err := w.describe(ctx); err != nil {
		return err
	}
	if w.store.beforeRoundCheck != nil {
		w.store.beforeRoundCheck()
	}
	closed, err := w.store.roundClosed(ctx, w.doc.Experiment, w.doc.Round, w.doc.Client, w.late)
	if err != nil {
		return err
	}
	if closed {
		return w.undo(ctx)
	}
	if w.replaced != nil && !sameBytes(*w.replaced, w.doc) {
		// The new attempt is stored; a leftover would only cost space.
		_ = w.store.dropParams(ctx, *w.replaced)
	}
	return nil
}

// describe writes the description: inserted, or replacing an earlier attempt's.
// Insert first: FerretDB checks a new _id against its index, where a lookup would scan
// the whole collection, which holds every update of the round.
func (w *updateWrite) describe(ctx context.Context) error {
	_, err := w.store.updates.InsertOne(ctx, w.doc)
	if err == nil {
		return nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("weights: store update %s: %w", w.doc.ID, err)
	}
	for range maxReplaceRaces {
		done, err := w.replace(ctx)
		if done || err != nil {
			return err
		}
	}
	return fmt.Errorf("weights: store update %s: other writers kept replacing it", w.doc.ID)
}

// replace compares the stored description with this write's and replaces it when it
// is an earlier attempt's; done is false when another writer changed it meanwhile.
func (w *updateWrite) replace(ctx context.Context) (done bool, err error) {
	var old weightsDoc
	err = w.store.updates.FindOne(ctx, bson.M{"_id": w.doc.ID}, options.FindOne().SetProjection(infoProjection)).Decode(&old)
	if errors.Is(err, mongo.ErrNoDocuments) {
		// Deleted meanwhile: the round is being cleaned up, or the write races a delete.
		_, err = w.store.updates.InsertOne(ctx, w.doc)
		if mongo.IsDuplicateKeyError(err) {
			return false, nil
		}
		return err == nil, wrapStore(w.doc.ID, err)
	}
	if err != nil {
		return false, wrapStore(w.doc.ID, err)
	}
	switch {
	case old.Attempt > w.doc.Attempt:
		w.dropOwn(ctx, old)
		return true, fmt.Errorf("%w: %s has attempt %d, this is attempt %d", ErrSuperseded, w.doc.ID, old.Attempt, w.doc.Attempt)
	case old.Attempt == w.doc.Attempt && old.Checksum == w.doc.Checksum:
		w.noop = true
		return true, nil
	case old.Attempt == w.doc.Attempt:
		w.dropOwn(ctx, old)
		return true, fmt.Errorf("%w: %s attempt %d", ErrAttemptStored, w.doc.ID, w.doc.Attempt)
	}
	res, err := w.store.updates.ReplaceOne(ctx, describing(old), w.doc)
	if err != nil {
		return false, wrapStore(w.doc.ID, err)
	}
	if res.MatchedCount == 0 {
		return false, nil
	}
	w.replaced = &old
	return true, nil
}

// undo takes back what this write did to a closed round and refuses the update. A
// fresh description is deleted with its bytes. A replacement stays: the aggregation
// may be reading either attempt's bytes, and the round's clean-up removes the
// description it finds (the earlier attempt's bytes are then left behind, a rare
// waste of space rather than a damaged read). A no-op changed nothing.
func (w *updateWrite) undo(ctx context.Context) error {
	refused := fmt.Errorf("%w: %s round %d", ErrRoundClosed, w.doc.Experiment, w.doc.Round)
	if w.noop || w.replaced != nil {
		return refused
	}
	_, err := w.store.updates.DeleteOne(ctx, describing(w.doc))
	if err != nil {
		return errors.Join(refused, wrapStore(w.doc.ID, err))
	}
	if err := w.store.dropParams(ctx, w.doc); err != nil {
		return errors.Join(refused, err)
	}
	return refused
}

// dropOwn removes this write's bytes after it was refused, unless they are the stored
// description's own.
func (w *updateWrite) dropOwn(ctx context.Context, stored weightsDoc) {
	if !sameBytes(stored, w.doc) {
		_ = w.store.dropParams(ctx, w.doc)
	}
}

// describing matches the description d as it was read or written, and no other
// attempt's or content's; descriptions of earlier versions have no attempt field.
func describing(d weightsDoc) bson.M {
	f := bson.M{"_id": d.ID, "sha256": d.Checksum, "attempt": d.Attempt}
	if d.Attempt == 0 {
		delete(f, "attempt")
		f["$or"] = bson.A{bson.M{"attempt": 0}, bson.M{"attempt": bson.M{"$exists": false}}}
	}
	return f
}

func sameBytes(a, b weightsDoc) bool { return a.Where == b.Where && a.Blob == b.Blob }

func wrapStore(id string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("weights: store update %s: %w", id, err)
}
