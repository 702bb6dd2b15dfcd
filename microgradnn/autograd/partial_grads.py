"""Partial gradients and their sums, in a plain (not recorded) backward pass.

A node used by several consumers receives one partial gradient from each; the engine
adds them up before the node runs. Two kinds of partial gradient need care:

- ``x[index]`` hands back a gradient that is zero everywhere but at ``index``. Made dense
  at once, reading a sequence step by step (``x[t]`` for every t) would cost one full-size
  array per step, and summing them as many more: quadratic in the sequence length. So the
  plain backward of ``GetItem`` returns an :class:`IndexedGrad`, written out only when
  needed, and added into a sum in place.
- A sum the engine has made itself is an array nobody else has seen, so later partials can
  be added into it in place instead of allocating a new array each time. It travels as a
  :class:`Sum`, which is how the engine knows it may write into it; once the node's total
  is handed on (:func:`total`) it is a plain array again, and nobody writes into it.
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


class Sum:
    """A running sum of partial gradients in an array this backward pass owns."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def add(self, g) -> "Sum":
        kind = type(g)
        if kind is IndexedGrad:
            g.add_into(self.array)
        elif kind is Sum:
            self.array += g.array
        else:
            self.array += g
        return self


def add(a, b) -> Sum:
    """``a + b`` for two partial gradients of the same shape and dtype, as a :class:`Sum`.

    Into a Sum already made in place; otherwise into a new array (which the Sum owns).
    """
    if type(a) is Sum:
        return a.add(b)
    if type(b) is Sum:
        return b.add(a)  # floating-point addition commutes, so the order does not matter
    if type(a) is IndexedGrad:
        a, b = b, a
        if type(a) is IndexedGrad:
            return Sum(a.dense()).add(b)
    if type(b) is IndexedGrad:
        return Sum(np.array(a, copy=True)).add(b)
    return Sum(np.asarray(a + b))


def total(g):
    """A node's complete gradient as an array (or Tensor): a Sum released, an IndexedGrad
    written out; anything else as it is."""
    kind = type(g)
    if kind is Sum:
        return g.array
    if kind is IndexedGrad:
        return g.dense()
    return g
