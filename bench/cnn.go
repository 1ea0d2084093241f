package bench

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/fedkeeper/fedkeeper/fl/mnist"
)

// The CNN's geometry (fl/model's conv5x5x32-pool-conv5x5x64-pool-dense512-dense10 on
// 28×28 images; valid convolutions, 2×2 pooling with stride 2).
const (
	kernelSide = 5
	side0      = 28                       // input
	side1      = side0 - kernelSide + 1   // 24: after conv1
	pooled1    = side1 / 2                // 12
	side2      = pooled1 - kernelSide + 1 // 8: after conv2
	pooled2    = side2 / 2                // 4
	channels1  = 32
	channels2  = 64
	flatSize   = channels2 * pooled2 * pooled2 // 1024, the dense layer's input
	denseSize  = 512
	taps       = kernelSide * kernelSide
)

// plainCNN is the CNN baseline: the same layers and flat parameter layout as the
// gorgonia model, written on gonum's blas32 with im2col convolutions, one example's
// convolutions at a time. Activations are kept channel-major (C, H, W), so the flattened
// second pooling output is in the order the model's dense layer expects.
type plainCNN struct {
	batch int
	// Per example: im2col matrices, activations after ReLU, pooling outputs and the
	// index each pooled value came from.
	cols1, conv1, pool1 []float32
	arg1                []int32
	cols2, conv2        []float32
	arg2                []int32
	// Per batch.
	flat, hidden, logits, dz, dhidden, dflat []float32
	// Scratch for one example's backward pass.
	dconv2, dcols2, dpool1, dconv1 []float32
}

func newPlainCNN(batch int) *plainCNN {
	return &plainCNN{batch: batch,
		cols1: make([]float32, batch*taps*side1*side1), conv1: make([]float32, batch*channels1*side1*side1),
		pool1: make([]float32, batch*channels1*pooled1*pooled1), arg1: make([]int32, batch*channels1*pooled1*pooled1),
		cols2: make([]float32, batch*channels1*taps*side2*side2), conv2: make([]float32, batch*channels2*side2*side2),
		arg2: make([]int32, batch*flatSize),
		flat: make([]float32, batch*flatSize), hidden: make([]float32, batch*denseSize),
		logits: make([]float32, batch*classes), dz: make([]float32, batch*classes),
		dhidden: make([]float32, batch*denseSize), dflat: make([]float32, batch*flatSize),
		dconv2: make([]float32, channels2*side2*side2), dcols2: make([]float32, channels1*taps*side2*side2),
		dpool1: make([]float32, channels1*pooled1*pooled1), dconv1: make([]float32, channels1*side1*side1)}
}

// cnnParams views the flat vector (parameters or gradient) as the model's tensors.
type cnnParams struct {
	k1, b1, k2, b2, w3, b3, w4, b4 []float32
}

func splitCNN(v []float32) cnnParams {
	var p cnnParams
	for _, part := range []struct {
		dst  *[]float32
		size int
	}{
		{&p.k1, channels1 * taps}, {&p.b1, channels1},
		{&p.k2, channels2 * channels1 * taps}, {&p.b2, channels2},
		{&p.w3, flatSize * denseSize}, {&p.b3, denseSize},
		{&p.w4, denseSize * classes}, {&p.b4, classes},
	} {
		*part.dst, v = v[:part.size], v[part.size:]
	}
	return p
}

func cnnNumParams() int {
	return channels1*taps + channels1 + channels2*channels1*taps + channels2 + flatSize*denseSize + denseSize + denseSize*classes + classes
}

// im2col lays out every kernel-sized window of in (c channels of side×side) as a
// column: row (channel, ky, kx), column (oy, ox) of the valid output.
func im2col(in []float32, c, side int, cols []float32) {
	out := side - kernelSide + 1
	for ch := range c {
		for ky := range kernelSide {
			for kx := range kernelSide {
				row := cols[((ch*kernelSide+ky)*kernelSide+kx)*out*out:]
				for oy := range out {
					src := in[ch*side*side+(oy+ky)*side+kx:]
					copy(row[oy*out:(oy+1)*out], src[:out])
				}
			}
		}
	}
}

// col2im is im2col's adjoint: it sums each column entry back into the input position it
// was copied from.
func col2im(cols []float32, c, side int, in []float32) {
	clear(in[:c*side*side])
	out := side - kernelSide + 1
	for ch := range c {
		for ky := range kernelSide {
			for kx := range kernelSide {
				row := cols[((ch*kernelSide+ky)*kernelSide+kx)*out*out:]
				for oy := range out {
					dst := in[ch*side*side+(oy+ky)*side+kx:]
					for ox, v := range row[oy*out : (oy+1)*out] {
						dst[ox] += v
					}
				}
			}
		}
	}
}

// maxPool takes the maximum of each 2×2 block of c channels of side×side, recording
// where it came from.
func maxPool(in []float32, c, side int, out []float32, arg []int32) {
	half := side / 2
	for ch := range c {
		for oy := range half {
			for ox := range half {
				best := ch*side*side + 2*oy*side + 2*ox
				for _, i := range [3]int{best + 1, best + side, best + side + 1} {
					if in[i] > in[best] {
						best = i
					}
				}
				o := ch*half*half + oy*half + ox
				out[o], arg[o] = in[best], int32(best)
			}
		}
	}
}

// convReLU computes relu(kernel · cols + bias) for one example: kernel is
// (outC, rows), cols (rows, positions), out (outC, positions).
func convReLU(kernel, bias, cols, out []float32, outC, rows, positions int) {
	for o := range outC {
		for i := range positions {
			out[o*positions+i] = bias[o]
		}
	}
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, general(outC, rows, kernel), general(rows, positions, cols), 1, general(outC, positions, out))
	for i, v := range out[:outC*positions] {
		out[i] = max(v, 0)
	}
}

// step computes the mean loss of one batch and writes its gradient into grad.
func (m *plainCNN) step(params, grad, images []float32, labels []uint8, order []int) float64 {
	b := len(order)
	p, g := splitCNN(params), splitCNN(grad)
	const pos1, pos2 = side1 * side1, side2 * side2
	const rows2 = channels1 * taps

	// Convolutions, one example at a time.
	for e, idx := range order {
		cols1 := m.cols1[e*taps*pos1 : (e+1)*taps*pos1]
		conv1 := m.conv1[e*channels1*pos1 : (e+1)*channels1*pos1]
		pool1 := m.pool1[e*channels1*pooled1*pooled1:]
		im2col(images[idx*mnist.Pixels:(idx+1)*mnist.Pixels], 1, side0, cols1)
		convReLU(p.k1, p.b1, cols1, conv1, channels1, taps, pos1)
		maxPool(conv1, channels1, side1, pool1, m.arg1[e*channels1*pooled1*pooled1:])
		cols2 := m.cols2[e*rows2*pos2 : (e+1)*rows2*pos2]
		conv2 := m.conv2[e*channels2*pos2 : (e+1)*channels2*pos2]
		im2col(pool1, channels1, pooled1, cols2)
		convReLU(p.k2, p.b2, cols2, conv2, channels2, rows2, pos2)
		maxPool(conv2, channels2, side2, m.flat[e*flatSize:], m.arg2[e*flatSize:])
	}

	// Dense layers, the whole batch at once.
	flat, hidden, logits := general(b, flatSize, m.flat[:b*flatSize]), general(b, denseSize, m.hidden[:b*denseSize]), general(b, classes, m.logits[:b*classes])
	for i := range b {
		copy(hidden.Data[i*denseSize:(i+1)*denseSize], p.b3)
		copy(logits.Data[i*classes:(i+1)*classes], p.b4)
	}
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, flat, general(flatSize, denseSize, p.w3), 1, hidden)
	for i, v := range hidden.Data {
		hidden.Data[i] = max(v, 0)
	}
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, hidden, general(denseSize, classes, p.w4), 1, logits)
	loss := softmaxCrossEntropy(m.logits[:b*classes], m.dz[:b*classes], labels, order)

	// Backward through the dense layers.
	dz, dhidden, dflat := general(b, classes, m.dz[:b*classes]), general(b, denseSize, m.dhidden[:b*denseSize]), general(b, flatSize, m.dflat[:b*flatSize])
	blas32.Gemm(blas.Trans, blas.NoTrans, 1, hidden, dz, 0, general(denseSize, classes, g.w4))
	sumRows(dz.Data, b, classes, g.b4)
	blas32.Gemm(blas.NoTrans, blas.Trans, 1, dz, general(denseSize, classes, p.w4), 0, dhidden)
	for i, v := range hidden.Data {
		if v <= 0 {
			dhidden.Data[i] = 0
		}
	}
	sumRows(dhidden.Data, b, denseSize, g.b3)
	blas32.Gemm(blas.Trans, blas.NoTrans, 1, flat, dhidden, 0, general(flatSize, denseSize, g.w3))
	blas32.Gemm(blas.NoTrans, blas.Trans, 1, dhidden, general(flatSize, denseSize, p.w3), 0, dflat)

	// Backward through the convolutions, one example at a time; the kernels' gradients
	// accumulate over the batch.
	clear(g.k1)
	clear(g.b1)
	clear(g.k2)
	clear(g.b2)
	for e := range b {
		conv2 := m.conv2[e*channels2*pos2 : (e+1)*channels2*pos2]
		unpoolReLU(dflat.Data[e*flatSize:(e+1)*flatSize], m.arg2[e*flatSize:(e+1)*flatSize], conv2, m.dconv2)
		addChannelSums(m.dconv2, channels2, pos2, g.b2)
		cols2 := m.cols2[e*rows2*pos2 : (e+1)*rows2*pos2]
		blas32.Gemm(blas.NoTrans, blas.Trans, 1, general(channels2, pos2, m.dconv2), general(rows2, pos2, cols2), 1, general(channels2, rows2, g.k2))
		blas32.Gemm(blas.Trans, blas.NoTrans, 1, general(channels2, rows2, p.k2), general(channels2, pos2, m.dconv2), 0, general(rows2, pos2, m.dcols2))
		col2im(m.dcols2, channels1, pooled1, m.dpool1)

		conv1 := m.conv1[e*channels1*pos1 : (e+1)*channels1*pos1]
		n1 := channels1 * pooled1 * pooled1
		unpoolReLU(m.dpool1, m.arg1[e*n1:(e+1)*n1], conv1, m.dconv1)
		addChannelSums(m.dconv1, channels1, pos1, g.b1)
		cols1 := m.cols1[e*taps*pos1 : (e+1)*taps*pos1]
		blas32.Gemm(blas.NoTrans, blas.Trans, 1, general(channels1, pos1, m.dconv1), general(taps, pos1, cols1), 1, general(channels1, taps, g.k1))
	}
	return loss
}

// unpoolReLU routes each pooled gradient back to the position its maximum came from,
// where the ReLU was active; every other position gets zero.
func unpoolReLU(dpooled []float32, arg []int32, act, dact []float32) {
	clear(dact)
	for i, d := range dpooled {
		if j := arg[i]; act[j] > 0 {
			dact[j] += d
		}
	}
}

func addChannelSums(d []float32, c, positions int, sums []float32) {
	for ch := range c {
		s := float32(0)
		for _, v := range d[ch*positions : (ch+1)*positions] {
			s += v
		}
		sums[ch] += s
	}
}

func sumRows(d []float32, rows, cols int, sums []float32) {
	clear(sums)
	for i := range rows {
		for j := range cols {
			sums[j] += d[i*cols+j]
		}
	}
}
