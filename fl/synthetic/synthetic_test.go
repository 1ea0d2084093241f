package synthetic

import (
	"math"
	"math/big"
	"slices"
	"sort"
	"strings"
	"testing"
)

func mustNew(t *testing.T, s Spec) *Generator {
	t.Helper()
	g, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string // part of the error; "" for a valid spec
	}{
		{"the paper's", Spec{Alpha: 1, Beta: 1, Devices: 30}, ""},
		{"zero alpha and beta", Spec{Devices: 30}, ""},
		{"iid", Spec{IID: true, Devices: 30}, ""},
		{"no devices", Spec{Alpha: 1, Beta: 1}, "devices must be between 1"},
		{"too many devices", Spec{Devices: MaxDevices + 1}, "devices must be between 1"},
		{"negative alpha", Spec{Alpha: -1, Devices: 3}, "alpha must be"},
		{"NaN beta", Spec{Beta: math.NaN(), Devices: 3}, "beta must be"},
		{"infinite alpha", Spec{Alpha: math.Inf(1), Devices: 3}, "alpha must be"},
		{"iid with alpha", Spec{IID: true, Alpha: 1, Devices: 3}, "takes no alpha or beta"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

// The same Spec gives the same bytes, whether a device is generated alone or with all
// the others, and another seed gives other data.
func TestDeterministic(t *testing.T) {
	for _, spec := range []Spec{{Alpha: 1, Beta: 1, Devices: 6, Seed: 7}, {IID: true, Devices: 6, Seed: 7}} {
		t.Run(spec.String(), func(t *testing.T) {
			all, err := mustNew(t, spec).All()
			if err != nil {
				t.Fatal(err)
			}
			for k := range spec.Devices {
				alone, err := mustNew(t, spec).Device(k)
				if err != nil {
					t.Fatal(err)
				}
				if !sameDevice(alone, all[k]) {
					t.Errorf("device %d alone differs from device %d among all", k, k)
				}
			}
			other := spec
			other.Seed++
			d, _ := mustNew(t, other).Device(0)
			if sameDevice(d, all[0]) {
				t.Error("seed+1 gives the same device 0")
			}
		})
	}
}

func sameDevice(a, b Device) bool {
	return slices.Equal(a.Train.Features, b.Train.Features) && slices.Equal(a.Train.Labels, b.Train.Labels) &&
		slices.Equal(a.Test.Features, b.Test.Features) && slices.Equal(a.Test.Labels, b.Test.Labels)
}

func TestDeviceOutOfRange(t *testing.T) {
	g := mustNew(t, Spec{Devices: 3})
	for _, k := range []int{-1, 3} {
		if _, err := g.Device(k); err == nil {
			t.Errorf("device %d: no error", k)
		}
	}
}

// n_k is ⌊LogNormal(4, 2)⌋ + 50: at least 50, its median about e⁴ + 50, and log(n−50)
// spread with a deviation near 2; each device trains on ⌊0.9·n_k⌋ and tests on the rest.
func TestSizes(t *testing.T) {
	g := mustNew(t, Spec{Alpha: 1, Beta: 1, Devices: 20000, Seed: 1})
	sizes := g.Sizes()
	var logs []float64
	for _, n := range sizes {
		if n < 50 || n > MaxSamples {
			t.Fatalf("size %d outside [50, %d]", n, MaxSamples)
		}
		if n > 50 {
			logs = append(logs, math.Log(float64(n-50)))
		}
	}
	sorted := slices.Clone(sizes)
	sort.Ints(sorted)
	if median := sorted[len(sorted)/2] - 50; median < 48 || median > 62 {
		t.Errorf("median n−50 = %d, want about e⁴ ≈ 54.6", median)
	}
	if _, sd := meanSD(logs); sd < 1.8 || sd > 2.1 {
		t.Errorf("deviation of log(n−50) is %.3f, want about 2", sd)
	}
	small := mustNew(t, Spec{Alpha: 1, Beta: 1, Devices: 5, Seed: 1})
	for k, n := range small.Sizes() {
		d, err := small.Device(k)
		if err != nil {
			t.Fatal(err)
		}
		if d.Train.Len() != n*9/10 || d.Train.Len()+d.Test.Len() != n || len(d.Train.Features) != d.Train.Len()*Features {
			t.Errorf("device %d of %d samples: %d train, %d test, %d train features", k, n, d.Train.Len(), d.Test.Len(), len(d.Train.Features))
		}
	}
}

func TestSizeOfADeviate(t *testing.T) {
	tests := []struct {
		z    float64
		want int
	}{
		{-10, 50}, {0, 54 + 50}, {1, 403 + 50}, {100, MaxSamples},
		{(math.Log(MaxSamples-50) - 4) / 2 * 1.0001, MaxSamples},
	}
	for _, tc := range tests {
		if got := size(tc.z); got != tc.want {
			t.Errorf("size(%v) = %d, want %d", tc.z, got, tc.want)
		}
	}
}

func meanSD(xs []float64) (float64, float64) {
	var sum, sq float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	for _, x := range xs {
		sq += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sq / float64(len(xs)-1))
}

// u_k ~ N(0, α) and B_k ~ N(0, β) with α and β standard deviations, v_k ~ N(B_k, 1):
// over many devices, u's deviation is α and the deviation of v_k's mean is
// √(β² + 1/60).
func TestDeviceMeans(t *testing.T) {
	const alpha, beta = 0.5, 2
	g := mustNew(t, Spec{Alpha: alpha, Beta: beta, Devices: 4000, Seed: 3})
	if _, sd := meanSD(g.u); math.Abs(sd-alpha) > 0.03 {
		t.Errorf("deviation of u_k = %.3f, want α = %v", sd, alpha)
	}
	means := make([]float64, len(g.v))
	var within []float64
	for k, v := range g.v {
		m, sd := meanSD(v)
		means[k] = m
		within = append(within, sd)
	}
	if _, sd := meanSD(means); math.Abs(sd-math.Sqrt(beta*beta+1.0/Features)) > 0.1 {
		t.Errorf("deviation of mean(v_k) = %.3f, want √(β²+1/60) = %.3f", sd, math.Sqrt(beta*beta+1.0/Features))
	}
	if m, _ := meanSD(within); math.Abs(m-1) > 0.03 {
		t.Errorf("mean deviation of v_k's elements around B_k = %.3f, want about 1", m)
	}
}

// bigDevice finds a device of spec with at least n samples (trying seeds in turn).
func bigDevice(t *testing.T, spec Spec, n int) (*Generator, int) {
	t.Helper()
	for seed := uint64(1); seed < 100; seed++ {
		spec.Seed = seed
		g := mustNew(t, spec)
		for k, size := range g.sizes {
			if size >= n && size <= 4*n {
				return g, k
			}
		}
	}
	t.Fatalf("no device of %v with %d samples in 100 seeds", spec, n)
	return nil, 0
}

// Inputs are N(v_k, diag(j^-1.2)): feature j's mean is v_kj (zero for IID) and its
// variance j^-1.2.
func TestInputs(t *testing.T) {
	for _, spec := range []Spec{{Alpha: 1, Beta: 1, Devices: 30}, {IID: true, Devices: 30}} {
		t.Run(spec.String(), func(t *testing.T) {
			g, k := bigDevice(t, spec, 5000)
			d, err := g.Device(k)
			if err != nil {
				t.Fatal(err)
			}
			x := append(slices.Clone(d.Train.Features), d.Test.Features...)
			n := len(x) / Features
			for j := range Features {
				col := make([]float64, n)
				for i := range col {
					col[i] = float64(x[i*Features+j])
				}
				mean, sd := meanSD(col)
				want := 0.0
				if !spec.IID {
					want = g.v[k][j]
				}
				wantSD := math.Pow(float64(j+1), -0.6)
				if math.Abs(mean-want) > 5*wantSD/math.Sqrt(float64(n)) {
					t.Errorf("feature %d: mean %.4f, want %.4f", j+1, mean, want)
				}
				if math.Abs(sd/wantSD-1) > 0.06 {
					t.Errorf("feature %d: deviation %.4f, want %.4f", j+1, sd, wantSD)
				}
			}
		})
	}
}

// Labels are argmax(x·W_k + b_k), W_k and b_k drawn around u_k (around zero, shared,
// for IID): the model itself labels every example as the data says, and a device's
// model differs from another's even with α = β = 0.
func TestLabels(t *testing.T) {
	spec := Spec{Devices: 4, Seed: 11} // Synthetic(0, 0): still a model per device
	g := mustNew(t, spec)
	models := make([]model, spec.Devices)
	for k := range models {
		models[k] = g.modelOf(k)
		d, err := g.Device(k)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []Split{d.Train, d.Test} {
			for i := range s.Len() {
				x := s.Features[i*Features : (i+1)*Features]
				if want := models[k].argmaxPlain(x); s.Labels[i] != want {
					t.Fatalf("device %d example %d: label %d, the device's model says %d", k, i, s.Labels[i], want)
				}
			}
		}
	}
	if slices.Equal(models[0].w, models[1].w) {
		t.Error("devices 0 and 1 share a model under Synthetic(0, 0)")
	}
	iid := mustNew(t, Spec{IID: true, Devices: 4, Seed: 11})
	if !slices.Equal(iid.modelOf(0).w, iid.modelOf(3).w) {
		t.Error("IID devices have models of their own")
	}
}

// modelOf replays device k's model draws, the first of its stream.
func (g *Generator) modelOf(k int) model {
	if g.spec.IID {
		return g.shared
	}
	return drawModel(newDeviceRand(g.seeds[k]), g.u[k])
}

// argmaxPlain is argmax(x·W + b) written the obvious way, to check label against.
func (m model) argmaxPlain(x []float32) uint8 {
	best, bestV := 0, math.Inf(-1)
	for c := range Classes {
		v := 0.0
		for j := range Features {
			v += float64(float64(x[j]) * m.w[j*Classes+c])
		}
		if v += m.b[c]; v > bestV {
			best, bestV = c, v
		}
	}
	return uint8(best)
}

// The input scales are the nearest float64s to j^-0.6: 1 and 1/8 exactly, and each
// bracketed by its neighbours' midpoints, checked here with exact rationals.
func TestInputScales(t *testing.T) {
	s := InputScales()
	if s[0] != 1 || s[31] != 0.125 {
		t.Errorf("1^-0.6 = %v, 32^-0.6 = %v; want 1 and 0.125", s[0], s[31])
	}
	for i, d := range s {
		j := i + 1
		if ulps := math.Abs(d-math.Pow(float64(j), -0.6)) / (math.Nextafter(d, 2) - d); ulps > 4 {
			t.Errorf("j=%d: %v is %.0f ulps from math.Pow", j, d, ulps)
		}
		lo, hi := ratMid(math.Nextafter(d, 0), d), ratMid(d, math.Nextafter(d, 2))
		if !(ratBelowRoot(j, lo) && !ratBelowRoot(j, hi)) {
			t.Errorf("j=%d: %v is not the float64 nearest to j^-0.6", j, d)
		}
	}
}

func ratMid(a, b float64) *big.Rat {
	m := new(big.Rat).SetFloat64(a)
	m.Add(m, new(big.Rat).SetFloat64(b))
	return m.Quo(m, big.NewRat(2, 1))
}

func ratBelowRoot(j int, m *big.Rat) bool {
	p := big.NewRat(1, 1)
	for range 5 {
		p.Mul(p, m)
	}
	p.Mul(p, big.NewRat(int64(j*j*j), 1))
	return p.Cmp(big.NewRat(1, 1)) < 0
}
