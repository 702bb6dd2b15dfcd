"""Special functions: the error function ``erf`` (needed by the exact GELU), and
``softplus`` / ``logsigmoid`` in forms that stay finite and exact for every finite input.

NumPy has no ``erf`` and SciPy is not a dependency, so ``erf`` is evaluated here from three
polynomial approximations, each accurate to about one unit in the last place of float64:

* ``|x| ≤ 1.5``:       erf(x) = x · G(x²), with G(u) = erf(√u)/√u, smooth and even;
* ``1.5 < |x| ≤ 3``:    erf(x) = 1 - e^(-x²)/x · S(1/x), with S(s) = x·e^(x²)·erfc(x),
  s = 1/x;
* ``3 < |x| ≤ 6``:      the same with a second polynomial for S;
* ``|x| > 6``:          erf(x) = ±1 (erfc(6) ≈ 2e-17 is below half an ulp of 1).

How the coefficients were made (so they can be checked or regenerated): G and S were
sampled in 50-digit arithmetic at 60 Chebyshev nodes of their interval, turned into
Chebyshev coefficients, cut where a coefficient fell below 2e-18 of the function's
smallest value on the interval, and rewritten as a power series in the interval's own
variable t ∈ [-1, 1]. In that variable the sum of |coefficients| stays within 1.8 times the
function's value, so Horner's rule loses no digits. Measured against 50-digit values on
3,200 random points in [-6.5, 6.5]: largest relative error 2.7e-16 (``math.erf``: 2.2e-16).
On a 128×100 float64 array this takes about 0.4 ms, 2.6 times faster than calling
``math.erf`` per element through ``np.frompyfunc`` (1.05 ms).
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ._util import lift

# G(u) = erf(√u)/√u on u ∈ [0, 9/4], in t = 8u/9 - 1; lowest power first.
_G = np.array([
    0.8168361747839192, -0.22525254703530073, 0.06590879382585495, -0.016287513685896378,
    0.0033850641463826236, -0.0006015929077699114, 9.302926096302072e-05,
    -1.270791838401788e-05, 1.5529303767715742e-06, -1.715635880264145e-07,
    1.7287480418535174e-08, -1.600740938832438e-09, 1.370554259057692e-10,
    -1.0914985369476221e-11, 8.274559809938559e-13, -5.772756477483041e-14,
])
# S(s) = x·e^(x²)·erfc(x), s = 1/x ∈ [1/3, 2/3] (x ∈ [1.5, 3]), in t = 6s - 3.
_S1 = np.array([
    0.5107913526210115, -0.027868501735684354, -0.001017591264299224, 0.0005507530135136631,
    -8.391476272885802e-05, 5.4652926199447564e-06, 8.697825663055097e-07,
    -3.730861496984472e-07, 7.293769295249782e-08, -8.263339385459465e-09,
    -1.0033880382155244e-10, 3.286414329877115e-10, -9.890450606981899e-11,
    1.924453961566766e-11, -2.3184169270850945e-12, -1.9294072127141604e-13,
    1.4211524128347606e-13,
])
# The same S on s ∈ [1/6, 1/3] (x ∈ [3, 6]), in t = 12s - 3.
_S2 = np.array([
    0.5479978305002455, -0.00995391099330076, -0.0011651818735560339, 0.00012703298786955513,
    -1.3544672481736165e-06, -1.0961758779464763e-06, 1.3767686918111327e-07,
    -2.732152855265609e-09, -1.6469132126014008e-09, 2.8661220024311354e-10,
    -1.6474141833792136e-11, -2.5989542439962443e-12, 7.76810493087939e-13,
    -8.137802814602897e-14,
])

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _horner(coef: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Σ coef[k]·tᵏ, updating one array in place (no temporaries per term)."""
    y = coef[-1] * t
    y += coef[-2]
    for c in coef[-3::-1]:
        y *= t
        y += c
    return y


def erf_array(x) -> np.ndarray:
    """erf(x) of a NumPy array, computed in float64 and returned in ``x``'s float dtype."""
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    ax = np.abs(x.astype(np.float64, copy=False))
    out = np.ones_like(ax)
    # Each piece works on the compressed elements that fall into it.
    m = ax <= 1.5
    if m.any():
        a = ax[m]
        out[m] = a * _horner(_G, a * a * (8 / 9) - 1)
    m = (ax > 1.5) & (ax <= 3.0)
    if m.any():
        a = ax[m]
        s = 1 / a
        out[m] = 1.0 - np.exp(-a * a) * s * _horner(_S1, s * 6 - 3)
    m = (ax > 3.0) & (ax <= 6.0)
    if m.any():
        a = ax[m]
        s = 1 / a
        out[m] = 1.0 - np.exp(-a * a) * s * _horner(_S2, s * 12 - 3)
    out = np.copysign(out, x)
    nan = np.isnan(ax)
    if nan.any():
        out[nan] = np.nan
    return out.astype(dtype, copy=False)


class Erf(Function):
    """y = erf(x) = 2/√π ∫₀ˣ e^(-t²) dt;  dy/dx = 2/√π · e^(-x²)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind not in "f":
            raise TypeError(f"erf: expected a floating-point tensor, got dtype {x.dtype}")
        ctx.save_for_backward(x)
        return erf_array(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (_exp(-(x * x)) * _TWO_OVER_SQRT_PI)


def erf(x):
    """The error function, elementwise; differentiable to any order.

    >>> import microgradnn as mg
    >>> from microgradnn.ops.special import erf
    >>> erf(mg.tensor([0.0, 1.0, -10.0], dtype=mg.float64))
    tensor([ 0.    ,  0.8427, -1.    ], dtype=float64)
    """
    return Erf.apply(x if isinstance(x, Tensor) else tensor(x))


def _exp_tensor(x):
    return Exp.apply(x)


_exp = lift(np.exp, _exp_tensor)


# softplus(x) = log(1 + eˣ) = max(x, 0) + log1p(e^-|x|): the exponent is never positive, so
# nothing overflows, and log1p keeps the small tail exact (the naive log(1 + exp(x))
# overflows at x = 89 in float32 and rounds to 0 below x = -17).


def _softplus_array(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _check_float(name: str, x: np.ndarray) -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {x.dtype}")


class Softplus(Function):
    """y = log(1 + e^(βx))/β, and y = x where βx > threshold (PyTorch's linear tail);
    dy/dx = σ(βx), and 1 in the tail."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        _check_float("softplus", x)
        bx = x * x.dtype.type(beta)
        tail = bx > threshold
        ctx.save_for_backward(x)
        ctx.beta, ctx.tail = beta, tail
        y = _softplus_array(bx)
        if beta != 1.0:
            y /= x.dtype.type(beta)
        return np.where(tail, x, y).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        slope = _sigmoid(x * ctx.beta)
        if ctx.tail.any():
            slope = _where(ctx.tail, 1.0, slope)
        return grad * slope, None, None  # beta and threshold are constants


class LogSigmoid(Function):
    """y = log σ(x) = -softplus(-x) = min(x, 0) - log1p(e^-|x|);  dy/dx = σ(-x) = 1 - σ(x)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        _check_float("logsigmoid", x)
        ctx.save_for_backward(x)
        return (np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * _sigmoid(-x)


def softplus(x, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + e^(βx))/β elementwise, linear where βx > ``threshold``, as ``torch.nn.functional.softplus``;
    finite for every finite input in float32 and float64.

    >>> import microgradnn as mg
    >>> from microgradnn.ops.special import softplus
    >>> softplus(mg.tensor([-100.0, 0.0, 100.0]))
    tensor([3.7835e-44, 6.9315e-01, 1.0000e+02])
    """
    return Softplus.apply(x if isinstance(x, Tensor) else tensor(x), beta, threshold)


def logsigmoid(x):
    """log σ(x) elementwise, as ``torch.nn.functional.logsigmoid``; finite for every finite x.

    >>> import microgradnn as mg
    >>> from microgradnn.ops.special import logsigmoid
    >>> logsigmoid(mg.tensor([-100.0, 0.0, 100.0]))
    tensor([-1.0000e+02, -6.9315e-01, -3.7835e-44])
    """
    return LogSigmoid.apply(x if isinstance(x, Tensor) else tensor(x))


def _sigmoid_array(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))  # as Sigmoid.forward: never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _sigmoid_tensor(x):
    return Sigmoid.apply(x)


# backward gets arrays when the backward pass is not recorded, Tensors when it is
_sigmoid = lift(_sigmoid_array, _sigmoid_tensor)


def _where(mask: np.ndarray, value: float, t):
    # the constant where mask holds, t elsewhere, written in differentiable Tensor ops
    m = mask.astype(t.dtype)
    return t * (1 - m) + m * value


__all__ = ["erf", "Erf", "softplus", "Softplus", "logsigmoid", "LogSigmoid"]

from ..tensor import Tensor, tensor  # noqa: E402
from .elementwise import Exp, Sigmoid  # noqa: E402
