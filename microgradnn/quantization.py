"""Post-training int8 quantisation of ``nn.Linear`` layers, for inference.

Weights are stored as int8 with one float scale per output channel (row):
``scale_c = max|W_c| / 127`` and ``q = round(W / scale_c)`` in [-127, 127], symmetric, so
0 stays exactly 0 (pruned weights stay pruned). At run time each input row (sample) gets
its own scale ``max|x| / 127`` (dynamic quantisation: no calibration data needed), the
product of the int8 matrices is accumulated in int32, and the result is scaled back to
float and the float bias added:

    y ≈ (q_x @ q_Wᵀ) · (s_x · s_W) + b

This is the arithmetic of ``torch.ao.quantization.quantize_dynamic`` with per-channel
weights, except that activations here are symmetric int8 with a scale per row (PyTorch
uses asymmetric uint8 with one zero point and scale per tensor), so the numbers are close
to PyTorch's, not identical. Quantised layers
are for inference only: they record no graph.

>>> import microgradnn as mg
>>> from microgradnn.quantization import quantize_dynamic
>>> model = mg.nn.Sequential(mg.nn.Linear(4, 3), mg.nn.ReLU(), mg.nn.Linear(3, 2))
>>> q = quantize_dynamic(model)
>>> type(q[0]).__name__, q[0].weight_int8.dtype, q(mg.ones((5, 4))).shape
('QuantizedLinear', dtype('int8'), (5, 2))
"""
from __future__ import annotations

import copy

import numpy as np

from . import nn
from .tensor import Tensor, tensor

__all__ = ["QuantizedLinear", "quantize_per_channel", "quantize_dynamic", "model_size_bytes"]

QMAX = 127
_INT32_MAX = np.iinfo(np.int32).max


def quantize_per_channel(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per row: (q int8 (out, in), scales float32 (out,)); a row of zeros
    gets scale 1 (any scale represents it exactly)."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"quantize_per_channel: expected a 2-D weight (out, in), got shape "
                         f"{w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("quantize_per_channel: the weight has NaN or infinite entries")
    peak = np.abs(w).max(axis=1)
    scale = np.where(peak > 0, peak / QMAX, 1.0)
    q = np.clip(np.rint(w / scale[:, None]), -QMAX, QMAX).astype(np.int8)
    return q, scale.astype(np.float32)


def _quantize_input(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 with one scale per row (per sample): (q int8, scales (..., 1))."""
    if not np.isfinite(x).all():
        raise ValueError("QuantizedLinear: the input has NaN or infinite entries")
    peak = np.abs(x).max(axis=-1, keepdims=True) if x.shape[-1] else np.zeros(x.shape[:-1] + (1,))
    scale = np.where(peak > 0, peak / QMAX, 1.0).astype(np.float32)
    return np.clip(np.rint(x / scale), -QMAX, QMAX).astype(np.int8), scale


class QuantizedLinear(nn.Module):
    """Inference-only int8 version of an ``nn.Linear``: buffers ``weight_int8`` (out, in),
    ``weight_scale`` (out,) and the float ``bias``. Input (*, in) float → output (*, out)
    float32."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"QuantizedLinear: expected an nn.Linear, got "
                            f"{type(linear).__name__}")
        self.in_features, self.out_features = linear.in_features, linear.out_features
        if self.in_features * QMAX * QMAX > _INT32_MAX:
            # the int32 sum of in_features products of two int8 values could overflow
            raise ValueError(f"QuantizedLinear: in_features={self.in_features} is too large "
                             f"for int32 accumulation (at most {_INT32_MAX // QMAX ** 2})")
        q, scale = quantize_per_channel(linear.weight.data)
        self.register_buffer("weight_int8", tensor(q))
        self.register_buffer("weight_scale", tensor(scale))
        bias = None if linear.bias is None else tensor(linear.bias.data.astype(np.float32))
        self.register_buffer("bias", bias)

    def forward(self, input: Tensor) -> Tensor:
        x = input.data if isinstance(input, Tensor) else np.asarray(input)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"QuantizedLinear: input feature size "
                             f"{x.shape[-1] if x.ndim else 'none'} != in_features "
                             f"{self.in_features} (input shape {x.shape})")
        qx, sx = _quantize_input(x)
        acc = np.matmul(qx.astype(np.int32), self.weight_int8.data.T.astype(np.int32))
        y = acc.astype(np.float32) * (sx * self.weight_scale.data)
        if self.bias is not None:
            y += self.bias.data
        return tensor(y)

    def dequantized_weight(self) -> np.ndarray:
        """The float weight the int8 values stand for: q · scale."""
        return self.weight_int8.data.astype(np.float32) * self.weight_scale.data[:, None]

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"int8 per-channel")


def quantize_dynamic(model: nn.Module, qconfig_spec=None, dtype="qint8",
                     inplace: bool = False) -> nn.Module:
    """A copy of ``model`` (or ``model`` itself with ``inplace=True``) whose ``nn.Linear``
    layers are :class:`QuantizedLinear` (PyTorch's name and arguments; only
    ``{nn.Linear}`` and ``'qint8'`` are supported)."""
    if qconfig_spec not in (None, {nn.Linear}, (nn.Linear,), [nn.Linear]):
        raise ValueError(f"quantize_dynamic: only {{nn.Linear}} layers can be quantised, got "
                         f"qconfig_spec={qconfig_spec!r}")
    if dtype not in ("qint8", np.int8):
        raise ValueError(f"quantize_dynamic: only dtype 'qint8' is supported, got {dtype!r}")
    if isinstance(model, nn.Linear):
        return QuantizedLinear(model)
    target = model if inplace else copy.deepcopy(model)
    for parent in list(target.modules()):
        for name, child in list(parent._modules.items()):
            if isinstance(child, nn.Linear):
                setattr(parent, name, QuantizedLinear(child))
    return target


def model_size_bytes(model: nn.Module) -> int:
    """Bytes of every parameter and buffer in ``state_dict`` (what a checkpoint stores)."""
    return int(sum(t.data.nbytes for t in model.state_dict().values()))
