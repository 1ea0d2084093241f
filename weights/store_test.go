package weights

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/fedkeeper/fedkeeper/embedded/mongodb"
	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/strategy"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	return connect(t, Options{URI: startMongo(t), DB: "test", Collection: "w"})
}

// startMongo starts an embedded store for the test and returns its URI.
func startMongo(t *testing.T) string {
	t.Helper()
	srv, err := mongodb.Start(context.Background(), mongodb.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv.URI()
}

func connect(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Connect(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

var tinyManifest = []arch.Param{{Name: "k", Shape: []int{2, 3}}, {Name: "b", Shape: []int{3}}}

func TestGlobalRoundTripAndWriteOnce(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	params := []float32{1, 2, 3, 4, 5, 6, -0.5, 0, 1e-9}
	info, err := s.PutGlobal(ctx, Global{Experiment: "e", Version: 0, Manifest: tinyManifest, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetGlobal(ctx, "e", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range params {
		if got.Params[i] != params[i] {
			t.Fatalf("value %d: got %v want %v", i, got.Params[i], params[i])
		}
	}
	if !arch.SameManifest(got.Manifest, tinyManifest) {
		t.Errorf("manifest %v", got.Manifest)
	}
	// Storing the same version again is harmless; different content is refused.
	if again, err := s.PutGlobal(ctx, Global{Experiment: "e", Version: 0, Manifest: tinyManifest, Params: params}); err != nil || again.Checksum != info.Checksum {
		t.Fatalf("idempotent put: %v %v", again, err)
	}
	changed := append([]float32(nil), params...)
	changed[0] = 42
	if _, err := s.PutGlobal(ctx, Global{Experiment: "e", Version: 0, Manifest: tinyManifest, Params: changed}); !errors.Is(err, ErrConflict) {
		t.Fatalf("overwrite of v0: %v", err)
	}
	if _, err := s.GetGlobal(ctx, "e", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing version: %v", err)
	}
	if err := s.SetMetrics(ctx, "e", 0, Evaluated{Loss: 0.5, Accuracy: 0.9}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListGlobals(ctx, "e")
	if err != nil || len(list) != 1 || list[0].Metrics == nil || list[0].Metrics.Accuracy != 0.9 {
		t.Fatalf("list %+v %v", list, err)
	}
}

func TestUpdatesReplaceAndDelete(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	u := Update{Experiment: "e", Round: 3, Client: 7, Attempt: 1, BaseVersion: 2, Samples: 600, Loss: 0.25, Manifest: tinyManifest,
		Params: []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}}
	if _, err := s.PutUpdate(ctx, u); err != nil {
		t.Fatal(err)
	}
	u.Attempt, u.Params = 2, []float32{2, 2, 2, 2, 2, 2, 2, 2, 2}
	if _, err := s.PutUpdate(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetUpdate(ctx, "e", 3, 7)
	if err != nil {
		t.Fatal(err)
	}
	if got.Params[0] != 2 || got.Samples != 600 || got.BaseVersion != 2 {
		t.Fatalf("got %+v", got)
	}
	if n, err := s.DeleteRoundUpdates(ctx, "e", 3); err != nil || n != 1 {
		t.Fatalf("deleted %d: %v", n, err)
	}
	if _, err := s.GetUpdate(ctx, "e", 3, 7); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	bad := u
	bad.Params = bad.Params[:4]
	if _, err := s.PutUpdate(ctx, bad); err == nil {
		t.Fatal("update of the wrong size stored")
	}
}

func TestDecodeRefusesDamage(t *testing.T) {
	data, sum := Encode([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9})
	if _, err := Decode(data, tinyManifest, sum); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(data[:8], tinyManifest, sum); err == nil {
		t.Error("truncated data accepted")
	}
	flipped := append([]byte(nil), data...)
	flipped[5] ^= 1
	if _, err := Decode(flipped, tinyManifest, sum); err == nil {
		t.Error("corrupted data accepted")
	}
	nan, nanSum := Encode([]float32{1, 2, 3, 4, 5, 6, 7, 8, float32(nanValue())})
	if _, err := Decode(nan, tinyManifest, nanSum); err == nil {
		t.Error("NaN accepted")
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

func TestLargeTensorsAreChunkedAndDamageIsCaught(t *testing.T) {
	uri := startMongo(t)
	s := connect(t, Options{URI: uri, DB: "test", Collection: "w"})
	ctx := context.Background()
	// 3M values = 12 MB: three chunks, each far below the 16 MB document limit.
	manifest := []arch.Param{{Name: "big", Shape: []int{3, 1000, 1000}}}
	params := make([]float32, 3_000_000)
	for i := range params {
		params[i] = float32(i%1000) / 7
	}
	if _, err := s.PutGlobal(ctx, Global{Experiment: "big", Version: 0, Manifest: manifest, Params: params}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetGlobal(ctx, "big", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Params) != len(params) || got.Params[2_999_999] != params[2_999_999] {
		t.Fatalf("read back %d values", len(got.Params))
	}
	// A large object has a collection of its own.
	blob := s.db.Collection(s.blobName(globalID("big", 0)))
	if n, _ := blob.CountDocuments(ctx, bson.M{}); n != 3 {
		t.Errorf("%d chunks, want 3", n)
	}
	// A lost chunk is detected, not read as a shorter model, by a reader that did not
	// read the version before it was lost.
	if _, err := blob.DeleteOne(ctx, bson.M{"_id": 1}); err != nil {
		t.Fatal(err)
	}
	fresh := connect(t, Options{URI: uri, DB: "test", Collection: "w"})
	if _, err := fresh.GetGlobal(ctx, "big", 0); !errors.Is(err, ErrDamaged) {
		t.Errorf("read with a chunk missing: %v", err)
	}
}

func TestLateUpdatesAreRefused(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	u := Update{Experiment: "e", Round: 1, Client: 2, BaseVersion: 0, Samples: 10, Manifest: tinyManifest,
		Params: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}}
	if _, err := s.PutUpdate(ctx, u); err != nil {
		t.Fatal(err)
	}
	// What an aggregation does: seal the round, then store its version.
	if err := s.SealRound(ctx, "e", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutGlobal(ctx, Global{Experiment: "e", Version: 1, Manifest: tinyManifest, Params: u.Params}); err != nil {
		t.Fatal(err)
	}
	u.Client = 3
	if _, err := s.PutUpdate(ctx, u); !errors.Is(err, ErrRoundClosed) {
		t.Fatalf("update after aggregation: %v", err)
	}
}

// Small weights stored by earlier versions, a collection per object, are still read.
func TestLegacyBlobCollectionsAreRead(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	params := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	if _, err := s.PutGlobal(ctx, Global{Experiment: "old", Version: 0, Manifest: tinyManifest, Params: params}); err != nil {
		t.Fatal(err)
	}
	name := s.blobName(globalID("old", 0))
	data, _ := Encode(params)
	// Move the bytes to where an earlier version kept them.
	if _, err := s.chunksOf(name).DeleteOne(ctx, bson.M{"_id": name + "#0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Collection(name).InsertOne(ctx, bson.M{"_id": 0, "data": data}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetGlobal(ctx, "old", 0)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Params) != fmt.Sprint(params) {
		t.Errorf("read %v", got.Params)
	}
}

// A small update replaced by a later attempt leaves no chunk of the earlier one, and
// deleting the round's updates leaves none at all.
func TestReplacedUpdateLeavesNoChunks(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	for attempt := range 2 {
		u := tinyUpdate(0, attempt+1, float32(attempt))
		if _, err := s.PutUpdate(ctx, u); err != nil {
			t.Fatal(err)
		}
		if n := chunkDocs(t, s); n != 1 {
			t.Errorf("attempt %d: %d chunks stored, want the latest attempt's", attempt+1, n)
		}
	}
	if n, err := s.DeleteRoundUpdates(ctx, "e", 1); err != nil || n != 1 {
		t.Fatalf("deleted %d (%v)", n, err)
	}
	if n := chunkDocs(t, s); n != 0 {
		t.Errorf("%d chunks left after the round's updates were deleted", n)
	}
}

// Bytes are little-endian float32 whether Decode can view them in place (aligned) or
// must copy them (unaligned), and infinities are refused either way.
func TestDecodeAlignedAndUnaligned(t *testing.T) {
	want := []float32{1.5, -2, 3e-7, 4, 5, 6, 7, 8, 1e30}
	data, sum := Encode(want)
	if data[0] != 0 || data[3] != 0x3f || data[2] != 0xc0 {
		t.Fatalf("1.5 encoded as % x, want little-endian 00 00 c0 3f", data[:4])
	}
	shifted := make([]byte, len(data)+1)
	copy(shifted[1:], data)
	for name, in := range map[string][]byte{"aligned": data, "unaligned": shifted[1:]} {
		got, err := Decode(in, tinyManifest, sum)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v", name, got)
		}
	}
	inf, infSum := Encode([]float32{1, 2, 3, 4, 5, 6, 7, float32(math.Inf(-1)), 9})
	if _, err := Decode(inf, tinyManifest, infSum); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "value 7") {
		t.Errorf("infinity: %v", err)
	}
}

// A server optimiser's state is written once per version and read back whole; the
// global versions of the experiment do not list it.
func TestServerState(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	adam := strategy.ServerState{M: []float32{0.1, -0.2}, V: []float32{1e-6, 0.01}, Rounds: 3}
	if err := s.PutServerState(ctx, "e", 3, adam); err != nil {
		t.Fatal(err)
	}
	if err := s.PutServerState(ctx, "e", 3, adam); err != nil {
		t.Fatalf("storing the same state again: %v", err)
	}
	other := adam
	other.M = []float32{0.1, -0.3}
	if err := s.PutServerState(ctx, "e", 3, other); !errors.Is(err, ErrConflict) {
		t.Fatalf("different state for the same version: %v", err)
	}
	got, err := s.GetServerState(ctx, "e", 3)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(adam) {
		t.Fatalf("read %+v (%v), want %+v", got, err, adam)
	}
	momentum := strategy.ServerState{M: []float32{0.5}, Rounds: 1}
	if err := s.PutServerState(ctx, "e", 4, momentum); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetServerState(ctx, "e", 4); err != nil || got.V != nil || got.M[0] != 0.5 {
		t.Fatalf("momentum only: %+v (%v)", got, err)
	}
	if _, err := s.GetServerState(ctx, "e", 2); !errors.Is(err, ErrNotFound) {
		t.Errorf("a version without state: %v", err)
	}
	if list, err := s.ListGlobals(ctx, "e"); err != nil || len(list) != 0 {
		t.Errorf("the experiment lists %v (%v)", list, err)
	}
}

// tinyUpdate is client's update of round 1, attempt, with every value v.
func tinyUpdate(client, attempt int, v float32) Update {
	params := make([]float32, arch.NumParams(tinyManifest))
	for i := range params {
		params[i] = v
	}
	return Update{Experiment: "e", Round: 1, Client: client, Attempt: attempt, Samples: 10, Manifest: tinyManifest, Params: params}
}

// chunkDocs counts the chunk documents of small objects in every shard.
func chunkDocs(t *testing.T, s *Store) int {
	t.Helper()
	names, err := s.db.ListCollectionNames(context.Background(), bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range names {
		if strings.HasPrefix(n, s.prefix+"_chunks_") {
			c, err := s.db.Collection(n).CountDocuments(context.Background(), bson.M{})
			if err != nil {
				t.Fatal(err)
			}
			total += int(c)
		}
	}
	return total
}

// A replayed invocation never overwrites the update another attempt stored: older
// attempts and other content for a stored attempt are refused, the same content again
// changes nothing, and only a later attempt replaces the update.
func TestUpdateAttemptsNeverGoBack(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		write   Update
		want    error
		storedV float32
		stored  int // attempt stored afterwards
	}{
		{"an older attempt is refused", tinyUpdate(7, 1, 9), ErrSuperseded, 2, 2},
		{"other content for the stored attempt is refused", tinyUpdate(7, 2, 9), ErrAttemptStored, 2, 2},
		{"the same content again is a no-op", tinyUpdate(7, 2, 2), nil, 2, 2},
		{"a later attempt replaces it", tinyUpdate(7, 3, 3), nil, 3, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			if _, err := s.PutUpdate(ctx, tinyUpdate(7, 2, 2)); err != nil {
				t.Fatal(err)
			}
			_, err := s.PutUpdate(ctx, tc.write)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			got, err := s.GetUpdate(ctx, "e", 1, 7)
			if err != nil {
				t.Fatal(err)
			}
			if got.Params[0] != tc.storedV || got.Attempt != tc.stored {
				t.Errorf("stored attempt %d with %v, want attempt %d with %v", got.Attempt, got.Params[0], tc.stored, tc.storedV)
			}
			// Refused or replaced bytes are gone: one object's chunk is left.
			if n := chunkDocs(t, s); n != 1 {
				t.Errorf("%d chunks stored, want the one of the stored update", n)
			}
		})
	}
}

// An update written while its round's aggregation seals the round is either seen by
// the aggregation or taken back by its writer; none lands unseen. Here the seal comes
// between the writer's description and its check, the window a check-then-write
// misses: the writer must refuse and leave nothing behind.
func TestUpdateRacingTheSealIsTakenBack(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if _, err := s.PutUpdate(ctx, tinyUpdate(1, 1, 1)); err != nil {
		t.Fatal(err)
	}
	s.beforeRoundCheck = func() {
		s.beforeRoundCheck = nil
		if err := s.SealRound(ctx, "e", 1); err != nil {
			t.Error(err)
		}
	}
	if _, err := s.PutUpdate(ctx, tinyUpdate(2, 1, 2)); !errors.Is(err, ErrRoundClosed) {
		t.Fatalf("update racing the seal: %v", err)
	}
	if _, err := s.GetUpdate(ctx, "e", 1, 2); !errors.Is(err, ErrNotFound) {
		t.Errorf("the refused update is still stored: %v", err)
	}
	if n := chunkDocs(t, s); n != 1 {
		t.Errorf("%d chunks stored, want only client 1's", n)
	}
	// Later writers are refused at once, a retry of client 1's own update too.
	if _, err := s.PutUpdate(ctx, tinyUpdate(3, 1, 3)); !errors.Is(err, ErrRoundClosed) {
		t.Errorf("update after the seal: %v", err)
	}
	if _, err := s.PutUpdate(ctx, tinyUpdate(1, 1, 1)); !errors.Is(err, ErrRoundClosed) {
		t.Errorf("rewrite after the seal: %v", err)
	}
	if got, err := s.GetUpdate(ctx, "e", 1, 1); err != nil || got.Params[0] != 1 {
		t.Errorf("the update written before the seal: %v", err)
	}
}

// Concurrent writers and a seal: every writer told its update was stored is in the
// listing taken after the seal, and the refused ones left nothing.
func TestConcurrentWritersAndSeal(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	const writers = 24
	errs := make(chan struct {
		client int
		err    error
	}, writers)
	start := make(chan struct{})
	for c := range writers {
		go func() {
			<-start
			errs <- struct {
				client int
				err    error
			}{c, putErr(s.PutUpdate(ctx, tinyUpdate(c, 1, float32(c))))}
		}()
	}
	close(start)
	// Seal once a few writers are through, as an aggregation would.
	stored := map[int]bool{}
	for range writers / 3 {
		r := <-errs
		if r.err != nil {
			t.Fatalf("client %d before the seal: %v", r.client, r.err)
		}
		stored[r.client] = true
	}
	if err := s.SealRound(ctx, "e", 1); err != nil {
		t.Fatal(err)
	}
	listed := map[int]bool{}
	if err := s.EachUpdate(ctx, "e", 1, nil, func(c int, _ Update, _ error) error { listed[c] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	for range writers - writers/3 {
		r := <-errs
		switch {
		case r.err == nil:
			stored[r.client] = true
		case !errors.Is(r.err, ErrRoundClosed):
			t.Errorf("client %d: %v", r.client, r.err)
		}
	}
	for c := range stored {
		if !listed[c] {
			t.Errorf("client %d was told its update was stored, and the aggregation's listing missed it", c)
		}
	}
	left, err := s.roundUpdates(ctx, "e", 1, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range left {
		if !stored[d.Client] {
			t.Errorf("client %d's refused update is still stored", d.Client)
		}
	}
}

// A late update an aggregation consumed cannot be stored again (a replayed straggler
// would be folded in twice); other late updates of the round still can.
func TestConsumedLateUpdatesAreRefused(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if err := s.SealRound(ctx, "e", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkConsumed(ctx, "e", 1, []int{4, 5}); err != nil {
		t.Fatal(err)
	}
	late := tinyUpdate(5, 1, 5)
	late.AcceptLate = true
	if _, err := s.PutUpdate(ctx, late); !errors.Is(err, ErrRoundClosed) {
		t.Errorf("consumed late update stored again: %v", err)
	}
	other := tinyUpdate(6, 1, 6)
	other.AcceptLate = true
	if _, err := s.PutUpdate(ctx, other); err != nil {
		t.Errorf("late update of a sealed round: %v", err)
	}
	if pending, err := s.PendingUpdates(ctx, "e", 2); err != nil || len(pending) != 1 || pending[0].Client != 6 {
		t.Errorf("pending %v (%v), want client 6 only", pending, err)
	}
}

// EachUpdate reads the named clients' updates only.
func TestEachUpdateReadsOnlyTheNamedClients(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	for c := range 4 {
		if _, err := s.PutUpdate(ctx, tinyUpdate(c, 1, float32(c))); err != nil {
			t.Fatal(err)
		}
	}
	var seen []int
	if err := s.EachUpdate(ctx, "e", 1, []int{1, 3}, func(c int, _ Update, _ error) error { seen = append(seen, c); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seen) != "[1 3]" {
		t.Errorf("read %v, want [1 3]", seen)
	}
	// An empty list (an aggregation whose every update came in partial sums) reads
	// none; nil reads all.
	seen = nil
	if err := s.EachUpdate(ctx, "e", 1, []int{}, func(c int, _ Update, _ error) error { seen = append(seen, c); return nil }); err != nil || len(seen) != 0 {
		t.Errorf("an empty list read %v (%v)", seen, err)
	}
}

// An update stored by an earlier version, without an attempt number, is replaced by
// any attempt.
func TestUpdatesWithoutAttemptAreReplaced(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if _, err := s.PutUpdate(ctx, tinyUpdate(3, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.updates.UpdateOne(ctx, bson.M{"_id": updateID("e", 1, 3)}, bson.M{"$unset": bson.M{"attempt": ""}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutUpdate(ctx, tinyUpdate(3, 1, 2)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetUpdate(ctx, "e", 1, 3); err != nil || got.Params[0] != 2 || got.Attempt != 1 {
		t.Fatalf("after replacing the legacy update: %+v %v", got, err)
	}
}

// Messages show a MongoDB address without its secrets.
func TestRedactHidesSecrets(t *testing.T) {
	for _, tc := range []struct{ uri, want string }{
		{"mongodb://user:secret@host:27017/db", "mongodb://user:***@host:27017/db"},
		{"mongodb://host/db?password=secret&w=1", "mongodb://host/db?password=***&w=1"},
		{"mongodb+srv://u:secret@h/?tls=true&tlsCertificateKeyFilePassword=secret", "mongodb+srv://u:***@h/?tls=true&tlsCertificateKeyFilePassword=***"},
		{"mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:secret", "mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=***"},
		{"mongodb://%2Ftmp%2Fm.sock/", "mongodb://%2Ftmp%2Fm.sock/"},
	} {
		if got := redact(tc.uri); got != tc.want || strings.Contains(got, "secret") {
			t.Errorf("redact(%q) = %q, want %q", tc.uri, got, tc.want)
		}
	}
}

// One holder at a time gets a claim; it frees on release, and a lapsed lease is taken
// over by one of the waiting holders only.
func TestClaims(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if ok, err := s.Claim(ctx, "k", "a", time.Hour); err != nil || !ok {
		t.Fatalf("first claim: %v %v", ok, err)
	}
	if ok, err := s.Claim(ctx, "k", "b", time.Hour); err != nil || ok {
		t.Fatalf("a held claim was taken: %v %v", ok, err)
	}
	if err := s.Release(ctx, "k", "b"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Claim(ctx, "k", "c", time.Hour); ok {
		t.Fatal("another holder's release freed the claim")
	}
	if err := s.Release(ctx, "k", "a"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Claim(ctx, "k", "b", -time.Second); err != nil || !ok {
		t.Fatalf("claim after release: %v %v", ok, err)
	}
	if ok, err := s.Renew(ctx, "k", "a", time.Hour); err != nil || ok {
		t.Fatalf("a former holder renewed the claim: %v %v", ok, err)
	}
	// b's lease has lapsed: of two holders taking it over at once, one gets it.
	got := make(chan bool, 2)
	for _, h := range []string{"c", "d"} {
		go func() {
			ok, err := s.Claim(ctx, "k", h, time.Hour)
			if err != nil {
				t.Error(err)
			}
			got <- ok
		}()
	}
	if a, b := <-got, <-got; a == b {
		t.Errorf("a lapsed lease was taken over by %v and %v, want exactly one", a, b)
	}
	// A renewed lease keeps the claim; one left to lapse loses it.
	if ok, _ := s.Claim(ctx, "renewed", "a", -time.Second); !ok {
		t.Fatal("claim")
	}
	if ok, err := s.Renew(ctx, "renewed", "a", time.Hour); err != nil || !ok {
		t.Fatalf("renew: %v %v", ok, err)
	}
	if ok, _ := s.Claim(ctx, "renewed", "b", time.Hour); ok {
		t.Error("a renewed claim was taken")
	}
}

// A version's audit is kept beside it and read with the experiment's versions.
func TestAuditsAreListedWithTheirVersions(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	counted := []UpdateRef{{Round: 1, Client: 2, Attempt: 1, Samples: 10, Checksum: "c"}}
	for v := range 2 {
		g := Global{Experiment: "e", Version: v, Manifest: tinyManifest, Params: tinyUpdate(0, 1, float32(v)).Params}
		if v == 1 {
			g.Counted = counted
		}
		if _, err := s.PutGlobal(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	infos, err := s.ListGlobals(ctx, "e")
	if err != nil || len(infos) != 2 {
		t.Fatalf("%v %v", infos, err)
	}
	if len(infos[0].Counted) != 0 || fmt.Sprint(infos[1].Counted) != fmt.Sprint(counted) {
		t.Errorf("audits %v and %v, want none and %v", infos[0].Counted, infos[1].Counted, counted)
	}
}

// A version's lists of clients are kept in its audit, not in the description every
// client's read of the global model decodes again; versions written with the lists in
// their description (earlier builds) still read them back.
func TestVersionClientListsLiveInTheAudit(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	clients := []int{3, 5, 8}
	late := []UpdateRef{{Round: 1, Client: 7, Attempt: 2, Samples: 10, Checksum: "c"}}
	g := Global{Experiment: "e", Version: 2, Manifest: tinyManifest, Params: tinyUpdate(0, 1, 1).Params,
		Updates: 3, Clients: clients, Late: late}
	if _, err := s.PutGlobal(ctx, g); err != nil {
		t.Fatal(err)
	}
	raw, err := s.globals.FindOne(ctx, bson.M{"_id": "e/v2"}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"clients", "late"} {
		if _, err := raw.LookupErr(key); err == nil {
			t.Errorf("the description holds %q: every client reading the global model decodes it", key)
		}
	}
	info, err := s.GlobalInfo(ctx, "e", 2)
	if err != nil || fmt.Sprint(info.Clients) != fmt.Sprint(clients) || fmt.Sprint(info.Late) != fmt.Sprint(late) {
		t.Errorf("GlobalInfo = %v, %v; want clients %v and late %v", info, err, clients, late)
	}
	// An earlier build's description, with its lists.
	if _, err := s.globals.UpdateOne(ctx, bson.M{"_id": "e/v2"}, bson.M{"$set": bson.M{"clients": []int{1, 2}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Collection(s.prefix+"_audits").DeleteOne(ctx, bson.M{"_id": "e/v2"}); err != nil {
		t.Fatal(err)
	}
	infos, err := s.ListGlobals(ctx, "e")
	if err != nil || len(infos) != 1 || fmt.Sprint(infos[0].Clients) != "[1 2]" {
		t.Errorf("ListGlobals = %v, %v; want the description's own clients [1 2]", infos, err)
	}
}

// A store reads a global version's bytes once: the clients a warm function serves in a
// round all read the same version. Each reader gets parameters of its own to train.
func TestGlobalBytesAreReadOncePerVersion(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	var read int
	s.CountBytes(func(direction string, n int) {
		if direction == "read" {
			read += n
		}
	})
	for v := range 2 {
		if _, err := s.PutGlobal(ctx, Global{Experiment: "e", Version: v, Manifest: tinyManifest, Params: tinyUpdate(0, 1, float32(v+1)).Params}); err != nil {
			t.Fatal(err)
		}
	}
	size := 4 * arch.NumParams(tinyManifest)
	for i, tc := range []struct{ version, wantRead int }{{1, size}, {1, size}, {1, size}, {0, 2 * size}, {1, 3 * size}} {
		g, err := s.GetGlobal(ctx, "e", tc.version)
		if err != nil {
			t.Fatal(err)
		}
		if want := tinyUpdate(0, 1, float32(tc.version+1)).Params; fmt.Sprint(g.Params) != fmt.Sprint(want) {
			t.Fatalf("read %d: v%d = %v, want %v", i, tc.version, g.Params, want)
		}
		if read != tc.wantRead {
			t.Errorf("read %d of v%d: %d bytes read in all, want %d", i, tc.version, read, tc.wantRead)
		}
		g.Params[0] = 99 // a client training in place
	}
}

// Deleting a round of many small updates (their chunks spread over the shards, several
// to some) leaves no chunk behind and no other round's.
func TestDeletingARoundDropsEveryChunkOfIt(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	for round := 1; round <= 2; round++ {
		for client := range 300 {
			u := tinyUpdate(client, 1, float32(client))
			u.Round = round
			if _, err := s.PutUpdate(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, err := s.DeleteRoundUpdates(ctx, "e", 1); err != nil || n != 300 {
		t.Fatalf("deleted %d (%v), want 300", n, err)
	}
	if n := chunkDocs(t, s); n != 300 {
		t.Errorf("%d chunks left, want round 2's 300", n)
	}
	if _, err := s.GetUpdate(ctx, "e", 2, 299); err != nil {
		t.Errorf("round 2's update: %v", err)
	}
}

// A partial sum reads back by its digest: in the process that stored it without a
// read (damaged bytes in the store do not reach it), in another process from the store,
// verified. Another digest than the stored partial's (a stale try's) and damaged bytes
// are refused, and a round's clean-up removes its partials with their bytes and from
// memory.
func TestPartialSumsRoundTripByDigestAndGoWithTheirRound(t *testing.T) {
	ctx := context.Background()
	uri := startMongo(t)
	opts := Options{URI: uri, DB: "test", Collection: "w"}
	writer, other := connect(t, opts), connect(t, opts)
	p := Partial{Experiment: "e", Round: 1, Key: "b0", Sum: []float64{1.5, -2.25, 1e-300, 3}, Weight: 40, Samples: 40,
		Refs: []UpdateRef{{Round: 1, Client: 0, Attempt: 1, Samples: 40, Checksum: "c"}}}
	digest, err := writer.PutPartial(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	same := func(got Partial) bool {
		got.bytesChecksum = ""
		return fmt.Sprint(got) == fmt.Sprint(p)
	}
	if got, err := other.GetPartial(ctx, "e", 1, "b0", digest); err != nil || !same(got) {
		t.Fatalf("read from the store %+v (%v), want %+v", got, err, p)
	}
	stale := p
	stale.Refs = []UpdateRef{{Round: 1, Client: 0, Attempt: 2, Samples: 40, Checksum: "d"}}
	if _, err := other.GetPartial(ctx, "e", 1, "b0", stale.digest("whatever")); !errors.Is(err, ErrConflict) {
		t.Errorf("read by another digest: %v, want ErrConflict", err)
	}
	var pd partialDoc
	if err := other.partialsColl().FindOne(ctx, bson.M{"_id": "e/r1/b0"}).Decode(&pd); err != nil {
		t.Fatal(err)
	}
	if _, err := other.chunksOf(pd.Blob).UpdateOne(ctx, bson.M{"_id": chunkID(pd.Blob, 0)}, bson.M{"$set": bson.M{"data": []byte("damaged!damaged!damaged!damaged!")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.GetPartial(ctx, "e", 1, "b0", digest); !errors.Is(err, ErrDamaged) {
		t.Errorf("damaged partial read from the store: %v", err)
	}
	if got, err := writer.GetPartial(ctx, "e", 1, "b0", digest); err != nil || !same(got) {
		t.Errorf("the writer's own partial %+v (%v): want it from memory, unread", got, err)
	}
	if _, err := writer.DeleteRoundUpdates(ctx, "e", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.GetPartial(ctx, "e", 1, "b0", digest); !errors.Is(err, ErrNotFound) {
		t.Errorf("partial after the clean-up: %v", err)
	}
	if n := chunkDocs(t, writer); n != 0 {
		t.Errorf("%d chunks left", n)
	}
}

// putErr is PutUpdate's error alone.
func putErr(_ string, err error) error { return err }

// A client told the global's checksum by its signed task serves it from the bytes it
// read last without reading the store, and refuses a stored version of other content.
func TestGetGlobalKnownServesTheVersionReadLastByItsChecksum(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	params := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	info, err := s.PutGlobal(ctx, Global{Experiment: "e", Version: 0, Manifest: tinyManifest, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := s.GlobalChecksum(ctx, "e", 0)
	if err != nil || sum != info.Checksum {
		t.Fatalf("GlobalChecksum = %q, %v; PutGlobal said %q", sum, err, info.Checksum)
	}
	if _, err := s.GetGlobalKnown(ctx, "e", 0, strings.Repeat("0", 64)); !errors.Is(err, ErrConflict) {
		t.Fatalf("a checksum the version does not have: %v, want ErrConflict", err)
	}
	if _, err := s.GetGlobalKnown(ctx, "e", 0, sum); err != nil {
		t.Fatal(err)
	}
	// With the description gone, only a read that needs none still succeeds.
	if _, err := s.globals.DeleteOne(ctx, bson.M{"_id": globalID("e", 0)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetGlobalKnown(ctx, "e", 0, sum)
	if err != nil || !slices.Equal(got.Params, params) || got.Version != 0 {
		t.Fatalf("the version read last, named by its checksum: %v, %v", got.Params, err)
	}
	got.Params[0] = 99 // the caller's to change; the kept bytes stay as read
	if again, err := s.GetGlobalKnown(ctx, "e", 0, sum); err != nil || again.Params[0] != 1 {
		t.Fatalf("served again: %v, %v", again.Params, err)
	}
	if _, err := s.GetGlobalKnown(ctx, "e", 1, sum); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another version of the same bytes must be read: %v", err)
	}
	if _, err := s.GetGlobal(ctx, "e", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("without the checksum the description is read: %v", err)
	}
}

// The chunk collections exist before the first small object is written, and preparing
// them again changes nothing.
func TestPrepareChunkShardsCreatesEveryShardOnce(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	for range 2 {
		if err := s.PrepareChunkShards(ctx); err != nil {
			t.Fatal(err)
		}
	}
	names, err := s.db.ListCollectionNames(ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	shards := map[string]bool{}
	for _, n := range names {
		if strings.HasPrefix(n, "w_chunks_") {
			shards[n] = true
		}
	}
	if len(shards) != chunkShards {
		t.Fatalf("%d chunk collections, want %d", len(shards), chunkShards)
	}
	// Every name a blob can land in is one of them.
	for i := range 1000 {
		if name := shardOf("w", fmt.Sprintf("blob-%d", i)); !shards[name] {
			t.Fatalf("blob-%d lands in %s, which was not prepared", i, name)
		}
	}
}
