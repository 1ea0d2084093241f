package sdk

import (
	"errors"
	"fmt"

	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/attack"
	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/fl/privacy"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/weights"
)

// Param describes one parameter tensor of a model: its name and shape, in the order
// the tensors sit in the flat parameter vector.
type Param = arch.Param

// Task is one invocation's job (the task of an fl_client request, protocol v1): the
// keeper signs all of it, so everything that shapes the update is what it asked for.
type Task struct {
	Experiment string `json:"experiment"`
	Round      int    `json:"round"`
	Client     int    `json:"client"`
	// Attempt numbers the keeper's invocations of this client in this round, from 1; a
	// stored update is only ever replaced by a later attempt's.
	Attempt     int `json:"attempt"`
	BaseVersion int `json:"base_version"`
	// BaseSHA256, when the keeper sets it, is the checksum of global BaseVersion's
	// parameters: a warm function that read those bytes for an earlier task uses them
	// again without reading the store, and refuses a stored version of other content.
	BaseSHA256 string `json:"base_sha256,omitempty"`
	// Model names the experiment's architecture; the global model has its layout.
	Model arch.Spec `json:"model"`
	// Train are the experiment's training settings: optimiser, learning rate, local
	// epochs, batch size, this client's shuffling seed, FedProx's μ.
	Train arch.TrainOptions `json:"train"`
	Data  Data              `json:"data"`
	// Store names where the weights are kept; the store's address comes from the
	// deployment. Empty when the weights travel inline.
	Store Store `json:"store,omitzero"`
	// InlineSHA256 is the checksum of the global model the request carries inline,
	// for clients that cannot reach MongoDB; the update then comes back in the result.
	InlineSHA256 string `json:"inline_sha256,omitempty"`
	// Privacy clips the update and adds noise before it is reported (local DP).
	Privacy privacy.Mechanism `json:"privacy,omitzero"`
	// Attack makes this client report a malicious update if it is one of the
	// experiment's attackers (for testing robust strategies).
	Attack attack.Spec `json:"attack,omitzero"`
	// AcceptLate stores the update even if the round was aggregated meanwhile: a
	// semi-asynchronous round folds it into a later version.
	AcceptLate bool `json:"accept_late,omitempty"`

	// data is the serving client's cache behind LoadData.
	data *dataCache
}

// Data names the client's data: MNIST's training split and how it is partitioned
// among the clients, or a synthetic dataset generated from its Spec, whose device
// Client is the client's data.
type Data struct {
	Train     mnist.Source   `json:"train,omitzero"`
	Partition partition.Spec `json:"partition,omitzero"`
	// Synthetic is the FedProx paper's synthetic data (protocol v1, added with it):
	// set, Train and Partition are not.
	Synthetic synthetic.Spec `json:"synthetic,omitzero"`
}

// Clients is the number of clients the data is divided among.
func (d Data) Clients() int {
	if d.Synthetic.On() {
		return d.Synthetic.Devices
	}
	return d.Partition.NumClients
}

func (d Data) validate() error {
	if !d.Synthetic.On() {
		if d.Train.ImagesURL == "" || d.Train.LabelsURL == "" {
			return errors.New("data.train images_url and labels_url are required")
		}
		return nil
	}
	if d.Train != (mnist.Source{}) || d.Partition != (partition.Spec{}) {
		return errors.New("data.synthetic is generated: the task must name no training files and no partition")
	}
	if err := d.Synthetic.Validate(); err != nil {
		return fmt.Errorf("data.%w", err)
	}
	return nil
}

// Store names the database and collection of the weights.
type Store struct {
	DB         string `json:"db"`
	Collection string `json:"collection"`
}

// Options are the weight store's options for this store at a deployment's address.
func (s Store) Options(dep deployment.Config) weights.Options {
	return weights.Options{URI: dep.MongoURI, DB: s.DB, Collection: s.Collection, TensorDir: dep.TensorDir}
}

// Model is the round's global model: its layout and its parameters, one flat vector.
// The client may change Params in place.
type Model struct {
	Version  int
	Manifest []Param
	Params   []float32
}

// Update is what a client's training produced: parameters of the global model's
// layout, the number of examples it trained on (FedAvg's weight) and its loss.
type Update struct {
	Params  []float32
	Samples int
	Loss    float64
}

// ResultUpdateMax is the largest stored update (encoded, in bytes) whose bytes a
// client also returns in its result: a small update costs the store a read per client
// that its few kilobytes in the result save; a large one would bloat every result.
const ResultUpdateMax = 32 << 10

// Result is what the function answers: figures, with the parameters in MongoDB (a
// small update's also in Update), or, for a relayed client, in Update only.
type Result struct {
	Experiment   string  `json:"experiment"`
	Round        int     `json:"round"`
	Client       int     `json:"client"`
	Attempt      int     `json:"attempt"`
	BaseVersion  int     `json:"base_version"`
	Samples      int     `json:"samples"`
	Loss         float64 `json:"loss"`
	TrainSeconds float64 `json:"train_seconds"`
	LoadSeconds  float64 `json:"load_seconds"`
	WarmData     bool    `json:"warm_data"`
	// Seconds is the function's whole run as it measured it: loading, training and
	// storing the update.
	Seconds float64 `json:"seconds"`
	// Update is the trained model: for inline requests; and beside UpdateSHA256 for a
	// stored update of at most ResultUpdateMax bytes, which the keeper then folds into
	// its running sum without reading it back (the stored copy stays the record).
	Update *invocation.Weights `json:"update,omitempty"`
	// UpdateSHA256 is the stored update's checksum: with the task it names the
	// update's bytes (docs/CLIENT-PROTOCOL.md §5), which the keeper then reads
	// without looking the update up. Optional.
	UpdateSHA256 string `json:"update_sha256,omitempty"`
}

func (t Task) validate(inline *invocation.Weights) error {
	switch {
	case t.Experiment == "":
		return errors.New("experiment is missing")
	case t.Round < 1:
		return fmt.Errorf("round must be at least 1, got %d", t.Round)
	case t.Attempt < 1:
		return fmt.Errorf("attempt must be at least 1, got %d", t.Attempt)
	case t.Client < 0 || t.Client >= t.Data.Clients():
		return fmt.Errorf("client %d is outside 0..%d", t.Client, t.Data.Clients()-1)
	case t.BaseVersion < 0:
		return fmt.Errorf("base_version must not be negative, got %d", t.BaseVersion)
	case t.InlineSHA256 == "" && inline != nil:
		return errors.New("the request carries weights its task does not name")
	case t.InlineSHA256 != "" && (inline == nil || inline.Checksum != t.InlineSHA256):
		return errors.New("the task names inline weights the request does not carry")
	case t.InlineSHA256 == "" && (t.Store.DB == "" || t.Store.Collection == ""):
		return errors.New("store db and collection are required (or inline weights)")
	}
	return t.Data.validate()
}
