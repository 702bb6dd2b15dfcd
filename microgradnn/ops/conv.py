"""Sliding windows: im2col (``Unfold``), its adjoint col2im (``Fold``) and max pooling.

Convolution and average pooling are composites: ``Unfold`` copies every window of the
(padded) input into a "columns" array of shape ``(N, C, *kernel, *out)``; a convolution is
then one matrix product with the weights, an average pool one sum over the kernel axes.

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


def _offset_slices(offset, stride, dilation, out) -> tuple:
    """The strided slice of the padded input that kernel offset ``offset`` sees."""
    return (slice(None), slice(None)) + tuple(
        slice(o * d, o * d + s * (n - 1) + 1, s)
        for o, s, d, n in zip(offset, stride, dilation, out))


def _pad_array(x: np.ndarray, padding: Pairs, value: float = 0.0) -> np.ndarray:
    if not any(lo or hi for lo, hi in padding):
        return x
    return np.pad(x, ((0, 0), (0, 0)) + tuple(padding), mode="constant", constant_values=value)


def _window_view(xp: np.ndarray, kernel: Shape, stride: Shape, dilation: Shape,
                 out: Shape) -> np.ndarray:
    """Read-only view of shape ``(N, C, *kernel, *out)``: element ``[n, c, k..., p...]`` is
    ``xp[n, c, p*stride + k*dilation]`` (no copy: only the strides change)."""
    st = xp.strides
    nsp = len(kernel)
    strides = (st[:2] + tuple(st[2 + i] * dilation[i] for i in range(nsp))
               + tuple(st[2 + i] * stride[i] for i in range(nsp)))
    return as_strided(xp, xp.shape[:2] + tuple(kernel) + tuple(out), strides, writeable=False)


# ---------------------------------------------------------------- array forms
def _unfold_array(x, kernel, stride, padding, dilation):
    out = tuple(out_size(n, k, s, p, d)
                for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation))
    xp = _pad_array(x, padding)
    # One copy of the strided window view: as fast as a loop over kernel offsets here.
    return np.ascontiguousarray(_window_view(xp, kernel, stride, dilation, out))


def _fold_array(cols, size, kernel, stride, padding, dilation):
    nsp = len(kernel)
    out = cols.shape[2 + nsp:]
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, padding))
    acc = np.zeros(cols.shape[:2] + padded, dtype=cols.dtype)
    lead = (slice(None), slice(None))
    # Windows may overlap, so add offset by offset: within one offset the strided slice
    # touches each pixel at most once, so `+=` is exact.
    for offset in itertools.product(*map(range, kernel)):
        acc[_offset_slices(offset, stride, dilation, out)] += cols[lead + offset]
    if padded == tuple(size):
        return acc
    return acc[lead + tuple(slice(lo, lo + n) for (lo, _), n in zip(padding, size))]


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
    """cols[n, c, k, p] = x_padded[n, c, p·stride + k·dilation]  (im2col; linear);
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
    """x[n, c, i] = Σ over windows covering i of cols[n, c, k, p]  (col2im; linear);
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
        out = tuple(out_size(n, k, s, p, d)
                    for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation))
        lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        xp = _pad_array(x, padding, lowest)
        windows = _window_view(xp, kernel, stride, dilation, out)
        has_nan = x.dtype.kind == "f" and bool(np.isnan(x).any())
        y, index = _first_max(windows, len(kernel), has_nan)
        ctx.size, ctx.kernel, ctx.stride = x.shape[2:], kernel, stride
        ctx.padding, ctx.dilation, ctx.index = padding, dilation, index
        return y

    @staticmethod
    def backward(ctx, grad):
        return _max_pool_grad(grad, ctx)


def _first_max(windows: np.ndarray, nsp: int, has_nan: bool) -> tuple[np.ndarray, np.ndarray]:
    """Maximum over the kernel axes of ``windows`` (N, C, *kernel, *out) and the flat kernel
    offset of the first maximum (ties go to the earliest offset, NaN wins, as PyTorch)."""
    kernel = windows.shape[2:2 + nsp]
    offsets = itertools.product(*map(range, kernel))
    lead = (slice(None), slice(None))
    best = np.array(windows[lead + next(offsets)])
    index = np.zeros(best.shape, dtype=np.int16 if math.prod(kernel) < 2**15 else np.int64)
    # A loop over kernel offsets with a strict ">" keeps the first maximum; np.argmax over
    # a copied (…, k·k) array gives the same answer but is slower for small kernels.
    for k, offset in enumerate(offsets, start=1):
        v = windows[lead + offset]
        better = v > best
        if has_nan:
            better |= np.isnan(v) & ~np.isnan(best)
        np.copyto(best, v, where=better)
        np.copyto(index, k, where=better)
    return best, index


def _max_pool_grad_array(grad, ctx):
    cols = _route_to_max(grad, ctx.index, ctx.kernel)
    return _fold_array(cols, ctx.size, ctx.kernel, ctx.stride, ctx.padding, ctx.dilation)


def _max_pool_grad_tensor(grad, ctx):
    # The same routing as a product with a constant one-hot mask, so it is recorded.
    nsp = len(ctx.kernel)
    onehot = _route_to_max(np.ones(ctx.index.shape, dtype=grad.dtype), ctx.index, ctx.kernel)
    g = grad.reshape(grad.shape[:2] + (1,) * nsp + grad.shape[2:])
    return _fold_tensor(g * onehot, ctx.size, ctx.kernel, ctx.stride, ctx.padding, ctx.dilation)


def _route_to_max(grad: np.ndarray, index: np.ndarray, kernel: Shape) -> np.ndarray:
    """cols (N, C, *kernel, *out) holding grad at the chosen offset of each window, else 0."""
    cols = np.zeros(grad.shape[:2] + tuple(kernel) + grad.shape[2:], dtype=grad.dtype)
    lead = (slice(None), slice(None))
    for k, offset in enumerate(itertools.product(*map(range, kernel))):
        np.copyto(cols[lead + offset], grad, where=index == k)
    return cols


_max_pool_grad = lift(_max_pool_grad_array, _max_pool_grad_tensor)


def max_pool_indices(index: np.ndarray, size: Shape, kernel: Shape, stride: Shape,
                     padding: Pairs, dilation: Shape) -> np.ndarray:
    """Flat positions in the unpadded input (PyTorch's ``return_indices``) of the maxima
    whose kernel offsets ``MaxPool`` chose."""
    nsp = len(kernel)
    out = index.shape[2:]
    offs = np.unravel_index(index, kernel)
    flat = np.zeros(index.shape, dtype=np.int64)
    for i in range(nsp):
        grid = np.arange(out[i]).reshape((-1,) + (1,) * (nsp - 1 - i)) * stride[i]
        pos = grid + offs[i] * dilation[i] - padding[i][0]
        flat = flat * size[i] + pos
    return flat
