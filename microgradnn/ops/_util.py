"""Small helpers shared by the operation files.

Built-in backward functions receive either NumPy arrays (plain backward) or Tensors
(``create_graph=True``). ``lift`` makes one function that serves both: the NumPy
function for arrays, the differentiable operation for Tensors.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Shape = tuple[int, ...]


def lift(np_fn: Callable, op: Callable) -> Callable:
    """``f(x, ...)`` calling ``op`` when ``x`` is a Tensor and ``np_fn`` otherwise."""

    def f(x, *args, **kwargs):
        if isinstance(x, Tensor):
            return op(x, *args, **kwargs)
        return np_fn(x, *args, **kwargs)

    f.__name__ = getattr(np_fn, "__name__", "lifted")
    return f


def data(x):
    """The array behind a Tensor, or ``x`` itself: used for masks and other constants."""
    return x.data if isinstance(x, Tensor) else x


def normalize_axis(op: str, axis, ndim: int, shape: Shape) -> tuple[int, ...] | None:
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative axes, or None for all."""
    if axis is None:
        return None
    try:
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    except TypeError:
        raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}") from None
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}")
        if not -max(ndim, 1) <= a < max(ndim, 1):  # a 0-d tensor takes 0 and -1 (PyTorch)
            raise ValueError(f"{op}: axis {a} is out of range for a tensor of shape {shape} "
                             f"(ndim {ndim})")
        out.append(int(a) % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    if ndim == 0:
        return ()
    return tuple(sorted(out))


def reduced_shape(shape: Shape, axes: tuple[int, ...] | None) -> Shape:
    """The shape a reduction over ``axes`` has with keepdims=False."""
    if axes is None:
        return ()
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def kept_shape(shape: Shape, axes: tuple[int, ...] | None) -> Shape:
    """The shape a reduction over ``axes`` has with keepdims=True."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


from ..tensor import Tensor  # noqa: E402
