"""The backward pass: walk the graph in reverse and apply the chain rule.

1. Set-up (:func:`_plan`): count, for every node below the roots, how many of its
   consumers will send it a gradient (an iterative walk: no recursion, so chains of any
   depth work). When only some inputs are wanted (``grad``, ``backward(inputs=...)``)
   only the nodes on paths to them take part.
2. The ready loop (:func:`_walk`): a node runs once all its consumers have handed it
   their contributions, so its gradient is summed exactly once, then released.
   ``node.backward`` turns the gradient of its output into one per input; broadcasting
   is undone here, in one place (``sum_to``), and gradients take their input's dtype.
3. Leaf delivery (:func:`_deliver`): leaves collect their total; hooks run on it; it is
   added to ``.grad``. Or, for ``grad()``, the results are collected (:func:`_results`).

When the pass is not recorded (the usual case) grad mode is off while it runs, in the
calling thread only, and built-in operations get plain NumPy arrays; with
``create_graph=True`` every step is a tensor operation, recorded like any other.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from . import anomaly
from .function import Function
from .grad_mode import _local
from .partial_grads import IndexedGrad, total
from . import partial_grads


class _Plan:
    """What one backward pass needs to know before it starts.

    ``ready``: (node, complete gradient) pairs that can run now; ``pending``: partial sums
    of nodes still waiting for consumers; ``waiting``: how many consumers each node still
    waits for; ``runs``: the nodes whose backward is called (None: every node reached);
    ``leaves``: leaf id -> [leaf, gradient so far, whether ``.grad`` may adopt the array];
    ``wanted_leaves``: ids of the leaves that get a gradient (None: all);
    ``captured``: node -> positions in ``inputs`` of the non-leaf inputs it produced.
    """

    __slots__ = ("ready", "pending", "waiting", "runs", "leaves", "wanted_leaves", "captured",
                 "results")

    def __init__(self) -> None:
        self.ready: list = []
        self.pending: dict = {}
        self.waiting: dict = {}
        self.runs: set | None = None
        self.leaves: dict = {}
        self.wanted_leaves: set | None = None
        self.captured: dict = {}
        self.results: list = []


def run_backward(roots: Sequence, seeds: Sequence, *, retain_graph: bool, create_graph: bool,
                 inputs: Sequence | None = None, allow_unused: bool = False,
                 accumulate: bool = False, on_step: Callable | None = None):
    """Backpropagate ``seeds`` (one gradient per root) through the graph below ``roots``.

    With ``inputs=None`` every leaf's ``.grad`` is accumulated. With ``inputs``, only the
    nodes on paths to them run; their gradients are returned (as Tensors, or None for
    unused inputs when ``allow_unused``) and no ``.grad`` is touched, or, with
    ``accumulate=True`` (``backward(inputs=...)``), added to the inputs' ``.grad``.
    ``on_step(node, grad)`` is called before each node's backward (the stepper uses it).
    """
    plan = _plan(roots, seeds, inputs, create_graph)
    mode = _local.mode
    outer = (mode.enabled, mode.recording_backward)
    # This thread records the pass only for create_graph; other threads are untouched.
    mode.enabled = mode.recording_backward = create_graph
    try:
        _walk(plan, retain_graph, create_graph, on_step)
        if inputs is None or accumulate:
            _deliver(plan, inputs, create_graph)
            return None
        return _results(plan, inputs, allow_unused, create_graph)
    finally:
        mode.enabled, mode.recording_backward = outer


# ---------------------------------------------------------------------- set-up
def _plan(roots: Sequence, seeds: Sequence, inputs: Sequence | None,
          create_graph: bool) -> _Plan:
    plan = _Plan()
    add = _adder(create_graph)
    starts: dict[Function, object] = {}
    for root, seed in zip(roots, seeds):
        fn = root.grad_fn
        if fn is None:
            _add_leaf(plan.leaves, root, seed, add)
        else:
            starts[fn] = add(starts[fn], seed) if fn in starts else seed
    if inputs is None:
        plan.waiting = _count_consumers(starts, None, None)
    else:
        plan.results = [None] * len(inputs)
        plan.wanted_leaves = {id(t) for t in inputs if t.grad_fn is None}
        for i, t in enumerate(inputs):
            if t.grad_fn is not None:
                plan.captured.setdefault(t.grad_fn, []).append(i)
        plan.runs = _on_paths_to(starts, plan.wanted_leaves, plan.captured)
        starts = {fn: g for fn, g in starts.items() if fn in plan.runs or fn in plan.captured}
        for leaf_id in [k for k in plan.leaves if k not in plan.wanted_leaves]:
            del plan.leaves[leaf_id]  # a root that is a leaf but not one of the inputs
        plan.waiting = _count_consumers(starts, plan.runs, plan.captured)
    waiting, pending = plan.waiting, plan.pending
    for fn, g in starts.items():
        if waiting[fn] == 0:
            plan.ready.append((fn, g))
        else:
            pending[fn] = g
    return plan


def _count_consumers(starts, runs: set | None, captured: dict | None) -> dict:
    """node -> how many of its consumers will send it a gradient (iteratively).

    With ``runs`` only those nodes send, and only to nodes that run or are captured."""
    waiting = dict.fromkeys(starts, 0)
    stack = list(starts)
    while stack:
        fn = stack.pop()
        if runs is not None and fn not in runs:
            continue  # its backward is not called: it sends nothing
        for nxt in fn.next:
            if isinstance(nxt, Function):
                if runs is not None and nxt not in runs and nxt not in captured:
                    continue
                if nxt in waiting:
                    waiting[nxt] += 1
                else:
                    waiting[nxt] = 1
                    stack.append(nxt)
    return waiting


def _on_paths_to(starts, wanted_leaves: set, captured: dict) -> set:
    """The nodes below ``starts`` with a path to a wanted leaf or a captured node: only
    their backward needs to run (a captured node itself runs only if it is on such a
    path)."""
    users: dict[int, list] = {}  # id of a node or leaf -> the nodes that take it as input
    seen = set(starts)
    stack = list(starts)
    while stack:
        fn = stack.pop()
        for nxt in fn.next:
            if nxt is None:
                continue
            users.setdefault(id(nxt), []).append(fn)
            if isinstance(nxt, Function) and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    runs: set = set()
    frontier = list(wanted_leaves) + [id(fn) for fn in captured if fn in seen]
    while frontier:
        for fn in users.get(frontier.pop(), ()):
            if fn not in runs:
                runs.add(fn)
                frontier.append(id(fn))
    return runs


def _adder(create_graph: bool):
    """How partial gradients add up: recorded Tensor sums, or in-place array sums."""
    if create_graph:
        return _tensor_sum
    return partial_grads.add


def _tensor_sum(a, b):
    return a + b


# ---------------------------------------------------------------------- the ready loop
def _walk(plan: _Plan, retain_graph: bool, create_graph: bool, on_step) -> None:
    """Run each node once its gradient is complete and send the results to its inputs."""
    ready, pending, waiting, runs = plan.ready, plan.pending, plan.waiting, plan.runs
    captured, leaves, wanted_leaves = plan.captured, plan.leaves, plan.wanted_leaves
    add = _adder(create_graph)
    fast = not create_graph   # built-ins may then take arrays and skip Tensor wrapping
    fn = None
    try:
        while ready:
            fn, grad = ready.pop()
            if grad is None:  # every consumer returned None: nothing to compute
                _count_down(fn, plan)
                continue
            if type(grad) is not _ndarray:
                grad = total(grad)   # a running sum, an IndexedGrad (or a Tensor: as is)
            if fn.hooks or fn.keeps_values or on_step is not None:
                grad = _received(fn, grad, create_graph, on_step)
            if captured and fn in captured:
                for i in captured[fn]:
                    plan.results[i] = grad
            if runs is not None and fn not in runs:
                continue
            if fn.saved is None:
                _released(fn)
            if fast and fn.array_backward:
                in_grads = fn.backward(fn, grad)
                if type(in_grads) is not tuple:
                    in_grads = (in_grads,)
            else:
                in_grads = _call_backward(fn, grad, create_graph)
            if anomaly.enabled:
                anomaly.check_grads(fn, in_grads)
            if not retain_graph:
                if fn.own_slots:
                    _release(fn)
                elif fn.saved:
                    fn.saved = None  # released: a second backward through fn will say so
            for nxt, g in zip(fn.next, in_grads):
                if isinstance(nxt, Function):
                    if g is not None and (g.shape != nxt.out_shape or (
                            g.dtype is not nxt.out_dtype and g.dtype != nxt.out_dtype)):
                        g = _conform(g, nxt.out_shape, nxt.out_dtype, fn)
                    n = waiting.get(nxt)
                    if n == 1:  # the last contribution: nxt is ready (the common case)
                        if nxt in pending:
                            prev = pending.pop(nxt)
                            g = prev if g is None else add(prev, g)
                        ready.append((nxt, g))
                    elif n is not None:  # (None: not on a path to a wanted input)
                        if g is not None:
                            pending[nxt] = add(pending[nxt], g) if nxt in pending else g
                        waiting[nxt] = n - 1
                elif g is not None and nxt is not None and (
                        wanted_leaves is None or id(nxt) in wanted_leaves):
                    # A built-in's array backward makes fresh arrays (or passes its own
                    # gradient on); anything else may hand back memory someone else holds.
                    _add_leaf(leaves, nxt, _conform(g, nxt.data.shape, nxt.data.dtype, fn),
                              add, fast and fn.array_backward)
    except BaseException as err:
        if anomaly.enabled and fn is not None:
            anomaly.add_forward_stack(err, fn)
        raise


def _received(fn: Function, grad, create_graph: bool, on_step):
    """A node's complete gradient: hooks applied, kept for pictures, shown to the stepper."""
    if fn.hooks:
        grad = _run_hooks(fn.hooks, grad, create_graph)
    if fn.keeps_values:
        fn._grad = np.array(grad.data if create_graph else grad, copy=True)
    if on_step is not None:
        on_step(fn, grad)
    return grad


def _release(fn: Function) -> None:
    """Free what ``fn`` saved for backward: ``saved`` and any arrays in its own slots
    (a max-pool's indices, a softmax's probabilities), as PyTorch frees saved tensors.
    A later backward through ``fn`` then says so (``saved`` is None)."""
    dropped = bool(fn.saved)
    for name in fn.own_slots:
        if type(getattr(fn, name, None)) is np.ndarray:
            setattr(fn, name, None)
            dropped = True
    if dropped:
        fn.saved = None
        if fn.args is not None:
            fn.args = None


def _released(fn: Function):
    raise RuntimeError(
        f"backward: the values {type(fn).__name__} saved for backward were released by an "
        "earlier backward pass; pass retain_graph=True to the first backward() to "
        "backpropagate through the same graph again")


def _count_down(fn: Function, plan: _Plan) -> None:
    """Count down the inputs of a node that received no gradient at all (or other paths
    would wait for it forever)."""
    waiting, pending = plan.waiting, plan.pending
    if plan.runs is not None and fn not in plan.runs:
        return
    for nxt in fn.next:
        if isinstance(nxt, Function):
            n = waiting.get(nxt)
            if n == 1:
                plan.ready.append((nxt, pending.pop(nxt, None)))
            elif n is not None:
                waiting[nxt] = n - 1


def _call_backward(fn: Function, grad, create_graph: bool) -> tuple:
    """Call ``fn.backward`` with Tensors (recorded pass, or a user-defined Function);
    always return a tuple with one entry per input."""
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
        raise RuntimeError(f"backward of {type(fn).__name__} returned {len(out)} gradients "
                           f"for {len(fn.next)} inputs")
    return out


def _conform(g, shape: tuple, dtype: np.dtype, fn: Function):
    """Sum a broadcast gradient down to the input's shape and give it the input's dtype."""
    if type(g) is IndexedGrad:  # GetItem's: always of its input's shape and dtype
        return g
    if not isinstance(g, (np.ndarray, np.generic, Tensor)):
        g = np.asarray(g, dtype=dtype)
    if g.shape != shape:
        try:
            g = sum_to(g, shape)
        except ValueError:
            raise RuntimeError(
                f"backward of {type(fn).__name__} returned a gradient of shape {g.shape} "
                f"for an input of shape {shape}") from None
    if g.dtype != dtype:
        g = cast(g, dtype)
    return g


def _add_leaf(leaves: dict, leaf, g, add, adoptable: bool = True) -> None:
    """Collect a contribution to a leaf's gradient; a sum is the pass's own (adoptable)."""
    entry = leaves.get(id(leaf))
    if entry is None:
        leaves[id(leaf)] = [leaf, g, adoptable]
    else:
        entry[1] = add(entry[1], g)
        entry[2] = True


# ---------------------------------------------------------------------- delivery
def _deliver(plan: _Plan, inputs: Sequence | None, create_graph: bool) -> None:
    """Add each leaf's total (after its hooks) to its ``.grad``; with ``inputs``, also
    the gradients captured for non-leaf inputs."""
    delivered: set[int] = set()  # arrays already adopted by a .grad in this pass
    for leaf, g, adoptable in plan.leaves.values():
        g = total(g)
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g, create_graph)
            adoptable = False
        _accumulate(leaf, g, create_graph, adoptable, delivered)
    if inputs is not None:
        done: set[int] = set()
        for t, g in zip(inputs, plan.results):
            if g is not None and t.grad_fn is not None and id(t) not in done:
                done.add(id(t))
                _accumulate(t, g, create_graph, False, delivered)


def _accumulate(t, g, create_graph: bool, adoptable: bool, delivered: set) -> None:
    """Add ``g`` to ``t.grad``; a new ``.grad`` never shares memory with anything else.

    Copying every gradient would cost a parameter-sized allocation per leaf and step, so
    an array is adopted as it is when nothing else can hold it: it owns its memory (not
    a view such as a broadcast), came from a built-in backward, and was not already
    handed to another leaf in this pass (``a + b`` gives both the same array).
    """
    if create_graph:
        g = g if isinstance(g, Tensor) else _make(np.asarray(g), False, None)
        t.grad = g if t.grad is None else t.grad + g
        return
    if t.grad is not None:
        t.grad = _make(np.asarray(t.grad.data + g), False, None)
        return
    if not (adoptable and type(g) is np.ndarray and g.base is None and g.flags.writeable
            and id(g) not in delivered and g.dtype == t.data.dtype):
        g = np.array(g, dtype=t.data.dtype, copy=True)
    delivered.add(id(g))
    t.grad = _make(g, False, None)


def _results(plan: _Plan, inputs: Sequence, allow_unused: bool, create_graph: bool) -> tuple:
    """The gradients ``grad()`` returns, one per input, as Tensors."""
    out = []
    for i, t in enumerate(inputs):
        g = plan.results[i]
        if t.grad_fn is None and id(t) in plan.leaves:
            g = total(plan.leaves[id(t)][1])
            if t._hooks:
                g = _run_hooks(t._hooks, g, create_graph)
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: one of the inputs (shape {t.shape}) was not used to compute the "
                    "outputs; pass allow_unused=True to get None for it")
            out.append(None)
        else:
            out.append(g if isinstance(g, Tensor) else _make(np.asarray(g), False, None))
    return tuple(out)


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


_ndarray = np.ndarray

from ..tensor import Tensor, _make  # noqa: E402
from ..ops.reduce import sum_to  # noqa: E402
from ..ops.elementwise import cast  # noqa: E402
