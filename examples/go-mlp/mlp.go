// Package mlp is an example FedKeeper client with a model of its own: the seed's MLP
// (784-h-10, ReLU, softmax cross-entropy) written in plain Go, trained with SGD on the
// client's share of MNIST. It needs nothing of FedKeeper but the Go SDK: Train is the
// client, cmd/ serves it on OpenWhisk and OpenFaaS, gcf/ on Cloud Functions. Its
// updates have the built-in mlp's layout, so the keeper averages and evaluates them
// beside any other client's.
package mlp

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fedkeeper/fedkeeper/sdk"
)

const (
	inputs  = 784
	classes = 10
)

// Train trains the global model on the client's data with plain SGD, as the task's
// training settings say (epochs, batch size, learning rate, shuffling seed).
func Train(ctx context.Context, task sdk.Task, global sdk.Model) (sdk.Update, error) {
	if task.Model.Kind != "mlp" || task.Train.Optimizer != "sgd" {
		return sdk.Update{}, fmt.Errorf("this example trains the mlp with sgd, not %s with %s", task.Model.Kind, task.Train.Optimizer)
	}
	data, err := task.LoadData(ctx)
	if err != nil {
		return sdk.Update{}, err
	}
	n := newNet(global.Params, task.Model.Hidden)
	rng := rand.New(rand.NewPCG(task.Train.Seed, 1))
	loss := 0.0
	for range max(1, task.Train.Epochs) {
		if err := ctx.Err(); err != nil {
			return sdk.Update{}, err
		}
		loss = n.epoch(data, rng.Perm(data.Len()), max(1, task.Train.BatchSize), float32(task.Train.LR))
	}
	return sdk.Update{Params: global.Params, Samples: data.Len(), Loss: loss}, nil
}

// net is the MLP over views of the flat parameter vector, with its gradients.
type net struct {
	hidden             int
	w1, b1, w2, b2     []float32
	gw1, gb1, gw2, gb2 []float32
	h, dh, p           []float32 // one example's activations and their gradients
}

func newNet(params []float32, hidden int) *net {
	n := &net{hidden: hidden}
	// The flat vector holds dense1/kernel, dense1/bias, dense2/kernel, dense2/bias.
	b1 := inputs * hidden
	w2 := b1 + hidden
	b2 := w2 + hidden*classes
	n.w1, n.b1, n.w2, n.b2 = params[:b1], params[b1:w2], params[w2:b2], params[b2:b2+classes]
	n.gw1, n.gb1 = make([]float32, len(n.w1)), make([]float32, hidden)
	n.gw2, n.gb2 = make([]float32, len(n.w2)), make([]float32, classes)
	n.h, n.dh, n.p = make([]float32, hidden), make([]float32, hidden), make([]float32, classes)
	return n
}

// epoch makes one pass in the given order, a step per batch, and returns its mean loss.
func (n *net) epoch(data *sdk.Dataset, order []int, batch int, lr float32) float64 {
	total := 0.0
	for start := 0; start < len(order); start += batch {
		end := min(start+batch, len(order))
		n.zero()
		for _, i := range order[start:end] {
			total += n.backprop(data.Image(i), int(data.Labels[i]))
		}
		n.step(lr / float32(end-start))
	}
	return total / float64(len(order))
}

func (n *net) zero() {
	for _, g := range [][]float32{n.gw1, n.gb1, n.gw2, n.gb2} {
		clear(g)
	}
}

// backprop adds one example's gradients and returns its loss.
func (n *net) backprop(x []float32, label int) float64 {
	for j := range n.hidden {
		s := n.b1[j]
		for i, xi := range x {
			s += xi * n.w1[i*n.hidden+j]
		}
		n.h[j] = max(s, 0)
	}
	for k := range classes {
		s := n.b2[k]
		for j, hj := range n.h {
			s += hj * n.w2[j*classes+k]
		}
		n.p[k] = s
	}
	loss := softmax(n.p, label)
	clear(n.dh)
	for k := range classes {
		n.gb2[k] += n.p[k]
		for j, hj := range n.h {
			n.gw2[j*classes+k] += hj * n.p[k]
			n.dh[j] += n.w2[j*classes+k] * n.p[k]
		}
	}
	for j := range n.hidden {
		if n.h[j] <= 0 {
			continue
		}
		n.gb1[j] += n.dh[j]
		for i, xi := range x {
			n.gw1[i*n.hidden+j] += xi * n.dh[j]
		}
	}
	return loss
}

// softmax turns logits into the gradient of the cross-entropy (p − onehot) in place
// and returns the loss.
func softmax(logits []float32, label int) float64 {
	top := logits[0]
	for _, v := range logits {
		top = max(top, v)
	}
	sum := 0.0
	for k, v := range logits {
		e := math.Exp(float64(v - top))
		logits[k] = float32(e)
		sum += e
	}
	loss := -math.Log(float64(logits[label])/sum + 1e-12)
	for k := range logits {
		logits[k] = float32(float64(logits[k]) / sum)
	}
	logits[label]--
	return loss
}

func (n *net) step(rate float32) {
	for _, pg := range [][2][]float32{{n.w1, n.gw1}, {n.b1, n.gb1}, {n.w2, n.gw2}, {n.b2, n.gb2}} {
		for i, g := range pg[1] {
			pg[0][i] -= rate * g
		}
	}
}
