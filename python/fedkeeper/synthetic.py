"""The FedProx paper's synthetic data, Synthetic(α, β) and Synthetic-IID, generated
from a task's ``data.synthetic`` exactly as the Go keeper generates them (protocol §3.1;
Go's package fl/synthetic), so a client trains on the very examples the keeper's
evaluation pools.

Every draw is Go's math/rand/v2 over a PCG, ported bit for bit (gorand): the root
stream draws every device's size, mean and seed; each device's own stream draws its
model, its inputs and its shuffle, so a client generates its device alone. The
inputs' draws are vectorised (Rand.norm_float64s); the labels sum the logits feature
by feature with every product rounded, as Go sums them, so both find the same argmax.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from .errors import InvalidTask
from .gorand import Rand
from .mnist import Dataset

if TYPE_CHECKING:  # pragma: no cover
    from .task import SyntheticSpec

FEATURES = 60
CLASSES = 10
# A device's size is capped (a draw past it has a probability of about 1e-5 per
# device); devices are bounded as the keeper bounds clients.
MAX_SAMPLES = 1 << 18
MAX_DEVICES = 100_000
# The second words of the PCG seeds of the root stream and of each device's stream.
ROOT_STREAM = 0x53796E746865
DEVICE_STREAM = 0x446576696365


def nearest_root(j: int) -> float:
    """The float64 nearest to j^(-3/5), found with exact rationals: pow's last bit is
    not the same in every library (Go's and C's differ for a third of j = 1..60)."""
    d = float(j) ** -0.6
    for _ in range(64):
        down, up = math.nextafter(d, 0), math.nextafter(d, 2)
        if not _below_root(j, (Fraction(down) + Fraction(d)) / 2):
            d = down
        elif _below_root(j, (Fraction(d) + Fraction(up)) / 2):
            d = up
        else:
            return d
    raise ArithmeticError(f"j^-0.6 did not converge for j={j}")


def _below_root(j: int, m: Fraction) -> bool:
    """m < j^(-3/5), that is m⁵·j³ < 1 (m > 0)."""
    return m ** 5 * j ** 3 < 1


def input_scales() -> np.ndarray:
    """Σ^½'s diagonal: the float64 nearest to j^-0.6 for j = 1..60."""
    return np.array([nearest_root(j) for j in range(1, FEATURES + 1)], dtype=np.float64)


def validate(spec: "SyntheticSpec") -> None:
    """Refuse a spec the generator cannot take, with Go's words."""
    if not 1 <= spec.devices <= MAX_DEVICES:
        raise InvalidTask(f"synthetic: devices must be between 1 and {MAX_DEVICES}, got {spec.devices}")
    for name, value in (("alpha", spec.alpha), ("beta", spec.beta)):
        if not (value >= 0 and math.isfinite(value)):
            raise InvalidTask(f"synthetic: {name} must be a finite number ≥ 0, got {value}")
    if spec.iid and (spec.alpha != 0 or spec.beta != 0):
        raise InvalidTask("synthetic: the IID variant takes no alpha or beta")


def train_size(n: int) -> int:
    """How many of a device's n examples it trains on: ⌊0.9·n⌋."""
    return n * 9 // 10


def _size(z: float) -> int:
    """n_k from a standard normal deviate: ⌊e^(4+2z)⌋ + 50, capped."""
    n = math.floor(math.exp(4 + 2 * z))
    return MAX_SAMPLES if n >= MAX_SAMPLES - 50 else n + 50


@dataclass
class Device:
    """A device's examples, shuffled and split: features (n, 60) float32, labels (n,)."""

    train: Dataset
    test: Dataset


class Generator:
    """The root stream's draws of a dataset: sizes, each device's u_k and v_k (or the
    shared model) and seed. Cheap: a few thousand draws whatever the devices hold."""

    def __init__(self, spec: "SyntheticSpec") -> None:
        validate(spec)
        self.spec = spec
        rng = Rand(spec.seed, ROOT_STREAM)
        self.sizes = [_size(rng.norm_float64()) for _ in range(spec.devices)]
        self.u: list[float] = []
        self.v: list[np.ndarray] = []
        self.shared: tuple[np.ndarray, np.ndarray] | None = None
        if spec.iid:
            w = np.array([0.0 + rng.norm_float64() for _ in range(FEATURES * CLASSES)])
            b = np.array([0.0 + rng.norm_float64() for _ in range(CLASSES)])
            self.shared = (w.reshape(FEATURES, CLASSES), b)
        else:
            self.u = [spec.alpha * rng.norm_float64() for _ in range(spec.devices)]
            means = [spec.beta * rng.norm_float64() for _ in range(spec.devices)]
            self.v = [np.array([m + rng.norm_float64() for _ in range(FEATURES)]) for m in means]
        self.seeds = [rng.uint64() for _ in range(spec.devices)]
        self.scale = input_scales()

    def device(self, k: int) -> Device:
        """Device k's examples."""
        if not 0 <= k < self.spec.devices:
            raise InvalidTask(f"synthetic: device {k} is outside 0..{self.spec.devices - 1}")
        rng, n = Rand(self.seeds[k], DEVICE_STREAM), self.sizes[k]
        if self.shared is not None:
            (w, b), mean = self.shared, np.zeros(FEATURES)
            z = rng.norm_float64s(n * FEATURES)
        else:
            # The device's model, then its inputs, all N(·, 1) draws of its stream.
            z = rng.norm_float64s(FEATURES * CLASSES + CLASSES + n * FEATURES)
            u = self.u[k]
            w = (u + z[:FEATURES * CLASSES]).reshape(FEATURES, CLASSES)
            b = u + z[FEATURES * CLASSES:FEATURES * CLASSES + CLASSES]
            z, mean = z[FEATURES * CLASSES + CLASSES:], self.v[k]
        x = (mean + self.scale * z.reshape(n, FEATURES)).astype(np.float32)
        labels = _labels(x, w, b)
        perm = np.array(rng.perm(n), dtype=np.int64)
        t = train_size(n)
        return Device(train=Dataset(x[perm[:t]], labels[perm[:t]]), test=Dataset(x[perm[t:]], labels[perm[t:]]))


def _labels(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """argmax(x·W + b), the first class on a tie, summed as Go sums it: feature by
    feature from zero, each product rounded before it is added, the bias last."""
    logits = np.zeros((len(x), CLASSES))
    x64 = x.astype(np.float64)
    for j in range(FEATURES):
        logits = logits + x64[:, j:j + 1] * w[j]
    return np.argmax(logits + b, axis=1).astype(np.uint8)
