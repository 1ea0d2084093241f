package model

import (
	"fmt"
	"reflect"
	"unsafe"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/fedkeeper/fedkeeper/fl/fastblas"
)

// Gorgonia multiplies matrices through the BLAS it is told to use, process-wide;
// training spends most of its time there, so the models use fastblas's kernel.
func init() { G.Use(fastblas.New()) }

// net is one compiled graph for a fixed batch size. Its parameter nodes are views of
// the caller's flat vector, so updating the vector in place updates the model.
type net struct {
	g        *G.ExprGraph
	x        *G.Node
	y        *G.Node // one-hot labels; nil for an inference-only graph
	logits   *G.Node
	cost     *G.Node // mean cross-entropy; nil for an inference-only graph
	params   []*G.Node
	grads    []*G.Node // the cost's gradient with respect to each parameter
	xT, yT   *tensor.Dense
	vm       G.VM
	keep     bool // keep intermediate values between batches (see rewind)
	batch    int
	manifest []Param
}

// newNet builds the graph of spec over flat for batches of the given size; with train
// set it adds the loss and its gradient.
func newNet(spec Spec, manifest []Param, flat []float32, batch int, train bool) (*net, error) {
	if len(flat) != NumParams(manifest) {
		return nil, fmt.Errorf("model: %d parameters given, %s needs %d", len(flat), spec.Kind, NumParams(manifest))
	}
	// Only the MLP's machine survives keeping its values; see rewind.
	n := &net{g: G.NewGraph(), batch: batch, manifest: manifest, keep: spec.Kind == MLP}
	off := 0
	for _, p := range manifest {
		size := p.Size()
		t := tensor.New(tensor.WithShape(p.Shape...), tensor.WithBacking(flat[off:off+size]))
		n.params = append(n.params, G.NodeFromAny(n.g, t, G.WithName(p.Name)))
		off += size
	}

	var err error
	switch spec.Kind {
	case MLP:
		n.xT = tensor.New(tensor.WithShape(batch, inputSize), tensor.Of(tensor.Float32))
		n.x = G.NewMatrix(n.g, tensor.Float32, G.WithShape(batch, inputSize), G.WithName("x"), G.WithValue(n.xT))
		n.logits, err = mlpForward(n.x, n.params)
	case CNN:
		n.xT = tensor.New(tensor.WithShape(batch, 1, inputSide, inputSide), tensor.Of(tensor.Float32))
		n.x = G.NewTensor(n.g, tensor.Float32, 4, G.WithShape(batch, 1, inputSide, inputSide), G.WithName("x"), G.WithValue(n.xT))
		n.logits, err = cnnForward(n.x, n.params, batch, train)
	default:
		return nil, fmt.Errorf("model: unknown kind %q", spec.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("model: build %s graph: %w", spec.Kind, err)
	}

	if !train {
		n.vm = G.NewTapeMachine(n.g)
		return n, nil
	}
	n.yT = tensor.New(tensor.WithShape(batch, classes), tensor.Of(tensor.Float32))
	n.y = G.NewMatrix(n.g, tensor.Float32, G.WithShape(batch, classes), G.WithName("y"), G.WithValue(n.yT))
	if n.cost, err = crossEntropy(n.logits, n.y); err != nil {
		return nil, fmt.Errorf("model: loss: %w", err)
	}
	if n.grads, err = G.Grad(n.cost, n.params...); err != nil {
		return nil, fmt.Errorf("model: gradient: %w", err)
	}
	// Differentiating a product yields the gradients of both factors, so the graph also
	// holds the gradient of the input images, as costly as the first layer's forward
	// pass and never used; the machine runs only what the cost and the parameters'
	// gradients need. The gradients are read from their own nodes rather than bound to
	// the parameters' dual values, which would add each into an accumulator that would
	// then have to be copied out and cleared: three passes over every gradient a step.
	roots := append(G.Nodes{n.cost}, n.grads...)
	n.vm = G.NewTapeMachine(n.g.ExactSubgraphRoots(roots...))
	return n, nil
}

// crossEntropy is the mean over the batch of -log softmax(logits)[label], written out
// with the row maximum subtracted. Gorgonia's own LogSoftMax (tensor v0.9.24) takes the
// maximum from the first row for every row, so other rows can underflow to log(0) and
// training turns NaN.
func crossEntropy(logits, oneHot *G.Node) (*G.Node, error) {
	rowMax, err := G.Max(logits, 1)
	if err != nil {
		return nil, err
	}
	shifted, err := G.BroadcastSub(logits, rowMax, nil, []byte{1})
	if err != nil {
		return nil, err
	}
	exp, err := G.Exp(shifted)
	if err != nil {
		return nil, err
	}
	sumExp, err := G.Sum(exp, 1)
	if err != nil {
		return nil, err
	}
	logSumExp, err := G.Log(sumExp)
	if err != nil {
		return nil, err
	}
	picked, err := G.HadamardProd(shifted, oneHot)
	if err != nil {
		return nil, err
	}
	target, err := G.Sum(picked, 1)
	if err != nil {
		return nil, err
	}
	perExample, err := G.Sub(logSumExp, target)
	if err != nil {
		return nil, err
	}
	return G.Mean(perExample)
}

func dense(x, kernel, bias *G.Node) (*G.Node, error) {
	xw, err := G.Mul(x, kernel)
	if err != nil {
		return nil, err
	}
	return G.BroadcastAdd(xw, bias, nil, []byte{0})
}

func mlpForward(x *G.Node, p []*G.Node) (*G.Node, error) {
	h, err := dense(x, p[0], p[1])
	if err != nil {
		return nil, err
	}
	if h, err = G.Rectify(h); err != nil {
		return nil, err
	}
	return dense(h, p[2], p[3])
}

func cnnForward(x *G.Node, p []*G.Node, batch int, train bool) (*G.Node, error) {
	c1, err := convPoolBlock(x, p[0], p[1], train)
	if err != nil {
		return nil, err
	}
	c2, err := convPoolBlock(c1, p[2], p[3], train)
	if err != nil {
		return nil, err
	}
	flat, err := G.Reshape(c2, tensor.Shape{batch, 4 * 4 * 64})
	if err != nil {
		return nil, err
	}
	h, err := denseBlock(flat, p[4], p[5], true)
	if err != nil {
		return nil, err
	}
	return denseBlock(h, p[6], p[7], false)
}

// load copies examples [from, from+batch) of images/labels into the input tensors.
func (n *net) load(images []float32, labels []uint8, order []int) {
	xs := n.xT.Data().([]float32)
	for i, idx := range order {
		copy(xs[i*inputSize:(i+1)*inputSize], images[idx*inputSize:(idx+1)*inputSize])
	}
	if n.yT == nil {
		return
	}
	ys := n.yT.Data().([]float32)
	clear(ys)
	for i, idx := range order {
		ys[i*classes+int(labels[idx])] = 1
	}
}

// run executes the graph once on the loaded batch.
func (n *net) run() error {
	if !n.keep {
		defer n.vm.Reset()
	} else {
		defer n.rewind()
	}
	return n.vm.RunAll()
}

// rewind readies the machine for the next batch. The tape machine's Reset also drops
// every intermediate value, so each batch would allocate them all again (about 2 MB a
// step for the default MLP, most of the training's garbage); moving its program
// counter back keeps them, and the operations write into them in place. This reaches
// into gorgonia's unexported state, pinned by go.mod and checked by the tests that
// train twice and compare; if the field ever goes away it falls back to Reset.
// It is only safe where no register is shared by values of different shapes: an
// operation finds the register's value from the previous batch and writes into it.
// The CNN resets: its fused layers (convpool.go, dense.go) return buffers of their own,
// and a kept register would hand such a buffer to a gorgonia operation as the place to
// write its own value. With those layers allocating once, what the reset costs it is
// gorgonia's small bookkeeping (TestTrainingAllocationPerStepIsFlat).
func (n *net) rewind() {
	v := reflect.ValueOf(n.vm)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		if pc := v.Elem().FieldByName("pc"); pc.IsValid() && pc.Kind() == reflect.Int && pc.CanAddr() {
			*(*int)(unsafe.Pointer(pc.UnsafeAddr())) = 0
			return
		}
	}
	n.vm.Reset()
}

// gradientOf is the last batch's gradient of parameter i, in the machine's own buffer
// (the optimiser reads it there, rather than from a copy).
func (n *net) gradientOf(i int) ([]float32, error) {
	gt, ok := n.grads[i].Value().(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("model: gradient of %s is a %T", n.params[i].Name(), n.grads[i].Value())
	}
	data, ok := gt.Data().([]float32)
	if !ok || len(data) != n.manifest[i].Size() {
		return nil, fmt.Errorf("model: gradient of %s has %d values, want %d", n.params[i].Name(), len(data), n.manifest[i].Size())
	}
	return data, nil
}

func (n *net) lossValue() float32 {
	return n.cost.Value().Data().(float32)
}

func (n *net) logitValues() []float32 {
	return n.logits.Value().Data().([]float32)
}

func (n *net) close() {
	if n.vm != nil {
		n.vm.Close()
	}
}
