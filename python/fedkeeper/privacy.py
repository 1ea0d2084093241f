"""Local differential privacy of an update (the Gaussian mechanism), as the keeper
asks every client to apply it: the change to the global model is scaled down to the
L2 norm ``clip`` when longer, and each value gets Gaussian noise of standard deviation
``noise_multiplier · clip``. The semantics are the Go SDK's; the noise is numpy's,
seeded by the task's training seed, so the same attempt reports the same update.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import InvalidTask
from .task import Privacy


def validate(p: Privacy) -> None:
    """Refuse settings the mechanism cannot apply."""
    if not p.clip > 0 or math.isinf(p.clip):
        raise InvalidTask(f"privacy: clip must be a positive norm, got {p.clip!r}")
    if not p.noise_multiplier >= 0 or math.isinf(p.noise_multiplier):
        raise InvalidTask(f"privacy: noise multiplier must not be negative, got {p.noise_multiplier!r}")


def apply(p: Privacy, start: np.ndarray, trained: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """The model to report for trained (started from start), and the change's norm
    before clipping. Computed in float64, as Go does, and rounded to float32 once."""
    validate(p)
    if len(start) != len(trained):
        raise InvalidTask(f"privacy: global model has {len(start)} values, the trained one {len(trained)}")
    g = start.astype(np.float64)
    change = trained.astype(np.float64) - g
    norm = math.sqrt(float(np.dot(change, change)))
    scale = p.clip / norm if norm > p.clip else 1.0
    sd = p.noise_multiplier * p.clip
    out = g + (change * scale + sd * rng.standard_normal(len(g)))
    return out.astype(np.float32), norm
