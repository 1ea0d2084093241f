"""PyTorch helpers: the seed's models as PyTorch modules, their state_dict to and from
FedKeeper's flat vector, and a reference training function. torch is imported only
when one of these is called; the rest of the SDK never needs it.

PyTorch keeps a Linear layer's weight as (out, in), FedKeeper a dense kernel as
(in, out), so dense kernels are transposed on the way; convolution kernels are
(out, in, height, width) on both sides. The modules compute what the Go models
compute on the same weights (testdata/protocol/logits.json): valid 5×5 convolutions, ReLU, 2×2 max pooling, and the
(channel, row, column) flattening of NCHW.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .arch import CLASSES, CNN, INPUT_SIDE, INPUT_SIZE, MCLR, MCLR_INPUTS, MLP, Param, manifest, num_params
from .errors import TrainError
from .gorand import Rand
from .task import ModelSpec, Task

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from .client import Model, Update


def _torch() -> Any:
    try:
        import torch
    except ImportError as err:  # pragma: no cover - depends on the machine
        raise TrainError("the PyTorch helpers need torch (apt-get install python3-torch, or pip install torch)") from err
    return torch


def torch_name(name: str) -> str:
    """A manifest tensor's state_dict key: dense1/kernel is dense1.weight."""
    layer, _, part = name.partition("/")
    return f"{layer}.{'weight' if part == 'kernel' else part}"


def _dense_kernel(p: Param) -> bool:
    return p.name.endswith("/kernel") and len(p.shape) == 2


def layout_of(spec: ModelSpec | Sequence[Param]) -> list[Param]:
    """A model spec's layout (a layout is returned as it is)."""
    return manifest(spec.kind, spec.hidden) if isinstance(spec, ModelSpec) else list(spec)


def to_state_dict(params: np.ndarray, spec: ModelSpec | Sequence[Param]) -> "OrderedDict[str, torch.Tensor]":
    """The flat vector as a state_dict of the module build_model(spec) makes."""
    torch = _torch()
    layout = layout_of(spec)
    flat = np.asarray(params, dtype=np.float32)
    if flat.ndim != 1 or len(flat) != num_params(layout):
        raise TrainError(f"{flat.size} values for a layout of {num_params(layout)}")
    out: OrderedDict[str, Any] = OrderedDict()
    off = 0
    for p in layout:
        value = flat[off:off + p.size].reshape(p.shape)
        out[torch_name(p.name)] = torch.from_numpy(np.ascontiguousarray(value.T if _dense_kernel(p) else value))
        off += p.size
    return out


def from_state_dict(state: Any, spec: ModelSpec | Sequence[Param]) -> np.ndarray:
    """A state_dict of the module build_model(spec) makes, as the flat vector."""
    layout = layout_of(spec)
    parts = []
    for p in layout:
        key = torch_name(p.name)
        if key not in state:
            raise TrainError(f"the state_dict has no {key}")
        value = state[key].detach().cpu().numpy().astype(np.float32)
        value = value.T if _dense_kernel(p) else value
        if tuple(value.shape) != tuple(p.shape):
            raise TrainError(f"{key} has shape {tuple(value.shape)}, the layout {p.shape}")
        parts.append(value.reshape(-1))
    return np.concatenate(parts)


def build_model(spec: ModelSpec) -> "torch.nn.Module":
    """The seed's model as a PyTorch module over (batch, 784) pixels: the MLP
    784-hidden-10 with ReLU, or the CNN conv5x5x32-pool-conv5x5x64-pool-dense512-dense10;
    or mclr, the synthetic data's logistic regression over (batch, 60) features (its
    logits; fit's cross-entropy applies the softmax)."""
    nn = _torch().nn
    if spec.kind == MLP:
        manifest(spec.kind, spec.hidden)  # refuses a bad width
        layers = [("dense1", nn.Linear(INPUT_SIZE, spec.hidden)), ("relu1", nn.ReLU()),
                  ("dense2", nn.Linear(spec.hidden, CLASSES))]
    elif spec.kind == CNN:
        layers = [("image", nn.Unflatten(1, (1, INPUT_SIDE, INPUT_SIDE))),
                  ("conv1", nn.Conv2d(1, 32, 5)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
                  ("conv2", nn.Conv2d(32, 64, 5)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
                  ("flatten", nn.Flatten()), ("dense1", nn.Linear(4 * 4 * 64, 512)), ("relu3", nn.ReLU()),
                  ("dense2", nn.Linear(512, CLASSES))]
    elif spec.kind == MCLR:
        layers = [("dense1", nn.Linear(MCLR_INPUTS, CLASSES))]
    else:
        manifest(spec.kind, spec.hidden)  # raises for the unknown kind
    return nn.Sequential(OrderedDict(layers))


def load_params(module: "torch.nn.Module", params: np.ndarray, spec: ModelSpec | Sequence[Param]) -> None:
    """Set module's parameters from the flat vector."""
    module.load_state_dict(to_state_dict(params, spec))


def module_params(module: "torch.nn.Module", spec: ModelSpec | Sequence[Param]) -> np.ndarray:
    """module's parameters as the flat vector."""
    return from_state_dict(module.state_dict(), spec)


def _optimizer(torch: Any, module: Any, name: str, lr: float) -> Any:
    # Keras' defaults, as the Go trainer uses them.
    if name == "sgd":
        return torch.optim.SGD(module.parameters(), lr=lr)
    if name == "adam":
        return torch.optim.Adam(module.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-7)
    if name == "nadam":
        return torch.optim.NAdam(module.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-7)
    raise TrainError(f"unknown optimizer {name!r} (want sgd, adam or nadam)")


def train(task: Task, global_model: "Model") -> "Update":
    """The seed's training in PyTorch: fit on the module of the task's architecture."""
    return fit(build_model(task.model), task, global_model)


def fit(module: "torch.nn.Module", task: Task, global_model: "Model") -> "Update":
    """Train module (whose state_dict has the global model's layout, see
    to_state_dict) as the keeper's built-in client trains: from the global parameters,
    the task's epochs over this client's share in the order Go's trainer draws (a fresh
    permutation per epoch from the task's seed), one optimiser step per batch (the last
    one smaller), FedProx's proximal term when set. The loss is the last epoch's mean."""
    from .client import Update

    torch = _torch()
    opts = task.train
    if opts.epochs < 1 or opts.batch_size < 1:
        raise TrainError(f"model: epochs and batch size must be positive, got {opts.epochs} and {opts.batch_size}")
    data = task.load_data()
    n = len(data)
    if n == 0:
        raise TrainError("model: no training examples")
    load_params(module, global_model.params, global_model.manifest)
    module.train()
    optimizer = _optimizer(torch, module, opts.optimizer, opts.lr)
    images, labels = torch.from_numpy(data.images), torch.from_numpy(data.labels.astype(np.int64))
    anchor = [p.detach().clone() for p in module.parameters()] if opts.proximal_mu > 0 else None
    rng, batch = Rand(opts.seed, 0x7A1E), min(opts.batch_size, n)
    epoch_loss = 0.0
    for epoch in range(opts.epochs):
        order = torch.tensor(rng.perm(n), dtype=torch.long)
        epoch_loss = 0.0
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(module(images[idx]), labels[idx])
            total = loss
            if anchor is not None:
                prox = sum(((p - a) ** 2).sum() for p, a in zip(module.parameters(), anchor))
                total = loss + opts.proximal_mu / 2 * prox
            total.backward()
            optimizer.step()
            value = float(loss.detach())
            if not np.isfinite(value):
                raise TrainError(f"model: training diverged (loss {value} in epoch {epoch + 1})")
            epoch_loss += value * len(idx)
    return Update(params=module_params(module, global_model.manifest), samples=n, loss=epoch_loss / n)
