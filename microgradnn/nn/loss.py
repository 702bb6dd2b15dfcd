"""Loss modules: ``nn.MSELoss()``, ``nn.CrossEntropyLoss()``, ... called as ``loss(input, target)``.

Each calls the function of the same name in :mod:`microgradnn.nn.functional`. Class
weights (``weight``, ``pos_weight``) are registered as buffers, so they appear in
``state_dict`` under PyTorch's keys.
"""
from __future__ import annotations

from ..tensor import Tensor, tensor
from .functional import loss as F
from .module import Module

__all__ = ["MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
           "BCEWithLogitsLoss", "HingeEmbeddingLoss", "MultiMarginLoss"]


def _as_tensor(value) -> Tensor | None:
    if value is None or isinstance(value, Tensor):
        return value
    return tensor(value)


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F._check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", _as_tensor(weight))


class MSELoss(_Loss):
    """Mean squared error, (x - y)² averaged (or summed, or per element).

    >>> import microgradnn as mg
    >>> mg.nn.MSELoss()(mg.tensor([1.0, 3.0]), mg.tensor([0.0, 0.0]))
    tensor(5.)
    """

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__(reduction)

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error ``|x - y|``.

    >>> import microgradnn as mg
    >>> mg.nn.L1Loss()(mg.tensor([1.0, -3.0]), mg.tensor([0.0, 0.0]))
    tensor(2.)
    """

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__(reduction)

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Huber loss: quadratic for ``|x - y| < delta``, linear beyond.

    >>> import microgradnn as mg
    >>> mg.nn.HuberLoss(delta=1.0)(mg.tensor([0.5, 3.0]), mg.zeros(2))
    tensor(1.3125)
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {delta!r}")
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, self.reduction, self.delta)

    def extra_repr(self) -> str:
        return ", ".join(s for s in (super().extra_repr(), f"delta={self.delta}") if s)


class SmoothL1Loss(_Loss):
    """Smooth L1 loss: ½d²/β for ``|d| < beta``, ``|d| - ½β`` beyond (d = x - y).

    >>> import microgradnn as mg
    >>> mg.nn.SmoothL1Loss(beta=1.0)(mg.tensor([0.5, 3.0]), mg.zeros(2))
    tensor(1.3125)
    """

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        if not beta >= 0:
            raise ValueError(f"SmoothL1Loss: beta must be non-negative, got {beta!r}")
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)

    def extra_repr(self) -> str:
        return ", ".join(s for s in (super().extra_repr(), f"beta={self.beta}") if s)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of logits (N, C) against class indices (N,) or class probabilities
    (N, C); softmax is applied inside, so the model outputs raw scores.

    >>> import microgradnn as mg
    >>> loss = mg.nn.CrossEntropyLoss()
    >>> loss(mg.zeros((2, 4)), mg.tensor([1, 3]))  # uniform guess: log 4
    tensor(1.3863)
    """

    def __init__(self, weight=None, *, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be between 0 and 1, "
                             f"got {label_smoothing!r}")
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log likelihood of log-probabilities (e.g. from ``nn.LogSoftmax(dim=1)``).

    >>> import microgradnn as mg
    >>> mg.nn.NLLLoss()(mg.tensor([[-0.5, -1.0]]), mg.tensor([1]))
    tensor(1.)
    """

    def __init__(self, weight=None, *, ignore_index: int = -100,
                 reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities (after a sigmoid) against targets in [0, 1].

    >>> import microgradnn as mg
    >>> mg.nn.BCELoss()(mg.tensor([0.5]), mg.tensor([1.0]))
    tensor(0.6931)
    """

    def __init__(self, weight=None, *, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Sigmoid and binary cross-entropy in one, stable for any logit.

    >>> import microgradnn as mg
    >>> mg.nn.BCEWithLogitsLoss()(mg.tensor([0.0]), mg.tensor([1.0]))
    tensor(0.6931)
    """

    def __init__(self, weight=None, *, reduction: str = "mean", pos_weight=None) -> None:
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", _as_tensor(pos_weight))

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class HingeEmbeddingLoss(_Loss):
    """x where y = 1 and max(0, margin - x) where y = -1.

    >>> import microgradnn as mg
    >>> mg.nn.HingeEmbeddingLoss()(mg.tensor([0.2, 0.2]), mg.tensor([1, -1]))
    tensor(0.5)
    """

    def __init__(self, margin: float = 1.0, *, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)

    def extra_repr(self) -> str:
        return ", ".join(s for s in (f"margin={self.margin}", super().extra_repr()) if s)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss: Σ_{j≠y} max(0, margin - x_y + x_j)^p / C.

    >>> import microgradnn as mg
    >>> mg.nn.MultiMarginLoss()(mg.tensor([[0.1, 0.2, 0.4, 0.8]]), mg.tensor([3]))
    tensor(0.325)
    """

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, *,
                 reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p = 1 and p = 2 are supported, got {p!r}")
        self.p = p
        self.margin = margin

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight,
                                   reduction=self.reduction)

    def extra_repr(self) -> str:
        return ", ".join(s for s in (f"p={self.p}, margin={self.margin}",
                                     super().extra_repr()) if s)
