"""Gradients that are zero except at an index, and sums that reuse the engine's buffers.

``x[index]`` hands back a gradient that is zero everywhere but at ``index``. Made dense at
once, reading a sequence step by step (``x[t]`` for every t) would cost one full-size
array per step, and summing them as many more: quadratic in the sequence length. So the
plain backward of ``GetItem`` returns an :class:`IndexedGrad` instead, and the engine adds
such pieces into one buffer it owns.
"""
from __future__ import annotations

import numpy as np


class IndexedGrad:
    """``zeros(shape)`` with ``values`` added at ``index``, not yet written out."""

    __slots__ = ("index", "values", "shape", "dtype", "advanced")

    def __init__(self, index, values, shape: tuple[int, ...], advanced: bool) -> None:
        self.index, self.values, self.shape = index, values, tuple(shape)
        self.dtype = values.dtype
        self.advanced = advanced  # integer-array index: repeated entries must add up

    def add_into(self, buf: np.ndarray) -> None:
        if self.advanced:
            np.add.at(buf, self.index, self.values)
        else:
            buf[self.index] += self.values

    def dense(self) -> np.ndarray:
        buf = np.zeros(self.shape, dtype=self.dtype)
        if self.advanced:
            np.add.at(buf, self.index, self.values)
        else:
            buf[self.index] = self.values
        return buf


def dense(g):
    """``g`` as an array (an :class:`IndexedGrad` written out; anything else as it is)."""
    return g.dense() if type(g) is IndexedGrad else g


def add(a, b, owned: dict):
    """``a + b`` for two partial gradients of the same shape and dtype.

    ``owned`` maps id -> array for the buffers this backward pass made and nobody else has
    seen: those are summed into in place. A buffer leaves ``owned`` when its gradient is
    handed on (see the engine), since then other nodes may hold it.
    """
    if type(a) is IndexedGrad:
        if type(b) is IndexedGrad:
            buf = a.dense()
            b.add_into(buf)
            owned[id(buf)] = buf
            return buf
        a, b = b, a
    if owned.get(id(a)) is a and isinstance(a, np.ndarray):
        if type(b) is IndexedGrad:
            b.add_into(a)
        else:
            a += b
        return a
    if type(b) is IndexedGrad:
        buf = np.array(a, copy=True)
        b.add_into(buf)
    else:
        buf = np.asarray(a + b)
    owned[id(buf)] = buf
    return buf
