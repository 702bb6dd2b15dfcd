"""Which module is running: operations record it so pictures can group them by module.

``nn.Module.__call__`` pushes a :class:`Frame` while its ``forward`` runs; every node made
meanwhile keeps a reference to the innermost frame (one attribute per node). Functions
written in primitives (``mse_loss``, ``softmax``) do the same through :func:`composite`, so
a picture can draw them as one node. The innermost frame belongs to the thread (it lives in
the thread's grad-mode state), so modules running in two threads at once do not take each
other's frames.
"""
from __future__ import annotations

import functools
import weakref
from typing import Any

from .grad_mode import _local


class Frame:
    """One call of one module: the module, and the frame of the module that called it.

    The module is held weakly: a module that keeps its own output (``self.last = out``)
    would otherwise form a cycle module -> output -> node -> frame -> module.
    """

    __slots__ = ("_module", "parent", "depth", "name", "inputs")

    def __init__(self, module: Any, parent: "Frame | None", name: str | None = None) -> None:
        self._module = None if module is None else weakref.ref(module)
        self.parent = parent
        self.depth = 0 if parent is None else parent.depth + 1
        # the class name outlives the module: a loss module made and dropped in one line
        # still has a name in the picture
        self.name = name or type(module).__name__
        self.inputs = ()  # a composite's tensor arguments (kept inside viz.keep() only)

    @property
    def module(self) -> Any:
        """The module of this call (None for a composite function, or once the module
        has been garbage collected)."""
        return None if self._module is None else self._module()

    @property
    def is_composite(self) -> bool:
        """True for the call of a function marked with :func:`composite`."""
        return self._module is None

    def path(self) -> list["Frame"]:
        """Frames from the outermost call to this one."""
        frames = []
        f: Frame | None = self
        while f is not None:
            frames.append(f)
            f = f.parent
        return frames[::-1]


def current() -> "Frame | None":
    """The innermost module call of the calling thread (None outside any module)."""
    return _local.mode.scope


class enter:
    """Context manager: operations inside are recorded as happening in ``module``."""

    __slots__ = ("module", "prev")

    def __init__(self, module: Any) -> None:
        self.module = module

    def __enter__(self) -> Frame:
        state = _local.mode
        self.prev = state.scope
        state.scope = frame = Frame(self.module, self.prev)
        return frame

    def __exit__(self, *exc) -> None:
        _local.mode.scope = self.prev


def composite(fn):
    """Decorator: the operations ``fn`` records are grouped under its name, so pictures
    can draw a function written in primitives (a loss, softmax) as one node.

    >>> import microgradnn as mg
    >>> @composite
    ... def square(x):
    ...     return x * x
    >>> square(mg.tensor(3.0, requires_grad=True)).grad_fn.scope.name
    'square'
    """
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        state = _local.mode
        prev = state.scope
        frame = state.scope = Frame(None, prev, name)
        if state.keep_values:  # pictures show which tensors went in
            frame.inputs = tuple(a for a in (*args, *kwargs.values()) if hasattr(a, "grad_fn"))
        try:
            return fn(*args, **kwargs)
        finally:
            state.scope = prev

    return wrapper


def keep_constants(node, args, nxt) -> None:
    """Inside ``viz.keep()``: remember the inputs of ``node`` that need no gradient
    (targets, data, Python numbers), which the graph itself does not hold, so pictures
    can draw every input of an operation. ``viz_constants[i]`` is argument ``i`` or None."""
    if any(n is None for n in nxt):
        node.viz_constants = tuple(a if n is None else None for a, n in zip(args, nxt))
