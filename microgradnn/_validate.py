"""Argument checks shared by every public function, so that a bad argument raises a
``TypeError`` / ``ValueError`` / ``IndexError`` that starts with the name of the operation
the user called and names the argument, instead of whatever NumPy says three calls down.

Each check returns the value in its normal form (a Python int, a tuple of ints, ...), so
a call site reads ``n = check_int("eye", "n", n, min=0)``.

>>> from microgradnn._validate import check_shape
>>> check_shape("zeros", "shape", [2, 3])
(2, 3)
>>> check_shape("reshape", "shape", (2.0, 3))
Traceback (most recent call last):
    ...
TypeError: reshape: shape must be ints, got (2.0, 3) (element 2.0 is a float)
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

# The module, not its names: tensor.py imports this module before it defines Tensor, so
# Tensor is read when a check runs (an import inside the function cost 0.8 µs a call).
from . import tensor as _tensor

Shape = tuple[int, ...]


def is_int(x: Any) -> bool:
    """An integer that is not a bool (True is an int to Python, never a size to a user)."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def is_real(x: Any) -> bool:
    """A real number (int or float, not a bool, not a string)."""
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def check_int(op: str, name: str, value: Any, *, min: int | None = None,
              max: int | None = None) -> int:
    """``value`` as an int in [min, max]; TypeError if not an int, ValueError if outside."""
    if not is_int(value):
        raise TypeError(f"{op}: {name} must be an int, got {value!r} "
                        f"({type(value).__name__})")
    value = int(value)
    if min is not None and value < min:
        raise ValueError(f"{op}: {name} must be at least {min}, got {value}")
    if max is not None and value > max:
        raise ValueError(f"{op}: {name} must be at most {max}, got {value}")
    return value


def check_real(op: str, name: str, value: Any, *, min: float | None = None,
               max: float | None = None, allow_nan: bool = True) -> float:
    """``value`` as a float in [min, max]; TypeError if not a real number."""
    if not is_real(value):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r} "
                        f"({type(value).__name__})")
    value = float(value)
    if not allow_nan and value != value:
        raise ValueError(f"{op}: {name} must not be nan")
    if (min is not None and value < min) or (max is not None and value > max):
        lo = "-inf" if min is None else min
        hi = "inf" if max is None else max
        raise ValueError(f"{op}: {name} must be in [{lo}, {hi}], got {value}")
    return value


def check_bool(op: str, name: str, value: Any) -> bool:
    """``value`` as a bool; a TypeError for anything else (a string is always truthy)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(op: str, name: str, value: Any, choices: tuple) -> Any:
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{op}: {name} must be one of {options}; got {value!r}")
    return value


def check_shape(op: str, name: str, shape: Any, *, allow_minus_one: bool = False) -> Shape:
    """A shape (an int or a sequence of ints) as a tuple; -1 allowed once if asked."""
    if type(shape) is tuple and all(type(s) is int and s >= 0 for s in shape):
        return shape                    # the common case, on the hot path of reshape
    if is_int(shape):
        shape = (shape,)
    if isinstance(shape, np.ndarray) and shape.ndim == 1 and shape.dtype.kind in "iu":
        shape = tuple(shape.tolist())
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{op}: {name} must be ints (an int or a sequence of ints), got "
                        f"{shape!r} ({type(shape).__name__})")
    for s in shape:
        if not is_int(s):
            raise TypeError(f"{op}: {name} must be ints, got {tuple(shape)!r} "
                            f"(element {s!r} is a {type(s).__name__})")
    out = tuple(int(s) for s in shape)
    bad = [s for s in out if s < 0 and not (allow_minus_one and s == -1)]
    if bad:
        raise ValueError(f"{op}: {name} {out} has a negative size {bad[0]}")
    if allow_minus_one and out.count(-1) > 1:
        raise ValueError(f"{op}: {name} {out} may contain -1 at most once")
    return out


def shape_args(op: str, args: tuple, *, allow_minus_one: bool = False) -> Shape:
    """The ``*shape`` of ``f(2, 3)`` or ``f((2, 3))`` as one tuple."""
    if len(args) == 1 and not is_int(args[0]):
        return check_shape(op, "shape", args[0], allow_minus_one=allow_minus_one)
    return check_shape(op, "shape", tuple(args), allow_minus_one=allow_minus_one)


def check_axis(op: str, axis: Any, ndim: int, *, name: str = "dimension",
               extra: int = 0) -> int:
    """One axis of a ``ndim``-d tensor (``extra`` = 1 for positions that may also be one
    past the end, as in ``unsqueeze``) as a non-negative int. A 0-d tensor takes 0 and -1,
    as in PyTorch. TypeError if not an int, ValueError if out of range."""
    if not is_int(axis):
        raise TypeError(f"{op}: {name} must be an int, got {axis!r} ({type(axis).__name__})")
    n = builtin_max(ndim + extra, 1)
    if not -n <= axis < n:
        raise ValueError(f"{op}: {name} {int(axis)} is out of range for a {ndim}-d tensor "
                         f"(expected {-n} to {n - 1})")
    return int(axis) % n


def check_axes(op: str, axes: Any, ndim: int, *, name: str = "dimension") -> tuple[int, ...] | None:
    """None (all axes), one axis, or a sequence of distinct axes, as a tuple."""
    if axes is None:
        return None
    if is_int(axes):
        return (check_axis(op, axes, ndim, name=name),)
    if not isinstance(axes, (tuple, list)):
        raise TypeError(f"{op}: {name} must be an int, a tuple of ints or None, got {axes!r}")
    out = tuple(check_axis(op, a, ndim, name=name) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: {name} {tuple(axes)!r} repeats an axis")
    return out


def check_tensor(op: str, name: str, value: Any):
    """``value`` as a Tensor: Tensors pass, arrays and nested lists of numbers are
    converted; anything else (strings, None, ragged lists) is a TypeError naming ``op``."""
    if isinstance(value, _tensor.Tensor):
        return value
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise TypeError(f"{op}: {name} must be a Tensor (or an array of numbers), got "
                        f"{type(value).__name__}")
    try:
        return _tensor.tensor(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{op}: {name} must be a Tensor (or an array of numbers), got "
                        f"{type(value).__name__}: {_inner(e)}") from None


def _inner(e: Exception) -> str:
    msg = str(e)
    return msg.split(": ", 1)[1] if msg.startswith("tensor: ") else msg


builtin_max = max
