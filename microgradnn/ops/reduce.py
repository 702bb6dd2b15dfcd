"""Reductions: sum, mean, max, min, var, std, logsumexp, softmax, log_softmax, sum_to.

Each name means what it means in PyTorch: ``dim`` (an int, a tuple of ints or None for
all axes) and ``keepdim``; NumPy's ``axis`` and ``keepdims`` are aliases of the same
meaning. ``max``/``min`` over one dim return ``(values, indices)``; ``var``/``std`` are
unbiased unless told otherwise.
"""
from __future__ import annotations

import builtins
import math
from typing import NamedTuple

import numpy as np

from .. import _validate
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

    np_fn = staticmethod(np.max)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return Max._forward(ctx, x, axis, keepdims)


class Min(_Extreme):
    """y = min x over axes;  dy/dx = 1/k for the k elements equal to the min, else 0."""

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
    """PyTorch's ``dim`` and NumPy's ``axis`` name one argument: give either, not both."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}: pass dim or its alias axis, not both")
        return dim
    return axis


def _keep(keepdims, keepdim) -> bool:
    return bool(keepdims if keepdim is None else keepdim)


def dim_keep(op: str, axis, keepdims, dim, keepdim):
    """Resolve the ``dim``/``axis`` and ``keepdim``/``keepdims`` aliases."""
    return _axis(op, axis, dim), _keep(keepdims, keepdim)


def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Sum over ``axis`` (``dim``: an int, a tuple or None = all).

    >>> import microgradnn as mg
    >>> mg.sum(mg.ones((2, 3)), axis=0)
    tensor([2., 2., 2.])
    """
    return Sum.apply(_t(x), axis=_axis("sum", axis, dim), keepdims=_keep(keepdims, keepdim))


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Arithmetic mean over ``axis`` (``dim``); integer tensors are refused, as in PyTorch.

    >>> import microgradnn as mg
    >>> mg.mean(mg.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    tensor([1.5, 3.5])
    """
    x = _t(x)
    if x.dtype.kind != "f":
        raise TypeError(f"mean: could not infer the output dtype: the input has dtype "
                        f"{x.dtype}; use x.float().mean() (PyTorch refuses too)")
    return Mean.apply(x, axis=_axis("mean", axis, dim), keepdims=_keep(keepdims, keepdim))


class ValuesIndices(NamedTuple):
    """What ``max``/``min`` over one dim return: the values and their indices (PyTorch's
    ``torch.return_types.max``)."""

    values: "Tensor"
    indices: "Tensor"


@composite
def max(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The largest element (a 0-d tensor), or over one ``dim`` the named tuple
    ``(values, indices)``, as in PyTorch; ``axis`` is an alias of ``dim``. Over all
    elements tied maxima share the gradient evenly; over one dim it goes to the element
    ``indices`` names. For several axes at once use :func:`amax`.

    >>> import microgradnn as mg
    >>> x = mg.tensor([[1.0, 5.0], [3.0, 2.0]])
    >>> x.max()
    tensor(5.)
    >>> x.max(1)
    ValuesIndices(values=tensor([5., 3.]), indices=tensor([1, 0]))
    """
    return _extreme(Max, np.argmax, x, dim, keepdim, axis, keepdims)


@composite
def min(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The smallest element, or over one ``dim`` ``(values, indices)`` (see :func:`max`).

    >>> import microgradnn as mg
    >>> mg.min(mg.tensor([[1.0, 5.0], [3.0, 2.0]]), 1).values
    tensor([1., 2.])
    """
    return _extreme(Min, np.argmin, x, dim, keepdim, axis, keepdims)


def amax(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The largest values over ``dim`` (an int, a tuple or None = all), values only.

    >>> import microgradnn as mg
    >>> mg.amax(mg.tensor([[1.0, 5.0], [3.0, 2.0]]), (0, 1))
    tensor(5.)
    """
    d, keep = dim_keep("amax", dim, keepdim, axis, keepdims)
    return Max.apply(_t(x), axis=d, keepdims=keep)


def amin(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The smallest values over ``dim`` (an int, a tuple or None = all), values only."""
    d, keep = dim_keep("amin", dim, keepdim, axis, keepdims)
    return Min.apply(_t(x), axis=d, keepdims=keep)


def _extreme(op, arg_fn, x, dim, keepdim, axis, keepdims):
    x = _t(x)
    name = op.op_name
    if isinstance(dim, Tensor):
        raise TypeError(f"{name}: to compare two tensors elementwise use "
                        f"mg.{'maximum' if name == 'max' else 'minimum'}(a, b)")
    d, keep = dim_keep(name, dim, keepdim, axis, keepdims)
    if d is None:
        if keep:
            raise TypeError(f"{name}: keepdim needs a dim")
        return op.apply(x, axis=None, keepdims=False)
    if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
        raise TypeError(f"{name}: dim must be one int, got {d!r}; for several axes use "
                        f"mg.a{name}(x, dims), which returns the values only")
    axes = normalize_axis(name, d, x.ndim, x.shape)
    if not x.ndim or not x.shape[axes[0]]:
        # a 0-d tensor is its own max; over an empty dim the primitive raises the error
        values = op.apply(x, axis=d, keepdims=keep)
        return ValuesIndices(values, _make(np.zeros((), np.int64), False, None))
    a = axes[0]
    index = np.asarray(arg_fn(x.data, axis=a, keepdims=True), dtype=np.int64)
    # As in PyTorch the values are read at the returned indices, so their gradient goes to
    # that one element of each slice, also on ties (amax/amin share it among the ties).
    values = _shape_ops.gather(x, a, index)
    if not keep:
        values, index = values.squeeze(a), index.squeeze(a)
    return ValuesIndices(values, _make(index, False, None))


def _arg(op: str, arg_fn, x, dim, keepdim, axis, keepdims):
    x = _t(x)
    d, keep = dim_keep(op, dim, keepdim, axis, keepdims)
    if d is None:  # over the flattened tensor (PyTorch); keepdim keeps every axis as 1
        if x.data.size == 0:
            raise ValueError(f"{op}: cannot take the {op} of an empty tensor")
        i = np.asarray(arg_fn(x.data.reshape(-1)), dtype=np.int64)
        return _make(i.reshape((1,) * x.ndim) if keep else i, False, None)
    a = _validate.check_axis(op, d, x.ndim)
    if x.ndim == 0:
        return _make(np.zeros((), np.int64), False, None)
    if x.shape[a] == 0:
        raise ValueError(f"{op}: cannot reduce over the empty dim {d} of shape {x.shape}")
    i = arg_fn(x.data, axis=a, keepdims=keep)
    return _make(np.asarray(i, dtype=np.int64), False, None)


def argmax(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the largest element (over the flattened tensor when ``dim`` is None);
    an int64 tensor without gradient.

    >>> import microgradnn as mg
    >>> mg.argmax(mg.tensor([[1.0, 5.0], [3.0, 2.0]]), dim=1)
    tensor([1, 0])
    """
    return _arg("argmax", np.argmax, x, dim, keepdim, axis, keepdims)


def argmin(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the smallest element (see :func:`argmax`)."""
    return _arg("argmin", np.argmin, x, dim, keepdim, axis, keepdims)


def _correction(op: str, unbiased, correction, ddof) -> float:
    given = [v is not None for v in (unbiased, correction, ddof)]
    if builtins.sum(given) > 1:
        raise TypeError(f"{op}: give one of unbiased, correction and ddof (its NumPy alias)")
    if unbiased is not None:
        if not isinstance(unbiased, (bool, np.bool_)):
            raise TypeError(f"{op}: unbiased must be a bool, got {unbiased!r}")
        return 1 if unbiased else 0
    c = correction if correction is not None else ddof
    return 1 if c is None else c


def _var(op, x, dim, unbiased, keepdim, correction, axis, keepdims, ddof, then=None):
    """Σ(x - mean)² / (n - correction) over the resolved dims, computed as PyTorch does
    on the CPU: in float64 for narrower floats (so float32 squares do not overflow), and
    ``then`` (std's square root) applied before the result is cast back."""
    x = _float(x)
    dtype = x.data.dtype
    if isinstance(dim, (bool, np.bool_)):  # PyTorch's var(unbiased) overload
        dim, unbiased = None, dim
    d, keep = dim_keep(op, dim, keepdim, axis, keepdims)
    c = _correction(op, unbiased, correction, ddof)
    axes = normalize_axis(op, d, x.ndim, x.shape)
    n = x.data.size if axes is None else math.prod(x.shape[a] for a in axes)
    narrow = x.data.dtype.itemsize < 8
    if narrow:  # PyTorch accumulates float32 and float16 in float64 here: so do we
        x = x.astype(np.float64)
    dev = x - x.mean(axis=axes, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = (dev * dev).sum(axis=axes, keepdims=keep) / builtins.max(n - c, 0)
    if then is not None:
        v = then(v)
    return v.astype(dtype) if narrow else v


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
        keepdims=None, ddof=None):
    """Variance over ``dim``: Σ(x - mean)² / (n - correction), unbiased by default
    (correction = 1), as in PyTorch. ``unbiased=False`` or ``correction=0`` give the
    biased form; ``axis``, ``keepdims`` and ``ddof`` are NumPy's names for the same.

    >>> import microgradnn as mg
    >>> mg.var(mg.tensor([1.0, 2.0, 3.0, 4.0])), mg.var(mg.tensor([1.0, 2.0, 3.0, 4.0]), correction=0)
    (tensor(1.6667), tensor(1.25))
    """
    return _var("var", x, dim, unbiased, keepdim, correction, axis, keepdims, ddof)


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
        keepdims=None, ddof=None):
    """Standard deviation over ``dim``: √var, unbiased by default (see :func:`var`). Its
    gradient where the values are all equal is 0 (PyTorch's), not 0·∞.

    >>> import microgradnn as mg
    >>> mg.std(mg.tensor([1.0, 3.0])), mg.std(mg.tensor([1.0, 3.0]), unbiased=False)
    (tensor(1.4142), tensor(1.))
    """
    return _var("std", x, dim, unbiased, keepdim, correction, axis, keepdims, ddof, _sqrt0)


def _sqrt0(v):
    """√v with gradient 0 where v = 0 (√ has an infinite slope there); nan stays nan."""
    pos = _make(np.asarray(v.data != 0), False, None)
    one = _make(np.ones((), v.data.dtype), False, None)
    zero = _make(np.zeros((), v.data.dtype), False, None)
    return where(pos, where(pos, v, one).sqrt(), zero)


@composite
def logsumexp(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """log Σ eˣ over ``axis``, without overflow for any finite input.

    >>> import microgradnn as mg
    >>> mg.logsumexp(mg.tensor([1000.0, 1000.0], dtype=mg.float64))
    tensor(1000.6931, dtype=float64)
    """
    x = _float(x)
    axes = normalize_axis("logsumexp", _axis("logsumexp", axis, dim), x.ndim, x.shape)
    if x.data.size == 0:
        # Over an empty axis the sum of exponentials is 0 and its log is -inf; computed
        # directly, so that neither log(0) nor its derivative 1/0 is ever evaluated.
        s = x.sum(axis=axes, keepdims=True) - np.inf
    else:
        m = _shift(x, axes)
        s = (x - m).exp().sum(axis=axes, keepdims=True).log() + m
    if not _keep(keepdims, keepdim):
        s = s.reshape(reduced_shape(x.shape, axes))
    return s


def _softmax_dim(op: str, x, dim, axis, dtype):
    x = _float(x) if dtype is None else _t(x).astype(dtype)
    d = _axis(op, axis, dim)
    if d is None:
        d = -1  # PyTorch warns and picks a dim for 0-, 1- and 3-d input; we use the last
    return x, normalize_axis(op, d, x.ndim, x.shape)


@composite
def softmax(x, dim=None, *, axis=None, dtype=None):
    """eˣ / Σ eˣ along ``dim`` (default the last), stable for any finite input.

    >>> import microgradnn as mg
    >>> mg.softmax(mg.tensor([0.0, 0.0]))
    tensor([0.5, 0.5])
    """
    x, axes = _softmax_dim("softmax", x, dim, axis, dtype)
    e = (x - _shift(x, axes)).exp()
    return e / e.sum(axis=axes, keepdims=True)


@composite
def log_softmax(x, dim=None, *, axis=None, dtype=None):
    """x - logsumexp(x) along ``dim`` (default the last), stable for any finite input.

    >>> import microgradnn as mg
    >>> mg.log_softmax(mg.tensor([0.0, 0.0]))
    tensor([-0.6931, -0.6931])
    """
    x, axes = _softmax_dim("log_softmax", x, dim, axis, dtype)
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
from .elementwise import where  # noqa: E402


# ---------------------------------------------------------------- PyTorch's reductions
class Cumsum(Function):
    """y_i = Σ_{j ≤ i} x_j along ``axis``;  ∂L/∂x_j = Σ_{i ≥ j} g_i (a reversed cumsum)."""

    __slots__ = ("axis",)
    array_backward = True

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return np.cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        rev = (slice(None),) * ctx.axis + (slice(None, None, -1),)
        if isinstance(grad, Tensor):
            return Cumsum.apply(grad[rev], axis=ctx.axis)[rev]
        return np.cumsum(grad[rev], axis=ctx.axis)[rev]


def cumsum(x, dim: int, *, dtype=None, axis=None):
    """Running sums along ``dim`` (PyTorch's ``cumsum``; ``dim`` is required).

    >>> import microgradnn as mg
    >>> mg.cumsum(mg.tensor([1.0, 2.0, 3.0]), 0)
    tensor([1., 3., 6.])
    """
    x = _t(x) if dtype is None else _t(x).astype(dtype)
    d = _axis("cumsum", axis, dim)
    axes = normalize_axis("cumsum", d, x.ndim, x.shape)
    if not x.ndim:
        return x.clone()
    if x.dtype.kind in "biu":  # PyTorch sums integers and bools in int64
        x = x.astype(np.int64)
    return Cumsum.apply(x, axis=axes[0])


def prod(x, dim=None, keepdim: bool = False, *, dtype=None, axis=None, keepdims=None):
    """The product over ``dim`` (one int or None for all), exact at zeros and
    differentiable to any order (a tree of multiplications).

    >>> import microgradnn as mg
    >>> mg.prod(mg.tensor([[1.0, 2.0], [3.0, 4.0]]), 1)
    tensor([ 2., 12.])
    """
    x = _t(x) if dtype is None else _t(x).astype(dtype)
    d, keep = dim_keep("prod", dim, keepdim, axis, keepdims)
    if d is None:
        y = prod(x.reshape(-1), 0)
        return y.reshape((1,) * x.ndim) if keep else y
    if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
        raise TypeError(f"prod: dim must be one int or None, got {d!r}")
    if x.dtype.kind == "b":
        x = x.astype(np.int64)
    (a,) = normalize_axis("prod", d, x.ndim, x.shape) or (0,)
    if not x.ndim:
        return x.clone()
    y = x.permute([i for i in range(x.ndim) if i != a] + [a]) if a != x.ndim - 1 else x
    # halve the axis repeatedly: log2(n) multiplications of the two halves
    while y.shape[-1] > 1:
        n = y.shape[-1]
        h = n // 2
        pair = y[..., :h] * y[..., h:2 * h]
        y = pair if n % 2 == 0 else _shape_ops.cat([pair, y[..., 2 * h:]], axis=-1)
    if y.shape[-1] == 0:  # the empty product
        y = _make(np.ones(y.shape[:-1] + (1,), dtype=x.dtype), False, None) + y.sum(-1, True)
    y = y.reshape(y.shape[:-1])
    if keep:
        y = y.unsqueeze(a)
    return y


def norm(x, p="fro", dim=None, keepdim: bool = False, *, dtype=None):
    """The vector p-norm over ``dim`` (all elements by default; ``'fro'`` is the 2-norm of
    all elements), as PyTorch's ``norm``. Its gradient at 0 is 0 (PyTorch's subgradient).

    >>> import microgradnn as mg
    >>> mg.norm(mg.tensor([3.0, 4.0])), mg.norm(mg.tensor([3.0, -4.0]), 1)
    (tensor(5.), tensor(7.))
    """
    x = _float(x) if dtype is None else _t(x).astype(dtype)
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str):
        raise ValueError(f"norm: p={p!r} is not supported (matrix norms other than 'fro' "
                         "are not implemented); give a number, inf or -inf")
    if p == np.inf:
        return x.abs().amax(dim, keepdim)
    if p == -np.inf:
        return x.abs().amin(dim, keepdim)
    if p == 0:
        return (x != 0).astype(x.dtype).sum(dim, keepdim)
    if p == 1:
        return x.abs().sum(dim, keepdim)
    s = (x.abs() ** p).sum(dim, keepdim) if p != 2 else (x * x).sum(dim, keepdim)
    # s^(1/p) has an infinite slope at 0: take the root only where s > 0 (as std does)
    pos = _make(np.asarray(s.data > 0), False, None)
    one = _make(np.ones((), s.data.dtype), False, None)
    zero = _make(np.zeros((), s.data.dtype), False, None)
    root = where(pos, s, one).sqrt() if p == 2 else where(pos, s, one) ** (1.0 / p)
    return where(pos, root, zero)


from . import shape as _shape_ops  # noqa: E402
