"""``Tensor``: an ndarray that remembers how it was made.

The class holds data and bookkeeping only; every method that computes something calls
an operation from :mod:`microgradnn.ops`, where the forward and backward live side by side.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import _validate, dtypes, dtypes as _dtypes

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

    __slots__ = ("data", "_grad", "_requires_grad", "grad_fn", "_hooks", "_name", "__weakref__")

    # NumPy defers to our operators: ndarray * tensor calls Tensor.__rmul__.
    __array_ufunc__ = None
    # Elementwise == returns a tensor, so hashing must not depend on it.
    __hash__ = object.__hash__

    def __init__(self, data: Any, dtype=None, requires_grad: bool = False, *,
                 device=None) -> None:
        _device.check(device, "Tensor")
        self.data = _to_array(data, dtype, copy=False)
        self._grad = None
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
        if value and self.data.dtype.kind != "f":
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
    def grad(self) -> "Tensor | None":
        """The accumulated gradient (None until a backward pass reaches this tensor).

        Assigning checks what PyTorch checks: a Tensor (or None) of this tensor's shape
        and dtype, so a wrong gradient is refused where it is made, not at ``step()``.
        """
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"grad: assigned grad expected to be a Tensor or None but "
                                f"got {type(value).__name__} (tensor of shape {self.shape})")
            if value.data.shape != self.data.shape:
                raise RuntimeError(f"grad: assigned grad has shape {value.shape}, but the "
                                   f"tensor has shape {self.shape}")
            if value.data.dtype != self.data.dtype:
                raise TypeError(f"grad: assigned grad has dtype {value.dtype}, but the tensor "
                                f"has dtype {self.dtype}; convert it with .to({self.dtype})")
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        self._grad = None

    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's storage received (shared with views)."""
        return _versions.version(self.data)

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

    def size(self, dim: int | None = None):
        """The shape as a :class:`Size` (a tuple), or the length of axis ``dim`` (PyTorch).

        >>> import microgradnn as mg
        >>> x = mg.zeros(2, 3)
        >>> x.size(), x.size(1), x.size(-1)
        (microgradnn.Size([2, 3]), 3, 3)
        """
        shape = self.data.shape
        if dim is None:
            return Size(shape)
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
            raise TypeError(f"size: dim must be an int, got {dim!r}")
        nd = len(shape)
        if not -max(nd, 1) <= dim < max(nd, 1) or nd == 0:
            raise IndexError(f"size: dimension {dim} is out of range for a tensor of shape "
                             f"{shape} (expected to be in [{-nd}, {nd - 1}])" if nd else
                             f"size: a 0-d tensor has no dimension {dim}")
        return shape[dim]

    @property
    def device(self) -> "_device.device":
        """Always ``device('cpu')``: microgradnn computes with NumPy on the CPU."""
        return _device.CPU

    @property
    def is_cuda(self) -> bool:
        return False

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
        """The underlying array (shared, not copied). As in PyTorch, a tensor that
        requires grad refuses: writes into the array would not be seen by autograd.

        >>> import microgradnn as mg
        >>> mg.tensor([1.0, 2.0]).numpy()
        array([1., 2.], dtype=float32)
        """
        if self._requires_grad:
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad "
                               f"(shape {self.shape}); use tensor.detach().numpy() instead")
        return self.data

    def tolist(self):
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """A tensor sharing this one's data, cut off from the graph. In-place changes to
        either are seen by both, and counted against values saved for backward."""
        return _make(self.data, False, None)

    def detach_(self) -> "Tensor":
        """Cut this tensor off from the graph, in place (it becomes a leaf)."""
        self.grad_fn = None
        self._requires_grad = False
        return self

    def clone(self) -> "Tensor":
        """A copy with its own memory; gradients flow back to this tensor.

        >>> import microgradnn as mg
        >>> x = mg.tensor([1.0, 2.0]); y = x.clone(); y += 1; x
        tensor([1., 2.])
        """
        return _ew.Clone._apply1(self)

    def contiguous(self) -> "Tensor":
        """This tensor, in C order (a copy only when it is not already)."""
        return self if self.data.flags.c_contiguous else self.clone()

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
        dtype = _dtypes.as_dtype(dtype, "astype")
        if dtype == self.data.dtype:
            return self
        return _ew.Cast.apply(self, dtype=dtype)

    def to(self, *args, dtype=None, device=None, copy: bool = False, non_blocking: bool = False):
        """PyTorch's ``to``: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``,
        ``to(other_tensor)``. The only device is the CPU; asking for another raises.

        >>> import microgradnn as mg
        >>> mg.tensor([1, 2]).to(mg.float32).dtype, mg.ones(2).to("cpu").device
        (dtype('float32'), device(type='cpu'))
        """
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype if dtype is None else dtype
            elif isinstance(a, (str, _device.device)) and not _dtypes.is_dtype_name(a):
                device = a
            else:
                dtype = a
        _device.check(device, "to")
        out = self if dtype is None else self.astype(dtype)
        return out.clone() if copy and out is self else out

    def type(self, dtype=None):
        """With no argument the type name (``'torch.FloatTensor'`` style); otherwise this
        tensor as ``dtype``."""
        if dtype is None:
            return _dtypes.type_name(self.data.dtype)
        return self.astype(dtype)

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.astype(other.dtype)

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    def half(self) -> "Tensor":
        return self.astype(np.float16)

    def long(self) -> "Tensor":
        return self.astype(np.int64)

    def int(self) -> "Tensor":
        return self.astype(np.int32)

    def short(self) -> "Tensor":
        return self.astype(np.int16)

    def bool(self) -> "Tensor":
        return self.astype(np.bool_)

    def cpu(self) -> "Tensor":
        return self

    def cuda(self, *args, **kwargs):
        _device.check("cuda", "cuda")

    # ------------------------------------------------------------------ arithmetic
    # __add__, __radd__, __sub__, ..., __rpow__ are made by _arithmetic at the end of this
    # module: they need the operations, which import this module.

    def __matmul__(self, other):
        if isinstance(other, Tensor) and other.data.dtype == self.data.dtype:
            return _matmul(self, other)  # the common case, checks done
        return _linalg.matmul(self, other)

    def __rmatmul__(self, other):
        return _linalg.matmul(other, self)

    def __neg__(self):
        return _ew.Neg._apply1(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ew.Abs._apply1(self)

    def add(self, other, *, alpha=1):
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, *, alpha=1):
        return self - (other if alpha == 1 else other * alpha)

    matmul = __matmul__
    subtract = sub
    # mul, div, pow, multiply and divide are set beside the operators at the end of the module
    neg = negative = __neg__

    # ------------------------------------------------------------------ in place
    # PyTorch's rules: free under no_grad and on tensors outside any graph; refused on a
    # leaf that requires grad while grad mode is on; recorded on a non-leaf (the tensor
    # takes the new node as its grad_fn). Every write advances the version counter, so
    # backward refuses values saved before it (autograd/versions.py).
    def _inplace(self, op: str, fn, *args):
        """Write ``fn(self, *args)`` (computed out of place) into this tensor's memory."""
        record = _grad_mode._local.mode.enabled and (
            self._requires_grad or builtins.any(isinstance(a, Tensor) and a._requires_grad
                                                for a in args))
        if record:
            _check_recordable(op, self)
            src = self._before_write()
            args = tuple(src if a is self else _unshare(a, self.data) for a in args)
        else:
            src = self
        out = fn(src, *args)
        self._write(op, out)
        return self

    def _before_write(self) -> "Tensor":
        """This tensor's current value as a tensor of its own memory, linked where this
        tensor is: the recorded write reads it, and the old node's output is this copy."""
        before = self.data.copy()
        node = self.grad_fn
        if node is None:
            return _make(before, False, None)
        _function.rebind_output(node, before)  # what the old node computed, before the write
        return _make(before, True, node)

    def _write(self, op: str, out: "Tensor") -> None:
        if out.data.shape != self.data.shape:
            raise RuntimeError(f"{op}: the result has shape {out.shape}, which does not fit "
                               f"the tensor of shape {self.shape} it is written into (an "
                               "in-place operation cannot change the shape of its tensor)")
        if out.data.dtype != self.data.dtype:
            if not np.can_cast(out.data.dtype, self.data.dtype, "same_kind"):
                raise RuntimeError(f"{op}: result type {out.dtype} can't be cast to the "
                                   f"desired output type {self.dtype}")
            out = out.astype(self.data.dtype)
        _check_writeable(op, self)
        _versions.bump(self.data)
        np.copyto(self.data, out.data)
        if out.grad_fn is not None:
            _function.adopt_output(out.grad_fn, out.data, self.data)
            self.grad_fn = out.grad_fn
            self._requires_grad = True

    def _bump_version(self) -> None:
        """Count a write made to ``.data`` directly (optimizers, ``load_state_dict``)."""
        _versions.bump(self.data)

    def add_(self, other, *, alpha=1):
        """``self += alpha * other``, in place (see :meth:`Tensor.add`)."""
        if alpha == 1:
            return self._inplace("add_", Tensor.__add__, other)
        return self._inplace("add_", lambda t, o: t.add(o, alpha=alpha), other)

    def sub_(self, other, *, alpha=1):
        """``self -= alpha * other``, in place."""
        if alpha == 1:
            return self._inplace("sub_", Tensor.__sub__, other)
        return self._inplace("sub_", lambda t, o: t.sub(o, alpha=alpha), other)

    def mul_(self, other):
        return self._inplace("mul_", Tensor.__mul__, other)

    def div_(self, other):
        return self._inplace("div_", Tensor.__truediv__, other)

    def pow_(self, other):
        return self._inplace("pow_", Tensor.__pow__, other)

    def neg_(self):
        return self._inplace("neg_", Tensor.__neg__)

    def abs_(self):
        return self._inplace("abs_", Tensor.abs)

    def exp_(self):
        return self._inplace("exp_", Tensor.exp)

    def log_(self):
        return self._inplace("log_", Tensor.log)

    def sqrt_(self):
        return self._inplace("sqrt_", Tensor.sqrt)

    def tanh_(self):
        return self._inplace("tanh_", Tensor.tanh)

    def sigmoid_(self):
        return self._inplace("sigmoid_", Tensor.sigmoid)

    def relu_(self):
        return self._inplace("relu_", Tensor.relu)

    def clamp_(self, min=None, max=None):
        return self._inplace("clamp_", lambda t: t.clamp(min, max))

    clip_ = clamp_

    def masked_fill_(self, mask, value):
        return self._inplace("masked_fill_", Tensor.masked_fill, mask, value)

    def copy_(self, src, non_blocking: bool = False):
        """Copy ``src`` (broadcast to this shape, cast to this dtype) into this tensor;
        differentiable with respect to ``src``."""
        if not isinstance(src, Tensor):
            src = tensor(src)
        try:
            np.broadcast_shapes(src.shape, self.shape)
        except ValueError:
            raise RuntimeError(f"copy_: the source of shape {src.shape} cannot be broadcast to "
                               f"the tensor's shape {self.shape}") from None
        return self._inplace("copy_", _replaced_by, src)

    def fill_(self, value):
        """Set every element to ``value`` (a number or a one-element tensor)."""
        if isinstance(value, Tensor) and value.data.ndim:
            raise RuntimeError(f"fill_: the value must be a number or a 0-d tensor, got a "
                               f"tensor of shape {value.shape}")
        return self._inplace("fill_", _replaced_by, value)

    def zero_(self):
        return self._inplace("zero_", _replaced_by, 0)

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None):
        """Fill with samples from U(a, b) (the generator ``manual_seed`` seeds)."""
        rng = _creation.generator() if generator is None else generator
        return self._inplace("uniform_", _replaced_by, rng.uniform(a, b, self.shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None):
        """Fill with samples from N(mean, std²) (the generator ``manual_seed`` seeds)."""
        rng = _creation.generator() if generator is None else generator
        return self._inplace("normal_", _replaced_by, rng.normal(mean, std, self.shape))

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __ipow__(self, other):
        return self.pow_(other)

    def __imatmul__(self, other):
        return self._inplace("matmul_", Tensor.__matmul__, other)

    # comparisons: bool tensors, no gradient
    def _compare(self, other, fn):
        if other is None or isinstance(other, str):
            return NotImplemented
        a, b = _promote2(fn.__name__, self, other)
        try:
            return _make(np.asarray(fn(_data(a), _data(b))), False, None)
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

    lt, le, gt, ge, eq, ne = __lt__, __le__, __gt__, __ge__, __eq__, __ne__

    # bitwise / logical operators on bool and integer tensors (masks): no gradient
    def _bitwise(self, other, fn):
        a, b = _promote2(fn.__name__, self, other)
        a, b = _data(a), _data(b)
        for v in (a, b):
            if np.asarray(v).dtype.kind not in "biu":
                raise TypeError(f"{fn.__name__}: only bool and integer tensors, got dtype "
                                f"{np.asarray(v).dtype}")
        return _make(np.asarray(fn(a, b)), False, None)

    def __and__(self, other):
        return self._bitwise(other, np.bitwise_and)

    def __or__(self, other):
        return self._bitwise(other, np.bitwise_or)

    def __xor__(self, other):
        return self._bitwise(other, np.bitwise_xor)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        if self.data.dtype.kind not in "biu":
            raise TypeError(f"invert: only bool and integer tensors, got dtype {self.dtype}")
        return _make(np.invert(self.data), False, None)

    def logical_not(self):
        return _make(np.logical_not(self.data), False, None)

    def equal(self, other) -> bool:
        """True if ``other`` has this shape and these values (PyTorch's ``torch.equal``)."""
        other = other.data if isinstance(other, Tensor) else np.asarray(other)
        return self.data.shape == other.shape and bool(np.array_equal(self.data, other))

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
        return _elementwise_fns.leaky_relu(self, negative_slope)

    def heaviside(self, values: float = 0.0):
        return _ew.Heaviside.apply(self, values=values)

    def clip(self, min=None, max=None):
        return _elementwise_fns.clip(self, min, max)

    clamp = clip

    def maximum(self, other):
        return _elementwise_fns.maximum(self, other)

    def minimum(self, other):
        return _elementwise_fns.minimum(self, other)

    def masked_fill(self, mask, value):
        """This tensor with ``value`` where the bool ``mask`` is true (keeps this dtype).

        >>> import microgradnn as mg
        >>> x = mg.tensor([1.0, -2.0]); x.masked_fill(x < 0, 0.0)
        tensor([1., 0.])
        """
        return _elementwise_fns.masked_fill(self, mask, value)

    # ------------------------------------------------------------------ reductions
    # The first two positional arguments are PyTorch's ``dim`` and ``keepdim``; NumPy's
    # ``axis`` / ``keepdims`` are accepted as keywords of the same meaning.
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None):
        x = self if dtype is None else self.astype(dtype)
        return _reduce.sum(x, axis, keepdims, dim=dim, keepdim=keepdim)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None):
        x = self if dtype is None else self.astype(dtype)
        return _reduce.mean(x, axis, keepdims, dim=dim, keepdim=keepdim)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The largest element; with a dim, ``(values, indices)`` (PyTorch)."""
        if isinstance(dim, Tensor):
            return _elementwise_fns.maximum(self, dim)
        return _reduce.max(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The smallest element; with a dim, ``(values, indices)`` (PyTorch)."""
        if isinstance(dim, Tensor):
            return _elementwise_fns.minimum(self, dim)
        return _reduce.min(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _reduce.amax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _reduce.amin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=None, ddof=None):
        return _reduce.var(self, dim, unbiased, keepdim, correction=correction, axis=axis,
                           keepdims=keepdims, ddof=ddof)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=None, ddof=None):
        return _reduce.std(self, dim, unbiased, keepdim, correction=correction, axis=axis,
                           keepdims=keepdims, ddof=ddof)

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _reduce.logsumexp(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def softmax(self, dim=None, *, axis=None, dtype=None):
        return _reduce.softmax(self, dim, axis=axis, dtype=dtype)

    def log_softmax(self, dim=None, *, axis=None, dtype=None):
        return _reduce.log_softmax(self, dim, axis=axis, dtype=dtype)

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """Index of the largest element (an int64 tensor; no gradient)."""
        return _reduce.argmax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """Index of the smallest element (an int64 tensor; no gradient)."""
        return _reduce.argmin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def any(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keep = _reduce.dim_keep("any", axis, keepdims, dim, keepdim)
        axis = _validate.check_axes("any", axis, self.ndim)
        return _make(np.asarray(np.any(self.data, axis=axis, keepdims=keep)), False, None)

    def all(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keep = _reduce.dim_keep("all", axis, keepdims, dim, keepdim)
        axis = _validate.check_axes("all", axis, self.ndim)
        return _make(np.asarray(np.all(self.data, axis=axis, keepdims=keep)), False, None)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        return _shape.reshape(self, *shape)

    view = reshape

    def view_as(self, other: "Tensor"):
        return _shape.reshape(self, other.shape)

    reshape_as = view_as

    def expand_as(self, other: "Tensor"):
        return _shape.broadcast_to(self, other.shape)

    def transpose(self, *axes):
        return _shape.transpose(self, *axes)

    def t(self):
        """Transpose a tensor of at most 2 dimensions (PyTorch's ``t()``)."""
        if self.data.ndim > 2:
            raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, but this one has "
                               f"{self.data.ndim} (shape {self.shape}); use transpose(dim0, dim1)")
        return _shape.transpose(self) if self.data.ndim == 2 else self

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

    def unbind(self, dim: int = 0):
        """The slices along ``dim``, as a tuple (PyTorch)."""
        return _shape.unbind(self, dim)

    def cumsum(self, dim: int, *, dtype=None):
        return _reduce.cumsum(self, dim, dtype=dtype)

    def prod(self, dim=None, keepdim: bool = False, *, dtype=None):
        return _reduce.prod(self, dim, keepdim, dtype=dtype)

    def norm(self, p="fro", dim=None, keepdim: bool = False, *, dtype=None):
        return _reduce.norm(self, p, dim, keepdim, dtype=dtype)

    def sort(self, dim: int = -1, descending: bool = False, *, stable: bool = False):
        return _shape.sort(self, dim, descending, stable=stable)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
        return _shape.topk(self, k, dim, largest, sorted)

    def gather(self, dim: int, index):
        return _shape.gather(self, dim, index)

    def flip(self, *dims):
        return _shape.flip(self, dims[0] if len(dims) == 1 else dims)

    def roll(self, shifts, dims=None):
        return _shape.roll(self, shifts, dims)

    def mm(self, other):
        return _linalg.mm(self, other)

    def bmm(self, other):
        return _linalg.bmm(self, other)

    def __getitem__(self, index):
        return _shape.GetItem.apply(self, index=_shape._normalize_index(self, index))

    def __setitem__(self, index, value) -> None:
        """``x[index] = value``, in place: free outside a graph; on a tensor inside a
        recorded graph (or with a value that requires grad) the write is recorded."""
        index = _shape._normalize_index(self, index, "setitem")
        if isinstance(value, Tensor):
            _check_dtype_kind("setitem", value.data.dtype, "value")
        elif not isinstance(value, (builtins.int, builtins.float, builtins.bool, np.generic)):
            try:
                value = np.asarray(value)
            except (ValueError, TypeError) as e:
                raise TypeError(f"setitem: cannot assign {type(value).__name__}: {e}") from None
            _check_dtype_kind("setitem", value.dtype, "value")
        record = _grad_mode._local.mode.enabled and (self._requires_grad or (
            isinstance(value, Tensor) and value._requires_grad))
        if not record:
            _check_writeable("setitem", self)
            v = value.data if isinstance(value, Tensor) else value
            try:
                self.data[index] = v
            except (IndexError, ValueError, TypeError, OverflowError) as e:
                raise type(e)(f"setitem: {e} (assigning a value of shape {np.shape(v)} to "
                              f"index {index!r} of a tensor of shape {self.shape})") from None
            _versions.bump(self.data)
            return
        if not isinstance(value, Tensor):
            value = tensor(value)
        self._inplace("setitem", lambda src, v: _shape.SetItem.apply(
            src, v.astype(self.data.dtype), index=index), value)


class Size(tuple):
    """A shape, as ``Tensor.size()`` returns it: a tuple (PyTorch's ``torch.Size``).

    >>> import microgradnn as mg
    >>> mg.zeros(2, 3).size() == (2, 3)
    True
    """

    __slots__ = ()

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"microgradnn.Size({list(self)})"


def _check_recordable(op: str, t: Tensor) -> None:
    """PyTorch's refusals for an in-place write that would be recorded."""
    if t._requires_grad and t.grad_fn is None:
        raise RuntimeError(
            f"{op}: a leaf tensor that requires grad (shape {t.shape}) is being used in an "
            "in-place operation while grad mode is on, so the change would be lost for "
            "autograd. Wrap the update in `with mg.no_grad():` (as optimizers do) or use "
            "an optimizer")
    node = t.grad_fn
    if node is not None and getattr(node, "returns_view", False) and t.data.base is not None:
        raise RuntimeError(
            f"{op}: the tensor (shape {t.shape}) is a view made by {type(node).__name__} of "
            "another tensor in a recorded graph; writing into it in place is not supported "
            "here (it would change the other tensor behind autograd's back). Use clone() "
            "first, or write into the tensor it is a view of")


def _check_writeable(op: str, t: Tensor) -> None:
    if not t.data.flags.writeable:
        raise RuntimeError(f"{op}: the tensor (shape {t.shape}) is read-only: it is a "
                           "broadcast (expand) view in which several elements share one "
                           "memory location; clone() it before writing")


def _unshare(a, target: np.ndarray):
    """An operand of a recorded in-place write, copied if it shares memory with the
    target (``y.mul_(y[0])``): the write must not change it before it is read."""
    if isinstance(a, Tensor) and np.may_share_memory(a.data, target):
        return a.clone()
    if isinstance(a, np.ndarray) and np.may_share_memory(a, target):
        return a.copy()
    return a


def _replaced_by(t: Tensor, value) -> Tensor:
    """``value`` broadcast to ``t``'s shape in ``t``'s dtype; recorded so that ``t``'s old
    value gets a zero gradient and a tensor ``value`` gets its gradient."""
    if not isinstance(value, Tensor):
        value = _make(np.asarray(value, dtype=t.data.dtype), False, None)
    value = value.astype(t.data.dtype)
    keep_none = _make(np.zeros(t.data.shape, dtype=bool), False, None)
    return _elementwise_fns.where(keep_none, t, value)


def _data(x):
    return x.data if isinstance(x, Tensor) else x


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
    t._grad = None
    t._requires_grad = requires_grad
    t.grad_fn = grad_fn
    t._hooks = None
    t._name = None
    return t


def _to_array(data: Any, dtype, copy: bool, op: str = "tensor") -> np.ndarray:
    """``data`` as an ndarray: Python floats get the default dtype, arrays keep theirs.
    Only bool, integer and real floating dtypes are accepted (complex is out of scope)."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype, op)
    if isinstance(data, (np.ndarray, np.generic)):
        dtypes.check_kind(op, np.asarray(data).dtype, "data")
        arr = (np.array(data, dtype=dtype, copy=True if copy else None)
               if (copy or dtype is not None) else np.asarray(data))
    else:
        try:
            arr = np.array(data, dtype=dtype)
        except (ValueError, TypeError, OverflowError) as e:
            raise TypeError(f"{op}: cannot make a tensor from {type(data).__name__}: {e}") from None
        if dtype is None and arr.dtype == np.float64:
            arr = arr.astype(dtypes.get_default_dtype())
    dtypes.check_kind(op, arr.dtype, f"data (from {type(data).__name__})")
    return arr


def tensor(data: Any, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    """Make a tensor, copying ``data``. Python floats become the default dtype (float32);
    NumPy arrays keep theirs; integers and bools are allowed but cannot require grad.
    ``device`` may only be the CPU.

    >>> import microgradnn as mg
    >>> mg.tensor([[1, 2], [3, 4]]).dtype
    dtype('int64')
    >>> mg.tensor([0.5, 1.5], requires_grad=True)
    tensor([0.5, 1.5], requires_grad=True)
    """
    _device.check(device, "tensor")
    t = _make(_to_array(data, dtype, copy=True), False, None)
    if requires_grad:
        t.requires_grad = True
    return t


import builtins  # noqa: E402  (Tensor.int/float/bool shadow the names inside the class)

from . import device as _device  # noqa: E402
from .autograd import function as _function, grad_mode as _grad_mode  # noqa: E402
from .autograd import versions as _versions  # noqa: E402
from . import autograd as _autograd  # noqa: E402
from .ops import elementwise as _ew, linalg as _linalg, reduce as _reduce, shape as _shape  # noqa: E402
from .ops import elementwise_fns as _elementwise_fns  # noqa: E402
from .ops._util import check_dtype as _check_dtype_kind, promote2 as _promote2  # noqa: E402
from . import creation as _creation  # noqa: E402

_matmul = _linalg.MatMul._apply2  # bound once: the hottest calls skip two lookups


def _arithmetic(name: str, apply, floating: bool = False, method: str | None = None):
    """Tensor's operator pair for the operation ``name`` (``__mul__``, ``__rmul__``; the
    dunder is ``method`` where it differs, ``truediv`` for ``div``): operands promoted by
    PyTorch's rule (ops/_util.promote2; ``floating``: true division). The common cases
    are checked inline first, a float tensor with a Python number and two tensors of one
    dtype, because a call to promote2 costs as much as the rest of recording a node."""
    def op(self, other):
        kind = type(other)
        if (kind is float or kind is int) and self.data.dtype.kind == "f":
            return apply(self, other)
        if (isinstance(other, Tensor) and other.data.dtype == self.data.dtype
                and not (floating and self.data.dtype.kind != "f")):
            return apply(self, other)
        return apply(*_promote2(name, self, other, floating))

    def rop(self, other):
        kind = type(other)
        if (kind is float or kind is int) and self.data.dtype.kind == "f":
            return apply(other, self)
        return apply(*_promote2(name, other, self, floating))

    method = method or name
    op.__name__, rop.__name__ = f"__{method}__", f"__r{method}__"
    op.__qualname__, rop.__qualname__ = f"Tensor.{op.__name__}", f"Tensor.{rop.__name__}"
    return op, rop


Tensor.__add__, Tensor.__radd__ = _arithmetic("add", _ew.Add._apply2)
Tensor.__sub__, Tensor.__rsub__ = _arithmetic("sub", _ew.Sub._apply2)
Tensor.__mul__, Tensor.__rmul__ = _arithmetic("mul", _ew.Mul._apply2)
Tensor.__truediv__, Tensor.__rtruediv__ = _arithmetic("div", _ew.Div._apply2, floating=True,
                                                       method="truediv")
Tensor.__pow__, Tensor.__rpow__ = _arithmetic("pow", _ew.Pow._apply2)
Tensor.mul = Tensor.multiply = Tensor.__mul__
Tensor.div = Tensor.divide = Tensor.__truediv__
Tensor.pow = Tensor.__pow__
