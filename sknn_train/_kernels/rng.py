"""Counter-based random numbers for dropout masks.

A mask entry is a pure function of ``(key, layer, row, unit)``: the forward pass
and the backward pass compute the same mask without storing it, sparse input
needs no per-nonzero buffer, and the same ``random_state`` gives the same fit.
Nothing here touches numpy's or numba's global generators.

Bits come from the splitmix64 finaliser. One 64-bit draw serves four units
(16 bits each), so a drop probability acts as a multiple of 2**-16; the kept
values are scaled by the exact inverse of the resulting keep probability, so
the expectation of every unit is unchanged.
"""

import numpy as np

from .._jit import entry, kernel

_C1 = np.uint64(0x9E3779B97F4A7C15)
_C2 = np.uint64(0xD1B54A32D192ED03)
_C3 = np.uint64(0xBF58476D1CE4E5B9)
_C4 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S16 = np.uint64(16)
_S2 = np.uint64(2)
_MASK16 = np.uint64(0xFFFF)
_THREE = np.uint64(3)


@entry
def mix(z):
    """splitmix64 finaliser: a bijective scramble of a uint64."""
    z = (z ^ (z >> _S30)) * _C3
    z = (z ^ (z >> _S27)) * _C4
    return z ^ (z >> _S31)


@kernel
def row_key(key, layer, row):
    """The stream of one (layer, row): every unit's bits derive from it."""
    return mix(key ^ (np.uint64(layer) * _C1 + np.uint64(row) * _C2))


@kernel
def unit_bits(rkey, unit):
    """16 random bits of ``unit`` in the stream ``rkey``."""
    u = np.uint64(unit)
    z = mix(rkey + (u >> _S2) * _C1)
    return (z >> (_S16 * (u & _THREE))) & _MASK16


@kernel
def threshold(p):
    """Integer threshold: a unit is dropped when its 16 bits are below it."""
    return np.uint64(int(p * 65536.0 + 0.5))


@kernel
def keep_scale(p):
    """Scale of the kept units: the inverse of the exact keep probability."""
    t = int(p * 65536.0 + 0.5)
    return 65536.0 / (65536.0 - t) if t < 65536 else 0.0


@kernel
def dropout_rows(src, dst, key, layer, row0, p):
    """``dst = src * mask`` for the ``(m, k)`` block ``src`` (rows ``row0 + r``)."""
    m, k = src.shape
    t = threshold(p)
    scale = keep_scale(p)
    for r in range(m):
        rk = row_key(key, layer, row0 + r)
        for g in range(0, k, 4):
            # one draw serves four units; identical to unit_bits(rk, g + q)
            z = mix(rk + np.uint64(g >> 2) * _C1)
            for q in range(4 if k - g > 4 else k - g):
                if (z >> (_S16 * np.uint64(q))) & _MASK16 < t:
                    dst[r, g + q] = 0.0
                else:
                    dst[r, g + q] = src[r, g + q] * scale
