"""``locate``: find the node of a graph whose backward disagrees with its own forward.

When ``gradcheck`` fails on a composite function, the fault is in one node. ``locate``
records the graph of ``fn(*inputs)`` (inside ``mg.viz.keep()``, so the nodes keep their
values for a picture), then checks every node on its own, in the order the forward pass
made them: its ``backward`` for a random upstream gradient against central finite
differences of its ``forward`` at the very inputs it saw, along random directions. The
first node that disagrees is returned, ready to be drawn:

    failure = locate(model_loss, [x])
    mg.viz.draw_graph(failure.outputs[0], highlight=failure)   # the node in red

To rerun a node's ``forward``, ``locate`` must know the arguments each node received
(constants and keyword arguments included), which a graph does not keep: while ``fn``
runs, every ``Function`` subclass's ``forward`` is wrapped to note them, and restored
afterwards. So do not run ``locate`` while another thread uses microgradnn.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..autograd import engine, no_grad
from ..autograd.function import Function
from ..autograd.partial_grads import IndexedGrad
from ..tensor import Tensor, _make
from .gradcheck import _check_inputs, _mismatch, _num, _outputs


@dataclass
class NodeFailure:
    """The first node whose backward disagrees with finite differences of its forward.

    ``node`` is the graph node (a ``Function`` instance: ``draw_graph(...,
    highlight=failure)`` paints it), ``op`` its operation's name, ``shapes`` the shapes of
    its tensor inputs, ``input_index`` the argument whose gradient is wrong, ``error``
    the largest absolute difference between analytic and numeric values seen, ``message`` a
    sentence saying all that, and
    ``outputs`` the outputs of the recorded graph (to draw it).
    """

    node: Function
    op: str
    shapes: tuple
    input_index: int
    error: float
    message: str
    outputs: tuple = field(repr=False, default=())

    def __str__(self) -> str:
        return self.message


def _all_subclasses() -> list[type]:
    found, stack = [], [Function]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            stack.append(sub)
    return found


class _RecordCalls:
    """While active, note (forward, args, kwargs) of every node made, by id of its ctx."""

    def __init__(self):
        self.calls: dict[int, tuple] = {}
        self.patched: list[tuple[type, object]] = []

    def __enter__(self):
        for cls in _all_subclasses():
            original = cls.__dict__.get("forward")
            if original is None:
                continue
            fwd = original.__func__ if isinstance(original, staticmethod) else original
            self.patched.append((cls, original))
            setattr(cls, "forward", staticmethod(self._wrap(fwd)))
        return self

    def _wrap(self, fwd):
        calls = self.calls

        def forward(ctx, *args, **kwargs):
            # copies: a later in-place change must not move the point the node is checked at
            # (a user's Function receives Tensors: their values are kept as arrays too)
            frozen = tuple(np.array(a.data if isinstance(a, Tensor) else a, copy=True)
                           if isinstance(a, (np.ndarray, Tensor)) else a for a in args)
            calls[id(ctx)] = (ctx, fwd, frozen, kwargs)
            return fwd(ctx, *args, **kwargs)
        return forward

    def __exit__(self, *exc):
        for cls, original in reversed(self.patched):
            setattr(cls, "forward", original)


def _forward_order(outs: Sequence[Tensor]) -> list[Function]:
    """Nodes below ``outs`` from the first made to the last (reverse postorder of a DFS
    from the outputs, iterative)."""
    order, seen = [], set()
    for out in outs:
        if not isinstance(out.grad_fn, Function) or id(out.grad_fn) in seen:
            continue
        stack = [(out.grad_fn, iter(out.grad_fn.next))]
        seen.add(id(out.grad_fn))
        while stack:
            node, it = stack[-1]
            for nxt in it:
                if isinstance(nxt, Function) and id(nxt) not in seen:
                    seen.add(id(nxt))
                    stack.append((nxt, iter(nxt.next)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order  # postorder: every node after its inputs


def _node_grads(node: Function, upstream: np.ndarray) -> list:
    """The node's backward for ``upstream``, each gradient summed to its input's shape."""
    with no_grad():
        if node.array_backward:
            grads = node.backward(node, upstream)
            grads = grads if isinstance(grads, tuple) else (grads,)
        else:
            grads = engine._call_backward(node, upstream, False)
    if len(grads) != len(node.next):
        raise RuntimeError(f"locate: backward of {type(node).__name__} returned {len(grads)} "
                           f"gradients for {len(node.next)} inputs")
    return list(grads)


def _check_node(node, fwd, args, kwargs, rng, eps, atol, rtol, n_directions):
    """None, or (input index, error, analytic, numeric) of the worst disagreement."""
    def run(arrays):
        ctx = object.__new__(type(node))
        ctx.saved = ()
        if node.array_backward:
            return np.asarray(fwd(ctx, *arrays, **kwargs), dtype=np.float64)
        # a user's Function: Tensors in, under no_grad, as Function.apply runs it
        tensors = [_make(a, False, None) if isinstance(a, np.ndarray) else a for a in arrays]
        with no_grad():
            out = fwd(ctx, *tensors, **kwargs)
        return np.asarray(out.data if isinstance(out, Tensor) else out, dtype=np.float64)

    base = run(list(args))
    v = rng.standard_normal(base.shape)
    grads = _node_grads(node, v.astype(node.out_dtype))
    for i, (nxt, a) in enumerate(zip(node.next, args)):
        if nxt is None or not isinstance(a, np.ndarray) or a.dtype.kind != "f":
            continue
        g = grads[i]
        if type(g) is IndexedGrad:
            g = g.dense()
        if g is not None:
            g = engine._conform(g.data if isinstance(g, Tensor) else g, a.shape, a.dtype, node)
            g = g.dense() if type(g) is IndexedGrad else np.asarray(g)
        if a.size == 0:
            continue
        for _ in range(n_directions):
            u = rng.standard_normal(a.shape)
            u /= np.linalg.norm(u)
            plus, minus = list(args), list(args)
            plus[i], minus[i] = a + eps * u, a - eps * u
            numeric = float(np.sum(v * (run(plus) - run(minus))) / (2 * eps))
            analytic = 0.0 if g is None else float(np.sum(g * u))
            if _mismatch(np.array(analytic), np.array(numeric), atol, rtol):
                return i, abs(analytic - numeric), analytic, numeric
    return None


def locate(fn: Callable, inputs: Sequence[Tensor], eps: float = 1e-6, atol: float = 1e-5,
           rtol: float = 1e-3, n_directions: int = 2, seed: int = 0) -> NodeFailure | None:
    """Check every node of the graph of ``fn(*inputs)`` on its own; return a
    :class:`NodeFailure` for the first (in forward order) whose backward disagrees with
    finite differences of its forward, or None when every node agrees.

    ``inputs`` follow :func:`gradcheck`'s rules (float64, some requiring grad).

    >>> import microgradnn as mg
    >>> from microgradnn.testing import locate
    >>> class BadSquare(mg.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return grad * x            # should be 2x
    >>> x = mg.tensor([0.5, -1.0], dtype=mg.float64, requires_grad=True)
    >>> failure = locate(lambda x: BadSquare.apply(x.sin()).exp().sum(), [x])
    >>> failure.op, failure.shapes
    ('badsquare', ((2,),))
    >>> locate(lambda x: x.sin().exp().sum(), [x]) is None
    True
    """
    from ..viz import keep  # viz reads the graph; testing only borrows its switch

    inputs = list(inputs)
    _check_inputs("locate", inputs, None)
    rng = np.random.default_rng(seed)
    with keep(), _RecordCalls() as rec:
        outs = tuple(_outputs("locate", fn, inputs))
    for node in _forward_order(outs):
        entry = rec.calls.get(id(node))
        if entry is None or entry[0] is not node:
            continue  # made outside fn (an input's own history): not ours to check
        _, fwd, args, kwargs = entry
        found = _check_node(node, fwd, args, kwargs, rng, eps, atol, rtol, n_directions)
        if found is None:
            continue
        i, error, analytic, numeric = found
        shapes = tuple(a.shape for nxt, a in zip(node.next, args)
                       if nxt is not None and isinstance(a, np.ndarray))
        op = type(node).op_name
        out_shape = tuple(node.out_shape)
        message = (f"{op} ({type(node).__name__}) with inputs of shapes {shapes} -> "
                   f"{out_shape}: the gradient of its input {i} disagrees with finite "
                   f"differences of its forward: analytic vᵀJu {_num(analytic)} vs numeric "
                   f"{_num(numeric)}, difference {_num(error)} > tolerance "
                   f"{_num(atol + rtol * abs(numeric))}")
        return NodeFailure(node, op, shapes, i, error, message, outs)
    return None
