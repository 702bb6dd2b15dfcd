"""Matrix product with NumPy's ``matmul`` semantics (1-D, 2-D and batched, broadcasting)."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function


class MatMul(Function):
    """y = a @ b;  ∂L/∂a = g @ bᵀ, ∂L/∂b = aᵀ @ g (1-D operands act as a row / column)."""

    __slots__ = ()
    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        a = np.asarray(a)
        b = np.asarray(b)
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes "
                             f"{a.shape} and {b.shape}")
        k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if a.shape[-1] != k_b:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned: "
                             f"{a.shape[-1]} != {k_b}")
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:          # dot product: y is a scalar (or batch)
            return (grad * b if need_a else None), (grad * a if need_b else None)
        if a.ndim == 1:                           # a is a row (1, k); g gains that axis
            g = grad.reshape(grad.shape[:-1] + (1,) + grad.shape[-1:])
            ga = (g @ b.swapaxes(-1, -2)).reshape(g.shape[:-2] + (a.shape[0],)) if need_a else None
            gb = a.reshape((a.shape[0], 1)) @ g if need_b else None
            return ga, gb
        if b.ndim == 1:                           # b is a column (k, 1)
            g = grad.reshape(grad.shape + (1,))
            ga = g @ b.reshape((1, b.shape[0])) if need_a else None
            gb = (a.swapaxes(-1, -2) @ g).reshape(a.shape[:-2] + (b.shape[0],)) if need_b else None
            return ga, gb
        ga = grad @ b.swapaxes(-1, -2) if need_a else None
        gb = a.swapaxes(-1, -2) @ grad if need_b else None
        return ga, gb


def matmul(a, b):
    """Matrix product with NumPy semantics; ``a @ b`` for tensors.

    >>> import microgradnn as mg
    >>> mg.matmul(mg.ones((2, 3)), mg.ones(3))
    tensor([3., 3.])
    """
    return MatMul.apply(a, b)
