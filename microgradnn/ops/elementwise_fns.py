"""Elementwise operations as functions: ``mg.exp(x)``, ``mg.where(c, a, b)``, ...

(The primitives themselves, forward beside backward, are in ``elementwise.py``; this module
was ``ops/functional.py``, renamed so that it does not read as ``nn.functional``.)

Each calls the operation's ``apply``; non-tensor arguments become tensors first, so
``mg.exp([0.0, 1.0])`` works like ``np.exp`` would. Binary operations promote their
operands by PyTorch's rule first (``ops/_util.promote2``).
"""
from __future__ import annotations

import numpy as np

from . import elementwise as ew
from ._util import promote2


def _t(x, op: str):
    """``x`` as a tensor; a conversion error names the operation ``op``."""
    return x if isinstance(x, Tensor) else _make(_to_array(x, None, copy=False, op=op), False, None)


def add(a, b):
    """a + b with broadcasting.

    >>> import microgradnn as mg
    >>> mg.add(mg.ones(2), 1.5)
    tensor([2.5, 2.5])
    """
    return ew.Add.apply(*promote2("add", _t(a, "add"), b))


def sub(a, b):
    """a - b with broadcasting."""
    return ew.Sub.apply(*promote2("sub", _t(a, "sub"), b))


def mul(a, b):
    """a · b elementwise with broadcasting."""
    return ew.Mul.apply(*promote2("mul", _t(a, "mul"), b))


def div(a, b):
    """a / b elementwise with broadcasting."""
    return ew.Div.apply(*promote2("div", _t(a, "div"), b, True))


def pow(a, b):
    """aᵇ elementwise with broadcasting."""
    return ew.Pow.apply(*promote2("pow", _t(a, "pow"), b))


def neg(x):
    """-x."""
    return ew.Neg.apply(_t(x, "neg"))


def abs(x):
    """Absolute value ``|x|``; the gradient at 0 is 0."""
    return ew.Abs.apply(_t(x, "abs"))


def exp(x):
    """eˣ.

    >>> import microgradnn as mg
    >>> mg.exp(mg.zeros(2))
    tensor([1., 1.])
    """
    return ew.Exp.apply(_t(x, "exp"))


def log(x):
    """Natural logarithm."""
    return ew.Log.apply(_t(x, "log"))


def sqrt(x):
    """Square root."""
    return ew.Sqrt.apply(_t(x, "sqrt"))


def sin(x):
    """Sine."""
    return ew.Sin.apply(_t(x, "sin"))


def cos(x):
    """Cosine."""
    return ew.Cos.apply(_t(x, "cos"))


def tanh(x):
    """Hyperbolic tangent."""
    return ew.Tanh.apply(_t(x, "tanh"))


def sigmoid(x):
    """1 / (1 + e⁻ˣ), computed without overflow.

    >>> import microgradnn as mg
    >>> mg.sigmoid(mg.tensor([0.0, -1000.0]))
    tensor([0.5, 0. ])
    """
    return ew.Sigmoid.apply(_t(x, "sigmoid"))


def relu(x):
    """max(x, 0); the gradient at 0 is 0.

    >>> import microgradnn as mg
    >>> mg.relu(mg.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return ew.Relu.apply(_t(x, "relu"))


def leaky_relu(x, negative_slope: float = 0.01):
    """x for x > 0, ``negative_slope``·x otherwise.

    >>> import microgradnn as mg
    >>> mg.leaky_relu(mg.tensor([-1.0, 2.0]), 0.1)
    tensor([-0.1,  2. ])
    """
    check_real("leaky_relu", "negative_slope", negative_slope)  # a complex slope: complex output
    return ew.LeakyRelu.apply(_t(x, "leaky_relu"), negative_slope=negative_slope)


def heaviside(x, values: float = 0.0):
    """The perceptron's step: 1 for x > 0, ``values`` at 0, 0 below; gradient 0.

    >>> import microgradnn as mg
    >>> mg.heaviside(mg.tensor([-1.0, 0.0, 2.0]))
    tensor([0., 0., 1.])
    """
    return ew.Heaviside.apply(_t(x, "heaviside"), values=values)


def clip(x, min=None, max=None):
    """Limit values to [min, max] (either may be None); gradient 1 inside, 0 outside.

    >>> import microgradnn as mg
    >>> mg.clip(mg.tensor([-2.0, 0.5, 3.0]), -1, 1)
    tensor([-1. ,  0.5,  1. ])
    """
    x = _t(x, "clip")
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    for bound in (min, max):
        if isinstance(bound, Tensor) and bound.requires_grad and is_grad_enabled():
            raise TypeError("clip: bounds that require grad are not differentiated; use "
                            "mg.maximum(x, lo) / mg.minimum(x, hi), or pass bound.detach()")
    if isinstance(min, Tensor):
        min = min.data
    if isinstance(max, Tensor):
        max = max.data
    for name, bound in (("min", min), ("max", max)):  # complex bounds: a complex result
        if isinstance(bound, np.ndarray):
            check_dtype("clip", bound.dtype, name)
        elif bound is not None:
            check_real("clip", name, bound)
    return ew.Clip.apply(x, min, max)


clamp = clip


def maximum(a, b):
    """Elementwise larger of a and b; ties share the gradient evenly."""
    return ew.Maximum.apply(*promote2("maximum", _t(a, "maximum"), b))


def minimum(a, b):
    """Elementwise smaller of a and b; ties share the gradient evenly."""
    return ew.Minimum.apply(*promote2("minimum", _t(a, "minimum"), b))


def where(condition, a, b):
    """``a`` where ``condition`` is true, else ``b`` (``condition`` is a bool tensor).

    >>> import microgradnn as mg
    >>> x = mg.tensor([-1.0, 2.0])
    >>> mg.where(x > 0, x, mg.zeros(2))
    tensor([0., 2.])
    """
    cond = check_tensor("where", "condition", condition).data
    if cond.dtype != np.bool_:     # as PyTorch: a string or a float mask is a mistake
        raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = tensor(a)
    return ew.Where.apply(cond, *promote2("where", a, b))


def masked_fill(x, mask, value):
    """``x`` with ``value`` where the bool ``mask`` is true; the result keeps ``x``'s dtype
    (PyTorch's ``masked_fill``). Differentiable in ``x`` and in a tensor ``value``.

    >>> import microgradnn as mg
    >>> mg.masked_fill(mg.zeros(3), mg.tensor([True, False, True]), 5.0)
    tensor([5., 0., 5.])
    """
    x = _t(x, "masked_fill")
    m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_fill: the mask must be a bool tensor, got dtype {m.dtype}")
    if isinstance(value, Tensor):
        if value.data.ndim:
            raise RuntimeError(f"masked_fill: value must be a number or a 0-d tensor, got a "
                               f"tensor of shape {value.shape}")
        value = value.astype(x.data.dtype)
    else:
        value = _make(np.asarray(value, dtype=x.data.dtype), False, None)
    try:
        np.broadcast_shapes(m.shape, x.shape)
    except ValueError:
        raise RuntimeError(f"masked_fill: the mask of shape {m.shape} does not broadcast to "
                           f"the tensor's shape {x.shape}") from None
    return ew.Where.apply(m, value, x)


from .._validate import check_real, check_tensor  # noqa: E402
from ..dtypes import check_kind as check_dtype  # noqa: E402
from ..autograd.grad_mode import is_grad_enabled  # noqa: E402
from ..tensor import Tensor, _make, _to_array, tensor  # noqa: E402
