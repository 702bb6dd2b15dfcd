"""Which module is running: operations record it so pictures can group them by module.

``nn.Module.__call__`` pushes a :class:`Frame` while its ``forward`` runs; every node made
meanwhile keeps a reference to the innermost frame (one attribute per node). The innermost
frame belongs to the thread (it lives in the thread's grad-mode state), so modules running
in two threads at once do not take each other's frames.
"""
from __future__ import annotations

import weakref
from typing import Any

from .grad_mode import _local


class Frame:
    """One call of one module: the module, and the frame of the module that called it.

    The module is held weakly: a module that keeps its own output (``self.last = out``)
    would otherwise form a cycle module -> output -> node -> frame -> module.
    """

    __slots__ = ("_module", "parent", "depth")

    def __init__(self, module: Any, parent: "Frame | None") -> None:
        self._module = weakref.ref(module)
        self.parent = parent
        self.depth = 0 if parent is None else parent.depth + 1

    @property
    def module(self) -> Any:
        """The module of this call (None once it has been garbage collected)."""
        return self._module()

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
