"""Shape and indexing: reshape, transpose, broadcast, indexing, concatenation, padding.

None of these change values, so each backward only moves gradients back into place.
"""
from __future__ import annotations

import builtins
import math
from typing import Sequence

import numpy as np

from .. import _validate as v
from ..autograd.function import Function
from ..autograd.partial_grads import IndexedGrad
from ._util import Shape, lift


class Reshape(Function):
    """y = x with a new shape;  ∂L/∂x = g reshaped back."""

    __slots__ = ("in_shape",)
    array_backward = True
    returns_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        try:
            return _view(ctx, x.reshape(shape), x)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into shape {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad):
        ctx.saved_tensors  # noqa: B018  (refuses a view whose tensor was written since)
        return grad.reshape(ctx.in_shape)


class Transpose(Function):
    """y = x with axes permuted;  ∂L/∂x = g with the inverse permutation."""

    __slots__ = ("axes",)
    array_backward = True
    returns_view = True

    @staticmethod
    def forward(ctx, x, axes):
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {tuple(axes)} are not a permutation of the "
                             f"{x.ndim} axes of shape {x.shape}")
        ctx.axes = axes
        return _view(ctx, x.transpose(axes), x)

    @staticmethod
    def backward(ctx, grad):
        ctx.saved_tensors  # noqa: B018  (see Reshape)
        return grad.transpose(tuple(np.argsort(ctx.axes)))


class BroadcastTo(Function):
    """y = x broadcast to ``shape``;  ∂L/∂x = g summed over the broadcast axes."""

    __slots__ = ("in_shape",)
    array_backward = True
    op_name = "broadcast_to"
    returns_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        try:
            return _view(ctx, np.broadcast_to(x, shape), x)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to "
                             f"{tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad):
        ctx.saved_tensors  # noqa: B018  (see Reshape)
        return sum_to(grad, ctx.in_shape)


class GetItem(Function):
    """y = x[index];  ∂L/∂x = zeros with g added at index (repeated indices accumulate)."""

    __slots__ = ("in_shape", "index")
    array_backward = True
    op_name = "getitem"
    returns_view = True

    @staticmethod
    def forward(ctx, x, index):
        ctx.in_shape, ctx.index = x.shape, index
        y = x[index]
        if type(y) is np.ndarray and y.base is not None and np.may_share_memory(y, x):
            ctx.save_for_backward(y)  # a view (basic indexing); see _view
        return y

    @staticmethod
    def backward(ctx, grad):
        ctx.saved_tensors  # noqa: B018  (see Reshape)
        if isinstance(grad, Tensor):  # recorded: a differentiable scatter
            return IndexAdd.apply(grad, index=ctx.index, shape=ctx.in_shape)
        # Plain backward: leave the zeros unwritten; the engine adds the pieces of many
        # slices of one tensor into one buffer (see autograd/partial_grads.py).
        return IndexedGrad(ctx.index, grad, ctx.in_shape, _has_int_array(ctx.index))


class IndexAdd(Function):
    """y = zeros(shape) with x added at index (the backward of x[index]);  ∂L/∂x = g[index]."""

    __slots__ = ("index",)
    array_backward = True
    op_name = "index_add"

    @staticmethod
    def forward(ctx, x, index, shape):
        ctx.index = index
        return _index_add_array(x, index, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.index]


def _view(ctx, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Keep a view ``y`` of ``x`` among the saved values: its values never enter the
    backward, but if ``x`` is written in place later, ``y`` changes with it while its
    node still describes the old ``x`` -- backward then refuses, instead of returning the
    gradient of values that are no longer there."""
    if y.base is not None:
        ctx.save_for_backward(y)
    return y


class SetItem(Function):
    """y = x with y[index] = v;  ∂L/∂x = g with zeros at index, ∂L/∂v = g[index]."""

    __slots__ = ("index", "shape")
    array_backward = True
    op_name = "setitem"

    @staticmethod
    def forward(ctx, x, v, index):
        if _has_int_array(index):
            hits = np.zeros(x.shape, dtype=np.intp)
            np.add.at(hits, index, 1)
            if hits.max(initial=0) > 1:
                # NumPy keeps one of the written values; which one gets the gradient would
                # be a guess, so a recorded write with repeated indices is refused.
                raise IndexError(f"setitem: the index writes some elements more than once "
                                 f"(tensor of shape {x.shape}); with gradients recorded each "
                                 "element may be written once")
        ctx.index, ctx.shape = index, x.shape
        y = x.copy()
        y[index] = v
        return y

    @staticmethod
    def backward(ctx, grad):
        need_x, need_v = ctx.needs_input_grad
        gx = gv = None
        if need_x:
            written = np.zeros(ctx.shape, dtype=bool)
            written[ctx.index] = True
            gx = where(written, 0.0, grad)
        if need_v:
            gv = GetItem.apply(grad, index=ctx.index) if isinstance(grad, Tensor) else grad[ctx.index]
        return gx, gv


def _index_add_array(g, index, shape):
    out = np.zeros(shape, dtype=g.dtype)
    if _has_int_array(index):
        np.add.at(out, index, g)  # unbuffered: repeated indices add up
    else:
        out[index] = g
    return out


def _has_int_array(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return builtins.any(isinstance(i, np.ndarray) and i.dtype.kind in "iu" for i in items)


index_add = lift(_index_add_array,
                 lambda g, index, shape: IndexAdd.apply(g, index=index, shape=shape))


class Cat(Function):
    """y = the inputs joined along ``axis``;  ∂L/∂xᵢ = the slice of g that xᵢ filled."""

    __slots__ = ("axis", "sizes")
    array_backward = True
    op_name = "cat"

    @staticmethod
    def forward(ctx, *xs, axis=0):
        xs = [np.asarray(x) for x in xs]
        _check_joinable("cat", xs, axis, same_size=False)
        ctx.axis = axis % xs[0].ndim
        ctx.sizes = [x.shape[ctx.axis] for x in xs]
        return np.concatenate(xs, axis=ctx.axis)

    @staticmethod
    def backward(ctx, grad):
        out, start = [], 0
        lead = (slice(None),) * ctx.axis
        for need, n in zip(ctx.needs_input_grad, ctx.sizes):
            out.append(grad[lead + (slice(start, start + n),)] if need else None)
            start += n
        return tuple(out)


class Stack(Function):
    """y = the inputs stacked along a new ``axis``;  ∂L/∂xᵢ = g[..., i, ...]."""

    __slots__ = ("axis",)
    array_backward = True

    @staticmethod
    def forward(ctx, *xs, axis=0):
        xs = [np.asarray(x) for x in xs]
        _check_joinable("stack", xs, None, same_size=True)
        nd = xs[0].ndim + 1
        if not -nd <= axis < nd:
            raise ValueError(f"stack: axis {axis} is out of range for {nd}-d output")
        ctx.axis = axis % nd
        return np.stack(xs, axis=ctx.axis)

    @staticmethod
    def backward(ctx, grad):
        lead = (slice(None),) * ctx.axis
        return tuple(grad[lead + (i,)] if need else None
                     for i, need in enumerate(ctx.needs_input_grad))


def _check_joinable(op: str, xs: list, axis, same_size: bool) -> None:
    if not xs:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    shapes = [x.shape for x in xs]
    nd = xs[0].ndim
    if builtins.any(x.ndim != nd for x in xs):
        raise ValueError(f"{op}: all tensors need the same number of dimensions, got shapes {shapes}")
    if same_size:
        if builtins.any(s != shapes[0] for s in shapes):
            raise ValueError(f"{op}: all tensors need the same shape, got {shapes}")
        return
    if nd == 0:
        raise ValueError(f"{op}: zero-dimensional tensors cannot be concatenated")
    if not -nd <= axis < nd:
        raise ValueError(f"{op}: axis {axis} is out of range for shapes {shapes}")
    a = axis % nd
    rest = [s[:a] + s[a + 1:] for s in shapes]
    if builtins.any(r != rest[0] for r in rest):
        raise ValueError(f"{op}: shapes {shapes} differ outside axis {axis}")


class Pad(Function):
    """y = x with constant padding around it;  ∂L/∂x = the middle of g."""

    __slots__ = ("inner",)
    array_backward = True

    @staticmethod
    def forward(ctx, x, pad_width, value=0.0):
        ctx.inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        if x.ndim == 0:
            return x.copy()
        return np.pad(x, pad_width, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.inner]


def _normalize_pad(pad_width, shape: Shape) -> tuple[tuple[int, int], ...]:
    """One (before, after) pair per axis, broadcast from ``pad_width`` as ``np.pad`` does."""
    if not shape:
        return ()
    try:
        pw = np.asarray(pad_width)
        if pw.dtype.kind not in "iu":
            raise TypeError
        pairs = np.broadcast_to(pw, (len(shape), 2))
    except (ValueError, TypeError):
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a tensor of shape {shape}: "
                         "give an int, a (before, after) pair, or one pair per axis") from None
    if (pairs < 0).any():
        raise ValueError(f"pad: pad widths must be non-negative, got {pad_width!r}")
    return tuple((int(lo), int(hi)) for lo, hi in pairs)


# ---------------------------------------------------------------- public functions
def _shape_arg(shape, op: str = "reshape") -> Shape:
    return v.shape_args(op, shape, allow_minus_one=True)


def reshape(x, *shape):
    """The same elements in a new shape (one axis may be -1). ``view`` is an alias.

    >>> import microgradnn as mg
    >>> mg.reshape(mg.arange(6), (2, 3)).shape
    (2, 3)
    """
    return Reshape.apply(x, shape=_shape_arg(shape, "reshape"))


def transpose(x, *axes):
    """Permute axes. With no arguments reverse them (NumPy); with two ints swap those
    two (PyTorch's ``transpose(dim0, dim1)``); with a tuple apply that permutation.

    >>> import microgradnn as mg
    >>> mg.transpose(mg.zeros((2, 3, 4)), 0, 2).shape
    (4, 3, 2)
    """
    return _transpose("transpose", x, axes)


def _transpose(op: str, x, axes):
    nd = x.ndim
    if not axes:
        perm = tuple(range(nd))[::-1]
    elif len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        perm = _permutation(op, axes[0], x)
    elif len(axes) == 2:
        d0, d1 = _dim(op, axes[0], nd), _dim(op, axes[1], nd)
        perm = list(range(nd))
        if nd:                      # a 0-d tensor: transpose(0, 0) is the tensor itself
            perm[d0], perm[d1] = perm[d1], perm[d0]
        perm = tuple(perm)
    else:
        perm = _permutation(op, axes, x)
    return Transpose.apply(x, axes=perm)


def _permutation(op: str, dims, x) -> tuple[int, ...]:
    perm = tuple(_dim(op, d, x.ndim) for d in dims)
    if sorted(perm) != list(range(x.ndim)):
        raise ValueError(f"{op}: axes {tuple(dims)} are not a permutation of the {x.ndim} "
                         f"axes of shape {x.shape}")
    return perm


def permute(x, *dims):
    """Reorder axes: ``permute(x, 2, 0, 1)`` (PyTorch).

    >>> import microgradnn as mg
    >>> mg.permute(mg.zeros((2, 3, 4)), 2, 0, 1).shape
    (4, 2, 3)
    """
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return Transpose.apply(x, axes=_permutation("permute", dims, x))


def swapaxes(x, axis1: int, axis2: int):
    """Swap two axes (NumPy's name for PyTorch's ``transpose(dim0, dim1)``)."""
    return _transpose("swapaxes", x, (axis1, axis2))


def _dim(op: str, d: int, nd: int, extra: int = 0) -> int:
    return v.check_axis(op, d, nd, extra=extra)


def flatten(x, start_dim: int = 0, end_dim: int = -1):
    """Merge axes ``start_dim..end_dim`` into one (PyTorch).

    >>> import microgradnn as mg
    >>> mg.flatten(mg.zeros((2, 3, 4)), 1).shape
    (2, 12)
    """
    nd = x.ndim
    if nd == 0:
        return reshape(x, (1,))
    s, e = _dim("flatten", start_dim, nd), _dim("flatten", end_dim, nd)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:]
    return reshape(x, shape)


def squeeze(x, axis=None, *, dim=None):
    """Drop axes of length 1 (all of them, or those named that have length 1, as PyTorch).

    >>> import microgradnn as mg
    >>> mg.squeeze(mg.zeros((2, 1, 3))).shape
    (2, 3)
    """
    axis = dim if dim is not None else axis
    nd = x.ndim
    if axis is None:
        drop = {i for i, s in enumerate(x.shape) if s == 1}
    else:
        axes = v.check_axes("squeeze", axis, nd)
        drop = set(axes)
        drop = {a for a in drop if x.shape[a] == 1} if nd else set()
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if i not in drop))


def unsqueeze(x, dim: int):
    """Insert an axis of length 1 at ``dim``.

    >>> import microgradnn as mg
    >>> mg.unsqueeze(mg.zeros(3), 0).shape
    (1, 3)
    """
    d = _dim("unsqueeze", dim, x.ndim, extra=1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def broadcast_to(x, shape):
    """View ``x`` broadcast to ``shape`` (NumPy); the gradient is summed back.

    >>> import microgradnn as mg
    >>> mg.broadcast_to(mg.ones(3), (2, 3)).shape
    (2, 3)
    """
    if isinstance(x, Tensor):
        return BroadcastTo.apply(x, shape=v.check_shape("broadcast_to", "shape", shape))
    return np.broadcast_to(x, shape)


def expand(x, *sizes):
    """Broadcast to ``sizes``, where -1 keeps that axis (PyTorch).

    >>> import microgradnn as mg
    >>> mg.expand(mg.ones((3, 1)), -1, 4).shape
    (3, 4)
    """
    sizes = _shape_arg(sizes, "expand")
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: {len(sizes)} sizes given for a {x.ndim}-d tensor of "
                         f"shape {x.shape}")
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    if -1 in shape:
        raise ValueError(f"expand: -1 is not allowed for a new leading axis (sizes {sizes}, "
                         f"tensor shape {x.shape})")
    return broadcast_to(x, shape)


def cat(tensors: Sequence, axis: int = 0, *, dim: int | None = None):
    """Join tensors along an existing axis. ``concatenate`` is an alias.

    >>> import microgradnn as mg
    >>> mg.cat([mg.zeros((2, 3)), mg.ones((1, 3))]).shape
    (3, 3)
    """
    return Cat.apply(*_sequence("cat", tensors), axis=v.check_int(
        "cat", "dim", dim if dim is not None else axis))


concatenate = cat


def stack(tensors: Sequence, axis: int = 0, *, dim: int | None = None):
    """Join tensors of one shape along a new axis.

    >>> import microgradnn as mg
    >>> mg.stack([mg.zeros(3), mg.ones(3)], axis=1).shape
    (3, 2)
    """
    return Stack.apply(*_sequence("stack", tensors), axis=v.check_int(
        "stack", "dim", dim if dim is not None else axis))


def _sequence(op: str, tensors) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expected a list or tuple of tensors, got "
                        f"{type(tensors).__name__}")
    return [v.check_tensor(op, f"tensors[{i}]", t) for i, t in enumerate(tensors)]


def split(x, split_size_or_sections, axis: int = 0, *, dim: int | None = None) -> list:
    """Cut into pieces along ``axis`` (PyTorch): an int gives pieces of that size (the last
    may be smaller); a list gives the size of each piece.

    >>> import microgradnn as mg
    >>> [p.shape for p in mg.split(mg.arange(5), 2)]
    [(2,), (2,), (1,)]
    """
    axis = _dim("split", dim if dim is not None else axis, x.ndim)
    n = x.shape[axis]
    if v.is_int(split_size_or_sections):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: split size must be positive, got {size}")
        sizes = [builtins.min(size, n - s) for s in range(0, n, size)] or [0]
    else:
        if not isinstance(split_size_or_sections, (list, tuple)):
            raise TypeError(f"split: split_size_or_sections must be an int or a list of "
                            f"ints, got {split_size_or_sections!r}")
        sizes = list(v.check_shape("split", "split_size_or_sections",
                                   split_size_or_sections))
        if builtins.sum(sizes) != n or builtins.any(s < 0 for s in sizes):
            raise ValueError(f"split: sizes {sizes} do not add up to {n}, the length of "
                             f"axis {axis} of shape {x.shape}")
    lead = (slice(None),) * axis
    out, start = [], 0
    for s in sizes:
        out.append(x[lead + (slice(start, start + s),)])
        start += s
    return out


def chunk(x, chunks: int, axis: int = 0, *, dim: int | None = None) -> list:
    """Cut into ``chunks`` nearly equal pieces along ``axis`` (PyTorch).

    >>> import microgradnn as mg
    >>> [p.shape for p in mg.chunk(mg.zeros((2, 8)), 4, axis=1)]
    [(2, 2), (2, 2), (2, 2), (2, 2)]
    """
    axis = _dim("chunk", dim if dim is not None else axis, x.ndim)
    chunks = v.check_int("chunk", "chunks", chunks, min=1)
    return split(x, builtins.max(1, -(-x.shape[axis] // chunks)), axis)


def unbind(x, dim: int = 0) -> tuple:
    """The slices of ``x`` along ``dim`` (that axis removed), as a tuple (PyTorch).

    >>> import microgradnn as mg
    >>> [t.shape for t in mg.unbind(mg.zeros((2, 3)), 1)]
    [(2,), (2,), (2,)]
    """
    d = _dim("unbind", dim, x.ndim)
    lead = (slice(None),) * d
    return tuple(x[lead + (i,)] for i in range(x.shape[d]))


def pad(x, pad_width, constant_values=0.0):
    """Pad with a constant (NumPy's ``pad`` in ``constant`` mode): ``pad_width`` is an int,
    a (before, after) pair for every axis, or one pair per axis.

    >>> import microgradnn as mg
    >>> mg.pad(mg.ones((2, 2)), 1).shape
    (4, 4)
    """
    v.check_real("pad", "constant_values", constant_values)
    return Pad.apply(x, pad_width=_normalize_pad(pad_width, x.shape), value=constant_values)


def getitem(x, index):
    """``x[index]``: slices, ints, None, Ellipsis, integer arrays, boolean masks."""
    return GetItem.apply(x, index=_normalize_index(x, index))


def _normalize_index(x, index, op: str = "getitem"):
    """Tensors and lists in an index become arrays; check masks and bounds up front."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for it in items:
        if isinstance(it, Tensor):
            it = it.data
        if isinstance(it, (list, tuple, range, np.ndarray)):
            # A copy: the graph keeps the index, and the caller may change their array
            # later. (Inside an index, a tuple is a list of positions, as in NumPy.)
            it = np.array(it)
            if it.size == 0 and it.dtype.kind == "f":
                it = it.astype(np.intp)
        if isinstance(it, np.ndarray) and it.dtype.kind not in "biu":
            raise IndexError(f"{op}: index arrays must be integers or booleans, got dtype "
                             f"{it.dtype} (tensor of shape {x.shape})")
        out.append(it)
    return tuple(out) if isinstance(index, tuple) or len(out) != 1 else out[0]


from ..tensor import Tensor  # noqa: E402
from .reduce import sum_to  # noqa: E402
from .elementwise import where  # noqa: E402


# ---------------------------------------------------------------- PyTorch's indexing names
# Written in GetItem (whose backward scatters and accumulates), so each is differentiable
# to any order without a backward of its own.
def flip(x, dims):
    """Reverse the order of elements along ``dims`` (PyTorch's ``flip``).

    >>> import microgradnn as mg
    >>> mg.flip(mg.arange(3), 0)
    tensor([2, 1, 0])
    """
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    axes = {_dim("flip", d, x.ndim) for d in dims}
    return x[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(x.ndim))]


def roll(x, shifts, dims=None):
    """Shift elements along ``dims`` cyclically (over the flattened tensor without dims).

    >>> import microgradnn as mg
    >>> mg.roll(mg.arange(4), 1)
    tensor([3, 0, 1, 2])
    """
    if dims is None:
        return roll(x.reshape(-1), shifts, 0).reshape(x.shape)
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(dims)} dims")
    for s, d in zip(shifts, dims):
        d = _dim("roll", d, x.ndim)
        n = x.shape[d]
        if n:
            order = (np.arange(n) - int(s)) % n
            x = x[(slice(None),) * d + (order,)]
    return x


def gather(x, dim: int, index):
    """``out[i][j] = x[i][index[i][j]]`` for ``dim=1`` (and likewise for any dim), as
    PyTorch's ``gather``; the gradient is scattered back, repeated indices adding up.

    >>> import microgradnn as mg
    >>> mg.gather(mg.tensor([[1.0, 2.0], [3.0, 4.0]]), 1, mg.tensor([[0, 0], [1, 0]]))
    tensor([[1., 1.],
            [4., 3.]])
    """
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got dtype {idx.dtype}")
    d = _dim("gather", dim, x.ndim)
    if idx.ndim != x.ndim:
        raise RuntimeError(f"gather: index has {idx.ndim} dimensions, the input {x.ndim} "
                           f"(shapes {idx.shape} and {x.shape}); they must have as many")
    for i, (a, b) in enumerate(zip(idx.shape, x.shape)):
        if i != d and a > b:
            raise RuntimeError(f"gather: index shape {idx.shape} is larger than the input "
                               f"shape {x.shape} outside dim {d}")
    n = x.shape[d]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"gather: index out of range for dim {d} of size {n}")
    grid = list(np.indices(idx.shape, sparse=True))
    grid[d] = idx
    return x[tuple(grid)]


def sort(x, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """``(values, indices)`` sorted along ``dim`` (PyTorch's ``sort``; ties keep their
    order). The values are differentiable.

    >>> import microgradnn as mg
    >>> mg.sort(mg.tensor([3.0, 1.0, 2.0])).indices
    tensor([1, 2, 0])
    """
    if x.ndim == 0:
        return ValuesIndices(x, _make(np.zeros((), np.int64), False, None))
    d = _dim("sort", dim, x.ndim)
    key = x.data.astype(np.int64) if x.data.dtype.kind in "bu" else x.data
    order = np.argsort(-key if descending else key, axis=d, kind="stable")
    return ValuesIndices(gather(x, d, order), _make(order.astype(np.int64), False, None))


def topk(x, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices.

    >>> import microgradnn as mg
    >>> mg.topk(mg.tensor([1.0, 5.0, 3.0]), 2).values
    tensor([5., 3.])
    """
    d = _dim("topk", dim, x.ndim) if x.ndim else 0
    n = x.shape[d] if x.ndim else 1
    if not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k!r}) must be in [0, {n}] for dim {dim} of shape {x.shape}")
    values, indices = sort(x, d, descending=largest)
    lead = (slice(None),) * d
    return ValuesIndices(values[lead + (slice(0, k),)], indices[lead + (slice(0, k),)])


def one_hot(tensor, num_classes: int = -1):
    """Class indices (int64) as one-hot vectors of ``num_classes`` (the largest index + 1
    by default), as PyTorch's ``F.one_hot``; an int64 tensor without gradient.

    >>> import microgradnn as mg
    >>> mg.one_hot(mg.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    idx = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: class values must be integers (int64), got dtype {idx.dtype}")
    if idx.size and idx.min() < 0:
        raise RuntimeError("one_hot: class values must be non-negative")
    top = int(idx.max()) + 1 if idx.size else 0
    if num_classes == -1:
        if not idx.size:
            raise RuntimeError("one_hot: cannot infer the number of classes of an empty tensor")
        num_classes = top
    elif top > num_classes:
        raise RuntimeError(f"one_hot: class value {top - 1} is too large for num_classes={num_classes}")
    out = np.zeros(idx.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, idx[..., None].astype(np.intp), 1, axis=-1)
    return _make(out, False, None)


from ..tensor import _make  # noqa: E402
from .reduce import ValuesIndices  # noqa: E402
