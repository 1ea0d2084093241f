"""Go's math/rand/v2, ported: the PCG-DXSM source and the Rand methods FedKeeper uses.

The partitioner, the attack's choice of attackers and the models' initial values are
seeded draws in Go; a Python client must draw exactly the same numbers, so this is a
port of Go's algorithms (not of its code): the 128-bit LCG step with DXSM output,
Lemire's multiply-and-reject for bounded integers, Fisher–Yates for Perm and Shuffle,
53-bit floats, and Marsaglia and Tsang's ziggurat for normal deviates, whose tables
are computed here by their published recurrence (the tests compare them with Go's).
"""

from __future__ import annotations

import functools
import math
import struct
from typing import Callable

import numpy as np

M64 = (1 << 64) - 1
M128 = (1 << 128) - 1
# The LCG's 128-bit multiplier and increment, and DXSM's 64-bit multiplier.
_MUL = (2549297995355413924 << 64) | 4865540595714422341
_INC = (6364136223846793005 << 64) | 1442695040888963407
_CHEAP_MUL = 0xDA942042E4DD58B5


class PCG:
    """A PCG-DXSM generator with 128 bits of state, as Go's rand.NewPCG(seed1, seed2)."""

    __slots__ = ("state",)

    def __init__(self, seed1: int, seed2: int) -> None:
        self.state = ((seed1 & M64) << 64) | (seed2 & M64)

    def uint64(self) -> int:
        """The next uniformly distributed 64-bit value."""
        self.state = (self.state * _MUL + _INC) & M128
        hi, lo = self.state >> 64, self.state & M64
        hi ^= hi >> 32
        hi = (hi * _CHEAP_MUL) & M64
        hi ^= hi >> 48
        return (hi * (lo | 1)) & M64


def _f32(x: float) -> float:
    """x rounded to float32, as Go's float32(x)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _ziggurat() -> tuple[list[int], list[float], list[float]]:
    """The 128-strip ziggurat tables of the standard normal (kn, wn, fn)."""
    m1, dn, vn = 2147483648.0, 3.442619855899, 9.91256303526217e-3
    tn = dn
    q = vn / math.exp(-0.5 * dn * dn)
    kn, wn, fn = [0] * 128, [0.0] * 128, [0.0] * 128
    kn[0], wn[0], wn[127] = int(dn / q * m1), q / m1, dn / m1
    fn[0], fn[127] = 1.0, math.exp(-0.5 * dn * dn)
    for i in range(126, 0, -1):
        dn = math.sqrt(-2.0 * math.log(vn / dn + math.exp(-0.5 * dn * dn)))
        kn[i + 1] = int(dn / tn * m1)
        tn = dn
        fn[i], wn[i] = math.exp(-0.5 * dn * dn), dn / m1
    return kn, [_f32(w) for w in wn], [_f32(f) for f in fn]


KN, WN, FN = _ziggurat()

# The coefficients of fdlibm's logarithm (ln 2 split in two, and the polynomial of
# log((1+s)/(1-s))), the algorithm Go's math.Log computes.
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_L = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01, 2.222219843214978396e-01,
      1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01)
_SQRT2_2 = math.sqrt(2) / 2


def log(x: float) -> float:
    """The natural logarithm as Go's math.Log computes it, to the last bit (the C
    library's may differ by one ulp, which would change a normal deviate's tail)."""
    if x != x or x == math.inf:
        return x
    if x < 0:
        return math.nan
    if x == 0:
        return -math.inf
    f1, ki = math.frexp(x)
    if f1 < _SQRT2_2:
        f1, ki = f1 * 2, ki - 1
    f, k = f1 - 1, float(ki)
    s = f / (2 + f)
    s2 = s * s
    s4 = s2 * s2
    r = s2 * (_L[0] + s4 * (_L[2] + s4 * (_L[4] + s4 * _L[6]))) + s4 * (_L[1] + s4 * (_L[3] + s4 * _L[5]))
    hfsq = 0.5 * f * f
    return k * _LN2_HI - ((hfsq - (s * (hfsq + r) + k * _LN2_LO)) - f)


_RN = 3.442619855899


class Rand:
    """Go's rand.Rand over a PCG: the same draws from the same seeds."""

    __slots__ = ("src",)

    def __init__(self, seed1: int, seed2: int) -> None:
        self.src = PCG(seed1, seed2)

    def uint64(self) -> int:
        return self.src.uint64()

    def uint64n(self, n: int) -> int:
        """A uniform integer in [0, n), n ≥ 1 (Lemire's method, as Go draws it)."""
        if n & (n - 1) == 0:
            return self.uint64() & (n - 1)
        product = self.uint64() * n
        if product & M64 < n:
            thresh = ((1 << 64) - n) % n
            while product & M64 < thresh:
                product = self.uint64() * n
        return product >> 64

    def intn(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        if n <= 0:
            raise ValueError("invalid argument to intn")
        return self.uint64n(n)

    def float64(self) -> float:
        """A uniform float in [0, 1) with 53 random bits."""
        return (self.uint64() & ((1 << 53) - 1)) / 9007199254740992.0

    def shuffle(self, n: int, swap: Callable[[int, int], None]) -> None:
        """Fisher–Yates over n elements."""
        if n < 0:
            raise ValueError("invalid argument to shuffle")
        for i in range(n - 1, 0, -1):
            swap(i, self.uint64n(i + 1))

    def perm(self, n: int) -> list[int]:
        """A random permutation of 0..n-1."""
        p = list(range(n))
        uint64n = self.uint64n
        for i in range(n - 1, 0, -1):
            j = uint64n(i + 1)
            p[i], p[j] = p[j], p[i]
        return p

    def norm_float64(self) -> float:
        """A standard normal deviate (Go's NormFloat64, the ziggurat)."""
        while True:
            u = self.uint64()
            j = u & 0xFFFFFFFF
            if j >= 1 << 31:
                j -= 1 << 32  # int32(u), possibly negative
            i = (u >> 32) & 0x7F
            x = j * WN[i]
            if abs(j) < KN[i]:
                return x
            if i == 0:
                while True:
                    x = -log(self.float64()) * (1.0 / _RN)
                    y = -log(self.float64())
                    if y + y >= x * x:
                        break
                return _RN + x if j > 0 else -_RN - x
            # float32 arithmetic, as Go computes this test.
            f = _f32(FN[i] + _f32(_f32(self.float64()) * _f32(FN[i - 1] - FN[i])))
            if f < _f32(math.exp(-0.5 * x * x)):
                return x

    def norm_float64s(self, count: int) -> np.ndarray:
        """count standard normal deviates, exactly those count calls of norm_float64
        draw (and leaving the generator where they leave it), computed with numpy: the
        generator's states come by jumping ahead in blocks, every output whose
        ziggurat strip accepts it at once (about 99%) is converted in one go, and only
        the rest run the scalar code, over the block's outputs."""
        out = np.empty(count, dtype=np.float64)
        filled = 0
        while filled < count:
            filled = self._norm_block(out, filled)
        return out

    def _norm_block(self, out: np.ndarray, filled: int) -> int:
        """Fill out from filled on with the deviates of one block of outputs; returns
        how far out is filled, the generator moved past what was used."""
        need = len(out) - filled
        m = min(_BLOCK, need + need // 32 + 64)
        states = _states_after(self.src.state, m)
        u = _dxsm(states)
        j = (u & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.int32).astype(np.int64)
        strip = ((u >> np.uint64(32)) & np.uint64(0x7F)).astype(np.intp)
        x = j.astype(np.float64) * _WN[strip]
        slow = np.flatnonzero(np.abs(j) >= _KN[strip])
        src = _BlockSource(u)
        scalar = Rand.__new__(Rand)
        scalar.src = src
        p, k = 0, 0
        while filled < len(out) and p < m:
            k += int(np.searchsorted(slow[k:], p))
            q = int(slow[k]) if k < len(slow) else m
            take = min(q - p, len(out) - filled)
            out[filled:filled + take] = x[p:p + take]
            filled, p = filled + take, p + take
            if filled == len(out) or p == m:
                break
            src.pos = p
            try:
                out[filled] = scalar.norm_float64()
            except _Exhausted:
                if p == 0:  # a deviate longer than a block: draw it the plain way
                    out[filled] = self.norm_float64()
                    return filled + 1
                break
            filled, p = filled + 1, src.pos
        if p > 0:
            self.src.state = _to_int(states[:, p - 1])
        return filled


# Outputs per block of the vectorised draws: the jump-ahead tables are this long.
_BLOCK = 1 << 16
_KN = np.array(KN, dtype=np.int64)
_WN = np.array(WN, dtype=np.float64)
_M32 = np.uint64(0xFFFFFFFF)


class _Exhausted(Exception):
    """A scalar draw needed more outputs than its block holds."""


class _BlockSource:
    """Outputs already computed, handed out one by one from pos (a PCG's stand-in)."""

    __slots__ = ("u", "pos")

    def __init__(self, u: np.ndarray) -> None:
        self.u, self.pos = u, 0

    def uint64(self) -> int:
        if self.pos >= len(self.u):
            raise _Exhausted
        self.pos += 1
        return int(self.u[self.pos - 1])


def _limbs(x: int) -> np.ndarray:
    """A 128-bit value as four 32-bit limbs (uint64 holding each), lowest first."""
    return np.array([(x >> (32 * i)) & 0xFFFFFFFF for i in range(4)], dtype=np.uint64)


def _to_int(limbs: np.ndarray) -> int:
    return sum(int(limbs[i]) << (32 * i) for i in range(4))


def _mul_add(a: np.ndarray, s: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(a·s + c) mod 2^128 for limb arrays: a and c (4, n) or (4,), s (4,)."""
    cols = [np.zeros(np.shape(a)[1:], dtype=np.uint64) for _ in range(5)]
    for i in range(4):
        for k in range(4 - i):
            prod = a[i] * s[k]  # < 2^64: exact
            cols[i + k] = cols[i + k] + (prod & _M32)
            cols[i + k + 1] = cols[i + k + 1] + (prod >> np.uint64(32))
    out = np.empty((4,) + np.shape(a)[1:], dtype=np.uint64)
    carry = np.zeros(np.shape(a)[1:], dtype=np.uint64)
    for i in range(4):
        t = cols[i] + c[i] + carry
        out[i], carry = t & _M32, t >> np.uint64(32)
    return out


@functools.lru_cache(maxsize=1)
def _jumps() -> tuple[np.ndarray, np.ndarray]:
    """For i = 1.._BLOCK, A_i and C_i (limbs, (4, _BLOCK)) with state_i = A_i·state_0 + C_i:
    A_i = MUL^i and C_i = INC·(MUL^(i−1) + … + 1), built by doubling:
    A_(m+j) = A_j·A_m and C_(m+j) = A_j·C_m + C_j."""
    a, c = _limbs(_MUL).reshape(4, 1), _limbs(_INC).reshape(4, 1)
    while a.shape[1] < _BLOCK:
        am, cm = a[:, -1].copy(), c[:, -1].copy()
        zero = np.zeros(4, dtype=np.uint64)
        a, c = np.concatenate([a, _mul_add(a, am, zero)], axis=1), np.concatenate([c, _mul_add(a, cm, c)], axis=1)
    return a, c


def _states_after(state: int, m: int) -> np.ndarray:
    """The generator's states after 1..m steps from state, as limbs (4, m)."""
    a, c = _jumps()
    return _mul_add(a[:, :m], _limbs(state), c[:, :m])


def _dxsm(states: np.ndarray) -> np.ndarray:
    """The DXSM outputs of states (limbs)."""
    hi = (states[3] << np.uint64(32)) | states[2]
    lo = (states[1] << np.uint64(32)) | states[0]
    hi = hi ^ (hi >> np.uint64(32))
    hi = hi * np.uint64(_CHEAP_MUL)
    hi = hi ^ (hi >> np.uint64(48))
    return hi * (lo | np.uint64(1))
