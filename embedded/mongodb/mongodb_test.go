package mongodb_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/fedkeeper/fedkeeper/embedded/mongodb"
)

// The store listens on a socket in a folder only its owner may enter, and the
// MongoDB driver reaches it through the URI the server reports.
func TestServesOnAPrivateSocket(t *testing.T) {
	ctx := context.Background()
	base, err := os.MkdirTemp("", "fk-mongodb-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	socket := filepath.Join(base, "private", "mongodb.sock")
	srv, err := mongodb.Start(ctx, mongodb.Options{Dir: filepath.Join(base, "data"), Socket: socket})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop() // Stop may be called again
	info, err := os.Stat(filepath.Dir(socket))
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("socket folder %v %v, want mode 0700", info.Mode(), err)
	}
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(srv.URI()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	coll := client.Database("probe").Collection("c")
	if _, err := coll.InsertOne(ctx, bson.M{"round": 1}); err != nil {
		t.Fatalf("insert over %s: %v", srv.URI(), err)
	}
	if n, err := coll.CountDocuments(ctx, bson.M{}); err != nil || n != 1 {
		t.Errorf("count %d %v", n, err)
	}
	// Stopped, the store leaves no socket folder behind in the temporary directory.
	srv.Stop()
	if _, err := os.Stat(filepath.Dir(socket)); !os.IsNotExist(err) {
		t.Errorf("the socket folder outlived the store: %v", err)
	}
}

func TestRefusesUpperCaseSocketPaths(t *testing.T) {
	_, err := mongodb.Start(context.Background(), mongodb.Options{Dir: t.TempDir(), Socket: "/tmp/FedKeeper/mongodb.sock"})
	if err == nil {
		t.Fatal("accepted a path the driver would lower-case")
	}
}
