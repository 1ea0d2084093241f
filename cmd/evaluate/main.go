// Command evaluate scores the stored global versions of an experiment again, on the
// whole test set or its first N images:
//
//	evaluate -config config.yaml -experiment <id> [-first 1000] [-every 5]
//
// It joins the embedded stack of the config's data directory (or the real MongoDB it
// names) and prints one line per version: version, test images, loss, accuracy. The
// seed's logs report accuracy with three decimals, as from 1,000 test images; -first
// 1000 compares like with like. A synthetic experiment's versions are scored as its
// rounds were: the training loss over every device and the accuracy over every
// device's test examples (-first does not apply).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/embedded/discovery"
	"github.com/fedkeeper/fedkeeper/fl/mclr"
	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/weights"
)

func main() {
	configPath := flag.String("config", "config.yaml", "the experiment's config file")
	experiment := flag.String("experiment", "", "experiment id (results/<id>)")
	first := flag.Int("first", 0, "score on the first N test images only (0: all)")
	every := flag.Int("every", 1, "score every Nth version (and the last)")
	flag.Parse()
	if err := run(context.Background(), *configPath, *experiment, *first, *every); err != nil {
		fmt.Fprintln(os.Stderr, "evaluate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, configPath, experiment string, first, every int) error {
	if experiment == "" {
		return fmt.Errorf("-experiment is required")
	}
	cfg, _, _, err := bootstrap.Setup(configPath, false)
	if err != nil {
		return err
	}
	if discovery.Needed(cfg) {
		endpoints, err := discovery.Find(cfg)
		if err != nil {
			return fmt.Errorf("the embedded stack is not running (bin/stack -config %s): %w", configPath, err)
		}
		cfg = endpoints.Apply(cfg)
	}
	mc := cfg.Scenarios.FederatedLearning.MongoConfig
	store, err := weights.Connect(ctx, weights.Options{URI: mc.URL, DB: mc.DB, Collection: mc.Collection, TensorDir: mc.TensorDirectory()})
	if err != nil {
		return err
	}
	defer store.Close(context.Background())
	ev, n, err := newScorer(ctx, cfg, first)
	if err != nil {
		return err
	}
	defer ev.close()
	infos, err := store.ListGlobals(ctx, experiment)
	if err != nil {
		return err
	}
	if len(infos) == 0 {
		return fmt.Errorf("no global versions stored for %s", experiment)
	}
	fmt.Println("version,test_images,loss,accuracy")
	for i, info := range infos {
		if info.Version%max(every, 1) != 0 && i != len(infos)-1 {
			continue
		}
		g, err := store.GetGlobal(ctx, experiment, info.Version)
		if err != nil {
			return err
		}
		loss, accuracy, err := ev.score(ctx, g.Params)
		if err != nil {
			return err
		}
		fmt.Printf("%d,%d,%.4f,%.4f\n", info.Version, n, loss, accuracy)
	}
	return nil
}

// scorer scores a global version's parameters; close releases it.
type scorer interface {
	score(ctx context.Context, params []float32) (loss, accuracy float64, err error)
	close()
}

type mnistScorer struct{ ev *model.Evaluator }

func (m mnistScorer) score(ctx context.Context, params []float32) (float64, float64, error) {
	r, err := m.ev.Evaluate(ctx, params)
	return r.Loss, r.Accuracy, err
}

func (m mnistScorer) close() { m.ev.Close() }

type syntheticScorer struct{ ev *mclr.Evaluator }

func (syntheticScorer) close() {}

func (s syntheticScorer) score(ctx context.Context, params []float32) (float64, float64, error) {
	r, err := s.ev.Evaluate(ctx, params)
	return r.Loss, r.Accuracy, err
}

// newScorer scores on the config's data: the first test images of MNIST (all when
// first is 0), or a synthetic experiment's devices; n is how many test examples.
func newScorer(ctx context.Context, cfg *config.Config, first int) (scorer, int, error) {
	if spec := bootstrap.Experiment(cfg, "").Synthetic; spec.On() {
		if first > 0 {
			return nil, 0, fmt.Errorf("-first is for MNIST's test set; a synthetic experiment is scored on every device")
		}
		ev, err := mclr.NewEvaluator(spec)
		if err != nil {
			return nil, 0, err
		}
		_, n := ev.Sizes()
		return syntheticScorer{ev}, n, nil
	}
	_, testSrc, err := bootstrap.Sources(cfg)
	if err != nil {
		return nil, 0, err
	}
	test, err := mnist.Load(ctx, testSrc)
	if err != nil {
		return nil, 0, err
	}
	n := test.Len()
	if first > 0 && first < n {
		n = first
	}
	ds := cfg.Scenarios.FederatedLearning.DataSampling
	spec := model.Spec{Kind: model.Kind(ds.Model), Hidden: ds.HiddenSize}
	ev, err := model.NewEvaluator(spec, test.Images[:n*mnist.Pixels], test.Labels[:n], 500)
	if err != nil {
		return nil, 0, err
	}
	return mnistScorer{ev}, n, nil
}
