"""The weights' encoding (protocol §4): a flat float32 vector as its little-endian
bytes, with the SHA-256 of those bytes. A reader refuses bytes of the wrong length,
with another checksum, or holding a NaN or an infinity.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

from .arch import Param, num_params
from .errors import Damaged

LE_FLOAT32 = np.dtype("<f4")


def encode(params: np.ndarray) -> tuple[bytes, str]:
    """The bytes of a float32 vector and their hex SHA-256."""
    data = np.ascontiguousarray(params, dtype=LE_FLOAT32).tobytes()
    return data, hashlib.sha256(data).hexdigest()


def decode(data: bytes, layout: Sequence[Param], checksum: str) -> np.ndarray:
    """Check bytes against their layout and checksum; a new, writable float32 vector."""
    want = num_params(layout)
    if len(data) != 4 * want:
        raise Damaged(f"weights: damaged: {len(data)} bytes, manifest needs {4 * want}")
    if hashlib.sha256(data).hexdigest() != checksum:
        raise Damaged("weights: damaged: checksum mismatch")
    params = np.frombuffer(data, dtype=LE_FLOAT32).astype(np.float32)
    bad = np.flatnonzero(~np.isfinite(params))
    if bad.size:
        raise Damaged(f"weights: damaged: value {bad[0]} is {params[bad[0]]}")
    return params
