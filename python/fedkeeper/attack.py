"""Simulated attacks, for tests of robust strategies: a seeded fraction of the clients
reports a scaled, sign-flipped or random update instead of its honest one. Which
clients attack is Go's draw exactly (the keeper's reports name them); the random
attack's noise is numpy's.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import InvalidTask
from .gorand import Rand
from .task import Attack

SCALE = "scale"
SIGN_FLIP = "sign_flip"
RANDOM = "random"


def validate(a: Attack) -> None:
    """Refuse an attack the client cannot carry out."""
    if a.kind == "":
        return
    if a.kind not in (SCALE, SIGN_FLIP, RANDOM):
        raise InvalidTask(f"attack: unknown kind {a.kind!r} (want {SCALE}, {SIGN_FLIP} or {RANDOM})")
    if not 0 <= a.fraction < 1:
        raise InvalidTask(f"attack: fraction must be in [0, 1), got {a.fraction!r}")
    if a.kind in (SCALE, RANDOM) and (a.factor == 0 or not math.isfinite(a.factor)):
        raise InvalidTask(f"attack: {a.kind} needs a non-zero factor, got {a.factor!r}")


def malicious(a: Attack, total: int) -> set[int]:
    """Which of total clients attack: the first ⌈fraction·total⌉ of a permutation
    seeded by the attack's seed."""
    if not a.on():
        return set()
    n = math.ceil(a.fraction * total)
    return set(Rand(a.seed, 0xBAD).perm(total)[:n])


def apply(a: Attack, start: np.ndarray, trained: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The attack's model in place of the honest trained one, relative to start."""
    validate(a)
    if len(start) != len(trained):
        raise InvalidTask(f"attack: global model has {len(start)} values, the trained one {len(trained)}")
    g = start.astype(np.float64)
    change = trained.astype(np.float64) - g
    if a.kind == SCALE:
        change = change * a.factor
    elif a.kind == SIGN_FLIP:
        change = -change
    elif a.kind == RANDOM:
        change = a.factor * rng.standard_normal(len(g))
    return (g + change).astype(np.float32)
