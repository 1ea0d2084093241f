"""FedKeeper's partitioner: a training split divided among the clients exactly as the
keeper and the Go SDK divide it, from the same seeded draws (see gorand).

Schemes: ``non_iid`` (McMahan et al.: sort by label, cut into shards, give each
client a few random shards), ``iid`` (as many examples per client, drawn uniformly
without replacement) and ``dirichlet`` (Hsu et al.: each label's examples divided in
proportions drawn from Dirichlet(alpha)).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .errors import FedKeeperError
from .gorand import Rand, log
from .task import PartitionSpec

IID = "iid"
NON_IID = "non_iid"
DIRICHLET = "dirichlet"
# The fewest examples a Dirichlet client may get; a draw that leaves fewer is redrawn.
MIN_PER_CLIENT = 10
MAX_DIRICHLET_DRAWS = 1000


class PartitionError(FedKeeperError):
    """A partition that cannot be made from the split."""


def split(labels: Sequence[int], spec: PartitionSpec) -> list[list[int]]:
    """For every client, the indices of its examples."""
    if spec.num_clients < 1 or spec.shards_per_client < 1 or spec.shard_size < 1:
        raise PartitionError(f"partition: clients, shards per client and shard size must be positive, "
                             f"got {spec.num_clients}, {spec.shards_per_client}, {spec.shard_size}")
    rng = Rand(spec.seed, 0x5EED5A3D)
    labels = np.asarray(labels, dtype=np.uint8)
    if spec.scheme == NON_IID:
        return _non_iid(labels, spec, rng)
    if spec.scheme == IID:
        return _iid(len(labels), spec, rng)
    if spec.scheme == DIRICHLET:
        return _dirichlet(labels, spec, rng)
    raise PartitionError(f"partition: unknown scheme {spec.scheme!r}")


def _non_iid(labels: np.ndarray, spec: PartitionSpec, rng: Rand) -> list[list[int]]:
    num_shards = len(labels) // spec.shard_size
    need = spec.num_clients * spec.shards_per_client
    if need > num_shards:
        raise PartitionError(
            f"partition: {spec.num_clients} clients x {spec.shards_per_client} shards need {need} shards of "
            f"{spec.shard_size} examples, but {len(labels)} examples make only {num_shards}")
    order = np.argsort(labels, kind="stable").tolist()
    shards = rng.perm(num_shards)
    size = spec.shard_size
    out = []
    for c in range(spec.num_clients):
        idx: list[int] = []
        for s in range(spec.shards_per_client):
            shard = shards[c * spec.shards_per_client + s]
            idx.extend(order[shard * size:(shard + 1) * size])
        out.append(idx)
    return out


def _iid(n: int, spec: PartitionSpec, rng: Rand) -> list[list[int]]:
    per = spec.shards_per_client * spec.shard_size
    if spec.num_clients * per > n:
        raise PartitionError(f"partition: {spec.num_clients} clients x {per} examples exceed the {n} examples available")
    perm = rng.perm(n)
    return [perm[c * per:(c + 1) * per] for c in range(spec.num_clients)]


def _dirichlet(labels: np.ndarray, spec: PartitionSpec, rng: Rand) -> list[list[int]]:
    alpha, k = spec.alpha, spec.num_clients
    if not alpha > 0 or math.isinf(alpha):
        raise PartitionError(f"partition: dirichlet needs a positive alpha, got {alpha!r}")
    total = k * spec.shards_per_client * spec.shard_size
    if total > len(labels):
        raise PartitionError(f"partition: {k} clients x {spec.shards_per_client * spec.shard_size} examples "
                             f"exceed the {len(labels)} examples available")
    if total < k * MIN_PER_CLIENT:
        raise PartitionError(f"partition: {total} examples cannot give {k} clients {MIN_PER_CLIENT} each")
    by_label: dict[int, list[int]] = {}
    for i in rng.perm(len(labels))[:total]:
        by_label.setdefault(int(labels[i]), []).append(i)
    order = sorted(by_label)  # a fixed order, so the draw does not depend on a map's
    for _ in range(MAX_DIRICHLET_DRAWS):
        out: list[list[int]] = [[] for _ in range(k)]
        for label in order:
            idx = by_label[label]
            cut, acc = 0, 0.0
            shares = _draw_dirichlet(rng, k, alpha)
            for c, p in enumerate(shares):
                acc += p
                end = len(idx) if c == k - 1 else _go_round(acc * len(idx))
                out[c].extend(idx[cut:end])
                cut = end
        if all(len(part) >= MIN_PER_CLIENT for part in out):
            return out
    raise PartitionError(f"partition: no Dirichlet({alpha!r}) draw in {MAX_DIRICHLET_DRAWS} gave each of "
                         f"{k} clients {MIN_PER_CLIENT} examples; raise alpha or the examples per client")


def _draw_dirichlet(rng: Rand, k: int, alpha: float) -> list[float]:
    """Proportions from Dirichlet(alpha, …, alpha) over k outcomes, as normalised
    Gamma(alpha) draws."""
    out = [0.0] * k
    total = 0.0
    for i in range(k):
        out[i] = _gamma(rng, alpha)
        total += out[i]
    if total == 0:  # every draw underflowed (tiny alpha): one outcome takes all
        out[rng.intn(k)] = 1.0
        return out
    return [x / total for x in out]


def _gamma(rng: Rand, shape: float) -> float:
    """A Gamma(shape, 1) draw by Marsaglia and Tsang's method; a shape below one is
    raised by one and scaled back with U^(1/shape)."""
    if shape < 1:
        g = _gamma(rng, shape + 1)
        return g * math.pow(rng.float64(), 1 / shape)
    d = shape - 1.0 / 3
    c = 1 / math.sqrt(9 * d)
    while True:
        x = rng.norm_float64()
        v = 1 + c * x
        if v <= 0:
            continue
        v = v * v * v
        u = rng.float64()
        if u < 1 - 0.0331 * x * x * x * x or log(u) < 0.5 * x * x + d * (1 - v + log(v)):
            return d * v


def _go_round(x: float) -> int:
    """Go's math.Round of a non-negative x: half away from zero."""
    f = math.floor(x)
    return int(f + 1 if x - f >= 0.5 else f)

