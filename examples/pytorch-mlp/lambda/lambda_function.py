"""The seed's MLP in PyTorch as a FedKeeper client: an AWS Lambda python3.x handler (lambda_function.lambda_handler)."""

from collections import OrderedDict

import torch.nn as nn

from fedkeeper import Model, Task, Update, serving
from fedkeeper.pytorch import fit


def model(hidden: int) -> nn.Module:
    """The seed's MLP: 784-hidden-10 with ReLU (state_dict keys as FedKeeper's layout)."""
    return nn.Sequential(OrderedDict(dense1=nn.Linear(784, hidden), relu=nn.ReLU(), dense2=nn.Linear(hidden, 10)))


def train(task: Task, global_model: Model) -> Update:
    if task.model.kind != "mlp":
        raise ValueError(f"this client trains the MLP, the task asks for a {task.model.kind}")
    return fit(model(task.model.hidden), task, global_model)


lambda_handler = serving.aws_lambda(train)
