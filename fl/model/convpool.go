package model

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convPool is one block of the CNN as a single computation: a valid convolution with
// stride 1 over NCHW images, its bias, ReLU and 2×2 max pooling. Gorgonia's own blocks
// (Im2Col, a product, a transpose back to NCHW, a broadcast bias, Rectify, MaxPool2D
// and the gradient of each) spend most of the CNN's time moving data between layouts
// and allocating; here the patches are laid out so that the product writes channels
// in rows (NCHW order, no transpose), the pooling runs on the product's output, and the
// gradient reuses the forward pass's patches. Every buffer is allocated once.
//
// The block's operations (convPoolOp and its gradients) share it; a block belongs to
// one graph, which one goroutine runs. Results equal gorgonia's up to float rounding:
// the sums are the same products in another order.
type convPool struct {
	batch, inC, inH, inW int
	outC, kh, kw         int
	convH, convW         int // the convolution's output
	poolH, poolW         int
	train                bool // keep the patches and the pooling's choices for the gradient
	chunk                int  // images per product: the whole batch when training
	vector               bool // pool eight windows at a time (AVX2)
	gemm                 blas.Float32

	col  []float32 // patches: row (c, i, j) holds x[c][oh+i][ow+j] for every (image, oh, ow) of a chunk
	pre  []float32 // the convolution: row o holds channel o for every (image, oh, ow) of a chunk
	arg  []int32   // per pooled output (NCHW): its maximum's index in pre, or −1 where ReLU gave 0
	dCol []float32

	out, dPre, dW, dB, dX *tensor.Dense
}

// maxInferenceChunk bounds the patches of an evaluation batch (500 images would need
// 100 MB for the second block); 32 images keep the product's shape efficient.
const maxInferenceChunk = 32

func newConvPool(x, kernel *G.Node, train bool) (*convPool, error) {
	xs, ks := x.Shape(), kernel.Shape()
	if xs.Dims() != 4 || ks.Dims() != 4 || xs[1] != ks[1] {
		return nil, fmt.Errorf("model: convolution of %v by %v", xs, ks)
	}
	p := &convPool{batch: xs[0], inC: xs[1], inH: xs[2], inW: xs[3], outC: ks[0], kh: ks[2], kw: ks[3], train: train,
		gemm: G.WhichBLAS(), vector: vectorRuns()}
	p.convH, p.convW = p.inH-p.kh+1, p.inW-p.kw+1
	p.poolH, p.poolW = p.convH/2, p.convW/2
	if p.poolH < 1 || p.poolW < 1 {
		return nil, fmt.Errorf("model: a %dx%d kernel leaves nothing to pool in %dx%d images", p.kh, p.kw, p.inH, p.inW)
	}
	p.chunk = p.batch
	if !train {
		p.chunk = min(p.batch, maxInferenceChunk)
	}
	return p, nil
}

// convPoolBlock applies the block to x with kernel (out, in, kh, kw) and bias (out).
func convPoolBlock(x, kernel, bias *G.Node, train bool) (*G.Node, error) {
	p, err := newConvPool(x, kernel, train)
	if err != nil {
		return nil, err
	}
	if bs := bias.Shape(); bs.TotalSize() != p.outC {
		return nil, fmt.Errorf("model: bias of shape %v for %d channels", bs, p.outC)
	}
	return G.ApplyOp(convPoolOp{p.op("")}, x, kernel, bias)
}

func (p *convPool) kSize() int     { return p.inC * p.kh * p.kw }
func (p *convPool) convSize() int  { return p.convH * p.convW }
func (p *convPool) pooledLen() int { return p.batch * p.outC * p.poolH * p.poolW }

// forward computes the block on x with the kernel w (outC × kSize) and bias b.
func (p *convPool) forward(x, w, b []float32) *tensor.Dense {
	if p.out == nil {
		cols := p.chunk * p.convSize()
		p.col, p.pre = make([]float32, p.kSize()*cols), make([]float32, p.outC*cols)
		p.out = tensor.New(tensor.WithShape(p.batch, p.outC, p.poolH, p.poolW), tensor.Of(tensor.Float32))
		if p.train {
			p.arg = make([]int32, p.pooledLen())
		}
	}
	out := p.out.Data().([]float32)
	for b0 := 0; b0 < p.batch; b0 += p.chunk {
		n := min(p.chunk, p.batch-b0)
		cols := n * p.convSize()
		p.im2col(x, b0, n)
		p.gemm.Sgemm(blas.NoTrans, blas.NoTrans, p.outC, cols, p.kSize(), 1, w, p.kSize(), p.col, cols, 0, p.pre, cols)
		p.pool(b, out, b0, n)
	}
	return p.out
}

// im2col lays out the patches of images b0..b0+n: patch row (c, i, j) is, for every
// image and output position, the pixel the kernel's (c, i, j) tap sees there.
func (p *convPool) im2col(x []float32, b0, n int) {
	cols, plane := n*p.convSize(), p.inH*p.inW
	rows := newStrided(p.convW, p.convH, p.convW, p.inW)
	for c := range p.inC {
		for i := range p.kh {
			for j := range p.kw {
				row := p.col[((c*p.kh+i)*p.kw+j)*cols:][:cols]
				for img := range n {
					rows.copy(row[img*p.convSize():], x[((b0+img)*p.inC+c)*plane+i*p.inW+j:])
				}
			}
		}
	}
}

// pool adds the bias to each 2×2 window's maximum and applies ReLU (the maximum of the
// rectified values is the rectified maximum, and adding the same bias keeps the order),
// remembering for the gradient which input won.
func (p *convPool) pool(bias, out []float32, b0, n int) {
	cols, size := n*p.convSize(), p.poolH*p.poolW
	for o := range p.outC {
		for img := range n {
			at := o*cols + img*p.convSize()
			first := ((b0+img)*p.outC + o) * size
			for ph := range p.poolH {
				row := at + 2*ph*p.convW
				dst := out[first+ph*p.poolW:][:p.poolW]
				var won []int32
				if p.train {
					won = p.arg[first+ph*p.poolW:][:p.poolW]
				}
				p.poolRow(row, bias[o], dst, won)
			}
		}
	}
}

// poolRow pools the two rows of pre starting at row into dst; won (nil when
// inferring) gets each window's winner, or −1 where ReLU gave 0. Eight windows at a
// time go through the vector loop where the row has eight; a last partial group is
// recomputed overlapping the one before (the same windows give the same values).
func (p *convPool) poolRow(row int, bias float32, dst []float32, won []int32) {
	top, bottom := p.pre[row:][:2*len(dst)], p.pre[row+p.convW:][:2*len(dst)]
	if !p.vector || len(dst) < 8 {
		p.poolWindows(row, top, bottom, bias, dst, won, 0)
		return
	}
	for i := 0; i < len(dst); i += 8 {
		i = min(i, len(dst)-8)
		var w *int32
		if won != nil {
			w = &won[i]
		}
		pool8(&top[2*i], &bottom[2*i], bias, &dst[i], w, int32(row+2*i), int32(p.convW))
	}
}

// poolWindows is poolRow's plain loop, from window first on.
func (p *convPool) poolWindows(row int, top, bottom []float32, bias float32, dst []float32, won []int32, first int) {
	for i := first; i < len(dst); i++ {
		best, at := windowMax(top[2*i], top[2*i+1], bottom[2*i], bottom[2*i+1])
		v := best + bias
		winner := int32(row + 2*i + at%2 + at/2*p.convW)
		if !(v > 0) {
			v, winner = 0, -1
		}
		dst[i] = v
		if won != nil {
			won[i] = winner
		}
	}
}

// windowMax is the largest of a window's four values (top left, top right, bottom
// left, bottom right) and its place, the first in that order on a tie, as PyTorch and
// gorgonia choose.
func windowMax(a, b, c, d float32) (float32, int) {
	best, at := a, 0
	if b > best {
		best, at = b, 1
	}
	if c > best {
		best, at = c, 2
	}
	if d > best {
		best, at = d, 3
	}
	return best, at
}

// gradPre spreads the gradient of the pooled outputs to the convolution's outputs that
// won their windows (zero elsewhere, and where ReLU cut).
func (p *convPool) gradPre(dOut []float32) *tensor.Dense {
	if p.dPre == nil {
		p.dPre = tensor.New(tensor.WithShape(p.outC, p.batch*p.convSize()), tensor.Of(tensor.Float32))
	}
	d := p.dPre.Data().([]float32)
	clear(d)
	for i, won := range p.arg {
		if won >= 0 {
			d[won] = dOut[i]
		}
	}
	return p.dPre
}

// gradKernel is dPre · patchesᵀ, in the kernel's layout.
func (p *convPool) gradKernel(dPre []float32) *tensor.Dense {
	if p.dW == nil {
		p.dW = tensor.New(tensor.WithShape(p.outC, p.inC, p.kh, p.kw), tensor.Of(tensor.Float32))
	}
	cols := p.batch * p.convSize()
	p.gemm.Sgemm(blas.NoTrans, blas.Trans, p.outC, p.kSize(), cols, 1, dPre, cols, p.col, cols, 0, p.dW.Data().([]float32), p.kSize())
	return p.dW
}

// gradBias sums each channel's gradient over the batch and positions, from the
// pooling's winners (every other entry of the convolution's gradient is zero).
func (p *convPool) gradBias(dOut []float32) *tensor.Dense {
	if p.dB == nil {
		p.dB = tensor.New(tensor.WithShape(p.outC), tensor.Of(tensor.Float32))
	}
	db := p.dB.Data().([]float32)
	clear(db)
	size := p.poolH * p.poolW
	for plane := range p.batch * p.outC {
		var sum float32
		for i, won := range p.arg[plane*size : (plane+1)*size] {
			if won >= 0 {
				sum += dOut[plane*size+i]
			}
		}
		db[plane%p.outC] += sum
	}
	return p.dB
}

// gradInput is the gradient of the block's input: wᵀ · dPre gives each patch tap's
// gradient, which col2im adds back onto the pixel the tap read.
func (p *convPool) gradInput(dPre, w []float32) *tensor.Dense {
	cols := p.batch * p.convSize()
	if p.dX == nil {
		p.dX = tensor.New(tensor.WithShape(p.batch, p.inC, p.inH, p.inW), tensor.Of(tensor.Float32))
		p.dCol = make([]float32, p.kSize()*cols)
	}
	p.gemm.Sgemm(blas.Trans, blas.NoTrans, p.kSize(), cols, p.outC, 1, w, p.kSize(), dPre, cols, 0, p.dCol, cols)
	dx := p.dX.Data().([]float32)
	clear(dx)
	plane := p.inH * p.inW
	rows := newStrided(p.convW, p.convH, p.inW, p.convW)
	for c := range p.inC {
		for i := range p.kh {
			for j := range p.kw {
				row := p.dCol[((c*p.kh+i)*p.kw+j)*cols:][:cols]
				for img := range p.batch {
					rows.add(dx[(img*p.inC+c)*plane+i*p.inW+j:], row[img*p.convSize():])
				}
			}
		}
	}
	return p.dX
}
