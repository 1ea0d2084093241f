"""Multinomial logistic regression in numpy, the FedProx paper's model of its synthetic
data: softmax(x·W + b) over 60 features and 10 classes with cross-entropy, on the flat
vector of the mclr layout (the kernel W, 60×10 row-major, then the bias b).

``train(task, global_model)`` is a whole client's training, as the Go keeper's
built-in client trains (fl/mclr): the task's epochs over the client's device in the
order Go draws (a fresh permutation per epoch from PCG(seed, 0x7A1E)), one optimiser
step per batch, the last smaller, with FedProx's μ·(w − w₀) added to the gradient, and
the optimisers' float32 steps as Go takes them. Gradients are float64 here as there,
summed in another order, so the two agree closely but not to the bit.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .arch import CLASSES, MCLR, MCLR_INPUTS
from .errors import TrainError
from .gorand import Rand

if TYPE_CHECKING:  # pragma: no cover
    from .client import Model, Update
    from .task import Task, TrainOptions

NUM_PARAMS = MCLR_INPUTS * CLASSES + CLASSES
SHUFFLE_STREAM = 0x7A1E


def _check(params: np.ndarray, x: np.ndarray, labels: np.ndarray) -> None:
    if params.shape != (NUM_PARAMS,):
        raise TrainError(f"mclr: {params.size} parameters, the model has {NUM_PARAMS}")
    if len(labels) == 0:
        raise TrainError("mclr: no examples")
    if x.shape != (len(labels), MCLR_INPUTS):
        raise TrainError(f"mclr: features of shape {x.shape} for {len(labels)} examples of {MCLR_INPUTS}")
    if labels.max() >= CLASSES:
        raise TrainError(f"mclr: a label is not one of the {CLASSES} classes")


def _probabilities(params: np.ndarray, x: np.ndarray) -> np.ndarray:
    """softmax(x·W + b) in float64, the largest logit subtracted first."""
    w = params[:MCLR_INPUTS * CLASSES].astype(np.float64).reshape(MCLR_INPUTS, CLASSES)
    logits = x.astype(np.float64) @ w + params[MCLR_INPUTS * CLASSES:].astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def _nll(p: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return -np.log(np.maximum(p[np.arange(len(labels)), labels], np.finfo(np.float64).tiny))


def gradient(params: np.ndarray, x: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """The mean cross-entropy of the examples and its gradient (float64, NUM_PARAMS)."""
    p = _probabilities(params, x)
    loss = float(_nll(p, labels).mean())
    p[np.arange(len(labels)), labels] -= 1  # d(−log p_y)/d logit = p − onehot(y)
    p /= len(labels)
    gw = x.astype(np.float64).T @ p
    return loss, np.concatenate([gw.reshape(-1), p.sum(axis=0)])


def score(params: np.ndarray, x: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The mean cross-entropy and the accuracy of params on the examples."""
    params = np.asarray(params, dtype=np.float32)
    _check(params, x, labels)
    p = _probabilities(params, x)
    return float(_nll(p, labels).mean()), float(np.mean(np.argmax(p, axis=1) == labels))


class _Optimizer:
    """Go's optimisers (fl/optim) over float32: sgd, and Keras' Adam and Nadam."""

    def __init__(self, name: str, lr: float) -> None:
        if name not in ("sgd", "adam", "nadam"):
            raise TrainError(f"optim: unknown optimiser {name!r} (want adam, nadam or sgd)")
        self.name, self.lr, self.t = name, lr, 0
        self.m = np.zeros(NUM_PARAMS, dtype=np.float32)
        self.v = np.zeros(NUM_PARAMS, dtype=np.float32)

    def step(self, params: np.ndarray, grad: np.ndarray) -> None:
        if self.name == "sgd":
            params -= np.float32(self.lr) * grad
            return
        self.t += 1
        b1, b2, eps, f32 = 0.9, 0.999, np.float32(1e-7), np.float32
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        # The moments in float32, 1 − β too, as Go computes them.
        self.m = f32(b1) * self.m + (f32(1) - f32(b1)) * grad
        self.v = f32(b2) * self.v + (f32(1) - f32(b2)) * grad * grad
        if self.name == "adam":
            step = f32(self.lr * math.sqrt(c2) / c1)
            params -= step * self.m / (np.sqrt(self.v) + eps * f32(math.sqrt(c2)))
            return
        m_hat = f32(b1 / (1 - b1 ** (self.t + 1))) * self.m + f32((1 - b1) / c1) * grad
        params -= f32(self.lr) * m_hat / (np.sqrt(self.v * f32(1 / c2)) + eps)


def fit(params: np.ndarray, x: np.ndarray, labels: np.ndarray, opts: "TrainOptions") -> float:
    """Train params (float32, changed in place) on the examples; the last epoch's mean
    loss (the proximal term left out)."""
    _check(params, x, labels)
    if opts.epochs < 1 or opts.batch_size < 1:
        raise TrainError(f"mclr: epochs and batch size must be positive, got {opts.epochs} and {opts.batch_size}")
    opt = _Optimizer(opts.optimizer, opts.lr)
    anchor = params.copy() if opts.proximal_mu > 0 else None
    rng, n = Rand(opts.seed, SHUFFLE_STREAM), len(labels)
    epoch_loss = 0.0
    for epoch in range(opts.epochs):
        order = np.array(rng.perm(n), dtype=np.int64)
        epoch_loss = 0.0
        for start in range(0, n, opts.batch_size):
            idx = order[start:start + opts.batch_size]
            loss, grad = gradient(params, x[idx], labels[idx])
            if not math.isfinite(loss):
                raise TrainError(f"mclr: training diverged (loss {loss} in epoch {epoch + 1})")
            if anchor is not None:
                grad += opts.proximal_mu * (params - anchor).astype(np.float64)
            opt.step(params, grad.astype(np.float32))
            epoch_loss += loss * len(idx)
    return epoch_loss / n


def train(task: "Task", global_model: "Model") -> "Update":
    """A client's training of the task's mclr model on its data (its synthetic device)."""
    from .client import Update

    if task.model.kind != MCLR:
        raise TrainError(f"this client trains mclr, the task asks for a {task.model.kind}")
    data = task.load_data()
    params = np.array(global_model.params, dtype=np.float32)
    loss = fit(params, data.images, data.labels, task.train)
    return Update(params=params, samples=len(data), loss=loss)
