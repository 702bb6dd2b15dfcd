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


def composite_vjp(reference: Callable, inputs: tuple, needs: tuple, grad) -> tuple:
    """The gradients of ``reference(*inputs)`` for the upstream ``grad``, recorded: how a
    fused primitive's backward runs under ``create_graph=True``.

    A fused primitive computes its forward and its plain backward with array code; its
    recorded backward differentiates ``reference``, the same math written with plain
    Tensor operations, so there is no second hand-written copy of the gradient and its
    higher derivatives are the reference's own. ``needs`` says which inputs want one
    (the others get None).
    """
    from ..autograd import enable_grad, grad as _grad  # the autograd package imports ops
    wrt = [x for x, n in zip(inputs, needs) if n]
    if not wrt:
        return tuple(None for _ in needs)
    with enable_grad():
        out = reference(*inputs)
    # retain_graph: the returned gradients are functions of the reference's graph, which a
    # further backward pass (the next derivative) walks again
    found = iter(_grad([out], wrt, [grad], create_graph=True, retain_graph=True,
                       allow_unused=True))
    return tuple(next(found) if n else None for n in needs)


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


# ---------------------------------------------------------------- type promotion
# PyTorch's categories: a dtype of a higher category wins whatever its size.
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's ``promote_types``: the higher category wins (float16 + int64 is float16);
    within one category the larger dtype (NumPy's rule there)."""
    if a == b:
        return a
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def _combine(higher, lower):
    """PyTorch's rule joining operand classes: ``higher`` (e.g. dimensioned tensors) keeps
    its dtype unless ``lower`` (0-d tensors, then scalars) is of a higher category."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    ch = _CATEGORY[higher.kind]
    if ch == 2:
        return higher
    if ch == 0 or _CATEGORY[lower.kind] == 2:
        return promote_types(higher, lower)
    return higher


def result_type(op: str, *operands) -> np.dtype:
    """The dtype PyTorch gives ``op(*operands)``: dimensioned tensors (and arrays) win over
    0-d tensors, which win over Python and NumPy scalars, unless those are of a higher
    category (bool < integer < floating); a float scalar counts as the default dtype.

    >>> import numpy as np, microgradnn as mg
    >>> result_type("mul", mg.ones(2), np.float64(2)), result_type("mul", mg.arange(2), 0.5)
    (dtype('float32'), dtype('float32'))
    """
    dim = zero = wrapped = None
    for x in operands:
        if isinstance(x, Tensor):
            x = x.data
        if isinstance(x, np.ndarray):
            dt = check_dtype(op, x.dtype)
            if x.ndim:
                dim = dt if dim is None else promote_types(dim, dt)
            else:
                zero = dt if zero is None else promote_types(zero, dt)
            continue
        if isinstance(x, (bool, np.bool_)):
            dt = _BOOL
        elif isinstance(x, (int, np.integer)):
            dt = _INT64
        elif isinstance(x, (float, np.floating)):
            dt = get_default_dtype()
        elif isinstance(x, (complex, np.complexfloating)):
            check_dtype(op, np.dtype(complex), "scalar")
        elif isinstance(x, (list, tuple)):
            dt = check_dtype(op, _to_array(x, None, copy=False, op=op).dtype)
            dim = dt if dim is None else promote_types(dim, dt)
            continue
        else:
            raise TypeError(f"{op}: unsupported operand of type {type(x).__name__}; expected "
                            "a tensor, an array or a number")
        wrapped = dt if wrapped is None else promote_types(wrapped, dt)
    return _combine(dim, _combine(zero, wrapped))


def to_dtype(x, dt: np.dtype):
    """``x`` converted for an operation computing in ``dt``: tensors through the recorded
    cast (so gradients flow), arrays cast, scalars left to NumPy's weak-scalar rule."""
    if isinstance(x, Tensor):
        return x if x.data.dtype == dt else x.astype(dt)
    if isinstance(x, np.ndarray):
        return x if x.dtype == dt else x.astype(dt)
    if isinstance(x, np.generic):
        return x.item()  # a NumPy scalar behaves as the Python number it holds
    if isinstance(x, (list, tuple)):
        return _to_array(x, dt, copy=False)
    return x


def promote2(op: str, a, b, floating: bool = False):
    """``a, b`` converted to their common dtype by PyTorch's rule (``floating``: integer
    results become the default float, as for true division)."""
    # fast paths: two tensors of one dtype; a float tensor and a Python float or int
    if isinstance(a, Tensor):
        da = a.data.dtype
        if isinstance(b, Tensor):
            if da == b.data.dtype and (not floating or da.kind == "f"):
                return a, b
        elif (type(b) is float or type(b) is int) and da.kind == "f":
            return a, b
    elif isinstance(b, Tensor) and (type(a) is float or type(a) is int) and b.data.dtype.kind == "f":
        return a, b
    dt = result_type(op, a, b)
    if floating and dt.kind != "f":
        dt = get_default_dtype()
    return to_dtype(a, dt), to_dtype(b, dt)


_BOOL = np.dtype(np.bool_)
_INT64 = np.dtype(np.int64)

from ..dtypes import check_kind as check_dtype, get_default_dtype  # noqa: E402
from ..tensor import _to_array  # noqa: E402


def floating(x: np.ndarray) -> np.ndarray:
    """An integer or bool array in the default float dtype (PyTorch computes float
    functions of them so); float arrays as they are."""
    return x if x.dtype.kind == "f" else x.astype(get_default_dtype())
