// Package fastblas is the BLAS the models train with: gonum's pure-Go implementation,
// with single-precision matrix multiplication (Sgemm) done by a kernel in AVX2 and FMA
// assembly wherever the CPU has both. Training spends most of its time in Sgemm, and
// gonum's runs four lanes at a time with a separate multiply and add; the kernel runs
// eight lanes with the two fused, on a 6×16 tile of the result held in registers.
//
// Results differ from gonum's by float rounding only: a fused multiply-add rounds once
// where gonum rounds twice, the products of each output are summed in the same order,
// and depths above 256 are summed in blocks of 256 that are then added. An alpha other
// than 1 is applied to A's values before the products, not to the sums.
package fastblas

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// The kernel's tile and the depth of one pass: a 256-step strip of sixteen columns of
// B is 16 KiB, so it stays in the L1 cache while every row panel of A passes over it.
const (
	tileRows = 6
	tileCols = 16
	maxDepth = 256
)

// BLAS is gonum's BLAS with the kernel's Sgemm. Its zero value is not ready; use New.
type BLAS struct {
	gonum.Implementation
	kernel bool
	// spaces keeps the workspaces of finished calls for the next (as many as run at
	// once, up to its capacity). Not a sync.Pool: that drops them at every garbage
	// collection, and training would allocate megabytes again after each.
	spaces chan *workspace
}

// keptWorkspaces bounds the workspaces kept: one per concurrent caller, and a
// training process has one.
const keptWorkspaces = 8

// New returns the BLAS for this CPU: the kernel where it has AVX2 and FMA, gonum's
// Sgemm elsewhere.
func New() *BLAS { return newBLAS(hasKernel()) }

// Gonum returns the same type with gonum's own Sgemm, the baseline New is compared to.
func Gonum() *BLAS { return newBLAS(false) }

func newBLAS(kernel bool) *BLAS {
	return &BLAS{kernel: kernel, spaces: make(chan *workspace, keptWorkspaces)}
}

// Accelerated reports whether Sgemm runs the AVX2 and FMA kernel.
func (s *BLAS) Accelerated() bool { return s.kernel }

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where op(A) is
// m×k and op(B) is k×n; it panics on bad arguments as gonum's does.
func (s *BLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !s.kernel {
		s.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	g := gemm{transA: tA != blas.NoTrans, transB: tB != blas.NoTrans, m: m, n: n, k: k,
		alpha: alpha, beta: beta, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc}
	if err := g.check(tA, tB); err != nil {
		panic(err)
	}
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		g.scaleC(beta)
		return
	}
	ws := s.workspace()
	g.run(ws)
	select {
	case s.spaces <- ws:
	default: // as many are kept as the channel holds
	}
}

// workspace is a kept one, or a new one when none is free.
func (s *BLAS) workspace() *workspace {
	select {
	case ws := <-s.spaces:
		return ws
	default:
		return new(workspace)
	}
}

// gemm is one call's operands.
type gemm struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	c              []float32
	ldc            int
}

// check validates the arguments before the kernel reads or writes any address.
func (g *gemm) check(tA, tB blas.Transpose) error {
	for _, t := range []blas.Transpose{tA, tB} {
		if t != blas.NoTrans && t != blas.Trans && t != blas.ConjTrans {
			return fmt.Errorf("fastblas: bad transpose %q", rune(t))
		}
	}
	if g.m < 0 || g.n < 0 || g.k < 0 {
		return fmt.Errorf("fastblas: negative dimension m=%d n=%d k=%d", g.m, g.n, g.k)
	}
	aRows, aCols := g.m, g.k
	if g.transA {
		aRows, aCols = g.k, g.m
	}
	bRows, bCols := g.k, g.n
	if g.transB {
		bRows, bCols = g.n, g.k
	}
	if err := checkMatrix("A", aRows, aCols, g.lda, len(g.a)); err != nil {
		return err
	}
	if err := checkMatrix("B", bRows, bCols, g.ldb, len(g.b)); err != nil {
		return err
	}
	return checkMatrix("C", g.m, g.n, g.ldc, len(g.c))
}

// checkMatrix validates a stored rows×cols matrix with leading dimension ld.
func checkMatrix(name string, rows, cols, ld, length int) error {
	if ld < max(1, cols) {
		return fmt.Errorf("fastblas: leading dimension of %s is %d, below its %d columns", name, ld, cols)
	}
	if rows == 0 || cols == 0 {
		return nil
	}
	if need := (rows-1)*ld + cols; length < need {
		return fmt.Errorf("fastblas: %s holds %d values, a %d×%d matrix with stride %d needs %d", name, length, rows, cols, ld, need)
	}
	return nil
}

// scaleC sets C to beta·C, the whole result when alpha or k is zero.
func (g *gemm) scaleC(beta float32) {
	for i := range g.m {
		row := g.c[i*g.ldc : i*g.ldc+g.n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// run multiplies in passes of at most maxDepth steps. The first pass replaces C when
// beta is zero; every other pass adds to it.
func (g *gemm) run(ws *workspace) {
	if g.beta != 0 && g.beta != 1 {
		g.scaleC(g.beta)
		g.beta = 1
	}
	for k0 := 0; k0 < g.k; k0 += maxDepth {
		depth := min(maxDepth, g.k-k0)
		add := g.beta == 1 || k0 > 0
		ws.packA(g, k0, depth)
		if g.transB {
			ws.packB(g, k0, depth)
		}
		for j0 := 0; j0 < g.n; j0 += tileCols {
			g.strip(ws, k0, depth, j0, add)
		}
	}
}

// strip computes columns j0..j0+16 of C for one pass, a kernel call per row panel.
// Tiles that C cannot hold whole (its last rows or columns) go through ws.tile.
func (g *gemm) strip(ws *workspace, k0, depth, j0 int, add bool) {
	cols := min(tileCols, g.n-j0)
	b, ldb := ws.stripOfB(g, k0, depth, j0, cols)
	addFlag := 0
	if add {
		addFlag = 1
	}
	for p, i0 := 0, 0; i0 < g.m; p, i0 = p+1, i0+tileRows {
		rows := min(tileRows, g.m-i0)
		a := &ws.a[p*depth*tileRows]
		if rows == tileRows && cols == tileCols {
			kernel6x16(depth, a, b, ldb, &g.c[i0*g.ldc+j0], g.ldc, addFlag)
			continue
		}
		kernel6x16(depth, a, b, ldb, &ws.tile[0], tileCols, 0)
		g.addTile(ws, i0, j0, rows, cols, add)
	}
}

// addTile moves the valid rows×cols corner of ws.tile into C at (i0, j0).
func (g *gemm) addTile(ws *workspace, i0, j0, rows, cols int, add bool) {
	for r := range rows {
		dst := g.c[(i0+r)*g.ldc+j0 : (i0+r)*g.ldc+j0+cols]
		src := ws.tile[r*tileCols : r*tileCols+cols]
		if !add {
			copy(dst, src)
			continue
		}
		for j, v := range src {
			dst[j] += v
		}
	}
}
