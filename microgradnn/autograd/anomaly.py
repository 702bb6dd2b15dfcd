"""Anomaly mode: find the forward call behind a NaN or infinite gradient.

While it is on, every recorded node keeps the stack of the forward call that made it, and
the engine checks each gradient a backward returns: a NaN or an infinity raises
``RuntimeError`` naming the operation, the shapes involved and that forward stack. Any
other error raised while a node's backward runs gets the same stack as a note.

As in PyTorch the switch is one flag for the whole process (not per thread), and it is
meant for debugging: recording a stack costs far more than the operation itself. When
it is off the cost is one flag test per operation and per backward step. Unlike
PyTorch, which looks only for NaN, infinities count too: in a gradient they are as
poisonous to the next update.

>>> import microgradnn as mg
>>> x = mg.tensor([0.0, 1.0], requires_grad=True)
>>> with mg.autograd.detect_anomaly():  # doctest: +ELLIPSIS
...     y = (x.sqrt() * 0).sum()
...     y.backward()
Traceback (most recent call last):
    ...
RuntimeError: anomaly: the backward of Sqrt (input of shape (2,), output of shape (2,)) returned a gradient with 1 NaN for input 0 ...
"""
from __future__ import annotations

import functools
import os
import traceback

import numpy as np

enabled = False     # read on every recorded operation: a plain module attribute
check_nan = True


def is_anomaly_enabled() -> bool:
    """True while anomaly mode is on."""
    return enabled


def is_anomaly_check_nan_enabled() -> bool:
    """True while anomaly mode is on and checks gradients for NaN and infinity."""
    return enabled and check_nan


class set_detect_anomaly:
    """Turn anomaly mode on or off: a function call, or a context manager that restores
    the previous setting on exit.

    >>> import microgradnn as mg
    >>> with mg.autograd.set_detect_anomaly(True):
    ...     mg.autograd.is_anomaly_enabled()
    True
    >>> mg.autograd.is_anomaly_enabled()
    False
    """

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (enabled, globals()["check_nan"])
        _set(bool(mode), bool(check_nan))

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        _set(*self.prev)


class detect_anomaly:
    """Context manager (and decorator): anomaly mode on inside it.

    ``check_nan=False`` keeps the forward stacks (added to errors raised in backward)
    without checking gradients for NaN and infinity.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = bool(check_nan)
        self._outer: list[tuple[bool, bool]] = []

    def __enter__(self) -> "detect_anomaly":
        self._outer.append((enabled, check_nan))
        _set(True, self.check_nan)
        return self

    def __exit__(self, *exc) -> None:
        _set(*self._outer.pop())

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


def _set(mode: bool, nan: bool) -> None:
    global enabled, check_nan
    enabled, check_nan = mode, nan


# ---------------------------------------------------------------------- the records
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_DEPTH = 12  # the innermost frames of the caller are the ones that say where
_INNER = tuple(os.path.join(_PACKAGE, d) for d in ("autograd", "ops", "tensor.py"))


def forward_stack() -> traceback.StackSummary:
    """The stack of the current call, without the frames of the recording machinery
    (``Function.apply``, the Tensor methods and operations that led to it). Source lines
    are looked up only if an error needs them."""
    frames = traceback.StackSummary.extract(traceback.walk_stack(None), lookup_lines=False,
                                            limit=_DEPTH + 40)
    frames.reverse()  # walk_stack starts at the innermost frame
    end = len(frames)
    while end > 1 and frames[end - 1].filename.startswith(_INNER):
        end -= 1
    return traceback.StackSummary.from_list(frames[max(0, end - _DEPTH):end])


def _stack_text(fn) -> str:
    stack = fn.forward_stack
    if stack is None:
        return ("  (not recorded: the forward pass ran while anomaly mode was off; "
                "turn it on before the forward pass)")
    return "".join(stack.format()).rstrip("\n")


def _shapes(fn) -> str:
    ins = [n.out_shape if hasattr(n, "out_shape") else n.data.shape
           for n in fn.next if n is not None]
    what = ("input of shape " + str(ins[0]) if len(ins) == 1
            else "inputs of shapes " + ", ".join(map(str, ins)))
    return f"{what}, output of shape {fn.out_shape}"


def check_grads(fn, grads) -> None:
    """Raise if a gradient returned by ``fn``'s backward holds NaN or infinity."""
    if not check_nan:
        return
    for i, g in enumerate(grads):
        if g is None:
            continue
        values = getattr(g, "values", g)   # an IndexedGrad's nonzero part
        values = np.asarray(getattr(values, "data", values))  # a Tensor's array
        if values.dtype.kind not in "fc" or np.isfinite(values).all():
            continue
        nan = int(np.isnan(values).sum())
        inf = int(np.isinf(values).sum())
        bad = " and ".join(p for p in (f"{nan} NaN" if nan else "", f"{inf} infinite value"
                                       + ("s" if inf > 1 else "") if inf else "") if p)
        err = RuntimeError(
            f"anomaly: the backward of {type(fn).__name__} ({_shapes(fn)}) returned a "
            f"gradient with {bad} for input {i} (gradient shape {tuple(getattr(g, 'shape', ()))}). "
            f"The forward call that created the {type(fn).__name__} node:\n{_stack_text(fn)}")
        err._anomaly_noted = True  # the stack is in the message already
        raise err


def add_forward_stack(err: BaseException, fn) -> None:
    """Note on ``err`` which forward call made the node whose backward failed."""
    if getattr(err, "_anomaly_noted", False) or not hasattr(err, "add_note"):
        return
    err._anomaly_noted = True
    err.add_note(f"Error detected in the backward of {type(fn).__name__} ({_shapes(fn)}). "
                 f"The forward call that created it:\n{_stack_text(fn)}")
