package model

import (
	"fmt"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The block's operations as gorgonia sees them (see fusedOp): the block itself, and
// its gradient in four parts, which read the block's saved patches and winners.
type (
	convPoolOp     struct{ fusedOp[*convPool] } // (x, kernel, bias) → pooled output
	convPoolGradOp struct{ fusedOp[*convPool] } // (output, output's gradient) → the convolution's gradient
	convKernelOp   struct{ fusedOp[*convPool] } // (convolution's gradient, x) → kernel's gradient
	convBiasOp     struct{ fusedOp[*convPool] } // (output's gradient) → bias's gradient
	convInputOp    struct{ fusedOp[*convPool] } // (convolution's gradient, kernel) → x's gradient
)

// op names one of the block's operations.
func (p *convPool) op(part string) fusedOp[*convPool] {
	return newFusedOp(p, fmt.Sprintf("convpool%dx%d→%d%s", p.kh, p.kw, p.outC, part))
}

func (o convPoolOp) Arity() int { return 3 }
func (o convPoolOp) Type() hm.Type {
	return hm.NewFnType(tensorType(4), tensorType(4), tensorType(1), tensorType(4))
}
func (o convPoolOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.p.batch, o.p.outC, o.p.poolH, o.p.poolW}, nil
}
func (o convPoolOp) Do(inputs ...G.Value) (G.Value, error) {
	in, err := o.values(inputs,
		want{o.p.batch * o.p.inC * o.p.inH * o.p.inW, "the block's input"},
		want{o.p.outC * o.p.kSize(), "the kernel"},
		want{o.p.outC, "the bias"})
	if err != nil {
		return nil, err
	}
	return o.p.forward(in[0], in[1], in[2]), nil
}
func (o convPoolOp) DiffWRT(int) []bool { return []bool{true, true, true} }

// SymDiff builds the gradient: one node spreads the output's gradient over the
// convolution, and the kernel's, the bias's and the input's gradients come from it.
func (o convPoolOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if !o.p.train {
		return nil, fmt.Errorf("model: %s was built for inference", o)
	}
	dPre, err := G.ApplyOp(convPoolGradOp{o.p.op("/grad")}, output, grad)
	if err != nil {
		return nil, err
	}
	dx, err := G.ApplyOp(convInputOp{o.p.op("/input-grad")}, dPre, inputs[1])
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(convKernelOp{o.p.op("/kernel-grad")}, dPre, inputs[0])
	if err != nil {
		return nil, err
	}
	db, err := G.ApplyOp(convBiasOp{o.p.op("/bias-grad")}, grad)
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
	in, err := o.values(inputs, want{}, want{o.p.pooledLen(), "the output's gradient"})
	if err != nil {
		return nil, err
	}
	return o.p.gradPre(in[1]), nil
}

func (o convKernelOp) Arity() int { return 2 }
func (o convKernelOp) Type() hm.Type {
	return hm.NewFnType(tensorType(2), tensorType(4), tensorType(4))
}
func (o convKernelOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.p.outC, o.p.inC, o.p.kh, o.p.kw}, nil
}
func (o convKernelOp) Do(inputs ...G.Value) (G.Value, error) {
	in, err := o.values(inputs,
		want{o.p.outC * o.p.batch * o.p.convSize(), "the convolution's gradient"},
		want{})
	if err != nil {
		return nil, err
	}
	return o.p.gradKernel(in[0]), nil
}

func (o convBiasOp) Arity() int    { return 1 }
func (o convBiasOp) Type() hm.Type { return hm.NewFnType(tensorType(4), tensorType(1)) }
func (o convBiasOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.p.outC}, nil
}
func (o convBiasOp) Do(inputs ...G.Value) (G.Value, error) {
	in, err := o.values(inputs, want{o.p.pooledLen(), "the output's gradient"})
	if err != nil {
		return nil, err
	}
	return o.p.gradBias(in[0]), nil
}

func (o convInputOp) Arity() int { return 2 }
func (o convInputOp) Type() hm.Type {
	return hm.NewFnType(tensorType(2), tensorType(4), tensorType(4))
}
func (o convInputOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.p.batch, o.p.inC, o.p.inH, o.p.inW}, nil
}
func (o convInputOp) Do(inputs ...G.Value) (G.Value, error) {
	in, err := o.values(inputs,
		want{o.p.outC * o.p.batch * o.p.convSize(), "the convolution's gradient"},
		want{o.p.outC * o.p.kSize(), "the kernel"})
	if err != nil {
		return nil, err
	}
	return o.p.gradInput(in[0], in[1]), nil
}
