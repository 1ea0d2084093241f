package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	cloudfunctions "google.golang.org/api/cloudfunctions/v1"
	"google.golang.org/api/option"

	"golang.org/x/oauth2"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/faas"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/functions/flclient"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
)

// forgery is one attack on a client function: the request an attacker sends.
type forgery struct {
	name string
	// build makes the request for a client of the experiment; key is the keeper's,
	// which only the replays use (an attacker replays what it saw the keeper send).
	build func(t flclient.Task, key string) any
	// want is what the refusal says, on a platform that lets the request through to the
	// function.
	want string
}

func sealed(t *testing.T, key string, task flclient.Task, expires time.Time) invocation.Request {
	t.Helper()
	r, err := invocation.Seal(key, invocation.KindClient, task, expires)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func forgeries(t *testing.T) []forgery {
	later, earlier := time.Now().Add(time.Hour), time.Now().Add(-time.Minute)
	withField := func(r invocation.Request, name, value string) map[string]any {
		data, _ := json.Marshal(r)
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		m[name] = value
		return m
	}
	const own = "the attacker's own key"
	return []forgery{
		{"signed with the caller's own key", func(task flclient.Task, _ string) any {
			return sealed(t, own, task, later)
		}, "invalid token"},
		{"the caller's own key beside its token", func(task flclient.Task, _ string) any {
			return withField(sealed(t, own, task, later), "fedkeeper_key", own)
		}, "keys come only from the function's deployment"},
		{"overriding the deployed key", func(task flclient.Task, _ string) any {
			return withField(sealed(t, own, task, later), "FEDKEEPER_TOKEN_KEY", own)
		}, "keys come only from the function's deployment"},
		{"the old request format with a key", func(task flclient.Task, _ string) any {
			return map[string]any{"experiment": task.Experiment, "round": task.Round, "client": task.Client, "fedkeeper_key": own,
				"token": "x", "mongo": map[string]string{"uri": "mongodb://127.0.0.1:1/"}}
		}, "keys come only from the function's deployment"},
		{"a replayed request after its expiry", func(task flclient.Task, key string) any {
			return sealed(t, key, task, earlier)
		}, "request expired"},
	}
}

// checkForgedCalls calls the deployed client functions directly on every platform, as
// an attacker who can reach the platforms but lacks the keeper's key would, and as one
// who replays the keeper's requests: every call is refused and MongoDB is unchanged.
func checkForgedCalls(ctx context.Context, t *testing.T, cfg *config.Config, id string) {
	providers, err := bootstrap.Providers(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	dep, err := bootstrap.FunctionsDeployment(cfg)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshotStore(ctx, t, cfg)
	for _, p := range []struct {
		cluster string
		client  int
	}{{"openwhisk/local", 0}, {"google/local", 2}, {"openfaas/edge", 4}, {"aws/lab", 6}} {
		task := forgedTask(t, cfg, id, p.client)
		for _, f := range forgeries(t) {
			t.Run(p.cluster+": "+f.name, func(t *testing.T) {
				act, err := providers[p.cluster].(faas.Caller).Call(ctx, "fl_client", f.build(task, dep.TokenKey))
				refusedByPlatform := p.cluster == "openwhisk/local" && f.name == "overriding the deployed key"
				switch {
				case refusedByPlatform:
					// OpenWhisk refuses to override a final parameter itself.
					if !errors.Is(err, faas.ErrRejected) || !strings.Contains(err.Error(), "not allowed") {
						t.Errorf("OpenWhisk let a request override the deployed key: %v %s", err, act.Result)
					}
				case err != nil:
					t.Fatal(err)
				case act.Success || !strings.Contains(string(act.Result), f.want):
					t.Errorf("not refused for %q: success %v, %s", f.want, act.Success, act.Result)
				}
			})
		}
	}
	// A replay of the keeper's own request for round 1, still within its expiry: the
	// round is closed, and the functions that write updates refuse. (The edge's client
	// cannot reach MongoDB: it answers with an update its caller would have to store,
	// and only the keeper stores relayed updates.)
	for _, p := range []struct {
		cluster string
		client  int
	}{{"openwhisk/local", 1}, {"google/local", 3}, {"aws/lab", 7}} {
		task := forgedTask(t, cfg, id, p.client)
		act, err := providers[p.cluster].(faas.Caller).Call(ctx, "fl_client", sealed(t, dep.TokenKey, task, time.Now().Add(time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		if act.Success || !strings.Contains(string(act.Result), "already aggregated") {
			t.Errorf("%s: a replay of round 1 was not refused: %s", p.cluster, act.Result)
		}
	}
	if after := snapshotStore(ctx, t, cfg); !slices.Equal(before, after) {
		t.Errorf("forged calls changed MongoDB:\nbefore %v\nafter  %v", before, after)
	}
}

// forgedTask is the task the keeper sent client in round 1 of experiment id.
func forgedTask(t *testing.T, cfg *config.Config, id string, client int) flclient.Task {
	train, _, err := bootstrap.Sources(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mc := cfg.Scenarios.FederatedLearning.MongoConfig
	return flclient.Task{
		Experiment: id, Round: 1, Client: client, Attempt: 1, BaseVersion: 0, Model: model.Spec{Kind: model.MLP, Hidden: 500},
		Train: model.TrainOptions{Optimizer: "sgd", LR: 10, Epochs: 1, BatchSize: 10},
		Data:  flclient.Data{Train: train, Partition: partition.Spec{Scheme: partition.IID, NumClients: 8, ShardsPerClient: 2, ShardSize: 300}},
		Store: flclient.Store{DB: mc.DB, Collection: mc.Collection},
	}
}

// snapshotStore lists every document of the weights database, as "collection/_id
// sha256-of-the-document", in order.
func snapshotStore(ctx context.Context, t *testing.T, cfg *config.Config) []string {
	t.Helper()
	mc := cfg.Scenarios.FederatedLearning.MongoConfig
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(mc.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	db := client.Database(mc.DB)
	names, err := db.ListCollectionNames(ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	var out []string
	for _, name := range names {
		cur, err := db.Collection(name).Find(ctx, bson.M{}, options.Find().SetSort(bson.M{"_id": 1}).SetBatchSize(1))
		if err != nil {
			t.Fatal(err)
		}
		for cur.Next(ctx) {
			sum := sha256.Sum256(cur.Current)
			out = append(out, fmt.Sprintf("%s/%v %s", name, cur.Current.Lookup("_id"), hex.EncodeToString(sum[:8])))
		}
		if err := cur.Err(); err != nil {
			t.Fatal(err)
		}
		cur.Close(ctx)
	}
	return out
}

// checkListingsHideSecrets lists the functions as anyone allowed to list them would:
// the OpenFaaS gateway and the Cloud Functions API show the secrets' names, never the
// token key or the MongoDB address; an OpenWhisk activation's record holds neither.
func checkListingsHideSecrets(ctx context.Context, t *testing.T, cfg *config.Config, id string) {
	dep, err := bootstrap.FunctionsDeployment(cfg)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"token key": dep.TokenKey, "MongoDB address": dep.MongoURI}
	texts := map[string]string{}
	edge := cfg.Providers.OpenFaaS["edge"]
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(edge.Gateway, "/")+"/system/functions", nil)
	req.SetBasicAuth(edge.Auth.User, edge.Auth.Password)
	texts["GET /system/functions"] = fetch(t, req)
	g := cfg.Providers.Google["local"]
	svc, err := cloudfunctions.NewService(ctx, option.WithEndpoint(g.APIEndpoint),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: g.AccessToken})))
	if err != nil {
		t.Fatal(err)
	}
	project, region := g.ProjectAndRegion()
	list, err := svc.Projects.Locations.Functions.List("projects/" + project + "/locations/" + region).Context(ctx).Do()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(list)
	texts["the Cloud Functions list"] = string(data)
	if !strings.Contains(string(data), "fedkeeper-token-key") {
		t.Errorf("the Cloud Functions list does not reference the key's secret: %s", data)
	}
	ow := cfg.Providers.OpenWhisk["local"]
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(ow.Auth.OWAPIHost, "/")+"/api/v1/namespaces/_/activations?docs=true&limit=50", nil)
	user, pass, _ := strings.Cut(ow.Auth.OWAuth, ":")
	req.SetBasicAuth(user, pass)
	texts["the OpenWhisk activation records"] = fetch(t, req)
	for where, text := range texts {
		for what, secret := range secrets {
			if secret == "" || strings.Contains(text, secret) {
				t.Errorf("the %s appears in %s (or is empty)", what, where)
			}
		}
	}
}

func fetch(t *testing.T, req *http.Request) string {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d: %s", req.Method, req.URL.Path, resp.StatusCode, data)
	}
	return string(data)
}
