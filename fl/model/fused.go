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

// want is an input an operation reads: its number of float32s, and what it is (for
// errors). The zero want is an input taken only for the order it imposes, not read.
type want struct {
	n    int
	what string
}

// values checks the operation's inputs against wants and returns the values of those
// it reads (an array, so that a call allocates nothing).
func (o fusedOp[L]) values(inputs []G.Value, wants ...want) ([3][]float32, error) {
	var out [3][]float32
	if len(inputs) != len(wants) {
		return out, fmt.Errorf("model: %s takes %d inputs, got %d", o.name, len(wants), len(inputs))
	}
	for i, w := range wants {
		if w.what == "" {
			continue
		}
		d, ok := inputs[i].Data().([]float32)
		if !ok || len(d) != w.n {
			return out, fmt.Errorf("model: %s: %s is %v of %T, want %d float32s", o.name, w.what, inputs[i].Shape(), inputs[i].Data(), w.n)
		}
		out[i] = d
	}
	return out, nil
}

func tensorType(dims int) hm.Type { return G.TensorType{Dims: dims, Of: hm.TypeVariable('a')} }
