"""Higher-level derivatives with ``torch.autograd.functional``'s signatures: ``jacobian``,
``hessian``, ``vjp``, ``jvp``, ``hvp``, ``vhp``.

``inputs`` is a Tensor or a tuple of Tensors; ``func`` returns a Tensor or a tuple of
Tensors.  Results follow PyTorch's layout: a Tensor where both are single Tensors, a tuple
over inputs (or outputs), and a tuple (outputs) of tuples (inputs) when both are tuples.
Without ``create_graph`` the results are detached; with it they can be differentiated
again.  ``strict=True`` raises when an output does not depend on an input (PyTorch's
check) instead of returning zeros.

Everything runs on the reverse-mode engine: ``jvp`` uses the double-backward trick (the
same as PyTorch's), and ``strategy="forward-mode"`` / ``vectorize=True`` are accepted for
PyTorch code and give the same numbers by reverse mode.

>>> import microgradnn as mg
>>> from microgradnn.autograd.functional import jacobian
>>> jacobian(lambda x: x ** 2, mg.tensor([1.0, 3.0]))
tensor([[2., 0.],
        [0., 6.]])
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import grad as _autograd_grad
from .grad_mode import enable_grad
from ..tensor import Tensor

__all__ = ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"]


def _as_tuple(x: Any, op: str, what: str) -> tuple[bool, tuple[Tensor, ...]]:
    if isinstance(x, Tensor):
        return False, (x,)
    if isinstance(x, (tuple, list)) and all(isinstance(t, Tensor) for t in x):
        return True, tuple(x)
    raise TypeError(f"{op}: {what} must be a Tensor or a tuple of Tensors, got "
                    f"{type(x).__name__}")


def _prepare(inputs: tuple[Tensor, ...], create_graph: bool, op: str) -> tuple[Tensor, ...]:
    out = []
    for i, x in enumerate(inputs):
        if x.dtype.kind != "f":
            raise TypeError(f"{op}: input {i} has dtype {x.dtype}; expected floating point")
        # with create_graph, stay connected to the caller's graph; otherwise a fresh leaf
        out.append(x * 1.0 if create_graph and x.requires_grad else
                   x.detach().requires_grad_(True))
    return tuple(out)


def _grads(outputs, inputs, seeds, create_graph: bool, strict: bool, op: str,
           what: str = "output") -> tuple[Tensor, ...]:
    live = [(o, s) for o, s in zip(outputs, seeds) if o.requires_grad]
    if live:
        got = _autograd_grad([o for o, _ in live], list(inputs), [s for _, s in live],
                             retain_graph=True, create_graph=create_graph, allow_unused=True)
    else:
        got = (None,) * len(inputs)
    out = []
    for i, (g, x) in enumerate(zip(got, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{op}: the {what} is independent of input {i}; this is "
                                   "not allowed in strict mode")
            g = Tensor(np.zeros_like(x.data))
        out.append(g if create_graph else g.detach())
    return tuple(out)


def _seed(v, outputs: tuple[Tensor, ...], op: str, what: str = "v") -> tuple:
    if v is None:
        if any(o.data.size != 1 for o in outputs):
            raise RuntimeError(f"{op}: {what} can be omitted only when the function returns "
                               f"single-element Tensors; got shapes {[o.shape for o in outputs]}")
        return tuple(np.ones(o.shape, dtype=o.dtype) for o in outputs)
    _, vs = _as_tuple(v, op, what)
    if len(vs) != len(outputs) or any(a.shape != o.shape for a, o in zip(vs, outputs)):
        raise ValueError(f"{op}: {what} has shapes {[a.shape for a in vs]}, expected "
                         f"{[o.shape for o in outputs]}")
    return vs


def _run(func: Callable, inputs, create_graph: bool, op: str):
    is_tuple, xs = _as_tuple(inputs, op, "inputs")
    with enable_grad():
        xs = _prepare(xs, create_graph, op)
        out = func(*xs)
    out_tuple, outs = _as_tuple(out, op, "the function's output")
    return is_tuple, xs, out_tuple, outs, out


def _shown(out, out_tuple: bool, outs, create_graph: bool):
    if create_graph:
        return out
    return tuple(o.detach() for o in outs) if out_tuple else outs[0].detach()


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), vᵀ J)``, the vector-Jacobian product shaped like ``inputs``.

    >>> import microgradnn as mg
    >>> from microgradnn.autograd.functional import vjp
    >>> vjp(lambda x: (x * x).sum(), mg.tensor([1.0, 2.0]))
    (tensor(5.), tensor([2., 4.]))
    """
    op = "vjp"
    is_tuple, xs, out_tuple, outs, out = _run(func, inputs, create_graph, op)
    with enable_grad():
        g = _grads(outs, xs, _seed(v, outs, op), create_graph, strict, op)
    return _shown(out, out_tuple, outs, create_graph), (g if is_tuple else g[0])


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``, the Jacobian-vector product shaped like the output.

    Computed by differentiating the vector-Jacobian product ``uᵀ J`` with respect to ``u``
    (the double-backward trick, as PyTorch does).

    >>> import microgradnn as mg
    >>> from microgradnn.autograd.functional import jvp
    >>> jvp(lambda x: x * x, mg.tensor([1.0, 2.0]), mg.tensor([1.0, 0.0]))
    (tensor([1., 4.]), tensor([2., 0.]))
    """
    op = "jvp"
    is_tuple, xs, out_tuple, outs, out = _run(func, inputs, create_graph, op)
    if v is None:
        if any(x.data.size != 1 for x in xs):
            raise RuntimeError(f"{op}: v can be omitted only for single-element inputs")
        vs = tuple(Tensor(np.ones(x.shape, dtype=x.dtype)) for x in xs)
    else:
        vs = _seed(v, xs, op)
    with enable_grad():
        us = tuple(Tensor(np.zeros(o.shape, dtype=o.dtype), requires_grad=True) for o in outs)
        # g(u) = uᵀ J is linear in u; its gradient along v is J v
        g = _grads(outs, xs, us, True, strict, op)
        total = None
        for gi, vi in zip(g, vs):
            if gi.requires_grad:
                term = (gi * vi).sum()
                total = term if total is None else total + term
        jv = _grads([total] if total is not None else [], us, [None] if total is not None
                    else [], create_graph, False, op)
        if strict and total is None:
            raise RuntimeError(f"{op}: the output is independent of the inputs; this is not "
                               "allowed in strict mode")
    return _shown(out, out_tuple, outs, create_graph), (jv if out_tuple else jv[0])


def jacobian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian: for output shape ``O`` and input shape ``I``, a Tensor of shape
    ``O + I``; tuples as described in the module docstring.

    >>> import microgradnn as mg
    >>> from microgradnn.autograd.functional import jacobian
    >>> [j.shape for j in jacobian(lambda a, b: a * b.sum(), (mg.ones(2), mg.ones(3)))]
    [(2, 2), (2, 3)]
    """
    op = "jacobian"
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"{op}: strategy must be 'reverse-mode' or 'forward-mode', got "
                         f"{strategy!r}")
    if strategy == "forward-mode" and not vectorize:
        raise ValueError(f"{op}: strategy='forward-mode' requires vectorize=True (as in "
                         "PyTorch)")
    is_tuple, xs, out_tuple, outs, _ = _run(func, inputs, create_graph, op)
    rows = []
    with enable_grad():
        for k, o in enumerate(outs):
            rows.append(_jacobian_of(o, xs, create_graph, strict, op, f"output {k}"))
    if not is_tuple:
        rows = [r[0] for r in rows]
    return tuple(rows) if out_tuple else rows[0]


def _jacobian_of(out: Tensor, xs, create_graph: bool, strict: bool, op: str, what: str):
    from ..ops import stack
    per_input: list[list[Tensor]] = [[] for _ in xs]
    flat = out.reshape(-1) if out.ndim != 1 else out
    for k in range(out.data.size):
        seed = np.zeros(flat.shape, dtype=out.dtype)
        seed[k] = 1
        for j, g in enumerate(_grads([flat], xs, [seed], create_graph, strict, op, what)):
            per_input[j].append(g)
    result = []
    for rows, x in zip(per_input, xs):
        if not rows:
            result.append(Tensor(np.zeros(out.shape + x.shape, dtype=x.dtype)))
        elif create_graph:
            result.append(stack(rows, 0).reshape(out.shape + x.shape))
        else:
            result.append(Tensor(np.stack([r.data for r in rows]).reshape(out.shape + x.shape)))
    return tuple(result)


def _scalar(func: Callable, op: str) -> Callable:
    def f(*xs):
        out = func(*xs)
        if not isinstance(out, Tensor) or out.data.size != 1:
            raise RuntimeError(f"{op}: the function must return a single-element Tensor, got "
                               + (f"shape {out.shape}" if isinstance(out, Tensor)
                                  else type(out).__name__))
        return out
    return f


def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a function with a single-element output: for input shape ``I``, a
    Tensor of shape ``I + I``; for a tuple of inputs, a tuple of tuples.

    >>> import microgradnn as mg
    >>> from microgradnn.autograd.functional import hessian
    >>> hessian(lambda x: (x ** 3).sum(), mg.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    op = "hessian"
    f = _scalar(func, op)
    is_tuple, _ = _as_tuple(inputs, op, "inputs")

    def gradient(*xs):
        out = f(*xs)
        return _grads([out], xs, [np.ones(out.shape, dtype=out.dtype)], True, strict, op)

    h = jacobian(gradient, tuple(inputs) if is_tuple else (inputs,), create_graph, strict,
                 vectorize, outer_jacobian_strategy)
    return h if is_tuple else h[0][0]


def vhp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), vᵀ H)`` for a function with a single-element output.

    >>> import microgradnn as mg
    >>> from microgradnn.autograd.functional import vhp
    >>> vhp(lambda x: (x ** 3).sum(), mg.tensor([1.0, 2.0]), mg.tensor([1.0, 1.0]))
    (tensor(9.), tensor([ 6., 12.]))
    """
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)`` for a function with a single-element output (the Hessian is
    symmetric, so this equals ``vhp``).

    >>> import microgradnn as mg
    >>> from microgradnn.autograd.functional import hvp
    >>> hvp(lambda x: (x ** 3).sum(), mg.tensor([1.0, 2.0]), mg.tensor([1.0, 0.0]))
    (tensor(9.), tensor([6., 0.]))
    """
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(func, inputs, v, create_graph: bool, strict: bool, op: str):
    is_tuple, xs, out_tuple, outs, out = _run(_scalar(func, op), inputs, create_graph, op)
    vs = _seed(v, xs, op) if v is not None else None
    if vs is None:
        if any(x.data.size != 1 for x in xs):
            raise RuntimeError(f"{op}: v can be omitted only for single-element inputs")
        vs = tuple(np.ones(x.shape, dtype=x.dtype) for x in xs)
    with enable_grad():
        g = _grads(outs, xs, [np.ones(outs[0].shape, dtype=outs[0].dtype)], True, strict, op)
        total = None
        for gi, vi in zip(g, vs):
            if gi.requires_grad:
                term = (gi * vi).sum()
                total = term if total is None else total + term
        if total is None:
            if strict:
                raise RuntimeError(f"{op}: the gradient is independent of the inputs; this "
                                   "is not allowed in strict mode")
            hv = tuple(Tensor(np.zeros_like(x.data)) for x in xs)
        else:
            hv = _grads([total], xs, [None], create_graph, strict, op, "gradient")
    return _shown(out, out_tuple, outs, create_graph), (hv if is_tuple else hv[0])
