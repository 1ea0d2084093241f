// Package partition splits a training set among federated clients: the seed's non-IID
// label shards (sort by label, cut into shards, hand each client a few), IID draws, or
// Dirichlet label skew.
package partition

import (
	"fmt"
	"math/rand/v2"
	"sort"
)

// Scheme names a way to split data.
type Scheme string

// The supported schemes.
const (
	NonIID    Scheme = "non_iid"
	IID       Scheme = "iid"
	Dirichlet Scheme = "dirichlet"
)

// Spec fully determines a split, so every party (server and each client) computes
// the same partition from it without exchanging index lists.
type Spec struct {
	Scheme          Scheme `json:"scheme"`
	NumClients      int    `json:"num_clients"`
	ShardsPerClient int    `json:"shards_per_client"`
	ShardSize       int    `json:"shard_size"`
	Seed            uint64 `json:"seed"`
	// Alpha is the Dirichlet concentration (Dirichlet scheme only): small values give
	// each client few labels, large ones approach IID.
	Alpha float64 `json:"alpha,omitempty"`
}

// Split returns, for every client, the indices of its examples.
func Split(labels []uint8, spec Spec) ([][]int, error) {
	if spec.NumClients < 1 || spec.ShardsPerClient < 1 || spec.ShardSize < 1 {
		return nil, fmt.Errorf("partition: clients, shards per client and shard size must be positive, got %d, %d, %d",
			spec.NumClients, spec.ShardsPerClient, spec.ShardSize)
	}
	rng := rand.New(rand.NewPCG(spec.Seed, 0x5eed5a3d))
	switch spec.Scheme {
	case NonIID:
		return nonIID(labels, spec, rng)
	case IID:
		return iid(len(labels), spec, rng)
	case Dirichlet:
		return dirichlet(labels, spec, rng)
	}
	return nil, fmt.Errorf("partition: unknown scheme %q", spec.Scheme)
}

// nonIID is the split of McMahan et al. that the seed used: sort the examples by label,
// cut them into shards of ShardSize, and give every client ShardsPerClient random
// shards, so most clients see only a couple of digits.
func nonIID(labels []uint8, spec Spec, rng *rand.Rand) ([][]int, error) {
	numShards := len(labels) / spec.ShardSize
	need := spec.NumClients * spec.ShardsPerClient
	if need > numShards {
		return nil, fmt.Errorf("partition: %d clients x %d shards need %d shards of %d examples, but %d examples make only %d",
			spec.NumClients, spec.ShardsPerClient, need, spec.ShardSize, len(labels), numShards)
	}
	order := make([]int, len(labels))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return labels[order[a]] < labels[order[b]] })
	shards := rng.Perm(numShards)
	out := make([][]int, spec.NumClients)
	for c := range out {
		idx := make([]int, 0, spec.ShardsPerClient*spec.ShardSize)
		for s := 0; s < spec.ShardsPerClient; s++ {
			shard := shards[c*spec.ShardsPerClient+s]
			idx = append(idx, order[shard*spec.ShardSize:(shard+1)*spec.ShardSize]...)
		}
		out[c] = idx
	}
	return out, nil
}

// iid gives every client as many examples as a non-IID client would hold, drawn
// uniformly without replacement, so the two schemes train on equal amounts of data.
func iid(n int, spec Spec, rng *rand.Rand) ([][]int, error) {
	per := spec.ShardsPerClient * spec.ShardSize
	if spec.NumClients*per > n {
		return nil, fmt.Errorf("partition: %d clients x %d examples exceed the %d examples available", spec.NumClients, per, n)
	}
	perm := rng.Perm(n)
	out := make([][]int, spec.NumClients)
	for c := range out {
		out[c] = append([]int(nil), perm[c*per:(c+1)*per]...)
	}
	return out, nil
}
