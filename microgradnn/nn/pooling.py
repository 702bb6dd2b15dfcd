"""Pooling layers: ``MaxPool1d/2d``, ``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d`` (PyTorch's
arguments and defaults; no parameters). The functions live in ``nn.functional``.
"""
from __future__ import annotations

from .._validate import check_shape
from ..tensor import Tensor
from .functional import conv as F
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d"]


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        for arg, value in (("kernel_size", kernel_size), ("stride", stride),
                           ("padding", padding), ("dilation", dilation)):
            if value is not None:       # checked now, not at the first forward call
                check_shape(name, arg, value)
        if 0 in check_shape(name, "kernel_size", kernel_size):
            raise ValueError(f"{name}: kernel_size must be positive, got {kernel_size!r}")
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Maximum over windows of (N, C, L) or (C, L); ``stride`` defaults to ``kernel_size``.

    >>> import microgradnn as mg
    >>> mg.nn.MaxPool1d(2)(mg.tensor([[[1.0, 3.0, 2.0, 0.0]]]))
    tensor([[[3., 2.]]])
    """

    def forward(self, input: Tensor):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """Maximum over kH×kW windows of (N, C, H, W) or (C, H, W); ``stride`` defaults to
    ``kernel_size``. The gradient goes to the first maximum of each window.

    >>> import microgradnn as mg
    >>> mg.nn.MaxPool2d(2)(mg.arange(16.0).reshape(1, 4, 4))
    tensor([[[ 5.,  7.],
             [13., 15.]]])
    """

    def forward(self, input: Tensor):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class AvgPool1d(Module):
    """Mean over windows of (N, C, L) or (C, L); ``stride`` defaults to ``kernel_size``.

    >>> import microgradnn as mg
    >>> mg.nn.AvgPool1d(2)(mg.tensor([[[1.0, 3.0, 2.0, 0.0]]]))
    tensor([[[2., 1.]]])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over kH×kW windows of (N, C, H, W) or (C, H, W); ``stride`` defaults to
    ``kernel_size``.

    >>> import microgradnn as mg
    >>> mg.nn.AvgPool2d(2)(mg.ones((1, 3, 4, 4))).shape
    (1, 3, 2, 2)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    """Average (N, C, L) down to (N, C, output_size), whatever L is.

    >>> import microgradnn as mg
    >>> mg.nn.AdaptiveAvgPool1d(1)(mg.ones((2, 3, 7))).shape
    (2, 3, 1)
    """

    def __init__(self, output_size: int) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(Module):
    """Average (N, C, H, W) down to ``(N, C, *output_size)``, whatever H and W are (window i
    of an axis of length n covers [floor(i·n/out), ceil((i+1)·n/out))). ``(1, 1)`` is the
    global average pool of ResNet heads.

    >>> import microgradnn as mg
    >>> mg.nn.AdaptiveAvgPool2d((1, 1))(mg.ones((2, 64, 7, 7))).shape
    (2, 64, 1, 1)
    """

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
