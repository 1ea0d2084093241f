// Package flclient is the built-in fl_client function, a client written on the Go SDK
// (package sdk) like any user's: it trains the experiment's built-in model, the seed's
// MLP or CNN with gorgonia on the client's share of MNIST, or the FedProx paper's
// multinomial logistic regression (fl/mclr) on the client's synthetic device.
package flclient

import (
	"context"

	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/mclr"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/sdk"
)

// The protocol's types, as the SDK defines them.
type (
	Task   = sdk.Task
	Data   = sdk.Data
	Store  = sdk.Store
	Result = sdk.Result
)

// ResultUpdateMax is the largest stored update a result also carries (sdk.ResultUpdateMax).
const ResultUpdateMax = sdk.ResultUpdateMax

// New returns a cold fl_client deployed with dep; depErr (a deployment that could not
// be read) fails every invocation.
func New(dep deployment.Config, depErr error) *sdk.Client {
	var t trainer
	return sdk.NewClientWith(t.train, dep, depErr)
}

// Train trains the task's built-in model from the global model, in place.
func Train(ctx context.Context, task sdk.Task, global sdk.Model) (sdk.Update, error) {
	var t trainer
	defer t.models.Close()
	return t.train(ctx, task, global)
}

// trainer is a warm function's training: it keeps the graphs of the model it trained
// last, so a function serving many clients of a round builds them once.
type trainer struct {
	models model.Trainer
}

func (t *trainer) train(ctx context.Context, task sdk.Task, global sdk.Model) (sdk.Update, error) {
	data, err := task.LoadData(ctx)
	if err != nil {
		return sdk.Update{}, err
	}
	if task.Model.Kind == arch.MCLR {
		res, err := mclr.Train(ctx, global.Params, data.Images, data.Labels, task.Train)
		if err != nil {
			return sdk.Update{}, err
		}
		return sdk.Update{Params: global.Params, Samples: res.Samples, Loss: res.Loss}, nil
	}
	res, err := t.models.Train(ctx, task.Model, global.Params, data.Images, data.Labels, task.Train)
	if err != nil {
		return sdk.Update{}, err
	}
	return sdk.Update{Params: global.Params, Samples: res.Samples, Loss: res.Loss}, nil
}
