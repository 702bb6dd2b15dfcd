"""Whether operations record a graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

As in PyTorch the mode belongs to the thread: ``no_grad()`` in an evaluation thread does
not stop another thread's training from being recorded, and the engine's own switching
during ``backward()`` touches only the thread running it. A new thread starts with
recording on and ``mg.viz.keep()`` off.

Everything recording reads per operation lives in one :class:`Mode` object per thread,
so :meth:`Function.apply` pays one thread-local lookup and plain attribute reads.
"""
from __future__ import annotations

import functools
import threading


class Mode:
    """The recording state of one thread (read on every operation, so plain slots)."""

    __slots__ = ("enabled", "keep_values", "recording_backward", "scope", "outer_enabled")

    def __init__(self) -> None:
        self.enabled = True               # record new operations (grad mode)
        self.keep_values = False          # new nodes keep value and gradient (viz.keep)
        self.recording_backward = False   # inside backward(create_graph=True)
        self.scope = None                 # innermost module call (see scope.py)
        self.outer_enabled: list[bool] = []  # modes to restore when no_grad() etc. exit


class _PerThread(threading.local):
    def __init__(self) -> None:  # runs once in each thread that looks at it
        self.mode = Mode()


_local = _PerThread()


def current() -> Mode:
    """The calling thread's :class:`Mode` (hot paths read ``_local.mode`` directly)."""
    return _local.mode


def is_grad_enabled() -> bool:
    """True when new operations are recorded for backpropagation (in this thread)."""
    return _local.mode.enabled


class set_grad_enabled:
    """Turn graph recording on or off; usable as a function, a context manager or a decorator.

    As a function the change lasts until changed again; as a context manager it is undone
    on exit. Either way it affects only the calling thread.

    >>> import microgradnn as mg
    >>> with mg.autograd.set_grad_enabled(False):
    ...     mg.is_grad_enabled()
    False
    """

    def __init__(self, mode: bool = True) -> None:
        state = _local.mode
        self.prev = state.enabled
        self.mode = bool(mode)
        state.enabled = self.mode

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        _local.mode.enabled = self.prev

    def __call__(self, fn):
        mode = self.mode
        # Used as a decorator: the constructor already switched the flag; undo that
        # and switch around each call instead.
        self.__exit__()

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class _GradModeContext:
    """Base of ``no_grad`` / ``enable_grad``: a context manager that is also a decorator.

    The mode to restore goes on a stack of the thread's own, not on the instance, so one
    instance may be entered again while active, or by several threads at once."""

    mode = True

    def __enter__(self) -> None:
        state = _local.mode
        state.outer_enabled.append(state.enabled)
        state.enabled = self.mode

    def __exit__(self, *exc) -> None:
        state = _local.mode
        state.enabled = state.outer_enabled.pop()

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            state = _local.mode
            prev = state.enabled
            state.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                state.enabled = prev

        return wrapper


class no_grad(_GradModeContext):
    """Do not record operations (evaluation, parameter updates) in this thread.

    >>> import microgradnn as mg
    >>> w = mg.ones(2, requires_grad=True)
    >>> with mg.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    mode = False


class enable_grad(_GradModeContext):
    """Record operations again inside a ``no_grad`` block (in this thread).

    >>> import microgradnn as mg
    >>> w = mg.ones(2, requires_grad=True)
    >>> with mg.no_grad():
    ...     with mg.enable_grad():
    ...         y = w * 2
    >>> y.requires_grad
    True
    """

    mode = True


def is_keeping_values() -> bool:
    """True inside ``mg.viz.keep()``: new nodes keep values and received gradients."""
    return _local.mode.keep_values


def set_keep_values(mode: bool) -> None:
    """Switch :func:`is_keeping_values` for the calling thread (``mg.viz.keep`` uses it)."""
    _local.mode.keep_values = bool(mode)
