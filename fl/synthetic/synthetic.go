// Package synthetic generates the federated datasets Synthetic(α, β) and
// Synthetic-IID of the FedProx paper (Li et al., MLSys 2020), as its authors' script
// defines them (docs: /work/shared/docs/synthetic-dataset.md, "[G]"): every device
// draws inputs from a Gaussian of its own and labels them with a multinomial logistic
// model of its own (or, IID, one shared model), and holds a power-law number of
// samples.
//
// The data are a pure function of a Spec: the keeper, the evaluation and every client
// compute the same bytes from the seed, so nothing is stored or shipped. The draws
// come from Go's math/rand/v2 PCG in a fixed order, which the Python SDK ports bit for
// bit (python/fedkeeper/synthetic.py, checked against testdata/protocol/synthetic.json).
//
// Order of the draws. One root stream, seeded by the experiment's seed, draws what
// [G] draws for all devices first, in [G]'s order: every device's size n_k, then
// every u_k, every B_k, every v_k (Synthetic-IID: every n_k, then the shared W and b).
// Then, unlike [G], the root stream draws one seed per device, and each device's
// W_k, b_k, inputs, labels and shuffle come from a stream of its own. A client so
// generates its own device without replaying every other device's samples, which in a
// serverless function (and in pure Python) would cost seconds per invocation. [G]
// never seeded its generator, so no run of it can be reproduced anyway: this is a
// fresh draw with [G]'s distributions, not [G]'s bytes.
package synthetic

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Shape of the data ([G] L11, L22–23).
const (
	Features = 60
	Classes  = 10
)

// MaxSamples caps a device's size. n_k is ⌊LogNormal(4, 2)⌋ + 50, which has no bound:
// a draw past this cap has a probability of about 10⁻⁵ per device, and without it one
// device could ask for gigabytes.
const MaxSamples = 1 << 18

// MaxDevices bounds a Spec's devices, as FedKeeper bounds an experiment's clients.
const MaxDevices = 100_000

// The second words of the PCG seeds: one for the root stream, one for every device's.
const (
	rootStream   = 0x53796e746865 // "Synthe"
	deviceStream = 0x446576696365 // "Device"
)

// Spec determines a dataset: the same Spec gives the same data everywhere.
type Spec struct {
	// Alpha and Beta are the standard deviations of u_k (the mean of device k's model)
	// and of B_k (the mean of its input means), as [G] uses them. Zero for IID.
	Alpha float64 `json:"alpha"`
	Beta  float64 `json:"beta"`
	// IID is Synthetic-IID: one model, every input drawn around zero.
	IID bool `json:"iid,omitempty"`
	// Devices is the number of devices, one per client ([P]: 30).
	Devices int `json:"devices"`
	// Seed roots every draw.
	Seed uint64 `json:"seed"`
}

// On reports whether the Spec names a dataset; the zero Spec names none (the
// experiment trains on MNIST).
func (s Spec) On() bool { return s.Devices > 0 }

// Validate checks the Spec's values.
func (s Spec) Validate() error {
	switch {
	case s.Devices < 1 || s.Devices > MaxDevices:
		return fmt.Errorf("synthetic: devices must be between 1 and %d, got %d", MaxDevices, s.Devices)
	case !(s.Alpha >= 0) || math.IsInf(s.Alpha, 0):
		return fmt.Errorf("synthetic: alpha must be a finite number ≥ 0, got %v", s.Alpha)
	case !(s.Beta >= 0) || math.IsInf(s.Beta, 0):
		return fmt.Errorf("synthetic: beta must be a finite number ≥ 0, got %v", s.Beta)
	case s.IID && (s.Alpha != 0 || s.Beta != 0):
		return errors.New("synthetic: the IID variant takes no alpha or beta")
	}
	return nil
}

// String names the dataset as the paper does.
func (s Spec) String() string {
	if s.IID {
		return "Synthetic-IID"
	}
	return fmt.Sprintf("Synthetic(%g, %g)", s.Alpha, s.Beta)
}

// Split is examples: Features values per example, one example after the other, and
// their labels.
type Split struct {
	Features []float32
	Labels   []uint8
}

// Len is the number of examples.
func (s Split) Len() int { return len(s.Labels) }

// Device is one device's data, shuffled and split: ⌊0.9·n_k⌋ examples to train on,
// the rest to test ([G] L87–92).
type Device struct {
	Train, Test Split
}

// model is a multinomial logistic regression that labels inputs: a kernel of
// Features×Classes values (row-major, feature by feature) and a bias per class.
type model struct {
	w []float64
	b []float64
}

// Generator holds the draws every device depends on: the sizes, each device's u_k and
// v_k (or the shared model), and each device's seed. It is cheap: a few thousand
// draws, whatever the devices hold.
type Generator struct {
	spec   Spec
	sizes  []int
	u      []float64   // u_k of Synthetic(α, β)
	v      [][]float64 // v_k, the mean of device k's inputs; nil for IID (zero)
	shared model       // the IID model
	seeds  []uint64
	scale  [Features]float64
}

// New makes the root stream's draws for spec.
func New(spec Spec) (*Generator, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(spec.Seed, rootStream))
	g := &Generator{spec: spec, sizes: make([]int, spec.Devices), seeds: make([]uint64, spec.Devices), scale: InputScales()}
	for k := range g.sizes {
		g.sizes[k] = size(rng.NormFloat64())
	}
	if spec.IID {
		g.shared = drawModel(rng, 0)
	} else {
		g.drawMeans(rng)
	}
	for k := range g.seeds {
		g.seeds[k] = rng.Uint64()
	}
	return g, nil
}

// size is n_k from a standard normal deviate z: ⌊e^(4+2z)⌋ + 50, capped at MaxSamples.
func size(z float64) int {
	n := math.Floor(math.Exp(4 + 2*z))
	if n >= MaxSamples-50 {
		return MaxSamples
	}
	return int(n) + 50
}

// drawMeans draws every u_k, then every B_k, then every v_k = B_k + N(0, 1) per feature.
func (g *Generator) drawMeans(rng *rand.Rand) {
	n := g.spec.Devices
	g.u = make([]float64, n)
	for k := range g.u {
		g.u[k] = g.spec.Alpha * rng.NormFloat64()
	}
	b := make([]float64, n)
	for k := range b {
		b[k] = g.spec.Beta * rng.NormFloat64()
	}
	g.v = make([][]float64, n)
	for k := range g.v {
		g.v[k] = make([]float64, Features)
		for j := range g.v[k] {
			g.v[k][j] = b[k] + rng.NormFloat64()
		}
	}
}

// drawModel draws a kernel and a bias whose every value is N(mean, 1): the kernel
// feature by feature, class by class, then the bias.
func drawModel(rng *rand.Rand, mean float64) model {
	m := model{w: make([]float64, Features*Classes), b: make([]float64, Classes)}
	for i := range m.w {
		m.w[i] = mean + rng.NormFloat64()
	}
	for i := range m.b {
		m.b[i] = mean + rng.NormFloat64()
	}
	return m
}

// Spec is the generator's dataset.
func (g *Generator) Spec() Spec { return g.spec }

// Sizes are the devices' sample counts n_k (train and test together).
func (g *Generator) Sizes() []int { return append([]int(nil), g.sizes...) }

// TrainSize is how many of n examples a device trains on: ⌊0.9·n⌋.
func TrainSize(n int) int { return n * 9 / 10 }

// Device generates device k's data.
func (g *Generator) Device(k int) (Device, error) {
	if k < 0 || k >= g.spec.Devices {
		return Device{}, fmt.Errorf("synthetic: device %d is outside 0..%d", k, g.spec.Devices-1)
	}
	rng := newDeviceRand(g.seeds[k])
	m, mean := g.shared, make([]float64, Features)
	if !g.spec.IID {
		m, mean = drawModel(rng, g.u[k]), g.v[k]
	}
	n := g.sizes[k]
	x := make([]float32, n*Features)
	for i := range n {
		row := x[i*Features : (i+1)*Features]
		for j := range row {
			// x_j = v_j + j^-0.6·z: N(v, Σ) with Σ = diag(j^-1.2). The conversion keeps
			// the product from being fused into the sum, which would round differently.
			row[j] = float32(mean[j] + float64(g.scale[j]*rng.NormFloat64()))
		}
	}
	labels := make([]uint8, n)
	for i := range labels {
		labels[i] = m.label(x[i*Features : (i+1)*Features])
	}
	perm := rng.Perm(n)
	t := TrainSize(n)
	return Device{Train: subset(x, labels, perm[:t]), Test: subset(x, labels, perm[t:])}, nil
}

// newDeviceRand is a device's own stream, from its seed.
func newDeviceRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, deviceStream)) }

// label is argmax(x·W + b), the first class on a tie. The logits are summed feature by
// feature from zero, each product rounded before it is added (no fused multiply-add),
// so every implementation that sums in this order finds the same label.
func (m model) label(x []float32) uint8 {
	var logits [Classes]float64
	for j, xj := range x {
		row := m.w[j*Classes : (j+1)*Classes]
		for c := range logits {
			logits[c] += float64(float64(xj) * row[c])
		}
	}
	best := 0
	for c := range logits {
		logits[c] += m.b[c]
		if logits[c] > logits[best] {
			best = c
		}
	}
	return uint8(best)
}

func subset(x []float32, labels []uint8, idx []int) Split {
	s := Split{Features: make([]float32, 0, len(idx)*Features), Labels: make([]uint8, 0, len(idx))}
	for _, i := range idx {
		s.Features = append(s.Features, x[i*Features:(i+1)*Features]...)
		s.Labels = append(s.Labels, labels[i])
	}
	return s
}

// All generates every device's data, in device order.
func (g *Generator) All() ([]Device, error) {
	out := make([]Device, g.spec.Devices)
	for k := range out {
		d, err := g.Device(k)
		if err != nil {
			return nil, err
		}
		out[k] = d
	}
	return out, nil
}
