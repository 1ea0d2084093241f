package model

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The block's operations as gorgonia sees them. Each returns a buffer of the block
// (written afresh every batch), so none implements UsePreallocDo: the machine cannot
// hand it a register that another node's value lives in. They read their own inputs
// through the block's saved state, and take the nodes they depend on as inputs so the
// machine orders them after those nodes.
type (
	convPoolOp     struct{ blockOp } // (x, kernel, bias) → pooled output
	convPoolGradOp struct{ blockOp } // (output, output's gradient) → the convolution's gradient
	convKernelOp   struct{ blockOp } // (convolution's gradient, x) → kernel's gradient
	convBiasOp     struct{ blockOp } // (output's gradient) → bias's gradient
	convInputOp    struct{ blockOp } // (convolution's gradient, kernel) → x's gradient
)

// blockOp is what the five have in common; kind names each in hashes and errors.
type blockOp struct {
	p    *convPool
	kind string
}

func (o blockOp) ReturnsPtr() bool     { return false }
func (o blockOp) CallsExtern() bool    { return false }
func (o blockOp) OverwritesInput() int { return -1 }

// WriteHash names the block itself: gorgonia merges nodes whose hashes match, and two
// blocks' operations must never be merged.
func (o blockOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "fedkeeper.%s.%p", o.kind, o.p) }

func (o blockOp) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

func (o blockOp) String() string {
	return fmt.Sprintf("%s%dx%d→%d", o.kind, o.p.kh, o.p.kw, o.p.outC)
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

func checkInputs(o blockOp, n int, inputs []G.Value) error {
	if len(inputs) != n {
		return fmt.Errorf("model: %s takes %d inputs, got %d", o, n, len(inputs))
	}
	return nil
}

func (o convPoolOp) Arity() int { return 3 }
func (o convPoolOp) Type() hm.Type {
	return hm.NewFnType(tensorType(4), tensorType(4), tensorType(1), tensorType(4))
}
func (o convPoolOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.p.batch, o.p.outC, o.p.poolH, o.p.poolW}, nil
}
func (o convPoolOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := checkInputs(o.blockOp, 3, inputs); err != nil {
		return nil, err
	}
	x, err := floats(inputs[0], o.p.batch*o.p.inC*o.p.inH*o.p.inW, "the block's input")
	if err != nil {
		return nil, err
	}
	w, err := floats(inputs[1], o.p.outC*o.p.kSize(), "the kernel")
	if err != nil {
		return nil, err
	}
	b, err := floats(inputs[2], o.p.outC, "the bias")
	if err != nil {
		return nil, err
	}
	return o.p.forward(x, w, b), nil
}
func (o convPoolOp) DiffWRT(int) []bool { return []bool{true, true, true} }

// SymDiff builds the gradient: one node spreads the output's gradient over the
// convolution, and the kernel's, the bias's and the input's gradients come from it.
func (o convPoolOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if !o.p.train {
		return nil, fmt.Errorf("model: %s was built for inference", o)
	}
	dPre, err := G.ApplyOp(convPoolGradOp{blockOp{o.p, "convpool-grad"}}, output, grad)
	if err != nil {
		return nil, err
	}
	dx, err := G.ApplyOp(convInputOp{blockOp{o.p, "convpool-input-grad"}}, dPre, inputs[1])
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(convKernelOp{blockOp{o.p, "convpool-kernel-grad"}}, dPre, inputs[0])
	if err != nil {
		return nil, err
	}
	db, err := G.ApplyOp(convBiasOp{blockOp{o.p, "convpool-bias-grad"}}, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw, db}, nil
}

func (o convPoolGradOp) Arity() int { return 2 }
func (o convPoolGradOp) Type() hm.Type {
	return hm.NewFnType(tensorType(4), tensorType(4), tensorType(2))
}
func (o convPoolGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.p.outC, o.p.batch * o.p.convSize()}, nil
}
func (o convPoolGradOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := checkInputs(o.blockOp, 2, inputs); err != nil {
		return nil, err
	}
	dOut, err := floats(inputs[1], o.p.pooledLen(), "the output's gradient")
	if err != nil {
		return nil, err
	}
	return o.p.gradPre(dOut), nil
}

func (o convKernelOp) Arity() int { return 2 }
func (o convKernelOp) Type() hm.Type {
	return hm.NewFnType(tensorType(2), tensorType(4), tensorType(4))
}
func (o convKernelOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.p.outC, o.p.inC, o.p.kh, o.p.kw}, nil
}
func (o convKernelOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := checkInputs(o.blockOp, 2, inputs); err != nil {
		return nil, err
	}
	dPre, err := floats(inputs[0], o.p.outC*o.p.batch*o.p.convSize(), "the convolution's gradient")
	if err != nil {
		return nil, err
	}
	return o.p.gradKernel(dPre), nil
}

func (o convBiasOp) Arity() int    { return 1 }
func (o convBiasOp) Type() hm.Type { return hm.NewFnType(tensorType(4), tensorType(1)) }
func (o convBiasOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.p.outC}, nil
}
func (o convBiasOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := checkInputs(o.blockOp, 1, inputs); err != nil {
		return nil, err
	}
	dOut, err := floats(inputs[0], o.p.pooledLen(), "the output's gradient")
	if err != nil {
		return nil, err
	}
	return o.p.gradBias(dOut), nil
}

func (o convInputOp) Arity() int { return 2 }
func (o convInputOp) Type() hm.Type {
	return hm.NewFnType(tensorType(2), tensorType(4), tensorType(4))
}
func (o convInputOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.p.batch, o.p.inC, o.p.inH, o.p.inW}, nil
}
func (o convInputOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := checkInputs(o.blockOp, 2, inputs); err != nil {
		return nil, err
	}
	dPre, err := floats(inputs[0], o.p.outC*o.p.batch*o.p.convSize(), "the convolution's gradient")
	if err != nil {
		return nil, err
	}
	w, err := floats(inputs[1], o.p.outC*o.p.kSize(), "the kernel")
	if err != nil {
		return nil, err
	}
	return o.p.gradInput(dPre, w), nil
}
