package model

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
)

// fusedOp is what the fused layers' gorgonia operations (the CNN's convolution blocks,
// its dense layers) have in common. Each operation writes a buffer of its layer p,
// allocated once and written afresh every batch, so none implements UsePreallocDo:
// the machine cannot hand it a register that another node's value lives in. The
// gradient's parts read what the forward pass saved in the layer, and take the nodes
// they depend on as inputs so that the machine orders them after those nodes.
type fusedOp[L any] struct {
	p    L      // the layer (a pointer)
	name string // the operation, in hashes and errors
	key  string // the layer's address, which tells two layers' operations apart
}

// newFusedOp names the operation of layer p (a pointer).
func newFusedOp[L any](p L, name string) fusedOp[L] {
	return fusedOp[L]{p: p, name: name, key: fmt.Sprintf("%p", any(p))}
}

func (o fusedOp[L]) ReturnsPtr() bool     { return false }
func (o fusedOp[L]) CallsExtern() bool    { return false }
func (o fusedOp[L]) OverwritesInput() int { return -1 }

// WriteHash names the layer itself: gorgonia merges nodes whose hashes match, and two
// layers' operations must never be merged.
func (o fusedOp[L]) WriteHash(h hash.Hash) { fmt.Fprintf(h, "fedkeeper.%s.%s", o.name, o.key) }

func (o fusedOp[L]) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

func (o fusedOp[L]) String() string { return o.name }

// check refuses a call with the wrong number of inputs.
func (o fusedOp[L]) check(n int, inputs []G.Value) error {
	if len(inputs) != n {
		return fmt.Errorf("model: %s takes %d inputs, got %d", o.name, n, len(inputs))
	}
	return nil
}

func tensorType(dims int) hm.Type { return G.TensorType{Dims: dims, Of: hm.TypeVariable('a')} }

// floats are the values of v, which must be n float32s.
func floats(v G.Value, n int, what string) ([]float32, error) {
	d, ok := v.Data().([]float32)
	if !ok || len(d) != n {
		return nil, fmt.Errorf("model: %s is %v of %T, want %d float32s", what, v.Shape(), v.Data(), n)
	}
	return d, nil
}
