"""Weight initialisers with PyTorch's names and formulas: ``nn.init.kaiming_uniform_(w)``.

Each function fills a tensor in place (its ``.data``, outside any graph), draws from the
library's generator (``mg.manual_seed`` seeds it, or pass ``generator=``) and returns the
tensor. Fans follow PyTorch: for a weight of shape ``(out, in, *kernel)``,
``fan_in = in · prod(kernel)`` and ``fan_out = out · prod(kernel)``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import creation
from ..autograd import no_grad
from ..tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]

_LINEAR_LIKE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which an activation scales the spread of its input, used by the
    Xavier and Kaiming initialisers: 1 for linear/conv/sigmoid, 5/3 for tanh, √2 for
    relu, √(2/(1 + slope²)) for leaky_relu (slope ``param``, default 0.01), 3/4 for selu.

    >>> from microgradnn import nn
    >>> round(nn.init.calculate_gain("relu"), 4), nn.init.calculate_gain("tanh")
    (1.4142, 1.6666666666666667)
    """
    if nonlinearity in _LINEAR_LIKE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one "
                     f"of {', '.join(_LINEAR_LIKE)}, tanh, relu, leaky_relu, selu")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel), as PyTorch computes them."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"init: fan in and fan out need a tensor with at least 2 dimensions "
                         f"(out, in, ...), got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor: Tensor, values) -> Tensor:
    """Write ``values`` into ``tensor.data`` in place (keeping its dtype)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init: expected a Tensor, got {type(tensor).__name__}")
    with no_grad():
        if tensor.data.flags.writeable:
            np.copyto(tensor.data, values, casting="unsafe")
            tensor._bump_version()  # an in-place write, as PyTorch's init functions are
        else:
            tensor.data = np.array(np.broadcast_to(values, tensor.shape), dtype=tensor.dtype)
    return tensor


def _rng(generator: np.random.Generator | None) -> np.random.Generator:
    return creation.generator() if generator is None else generator


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: np.random.Generator | None = None) -> Tensor:
    """Fill with samples from U(a, b).

    >>> import microgradnn as mg
    >>> w = mg.nn.init.uniform_(mg.zeros(1000), -1.0, 1.0)
    >>> bool((w.data >= -1).all() and (w.data < 1).all())
    True
    """
    return _fill(tensor, _rng(generator).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: np.random.Generator | None = None) -> Tensor:
    """Fill with samples from N(mean, std²).

    >>> import microgradnn as mg
    >>> mg.nn.init.normal_(mg.zeros(2, 3), std=0.5).shape
    (2, 3)
    """
    return _fill(tensor, _rng(generator).normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``.

    >>> import microgradnn as mg
    >>> mg.nn.init.constant_(mg.zeros(2), 0.5)
    tensor([0.5, 0.5])
    """
    return _fill(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros.

    >>> import microgradnn as mg
    >>> mg.nn.init.zeros_(mg.ones(2))
    tensor([0., 0.])
    """
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones.

    >>> import microgradnn as mg
    >>> mg.nn.init.ones_(mg.zeros(2))
    tensor([1., 1.])
    """
    return _fill(tensor, 1)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: np.random.Generator | None = None) -> Tensor:
    """Glorot/Xavier uniform: U(-a, a) with a = gain·√(6 / (fan_in + fan_out)).

    >>> import microgradnn as mg
    >>> w = mg.nn.init.xavier_uniform_(mg.zeros(3, 5))
    >>> bool(abs(w.data).max() <= 6 ** 0.5 / 8 ** 0.5)
    True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / max(fan_in + fan_out, 1))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: np.random.Generator | None = None) -> Tensor:
    """Glorot/Xavier normal: N(0, std²) with std = gain·√(2 / (fan_in + fan_out)).

    >>> import microgradnn as mg
    >>> mg.nn.init.xavier_normal_(mg.zeros(3, 5)).shape
    (3, 5)
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / max(fan_in + fan_out, 1))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: np.random.Generator | None = None) -> Tensor:
    """He/Kaiming uniform: U(-bound, bound) with bound = gain·√(3 / fan), where
    gain = calculate_gain(nonlinearity, a) and fan is ``fan_in`` or ``fan_out``.

    ``nn.Linear`` uses ``a=√5``, which makes bound = 1/√fan_in.

    >>> import math, microgradnn as mg
    >>> w = mg.nn.init.kaiming_uniform_(mg.zeros(10, 100), a=math.sqrt(5))
    >>> bool(abs(w.data).max() <= 0.1)
    True
    """
    fan = _fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    bound = gain * math.sqrt(3.0 / max(fan, 1))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: np.random.Generator | None = None) -> Tensor:
    """He/Kaiming normal: N(0, std²) with std = gain / √fan (see :func:`kaiming_uniform_`).

    >>> import microgradnn as mg
    >>> mg.nn.init.kaiming_normal_(mg.zeros(4, 3, 3, 3), nonlinearity="relu").shape
    (4, 3, 3, 3)
    """
    fan = _fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(max(fan, 1))
    return normal_(tensor, 0.0, std, generator)
