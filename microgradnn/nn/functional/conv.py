"""Convolution, pooling, im2col and padding as functions, with PyTorch's signatures.

Shapes: ``(N, C, L)`` for the 1-d forms, ``(N, C, H, W)`` for the 2-d forms; the batch axis
may be left out (``(C, L)`` / ``(C, H, W)``), as in PyTorch. Weights are
``(out_channels, in_channels, *kernel_size)``.

Everything is built on two linear primitives (``Unfold``: windows → columns, and its
adjoint ``Fold``) plus ``MaxPool``, so gradients of every order are available:
a convolution is ``Unfold``, a reshape and one matrix product.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ...ops import conv as _c
from ...ops._util import as_tensor
from ...ops.linalg import matmul
from ...ops.shape import pad as _mg_pad
from ...tensor import Tensor, _make

__all__ = ["conv1d", "conv2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "unfold", "fold", "pad"]

Shape = tuple[int, ...]
IntOrTuple = int | Sequence[int]


# ---------------------------------------------------------------- argument checks
def _ntuple(op: str, name: str, value, n: int, minimum: int) -> Shape:
    """``value`` (an int or n ints) as a tuple of n ints, each at least ``minimum``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out = (int(value),) * n
    else:
        try:
            out = tuple(value)
        except TypeError:
            out = ()
        if len(out) == 1 and n > 1:
            out = out * n
        if len(out) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                    for v in out):
            raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
        out = tuple(int(v) for v in out)
    if any(v < minimum for v in out):
        rule = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be {rule}, got {value!r}")
    return out


def _batched(op: str, x: Tensor, nsp: int) -> tuple[Tensor, bool]:
    """(input with a batch axis, whether one was added); checks the number of dimensions."""
    if x.ndim == nsp + 2:
        return x, False
    if x.ndim == nsp + 1:
        return x.reshape((1,) + x.shape), True
    names = {1: "(C, L) or (N, C, L)", 2: "(C, H, W) or (N, C, H, W)"}.get(nsp, "")
    raise ValueError(f"{op}: expected a {nsp + 1}-d or {nsp + 2}-d input {names}, got shape "
                     f"{x.shape}")


def _check_fits(op: str, shape: Shape, kernel: Shape, pairs, dilation: Shape,
                padding) -> None:
    size = shape[2:]
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, pairs))
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(e > p for e, p in zip(extent, padded)):
        dilated = f" (dilated extent {extent})" if extent != tuple(kernel) else ""
        raise ValueError(f"{op}: kernel size {tuple(kernel)}{dilated} is larger than the padded "
                         f"input size {padded} (input shape {shape}, padding {padding!r})")


# ---------------------------------------------------------------- convolution
def _conv(op: str, nsp: int, input, weight, bias, stride, padding, dilation, groups):
    x, w = as_tensor(input, op), as_tensor(weight, op)
    if groups != 1:
        raise ValueError(f"{op}: only groups=1 is supported, got groups={groups!r}")
    if w.ndim != nsp + 2:
        raise ValueError(f"{op}: weight must be {nsp + 2}-d (out_channels, in_channels"
                         f"{', kH, kW' if nsp == 2 else ', kL'}), got shape {w.shape}")
    xb, unbatched = _batched(op, x, nsp)
    if xb.shape[1] != w.shape[1]:
        raise ValueError(f"{op}: input has {xb.shape[1]} channels, weight expects {w.shape[1]} "
                         f"(input shape {x.shape})")
    kernel = w.shape[2:]
    if any(k == 0 for k in kernel):
        raise ValueError(f"{op}: weight has an empty kernel (weight shape {w.shape})")
    stride = _ntuple(op, "stride", stride, nsp, 1)
    dilation = _ntuple(op, "dilation", dilation, nsp, 1)
    if isinstance(padding, str):
        if padding == "valid":
            pairs = ((0, 0),) * nsp
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride {stride})")
            # Total padding d·(k-1); PyTorch puts the odd pixel (even kernels) at the end.
            tot = [d * (k - 1) for k, d in zip(kernel, dilation)]
            pairs = tuple((t // 2, t - t // 2) for t in tot)
        else:
            raise ValueError(f"{op}: padding must be 'valid', 'same', an int or a tuple of "
                             f"{nsp} ints, got {padding!r}")
    else:
        pairs = tuple((p, p) for p in _ntuple(op, "padding", padding, nsp, 0))
    _check_fits(op, xb.shape, kernel, pairs, dilation, padding)
    out_channels = w.shape[0]
    if bias is not None:
        bias = as_tensor(bias, op)
        if bias.shape != (out_channels,):
            raise ValueError(f"{op}: bias must have shape ({out_channels},) to match weight "
                             f"shape {w.shape}, got {bias.shape}")

    padded, out, length, _, _ = _c.flat_layout(xb.shape[2:], kernel, pairs, dilation)
    # Stride 1: columns over whole padded rows (contiguous copies, see ops/conv.py), unless
    # the extra columns would be more than half of the work.
    flat = all(s == 1 for s in stride) and length <= 1.5 * math.prod(out)
    y = _c.ConvNd.apply(xb, w, bias, stride=stride, padding=pairs, dilation=dilation,
                        flat=flat)
    return y.reshape(y.shape[1:]) if unbatched else y


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrTuple = 1,
           padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1) -> Tensor:
    """1-d cross-correlation: input (N, C_in, L), weight (C_out, C_in, k), bias (C_out,)
    -> (N, C_out, L_out). ``padding`` is an int, ``'valid'`` or ``'same'`` (stride 1).

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.conv1d(mg.ones((1, 1, 5)), mg.ones((1, 1, 3)))
    tensor([[[3., 3., 3.]]])
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrTuple = 1,
           padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1) -> Tensor:
    """2-d cross-correlation (deep learning's "convolution"): input (N, C_in, H, W), weight
    (C_out, C_in, kH, kW), bias (C_out,) -> (N, C_out, H_out, W_out) with
    H_out = (H + 2·padding - dilation·(kH - 1) - 1) // stride + 1.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.conv2d(mg.ones((1, 1, 4, 4)), mg.ones((2, 1, 3, 3)), padding=1).shape
    (1, 2, 4, 4)
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


# ---------------------------------------------------------------- pooling
def _pool_geometry(op: str, nsp: int, x: Tensor, kernel_size, stride, padding, dilation,
                   ceil_mode: bool):
    """Checked (kernel, stride, pad, dilation, out, pairs); ``pairs`` pad the end a little
    more when ``ceil_mode`` lets the last window hang over it."""
    kernel = _ntuple(op, "kernel_size", kernel_size, nsp, 1)
    stride = kernel if stride is None or (not isinstance(stride, (int, np.integer))
                                          and len(stride) == 0) \
        else _ntuple(op, "stride", stride, nsp, 1)
    pad = _ntuple(op, "padding", padding, nsp, 0)
    dilation = _ntuple(op, "dilation", dilation, nsp, 1)
    for p, k in zip(pad, kernel):
        if p > k // 2:
            raise ValueError(f"{op}: padding {padding!r} should be at most half of the kernel "
                             f"size {kernel}")
    size = x.shape[2:]
    out, pairs = [], []
    for n, k, s, p, d in zip(size, kernel, stride, pad, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        o = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and o > 0 and (o - 1) * s >= n + p:
            o -= 1  # the last window would start in the end padding: PyTorch drops it
        out.append(o)
        pairs.append((p, p + max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p))))
    if any(o <= 0 for o in out):
        raise ValueError(f"{op}: kernel size {kernel} (dilation {dilation}, padding {pad}) "
                         f"is larger than the input (input shape {x.shape}); output size "
                         f"would be {tuple(out)}")
    return kernel, stride, pad, dilation, tuple(out), tuple(pairs)


def _max_pool(op: str, nsp: int, input, kernel_size, stride, padding, dilation, ceil_mode,
              return_indices):
    x, unbatched = _batched(op, as_tensor(input, op), nsp)
    kernel, stride, _, dilation, _, pairs = _pool_geometry(
        op, nsp, x, kernel_size, stride, padding, dilation, ceil_mode)
    y = _c.MaxPool.apply(x, kernel=kernel, stride=stride, padding=pairs, dilation=dilation)
    if return_indices:
        # Recompute the chosen offsets without recording (cheap next to the pooling itself).
        _, index = _c.max_pool_array(x.data, kernel, stride, pairs, dilation)
        idx = _make(_c.max_pool_indices(index, x.shape[2:], kernel, stride, pairs, dilation),
                    False, None)
    if unbatched:
        y = y.reshape(y.shape[1:])
        if return_indices:
            idx = _make(idx.data[0], False, None)
    return (y, idx) if return_indices else y


def max_pool1d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    """Maximum over windows of (N, C, L); ``stride`` defaults to ``kernel_size``. The
    gradient flows to the first maximum of each window.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.max_pool1d(mg.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2)
    tensor([[[3., 2.]]])
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    """Maximum over kH×kW windows of (N, C, H, W); ``stride`` defaults to ``kernel_size``.
    Padding counts as -∞. With ``return_indices`` also the flat index (h·W + w) of each max.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.max_pool2d(mg.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _avg_divisor(size: Shape, kernel: Shape, stride: Shape, pad: Shape, out: Shape,
                 count_include_pad: bool, dtype) -> np.ndarray:
    """How many elements each window averages (PyTorch's rule): a product of one count
    per axis, so an outer product of 1-d counts."""
    total = np.ones((), dtype=dtype)
    for n, k, s, p, o in zip(size, kernel, stride, pad, out):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if count_include_pad:
            count = end - start
        else:
            count = np.minimum(end, n) - np.maximum(start, 0)
        total = np.multiply.outer(total, count.astype(dtype))
    return total


def _avg_pool(op: str, nsp: int, input, kernel_size, stride, padding, ceil_mode,
              count_include_pad, divisor_override):
    x, unbatched = _batched(op, as_tensor(input, op), nsp)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")
    kernel, stride, pad, dilation, out, pairs = _pool_geometry(
        op, nsp, x, kernel_size, stride, padding, 1, ceil_mode)
    cols = _c.Unfold.apply(x, kernel=kernel, stride=stride, padding=pairs, dilation=dilation)
    total = cols.sum(axis=tuple(range(1, 1 + nsp)))
    if divisor_override is not None:
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must be non-zero")
        y = total / np.asarray(divisor_override, dtype=x.dtype)
    else:
        div = _avg_divisor(x.shape[2:], kernel, stride, pad, out, count_include_pad, x.dtype)
        if (div == div.flat[0]).all():
            div = div.flat[0]  # one divisor for every window: divide by a scalar
        y = total / div
    return y.reshape(y.shape[1:]) if unbatched else y


def avg_pool1d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over windows of (N, C, L); ``stride`` defaults to ``kernel_size``.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.avg_pool1d(mg.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2)
    tensor([[[2., 1.]]])
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """Mean over kH×kW windows of (N, C, H, W); ``stride`` defaults to ``kernel_size``.
    ``count_include_pad=False`` leaves zero padding out of the divisor.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.avg_pool2d(mg.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 2.5,  4.5],
              [10.5, 12.5]]]])
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def _adaptive_matrix(n: int, o: int, dtype) -> np.ndarray:
    """(o, n) averaging matrix: row i averages x[floor(i·n/o) : ceil((i+1)·n/o)]."""
    i = np.arange(o)
    start = (i * n) // o
    end = -((-(i + 1) * n) // o)
    j = np.arange(n)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _adaptive_avg_pool(op: str, nsp: int, input, output_size):
    x, unbatched = _batched(op, as_tensor(input, op), nsp)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")
    size = x.shape[2:]
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * nsp
    output_size = tuple(output_size)
    if len(output_size) != nsp:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {nsp} ints, got "
                         f"{output_size!r}")
    out = tuple(n if o is None else int(o) for n, o in zip(size, output_size))
    if any(o <= 0 for o in out):
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    if any(n == 0 for n in size):
        raise ValueError(f"{op}: input has an empty spatial axis (input shape {x.shape})")
    if all(n % o == 0 for n, o in zip(size, out)):
        # Equal windows that tile the input: an ordinary average pool.
        k = tuple(n // o for n, o in zip(size, out))
        y = _avg_pool(op, nsp, x, k, k, 0, False, True, None)
    else:
        # Windows of varying length: averaging is separable, one small matrix per axis.
        y = x
        for axis in range(nsp):
            m = _adaptive_matrix(size[axis], out[axis], x.dtype)
            y = matmul(y.swapaxes(2 + axis, -1), m.T).swapaxes(2 + axis, -1)
    return y.reshape(y.shape[1:]) if unbatched else y


def adaptive_avg_pool1d(input: Tensor, output_size: int) -> Tensor:
    """Average (N, C, L) down to (N, C, output_size); window i covers
    [floor(i·L/out), ceil((i+1)·L/out)).

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.adaptive_avg_pool1d(mg.tensor([[[1.0, 2.0, 3.0]]]), 2)
    tensor([[[1.5, 2.5]]])
    """
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: IntOrTuple) -> Tensor:
    """Average (N, C, H, W) down to ``(N, C, *output_size)`` whatever H and W are; window
    i along an axis of length n covers [floor(i·n/out), ceil((i+1)·n/out)). ``None`` keeps
    a size.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.adaptive_avg_pool2d(mg.ones((2, 3, 7, 5)), (2, 3)).shape
    (2, 3, 2, 3)
    """
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


# ---------------------------------------------------------------- im2col as a function
def unfold(input: Tensor, kernel_size: IntOrTuple, dilation: IntOrTuple = 1,
           padding: IntOrTuple = 0, stride: IntOrTuple = 1) -> Tensor:
    """im2col: every kH×kW window of (N, C, H, W) as a column -> (N, C·kH·kW, L), L the
    number of windows (channel-major, then kernel row, then kernel column, as PyTorch).

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.unfold(mg.zeros((2, 3, 4, 4)), 2).shape
    (2, 12, 9)
    """
    x, unbatched = _batched("unfold", as_tensor(input, "unfold"), 2)
    kernel = _ntuple("unfold", "kernel_size", kernel_size, 2, 1)
    dilation = _ntuple("unfold", "dilation", dilation, 2, 1)
    pad = _ntuple("unfold", "padding", padding, 2, 0)
    stride = _ntuple("unfold", "stride", stride, 2, 1)
    pairs = tuple((p, p) for p in pad)
    _check_fits("unfold", x.shape, kernel, pairs, dilation, padding)
    cols = _c.Unfold.apply(x, kernel=kernel, stride=stride, padding=pairs, dilation=dilation)
    n, c = x.shape[:2]
    # internal layout (N, kH, kW, C, Ho, Wo) -> PyTorch's (N, C·kH·kW, L)
    y = cols.permute(0, 3, 1, 2, 4, 5).reshape((n, c * math.prod(kernel),
                                               math.prod(cols.shape[4:])))
    return y.reshape(y.shape[1:]) if unbatched else y


def fold(input: Tensor, output_size: IntOrTuple, kernel_size: IntOrTuple,
         dilation: IntOrTuple = 1, padding: IntOrTuple = 0, stride: IntOrTuple = 1) -> Tensor:
    """col2im, the adjoint of :func:`unfold`: (N, C·kH·kW, L) columns summed back into
    ``(N, C, *output_size)``; overlapping windows add up.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.fold(F.unfold(mg.ones((1, 1, 3, 3)), 2), (3, 3), 2)[0, 0]
    tensor([[1., 2., 1.],
            [2., 4., 2.],
            [1., 2., 1.]])
    """
    x = as_tensor(input, "fold")
    unbatched = x.ndim == 2
    if unbatched:
        x = x.reshape((1,) + x.shape)
    if x.ndim != 3:
        raise ValueError(f"fold: expected a 2-d or 3-d input (N, C·kH·kW, L), got shape "
                         f"{x.shape}")
    size = _ntuple("fold", "output_size", output_size, 2, 1)
    kernel = _ntuple("fold", "kernel_size", kernel_size, 2, 1)
    dilation = _ntuple("fold", "dilation", dilation, 2, 1)
    pad = _ntuple("fold", "padding", padding, 2, 0)
    stride = _ntuple("fold", "stride", stride, 2, 1)
    pairs = tuple((p, p) for p in pad)
    out = tuple(_c.out_size(n, k, s, p, d) for n, k, s, p, d in
                zip(size, kernel, stride, pairs, dilation))
    k = math.prod(kernel)
    n, ck, length = x.shape
    if ck % k or length != math.prod(out) or min(out) <= 0:
        raise ValueError(f"fold: input shape {x.shape} does not match kernel_size {kernel} and "
                         f"output_size {size}: expected (N, C·{k}, {math.prod(out)}) "
                         f"for {out} windows")
    cols = x.reshape((n, ck // k) + kernel + out).permute(0, 2, 3, 1, 4, 5)
    y = _c.Fold.apply(cols, size=size, kernel=kernel, stride=stride, padding=pairs,
                      dilation=dilation)
    return y.reshape(y.shape[1:]) if unbatched else y


# ---------------------------------------------------------------- padding
def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the last ``len(pad) // 2`` axes (PyTorch's order: ``(left, right, top, bottom,
    ...)`` from the last axis backwards). ``mode``: ``'constant'`` (negative widths crop),
    ``'reflect'``, ``'replicate'`` or ``'circular'``.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.pad(mg.ones((1, 2, 2)), (1, 1, 0, 2)).shape
    (1, 4, 4)
    >>> F.pad(mg.tensor([[1.0, 2.0, 3.0]]), (2, 1), mode="reflect")
    tensor([[3., 2., 1., 2., 3., 2.]])
    """
    x = as_tensor(input, "pad")
    widths = list(pad)
    if len(widths) % 2 or len(widths) // 2 > x.ndim or not all(
            isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in widths):
        raise ValueError(f"pad: pad must hold an even number of ints, at most 2 per axis "
                         f"(input shape {x.shape}), got {tuple(pad)!r}")
    pairs = [(0, 0)] * x.ndim
    for i in range(len(widths) // 2):
        pairs[x.ndim - 1 - i] = (int(widths[2 * i]), int(widths[2 * i + 1]))
    if mode == "constant":
        if any(lo < 0 or hi < 0 for lo, hi in pairs):
            # Negative widths crop (PyTorch): slice first, then pad what is left.
            for (lo, hi), n in zip(pairs, x.shape):
                if n + min(lo, 0) + min(hi, 0) < 0:
                    raise ValueError(f"pad: widths {tuple(pad)!r} crop more than the "
                                     f"{n} elements of an axis (input shape {x.shape})")
            x = x[tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(pairs, x.shape))]
            pairs = [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]
        return _mg_pad(x, tuple(pairs), constant_values=value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', "
                         f"got {mode!r}")
    # The other modes read existing elements: one integer index array per padded axis
    # (the gradient of indexing adds repeated reads up).
    for axis, (lo, hi) in enumerate(pairs):
        if lo == 0 and hi == 0:
            continue
        n = x.shape[axis]
        if lo < 0 or hi < 0:
            raise ValueError(f"pad: negative widths are only allowed in 'constant' mode, got "
                             f"{tuple(pad)!r}")
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(f"pad: reflect padding ({lo}, {hi}) must be smaller than the axis "
                             f"length {n} (input shape {x.shape})")
        if mode == "circular" and (lo > n or hi > n):
            raise ValueError(f"pad: circular padding ({lo}, {hi}) must be at most the axis "
                             f"length {n} (input shape {x.shape})")
        if n == 0:
            raise ValueError(f"pad: cannot {mode}-pad an empty axis (input shape {x.shape})")
        j = np.arange(-lo, n + hi)
        if mode == "reflect":
            period = 2 * (n - 1) if n > 1 else 1
            j = np.abs(j) % period
            j = np.where(j >= n, period - j, j)
        elif mode == "replicate":
            j = np.clip(j, 0, n - 1)
        else:
            j = j % n
        x = x[(slice(None),) * axis + (j,)]
    return x
