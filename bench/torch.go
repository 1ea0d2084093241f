package bench

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fedkeeper/fedkeeper/fl/model"
)

//go:embed torch_training.py
var torchScript []byte

// Torch is where the PyTorch baseline runs: an interpreter that imports torch, the
// Python SDK (its build_model is the seed's models in PyTorch) and a scratch folder.
type Torch struct {
	Python string // /usr/bin/python3 (fabric/python.DefaultInterpreter)
	SDK    string // the folder holding the fedkeeper package (the repository's python/)
	Dir    string
}

// torchRun is the baseline's process, which trains one pass per line it reads. With
// torch missing it is inert and missing says why.
type torchRun struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Scanner
	missing string
}

// start writes the examples where the script reads them and starts it for spec.
func (t Torch) start(ctx context.Context, spec model.Spec, images []float32, labels []uint8, batch int, lr float64) (*torchRun, error) {
	if err := exec.CommandContext(ctx, t.Python, "-c", "import torch, numpy").Run(); err != nil {
		return &torchRun{missing: fmt.Sprintf("%s cannot import torch and numpy (tools/deps.sh installs python3-torch, python3-numpy and libopenblas0-pthread)", t.Python)}, nil
	}
	script, imagesPath, labelsPath := filepath.Join(t.Dir, "torch_training.py"), filepath.Join(t.Dir, "images.f32"), filepath.Join(t.Dir, "labels.u8")
	if err := writeExamples(script, imagesPath, labelsPath, images, labels); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, t.Python, script, string(spec.Kind), strconv.Itoa(spec.Hidden), imagesPath, labelsPath,
		strconv.Itoa(batch), strconv.FormatFloat(lr, 'g', -1, 64))
	// One thread of computation, as the fabric gives Python functions.
	cmd.Env = append(os.Environ(), "PYTHONPATH="+t.SDK, "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start the PyTorch baseline: %w", err)
	}
	run := &torchRun{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	var ready struct {
		Ready   bool `json:"ready"`
		Threads int  `json:"threads"`
	}
	if err := run.read(&ready); err != nil || !ready.Ready || ready.Threads != 1 {
		run.close()
		return nil, fmt.Errorf("bench: the PyTorch baseline did not start on one thread (%+v): %v", ready, err)
	}
	return run, nil
}

func writeExamples(script, imagesPath, labelsPath string, images []float32, labels []uint8) error {
	raw := make([]byte, 4*len(images))
	for i, v := range images {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	for path, data := range map[string][]byte{script: torchScript, imagesPath: raw, labelsPath: labels} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	return nil
}

// pass trains one pass and returns its samples per second (0 when torch is missing).
func (r *torchRun) pass(ctx context.Context) (float64, error) {
	if r.missing != "" {
		return 0, nil
	}
	if _, err := io.WriteString(r.in, "pass\n"); err != nil {
		return 0, fmt.Errorf("bench: PyTorch baseline: %w", err)
	}
	var res struct {
		Seconds float64 `json:"seconds"`
		Samples int     `json:"samples"`
	}
	if err := r.read(&res); err != nil {
		return 0, err
	}
	if res.Seconds <= 0 || res.Samples <= 0 {
		return 0, fmt.Errorf("bench: PyTorch baseline reported %+v", res)
	}
	return float64(res.Samples) / res.Seconds, ctx.Err()
}

func (r *torchRun) read(v any) error {
	if !r.out.Scan() {
		if err := r.out.Err(); err != nil {
			return fmt.Errorf("bench: PyTorch baseline: %w", err)
		}
		return fmt.Errorf("bench: the PyTorch baseline stopped (its error is above)")
	}
	line := r.out.Text()
	if err := json.Unmarshal([]byte(line), v); err != nil {
		return fmt.Errorf("bench: PyTorch baseline said %q: %w", strings.TrimSpace(line), err)
	}
	return nil
}

func (r *torchRun) close() {
	if r.cmd == nil {
		return
	}
	r.in.Close()
	r.cmd.Wait()
}
