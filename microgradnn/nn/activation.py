"""Activation layers: ``nn.ReLU()``, ``nn.Sigmoid()``, ``nn.Step()``, ... (no parameters).

Each module calls the function of the same name in :mod:`microgradnn.nn.functional`.
``inplace=True`` is accepted for compatibility with PyTorch code; the result is always a
new tensor (the graph keeps the input, so it cannot be overwritten).
"""
from __future__ import annotations

from .functional import activation as F
from .module import Module

__all__ = ["Step", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softmax",
           "LogSoftmax"]


class Step(Module):
    """The perceptron's step (Heaviside): 1 where x > 0, else 0.

    >>> import microgradnn as mg
    >>> mg.nn.Step()(mg.tensor([-0.5, 0.0, 0.5]))
    tensor([0., 0., 1.])
    """

    def forward(self, input):
        return F.step(input)


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e⁻ˣ).

    >>> import microgradnn as mg
    >>> mg.nn.Sigmoid()(mg.zeros(2))
    tensor([0.5, 0.5])
    """

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """tanh(x).

    >>> import microgradnn as mg
    >>> mg.nn.Tanh()(mg.zeros(2))
    tensor([0., 0.])
    """

    def forward(self, input):
        return F.tanh(input)


class ReLU(Module):
    """max(x, 0).

    >>> import microgradnn as mg
    >>> mg.nn.ReLU()(mg.tensor([-1.0, 1.0]))
    tensor([0., 1.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x for x > 0, ``negative_slope``·x otherwise.

    >>> import microgradnn as mg
    >>> mg.nn.LeakyReLU(0.1)(mg.tensor([-1.0, 1.0]))
    tensor([-0.1,  1. ])
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x for x > 0, α(eˣ - 1) otherwise.

    >>> import microgradnn as mg
    >>> mg.nn.ELU()(mg.tensor([0.0, 1.0]))
    tensor([0., 1.])
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """x·Φ(x), exactly (``approximate='none'``) or with the tanh formula (``'tanh'``).

    >>> import microgradnn as mg
    >>> mg.nn.GELU()(mg.tensor([0.0]))
    tensor([0.])
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """Softmax along ``dim`` (None means the last axis).

    >>> import microgradnn as mg
    >>> mg.nn.Softmax(dim=1)(mg.zeros((1, 4)))
    tensor([[0.25, 0.25, 0.25, 0.25]])
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log softmax along ``dim`` (None means the last axis).

    >>> import microgradnn as mg
    >>> mg.nn.LogSoftmax(dim=1)(mg.zeros((1, 2)))
    tensor([[-0.6931, -0.6931]])
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.log_softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softplus(Module):
    """log(1 + e^(βx))/β, linear where βx > ``threshold`` (PyTorch's defaults β=1, 20);
    stable for every finite input.

    >>> import microgradnn as mg
    >>> mg.nn.Softplus()(mg.tensor([0.0, 100.0]))
    tensor([  0.6931, 100.    ])
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        F._softplus_args("Softplus", beta, threshold)
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class LogSigmoid(Module):
    """log σ(x), stable for every finite input.

    >>> import microgradnn as mg
    >>> mg.nn.LogSigmoid()(mg.tensor([0.0]))
    tensor([-0.6931])
    """

    def forward(self, input):
        return F.logsigmoid(input)


class SiLU(Module):
    """x·σ(x). ``inplace`` is accepted for PyTorch code and ignored.

    >>> import microgradnn as mg
    >>> mg.nn.SiLU()(mg.tensor([1.0]))
    tensor([0.7311])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.silu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


__all__ += ["Softplus", "LogSigmoid", "SiLU"]
