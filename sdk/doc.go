// Package sdk is what a FedKeeper client function is written with in Go. A client is a
// function that trains the round's global model on its own data:
//
//	func train(ctx context.Context, task sdk.Task, global sdk.Model) (sdk.Update, error) {
//		data, err := task.LoadData(ctx) // this client's share of the training set
//		if err != nil {
//			return sdk.Update{}, err
//		}
//		params := global.Params // train them, in place or a copy, with any model code
//		…
//		return sdk.Update{Params: params, Samples: data.Len(), Loss: loss}, nil
//	}
//
//	func main() { sdk.Main(train) }
//
// The SDK does everything else the client protocol asks (docs/CLIENT-PROTOCOL.md): it
// reads the key and the store's address from the function's deployment, checks the
// invocation's signature and expiry, reads the global model (from MongoDB, or from the
// request when the keeper relays it), applies the experiment's local differential
// privacy (and, in tests of robust strategies, its simulated attack) to the update,
// writes the update (or returns it to the relay) and answers the keeper. sdk.Main
// serves the function as the platform it runs on expects: OpenWhisk's actionloop, or
// HTTP on $PORT (OpenFaaS, and Cloud Functions through HTTPHandler).
//
// The update must have the global model's layout (global.Manifest): the keeper
// averages updates value by value.
package sdk
