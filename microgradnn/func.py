"""Function transforms in the style of ``torch.func`` (and JAX): ``grad``, ``grad_and_value``,
``vjp``, ``jacrev``, ``hessian``.

Each takes a function of Tensors and returns a new function (``vjp`` returns the output
and a function).  Arguments may be Tensors or nested tuples, lists and dicts of Tensors
("pytrees"); gradients come back in the same structure.  The transforms compose:
``grad(grad(f))`` is the second derivative, because a transform applied inside another
records its backward pass (``create_graph``) whenever its inputs are being differentiated.

They are written on the reverse-mode engine: ``jacrev`` takes one backward pass per
output element, and ``hessian`` is ``jacrev(jacrev(f))``.

>>> import microgradnn as mg
>>> from microgradnn import func
>>> f = lambda x: (x ** 3).sum()
>>> func.grad(f)(mg.tensor([1.0, 2.0]))
tensor([ 3., 12.])
>>> func.grad(func.grad(lambda x: x ** 3))(mg.tensor(2.0))
tensor(12.)
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import autograd
from .tensor import Tensor

__all__ = ["grad", "grad_and_value", "vjp", "jacrev", "hessian"]


# ---------------------------------------------------------------------------- pytrees


def tree_flatten(tree: Any, where: str = "argument") -> tuple[list[Tensor], Callable]:
    """The Tensors of a nested tuple/list/dict, in order, and a function rebuilding it."""
    if isinstance(tree, Tensor):
        return [tree], lambda leaves: leaves[0]
    if isinstance(tree, (tuple, list)):
        parts = [tree_flatten(x, f"{where}[{i}]") for i, x in enumerate(tree)]
        kind = type(tree) if type(tree) in (tuple, list) else tuple
        return _join(parts, lambda items: kind(items))
    if isinstance(tree, dict):
        keys = list(tree)
        parts = [tree_flatten(tree[k], f"{where}[{k!r}]") for k in keys]
        return _join(parts, lambda items: dict(zip(keys, items)))
    raise TypeError(f"{where} is {type(tree).__name__}; expected a Tensor or a tuple, list "
                    "or dict of Tensors")


def _join(parts, build):
    leaves = [leaf for p, _ in parts for leaf in p]
    sizes = [len(p) for p, _ in parts]

    def unflatten(values):
        out, i = [], 0
        for (_, rebuild), n in zip(parts, sizes):
            out.append(rebuild(values[i:i + n]))
            i += n
        return build(out)
    return leaves, unflatten


def _entry(x: Tensor, op: str) -> Tensor:
    """A fresh differentiable stand-in for ``x``: connected to ``x`` when an outer transform
    (or the caller) differentiates ``x``, a new leaf otherwise."""
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: can only differentiate with respect to floating-point "
                        f"tensors, got dtype {x.dtype}")
    if x.requires_grad and autograd.is_grad_enabled():
        return x * 1.0  # an op of its own, so the inner gradient stops here
    return x.detach().requires_grad_(True)


def _gradients(outputs: list[Tensor], inputs: list[Tensor], seeds: list, nested: bool,
               retain: bool = False) -> list[Tensor]:
    """d(outputs · seeds)/d(inputs); zeros where an input does not reach an output."""
    roots = [(o, s) for o, s in zip(outputs, seeds) if o.requires_grad]
    if roots:
        got = autograd.grad([o for o, _ in roots], inputs, [s for _, s in roots],
                            retain_graph=retain or nested, create_graph=nested,
                            allow_unused=True)
    else:
        got = [None] * len(inputs)
    return [Tensor(np.zeros_like(x.data)) if g is None else g for g, x in zip(got, inputs)]


def _argnums(argnums: int | tuple[int, ...], n: int, op: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) and not isinstance(argnums, bool) else argnums
    if not isinstance(nums, tuple) or not nums or any(
            isinstance(a, bool) or not isinstance(a, int) for a in nums):
        raise TypeError(f"{op}: argnums must be an int or a non-empty tuple of ints, got "
                        f"{argnums!r}")
    for a in nums:
        if not -n <= a < n:
            raise ValueError(f"{op}: argnums {a} is out of range for a function called with "
                             f"{n} positional arguments")
    return tuple(a % n for a in nums)


def _call(fn: Callable, args: tuple, nums: tuple[int, ...], has_aux: bool, op: str):
    """Run ``fn`` on stand-ins for the differentiated arguments; returns what the
    transforms need: the stand-in leaves per argument, rebuilders, output and aux."""
    args = list(args)
    leaves, rebuild = [], []
    for a in nums:
        flat, unflatten = tree_flatten(args[a], f"{op}: argument {a}")
        entries = [_entry(x, op) for x in flat]
        args[a] = unflatten(entries)
        leaves.append(entries)
        rebuild.append(unflatten)
    out = fn(*args)
    aux = None
    if has_aux:
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"{op}: with has_aux=True the function must return a pair "
                            f"(output, aux), got {type(out).__name__}")
        out, aux = out
    return leaves, rebuild, out, aux


def _nested(args: tuple, nums: tuple[int, ...]) -> bool:
    # record the backward pass when something outside differentiates the arguments
    if not autograd.is_grad_enabled():
        return False
    return any(x.requires_grad for a in nums for x in tree_flatten(args[a])[0])


def _result(values: list, nested: bool):
    return values if nested else [v.detach() for v in values]


# ---------------------------------------------------------------------------- transforms


def grad_and_value(func: Callable, argnums: int | tuple[int, ...] = 0,
                   has_aux: bool = False) -> Callable:
    """``func`` returning ``(gradient, value)``: the gradient of its one-element output with
    respect to the arguments in ``argnums`` (a tuple of gradients for a tuple of argnums),
    each shaped like its argument.  With ``has_aux``, ``func`` returns ``(output, aux)``
    and the result is ``(gradient, (value, aux))``.

    >>> import microgradnn as mg
    >>> from microgradnn.func import grad_and_value
    >>> grad_and_value(lambda x, y: (x * y).sum(), argnums=(0, 1))(mg.ones(2), mg.full((2,), 3.0))
    ((tensor([3., 3.]), tensor([1., 1.])), tensor(6.))
    """
    def wrapper(*args, **kwargs):
        op = "grad"
        nums = _argnums(argnums, len(args), op)
        nested = _nested(args, nums)
        with autograd.enable_grad():
            leaves, rebuild, out, aux = _call(lambda *a: func(*a, **kwargs), args, nums,
                                              has_aux, op)
            if not isinstance(out, Tensor) or out.data.size != 1:
                raise ValueError(f"{op}: the function must return a Tensor with one element, "
                                 f"got {type(out).__name__}"
                                 + (f" of shape {out.shape}" if isinstance(out, Tensor) else ""))
            if out.dtype.kind != "f":
                raise TypeError(f"{op}: the output has dtype {out.dtype}; expected floating "
                                "point")
            flat = [x for group in leaves for x in group]
            seed = np.ones(out.shape, dtype=out.dtype)
            grads = _result(_gradients([out], flat, [seed], nested), nested)
        i, per_arg = 0, []
        for group, unflatten in zip(leaves, rebuild):
            per_arg.append(unflatten(grads[i:i + len(group)]))
            i += len(group)
        g = per_arg[0] if isinstance(argnums, int) else tuple(per_arg)
        value = out if nested else out.detach()
        return (g, (value, aux)) if has_aux else (g, value)
    return wrapper


def grad(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """``func``'s gradient as a function (``torch.func.grad``): the gradient of its
    one-element output with respect to ``argnums``; with ``has_aux``, ``(gradient, aux)``.

    >>> import microgradnn as mg
    >>> from microgradnn.func import grad
    >>> grad(lambda p: (p["w"] * p["b"]).sum())({"w": mg.ones(2), "b": mg.full((2,), 2.0)})
    {'w': tensor([2., 2.]), 'b': tensor([1., 1.])}
    """
    inner = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, value = inner(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return wrapper


def vjp(func: Callable, *primals, has_aux: bool = False):
    """``(output, vjp_fn)``: ``func(*primals)`` and a function taking cotangents shaped like
    the output and returning a tuple with one vector-Jacobian product per primal.

    >>> import microgradnn as mg
    >>> from microgradnn.func import vjp
    >>> out, vjp_fn = vjp(lambda x: x * x, mg.tensor([1.0, 2.0]))
    >>> vjp_fn(mg.ones(2))
    (tensor([2., 4.]),)
    """
    op = "vjp"
    nums = tuple(range(len(primals)))
    nested = _nested(primals, nums)
    with autograd.enable_grad():
        leaves, rebuild, out, aux = _call(func, primals, nums, has_aux, op)
    outs, _ = tree_flatten(out, f"{op}: the output")

    def vjp_fn(cotangents):
        cts, _ = tree_flatten(cotangents, f"{op}: the cotangents")
        if len(cts) != len(outs) or any(c.shape != o.shape for c, o in zip(cts, outs)):
            raise ValueError(f"{op}: cotangents of shapes {[c.shape for c in cts]} do not "
                             f"match the outputs' {[o.shape for o in outs]}")
        flat = [x for group in leaves for x in group]
        with autograd.enable_grad():
            grads = _result(_gradients(outs, flat, [c.data if not nested else c for c in cts],
                                       nested, retain=True), nested)
        i, per_arg = 0, []
        for group, unflatten in zip(leaves, rebuild):
            per_arg.append(unflatten(grads[i:i + len(group)]))
            i += len(group)
        return tuple(per_arg)

    shown = out if nested else _detach_tree(out)
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)


def _detach_tree(tree):
    leaves, unflatten = tree_flatten(tree)
    return unflatten([x.detach() for x in leaves])


def jacrev(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """The Jacobian of ``func`` by reverse mode, as ``torch.func.jacrev``: for an output of
    shape ``O`` and an argument of shape ``I``, a Tensor of shape ``O + I``.  Several
    outputs (a tuple, list or dict) give that structure of Jacobians; a tuple of argnums
    gives, inside it, a tuple over the arguments.

    >>> import microgradnn as mg
    >>> from microgradnn.func import jacrev
    >>> jacrev(lambda x: x * x)(mg.tensor([1.0, 2.0]))
    tensor([[2., 0.],
            [0., 4.]])
    """
    def wrapper(*args, **kwargs):
        op = "jacrev"
        nums = _argnums(argnums, len(args), op)
        nested = _nested(args, nums)
        with autograd.enable_grad():
            leaves, rebuild, out, aux = _call(lambda *a: func(*a, **kwargs), args, nums,
                                              has_aux, op)
            outs, out_unflatten = tree_flatten(out, f"{op}: the output")
            flat = [x for group in leaves for x in group]
            # rows[k][j]: d outs[k] / d flat[j], shaped outs[k].shape + flat[j].shape
            rows = [[_rows_to_jacobian(rows_j, o, x, nested) for rows_j, x in
                     zip(_jacobian_rows(o, flat, nested), flat)] for o in outs]
        per_out = []
        for row in rows:
            i, per_arg = 0, []
            for group, unflatten in zip(leaves, rebuild):
                per_arg.append(unflatten(row[i:i + len(group)]))
                i += len(group)
            per_out.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
        jac = out_unflatten(per_out)
        return (jac, aux) if has_aux else jac
    return wrapper


def _jacobian_rows(out: Tensor, inputs: list[Tensor], nested: bool) -> list[list[Tensor]]:
    """For each input, the list of gradients of each output element (one backward each)."""
    if out.dtype.kind != "f":
        raise TypeError(f"jacobian: the output has dtype {out.dtype}; expected floating point")
    per_input: list[list[Tensor]] = [[] for _ in inputs]
    flat_out = out.reshape(-1) if out.ndim != 1 else out
    for k in range(out.data.size):
        seed = np.zeros(flat_out.shape, dtype=out.dtype)
        seed[k] = 1
        grads = _gradients([flat_out], inputs, [seed], nested, retain=True)
        for j, g in enumerate(grads):
            per_input[j].append(g)
    return per_input


def _rows_to_jacobian(rows: list[Tensor], out: Tensor, x: Tensor, nested: bool) -> Tensor:
    from .ops import stack
    if not rows:  # an output with no elements
        return Tensor(np.zeros(out.shape + x.shape, dtype=x.dtype))
    jac = stack(rows, 0).reshape(out.shape + x.shape) if nested else Tensor(
        np.stack([r.data for r in rows]).reshape(out.shape + x.shape))
    return jac


def hessian(func: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """The Hessian of ``func`` (one-element output), as ``torch.func.hessian``: for an
    argument of shape ``I``, a Tensor of shape ``I + I``; ``jacrev(jacrev(func))``.

    >>> import microgradnn as mg
    >>> from microgradnn.func import hessian
    >>> hessian(lambda x: (x ** 3).sum())(mg.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    return jacrev(jacrev(func, argnums), argnums)
