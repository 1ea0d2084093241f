package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// blockCase is one block's inputs and a random weighting of its outputs, whose sum is
// the scalar the gradients are taken of.
type blockCase struct {
	batch, inC, side, outC int
	x, w, b, weight        []float32
}

func newBlockCase(rng *rand.Rand, batch, inC, side, outC int) blockCase {
	fill := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * scale)
		}
		return v
	}
	pooled := (side - 4) / 2
	return blockCase{batch: batch, inC: inC, side: side, outC: outC,
		x: fill(batch*inC*side*side, 1), w: fill(outC*inC*25, 0.2), b: fill(outC, 0.3),
		weight: fill(batch*outC*pooled*pooled, 1)}
}

// blockGraph is the case's graph, built with the block under test or with gorgonia's
// own operations; it returns the outputs and the gradients of x, w and b.
func (c blockCase) run(t *testing.T, ours, train bool) (out []float32, grads [3][]float32) {
	t.Helper()
	g := G.NewGraph()
	node := func(shape []int, data []float32, name string) *G.Node {
		v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), data...)))
		return G.NodeFromAny(g, v, G.WithName(name))
	}
	x := node([]int{c.batch, c.inC, c.side, c.side}, c.x, "x")
	w := node([]int{c.outC, c.inC, 5, 5}, c.w, "w")
	var y *G.Node
	var b *G.Node
	var err error
	if ours {
		b = node([]int{c.outC}, c.b, "b")
		y, err = convPoolBlock(x, w, b, train)
	} else {
		b = node([]int{1, c.outC, 1, 1}, c.b, "b")
		y, err = gorgoniaBlock(x, w, b)
	}
	if err != nil {
		t.Fatal(err)
	}
	roots := G.Nodes{y}
	var gradNodes G.Nodes
	if train {
		weighted := G.Must(G.HadamardProd(y, node(y.Shape(), c.weight, "weight")))
		cost := G.Must(G.Sum(weighted))
		if gradNodes, err = G.Grad(cost, x, w, b); err != nil {
			t.Fatal(err)
		}
		roots = append(roots, gradNodes...)
	}
	vm := G.NewTapeMachine(g.ExactSubgraphRoots(roots...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	out = append(out, y.Value().Data().([]float32)...)
	for i, gn := range gradNodes {
		grads[i] = append(grads[i], gn.Value().Data().([]float32)...)
	}
	return out, grads
}

// gorgoniaBlock is the block as gorgonia composes it, which the CNN used before.
func gorgoniaBlock(x, kernel, bias *G.Node) (*G.Node, error) {
	c, err := G.Conv2d(x, kernel, tensor.Shape{5, 5}, []int{0, 0}, []int{1, 1}, []int{1, 1})
	if err != nil {
		return nil, err
	}
	if c, err = G.BroadcastAdd(c, bias, nil, []byte{0, 2, 3}); err != nil {
		return nil, err
	}
	if c, err = G.Rectify(c); err != nil {
		return nil, err
	}
	return G.MaxPool2D(c, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2})
}

func closeTo(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var scale float64
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*math.Max(1, scale) {
			t.Fatalf("%s[%d] = %v, gorgonia gives %v", what, i, got[i], want[i])
		}
	}
}

// The fused block computes what gorgonia's composition computes, forward and backward,
// up to float rounding: on the CNN's two shapes, an odd batch, and an evaluation batch
// larger than one product's chunk.
func TestConvPoolMatchesGorgonia(t *testing.T) {
	cases := []struct {
		batch, inC, side, outC int
		train                  bool
	}{
		{3, 1, 28, 32, true},
		{2, 32, 12, 64, true},
		{1, 2, 9, 3, true},
		{maxInferenceChunk*2 + 5, 1, 28, 4, false},
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%dx%dx%d→%d-train=%t", tc.batch, tc.inC, tc.side, tc.outC, tc.train), func(t *testing.T) {
			c := newBlockCase(rng, tc.batch, tc.inC, tc.side, tc.outC)
			want, wantGrads := c.run(t, false, tc.train)
			got, gotGrads := c.run(t, true, tc.train)
			closeTo(t, "output", got, want)
			for i, name := range []string{"x's gradient", "kernel's gradient", "bias's gradient"} {
				closeTo(t, name, gotGrads[i], wantGrads[i])
			}
			nonzero := 0
			for _, v := range got {
				if v != 0 {
					nonzero++
				}
			}
			if nonzero < len(got)/4 {
				t.Fatalf("only %d of %d outputs are positive: the case does not exercise the block", nonzero, len(got))
			}
		})
	}
}

// The fused dense layer computes what gorgonia's product, broadcast bias and Rectify
// compute, forward and backward, with and without ReLU.
func TestDenseMatchesGorgonia(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	fill := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * scale)
		}
		return v
	}
	for _, tc := range []struct {
		batch, in, out int
		relu           bool
	}{{10, 1024, 512, true}, {10, 512, 10, false}, {3, 7, 5, true}} {
		t.Run(fmt.Sprintf("%dx%d→%d-relu=%t", tc.batch, tc.in, tc.out, tc.relu), func(t *testing.T) {
			x, w, b := fill(tc.batch*tc.in, 1), fill(tc.in*tc.out, 0.05), fill(tc.out, 0.3)
			weight := fill(tc.batch*tc.out, 1)
			// run returns the outputs of a forward pass, or the gradients: the machine
			// reuses an output's buffer once the backward pass no longer needs it.
			run := func(ours, backward bool) (out []float32, grads [3][]float32) {
				g := G.NewGraph()
				node := func(shape []int, data []float32, name string) *G.Node {
					v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), data...)))
					return G.NodeFromAny(g, v, G.WithName(name))
				}
				xn, wn, bn := node([]int{tc.batch, tc.in}, x, "x"), node([]int{tc.in, tc.out}, w, "w"), node([]int{tc.out}, b, "b")
				var y *G.Node
				var err error
				if ours {
					y, err = denseBlock(xn, wn, bn, tc.relu)
				} else if y, err = dense(xn, wn, bn); err == nil && tc.relu {
					y, err = G.Rectify(y)
				}
				if err != nil {
					t.Fatal(err)
				}
				var gradNodes G.Nodes
				if backward {
					cost := G.Must(G.Sum(G.Must(G.HadamardProd(y, node(y.Shape(), weight, "weight")))))
					if gradNodes, err = G.Grad(cost, xn, wn, bn); err != nil {
						t.Fatal(err)
					}
				}
				vm := G.NewTapeMachine(g.ExactSubgraphRoots(append(G.Nodes{y}, gradNodes...)...))
				defer vm.Close()
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				for i, gn := range gradNodes {
					grads[i] = append(grads[i], gn.Value().Data().([]float32)...)
				}
				return append(out, y.Value().Data().([]float32)...), grads
			}
			want, _ := run(false, false)
			got, _ := run(true, false)
			closeTo(t, "output", got, want)
			closeTo(t, "output", got, denseDirect(x, w, b, tc.batch, tc.in, tc.out, tc.relu))
			_, wantGrads := run(false, true)
			_, gotGrads := run(true, true)
			for i, name := range []string{"x's gradient", "kernel's gradient", "bias's gradient"} {
				closeTo(t, name, gotGrads[i], wantGrads[i])
			}
		})
	}
}

func denseDirect(x, w, b []float32, batch, in, out int, relu bool) []float32 {
	y := make([]float32, batch*out)
	for i := range batch {
		for j := range out {
			sum := float64(b[j])
			for k := range in {
				sum += float64(x[i*in+k]) * float64(w[k*out+j])
			}
			if relu && sum < 0 {
				sum = 0
			}
			y[i*out+j] = float32(sum)
		}
	}
	return y
}
