package bench

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/optim"
)

// classes is the MNIST label count; the pixel count is mnist.Pixels.
const classes = 10

// plainMLP is the baseline the gorgonia MLP is measured against: the same network
// (dense, ReLU, dense, softmax cross-entropy averaged over the batch) and the same flat
// parameter layout, written directly on gonum's blas32. Its buffers are allocated once.
type plainMLP struct {
	hidden, batch int
	x, pre, act   []float32 // batch×784, batch×hidden (before and after ReLU)
	logits, dz    []float32 // batch×10
	dact          []float32 // batch×hidden
}

func newPlainMLP(hidden, batch int) *plainMLP {
	return &plainMLP{hidden: hidden, batch: batch,
		x: make([]float32, batch*mnist.Pixels), pre: make([]float32, batch*hidden), act: make([]float32, batch*hidden),
		logits: make([]float32, batch*classes), dz: make([]float32, batch*classes), dact: make([]float32, batch*hidden)}
}

// split views the flat parameter (or gradient) vector as the four tensors.
func (m *plainMLP) split(v []float32) (w1, b1, w2, b2 []float32) {
	h := m.hidden
	w1 = v[:mnist.Pixels*h]
	b1 = v[mnist.Pixels*h : mnist.Pixels*h+h]
	w2 = v[mnist.Pixels*h+h : mnist.Pixels*h+h+h*classes]
	b2 = v[mnist.Pixels*h+h+h*classes:]
	return
}

func general(rows, cols int, data []float32) blas32.General {
	return blas32.General{Rows: rows, Cols: cols, Stride: cols, Data: data}
}

// step computes the mean loss of one batch (rows of images picked by order) and
// writes its gradient into grad.
func (m *plainMLP) step(params, grad, images []float32, labels []uint8, order []int) float64 {
	b, h := len(order), m.hidden
	for i, idx := range order {
		copy(m.x[i*mnist.Pixels:(i+1)*mnist.Pixels], images[idx*mnist.Pixels:(idx+1)*mnist.Pixels])
	}
	w1, b1, w2, b2 := m.split(params)
	gw1, gb1, gw2, gb2 := m.split(grad)
	x, pre, act := general(b, mnist.Pixels, m.x[:b*mnist.Pixels]), general(b, h, m.pre[:b*h]), general(b, h, m.act[:b*h])
	logits, dz, dact := general(b, classes, m.logits[:b*classes]), general(b, classes, m.dz[:b*classes]), general(b, h, m.dact[:b*h])

	// Forward.
	for i := 0; i < b; i++ {
		copy(pre.Data[i*h:(i+1)*h], b1)
		copy(logits.Data[i*classes:(i+1)*classes], b2)
	}
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, x, general(mnist.Pixels, h, w1), 1, pre)
	for i, v := range pre.Data {
		act.Data[i] = max(v, 0)
	}
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, act, general(h, classes, w2), 1, logits)

	loss := softmaxCrossEntropy(logits.Data, dz.Data, labels, order)

	// Backward.
	blas32.Gemm(blas.Trans, blas.NoTrans, 1, act, dz, 0, general(h, classes, gw2))
	sumRows(dz.Data, b, classes, gb2)
	blas32.Gemm(blas.NoTrans, blas.Trans, 1, dz, general(h, classes, w2), 0, dact)
	for i, v := range pre.Data {
		if v <= 0 {
			dact.Data[i] = 0
		}
	}
	sumRows(dact.Data, b, h, gb1)
	blas32.Gemm(blas.Trans, blas.NoTrans, 1, x, dact, 0, general(mnist.Pixels, h, gw1))
	return loss
}

// softmaxCrossEntropy returns the batch's mean loss and writes its gradient with
// respect to the logits (one row per example of order) into dz.
func softmaxCrossEntropy(logits, dz []float32, labels []uint8, order []int) float64 {
	b := len(order)
	loss := 0.0
	for i, idx := range order {
		row := logits[i*classes : (i+1)*classes]
		top := row[0]
		for _, v := range row[1:] {
			top = max(top, v)
		}
		sum := 0.0
		for _, v := range row {
			sum += math.Exp(float64(v - top))
		}
		label := int(labels[idx])
		loss += math.Log(sum) - float64(row[label]-top)
		for k, v := range row {
			p := math.Exp(float64(v-top)) / sum
			if k == label {
				p--
			}
			dz[i*classes+k] = float32(p / float64(b))
		}
	}
	return loss / float64(b)
}

// plainNet is a baseline network: one batch's loss and gradient.
type plainNet interface {
	step(params, grad, images []float32, labels []uint8, order []int) float64
}

// trainPlainMLP trains the baseline MLP with hidden units.
func trainPlainMLP(hidden int, params, images []float32, labels []uint8, optimizer string, lr float64, epochs, batch int, seed uint64) (float64, error) {
	if len(params) != mnist.Pixels*hidden+hidden+hidden*classes+classes {
		return 0, fmt.Errorf("bench: %d parameters do not fit an MLP with %d hidden units", len(params), hidden)
	}
	return trainPlain(newPlainMLP(hidden, batch), params, images, labels, optimizer, lr, epochs, batch, seed)
}

// trainPlainCNN trains the baseline CNN.
func trainPlainCNN(params, images []float32, labels []uint8, optimizer string, lr float64, epochs, batch int, seed uint64) (float64, error) {
	if len(params) != cnnNumParams() {
		return 0, fmt.Errorf("bench: %d parameters do not fit the CNN's %d", len(params), cnnNumParams())
	}
	return trainPlain(newPlainCNN(batch), params, images, labels, optimizer, lr, epochs, batch, seed)
}

// trainPlain is model.Train's loop on a baseline network: shuffled batches, one
// optimiser step each.
func trainPlain(m plainNet, params, images []float32, labels []uint8, optimizer string, lr float64, epochs, batch int, seed uint64) (float64, error) {
	n := len(labels)
	opt, err := optim.New(optimizer, lr, len(params))
	if err != nil {
		return 0, err
	}
	grad := make([]float32, len(params))
	rng := rand.New(rand.NewPCG(seed, 0x7a1e))
	loss := 0.0
	for e := 0; e < epochs; e++ {
		order := rng.Perm(n)
		loss = 0
		for start := 0; start < n; start += batch {
			end := min(start+batch, n)
			loss += m.step(params, grad, images, labels, order[start:end]) * float64(end-start)
			opt.Step(params, grad)
		}
	}
	return loss / float64(n), nil
}
