"""Sliding windows: im2col (``Unfold``), its adjoint col2im (``Fold``), the fused
convolution node ``ConvNd`` and ``MaxPool``.

``Unfold`` copies every window of the (padded) input into a "columns" array of shape
``(N, *kernel, C, *out)``; a convolution is then one matrix product with the weights, an
average pool one sum over the kernel axes. ``Unfold`` and ``Fold`` are linear and each
is the other's adjoint: the backward of ``Unfold`` is ``Fold`` (add every window back
onto the pixels it came from) and the backward of ``Fold`` is ``Unfold``. Both backward
passes are written with ``lift``, so with ``create_graph=True`` they record the other
primitive and every derivative order is available. ``UnfoldFlat``/``FoldFlat`` are the
same pair for stride 1 in a faster layout (see below). ``ConvNd`` fuses unfold, matrix
product and bias into one node for speed; its backward is written with the pairs above.

Why the kernel axes come before the channels (PyTorch's ``F.unfold`` puts them after):
then ``cols[:, offset]`` is one contiguous block of C·L numbers per sample, so copying a
window offset in, or adding it back, is a fast NumPy loop; with the channels first those
loops run over rows of only L_out numbers and cost about 3 times more (measured on the
MNIST CNN of benchmarks/bench_cnn.py). The weight is permuted to match (a tiny copy).

Work is NumPy calls over whole arrays; the only Python loops run over the kernel's
offsets (9 iterations for a 3×3 kernel), never over pixels. Spatial arguments are tuples
with one entry per spatial axis (1 for ``conv1d``, 2 for ``conv2d``; the code does not
care how many): ``kernel``, ``stride``, ``dilation`` of ints and ``padding`` of
``(before, after)`` pairs (asymmetric padding serves ``padding='same'`` with even
kernels and ``ceil_mode`` pooling).
"""
from __future__ import annotations

import itertools
import math
import threading

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd.function import Function
from ..tensor import Tensor
from ._util import Shape, composite_vjp, lift

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
def _unfold_array(x, kernel, stride, padding, dilation, into=None):
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
    if into is None:
        return np.ascontiguousarray(view)
    np.copyto(into, view)
    return into


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


# ---------------------------------------------------------------- stride-1 "flat" windows
# For stride 1 there is a faster im2col. Flatten the padded image to one axis per sample
# and channel: the window offset k then reads ONE contiguous run of it, starting at
# shift(k) = Σ k_i·d_i·(flat stride of axis i). Reading whole rows of the padded width R
# (not just the L_out valid columns) gives "wide" columns of length Ho·R: every copy in
# and every add back is a plain contiguous block, faster than the strided slices of
# Unfold/Fold (on the MNIST CNN of benchmarks/bench_cnn.py the columns of the second conv
# fold back 2.4x faster, 0.94 -> 0.40 ms, and unfold 1.3x faster). The R - W_out extra
# columns per row hold values that straddle two rows; the convolution computes them too
# and crops them off its output, so their gradient is zero. ``ConvNd`` uses this layout
# when it wastes at most half.
def flat_layout(size: Shape, kernel: Shape, padding: Pairs, dilation: Shape):
    """(padded size, valid output size, wide length L, flat strides, slack): the columns
    of a stride-1 window read x_flat[shift : shift + L]; ``slack`` zeros after the image
    keep the last offset's run inside the buffer."""
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, padding))
    out = tuple(p - d * (k - 1) for p, k, d in zip(padded, kernel, dilation))
    flat_strides = tuple(math.prod(padded[i + 1:]) for i in range(len(padded)))
    length = out[0] * flat_strides[0]
    last = sum((k - 1) * d * fs for k, d, fs in zip(kernel, dilation, flat_strides))
    slack = max(0, last + length - math.prod(padded))
    return padded, out, length, flat_strides, slack


def _shifts(kernel, dilation, flat_strides):
    for offset in _offsets(kernel):
        yield offset, sum(o * d * fs for o, d, fs in zip(offset, dilation, flat_strides))


def _unfold_flat_array(x, kernel, padding, dilation, out=None):
    n, c = x.shape[:2]
    padded, _, length, fs, slack = flat_layout(x.shape[2:], kernel, padding, dilation)
    total = math.prod(padded)
    cols = np.empty((n,) + tuple(kernel) + (c, length), dtype=x.dtype) if out is None else out
    if padded == x.shape[2:]:
        # no padding: read the image itself; the runs that would reach past its end get
        # the slack's zeros written directly (no zero-padded copy of the image)
        buf = x.reshape(n, c, total)
        for offset, shift in _shifts(kernel, dilation, fs):
            dst, end = cols[(slice(None),) + offset], min(length, total - shift)
            dst[..., :end] = buf[:, :, shift:shift + end]
            dst[..., end:] = 0
        return cols
    buf = np.zeros((n, c, total + slack), dtype=x.dtype)
    inner = tuple(slice(lo, lo + m) for (lo, _), m in zip(padding, x.shape[2:]))
    buf[:, :, :total].reshape((n, c) + padded)[(slice(None), slice(None)) + inner] = x
    for offset, shift in _shifts(kernel, dilation, fs):
        cols[(slice(None),) + offset] = buf[:, :, shift:shift + length]
    return cols


def _fold_flat_array(cols, size, kernel, padding, dilation, out=None):
    nsp = len(kernel)
    n, c = cols.shape[0], cols.shape[1 + nsp]
    padded, _, length, fs, slack = flat_layout(size, kernel, padding, dilation)
    total = math.prod(padded)
    if out is not None and padded == tuple(size):
        # no padding: add straight into the result; what a run adds past the image's end
        # lands on the slack, which the crop drops, so it is not added at all
        acc = out.reshape(n, c, total)
        acc[...] = 0  # zeros first, then adds, exactly as below (0 + -0.0 is +0.0)
        for offset, shift in _shifts(kernel, dilation, fs):
            end = min(length, total - shift)
            acc[:, :, shift:shift + end] += cols[(slice(None),) + offset][..., :end]
        return out
    buf = np.zeros((n, c, total + slack), dtype=cols.dtype)
    for offset, shift in _shifts(kernel, dilation, fs):
        buf[:, :, shift:shift + length] += cols[(slice(None),) + offset]
    folded = _crop(buf[:, :, :total].reshape((n, c) + padded), size, padding)
    if out is None:
        return folded
    out[...] = folded
    return out


def _unfold_flat_tensor(x, kernel, padding, dilation):
    return UnfoldFlat.apply(x, kernel=kernel, padding=padding, dilation=dilation)


def _fold_flat_tensor(cols, size, kernel, padding, dilation):
    return FoldFlat.apply(cols, size=size, kernel=kernel, padding=padding, dilation=dilation)


unfold_flat = lift(_unfold_flat_array, _unfold_flat_tensor)
fold_flat = lift(_fold_flat_array, _fold_flat_tensor)


class UnfoldFlat(Function):
    """cols[n, k, c, l] = x_padded_flat[n, c, shift(k) + l]  (stride-1 im2col over whole
    padded rows; linear);  ∂L/∂x = FoldFlat(g)."""

    __slots__ = ("size", "kernel", "padding", "dilation")
    array_backward = True
    op_name = "unfold"

    @staticmethod
    def forward(ctx, x, kernel, padding, dilation):
        ctx.size, ctx.kernel, ctx.padding, ctx.dilation = x.shape[2:], kernel, padding, dilation
        return _unfold_flat_array(x, kernel, padding, dilation)

    @staticmethod
    def backward(ctx, grad):
        return fold_flat(grad, ctx.size, ctx.kernel, ctx.padding, ctx.dilation)


class FoldFlat(Function):
    """x_padded_flat[n, c, i] = Σ_k cols[n, k, c, i - shift(k)], then the padding is cut
    off (adjoint of UnfoldFlat; linear);  ∂L/∂cols = UnfoldFlat(g)."""

    __slots__ = ("kernel", "padding", "dilation")
    array_backward = True
    op_name = "fold"

    @staticmethod
    def forward(ctx, cols, size, kernel, padding, dilation):
        ctx.kernel, ctx.padding, ctx.dilation = kernel, padding, dilation
        return _fold_flat_array(cols, size, kernel, padding, dilation)

    @staticmethod
    def backward(ctx, grad):
        return unfold_flat(grad, ctx.kernel, ctx.padding, ctx.dilation)


# ---------------------------------------------------------------- convolution
# The columns of a whole batch are large for realistic layers: conv 32→64 3×3 of PyTorch's
# MNIST example needs 46 MB of them at batch 64, 720 MB at batch 1,000. glibc maps blocks
# above its largest mmap threshold (32 MB) fresh from the OS and unmaps them on free, so
# every step paid a page fault per 4 KB touched (a sixth of the step went to the kernel).
# So the convolution runs over chunks of samples whose columns take at most _COLS_BYTES:
# malloc reuses blocks that size, they stay in cache, and peak memory falls. When the whole
# batch fits in one chunk the columns are saved for backward as before; otherwise backward
# unfolds each chunk again (one more copy pass, cheaper than the faults it saves).
_COLS_BYTES = 8 << 20


def _chunks(n: int, per_sample: int):
    """Slices of ``n`` samples whose columns take at most _COLS_BYTES (at least 1 sample)."""
    step = max(1, min(n, _COLS_BYTES // max(per_sample, 1)))
    return [slice(s, min(s + step, n)) for s in range(0, n, step)]


# A chunk's columns, its product and its gradient are temporaries of several MB each. Freed
# on every step, they let glibc trim the top of its heap and fault the pages in again on the
# next (MNIST CNN: about 6,000 faults, 13 of 77 ms a step, unless something else in the
# process had raised malloc's thresholds). They never leave ConvNd's forward and backward
# (nothing returned or saved points into them), so each thread keeps one buffer per role
# and reuses it; one thread's passes never overlap (no user code runs in between).
_scratch_local = threading.local()
_SCRATCH_BYTES = 2 * _COLS_BYTES  # larger requests get a fresh array, not kept


def _scratch(role: str, shape: Shape, dtype) -> np.ndarray:
    """An uninitialised array for ``role`` that reuses this thread's buffer for it. Only for
    values that die before the caller returns; larger than _SCRATCH_BYTES (one sample's
    columns of a huge image): a fresh array, not kept."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > _SCRATCH_BYTES:
        return np.empty(shape, dtype)
    bufs = _scratch_local.__dict__
    buf = bufs.get(role)
    if buf is None or buf.nbytes < nbytes:
        buf = bufs[role] = np.empty(nbytes, np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def _weight_rows(w, nsp: int):
    """(O, C, *kernel) -> (O, K·C): the weight in the columns' (kernel, channel) order."""
    o, c, kernel = w.shape[0], w.shape[1], w.shape[2:]
    return w.transpose((0,) + tuple(range(2, 2 + nsp)) + (1,)).reshape((o, math.prod(kernel) * c))


class ConvNd(Function):
    """y[n, o, p] = Σ_{c,k} w[o, c, k] · x_padded[n, c, p·stride + k·dilation] + b[o];
    ∂L/∂w[o, c, k] = Σ_{n,p} g[n, o, p]·cols[n, k, c, p], ∂L/∂b = Σ_{n,p} g,
    ∂L/∂x = Fold(wᵀ g).

    One node for im2col + matrix product + bias (+ crop of the flat layout's extra
    columns). It computes what Unfold → reshape → matmul → add → crop would, fused: on
    the MNIST CNN of benchmarks/bench_cnn.py a training step took 7.3 ms of CPU time with
    that composite and 4.6 ms with this node (best of 6 rounds of 25 steps), mostly because
    the bias add and the crop become one pass into a contiguous output (elementwise work
    on the strided cropped view was slow) and the crop's scatter-back disappears. Plain
    passes work in chunks of samples (see _COLS_BYTES above) with their temporaries in
    reused scratch buffers (see _scratch). A recorded backward (``create_graph=True``)
    differentiates :func:`conv_reference` with the engine, so it records and higher
    derivatives come out of Unfold/Fold.
    """

    __slots__ = ("stride", "padding", "dilation", "flat", "size")
    array_backward = True
    op_name = "conv"

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, flat):
        if x.dtype != w.dtype or (b is not None and b.dtype != w.dtype):
            # PyTorch refuses too: a float64 input into a float32 model is caught here
            raise RuntimeError(
                f"conv: input type ({x.dtype}) and weight type ({w.dtype})"
                f"{'' if b is None else f' and bias type ({b.dtype})'} should be the same; "
                f"cast the input with x.to(mg.{w.dtype}) or the model with "
                f"model.to(mg.{x.dtype})")
        nsp = len(stride)
        n = x.shape[0]
        o, kernel = w.shape[0], w.shape[2:]
        w_rows = _weight_rows(w, nsp)
        kc = w_rows.shape[1]
        if flat:
            padded, out, length, _, _ = flat_layout(x.shape[2:], kernel, padding, dilation)
        else:
            out = _out_shape(x.shape[2:], kernel, stride, padding, dilation)
            length = math.prod(out)
        dtype = np.result_type(w_rows, x)
        out_dtype = dtype if b is None else np.result_type(dtype, b)
        result = np.empty((n, o) + tuple(out), dtype=out_dtype)
        chunks = _chunks(n, kc * length * x.itemsize)
        # one chunk: its columns are saved for backward, so they get their own array
        keep = len(chunks) == 1
        if b is not None:
            # the bias as a block of one sample's output shape: adding two arrays runs NumPy's
            # SIMD loop, adding the broadcast (stride-0) bias runs a scalar loop per row
            # (MNIST CNN's conv2, crop + bias: 0.94 -> 0.55 ms a step)
            b = b.reshape((o,) + (1,) * nsp)
            if o * math.prod(out) * b.itemsize <= _SCRATCH_BYTES:
                block = _scratch("bias", (o,) + tuple(out), b.dtype)
                block[...] = b
                b = block
        for part in chunks:
            m = part.stop - part.start
            cols = ConvNd._columns(x[part], kernel, stride, padding, dilation, flat,
                                   scratch=not keep)
            y = _scratch("y", (m, o, length), dtype)
            np.matmul(w_rows, cols.reshape(-1, kc, length), out=y)
            # the crop of the flat layout's extra columns and the bias in one pass
            y = (y.reshape((m, o, out[0]) + padded[1:])[_valid(out)] if flat
                 else y.reshape((m, o) + tuple(out)))
            if b is None:
                np.copyto(result[part], y)
            else:
                np.add(y, b, out=result[part])
        ctx.stride, ctx.padding, ctx.dilation, ctx.flat = stride, padding, dilation, flat
        ctx.size = x.shape[2:]
        ctx.save_for_backward(x, w, cols if keep else None)
        return result

    @staticmethod
    def _columns(x, kernel, stride, padding, dilation, flat, scratch: bool):
        """A chunk's columns, (N, *kernel, C, L) flat or (N, *kernel, C, *out) strided; in
        this thread's reused "cols" buffer when ``scratch`` (they must die with the call)."""
        n, c = x.shape[:2]
        trailing = ((flat_layout(x.shape[2:], kernel, padding, dilation)[2],) if flat
                    else _out_shape(x.shape[2:], kernel, stride, padding, dilation))
        out = (_scratch("cols", (n,) + tuple(kernel) + (c,) + trailing, x.dtype)
               if scratch else None)
        return (_unfold_flat_array(x, kernel, padding, dilation, out) if flat
                else _unfold_array(x, kernel, stride, padding, dilation, out))

    @staticmethod
    def backward(ctx, grad):
        x, w, cols = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        nsp = len(ctx.stride)
        gb = grad.sum(axis=(0,) + tuple(range(2, 2 + nsp))) if need_b else None
        if not isinstance(grad, Tensor):
            gx, gw = _conv_grads_array(ctx, x, w, cols, grad, need_x, need_w)
            return gx, gw, gb
        # recorded pass: differentiate the plain-Tensor reference of the same convolution
        gx, gw = composite_vjp(
            lambda x, w: conv_reference(x, w, ctx.stride, ctx.padding, ctx.dilation),
            (x, w), (need_x, need_w), grad)
        return gx, gw, gb


def conv_reference(x, w, stride: Shape, padding, dilation: Shape):
    """The convolution without bias in plain Tensor operations (im2col windows, one
    matrix product): what ConvNd computes, and what its recorded backward differentiates."""
    n, nsp = x.shape[0], len(stride)
    o, kernel = w.shape[0], tuple(w.shape[2:])
    cols = unfold_windows(x, kernel, stride, padding, dilation)
    out = cols.shape[-nsp:]
    kc = math.prod(kernel) * x.shape[1]
    y = _weight_rows(w, nsp) @ cols.reshape((n, kc, math.prod(out)))
    return y.reshape((n, o) + tuple(out))


def _rows_to_weight(rows, shape: Shape):
    """(O, K·C) rows back to the (O, C, *kernel) weight layout (inverse of _weight_rows)."""
    o, c, kernel = shape[0], shape[1], tuple(shape[2:])
    nsp = len(kernel)
    return rows.reshape((o,) + kernel + (c,)).transpose((0, nsp + 1) + tuple(range(1, nsp + 1)))


def _conv_grads_array(ctx, x, w, cols, grad, need_x: bool, need_w: bool):
    """The plain pass's ∂L/∂x and ∂L/∂w, chunk by chunk as the forward ran: gw = Σ g·colsᵀ,
    gx = Fold(wᵀ g), the gradients of :func:`conv_reference` (which the recorded pass
    differentiates with the engine). Temporaries live in this thread's scratch buffers."""
    nsp = len(ctx.stride)
    n, o, kernel = x.shape[0], w.shape[0], w.shape[2:]
    w_rows = _weight_rows(w, nsp)
    kc = w_rows.shape[1]
    if ctx.flat:
        padded, out, length, _, _ = flat_layout(ctx.size, kernel, ctx.padding, ctx.dilation)
    else:
        out, length = grad.shape[2:], math.prod(grad.shape[2:])
    gw_rows = np.zeros(w_rows.shape, dtype=w.dtype) if need_w else None
    gx = np.empty(x.shape, dtype=x.dtype) if need_x else None
    for part in _chunks(n, kc * length * x.itemsize):
        m = part.stop - part.start
        cs = cols[part] if cols is not None else ConvNd._columns(
            x[part], kernel, ctx.stride, ctx.padding, ctx.dilation, ctx.flat, scratch=True)
        cs_rows = cs.reshape(m, kc, length)
        if ctx.flat:
            # the extra columns of the flat layout get zero gradient
            gp = _scratch("g", (m, o, length), grad.dtype)
            gp[...] = 0
            gp.reshape((m, o, out[0]) + padded[1:])[_valid(out)] = grad[part]
        else:
            gp = grad[part].reshape((m, o, length))
        if need_w:
            prod = _scratch("gw", (m, o, kc), np.result_type(gp, cs))
            gw_rows += np.matmul(gp, cs_rows.swapaxes(-1, -2), out=prod).sum(axis=0)
        if need_x:
            # the columns' gradient overwrites the columns when those are scratch anyway
            gcols = cs if cols is None else _scratch("cols", cs.shape, cs.dtype)
            np.matmul(w_rows.T, gp, out=gcols.reshape(m, kc, length))
            if ctx.flat:
                _fold_flat_array(gcols, ctx.size, kernel, ctx.padding, ctx.dilation, gx[part])
            else:
                gx[part] = _fold_array(gcols, ctx.size, kernel, ctx.stride, ctx.padding,
                                       ctx.dilation)
    gw = _rows_to_weight(gw_rows, w.shape) if need_w else None
    return gx, gw


def _valid(out: Shape) -> tuple:
    """Index of the valid outputs in the flat layout's (N, O, Ho, *padded trailing) array."""
    return (slice(None),) * 3 + tuple(slice(0, m) for m in out[1:])


# ---------------------------------------------------------------- max pooling
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
    # comparing the strided views directly, and much faster than np.where / masked copies
    # or, for 2×2 windows, than reshaping to (N, C, Ho, 2, Wo, 2) and reducing axes 3 and
    # 5 (NumPy reduces those in inner loops of length 2: ~8x slower, measured).
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
    add = not _disjoint(kernel, stride, dilation)
    # windows that tile the padded input exactly (2×2 pool, stride 2, even size) write
    # every pixel once, so the accumulator needs no zero-fill pass
    tiles = not add and all(s == k and m * s == p for k, s, d, m, p
                            in zip(kernel, stride, dilation, out, padded))
    acc = (np.empty if tiles else np.zeros)(grad.shape[:2] + padded, dtype=grad.dtype)
    for k, offset in enumerate(_offsets(kernel)):
        sl = _offset_slices(offset, stride, dilation, out)
        if add:
            acc[sl] += grad * (ctx.index == k)
        else:
            # the product written straight into its window slice: no temporary to copy
            np.multiply(grad, ctx.index == k, out=acc[sl])
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
