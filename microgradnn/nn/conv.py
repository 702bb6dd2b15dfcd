"""Convolution layers ``Conv1d`` and ``Conv2d`` with PyTorch's arguments, parameter shapes,
initialisation and ``state_dict`` keys: ``weight`` ``(out, in, *kernel)``, ``bias`` ``(out,)``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from . import init
from .functional import conv as F
from .module import Module, Parameter

__all__ = ["Conv1d", "Conv2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared body of Conv1d and Conv2d (``_nsp`` spatial axes)."""

    _nsp = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 *, dtype=None) -> None:
        super().__init__()
        name, n = type(self).__name__, self._nsp
        for arg, v in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"{name}: {arg} must be a positive int, got {v!r}")
        if groups != 1:
            raise ValueError(f"{name}: only groups=1 is supported, got groups={groups!r}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got "
                             f"{padding_mode!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = F._ntuple(name, "kernel_size", kernel_size, n, 1)
        self.stride = F._ntuple(name, "stride", stride, n, 1)
        self.dilation = F._ntuple(name, "dilation", dilation, n, 1)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"{name}: padding must be 'valid', 'same', an int or a tuple "
                                 f"of {n} ints, got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions (stride {self.stride})")
            self.padding = padding
        else:
            self.padding = F._ntuple(name, "padding", padding, n, 0)
        self.groups, self.padding_mode = 1, padding_mode
        dt = dtypes.get_default_dtype() if dtype is None else np.dtype(dtype)
        self.weight = Parameter(np.zeros((self.out_channels, self.in_channels)
                                         + self.kernel_size, dtype=dt))
        if bias:
            self.bias = Parameter(np.zeros(self.out_channels, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight and bias from U(±1/√fan_in), fan_in = in_channels·prod(kernel_size)
        (PyTorch: Kaiming uniform with a = √5)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_channels * math.prod(self.kernel_size))
            init.uniform_(self.bias, -bound, bound)

    def _explicit_padding(self) -> list[int]:
        """(left, right, top, bottom, ...) for ``F.pad`` when padding_mode is not 'zeros'."""
        if self.padding == "valid":
            pairs = [(0, 0)] * self._nsp
        elif self.padding == "same":
            tot = [d * (k - 1) for k, d in zip(self.kernel_size, self.dilation)]
            pairs = [(t // 2, t - t // 2) for t in tot]
        else:
            pairs = [(p, p) for p in self.padding]
        return [w for lo_hi in reversed(pairs) for w in lo_hi]

    def forward(self, input: Tensor) -> Tensor:
        conv = F.conv1d if self._nsp == 1 else F.conv2d
        if self.padding_mode != "zeros":
            x = F.pad(input, self._explicit_padding(), mode=self.padding_mode)
            return conv(x, self.weight, self.bias, self.stride, 0, self.dilation)
        return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._nsp:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nsp:
            s += f", dilation={self.dilation}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-d convolution layer: (N, C_in, L) or (C_in, L) -> (N, C_out, L_out).

    ``weight`` (out_channels, in_channels, kernel_size), ``bias`` (out_channels,), both
    from U(±1/√(in_channels·kernel_size)). ``padding``: int, tuple, ``'valid'`` or
    ``'same'``; ``padding_mode``: ``'zeros'`` (default), ``'reflect'``, ``'replicate'``
    or ``'circular'``. Only ``groups=1``.

    >>> import microgradnn as mg
    >>> conv = mg.nn.Conv1d(2, 4, 3, padding=1)
    >>> conv.weight.shape, conv(mg.zeros((8, 2, 10))).shape
    ((4, 2, 3), (8, 4, 10))
    """

    _nsp = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", *, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype=dtype)


class Conv2d(_ConvNd):
    """2-d convolution layer: (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, H_out, W_out),
    H_out = (H + 2·padding - dilation·(kH - 1) - 1) // stride + 1.

    ``weight`` (out_channels, in_channels, kH, kW), ``bias`` (out_channels,), both from
    U(±1/√(in_channels·kH·kW)). One set of weights per output map, shared across
    positions: ``Conv2d(1, 10, 3)`` has 10·9 + 10 = 100 parameters.

    >>> import microgradnn as mg
    >>> conv = mg.nn.Conv2d(1, 10, 3)
    >>> conv(mg.zeros((2, 1, 10, 10))).shape, sum(p.numel() for p in conv.parameters())
    ((2, 10, 8, 8), 100)
    """

    _nsp = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", *, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype=dtype)
