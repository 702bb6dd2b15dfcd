"""``Function``: the one mechanism behind every differentiable operation.

A primitive is a subclass with two static methods side by side::

    class Tanh(Function):
        '''y = tanh(x);  dy/dx = 1 - y².'''

        @staticmethod
        def forward(ctx, x):            # a Tensor in (under no_grad), a Tensor out
            y = x.tanh()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):         # gradient of the output in, one per input out
            (y,) = ctx.saved_tensors
            return grad * (1 - y * y)

``Tanh.apply(t)`` runs ``forward`` and, when a graph is being recorded, returns a tensor
whose ``grad_fn`` is the ``ctx`` object itself: the node of the graph. Each call makes one
node, so a node has exactly one output.

The node keeps what backward needs and nothing that points back at its output tensor,
so graphs hold no reference cycles and are freed as soon as the output is dropped. Like
PyTorch's, it does not keep its output: only the output's shape and dtype (what the engine
checks gradients against) and a weak reference that recognises the output among saved
values. Nodes recorded inside ``mg.viz.keep()`` also keep their output and the gradient
they receive, for pictures (:attr:`Function.value`, :attr:`Function.grad`).
"""
from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from . import anomaly, grad_mode, scope, versions
from .grad_mode import _local


class Function:
    """Base of all operations: subclass, write ``forward`` and ``backward``, call ``apply``.

    ``forward(ctx, *args, **kwargs)`` receives the arguments as the caller passed them
    (Tensors as Tensors, as in PyTorch; it runs under ``no_grad``) and returns one Tensor
    or array. Built-in primitives set ``array_backward`` and receive the NumPy arrays
    behind the tensors instead (the fast path). ``backward(ctx, grad)`` receives
    the gradient of that output and returns one gradient per positional argument (or
    ``None`` where none is needed, see ``ctx.needs_input_grad``). Write ``backward`` with
    tensor operations: under ``backward(create_graph=True)`` they are recorded, so higher
    derivatives come for free. Gradients may have the output's broadcast shape; the engine
    sums them down to each input's shape.

    >>> import numpy as np, microgradnn as mg
    >>> class Cube(mg.autograd.Function):
    ...     '''y = x³;  dy/dx = 3x².'''
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return grad * 3 * x ** 2
    >>> x = mg.tensor(2.0, requires_grad=True)
    >>> Cube.apply(x).backward()
    >>> x.grad
    tensor(12.)
    """

    # Node state in slots; a subclass's own ctx attributes (ctx.axis, ...) go in its own
    # slots or in the __dict__, which also holds the rarely set fields below.
    __slots__ = ("next", "needs_input_grad", "saved", "saved_epoch", "scope", "out_shape",
                 "out_dtype", "_out", "__dict__", "__weakref__")

    # Rarely set, so class-level defaults rather than one more assignment per node made:
    hooks = None  #: hooks registered on the output tensor (``Tensor.register_hook``)
    name = None   #: a label for pictures (``tensor.name = "h"``)
    args = None   #: the arrays forward received, kept only when two inputs shared one
    #: True for nodes recorded inside ``mg.viz.keep()``: they keep ``value`` and ``grad``.
    keeps_values = False
    forward_stack = None  #: where the forward call was made (anomaly mode only)

    #: Built-in operations set this: their ``backward`` uses only operators, methods and
    #: helpers that NumPy arrays and Tensors share, so when the backward pass is not being
    #: recorded the engine hands them plain arrays and skips building Tensors (much faster).
    #: A user-defined Function always receives Tensors.
    array_backward = False

    #: The name used in error messages and pictures (lower-case class name by default).
    op_name = "function"

    #: The subclass's own slots (``ctx.index``, ``ctx.p``, ...): arrays found in them are
    #: saved values too, released with ``saved`` after a backward pass.
    own_slots: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "op_name" not in cls.__dict__:
            cls.op_name = cls.__name__.lower()
        names = []
        for k in cls.__mro__:
            if k is Function:
                break
            slots = k.__dict__.get("__slots__", ())
            names += [slots] if isinstance(slots, str) else list(slots)
        cls.own_slots = tuple(n for n in names if n not in ("__dict__", "__weakref__"))

    # ------------------------------------------------------------------ the contract
    @staticmethod
    def forward(ctx, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError("Function subclasses must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, grad):  # pragma: no cover - abstract
        raise NotImplementedError("Function subclasses must implement backward(ctx, grad)")

    # ------------------------------------------------------------------ ctx helpers
    def save_for_backward(self, *values) -> None:
        """Keep arrays (inputs, the output, or derived constants) for ``backward``.

        The write epoch is noted too: ``saved_tensors`` refuses values that an in-place
        operation changed since (see :mod:`microgradnn.autograd.versions`).
        """
        self.saved = values
        self.saved_epoch = versions.epoch

    @property
    def saved_tensors(self) -> tuple:
        """What ``save_for_backward`` kept: arrays, or Tensors linked to the graph.

        Raises ``RuntimeError`` when an earlier backward pass released them, or when an
        in-place operation changed one of them after it was saved.
        """
        saved = self.saved
        if saved is None:
            raise RuntimeError(
                f"backward: the values {type(self).__name__} saved for backward were released "
                "by an earlier backward pass; pass retain_graph=True to the first backward() "
                "to backpropagate through the same graph again")
        if saved and self.saved_epoch != versions.epoch:
            versions.check(self, saved, self.saved_epoch)
        recording = _local.mode.recording_backward  # read once: a thread-local lookup
        if recording and self.__dict__.get("intermediates"):
            i = self.intermediates[0]
            raise RuntimeError(
                f"backward: {type(self).__name__} saved a tensor (saved value {i}, shape "
                f"{np.shape(saved[i])}) that is neither an input nor the output of its "
                "forward, and it is being differentiated twice (create_graph=True). How that "
                "tensor depends on the inputs was not recorded, so the second derivative "
                "would be silently wrong. Recompute it in backward from the saved inputs, "
                "or return it from forward and save it as an output")
        if self.array_backward and not recording:
            return saved
        return tuple(self._saved_as_tensor(s) for s in saved)

    def _saved_as_tensor(self, s):
        """The tensor a saved array stands for: this node's output, an input, or a constant.

        Inputs are recognised by identity: the array an input tensor holds. Where two
        inputs shared one array, ``_unalias`` gave the later one a view of its own and
        ``args`` keeps the arrays ``forward`` received, matched by position.
        """
        if s is self._out():
            return _make(s, True, self)
        if self.args is not None:
            for a, nxt in zip(self.args, self.next):
                if s is a:
                    if nxt is None:
                        break
                    return _make(s, True, nxt) if isinstance(nxt, Function) else nxt
        else:
            for nxt in self.next:
                if nxt is None:
                    continue
                if isinstance(nxt, Function):
                    if s is nxt._out():
                        return _make(s, True, nxt)
                elif s is nxt.data:
                    return nxt
        if isinstance(s, np.ndarray):
            return _make(s, False, None)
        return s  # Python numbers stay as they are (NumPy's weak scalar promotion)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} node>"

    # ------------------------------------------------------------------ kept for pictures
    @property
    def value(self) -> np.ndarray:
        """The output array; readable only on nodes recorded inside ``mg.viz.keep()``."""
        if not self.keeps_values:
            raise RuntimeError(self._not_kept("value"))
        return self.__dict__["_value"]

    @property
    def grad(self):
        """The gradient this node received in the last backward (None before any);
        readable only on nodes recorded inside ``mg.viz.keep()``."""
        if not self.keeps_values:
            raise RuntimeError(self._not_kept("grad"))
        return self.__dict__.get("_grad")

    @grad.setter
    def grad(self, value) -> None:
        self.__dict__["_grad"] = value

    def _not_kept(self, what: str) -> str:
        return (f"{type(self).__name__} node: its {what} was not kept (nodes keep their output "
                "value and received gradient only when recorded inside `with mg.viz.keep():`;"
                " record the forward pass inside it to draw values or gradients)")

    @property
    def next_functions(self) -> tuple:
        """PyTorch's view of this node's inputs: ``(node, 0)`` per input, where a leaf
        appears as an :class:`AccumulateGrad` (its ``variable`` is the leaf) and an input
        that needs no gradient as ``(None, 0)``."""
        return tuple((n, 0) if isinstance(n, Function) or n is None else (AccumulateGrad(n), 0)
                     for n in self.next)

    # ------------------------------------------------------------------ apply
    @classmethod
    def apply(cls, *args: Any, **kwargs: Any):
        """Run the operation on tensors (and constants) and record it when needed."""
        if not cls.array_backward:
            return _apply_user(cls, args, kwargs)
        # The hottest path of the library: one cheap pass over the arguments; the graph
        # bookkeeping only when a node is really recorded.
        record = False
        arrays = []
        nxt = []
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.data)
                if a._requires_grad:
                    record = True
                    nxt.append(a.grad_fn or a)
                    continue
            else:
                arrays.append(a)
            nxt.append(None)
        mode = _local.mode
        record = record and mode.enabled
        aliased = record and len(arrays) > 1 and _unalias(arrays, nxt)
        ctx = _object_new(cls)
        ctx.saved = ()
        try:
            out = cls.forward(ctx, *arrays, **kwargs)
        except (TypeError, ValueError, IndexError) as e:
            raise _named_error(cls.op_name, e) from e
        if type(out) is not np.ndarray:
            out = _fix_scalar(ctx, out)
        if not record or out.dtype not in _DIFFERENTIABLE:
            return _make(out, False, None)
        if aliased:
            ctx.args = tuple(arrays)
        if mode.keep_values:
            scope.keep_constants(ctx, args, nxt)
        return _record(ctx, out, tuple(nxt), None, mode)

    # Fast paths with the exact semantics of ``apply`` for one and two tensor arguments:
    # the operators and elementwise methods go through these, skipping the generic loop.
    @classmethod
    def _apply1(cls, x):
        ctx = _object_new(cls)
        ctx.saved = ()
        try:
            out = cls.forward(ctx, x.data)
        except (TypeError, ValueError, IndexError) as e:
            raise _named_error(cls.op_name, e) from e
        if type(out) is not np.ndarray:
            out = _fix_scalar(ctx, out)
        mode = _local.mode
        if not (x._requires_grad and mode.enabled) or out.dtype not in _DIFFERENTIABLE:
            return _make(out, False, None)
        return _record(ctx, out, (x.grad_fn or x,), _NEEDS1, mode)

    @classmethod
    def _apply2(cls, a, b):
        if isinstance(a, Tensor):
            xa, na = a.data, ((a.grad_fn or a) if a._requires_grad else None)
        else:
            xa, na = a, None
        if isinstance(b, Tensor):
            xb, nb = b.data, ((b.grad_fn or b) if b._requires_grad else None)
        else:
            xb, nb = b, None
        ctx = _object_new(cls)
        if xa is xb and na is not nb and type(xa) is np.ndarray:
            xb = xb.view()  # x * x.detach(): two inputs, one array (see _unalias)
            ctx.args = (xa, xb)
        ctx.saved = ()
        try:
            out = cls.forward(ctx, xa, xb)
        except (TypeError, ValueError, IndexError) as e:
            raise _named_error(cls.op_name, e) from e
        if type(out) is not np.ndarray:
            out = _fix_scalar(ctx, out)
        mode = _local.mode
        if (na is None and nb is None) or not mode.enabled or out.dtype not in _DIFFERENTIABLE:
            return _make(out, False, None)
        if mode.keep_values:
            scope.keep_constants(ctx, (a, b), (na, nb))
        return _record(ctx, out, (na, nb), _NEEDS2[(na is None) * 2 + (nb is None)], mode)


def _fix_scalar(ctx: Function, out) -> np.ndarray:
    """NumPy returns scalars for 0-d results; make it an array, and keep saved references
    pointing at that array so they are still recognised as the output."""
    arr = np.asarray(out)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{type(ctx).op_name}: forward returned {type(out).__name__} (dtype "
                        f"{arr.dtype}); it must return an array or tensor of booleans, "
                        "integers or real floats")
    if ctx.saved:
        ctx.saved = tuple([arr if s is out else s for s in ctx.saved])
    return arr


def rebind_output(node: Function, arr: np.ndarray) -> None:
    """Make ``arr`` the array that stands for ``node``'s output (an in-place write moved
    it): saved values are recognised as the output through it, and pictures show it."""
    node._out = _weakref(arr)
    node.out_dtype = arr.dtype
    if node.keeps_values:
        node._value = arr


def adopt_output(node: Function, out: np.ndarray, target: np.ndarray) -> None:
    """An in-place write copied ``node``'s output ``out`` into ``target`` (the memory of
    the tensor written to): the node's output is now ``target``. The write has been
    counted already, so the node's saved values are current as of now."""
    rebind_output(node, target)
    if node.saved:
        node.saved = tuple([target if s is out else s for s in node.saved])
        node.saved_epoch = versions.epoch


def _unalias(arrays: list, nxt: list) -> bool:
    """Give a distinct array object (a view) to each input that shares its array with an
    earlier input but is another tensor (``y * y.detach()``): saved values are matched to
    inputs by identity, and must not be taken for the wrong one. True if any was given."""
    first: dict[int, int] = {}
    changed = False
    for i, a in enumerate(arrays):
        if type(a) is np.ndarray:
            j = first.setdefault(id(a), i)
            if j != i and nxt[j] is not nxt[i]:
                arrays[i] = a.view()
                changed = True
    return changed


def _record(ctx: Function, out: np.ndarray, nxt: tuple, needs: tuple | None,
            mode) -> "Tensor":
    """Make ``ctx`` a node of the graph and return its output tensor."""
    ctx.next = nxt
    ctx.needs_input_grad = tuple([n is not None for n in nxt]) if needs is None else needs
    ctx.out_shape = out.shape
    ctx.out_dtype = out.dtype
    ctx._out = _weakref(out)  # recognises the output among saved values, never keeps it
    ctx.scope = mode.scope
    if mode.keep_values:
        ctx.keeps_values = True
        ctx._value = out
    if anomaly.enabled:
        ctx.forward_stack = anomaly.forward_stack()
    t = _object_new(Tensor)  # _make, inlined: this runs once per recorded operation
    t.data = out
    t._grad = None
    t._requires_grad = True
    t.grad_fn = ctx
    t._hooks = None
    t._name = None
    return t


# needs_input_grad of a two-input node, indexed by (a is constant) * 2 + (b is constant):
# shared tuples, so recording a binary operation allocates none.
_NEEDS2 = ((True, True), (True, False), (False, True), (False, False))
_NEEDS1 = (True,)


def _named_error(op_name: str, e: Exception) -> Exception:
    """Re-raise a NumPy error with the operation's name in front, keeping its type family."""
    msg = str(e)
    if msg.startswith(op_name + ":"):
        return e
    for base in (TypeError, ValueError, IndexError):
        if isinstance(e, base):
            return base(f"{op_name}: {msg}")
    return e  # pragma: no cover


class AccumulateGrad:
    """Stands for a leaf in ``next_functions``: ``variable`` is the leaf tensor."""

    __slots__ = ("variable",)

    def __init__(self, variable) -> None:
        self.variable = variable

    def __repr__(self) -> str:
        return f"<AccumulateGrad of a {tuple(self.variable.shape)} leaf>"

    def __eq__(self, other) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)


def _apply_user(cls, args: tuple, kwargs: dict):
    """``apply`` for a user-defined Function: as in PyTorch, ``forward`` receives the
    Tensors themselves and runs under ``no_grad``; what it saves may be Tensors. (The
    built-in primitives keep the array path above.)"""
    nxt = tuple((a.grad_fn or a) if isinstance(a, Tensor) and a._requires_grad else None
                for a in args)
    mode = _local.mode
    record = mode.enabled and any(n is not None for n in nxt)
    ctx = _object_new(cls)
    ctx.saved = ()
    with grad_mode.no_grad():
        try:
            out = cls.forward(ctx, *args, **kwargs)
        except (TypeError, ValueError, IndexError) as e:
            raise _named_error(cls.op_name, e) from e
    if isinstance(out, Tensor):
        arr = out.data
        if any(out is a for a in args):
            arr = arr.view()  # an input returned as it is: the output is a node of its own
    else:
        arr = out if type(out) is np.ndarray else _fix_scalar(ctx, out)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{cls.op_name}: forward returned dtype {arr.dtype}; it must return "
                        "booleans, integers or real floats")
    arrays = [a.data if isinstance(a, Tensor) else a for a in args]
    aliased = record and len(arrays) > 1 and _unalias(arrays, list(nxt))
    if ctx.saved:
        _saved_as_arrays(ctx, args, arrays, out, arr)
    if not record or arr.dtype not in _DIFFERENTIABLE:
        return _make(arr, False, None)
    if aliased:
        ctx.args = tuple(arrays)
    if mode.keep_values:
        scope.keep_constants(ctx, args, nxt)
    return _record(ctx, arr, nxt, None, mode)


def _saved_as_arrays(ctx: Function, args: tuple, arrays: list, out, arr: np.ndarray) -> None:
    """Saved Tensors become their arrays, which the rest of the machinery matches by
    identity (``arrays``: the inputs' arrays, ``arr``: the output's); Tensors that are
    neither an input nor the output are noted as ``ctx.intermediates``."""
    saved, inter = [], []
    for i, s in enumerate(ctx.saved):
        if isinstance(s, Tensor):
            if s is out:
                s = arr
            else:
                j = next((k for k, a in enumerate(args) if a is s), None)
                if j is None:
                    inter.append(i)
                    s = s.data
                else:
                    s = arrays[j]
        saved.append(s)
    ctx.saved = tuple(saved)
    ctx.saved_epoch = versions.epoch
    if inter:
        ctx.intermediates = tuple(inter)


def once_differentiable(backward):
    """Mark a user Function's ``backward`` as differentiable once: it runs under
    ``no_grad`` (so it may use NumPy freely), and differentiating its result again
    raises instead of silently giving zero (PyTorch's ``once_differentiable``)."""
    import functools

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with grad_mode.no_grad():
            out = backward(ctx, *grads)
        if not _local.mode.recording_backward:
            return out
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        wrapped = tuple(None if g is None else _delayed_error(ctx, g) for g in outs)
        return wrapped[0] if single else wrapped
    return wrapper


class _OnceDifferentiated(Function):
    """The node behind a ``once_differentiable`` result: its backward raises."""

    array_backward = True

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(
            f"backward: trying to differentiate twice {ctx.origin}, whose backward is marked "
            "@once_differentiable; write that backward with tensor operations (without the "
            "decorator) to get higher derivatives")


def _delayed_error(ctx: Function, g):
    arr = g.data if isinstance(g, Tensor) else np.asarray(g)
    node = _object_new(_OnceDifferentiated)
    node.saved = ()
    node.origin = type(ctx).__name__
    return _record(node, arr, ctx.next, None, _local.mode)


_object_new = object.__new__
_weakref = weakref.ref
# Only floating-point results carry gradients (a set lookup beats dtype.kind on this path).
_DIFFERENTIABLE = {np.dtype(t) for t in (np.float16, np.float32, np.float64, np.longdouble,
                                         np.complex64, np.complex128)}

from ..tensor import Tensor, _make  # noqa: E402  (circular: Tensor calls Function.apply)
