"""The models' layouts (protocol §4): which tensors a model has, in what order they sit
in the flat float32 vector, and their seeded initial values as the keeper draws them.

Dense kernels are (inputs, outputs), as Keras stores them; convolution kernels are
(out, in, height, width).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .errors import InvalidTask
from .gorand import Rand

MLP = "mlp"
CNN = "cnn"
# Multinomial logistic regression over the synthetic data's 60 features.
MCLR = "mclr"
MCLR_INPUTS = 60
INPUT_SIDE = 28
INPUT_SIZE = INPUT_SIDE * INPUT_SIDE
CLASSES = 10


@dataclass(frozen=True)
class Param:
    """One tensor of the flat vector: its name and shape."""

    name: str
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def to_json(self) -> dict:
        return {"name": self.name, "shape": list(self.shape)}


def manifest(kind: str, hidden: int = 0) -> list[Param]:
    """The layout of an architecture, in vector order."""
    if kind == MLP:
        if hidden < 1:
            raise InvalidTask(f"model: MLP hidden size must be positive, got {hidden}")
        return [Param("dense1/kernel", (INPUT_SIZE, hidden)), Param("dense1/bias", (hidden,)),
                Param("dense2/kernel", (hidden, CLASSES)), Param("dense2/bias", (CLASSES,))]
    if kind == CNN:
        return [Param("conv1/kernel", (32, 1, 5, 5)), Param("conv1/bias", (32,)),
                Param("conv2/kernel", (64, 32, 5, 5)), Param("conv2/bias", (64,)),
                Param("dense1/kernel", (4 * 4 * 64, 512)), Param("dense1/bias", (512,)),
                Param("dense2/kernel", (512, CLASSES)), Param("dense2/bias", (CLASSES,))]
    if kind == MCLR:
        return [Param("dense1/kernel", (MCLR_INPUTS, CLASSES)), Param("dense1/bias", (CLASSES,))]
    raise InvalidTask(f"model: unknown kind {kind!r} (want mlp, cnn or mclr)")


def num_params(layout: Sequence[Param]) -> int:
    """The length of the flat vector."""
    return sum(p.size for p in layout)


def same_manifest(a: Sequence[Param], b: Sequence[Param]) -> bool:
    """Whether two layouts are the same, name and shape, in order."""
    return len(a) == len(b) and all(x.name == y.name and tuple(x.shape) == tuple(y.shape) for x, y in zip(a, b))


def from_docs(docs: Sequence[dict]) -> list[Param]:
    """A layout as stored: a list of {"name", "shape"}."""
    return [Param(str(d["name"]), tuple(int(n) for n in d["shape"])) for d in docs]


def init_params(layout: Sequence[Param], seed: int) -> np.ndarray:
    """Seeded initial values, as the keeper draws them: Glorot-uniform kernels, zero
    biases, one draw per value from Go's PCG(seed, 0x1417) in vector order."""
    rng = Rand(seed, 0x1417)
    flat = np.zeros(num_params(layout), dtype=np.float32)
    off = 0
    for p in layout:
        if len(p.shape) > 1:
            fan_in, fan_out = _fans(p.shape)
            limit = math.sqrt(6 / (fan_in + fan_out))
            draw = rng.float64
            flat[off:off + p.size] = np.array([(draw() * 2 - 1) * limit for _ in range(p.size)])
        off += p.size
    return flat


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive
