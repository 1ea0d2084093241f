"""FedKeeper's Python client SDK (protocol v1, docs/CLIENT-PROTOCOL.md).

A client function is a train function served by the SDK::

    from fedkeeper import Client, Update, serving

    def train(task, global_model):
        data = task.load_data()           # this client's share of the training split
        params = global_model.params      # flat float32; train them with any code
        ...
        return Update(params=params, samples=len(data), loss=loss)

    main = serving.openwhisk(train)       # or serving.cloud_function / serving.openfaas

The SDK does everything else the protocol asks: it reads the key and the store's
address from the deployment, checks the request's signature and expiry, reads the
global model (MongoDB, or inline when relayed), applies the task's privacy (or test
attack), stores the update as the Go keeper reads it (or returns it inline) and answers.
"""

from .arch import Param, init_params, manifest, num_params
from .client import Client, Model, TrainFunc, Update
from .deployment import Deployment
from .envelope import KIND_CLIENT, PROTOCOL, Request, Weights, open_raw, parse, seal
from .errors import (AttemptStored, Damaged, Expired, FedKeeperError, InvalidTask, InvalidToken, NoStore,
                     NotFound, Refused, RoundClosed, StoreError, Superseded, TrainError, UpdateRefused)
from .mnist import Dataset
from .task import Attack, Data, ModelSpec, PartitionSpec, Privacy, Source, StoreSpec, SyntheticSpec, Task, TrainOptions

__all__ = [
    "Attack", "AttemptStored", "Client", "Damaged", "Data", "Dataset", "Deployment", "Expired",
    "FedKeeperError", "InvalidTask", "InvalidToken", "KIND_CLIENT", "Model", "ModelSpec", "NoStore",
    "NotFound", "PROTOCOL", "Param", "PartitionSpec", "Privacy", "Refused", "Request", "RoundClosed",
    "Source", "StoreError", "StoreSpec", "Superseded", "SyntheticSpec", "Task", "TrainError", "TrainFunc", "TrainOptions",
    "Update", "UpdateRefused", "Weights", "init_params", "manifest", "num_params", "open_raw", "parse", "seal",
]
