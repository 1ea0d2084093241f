package model

import (
	"fmt"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// denseLayer is the CNN's dense layer, x·kernel + bias (then ReLU where relu is set),
// as one gorgonia operation with its gradient in four parts. Gorgonia's composition
// (a product, a broadcast bias, Rectify, and their gradients) allocates every
// intermediate afresh each batch in the CNN's machine, which cannot keep its values
// (see net.rewind); these buffers are allocated once. The products are the same, so
// results equal gorgonia's up to float rounding.
type denseLayer struct {
	batch, in, out int
	relu           bool
	gemm           blas.Float32

	y, dPre, dW, dB, dX *tensor.Dense
}

type (
	denseOp       struct{ fusedOp[*denseLayer] } // (x, kernel, bias) → y
	denseGradOp   struct{ fusedOp[*denseLayer] } // (y, y's gradient) → the gradient before ReLU
	denseKernelOp struct{ fusedOp[*denseLayer] } // (that gradient, x) → kernel's gradient
	denseBiasOp   struct{ fusedOp[*denseLayer] } // (that gradient) → bias's gradient
	denseInputOp  struct{ fusedOp[*denseLayer] } // (that gradient, kernel) → x's gradient
)

// denseBlock applies the layer to x (batch × in) with kernel (in × out) and bias (out).
func denseBlock(x, kernel, bias *G.Node, relu bool) (*G.Node, error) {
	xs, ks := x.Shape(), kernel.Shape()
	if xs.Dims() != 2 || ks.Dims() != 2 || xs[1] != ks[0] || bias.Shape().TotalSize() != ks[1] {
		return nil, fmt.Errorf("model: dense layer of %v by %v plus %v", xs, ks, bias.Shape())
	}
	l := &denseLayer{batch: xs[0], in: ks[0], out: ks[1], relu: relu, gemm: G.WhichBLAS()}
	return G.ApplyOp(denseOp{l.op("")}, x, kernel, bias)
}

func (l *denseLayer) op(part string) fusedOp[*denseLayer] {
	return newFusedOp(l, fmt.Sprintf("dense%d→%d%s", l.in, l.out, part))
}

func matrix(rows, cols int) *tensor.Dense {
	return tensor.New(tensor.WithShape(rows, cols), tensor.Of(tensor.Float32))
}

func (l *denseLayer) forward(x, w, b []float32) *tensor.Dense {
	if l.y == nil {
		l.y = matrix(l.batch, l.out)
	}
	y := l.y.Data().([]float32)
	l.gemm.Sgemm(blas.NoTrans, blas.NoTrans, l.batch, l.out, l.in, 1, x, l.in, w, l.out, 0, y, l.out)
	for i := range l.batch {
		row := y[i*l.out : (i+1)*l.out]
		for j, bj := range b[:l.out] {
			v := row[j] + bj
			if l.relu && !(v > 0) {
				v = 0
			}
			row[j] = v
		}
	}
	return l.y
}

// gradPre is y's gradient where ReLU passed the value, zero where it cut.
func (l *denseLayer) gradPre(y, dy []float32) *tensor.Dense {
	if l.dPre == nil {
		l.dPre = matrix(l.batch, l.out)
	}
	d := l.dPre.Data().([]float32)
	for i, v := range dy {
		if !(y[i] > 0) {
			v = 0
		}
		d[i] = v
	}
	return l.dPre
}

func (l *denseLayer) gradKernel(dPre, x []float32) *tensor.Dense {
	if l.dW == nil {
		l.dW = matrix(l.in, l.out)
	}
	l.gemm.Sgemm(blas.Trans, blas.NoTrans, l.in, l.out, l.batch, 1, x, l.in, dPre, l.out, 0, l.dW.Data().([]float32), l.out)
	return l.dW
}

func (l *denseLayer) gradBias(dPre []float32) *tensor.Dense {
	if l.dB == nil {
		l.dB = tensor.New(tensor.WithShape(l.out), tensor.Of(tensor.Float32))
	}
	db := l.dB.Data().([]float32)
	copy(db, dPre[:l.out])
	for i := 1; i < l.batch; i++ {
		for j, v := range dPre[i*l.out : (i+1)*l.out] {
			db[j] += v
		}
	}
	return l.dB
}

func (l *denseLayer) gradInput(dPre, w []float32) *tensor.Dense {
	if l.dX == nil {
		l.dX = matrix(l.batch, l.in)
	}
	l.gemm.Sgemm(blas.NoTrans, blas.Trans, l.batch, l.in, l.out, 1, dPre, l.out, w, l.out, 0, l.dX.Data().([]float32), l.in)
	return l.dX
}

func (o denseOp) Arity() int { return 3 }
func (o denseOp) Type() hm.Type {
	return hm.NewFnType(tensorType(2), tensorType(2), tensorType(1), tensorType(2))
}
func (o denseOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.p.batch, o.p.out}, nil
}
func (o denseOp) Do(inputs ...G.Value) (G.Value, error) {
	in, err := o.values(inputs,
		want{o.p.batch * o.p.in, "the layer's input"},
		want{o.p.in * o.p.out, "the kernel"},
		want{o.p.out, "the bias"})
	if err != nil {
		return nil, err
	}
	return o.p.forward(in[0], in[1], in[2]), nil
}
func (o denseOp) DiffWRT(int) []bool { return []bool{true, true, true} }

// SymDiff builds the gradient. Without ReLU the output's gradient is the product's.
func (o denseOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dPre := grad
	if o.p.relu {
		var err error
		if dPre, err = G.ApplyOp(denseGradOp{o.p.op("/grad")}, output, grad); err != nil {
			return nil, err
		}
	}
	dx, err := G.ApplyOp(denseInputOp{o.p.op("/input-grad")}, dPre, inputs[1])
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(denseKernelOp{o.p.op("/kernel-grad")}, dPre, inputs[0])
	if err != nil {
		return nil, err
	}
	db, err := G.ApplyOp(denseBiasOp{o.p.op("/bias-grad")}, dPre)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw, db}, nil
}

func (o denseGradOp) Arity() int { return 2 }
func (o denseGradOp) Type() hm.Type {
	return hm.NewFnType(tensorType(2), tensorType(2), tensorType(2))
}
func (o denseGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.p.batch, o.p.out}, nil
}
func (o denseGradOp) Do(inputs ...G.Value) (G.Value, error) {
	in, err := o.values(inputs,
		want{o.p.batch * o.p.out, "the layer's output"},
		want{o.p.batch * o.p.out, "the output's gradient"})
	if err != nil {
		return nil, err
	}
	return o.p.gradPre(in[0], in[1]), nil
}

func (o denseKernelOp) Arity() int { return 2 }
func (o denseKernelOp) Type() hm.Type {
	return hm.NewFnType(tensorType(2), tensorType(2), tensorType(2))
}
func (o denseKernelOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.p.in, o.p.out}, nil
}
func (o denseKernelOp) Do(inputs ...G.Value) (G.Value, error) {
	in, err := o.values(inputs,
		want{o.p.batch * o.p.out, "the product's gradient"},
		want{o.p.batch * o.p.in, "the layer's input"})
	if err != nil {
		return nil, err
	}
	return o.p.gradKernel(in[0], in[1]), nil
}

func (o denseBiasOp) Arity() int    { return 1 }
func (o denseBiasOp) Type() hm.Type { return hm.NewFnType(tensorType(2), tensorType(1)) }
func (o denseBiasOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.p.out}, nil
}
func (o denseBiasOp) Do(inputs ...G.Value) (G.Value, error) {
	in, err := o.values(inputs, want{o.p.batch * o.p.out, "the product's gradient"})
	if err != nil {
		return nil, err
	}
	return o.p.gradBias(in[0]), nil
}

func (o denseInputOp) Arity() int { return 2 }
func (o denseInputOp) Type() hm.Type {
	return hm.NewFnType(tensorType(2), tensorType(2), tensorType(2))
}
func (o denseInputOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.p.batch, o.p.in}, nil
}
func (o denseInputOp) Do(inputs ...G.Value) (G.Value, error) {
	in, err := o.values(inputs,
		want{o.p.batch * o.p.out, "the product's gradient"},
		want{o.p.in * o.p.out, "the kernel"})
	if err != nil {
		return nil, err
	}
	return o.p.gradInput(in[0], in[1]), nil
}
