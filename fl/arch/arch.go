// Package arch describes the models' layouts without training them: which parameter
// tensors an architecture has, in what order they sit in the flat float32 vector that
// federated averaging works on, and their seeded initial values. It is light (no
// training library), so the weight store and the client SDKs can share it.
package arch

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fedkeeper/fedkeeper/fl/synthetic"
)

// Kind names a model architecture.
type Kind string

// The architectures of the seed, and the FedProx paper's model of its synthetic data.
const (
	MLP Kind = "mlp"
	CNN Kind = "cnn"
	// MCLR is multinomial logistic regression: one dense layer from the synthetic
	// dataset's 60 features to its 10 classes, softmax over the logits.
	MCLR Kind = "mclr"
)

// Input and output sizes of MNIST.
const (
	InputSide = 28
	inputSize = InputSide * InputSide
	Classes   = 10
	classes   = Classes
)

// Spec chooses an architecture; Hidden is the MLP's hidden width (the seed used 500).
type Spec struct {
	Kind   Kind `json:"kind"`
	Hidden int  `json:"hidden,omitempty"`
}

// Param describes one parameter tensor inside the flat vector.
type Param struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// Size is the number of values of the parameter.
func (p Param) Size() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// Manifest lists the parameters in the order they sit in the flat vector. Dense kernels
// are (inputs, outputs) as in Keras; convolution kernels are (out, in, height, width).
func (s Spec) Manifest() ([]Param, error) {
	switch s.Kind {
	case MLP:
		h := s.Hidden
		if h < 1 {
			return nil, fmt.Errorf("model: MLP hidden size must be positive, got %d", h)
		}
		return []Param{
			{"dense1/kernel", []int{inputSize, h}}, {"dense1/bias", []int{h}},
			{"dense2/kernel", []int{h, classes}}, {"dense2/bias", []int{classes}},
		}, nil
	case CNN:
		return []Param{
			{"conv1/kernel", []int{32, 1, 5, 5}}, {"conv1/bias", []int{32}},
			{"conv2/kernel", []int{64, 32, 5, 5}}, {"conv2/bias", []int{64}},
			{"dense1/kernel", []int{4 * 4 * 64, 512}}, {"dense1/bias", []int{512}},
			{"dense2/kernel", []int{512, classes}}, {"dense2/bias", []int{classes}},
		}, nil
	case MCLR:
		return []Param{
			{"dense1/kernel", []int{synthetic.Features, synthetic.Classes}}, {"dense1/bias", []int{synthetic.Classes}},
		}, nil
	}
	return nil, fmt.Errorf("model: unknown kind %q (want mlp, cnn or mclr)", s.Kind)
}

// NumParams is the length of the flat parameter vector.
func NumParams(manifest []Param) int {
	n := 0
	for _, p := range manifest {
		n += p.Size()
	}
	return n
}

// Init returns freshly initialised parameters: Glorot-uniform kernels and zero biases
// (Keras' defaults), drawn from a source seeded with seed so runs are reproducible.
func Init(manifest []Param, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x1417))
	flat := make([]float32, NumParams(manifest))
	off := 0
	for _, p := range manifest {
		n := p.Size()
		if len(p.Shape) > 1 {
			fanIn, fanOut := fans(p.Shape)
			limit := math.Sqrt(6 / float64(fanIn+fanOut))
			for i := off; i < off+n; i++ {
				flat[i] = float32((rng.Float64()*2 - 1) * limit)
			}
		}
		off += n
	}
	return flat
}

func fans(shape []int) (in, out int) {
	if len(shape) == 2 {
		return shape[0], shape[1]
	}
	// Convolution (out, in, kh, kw).
	receptive := 1
	for _, d := range shape[2:] {
		receptive *= d
	}
	return shape[1] * receptive, shape[0] * receptive
}

// SameManifest reports whether two manifests describe the same layout.
func SameManifest(a, b []Param) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || len(a[i].Shape) != len(b[i].Shape) {
			return false
		}
		for j := range a[i].Shape {
			if a[i].Shape[j] != b[i].Shape[j] {
				return false
			}
		}
	}
	return true
}

// TrainOptions are a client's local training settings.
type TrainOptions struct {
	Optimizer string  `json:"optimizer"`
	LR        float64 `json:"lr"`
	Epochs    int     `json:"epochs"`
	BatchSize int     `json:"batch_size"`
	// Seed drives the shuffling, so a client's training is reproducible.
	Seed uint64 `json:"seed"`
	// ProximalMu adds FedProx's proximal term μ/2·‖w − w₀‖² to the loss (w₀: the
	// parameters training started from), keeping a client near the global model.
	ProximalMu float64 `json:"proximal_mu,omitempty"`
}
