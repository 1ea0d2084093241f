package sdk_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/sdk"
	"github.com/fedkeeper/fedkeeper/weights"
)

// syntheticVectors pin the synthetic data every SDK generates from a Spec
// (testdata/protocol/synthetic.json): Σ^½'s diagonal, every device's size and, for
// some devices, their examples (checksums of the float32 features, the labels, the
// first example in full), the mclr layout and initial values, and a sealed task.
type syntheticVectors struct {
	InputScales []float64         `json:"input_scales"`
	Manifest    []sdk.Param       `json:"mclr_manifest"`
	Init        []float32         `json:"mclr_init_seed_7"`
	Request     json.RawMessage   `json:"request"`
	Task        string            `json:"task"`
	Datasets    []syntheticVector `json:"datasets"`
}

type syntheticVector struct {
	Name    string         `json:"name"`
	Spec    synthetic.Spec `json:"spec"`
	Sizes   []int          `json:"sizes"`
	Devices []deviceVector `json:"devices"`
}

type deviceVector struct {
	Device int         `json:"device"`
	Train  splitVector `json:"train"`
	Test   splitVector `json:"test"`
}

type splitVector struct {
	Samples int `json:"samples"`
	// FeaturesSHA256 is the SHA-256 of the features as little-endian float32s.
	FeaturesSHA256 string `json:"features_sha256"`
	// Labels are the examples' classes as digits, one per example.
	Labels string    `json:"labels"`
	First  []float32 `json:"first"`
}

func splitVectorOf(s synthetic.Split) splitVector {
	h := sha256.New()
	var b [4]byte
	for _, v := range s.Features {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		h.Write(b[:])
	}
	labels := make([]byte, s.Len())
	for i, l := range s.Labels {
		labels[i] = '0' + l
	}
	v := splitVector{Samples: s.Len(), FeaturesSHA256: hex.EncodeToString(h.Sum(nil)), Labels: string(labels)}
	if s.Len() > 0 {
		v.First = s.Features[:synthetic.Features]
	}
	return v
}

// syntheticTask is a task of a synthetic experiment as the keeper sends it.
func syntheticTask() sdk.Task {
	return sdk.Task{Experiment: "vector-synthetic", Round: 3, Client: 4, Attempt: 1, BaseVersion: 2,
		Model: arch.Spec{Kind: arch.MCLR},
		Train: arch.TrainOptions{Optimizer: "sgd", LR: 0.01, Epochs: 7, BatchSize: 10, Seed: 99, ProximalMu: 1},
		Data:  sdk.Data{Synthetic: synthetic.Spec{Alpha: 0.5, Beta: 1, Devices: 30, Seed: 1}},
		Store: sdk.Store{DB: "flweights", Collection: "synthetic_weights"}}
}

func TestSyntheticVectors(t *testing.T) {
	scales := synthetic.InputScales()
	manifest, _ := arch.Spec{Kind: arch.MCLR}.Manifest()
	task := syntheticTask()
	req, err := invocation.Seal(vectorKey, invocation.KindClient, task, time.Unix(farFuture, 0))
	if err != nil {
		t.Fatal(err)
	}
	var decoded sdk.Task
	raw, _ := json.Marshal(req)
	if _, err := invocation.OpenRaw(raw, vectorKey, invocation.KindClient, &decoded); err != nil || !reflect.DeepEqual(decoded, task) {
		t.Fatalf("the synthetic task does not open as it was sealed: %v, %+v", err, decoded)
	}
	v := syntheticVectors{InputScales: scales[:], Manifest: manifest, Init: arch.Init(manifest, 7), Request: raw, Task: req.Task}
	for _, c := range []struct {
		name    string
		spec    synthetic.Spec
		devices []int
	}{
		{"synthetic(1,1)", synthetic.Spec{Alpha: 1, Beta: 1, Devices: 30, Seed: 1}, []int{0, 3, 22}},
		{"synthetic(0.5,0.5)", synthetic.Spec{Alpha: 0.5, Beta: 0.5, Devices: 5, Seed: 3}, []int{1, 4}},
		{"synthetic(0,0)", synthetic.Spec{Devices: 10, Seed: 5}, []int{2, 9}},
		{"synthetic-iid", synthetic.Spec{IID: true, Devices: 30, Seed: 1}, []int{0, 27}},
	} {
		g, err := synthetic.New(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		sv := syntheticVector{Name: c.name, Spec: c.spec, Sizes: g.Sizes()}
		for _, k := range c.devices {
			d, err := g.Device(k)
			if err != nil {
				t.Fatal(err)
			}
			sv.Devices = append(sv.Devices, deviceVector{Device: k, Train: splitVectorOf(d.Train), Test: splitVectorOf(d.Test)})
		}
		v.Datasets = append(v.Datasets, sv)
	}
	check(t, "synthetic.json", v)
}

// A synthetic task's data is its device's training part, generated on the first call.
func TestSyntheticTaskLoadsItsDevice(t *testing.T) {
	task := syntheticTask()
	g, err := synthetic.New(task.Data.Synthetic)
	if err != nil {
		t.Fatal(err)
	}
	want, err := g.Device(task.Client)
	if err != nil {
		t.Fatal(err)
	}
	// Relayed: the global model travels in the request, the deployment needs no store.
	manifest, _ := task.Model.Manifest()
	data, sum := weights.Encode(arch.Init(manifest, 1))
	task.Store, task.InlineSHA256 = sdk.Store{}, sum
	req, err := invocation.Seal(vectorKey, invocation.KindClient, task, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	req.Inline = &invocation.Weights{Data: data, Checksum: sum}
	raw, _ := json.Marshal(req)
	loads := &loadRecorder{}
	if _, err := sdk.NewClientWith(loads.train, deployment.Config{TokenKey: vectorKey}, nil).Handle(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	got := loads.data
	if got.Width() != synthetic.Features || !reflect.DeepEqual(got.Images, want.Train.Features) || !reflect.DeepEqual(got.Labels, want.Train.Labels) {
		t.Fatalf("LoadData gave %d examples of width %d; want device %d's %d training examples", got.Len(), got.Width(), task.Client, want.Train.Len())
	}
}

// loadRecorder is a client that keeps the data it loaded.
type loadRecorder struct{ data *sdk.Dataset }

func (l *loadRecorder) train(ctx context.Context, task sdk.Task, global sdk.Model) (sdk.Update, error) {
	data, err := task.LoadData(ctx)
	if err != nil {
		return sdk.Update{}, err
	}
	l.data = data
	return sdk.Update{Params: global.Params, Samples: data.Len()}, nil
}
