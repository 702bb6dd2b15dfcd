"""Whether operations record a graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

The switch is one module-level flag read by :meth:`Function.apply` on every call,
so it costs one attribute lookup per operation.
"""
from __future__ import annotations

import functools

enabled = True


def is_grad_enabled() -> bool:
    """True when new operations are recorded for backpropagation."""
    return enabled


class set_grad_enabled:
    """Turn graph recording on or off; usable as a function, a context manager or a decorator.

    >>> import microgradnn as mg
    >>> with mg.autograd.set_grad_enabled(False):
    ...     mg.is_grad_enabled()
    False
    """

    def __init__(self, mode: bool = True) -> None:
        global enabled
        self.prev = enabled
        self.mode = bool(mode)
        enabled = self.mode

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        global enabled
        enabled = self.prev

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
    """Base of ``no_grad`` / ``enable_grad``: a context manager that is also a decorator."""

    mode = True

    def __enter__(self) -> None:
        global enabled
        self.prev = enabled
        enabled = self.mode

    def __exit__(self, *exc) -> None:
        global enabled
        enabled = self.prev

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            global enabled
            prev = enabled
            enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                enabled = prev

        return wrapper


class no_grad(_GradModeContext):
    """Do not record operations (evaluation, parameter updates).

    >>> import microgradnn as mg
    >>> w = mg.ones(2, requires_grad=True)
    >>> with mg.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    mode = False


class enable_grad(_GradModeContext):
    """Record operations again inside a ``no_grad`` block.

    >>> import microgradnn as mg
    >>> w = mg.ones(2, requires_grad=True)
    >>> with mg.no_grad():
    ...     with mg.enable_grad():
    ...         y = w * 2
    >>> y.requires_grad
    True
    """

    mode = True


# Whether new nodes keep their output value and the gradient they receive, for pictures
# (``mg.viz.keep()``). Today every node keeps them; the engine-safety work makes nodes
# keep them only while this is on, so that ordinary training frees them after backward.
keep_values = False


def is_keeping_values() -> bool:
    """True inside ``mg.viz.keep()``: new nodes keep values and received gradients."""
    return keep_values


def set_keep_values(mode: bool) -> None:
    global keep_values
    keep_values = bool(mode)
