package weights

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/fedkeeper/fedkeeper/fl/arch"
)

// ErrNotFound means the requested weights are not stored (yet).
var ErrNotFound = errors.New("weights: not found")

// ErrConflict means a global version already exists with different content; global
// versions are written once and never change.
var ErrConflict = errors.New("weights: version already stored with different content")

// Options locate the store.
type Options struct {
	URI string
	DB  string
	// Collection describes the global versions; client updates are described in
	// Collection+"_updates"; the parameters of each live in Collection+"_blob_…".
	Collection string
	// TensorDir, when set, keeps parameter vectors above 256 KB as files in this
	// directory (see tensorfiles.go); every process using the store must see it.
	TensorDir string
}

// Store reads and writes weights in MongoDB.
type Store struct {
	client  *mongo.Client
	db      *mongo.Database
	prefix  string
	globals *mongo.Collection
	updates *mongo.Collection
	tensors *tensorFiles // nil: every vector lives in MongoDB
	// beforeRoundCheck, when set (tests only), runs between an update's description
	// and its round check, where an aggregation may seal the round.
	beforeRoundCheck func()
	// counted, when set, learns every parameter read and write ("read", "write").
	counted func(direction string, n int)
	// lastGlobal holds the bytes of the global version read last.
	lastGlobal *contentCache[cachedGlobal]
	// partials holds the partial sums this process stored, by digest (PutPartial).
	partials *contentCache[Partial]
}

// cachedGlobal is the verified bytes of a global version with its description, kept
// by checksum (Store.lastGlobal): a warm function serves every client of a round from
// one read of the round's version, and the keeper relays it to every relayed client. A
// version never changes (PutGlobal refuses other content), and the checksum names it.
type cachedGlobal struct {
	doc  weightsDoc
	data []byte
}

// lastGlobal's bounds: one version, the one read last, of any size.
const cachedGlobals = 1

// CountBytes makes the store tell fn the bytes of every parameter vector it reads or
// writes (direction "read" or "write"), for a worker's metrics. Call it before use.
func (s *Store) CountBytes(fn func(direction string, n int)) { s.counted = fn }

func (s *Store) count(direction string, n int) {
	if s.counted != nil {
		s.counted(direction, n)
	}
}

// Connect opens the store and checks the server answers.
func Connect(ctx context.Context, opts Options) (*Store, error) {
	if opts.DB == "" || opts.Collection == "" {
		return nil, errors.New("weights: database and collection names are required")
	}
	var tensors *tensorFiles
	if opts.TensorDir != "" {
		var err error
		if tensors, err = openTensorFiles(opts.TensorDir); err != nil {
			return nil, err
		}
	}
	clientOpts := options.Client().ApplyURI(opts.URI).
		SetServerSelectionTimeout(15 * time.Second).
		SetConnectTimeout(10 * time.Second).
		SetAppName("fedkeeper")
	client, err := mongo.Connect(ctx, clientOpts)
	if err != nil {
		return nil, fmt.Errorf("weights: connect to MongoDB at %s: %w", redact(opts.URI), err)
	}
	if err := client.Ping(ctx, nil); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("weights: MongoDB at %s does not answer: %w", redact(opts.URI), err)
	}
	db := client.Database(opts.DB)
	return &Store{client: client, db: db, prefix: opts.Collection, tensors: tensors,
		globals: db.Collection(opts.Collection), updates: db.Collection(opts.Collection + "_updates"),
		lastGlobal: newContentCache[cachedGlobal](cachedGlobals, math.MaxInt64),
		partials:   newContentCache[Partial](math.MaxInt32, cachedPartialBytes)}, nil
}

// Close disconnects.
func (s *Store) Close(ctx context.Context) error {
	return s.client.Disconnect(ctx)
}

// redact hides the secrets of a MongoDB URI so it can be shown in messages: the
// password of its user, and query options that carry one (password=,
// tlsCertificateKeyFilePassword=, authMechanismProperties= with its AWS session token).
func redact(uri string) string {
	base, query, hasQuery := strings.Cut(uri, "?")
	if scheme, rest, ok := strings.Cut(base, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			user, _, _ := strings.Cut(rest[:at], ":")
			base = scheme + "://" + user + ":***@" + rest[at+1:]
		}
	}
	if !hasQuery {
		return base
	}
	opts := strings.Split(query, "&")
	for i, opt := range opts {
		name, _, _ := strings.Cut(opt, "=")
		if secretOption(name) {
			opts[i] = name + "=***"
		}
	}
	return base + "?" + strings.Join(opts, "&")
}

func secretOption(name string) bool {
	lower := strings.ToLower(name)
	return strings.Contains(lower, "password") || strings.Contains(lower, "secret") || strings.Contains(lower, "token") ||
		lower == "authmechanismproperties"
}

// Global is one version of the global model. Version 0 is the initial model; version n
// is the result of round n.
type Global struct {
	Experiment string
	Version    int
	Manifest   []arch.Param
	Params     []float32
	// Updates, Samples and Clients say what the aggregation folded in.
	Updates int
	Samples int
	Clients []int
	// Late are the earlier rounds' updates a semi-asynchronous aggregation consumed
	// (folded in or dropped as too stale): what a retry must still delete.
	Late []UpdateRef
	// Counted is the audit of every update whose content went into the version: the
	// round's own and the late ones folded in, each with its attempt and checksum. It is
	// kept apart from the version's description (see audits.go).
	Counted []UpdateRef
}

// GlobalInfo describes a stored global version without its parameters.
type GlobalInfo struct {
	Experiment string      `bson:"experiment" json:"experiment"`
	Version    int         `bson:"version" json:"version"`
	Updates    int         `bson:"updates" json:"updates"`
	Samples    int         `bson:"samples" json:"samples"`
	Clients    []int       `bson:"clients,omitempty" json:"clients,omitempty"`
	Late       []UpdateRef `bson:"late,omitempty" json:"late,omitempty"`
	// Counted is the version's audit (see Global).
	Counted  []UpdateRef `bson:"-" json:"counted,omitempty"`
	Checksum string      `bson:"sha256" json:"sha256"`
	Created  time.Time   `bson:"created" json:"created"`
	Metrics  *Evaluated  `bson:"metrics,omitempty" json:"metrics,omitempty"`
}

// Evaluated is a global version's score on the test set.
type Evaluated struct {
	Loss     float64 `bson:"loss" json:"loss"`
	Accuracy float64 `bson:"accuracy" json:"accuracy"`
}

// Update is one client's trained parameters for one round.
type Update struct {
	Experiment string
	Round      int
	Client     int
	// Attempt numbers the client's invocations in its round, from 1: a later attempt's
	// update replaces an earlier one's, never the other way round.
	Attempt     int
	BaseVersion int
	Samples     int
	Loss        float64
	Manifest    []arch.Param
	Params      []float32
	// AcceptLate stores the update even though its round is aggregated: a straggler
	// of a semi-asynchronous round, folded into a later version. Not stored.
	AcceptLate bool
	// Checksum is the SHA-256 of the stored parameters (set when read).
	Checksum string
}

type paramDoc struct {
	Name  string `bson:"name"`
	Shape []int  `bson:"shape"`
}

type weightsDoc struct {
	ID          string      `bson:"_id"`
	Experiment  string      `bson:"experiment"`
	Version     int         `bson:"version,omitempty"`
	Round       int         `bson:"round"`
	Client      int         `bson:"client,omitempty"`
	Attempt     int         `bson:"attempt"`
	BaseVersion int         `bson:"base_version,omitempty"`
	Updates     int         `bson:"updates,omitempty"`
	Samples     int         `bson:"samples"`
	Clients     []int       `bson:"clients,omitempty"`
	Late        []UpdateRef `bson:"late,omitempty"`
	Loss        float64     `bson:"loss,omitempty"`
	Manifest    []paramDoc  `bson:"manifest"`
	DType       string      `bson:"dtype"`
	Count       int         `bson:"count"`
	Checksum    string      `bson:"sha256"`
	Blob        string      `bson:"blob"`
	// Where the bytes are: empty for MongoDB chunks, whereFile for the tensor directory.
	Where   string     `bson:"where,omitempty"`
	Created time.Time  `bson:"created"`
	Metrics *Evaluated `bson:"metrics,omitempty"`
}

func globalID(experiment string, version int) string {
	return fmt.Sprintf("%s/v%d", experiment, version)
}

func updateID(experiment string, round, client int) string {
	return fmt.Sprintf("%s/r%d/c%d", experiment, round, client)
}

func toManifestDocs(m []arch.Param) []paramDoc {
	out := make([]paramDoc, len(m))
	for i, p := range m {
		out[i] = paramDoc{Name: p.Name, Shape: p.Shape}
	}
	return out
}

func fromManifestDocs(m []paramDoc) []arch.Param {
	out := make([]arch.Param, len(m))
	for i, p := range m {
		out[i] = arch.Param{Name: p.Name, Shape: p.Shape}
	}
	return out
}

// PutGlobal stores a global version once. Storing the same content again succeeds, so a
// retried aggregation is harmless; different content for an existing version is refused.
func (s *Store) PutGlobal(ctx context.Context, g Global) (GlobalInfo, error) {
	if arch.NumParams(g.Manifest) != len(g.Params) {
		return GlobalInfo{}, fmt.Errorf("weights: global v%d has %d values, manifest needs %d", g.Version, len(g.Params), arch.NumParams(g.Manifest))
	}
	id := globalID(g.Experiment, g.Version)
	data, sum := Encode(g.Params)
	if existing, err := s.GlobalInfo(ctx, g.Experiment, g.Version); err == nil {
		return sameOrConflict(existing, sum)
	} else if !errors.Is(err, ErrNotFound) {
		return GlobalInfo{}, err
	}
	doc := weightsDoc{
		ID: id, Experiment: g.Experiment, Version: g.Version, Round: g.Version,
		Updates: g.Updates, Samples: g.Samples, Manifest: toManifestDocs(g.Manifest), DType: "float32",
		Count: len(g.Params), Checksum: sum, Created: time.Now().UTC().Truncate(time.Millisecond),
	}
	// The bytes and the audit first: a description is only written once what it
	// describes is stored.
	if err := s.putParams(ctx, &doc, data); err != nil {
		return GlobalInfo{}, fmt.Errorf("store global v%d of %s: %w", g.Version, g.Experiment, err)
	}
	if err := s.putAudit(ctx, g); err != nil {
		return GlobalInfo{}, err
	}
	_, err := s.globals.InsertOne(ctx, doc)
	if mongo.IsDuplicateKeyError(err) {
		// Another writer won the race; both wrote the same id's blob.
		existing, err := s.GlobalInfo(ctx, g.Experiment, g.Version)
		if err != nil {
			return GlobalInfo{}, err
		}
		return sameOrConflict(existing, sum)
	}
	if err != nil {
		return GlobalInfo{}, fmt.Errorf("weights: store global v%d of %s: %w", g.Version, g.Experiment, err)
	}
	return withAudit(infoOf(doc), auditDoc{Counted: g.Counted, Clients: g.Clients, Late: g.Late}), nil
}

func sameOrConflict(existing GlobalInfo, sum string) (GlobalInfo, error) {
	if existing.Checksum != sum {
		return GlobalInfo{}, fmt.Errorf("%w: %s v%d", ErrConflict, existing.Experiment, existing.Version)
	}
	return existing, nil
}

func infoOf(d weightsDoc) GlobalInfo {
	return GlobalInfo{Experiment: d.Experiment, Version: d.Version, Updates: d.Updates, Samples: d.Samples, Clients: d.Clients,
		Late: d.Late, Checksum: d.Checksum, Created: d.Created, Metrics: d.Metrics}
}

// readParams loads and verifies the parameters a description points at.
func (s *Store) readParams(ctx context.Context, doc weightsDoc) ([]arch.Param, []float32, error) {
	manifest := fromManifestDocs(doc.Manifest)
	data, err := s.getParams(ctx, doc)
	if err != nil {
		return nil, nil, err
	}
	params, err := Decode(data, manifest, doc.Checksum)
	if err != nil {
		return nil, nil, err
	}
	return manifest, params, nil
}

// GetGlobal reads and verifies a global version: its parameters and counts, without the
// lists of clients and the audit (GlobalInfo reads those). The parameters are the
// caller's to change.
func (s *Store) GetGlobal(ctx context.Context, experiment string, version int) (Global, error) {
	return s.GetGlobalKnown(ctx, experiment, version, "")
}

// GetGlobalKnown is GetGlobal for a caller told the version's checksum (a client, by
// its signed task): the version read last, if it has that checksum, is served without
// reading the store, and a stored version of another checksum is refused. An empty
// checksum reads the description as GetGlobal does.
func (s *Store) GetGlobalKnown(ctx context.Context, experiment string, version int, checksum string) (Global, error) {
	doc, data, err := s.globalBytes(ctx, experiment, version, checksum)
	if err != nil {
		return Global{}, err
	}
	manifest := fromManifestDocs(doc.Manifest)
	params, err := Decode(data, manifest, doc.Checksum)
	if err != nil {
		return Global{}, fmt.Errorf("global v%d of %s: %w", version, experiment, err)
	}
	// Decode may view the cached bytes.
	return Global{Experiment: experiment, Version: version, Manifest: manifest, Params: slices.Clone(params),
		Updates: doc.Updates, Samples: doc.Samples}, nil
}

// GlobalBytes reads a global version's encoded parameters, verified, and their
// checksum: what a relayed client gets inline. The bytes are shared; do not change them.
func (s *Store) GlobalBytes(ctx context.Context, experiment string, version int) ([]byte, string, error) {
	doc, data, err := s.globalBytes(ctx, experiment, version, "")
	if err != nil {
		return nil, "", err
	}
	return data, doc.Checksum, nil
}

// GlobalChecksum reads the checksum of a global version's parameters.
func (s *Store) GlobalChecksum(ctx context.Context, experiment string, version int) (string, error) {
	var doc weightsDoc
	err := s.globals.FindOne(ctx, bson.M{"_id": globalID(experiment, version)}, options.FindOne().SetProjection(bson.M{"sha256": 1})).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", fmt.Errorf("%w: global v%d of %s", ErrNotFound, version, experiment)
	}
	if err != nil {
		return "", fmt.Errorf("weights: read global v%d of %s: %w", version, experiment, err)
	}
	return doc.Checksum, nil
}

// globalBytes reads a global version's description, and its bytes unless they are the
// ones read last; bytes read anew are verified before they are kept. Given the
// version's checksum (known), the version read last with it needs no read at all.
func (s *Store) globalBytes(ctx context.Context, experiment string, version int, known string) (weightsDoc, []byte, error) {
	id := globalID(experiment, version)
	if known != "" {
		if c, ok := s.lastGlobal.get(known); ok && c.doc.ID == id {
			return c.doc, c.data, nil
		}
	}
	var doc weightsDoc
	if err := s.globals.FindOne(ctx, bson.M{"_id": id}).Decode(&doc); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return doc, nil, fmt.Errorf("%w: global v%d of %s", ErrNotFound, version, experiment)
		}
		return doc, nil, fmt.Errorf("weights: read global v%d of %s: %w", version, experiment, err)
	}
	if known != "" && doc.Checksum != known {
		return doc, nil, fmt.Errorf("%w: global v%d of %s is stored with checksum %.16s…, the task names %.16s…", ErrConflict, version, experiment, doc.Checksum, known)
	}
	if c, ok := s.lastGlobal.get(doc.Checksum); ok && c.doc.ID == id {
		return doc, c.data, nil
	}
	data, err := s.getParams(ctx, doc)
	if err == nil {
		_, err = Decode(data, fromManifestDocs(doc.Manifest), doc.Checksum)
	}
	if err != nil {
		return doc, nil, fmt.Errorf("global v%d of %s: %w", version, experiment, err)
	}
	s.lastGlobal.put(doc.Checksum, "", cachedGlobal{doc, data}, int64(len(data)))
	return doc, data, nil
}

// infoProjection leaves out the manifest.
var infoProjection = bson.M{"manifest": 0}

// GlobalInfo reads a global version's description without its parameters.
func (s *Store) GlobalInfo(ctx context.Context, experiment string, version int) (GlobalInfo, error) {
	var doc weightsDoc
	err := s.globals.FindOne(ctx, bson.M{"_id": globalID(experiment, version)}, options.FindOne().SetProjection(infoProjection)).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return GlobalInfo{}, fmt.Errorf("%w: global v%d of %s", ErrNotFound, version, experiment)
	}
	if err != nil {
		return GlobalInfo{}, fmt.Errorf("weights: read global v%d of %s: %w", version, experiment, err)
	}
	audit, err := s.auditOf(ctx, experiment, version)
	if err != nil {
		return GlobalInfo{}, err
	}
	return withAudit(infoOf(doc), audit), nil
}

// ListGlobals describes every stored version of an experiment, oldest first.
func (s *Store) ListGlobals(ctx context.Context, experiment string) ([]GlobalInfo, error) {
	cur, err := s.globals.Find(ctx, bson.M{"experiment": experiment},
		options.Find().SetProjection(infoProjection).SetSort(bson.M{"version": 1}).SetBatchSize(100))
	if err != nil {
		return nil, fmt.Errorf("weights: list globals of %s: %w", experiment, err)
	}
	var docs []weightsDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("weights: list globals of %s: %w", experiment, err)
	}
	audits, err := s.audits(ctx, experiment)
	if err != nil {
		return nil, err
	}
	out := make([]GlobalInfo, len(docs))
	for i, d := range docs {
		out[i] = withAudit(infoOf(d), audits[d.Version])
	}
	return out, nil
}

// SetMetrics records a global version's evaluation.
func (s *Store) SetMetrics(ctx context.Context, experiment string, version int, m Evaluated) error {
	res, err := s.globals.UpdateOne(ctx, bson.M{"_id": globalID(experiment, version)}, bson.M{"$set": bson.M{"metrics": m}})
	if err != nil {
		return fmt.Errorf("weights: record metrics of %s v%d: %w", experiment, version, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("%w: global v%d of %s", ErrNotFound, version, experiment)
	}
	return nil
}

// GetUpdate reads and verifies a client's update.
func (s *Store) GetUpdate(ctx context.Context, experiment string, round, client int) (Update, error) {
	id := updateID(experiment, round, client)
	var doc weightsDoc
	if err := s.updates.FindOne(ctx, bson.M{"_id": id}).Decode(&doc); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return Update{}, fmt.Errorf("%w: update %s", ErrNotFound, id)
		}
		return Update{}, fmt.Errorf("weights: read update %s: %w", id, err)
	}
	return s.update(ctx, doc)
}

func (s *Store) update(ctx context.Context, doc weightsDoc) (Update, error) {
	manifest, params, err := s.readParams(ctx, doc)
	if err != nil {
		return Update{}, fmt.Errorf("update %s: %w", doc.ID, err)
	}
	return Update{Experiment: doc.Experiment, Round: doc.Round, Client: doc.Client, Attempt: doc.Attempt, BaseVersion: doc.BaseVersion,
		Samples: doc.Samples, Loss: doc.Loss, Manifest: manifest, Params: params, Checksum: doc.Checksum}, nil
}

// roundUpdates lists a round's update descriptions (of the given clients only, unless
// clients is nil), without their manifests unless withManifest.
func (s *Store) roundUpdates(ctx context.Context, experiment string, round int, clients []int, withManifest bool) ([]weightsDoc, error) {
	opts := options.Find().SetSort(bson.M{"client": 1})
	if !withManifest {
		opts.SetProjection(infoProjection)
	}
	cur, err := s.updates.Find(ctx, bson.M{"experiment": experiment, "round": round}, opts)
	if err != nil {
		return nil, fmt.Errorf("weights: list updates of %s round %d: %w", experiment, round, err)
	}
	var docs []weightsDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("weights: list updates of %s round %d: %w", experiment, round, err)
	}
	if clients == nil {
		return docs, nil
	}
	// Filtered here, not in the query: client 0's documents have no client field.
	wanted := map[int]bool{}
	for _, c := range clients {
		wanted[c] = true
	}
	return slices.DeleteFunc(docs, func(d weightsDoc) bool { return !wanted[d.Client] }), nil
}

// EachUpdate streams a round's stored updates of the given clients (all when clients is
// nil) in client order. fn gets each update, or the error that makes it unusable
// (damaged data); an error returned by fn stops the pass. Other clients' updates are
// not read: a refused writer may be taking its own back meanwhile.
func (s *Store) EachUpdate(ctx context.Context, experiment string, round int, clients []int, fn func(client int, u Update, err error) error) error {
	if clients != nil && len(clients) == 0 {
		// Nothing to read (every update came in a partial sum): no listing either,
		// which on FerretDB reads every description of the round.
		return nil
	}
	docs, err := s.roundUpdates(ctx, experiment, round, clients, true)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Reading and verifying (checksum, values) run ahead of fn on every core, a few
	// updates deep so memory stays bounded; fn still sees them in client order.
	type read struct {
		u   Update
		err error
	}
	results := make([]chan read, len(docs))
	for i := range results {
		results[i] = make(chan read, 1)
	}
	ahead := make(chan struct{}, 2*runtime.GOMAXPROCS(0))
	go func() {
		for i, doc := range docs {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				u, err := s.update(ctx, doc)
				results[i] <- read{u, err}
			}()
		}
	}()
	for i, doc := range docs {
		var r read
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-ahead
		if r.err != nil && !errors.Is(r.err, ErrDamaged) {
			return r.err
		}
		if err := fn(doc.Client, r.u, r.err); err != nil {
			return err
		}
	}
	return nil
}

// DeleteRoundUpdates removes a round's client updates once its global version holds them.
func (s *Store) DeleteRoundUpdates(ctx context.Context, experiment string, round int) (int, error) {
	docs, err := s.roundUpdates(ctx, experiment, round, nil, false)
	if err != nil {
		return 0, err
	}
	if err := s.dropAllParams(ctx, docs); err != nil {
		return 0, err
	}
	if err := s.deleteRoundPartials(ctx, experiment, round); err != nil {
		return 0, err
	}
	res, err := s.updates.DeleteMany(ctx, bson.M{"experiment": experiment, "round": round})
	if err != nil {
		return 0, fmt.Errorf("weights: delete updates of %s round %d: %w", experiment, round, err)
	}
	return int(res.DeletedCount), nil
}
