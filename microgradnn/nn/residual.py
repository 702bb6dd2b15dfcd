"""Skip connections: ``Residual(module)`` computes x + module(x); ``ResidualBlock`` is
ResNet's basic block, with torchvision's attribute names (``conv1, bn1, relu, conv2, bn2,
downsample``) so its ``state_dict`` keys match ``torchvision.models.resnet.BasicBlock``.

The layers inside learn the residual F(x) = H(x) - x; the identity path carries the signal
and its gradient straight through, which is what lets very deep networks train.
"""
from __future__ import annotations

from ..tensor import Tensor
from .activation import ReLU
from .conv import Conv2d
from .module import Module, Sequential
from .normalization import BatchNorm2d

__all__ = ["Residual", "ResidualBlock"]


class Residual(Module):
    """y = x + module(x); ``module`` must keep the shape of its input.

    >>> import microgradnn as mg
    >>> block = mg.nn.Residual(mg.nn.Linear(4, 4))
    >>> block(mg.zeros((2, 4))).shape, [name for name, _ in block.named_parameters()]
    ((2, 4), ['module.weight', 'module.bias'])
    """

    def __init__(self, module: Module) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"Residual: expected a Module, got {type(module).__name__}")
        self.module = module

    def forward(self, x: Tensor) -> Tensor:
        y = self.module(x)
        if y.shape != x.shape:
            raise ValueError(f"Residual: the wrapped {type(self.module).__name__} changed the "
                             f"shape from {x.shape} to {y.shape}; x + module(x) needs the same "
                             "shape")
        return x + y


class ResidualBlock(Module):
    """ResNet basic block on (N, C_in, H, W) -> (N, C_out, H/stride, W/stride):
    relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), 3×3 convolutions with padding 1
    and no bias. The shortcut is the identity when ``stride == 1`` and the channel counts
    agree, else ``downsample`` = 1×1 convolution (stride, no bias) + BatchNorm2d.
    ``dtype`` (keyword) sets the dtype of every parameter and buffer.

    >>> import microgradnn as mg
    >>> block = mg.nn.ResidualBlock(16, 32, stride=2)
    >>> block(mg.zeros((2, 16, 8, 8))).shape, block.downsample is not None
    ((2, 32, 4, 4), True)
    """

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *,
                 dtype=None) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False,
                            dtype=dtype)
        self.bn1 = BatchNorm2d(out_channels, dtype=dtype)
        self.relu = ReLU()
        self.conv2 = Conv2d(out_channels, out_channels, 3, padding=1, bias=False, dtype=dtype)
        self.bn2 = BatchNorm2d(out_channels, dtype=dtype)
        if stride != 1 or in_channels != out_channels:
            self.downsample = Sequential(
                Conv2d(in_channels, out_channels, 1, stride=stride, bias=False, dtype=dtype),
                BatchNorm2d(out_channels, dtype=dtype))
        else:
            self.downsample = None

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)
