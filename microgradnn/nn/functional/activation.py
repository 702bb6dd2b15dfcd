"""Activation functions: ``F.relu(x)``, ``F.gelu(x)``, ``F.softmax(x, dim=1)``, ...

Most are single operations of the core; ``elu`` and ``gelu`` are written in them
(``gelu``'s exact form uses the differentiable ``erf`` of :mod:`microgradnn.ops.special`).
"""
from __future__ import annotations

import math

from ... import ops
from ...ops import special
from ...ops._util import as_tensor
from ...tensor import Tensor
from ...autograd.scope import composite

__all__ = ["step", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softmax",
           "log_softmax"]


def step(input: Tensor) -> Tensor:
    """The perceptron's Heaviside step: 1 where x > 0, else 0 (gradient 0 everywhere).

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.step(mg.tensor([-1.0, 0.0, 2.0]))
    tensor([0., 0., 1.])
    """
    return ops.heaviside(as_tensor(input), 0.0)


def sigmoid(input: Tensor) -> Tensor:
    """σ(x) = 1 / (1 + e⁻ˣ), without overflow for any input.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.sigmoid(mg.tensor([0.0]))
    tensor([0.5])
    """
    return ops.sigmoid(as_tensor(input))


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.tanh(mg.tensor([0.0]))
    tensor([0.])
    """
    return ops.tanh(as_tensor(input))


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); the gradient at 0 is 0 (as PyTorch). ``inplace`` is accepted for
    PyTorch code and ignored: the result is always a new tensor.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.relu(mg.tensor([-2.0, 3.0]))
    tensor([0., 3.])
    """
    return ops.relu(as_tensor(input))


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, ``negative_slope``·x otherwise (``inplace`` is ignored).

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.leaky_relu(mg.tensor([-2.0, 3.0]), 0.1)
    tensor([-0.2,  3. ])
    """
    return ops.leaky_relu(as_tensor(input), negative_slope)


@composite
def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, α(eˣ - 1) otherwise; the slope at 0 is α (the left side), as PyTorch
    (``inplace`` is ignored).

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.elu(mg.tensor([-1.0, 2.0], dtype=mg.float64))
    tensor([-0.6321,  2.    ], dtype=float64)
    """
    x = as_tensor(input)
    pos = x.data > 0
    # exp only sees the non-positive side (no overflow, and no gradient leaks into x > 0).
    neg_part = ops.where(pos, 0.0, x).exp() - 1
    return ops.where(pos, x, neg_part * alpha)


@composite
def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit: x·Φ(x) = ½x(1 + erf(x/√2)) (``approximate='none'``) or
    ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (``approximate='tanh'``).

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.gelu(mg.tensor([-1.0, 0.0, 1.0], dtype=mg.float64))
    tensor([-0.1587,  0.    ,  0.8413], dtype=float64)
    """
    x = as_tensor(input)
    # x times Φ(x) ∈ [0, 1] last: x·(1 + erf)·½ would overflow at |x| > max/2.
    if approximate == "none":
        return x * ((special.erf(x * (1 / math.sqrt(2))) + 1) * 0.5)
    if approximate == "tanh":
        # tanh is ±1 to the last bit of float64 once |x| > 10 (its argument > 43), so the
        # cube sees x clipped there: it cannot overflow, and no 0·inf reaches the gradient.
        u = ops.clip(x, -_GELU_TANH_SATURATED, _GELU_TANH_SATURATED)
        inner = (u + u * u * u * 0.044715) * math.sqrt(2 / math.pi)
        return x * ((inner.tanh() + 1) * 0.5)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


_GELU_TANH_SATURATED = 10.0


def _dim(dim):
    return -1 if dim is None else dim


def softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """e^x / Σ e^x along ``dim`` (default: the last axis), stable for any finite input.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.softmax(mg.tensor([[0.0, 0.0]]), dim=1)
    tensor([[0.5, 0.5]])
    """
    return ops.softmax(as_tensor(input), _dim(dim))


def log_softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """log softmax along ``dim`` (default: the last axis): x - logsumexp(x).

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.log_softmax(mg.tensor([[0.0, 0.0]]), dim=1)
    tensor([[-0.6931, -0.6931]])
    """
    return ops.log_softmax(as_tensor(input), _dim(dim))


# ---------------------------------------------------------------------------- softplus family
# (PyTorch names; the stable primitives live in microgradnn.ops.special)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(βx))/β, and x itself where βx > ``threshold``, as PyTorch; finite and
    accurate for every finite input in float32 and float64 (no overflow at large x, no
    rounding to 0 at very negative x).

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.softplus(mg.tensor([-50.0, 0.0, 50.0]), beta=0.5)
    tensor([2.7776e-11, 1.3863e+00, 5.0000e+01])
    """
    beta, threshold = _softplus_args("softplus", beta, threshold)
    return special.softplus(as_tensor(input), beta, threshold)


def _softplus_args(op: str, beta, threshold) -> tuple[float, float]:
    for name, value in (("beta", beta), ("threshold", threshold)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__}")
    if beta == 0 or not math.isfinite(beta):
        raise ValueError(f"{op}: beta must be finite and nonzero (log(1 + e^(βx))/β "
                         f"divides by it), got {beta}")
    return float(beta), float(threshold)


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x) = -softplus(-x), finite for every finite input.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.logsigmoid(mg.tensor([-200.0, 0.0]))
    tensor([-200.    ,   -0.6931])
    """
    return special.logsigmoid(as_tensor(input))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x·σ(x) (also called swish). ``inplace`` is accepted for PyTorch code and ignored.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.silu(mg.tensor([0.0, 1.0]))
    tensor([0.    , 0.7311])
    """
    x = as_tensor(input)
    return x * ops.sigmoid(x)


__all__ += ["softplus", "logsigmoid", "silu"]
