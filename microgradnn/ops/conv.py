"""Sliding windows: im2col (``Unfold``), its adjoint col2im (``Fold``) and max pooling.

Convolution and average pooling are composites: ``Unfold`` copies every window of the
(padded) input into a "columns" array of shape ``(N, *kernel, C, *out)``; a convolution is
then one matrix product with the weights, an average pool one sum over the kernel axes.

Why the kernel axes come before the channels (PyTorch's ``F.unfold`` puts them after):
then ``cols[:, offset]`` is one contiguous block of C·L numbers per sample, so copying a
window offset in, or adding it back, is a fast NumPy loop; with the channels first those
loops run over rows of only L_out numbers and cost 3-4 times more (measured on the MNIST
CNN of benchmarks/bench_cnn.py). The weight is permuted to match (a tiny copy).

``Unfold`` and ``Fold`` are linear and each is the other's adjoint: the backward of
``Unfold`` is ``Fold`` (add every window back onto the pixels it came from) and the
backward of ``Fold`` is ``Unfold``. Both backward passes are written with ``lift``, so
with ``create_graph=True`` they record the other primitive and every derivative order is
available. Work is NumPy calls over whole arrays; the only Python loops run over the
kernel's offsets (9 iterations for a 3×3 kernel), never over pixels.

Spatial arguments are tuples with one entry per spatial axis (1 for ``conv1d``, 2 for
``conv2d``; the code does not care how many): ``kernel``, ``stride``, ``dilation`` of
ints and ``padding`` of ``(before, after)`` pairs (asymmetric padding serves
``padding='same'`` with even kernels and ``ceil_mode`` pooling).
"""
from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd.function import Function
from ._util import Shape, lift

Pairs = tuple[tuple[int, int], ...]


# ---------------------------------------------------------------- window arithmetic
def out_size(size: int, kernel: int, stride: int, padding: tuple[int, int], dilation: int) -> int:
    """Number of window positions along one axis of ``size`` padded by ``padding``."""
    return (size + padding[0] + padding[1] - dilation * (kernel - 1) - 1) // stride + 1


def _offsets(kernel: Shape):
    """Every kernel offset, in row-major order: (0, 0), (0, 1), ..."""
    return itertools.product(*map(range, kernel))


def _offset_slices(offset, stride, dilation, out) -> tuple:
    """Index of the (N, C, *out) strided view of the padded input that kernel offset
    ``offset`` reads: element p of it is x_padded[p·stride + offset·dilation]."""
    return (slice(None), slice(None)) + tuple(
        slice(o * d, o * d + s * (n - 1) + 1, s)
        for o, s, d, n in zip(offset, stride, dilation, out))


def _out_shape(size: Shape, kernel, stride, padding, dilation) -> Shape:
    return tuple(out_size(n, k, s, p, d)
                 for n, k, s, p, d in zip(size, kernel, stride, padding, dilation))


def _pad_array(x: np.ndarray, padding: Pairs, value: float = 0.0) -> np.ndarray:
    if not any(lo or hi for lo, hi in padding):
        return x
    return np.pad(x, ((0, 0), (0, 0)) + tuple(padding), mode="constant", constant_values=value)


def _crop(x: np.ndarray, size: Shape, padding: Pairs) -> np.ndarray:
    if not any(lo or hi for lo, hi in padding):
        return x
    return x[(slice(None), slice(None))
             + tuple(slice(lo, lo + n) for (lo, _), n in zip(padding, size))]


def _disjoint(kernel, stride, dilation) -> bool:
    """Do the windows never overlap (each padded pixel read at most once)?"""
    return all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))


# ---------------------------------------------------------------- array forms
def _unfold_array(x, kernel, stride, padding, dilation):
    nsp = len(kernel)
    out = _out_shape(x.shape[2:], kernel, stride, padding, dilation)
    xp = _pad_array(x, padding)
    # One copy of a strided view (N, *kernel, C, *out) of the padded input: no data moves
    # until np.ascontiguousarray, which copies in one pass.
    st = xp.strides
    view = as_strided(
        xp, (xp.shape[0],) + tuple(kernel) + (xp.shape[1],) + out,
        (st[0],) + tuple(st[2 + i] * dilation[i] for i in range(nsp)) + (st[1],)
        + tuple(st[2 + i] * stride[i] for i in range(nsp)), writeable=False)
    return np.ascontiguousarray(view)


def _fold_array(cols, size, kernel, stride, padding, dilation):
    nsp = len(kernel)
    out = cols.shape[2 + nsp:]
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, padding))
    acc = np.zeros((cols.shape[0], cols.shape[1 + nsp]) + padded, dtype=cols.dtype)
    # Add offset by offset: within one offset the strided slice touches each pixel at most
    # once, so `+=` is exact even where windows overlap (disjoint windows could assign).
    add = not _disjoint(kernel, stride, dilation)
    for offset in _offsets(kernel):
        sl = _offset_slices(offset, stride, dilation, out)
        if add:
            acc[sl] += cols[(slice(None),) + offset]
        else:
            acc[sl] = cols[(slice(None),) + offset]
    return _crop(acc, size, padding)


def _unfold_tensor(x, kernel, stride, padding, dilation):
    return Unfold.apply(x, kernel=kernel, stride=stride, padding=padding, dilation=dilation)


def _fold_tensor(cols, size, kernel, stride, padding, dilation):
    return Fold.apply(cols, size=size, kernel=kernel, stride=stride, padding=padding,
                      dilation=dilation)


#: ``unfold(x, ...)`` / ``fold(cols, size, ...)`` on arrays (plain backward) or tensors (recorded).
unfold_windows = lift(_unfold_array, _unfold_tensor)
fold_windows = lift(_fold_array, _fold_tensor)


# ---------------------------------------------------------------- primitives
class Unfold(Function):
    """cols[n, k, c, p] = x_padded[n, c, p·stride + k·dilation]  (im2col; linear);
    ∂L/∂x = Fold(g): each window's gradient added back onto the pixels it read."""

    __slots__ = ("size", "kernel", "stride", "padding", "dilation")
    array_backward = True

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation):
        ctx.size, ctx.kernel, ctx.stride = x.shape[2:], kernel, stride
        ctx.padding, ctx.dilation = padding, dilation
        return _unfold_array(x, kernel, stride, padding, dilation)

    @staticmethod
    def backward(ctx, grad):
        return fold_windows(grad, ctx.size, ctx.kernel, ctx.stride, ctx.padding, ctx.dilation)


class Fold(Function):
    """x[n, c, i] = Σ over the windows covering i of cols[n, k, c, p]  (col2im; linear);
    ∂L/∂cols = Unfold(g): the adjoint of a scatter-add is a gather."""

    __slots__ = ("kernel", "stride", "padding", "dilation")
    array_backward = True

    @staticmethod
    def forward(ctx, cols, size, kernel, stride, padding, dilation):
        ctx.kernel, ctx.stride, ctx.padding, ctx.dilation = kernel, stride, padding, dilation
        return _fold_array(cols, size, kernel, stride, padding, dilation)

    @staticmethod
    def backward(ctx, grad):
        return unfold_windows(grad, ctx.kernel, ctx.stride, ctx.padding, ctx.dilation)


class MaxPool(Function):
    """y[n, c, p] = max over the window at p of x (padding counts as -∞);
    ∂L/∂x = g routed to ONE element per window, the first maximum (as PyTorch)."""

    __slots__ = ("size", "kernel", "stride", "padding", "dilation", "index")
    array_backward = True
    op_name = "max_pool"

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation):
        y, ctx.index = max_pool_array(x, kernel, stride, padding, dilation)
        ctx.size, ctx.kernel, ctx.stride = x.shape[2:], kernel, stride
        ctx.padding, ctx.dilation = padding, dilation
        return y

    @staticmethod
    def backward(ctx, grad):
        return _max_pool_grad(grad, ctx)


def max_pool_array(x: np.ndarray, kernel: Shape, stride: Shape, padding: Pairs,
                   dilation: Shape) -> tuple[np.ndarray, np.ndarray]:
    """The pooled maxima (N, C, *out) and, per window, the row-major kernel offset of its
    first maximum (NaN wins, as in PyTorch)."""
    out = _out_shape(x.shape[2:], kernel, stride, padding, dilation)
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    xp = _pad_array(x, padding, lowest)
    has_nan = x.dtype.kind == "f" and bool(np.isnan(x).any())
    itype = np.int8 if math.prod(kernel) <= 127 else np.int32
    best = index = None
    # One pass per kernel offset. Each strided window slice is first copied (a fast
    # strided copy) so the comparisons run on contiguous arrays: 3-4 times faster than
    # comparing the strided views directly, and much faster than np.where / masked copies.
    for k, offset in enumerate(_offsets(kernel)):
        v = np.array(xp[_offset_slices(offset, stride, dilation, out)])
        if best is None:
            best, index = v, np.zeros(v.shape, dtype=itype)
            continue
        better = v > best  # strict: ties keep the earlier offset
        if has_nan:
            better |= np.isnan(v)
        # offsets only grow, so "the latest better offset" is a running maximum
        np.maximum(index, np.multiply(better, k, dtype=itype), out=index)
        np.maximum(best, v, out=best)
    return best, index


def _max_pool_grad_array(grad, ctx):
    kernel, stride, dilation = ctx.kernel, ctx.stride, ctx.dilation
    out = grad.shape[2:]
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(ctx.size, ctx.padding))
    acc = np.zeros(grad.shape[:2] + padded, dtype=grad.dtype)
    add = not _disjoint(kernel, stride, dilation)
    for k, offset in enumerate(_offsets(kernel)):
        part = grad * (ctx.index == k)
        sl = _offset_slices(offset, stride, dilation, out)
        if add:
            acc[sl] += part
        else:
            acc[sl] = part
    return _crop(acc, ctx.size, ctx.padding)


def _max_pool_grad_tensor(grad, ctx):
    # The same routing as a product with a constant one-hot mask, then Fold: recorded.
    nsp = len(ctx.kernel)
    n, c = grad.shape[:2]
    k = math.prod(ctx.kernel)
    onehot = (ctx.index[:, None] == np.arange(k, dtype=ctx.index.dtype).reshape(
        (1, k) + (1,) * (nsp + 1))).astype(grad.dtype)
    onehot = onehot.reshape((n,) + tuple(ctx.kernel) + (c,) + grad.shape[2:])
    g = grad.reshape((n,) + (1,) * nsp + grad.shape[1:])
    return _fold_tensor(g * onehot, ctx.size, ctx.kernel, ctx.stride, ctx.padding, ctx.dilation)


_max_pool_grad = lift(_max_pool_grad_array, _max_pool_grad_tensor)


def max_pool_indices(index: np.ndarray, size: Shape, kernel: Shape, stride: Shape,
                     padding: Pairs, dilation: Shape) -> np.ndarray:
    """Flat positions in the unpadded input (PyTorch's ``return_indices``) of the maxima
    whose kernel offsets ``max_pool_array`` chose."""
    nsp = len(kernel)
    out = index.shape[2:]
    offs = np.unravel_index(index.astype(np.intp), kernel)
    flat = np.zeros(index.shape, dtype=np.int64)
    for i in range(nsp):
        grid = np.arange(out[i]).reshape((-1,) + (1,) * (nsp - 1 - i)) * stride[i]
        pos = grid + offs[i] * dilation[i] - padding[i][0]
        flat = flat * size[i] + pos
    return flat
