"""The backward pass: walk the graph in reverse and apply the chain rule.

1. Count, for every node reachable from the roots, how many of its consumers are in the
   graph (an iterative depth-first walk: no recursion, so chains of any depth work).
2. Start from the roots with their seed gradients. A node runs once all its consumers
   have handed it their contributions (the count drops to zero): its gradients are
   summed exactly once, then released.
3. ``node.backward`` turns the gradient of its output into one per input. Broadcasting
   is undone here, in one place (``sum_to``), and gradients take their input's dtype.
4. Leaves collect their total; hooks run on it; it is added to ``.grad``.

When the pass is not recorded (the usual case) grad mode is off while it runs and
built-in operations get plain NumPy arrays; with ``create_graph=True`` every step is a
tensor operation, recorded like any other.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from . import function as _function
from . import grad_mode, scatter
from .function import Function
from .scatter import IndexedGrad


def run_backward(roots: Sequence, seeds: Sequence, *, retain_graph: bool, create_graph: bool,
                 inputs: Sequence | None = None, allow_unused: bool = False,
                 on_step: Callable | None = None):
    """Backpropagate ``seeds`` (one gradient per root) through the graph below ``roots``.

    With ``inputs=None`` the leaves' ``.grad`` are accumulated; otherwise the gradients of
    ``inputs`` are returned (as Tensors, or None for unused inputs when ``allow_unused``)
    and no ``.grad`` is touched. ``on_step(node, grad)`` is called before each node's
    backward (the teaching stepper uses it).
    """
    deps: dict[Function, int] = {}
    grads: dict[Function, object] = {}
    leaf_grads: dict[int, list] = {}  # id(leaf) -> [leaf, summed gradient, adoptable]
    # Partial sums this pass made, summed into in place (plain backward only; see
    # scatter.py). ``plus`` adds two partial gradients either way.
    owned: dict[int, object] = {}
    if create_graph:
        def plus(a, b):
            return a + b
    else:
        def plus(a, b):
            return scatter.add(a, b, owned)

    for root, seed in zip(roots, seeds):
        fn = root.grad_fn
        if fn is None:
            _add_leaf(leaf_grads, root, seed, plus)
        elif fn in grads:
            grads[fn] = plus(grads[fn], seed)
        else:
            grads[fn] = seed
            deps[fn] = 0

    # 1. consumer counts, iteratively
    stack = list(grads)
    while stack:
        fn = stack.pop()
        for nxt in fn.next:
            if isinstance(nxt, Function):
                if nxt in deps:
                    deps[nxt] += 1
                else:
                    deps[nxt] = 1
                    stack.append(nxt)
    # ``ready`` holds (node, its complete gradient); partial sums wait in ``grads``.
    ready: list[tuple] = [(fn, _hand_on(grads.pop(fn), owned))
                          for fn in list(grads) if deps[fn] == 0]

    # inputs that are not leaves: their gradient is the one their node receives
    wanted_nodes = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            if t.grad_fn is not None:
                wanted_nodes.setdefault(t.grad_fn, []).append(i)
    results: list = [None] * (len(inputs) if inputs is not None else 0)

    prev_mode = grad_mode.enabled
    prev_recording = _function._recording_backward
    grad_mode.enabled = create_graph
    _function._recording_backward = create_graph
    want = bool(wanted_nodes)
    try:
        # The per-node loop is the engine's cost per operation: locals only, the common
        # case (array backward, matching shape and dtype) without extra calls.
        while ready:
            fn, grad = ready.pop()
            if grad is None:
                # Every consumer returned None (a zero gradient): nothing to compute, but
                # the inputs' counts must still go down or other paths would wait forever.
                _count_down(fn, deps, grads, ready, owned)
                continue
            if type(grad) is IndexedGrad:
                grad = grad.dense()
            if fn.hooks:
                grad = _run_hooks(fn.hooks, grad, create_graph)
            fn.grad = grad.data if create_graph else grad
            if on_step is not None:
                on_step(fn, grad)
            if want and fn in wanted_nodes:
                for i in wanted_nodes[fn]:
                    results[i] = grad
            if fn.array_backward and not create_graph:
                in_grads = fn.backward(fn, grad)
                if type(in_grads) is not tuple:
                    in_grads = (in_grads,)
            else:
                in_grads = _call_backward(fn, grad, create_graph)
            if not retain_graph and fn.saved:
                fn.saved = None  # released: a second backward through fn will say so
            for nxt, g in zip(fn.next, in_grads):
                if nxt is None:
                    continue
                if isinstance(nxt, Function):
                    if g is not None:
                        like = nxt.value
                        if g.shape != like.shape or (g.dtype is not like.dtype
                                                     and g.dtype != like.dtype):
                            g = _conform(g, like, fn)
                    n = deps[nxt]
                    if n == 1:  # last contribution: the node is ready (the common case)
                        if nxt in grads:
                            prev = grads.pop(nxt)
                            g = _hand_on(prev if g is None else plus(prev, g), owned)
                        ready.append((nxt, g))
                    else:
                        if g is not None:
                            grads[nxt] = plus(grads[nxt], g) if nxt in grads else g
                        deps[nxt] = n - 1
                elif g is not None:
                    # A built-in's array backward makes fresh arrays (or passes its own
                    # gradient on); anything else may hand back memory someone else holds.
                    _add_leaf(leaf_grads, nxt, _conform(g, nxt.data, fn), plus,
                              fn.array_backward and not create_graph)

        if inputs is not None:
            for i, t in enumerate(inputs):
                if t.grad_fn is None and id(t) in leaf_grads:
                    leaf = leaf_grads[id(t)]
                    g = scatter.dense(leaf[1])
                    if t._hooks:
                        g = _run_hooks(t._hooks, g, create_graph)
                    results[i] = g
            out = []
            for t, g in zip(inputs, results):
                if g is None:
                    if not allow_unused:
                        raise RuntimeError(
                            "grad: one of the inputs (shape "
                            f"{t.shape}) was not used to compute the outputs; pass "
                            "allow_unused=True to get None for it")
                    out.append(None)
                else:
                    out.append(g if isinstance(g, Tensor) else _make(np.asarray(g), False, None))
            return tuple(out)

        delivered: set[int] = set()
        for leaf, g, adoptable in leaf_grads.values():
            g = scatter.dense(g)
            if leaf._hooks:
                g = _run_hooks(leaf._hooks, g, create_graph)
                adoptable = False
            _accumulate(leaf, g, create_graph, adoptable, delivered)
        return None
    finally:
        grad_mode.enabled = prev_mode
        _function._recording_backward = prev_recording


def _count_down(fn: Function, deps: dict, grads: dict, ready: list, owned: dict) -> None:
    """Count down the inputs of a node that received no gradient at all."""
    for nxt in fn.next:
        if isinstance(nxt, Function):
            n = deps[nxt]
            if n == 1:
                ready.append((nxt, _hand_on(grads.pop(nxt, None), owned)))
            else:
                deps[nxt] = n - 1


def _hand_on(g, owned: dict):
    """A complete gradient leaves the engine's hands: no more summing into it in place."""
    if owned:
        owned.pop(id(g), None)
    return g


def _call_backward(fn: Function, grad, create_graph: bool) -> tuple:
    """Call ``fn.backward`` with arrays (fast path) or Tensors; always return a tuple."""
    if create_graph:
        out = fn.backward(fn, grad)
        if type(out) is not tuple:
            out = (out,)
    else:
        # A user-defined Function gets Tensors even when nothing is recorded.
        out = fn.backward(fn, _make(np.asarray(grad), False, None))
        if type(out) is not tuple:
            out = (out,)
        out = tuple(g.data if isinstance(g, Tensor) else g for g in out)
    if len(out) != len(fn.next):
        _wrong_count(fn, out)
    return out


def _wrong_count(fn: Function, grads: tuple):
    raise RuntimeError(f"backward of {type(fn).__name__} returned {len(grads)} gradients "
                       f"for {len(fn.next)} inputs")


def _conform(g, like: np.ndarray, fn: Function):
    """Sum a broadcast gradient down to the input's shape and give it the input's dtype."""
    if type(g) is IndexedGrad:  # GetItem's: always of its input's shape and dtype
        return g
    if not isinstance(g, (np.ndarray, np.generic, Tensor)):
        g = np.asarray(g, dtype=like.dtype)
    if g.shape != like.shape:
        try:
            g = sum_to(g, like.shape)
        except ValueError:
            raise RuntimeError(
                f"backward of {type(fn).__name__} returned a gradient of shape {g.shape} "
                f"for an input of shape {like.shape}") from None
    if g.dtype != like.dtype:
        g = cast(g, like.dtype)
    return g


def _add_leaf(leaf_grads: dict, leaf, g, plus, adoptable: bool = True) -> None:
    """Collect a contribution to a leaf's gradient; a sum is a fresh array (adoptable)."""
    entry = leaf_grads.get(id(leaf))
    if entry is None:
        leaf_grads[id(leaf)] = [leaf, g, adoptable]
    else:
        entry[1] = plus(entry[1], g)
        entry[2] = True


def _accumulate(leaf, g, create_graph: bool, adoptable: bool, delivered: set) -> None:
    """Add ``g`` to ``leaf.grad``; a new ``.grad`` never shares memory with anything else.

    Copying every gradient would cost a parameter-sized allocation per leaf and step, so
    an array is adopted as it is when nothing else can hold it: it owns its memory (not
    a view such as a broadcast), came from a built-in backward, and was not already
    handed to another leaf in this pass (``a + b`` gives both the same array).
    """
    if create_graph:
        g = g if isinstance(g, Tensor) else _make(np.asarray(g), False, None)
        leaf.grad = g if leaf.grad is None else leaf.grad + g
        return
    if leaf.grad is not None:
        leaf.grad = _make(np.asarray(leaf.grad.data + g), False, None)
        return
    if not (adoptable and type(g) is np.ndarray and g.base is None and g.flags.writeable
            and id(g) not in delivered and g.dtype == leaf.data.dtype):
        g = np.array(g, dtype=leaf.data.dtype, copy=True)
    delivered.add(id(g))
    leaf.grad = _make(g, False, None)


def _run_hooks(hooks: list, grad, create_graph: bool):
    """Apply hooks in order; each sees a Tensor and may return a replacement."""
    as_tensor = grad if isinstance(grad, Tensor) else _make(np.asarray(grad), False, None)
    for hook in hooks:
        new = hook(as_tensor)
        if new is not None:
            if not isinstance(new, Tensor):
                raise TypeError(f"hook {hook!r} must return a Tensor or None, got {type(new).__name__}")
            if new.shape != as_tensor.shape:
                raise ValueError(
                    f"hook {hook!r} returned a gradient of shape {new.shape}, "
                    f"expected {as_tensor.shape}")
            as_tensor = new
    return as_tensor if create_graph else as_tensor.data


from ..tensor import Tensor, _make  # noqa: E402
from ..ops.reduce import sum_to  # noqa: E402
from ..ops.elementwise import cast  # noqa: E402
