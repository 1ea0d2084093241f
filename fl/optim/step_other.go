//go:build !amd64

package optim

func vectorSteps() bool { return false }

func adamSteps(p, grad, m, v *float32, n int, c *adamConsts) { panic("optim: no vector steps here") }

func sgdSteps(p, grad *float32, n int, lr float32) { panic("optim: no vector steps here") }
