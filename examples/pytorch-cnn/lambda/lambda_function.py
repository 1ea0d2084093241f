"""The seed's CNN in PyTorch as a FedKeeper client: an AWS Lambda python3.x handler (lambda_function.lambda_handler)."""

from collections import OrderedDict

import torch.nn as nn

from fedkeeper import Model, Task, Update, serving
from fedkeeper.pytorch import fit


def model() -> nn.Module:
    """The seed's CNN: conv5x5x32-pool-conv5x5x64-pool-dense512-dense10, ReLU, on 28x28 pixels."""
    return nn.Sequential(OrderedDict(
        image=nn.Unflatten(1, (1, 28, 28)),
        conv1=nn.Conv2d(1, 32, 5), relu1=nn.ReLU(), pool1=nn.MaxPool2d(2),
        conv2=nn.Conv2d(32, 64, 5), relu2=nn.ReLU(), pool2=nn.MaxPool2d(2),
        flatten=nn.Flatten(), dense1=nn.Linear(1024, 512), relu3=nn.ReLU(), dense2=nn.Linear(512, 10)))


def train(task: Task, global_model: Model) -> Update:
    if task.model.kind != "cnn":
        raise ValueError(f"this client trains the CNN, the task asks for a {task.model.kind}")
    return fit(model(), task, global_model)


lambda_handler = serving.aws_lambda(train)
