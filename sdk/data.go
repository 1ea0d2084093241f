package sdk

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/partition"
)

// Source locates a training split: its images and labels as IDX files (file:// or
// http(s)://, gzipped or not).
type Source = mnist.Source

// Dataset is a client's share of the training set: images (784 pixels each, scaled to
// [0, 1]) and their labels.
type Dataset = mnist.Dataset

// LoadData returns this client's share of the training set the task names: the split
// is read and partitioned on a warm instance's first use and kept for later
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
	// warm says whether the last share came from the cache, and loading how long it
	// took: the client reports loading apart from training.
	warm    bool
	loading time.Duration
}

type partitionKey struct {
	src  mnist.Source
	spec partition.Spec
}

func newDataCache() *dataCache {
	return &dataCache{raw: map[mnist.Source]*mnist.Raw{}, partitions: map[partitionKey][][]int{}}
}

func (c *dataCache) share(ctx context.Context, t Task) (*Dataset, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	began := time.Now()
	defer func() { c.loading += time.Since(began) }()
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

// took says whether the shares since the last call came from the cache, and how long
// loading them took, and starts counting anew.
func (c *dataCache) took() (warm bool, loading time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	warm, loading = c.warm, c.loading
	c.warm, c.loading = true, 0
	return warm, loading
}
