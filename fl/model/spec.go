// Package model holds the seed's two MNIST models (the MLP 784-500-10 and the CNN
// conv5x5x32-pool-conv5x5x64-pool-dense512-dense10) as gorgonia graphs whose parameters
// are views of one flat []float32, which is what federated averaging works on. Their
// layouts (Spec, Param, the manifests, the initial values) are package arch's; the
// names here are the same, for the code that trains.
package model

import "github.com/fedkeeper/fedkeeper/fl/arch"

// The layouts, as package arch defines them.
type (
	Kind  = arch.Kind
	Spec  = arch.Spec
	Param = arch.Param
)

// The architectures of the seed, and the synthetic data's (trained by fl/mclr, not
// here).
const (
	MLP  = arch.MLP
	CNN  = arch.CNN
	MCLR = arch.MCLR
)

// Input and output sizes of MNIST.
const (
	inputSide = arch.InputSide
	inputSize = inputSide * inputSide
	classes   = arch.Classes
)

// NumParams is the length of the flat parameter vector.
func NumParams(manifest []Param) int { return arch.NumParams(manifest) }

// Init returns seeded initial parameters (see arch.Init).
func Init(manifest []Param, seed uint64) []float32 { return arch.Init(manifest, seed) }

// SameManifest reports whether two manifests describe the same layout.
func SameManifest(a, b []Param) bool { return arch.SameManifest(a, b) }
