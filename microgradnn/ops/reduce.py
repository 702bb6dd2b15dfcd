"""Reductions: sum, mean, max, min, var, std, logsumexp, softmax, log_softmax, sum_to.

``axis`` is an int, a tuple of ints or None (all axes); ``dim`` is accepted as an alias,
and ``keepdim`` for ``keepdims``, so PyTorch spellings work too.
"""
from __future__ import annotations

import builtins
import math
from typing import NamedTuple

import numpy as np

from ..autograd.function import Function
from ._util import Shape, data, kept_shape, lift, normalize_axis, reduced_shape
from ..autograd.scope import composite


class Sum(Function):
    """y = Σ x over axes;  dy/dx = 1 (the gradient is broadcast back)."""

    __slots__ = ("shape", "axes", "keepdims")
    array_backward = True

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.keepdims = x.shape, keepdims
        ctx.axes = normalize_axis("sum", axis, x.ndim, x.shape)
        return np.sum(x, axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.keepdims:
            grad = grad.reshape(kept_shape(ctx.shape, ctx.axes))
        return broadcast_to(grad, ctx.shape)


class Mean(Function):
    """y = (1/n) Σ x over axes;  dy/dx = 1/n."""

    __slots__ = ("shape", "axes", "keepdims", "n")
    array_backward = True

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.keepdims = x.shape, keepdims
        ctx.axes = axes = normalize_axis("mean", axis, x.ndim, x.shape)
        ctx.n = x.size if axes is None else math.prod(x.shape[a] for a in axes)
        if ctx.n == 0:
            # NumPy warns and returns nan; keep the nan, skip the warning.
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.sum(x, axis=axes, keepdims=keepdims) / np.asarray(0, x.dtype)
        return np.mean(x, axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.keepdims:
            grad = grad.reshape(kept_shape(ctx.shape, ctx.axes))
        return broadcast_to(grad / builtins.max(ctx.n, 1), ctx.shape)


class _Extreme(Function):
    """Shared body of Max and Min: ties share the gradient evenly."""

    __slots__ = ("shape", "axes", "keepdims")
    array_backward = True
    np_fn = staticmethod(np.max)

    @classmethod
    def _forward(cls, ctx, x, axis, keepdims):
        ctx.shape, ctx.keepdims = x.shape, keepdims
        ctx.axes = axes = normalize_axis(cls.op_name, axis, x.ndim, x.shape)
        reduced = range(x.ndim) if axes is None else axes
        if any(x.shape[a] == 0 for a in reduced):
            raise ValueError(f"{cls.op_name}: cannot reduce over an empty axis "
                             f"(tensor of shape {x.shape}, axis {axis})")
        y = cls.np_fn(x, axis=axes, keepdims=True)
        ctx.save_for_backward(x, y)
        return y if keepdims else y.reshape(reduced_shape(x.shape, axes))

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        hit = data(x) == data(y)
        # Each tied element gets an equal share: divide by how many hit the extreme.
        share = (hit / hit.sum(axis=ctx.axes, keepdims=True)).astype(data(x).dtype)
        if not ctx.keepdims:
            grad = grad.reshape(kept_shape(ctx.shape, ctx.axes))
        return grad * share


class Max(_Extreme):
    """y = max x over axes;  dy/dx = 1/k for the k elements equal to the max, else 0."""

    __slots__ = ()
    np_fn = staticmethod(np.max)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return Max._forward(ctx, x, axis, keepdims)


class Min(_Extreme):
    """y = min x over axes;  dy/dx = 1/k for the k elements equal to the min, else 0."""

    __slots__ = ()
    np_fn = staticmethod(np.min)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return Min._forward(ctx, x, axis, keepdims)


class SumTo(Function):
    """y = x summed down to ``shape`` (undoes broadcasting);  dy/dx = 1 (broadcast back)."""

    __slots__ = ("in_shape",)
    array_backward = True
    op_name = "sum_to"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return _sum_to_array(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return broadcast_to(grad, ctx.in_shape)


def _sum_to_array(x, shape: Shape):
    lead = x.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to: cannot sum shape {x.shape} to {shape}")
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and x.shape[i + lead] != 1)
    if axes:
        x = np.sum(x, axis=axes, keepdims=True).reshape(shape)
    if x.shape != tuple(shape):
        raise ValueError(f"sum_to: cannot sum shape {x.shape} to {shape}")
    return x


sum_to = lift(_sum_to_array, lambda x, shape: SumTo.apply(x, shape=tuple(shape)))


# ---------------------------------------------------------------- public functions
def _axis(op: str, axis, dim):
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}: pass axis or its alias dim, not both")
        return dim
    return axis


def _keep(keepdims: bool, keepdim) -> bool:
    return bool(keepdims if keepdim is None else keepdim)


def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Sum over ``axis`` (int, tuple or None = all).

    >>> import microgradnn as mg
    >>> mg.sum(mg.ones((2, 3)), axis=0)
    tensor([2., 2., 2.])
    """
    return Sum.apply(_t(x), axis=_axis("sum", axis, dim), keepdims=_keep(keepdims, keepdim))


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Arithmetic mean over ``axis``.

    >>> import microgradnn as mg
    >>> mg.mean(mg.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    tensor([1.5, 3.5])
    """
    return Mean.apply(_t(x), axis=_axis("mean", axis, dim), keepdims=_keep(keepdims, keepdim))


class ValuesIndices(NamedTuple):
    """What ``max``/``min`` return when given PyTorch's ``dim=``: values and their indices."""

    values: "Tensor"
    indices: "Tensor"


def max(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Largest element over ``axis``; tied elements share the gradient evenly.

    With NumPy's ``axis`` the result is the values; with PyTorch's ``dim`` it is
    ``(values, indices)``, as ``torch.max(x, dim)`` returns, so ``x.max(dim=1)[0]`` means
    the same in both libraries.

    >>> import microgradnn as mg
    >>> x = mg.tensor([[1.0, 5.0], [3.0, 2.0]])
    >>> mg.max(x, axis=1)
    tensor([5., 3.])
    >>> x.max(dim=1).indices
    tensor([1, 0])
    """
    return _extreme(Max, np.argmax, x, axis, keepdims, dim, keepdim)


def min(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Smallest element over ``axis``; tied elements share the gradient evenly. With
    ``dim=`` the result is ``(values, indices)``, as in PyTorch (see :func:`max`).

    >>> import microgradnn as mg
    >>> mg.min(mg.tensor([[1.0, 5.0], [3.0, 2.0]]), axis=1)
    tensor([1., 2.])
    """
    return _extreme(Min, np.argmin, x, axis, keepdims, dim, keepdim)


def _extreme(op, arg_fn, x, axis, keepdims, dim, keepdim):
    x = _t(x)
    keep = _keep(keepdims, keepdim)
    values = op.apply(x, axis=_axis(op.op_name, axis, dim), keepdims=keep)
    if dim is None:
        return values
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op.op_name}: dim must be one int (PyTorch), got {dim!r}; use "
                        "axis= for several axes")
    index = arg_fn(x.data, axis=normalize_axis(op.op_name, dim, x.ndim, x.shape)[0]
                   if x.ndim else None, keepdims=keep)
    return ValuesIndices(values, _make(np.asarray(index), False, None))


def var(x, axis=None, keepdims=False, *, ddof=0, correction=None, dim=None, keepdim=None):
    """Variance over ``axis``: Σ(x - mean)² / (n - ddof). NumPy's default ddof=0;
    ``correction`` is PyTorch's name for ddof (PyTorch defaults to 1).

    >>> import microgradnn as mg
    >>> mg.var(mg.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor(1.25)
    """
    x = _t(x)
    axis = _axis("var", axis, dim)
    keepdims = _keep(keepdims, keepdim)
    if correction is not None:
        ddof = correction
    axes = normalize_axis("var", axis, x.ndim, x.shape)
    n = x.size if axes is None else math.prod(x.shape[a] for a in axes)
    d = x - x.mean(axis=axes, keepdims=True)
    return (d * d).sum(axis=axes, keepdims=keepdims) / builtins.max(n - ddof, 0)


def std(x, axis=None, keepdims=False, *, ddof=0, correction=None, dim=None, keepdim=None):
    """Standard deviation over ``axis``: √var (see :func:`var` for ``ddof``).

    >>> import microgradnn as mg
    >>> mg.std(mg.tensor([1.0, 3.0]))
    tensor(1.)
    """
    return var(x, axis, keepdims, ddof=ddof, correction=correction, dim=dim,
               keepdim=keepdim).sqrt()


@composite
def logsumexp(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """log Σ eˣ over ``axis``, without overflow for any finite input.

    >>> import microgradnn as mg
    >>> mg.logsumexp(mg.tensor([1000.0, 1000.0], dtype=mg.float64))
    tensor(1000.6931, dtype=float64)
    """
    x = _float(x)
    axes = normalize_axis("logsumexp", _axis("logsumexp", axis, dim), x.ndim, x.shape)
    if x.size == 0:
        # Over an empty axis the sum of exponentials is 0 and its log is -inf; computed
        # directly, so that neither log(0) nor its derivative 1/0 is ever evaluated.
        s = x.sum(axis=axes, keepdims=True) - np.inf
    else:
        m = _shift(x, axes)
        s = (x - m).exp().sum(axis=axes, keepdims=True).log() + m
    if not _keep(keepdims, keepdim):
        s = s.reshape(reduced_shape(x.shape, axes))
    return s


@composite
def softmax(x, axis=-1, *, dim=None):
    """eˣ / Σ eˣ along ``axis`` (default the last), stable for any finite input.

    >>> import microgradnn as mg
    >>> mg.softmax(mg.tensor([0.0, 0.0]))
    tensor([0.5, 0.5])
    """
    x = _float(x)
    axes = normalize_axis("softmax", _axis("softmax", axis, dim), x.ndim, x.shape)
    e = (x - _shift(x, axes)).exp()
    return e / e.sum(axis=axes, keepdims=True)


@composite
def log_softmax(x, axis=-1, *, dim=None):
    """x - logsumexp(x) along ``axis`` (default the last), stable for any finite input.

    >>> import microgradnn as mg
    >>> mg.log_softmax(mg.tensor([0.0, 0.0]))
    tensor([-0.6931, -0.6931])
    """
    x = _float(x)
    axes = normalize_axis("log_softmax", _axis("log_softmax", axis, dim), x.ndim, x.shape)
    return x - logsumexp(x, axis=axes, keepdims=True)


def _shift(x, axes):
    """The max over ``axes`` as a constant: subtracting it prevents overflow in exp and
    changes neither value nor gradient (it cancels), so it needs no gradient of its own."""
    m = np.max(x.data, axis=axes, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0).astype(x.data.dtype)
    return _make(m, False, None)


def _t(x):
    return x if isinstance(x, Tensor) else tensor(x)


def _float(x):
    """``x`` as a floating-point tensor (exponentials of integers are floats, as PyTorch)."""
    x = _t(x)
    return x if x.dtype.kind in "fc" else x.astype(get_default_dtype())


from ..dtypes import get_default_dtype  # noqa: E402
from ..tensor import Tensor, _make, tensor  # noqa: E402
from .shape import broadcast_to  # noqa: E402
