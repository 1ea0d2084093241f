package sdk

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
)

// Source locates a training split: its images and labels as IDX files (file:// or
// http(s)://, gzipped or not).
type Source = mnist.Source

// Dataset is a client's share of the training set: its examples' values, one example
// after the other, and their labels. For MNIST the values are images (784 pixels each,
// scaled to [0, 1]); for synthetic data each example is its 60 features (Width tells).
type Dataset = mnist.Dataset

// LoadData returns this client's share of the training set the task names: MNIST's
// split read and partitioned, or the client's device of a synthetic dataset generated
// (its training part), on a warm instance's first use and kept for later
// invocations. Call it from the function the SDK serves.
func (t Task) LoadData(ctx context.Context) (*Dataset, error) {
	if t.data == nil {
		return nil, errors.New("sdk: LoadData is for tasks the SDK passes to a client's function")
	}
	return t.data.share(ctx, t)
}

// dataCache keeps what a warm instance loaded: the raw splits and their partitions.
type dataCache struct {
	mu         sync.Mutex
	raw        map[mnist.Source]*mnist.Raw
	partitions map[partitionKey][][]int
	devices    map[deviceKey]*Dataset
	// warm says whether the last share came from the cache, and loading how long it
	// took: the client reports loading apart from training.
	warm    bool
	loading time.Duration
}

type partitionKey struct {
	src  mnist.Source
	spec partition.Spec
}

// deviceKey names one device of a synthetic dataset.
type deviceKey struct {
	spec   synthetic.Spec
	device int
}

func newDataCache() *dataCache {
	return &dataCache{raw: map[mnist.Source]*mnist.Raw{}, partitions: map[partitionKey][][]int{}, devices: map[deviceKey]*Dataset{}}
}

func (c *dataCache) share(ctx context.Context, t Task) (*Dataset, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	began := time.Now()
	defer func() { c.loading += time.Since(began) }()
	if t.Data.Synthetic.On() {
		return c.device(t.Data.Synthetic, t.Client)
	}
	raw, ok := c.raw[t.Data.Train]
	c.warm = ok
	if !ok {
		var err error
		if raw, err = mnist.LoadRaw(ctx, t.Data.Train); err != nil {
			return nil, err
		}
		c.raw[t.Data.Train] = raw
	}
	key := partitionKey{t.Data.Train, t.Data.Partition}
	parts, ok := c.partitions[key]
	if !ok {
		var err error
		if parts, err = partition.Split(raw.Labels, t.Data.Partition); err != nil {
			return nil, err
		}
		c.partitions[key] = parts
	}
	return raw.Subset(parts[t.Client]), nil
}

// device generates a synthetic device's training examples, or finds them generated.
func (c *dataCache) device(spec synthetic.Spec, k int) (*Dataset, error) {
	key := deviceKey{spec, k}
	d, ok := c.devices[key]
	c.warm = ok
	if ok {
		return d, nil
	}
	g, err := synthetic.New(spec)
	if err != nil {
		return nil, err
	}
	dev, err := g.Device(k)
	if err != nil {
		return nil, err
	}
	d = &Dataset{Images: dev.Train.Features, Labels: dev.Train.Labels}
	c.devices[key] = d
	return d, nil
}

// took says whether the shares since the last call came from the cache, and how long
// loading them took, and starts counting anew.
func (c *dataCache) took() (warm bool, loading time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	warm, loading = c.warm, c.loading
	c.warm, c.loading = true, 0
	return warm, loading
}
