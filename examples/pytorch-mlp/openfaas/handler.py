"""The seed's MLP in PyTorch as a FedKeeper client: an OpenFaaS python3-http handler.

The template imports this file as function.handler, so the SDK, which FedKeeper puts
beside it, is imported relatively.
"""

from collections import OrderedDict

import torch.nn as nn

from .fedkeeper import Model, Task, Update, serving
from .fedkeeper.pytorch import fit


def model(hidden: int) -> nn.Module:
    """The seed's MLP: 784-hidden-10 with ReLU (state_dict keys as FedKeeper's layout)."""
    return nn.Sequential(OrderedDict(dense1=nn.Linear(784, hidden), relu=nn.ReLU(), dense2=nn.Linear(hidden, 10)))


def train(task: Task, global_model: Model) -> Update:
    if task.model.kind != "mlp":
        raise ValueError(f"this client trains the MLP, the task asks for a {task.model.kind}")
    return fit(model(task.model.hidden), task, global_model)


handle = serving.openfaas(train)
