"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d`` and ``LayerNorm``.

Parameters (``weight``, ``bias``) and buffers (``running_mean``, ``running_var``,
``num_batches_tracked``) have PyTorch's names, shapes and starting values.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..tensor import Tensor, _make
from .._validate import check_tensor
from .functional import layers as F
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]


def _dtype(dtype) -> np.dtype:
    return dtypes.get_default_dtype() if dtype is None else np.dtype(dtype)


class _BatchNorm(Module):
    """Shared body of BatchNorm1d/2d; subclasses say which input ranks they accept."""

    _ranks: tuple[int, ...] = ()
    _layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *, bias: bool = True,
                 dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) \
                or num_features <= 0:
            raise ValueError(f"{name}: num_features must be a positive int, got {num_features!r}")
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dt = _dtype(dtype)
        c = self.num_features
        self._has_bias = affine and bias
        if affine:
            self.weight = Parameter(np.ones(c, dtype=dt))
            if bias:
                self.bias = Parameter(np.zeros(c, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", _make(np.zeros(c, dtype=dt), False, None))
            self.register_buffer("running_var", _make(np.ones(c, dtype=dt), False, None))
            self.register_buffer("num_batches_tracked",
                                 _make(np.zeros((), dtype=np.int64), False, None))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self) -> None:
        """Reset the running statistics and set weight to 1, bias to 0."""
        self.reset_running_stats()
        if self.weight is not None:
            self.weight.data[...] = 1
        if self.bias is not None:
            self.bias.data[...] = 0

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        input = check_tensor(name, "input", input)
        if input.ndim not in self._ranks:
            raise ValueError(f"{name}: expected input of shape {self._layout}, got shape "
                             f"{input.shape}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{name}: input has {input.shape[1]} channels, expected "
                             f"num_features={self.num_features} (input shape {input.shape})")
        use_batch_stats = self.training or not self.track_running_stats
        update = self.training and self.track_running_stats
        factor = 0.0 if self.momentum is None else self.momentum
        if update and self.momentum is None:
            # momentum=None: a cumulative (equal-weight) average over all batches
            factor = 1.0 / (int(self.num_batches_tracked.data) + 1)
        keep = update or not use_batch_stats
        out = F.batch_norm(input, self.running_mean if keep else None,
                           self.running_var if keep else None,
                           self.weight, self.bias, use_batch_stats, factor, self.eps)
        if update:
            self.num_batches_tracked.data[...] += 1
        return out

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self._has_bias}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over a batch of vectors (N, C) or of sequences (N, C, L):
    each of the C features is normalised with the statistics of the batch in training
    and with the running estimates in evaluation, then scaled by ``weight`` and shifted
    by ``bias`` (shape (C,)).

    >>> import microgradnn as mg
    >>> bn = mg.nn.BatchNorm1d(2)
    >>> y = bn(mg.tensor([[1.0, 10.0], [3.0, 30.0]]))
    >>> y.data.round(3).tolist(), bn.running_mean.tolist()
    ([[-1.0, -1.0], [1.0, 1.0]], [0.2, 2.0])
    """

    _ranks = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images (N, C, H, W): per channel, over N, H and W.

    >>> import microgradnn as mg
    >>> mg.nn.BatchNorm2d(3)(mg.randn(4, 3, 5, 5)).shape
    (4, 3, 5, 5)
    """

    _ranks = (4,)
    _layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Normalise each sample over its last dimensions (``normalized_shape``), then scale
    and shift elementwise by ``weight`` and ``bias`` of that shape.

    >>> import microgradnn as mg
    >>> ln = mg.nn.LayerNorm(4)
    >>> ln(mg.randn(2, 3, 4)).shape, ln.weight.shape
    ((2, 3, 4), (4,))
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, *, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = F._normalized_shape("LayerNorm", normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dt = _dtype(dtype)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dt))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        """weight 1, bias 0."""
        if self.weight is not None:
            self.weight.data[...] = 1
        if self.bias is not None:
            self.bias.data[...] = 0

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")
