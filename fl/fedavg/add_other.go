//go:build !amd64

package fedavg

func vectorAdd() bool { return false }

func firstNonFinite(x *float32, n int) int { panic("fedavg: no vector loops on this architecture") }

func addWeighted(sum *float64, x *float32, n int, w float64) {
	panic("fedavg: no vector loops on this architecture")
}
