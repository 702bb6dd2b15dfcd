"""``Tensor``: an ndarray that remembers how it was made.

The class holds data and bookkeeping only; every method that computes something calls
an operation from :mod:`microgradnn.ops`, where the forward and backward live side by side.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import _validate, dtypes

Shape = tuple[int, ...]


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    ``data`` is the NumPy array; ``grad`` (a Tensor or None) collects the gradient of a
    scalar with respect to this tensor after ``backward()``; ``grad_fn`` is the graph node
    that produced it (None for leaves, i.e. tensors made by the user).

    >>> import microgradnn as mg
    >>> x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    __slots__ = ("data", "grad", "_requires_grad", "grad_fn", "_hooks", "_name", "__weakref__")

    # NumPy defers to our operators: ndarray * tensor calls Tensor.__rmul__.
    __array_ufunc__ = None
    # Elementwise == returns a tensor, so hashing must not depend on it.
    __hash__ = object.__hash__

    def __init__(self, data: Any, dtype=None, requires_grad: bool = False) -> None:
        self.data = _to_array(data, dtype, copy=False)
        self.grad = None
        self._requires_grad = False
        self.grad_fn = None
        self._hooks = None
        self._name = None
        if requires_grad:
            self.requires_grad = True

    # ------------------------------------------------------------------ bookkeeping
    @property
    def requires_grad(self) -> bool:
        """Whether operations on this tensor are recorded for backpropagation."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        if value and self.data.dtype.kind not in "fc":
            raise TypeError(f"requires_grad: only floating-point tensors can require "
                            f"gradients, this one has dtype {self.data.dtype}")
        if self.grad_fn is not None and not value:
            raise RuntimeError("requires_grad: this tensor was computed from tensors that "
                               "require grad; use .detach() to get one that does not")
        self._requires_grad = value

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place and return ``self``."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (not the result of a recorded operation)."""
        return self.grad_fn is None

    @property
    def name(self) -> str | None:
        """An optional label, shown in graph pictures."""
        return self._name if self.grad_fn is None else self.grad_fn.name

    @name.setter
    def name(self, value: str | None) -> None:
        if self.grad_fn is None:
            self._name = value
        else:
            self.grad_fn.name = value

    @property
    def shape(self) -> Shape:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        """Number of elements (NumPy's ``size``; PyTorch's ``numel()``)."""
        return self.data.size

    def numel(self) -> int:
        """Number of elements."""
        return self.data.size

    def dim(self) -> int:
        """Number of dimensions."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def T(self) -> "Tensor":
        """Axes reversed (NumPy's ``.T``)."""
        return _shape.transpose(self)

    def item(self) -> float | int | bool:
        """The single element as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only a tensor with one element can be converted to a "
                             f"Python number, this one has shape {self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def tolist(self):
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """A tensor sharing this one's data, cut off from the graph."""
        return _make(self.data, False, None)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``grad`` becomes None)."""
        self.grad = None

    def register_hook(self, hook: Callable) -> "RemovableHandle":
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor
        replaces the gradient. Returns a handle whose ``remove()`` unregisters it.

        >>> import microgradnn as mg
        >>> x = mg.tensor([1.0, 2.0], requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 10)
        >>> (x * 3).sum().backward()
        >>> x.grad
        tensor([30., 30.])
        """
        if not self._requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does "
                               "not require grad")
        owner = self if self.grad_fn is None else self.grad_fn
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if owner.hooks is None:
                owner.hooks = []
            hooks = owner.hooks
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def backward(self, gradient: Any = None, retain_graph: bool = False,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf it
        depends on (only of ``inputs`` when given). ``gradient`` is required unless this
        tensor has one element."""
        _autograd.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
                           inputs=inputs)

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", precision=4, prefix="tensor(",
                               threshold=1000, edgeitems=3)
        extra = []
        if self.data.dtype not in (dtypes.get_default_dtype(), np.int64, np.bool_):
            extra.append(f"dtype={self.data.dtype}")
        if self.data.size == 0:
            extra.append(f"shape={self.shape}")
        if self.grad_fn is not None:
            extra.append(f"grad_fn=<{type(self.grad_fn).__name__}>")
        elif self._requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extra) + ")"

    def __format__(self, spec: str) -> str:
        if spec and self.data.size == 1:
            return format(self.data.item(), spec)
        return format(repr(self), spec)

    # ------------------------------------------------------------------ conversions
    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        a = self.data
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """A DLPack capsule sharing this tensor's memory (``torch.from_dlpack(t)``)."""
        from .dlpack import to_dlpack
        return to_dlpack(self, stream=stream, max_version=max_version, dl_device=dl_device,
                         copy=copy)

    def __dlpack_device__(self) -> tuple[int, int]:
        """DLPack's ``(device_type, device_id)``: the CPU, ``(1, 0)``."""
        from .dlpack import dlpack_device
        return dlpack_device(self)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"bool: the truth value of a tensor with {self.data.size} "
                             "elements is ambiguous; use .any() or .all()")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of one element can be used as an index")
        return int(self.data.item())

    def astype(self, dtype) -> "Tensor":
        """This tensor as ``dtype`` (differentiable between float dtypes)."""
        dtype = np.dtype(dtype)
        if dtype == self.data.dtype:
            return self
        return _ew.Cast.apply(self, dtype=dtype)

    to = astype

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other):
        return _add(self, other)

    def __radd__(self, other):
        return _add(other, self)

    def __sub__(self, other):
        return _sub(self, other)

    def __rsub__(self, other):
        return _sub(other, self)

    def __mul__(self, other):
        return _mul(self, other)

    def __rmul__(self, other):
        return _mul(other, self)

    def __truediv__(self, other):
        return _div(self, other)

    def __rtruediv__(self, other):
        return _div(other, self)

    def __pow__(self, other):
        return _pow(self, other)

    def __rpow__(self, other):
        return _pow(other, self)

    def __matmul__(self, other):
        return _matmul(self, other)

    def __rmatmul__(self, other):
        return _matmul(other, self)

    def __neg__(self):
        return _ew.Neg._apply1(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ew.Abs._apply1(self)

    add, sub, mul, div, pow, matmul = __add__, __sub__, __mul__, __truediv__, __pow__, __matmul__
    neg = __neg__

    # comparisons: bool tensors, no gradient
    def _compare(self, other, fn):
        if isinstance(other, Tensor):
            other = other.data
        elif not isinstance(other, (int, float, complex, np.ndarray, np.generic, list, tuple)):
            return NotImplemented
        try:
            return _make(np.asarray(fn(self.data, other)), False, None)
        except ValueError as e:
            raise ValueError(f"{fn.__name__}: {e}") from None

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    # ------------------------------------------------------------------ elementwise
    def abs(self):
        return _ew.Abs._apply1(self)

    def exp(self):
        return _ew.Exp._apply1(self)

    def log(self):
        return _ew.Log._apply1(self)

    def sqrt(self):
        return _ew.Sqrt._apply1(self)

    def sin(self):
        return _ew.Sin._apply1(self)

    def cos(self):
        return _ew.Cos._apply1(self)

    def tanh(self):
        return _ew.Tanh._apply1(self)

    def sigmoid(self):
        return _ew.Sigmoid._apply1(self)

    def relu(self):
        return _ew.Relu._apply1(self)

    def leaky_relu(self, negative_slope: float = 0.01):
        return _ew.LeakyRelu.apply(self, negative_slope=negative_slope)

    def heaviside(self, values: float = 0.0):
        return _ew.Heaviside.apply(self, values=values)

    def clip(self, min=None, max=None):
        return _elementwise_fns.clip(self, min, max)

    clamp = clip

    def maximum(self, other):
        return _ew.Maximum.apply(self, other)

    def minimum(self, other):
        return _ew.Minimum.apply(self, other)

    # ------------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _reduce.sum(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _reduce.mean(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _reduce.max(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _reduce.min(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def var(self, axis=None, keepdims=False, *, ddof=0, correction=None, dim=None, keepdim=None):
        return _reduce.var(self, axis, keepdims, ddof=ddof, correction=correction, dim=dim,
                           keepdim=keepdim)

    def std(self, axis=None, keepdims=False, *, ddof=0, correction=None, dim=None, keepdim=None):
        return _reduce.std(self, axis, keepdims, ddof=ddof, correction=correction, dim=dim,
                           keepdim=keepdim)

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _reduce.logsumexp(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def softmax(self, axis=-1, *, dim=None):
        return _reduce.softmax(self, axis, dim=dim)

    def log_softmax(self, axis=-1, *, dim=None):
        return _reduce.log_softmax(self, axis, dim=dim)

    def argmax(self, axis=None, keepdims=False, *, dim=None):
        """Index of the largest element (an int64 tensor; no gradient)."""
        axis = _axis("argmax", dim if dim is not None else axis, self.ndim)
        return _make(np.asarray(np.argmax(self.data, axis=axis, keepdims=keepdims)), False, None)

    def argmin(self, axis=None, keepdims=False, *, dim=None):
        """Index of the smallest element (an int64 tensor; no gradient)."""
        axis = _axis("argmin", dim if dim is not None else axis, self.ndim)
        return _make(np.asarray(np.argmin(self.data, axis=axis, keepdims=keepdims)), False, None)

    def any(self, axis=None, keepdims=False):
        axis = _validate.check_axes("any", axis, self.ndim)
        return _make(np.asarray(np.any(self.data, axis=axis, keepdims=keepdims)), False, None)

    def all(self, axis=None, keepdims=False):
        axis = _validate.check_axes("all", axis, self.ndim)
        return _make(np.asarray(np.all(self.data, axis=axis, keepdims=keepdims)), False, None)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        return _shape.reshape(self, *shape)

    view = reshape

    def transpose(self, *axes):
        return _shape.transpose(self, *axes)

    def permute(self, *dims):
        return _shape.permute(self, *dims)

    def swapaxes(self, axis1: int, axis2: int):
        return _shape.swapaxes(self, axis1, axis2)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        return _shape.flatten(self, start_dim, end_dim)

    def squeeze(self, axis=None, *, dim=None):
        return _shape.squeeze(self, axis, dim=dim)

    def unsqueeze(self, dim: int):
        return _shape.unsqueeze(self, dim)

    def expand(self, *sizes):
        return _shape.expand(self, *sizes)

    def broadcast_to(self, shape):
        return _shape.broadcast_to(self, shape)

    def split(self, split_size_or_sections, axis: int = 0, *, dim=None):
        return _shape.split(self, split_size_or_sections, axis, dim=dim)

    def chunk(self, chunks: int, axis: int = 0, *, dim=None):
        return _shape.chunk(self, chunks, axis, dim=dim)

    def __getitem__(self, index):
        return _shape.GetItem.apply(self, index=_shape._normalize_index(self, index))

    def __setitem__(self, index, value) -> None:
        """Write into the data in place; only for tensors outside any recorded graph."""
        if self._requires_grad and _grad_mode.is_grad_enabled():
            raise RuntimeError("setitem: in-place assignment to a tensor that requires grad "
                               "would corrupt its gradients; do it under mg.no_grad()")
        if self.grad_fn is not None:
            raise RuntimeError("setitem: in-place assignment to the result of a recorded "
                               "operation is not supported")
        if isinstance(value, Tensor) and value._requires_grad and _grad_mode.is_grad_enabled():
            raise RuntimeError("setitem: the value requires grad, and in-place assignment is "
                               "not recorded; build the tensor with mg.cat / mg.stack / "
                               "mg.where instead, or assign value.detach()")
        index = _shape._normalize_index(self, index, "setitem")
        value = value.data if isinstance(value, Tensor) else value
        if not (_validate.is_real(value) or isinstance(value, (bool, np.bool_))):
            value = _validate.check_tensor("setitem", "value", value).data
        try:
            self.data[index] = value
        except (IndexError, ValueError, TypeError) as e:
            raise type(e)(f"setitem: {e} (tensor of shape {self.shape})") from None


def _axis(op: str, axis, ndim: int):
    """None, or one axis as a non-negative int (argmax and argmin take one axis)."""
    if axis is None:
        return None
    axis = _validate.check_axis(op, axis, ndim)
    return axis if ndim else None


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    __slots__ = ("hooks", "hook")

    def __init__(self, hooks: list, hook: Callable) -> None:
        self.hooks, self.hook = hooks, hook

    def remove(self) -> None:
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


_object_new = object.__new__


def _make(data: np.ndarray, requires_grad: bool, grad_fn) -> Tensor:
    """Wrap an array without checks or copies (the operations' fast path)."""
    t = _object_new(Tensor)
    t.data = data
    t.grad = None
    t._requires_grad = requires_grad
    t.grad_fn = grad_fn
    t._hooks = None
    t._name = None
    return t


def _to_array(data: Any, dtype, copy: bool) -> np.ndarray:
    """``data`` as an ndarray: Python floats get the default dtype, arrays keep theirs."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        dtype = np.dtype(dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.array(data, dtype=dtype, copy=copy) if (copy or dtype is not None) else np.asarray(data)
    else:
        try:
            arr = np.array(data, dtype=dtype)
        except (ValueError, TypeError) as e:
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__}: {e}") from None
        if dtype is None and arr.dtype == np.float64:
            arr = arr.astype(dtypes.get_default_dtype())
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"tensor: unsupported dtype {arr.dtype} (from {type(data).__name__}); "
                        "tensors hold numbers or booleans")
    return arr


def tensor(data: Any, dtype=None, requires_grad: bool = False) -> Tensor:
    """Make a tensor, copying ``data``. Python floats become the default dtype (float32);
    NumPy arrays keep theirs; integers and bools are allowed but cannot require grad.

    >>> import microgradnn as mg
    >>> mg.tensor([[1, 2], [3, 4]]).dtype
    dtype('int64')
    >>> mg.tensor([0.5, 1.5], requires_grad=True)
    tensor([0.5, 1.5], requires_grad=True)
    """
    t = _make(_to_array(data, dtype, copy=True), False, None)
    if requires_grad:
        t.requires_grad = True
    return t


from .autograd import grad_mode as _grad_mode  # noqa: E402
from . import autograd as _autograd  # noqa: E402
from .ops import elementwise as _ew, linalg as _linalg, reduce as _reduce, shape as _shape  # noqa: E402
from .ops import functional as _elementwise_fns  # noqa: E402

# Bound once: operators are the hottest calls and skip two attribute lookups this way.
_add, _sub, _mul, _div, _pow = (_ew.Add._apply2, _ew.Sub._apply2, _ew.Mul._apply2,
                                _ew.Div._apply2, _ew.Pow._apply2)
_matmul = _linalg.MatMul._apply2
