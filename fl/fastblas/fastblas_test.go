package fastblas

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// operands are one Sgemm call's matrices, with a stride wider than the matrix where
// pad is set, so that values a wrong index would touch are there to be caught.
type operands struct {
	a, b, c       []float32
	lda, ldb, ldc int
}

// smallIntegers fills a matrix with integers in [-4, 4]: every product and every sum
// of up to a million of them is exact in float32, so a correct kernel matches gonum
// bit for bit whatever the rounding, and a wrong index cannot hide in a tolerance.
func newOperands(rng *rand.Rand, tA, tB blas.Transpose, m, n, k, pad int) operands {
	aRows, aCols := m, k
	if tA == blas.Trans {
		aRows, aCols = k, m
	}
	bRows, bCols := k, n
	if tB == blas.Trans {
		bRows, bCols = n, k
	}
	fill := func(rows, cols, ld int) []float32 {
		v := make([]float32, max(0, (rows-1)*ld+cols))
		for i := range v {
			v[i] = float32(rng.IntN(9) - 4)
		}
		return v
	}
	o := operands{lda: max(1, aCols+pad), ldb: max(1, bCols+pad), ldc: max(1, n+pad)}
	o.a, o.b, o.c = fill(aRows, aCols, o.lda), fill(bRows, bCols, o.ldb), fill(m, n, o.ldc)
	return o
}

func TestSgemmMatchesGonum(t *testing.T) {
	if !hasKernel() {
		t.Fatal("this CPU lacks AVX2 or FMA, so the kernel cannot be tested here")
	}
	shapes := []struct{ m, n, k int }{
		{1, 1, 1}, {6, 16, 1}, {6, 16, 7}, {5, 15, 3}, {7, 17, 9}, {12, 32, 256}, {13, 33, 257},
		{10, 500, 784}, {784, 500, 10}, {500, 10, 10}, {10, 10, 500}, {640, 64, 800}, {64, 800, 640},
		{3, 40, 600}, {100, 1, 30}, {1, 100, 30},
	}
	scalars := []struct{ alpha, beta float32 }{{1, 0}, {1, 1}, {2, -1}, {-3, 0.5}, {0, 2}}
	rng := rand.New(rand.NewPCG(1, 2))
	fast, ref := New(), gonum.Implementation{}
	for _, s := range shapes {
		for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				for i, sc := range scalars {
					pad := i % 2 * 3
					name := fmt.Sprintf("%c%c/%dx%dx%d/alpha%v-beta%v-pad%d", tA, tB, s.m, s.n, s.k, sc.alpha, sc.beta, pad)
					o := newOperands(rng, tA, tB, s.m, s.n, s.k, pad)
					want := slices.Clone(o.c)
					ref.Sgemm(tA, tB, s.m, s.n, s.k, sc.alpha, o.a, o.lda, o.b, o.ldb, sc.beta, want, o.ldc)
					fast.Sgemm(tA, tB, s.m, s.n, s.k, sc.alpha, o.a, o.lda, o.b, o.ldb, sc.beta, o.c, o.ldc)
					if i := firstDifference(o.c, want); i >= 0 {
						t.Fatalf("%s: C[%d] = %v, gonum gives %v", name, i, o.c[i], want[i])
					}
				}
			}
		}
	}
}

func firstDifference(got, want []float32) int {
	for i := range want {
		if got[i] != want[i] {
			return i
		}
	}
	return -1
}

// A fused multiply-add rounds once: on values where gonum's separate multiply and add
// round twice, the kernel's result is the nearer one, proof that the kernel ran.
func TestSgemmFusesMultiplyAdd(t *testing.T) {
	// The first step leaves −(1 + 2⁻¹¹); the second adds (1+2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴,
	// which leaves 2⁻²⁴ when fused, and 0 when the product is first rounded to
	// float32's 24 bits (2⁻²⁴ is half a unit there, and the tie goes to even).
	x := float32(1 + 1.0/4096)
	a, b := []float32{-1, x}, []float32{float32(1 + 1.0/2048), x}
	c := []float32{0}
	New().Sgemm(blas.NoTrans, blas.NoTrans, 1, 1, 2, 1, a, 2, b, 1, 0, c, 1)
	if want := float32(1.0 / (1 << 24)); c[0] != want {
		t.Fatalf("got %g, a fused multiply-add gives %g", c[0], want)
	}
	Gonum().Sgemm(blas.NoTrans, blas.NoTrans, 1, 1, 2, 1, a, 2, b, 1, 0, c, 1)
	if c[0] != 0 {
		t.Fatalf("gonum's Sgemm gives %g, want the twice-rounded 0", c[0])
	}
}

// The kernel reads and writes memory unchecked, so every call is checked first: a
// slice too short for the dimensions it claims panics instead of reaching past it.
func TestSgemmRefusesShortOperands(t *testing.T) {
	cases := []struct {
		name          string
		m, n, k       int
		la, lb, lc    int
		lda, ldb, ldc int
		want          string
	}{
		{"short A", 6, 16, 8, 47, 128, 96, 8, 16, 16, "A holds 47 values"},
		{"short B", 6, 16, 8, 48, 127, 96, 8, 16, 16, "B holds 127 values"},
		{"short C", 6, 16, 8, 48, 128, 95, 8, 16, 16, "C holds 95 values"},
		{"narrow stride", 6, 16, 8, 48, 128, 96, 7, 16, 16, "leading dimension of A is 7"},
		{"negative", -1, 16, 8, 48, 128, 96, 8, 16, 16, "negative dimension"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Fatalf("panic %v, want one saying %q", r, tc.want)
				}
			}()
			New().Sgemm(blas.NoTrans, blas.NoTrans, tc.m, tc.n, tc.k, 1,
				make([]float32, tc.la), tc.lda, make([]float32, tc.lb), tc.ldb, 0, make([]float32, tc.lc), tc.ldc)
		})
	}
}

// Training calls Sgemm thousands of times a second; once its workspace is warm a call
// allocates nothing.
func TestSgemmAllocatesNothingWarm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	o := newOperands(rng, blas.NoTrans, blas.Trans, 10, 500, 784, 0)
	fast := New()
	call := func() {
		fast.Sgemm(blas.NoTrans, blas.Trans, 10, 500, 784, 1, o.a, o.lda, o.b, o.ldb, 0, o.c, o.ldc)
	}
	call()
	if n := testing.AllocsPerRun(20, call); n > 0 {
		t.Fatalf("%v allocations per warm call", n)
	}
}

func BenchmarkSgemm(b *testing.B) {
	shapes := []struct {
		tA, tB  blas.Transpose
		m, n, k int
	}{
		{blas.NoTrans, blas.NoTrans, 10, 500, 784},
		{blas.Trans, blas.NoTrans, 784, 500, 10},
		{blas.NoTrans, blas.Trans, 640, 64, 800},
		{blas.Trans, blas.NoTrans, 64, 800, 640},
		{blas.NoTrans, blas.NoTrans, 640, 800, 64},
		{blas.NoTrans, blas.Trans, 10, 1024, 512},
		{blas.NoTrans, blas.Trans, 64, 800, 640},
	}
	for _, s := range shapes {
		for _, impl := range []struct {
			name string
			b    blas.Float32
		}{{"fastblas", New()}, {"gonum", Gonum()}} {
			b.Run(fmt.Sprintf("%c%c-%dx%dx%d/%s", s.tA, s.tB, s.m, s.n, s.k, impl.name), func(b *testing.B) {
				o := newOperands(rand.New(rand.NewPCG(5, 6)), s.tA, s.tB, s.m, s.n, s.k, 0)
				for b.Loop() {
					impl.b.Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, o.a, o.lda, o.b, o.ldb, 0, o.c, o.ldc)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
