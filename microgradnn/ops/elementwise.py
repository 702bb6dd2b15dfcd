"""Elementwise operations: arithmetic, unary functions, activations, clip and friends.

Binary operations broadcast like NumPy; their backward returns gradients of the output's
(broadcast) shape and the engine sums them down to each input's shape.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ._util import data, floating, lift


class Add(Function):
    """y = a + b;  dy/da = 1, dy/db = 1."""

    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        return np.add(a, b)

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    """y = a - b;  dy/da = 1, dy/db = -1."""

    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """y = a · b;  dy/da = b, dy/db = a."""

    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        # a is needed only for b's gradient: not kept when b is a Python number (as in
        # PyTorch), so writing to a later does not fail the backward of a * 2
        ctx.save_for_backward(a if type(b) is np.ndarray else None,
                              b if type(a) is np.ndarray else None)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    """y = a / b;  dy/da = 1/b, dy/db = -a/b² (computed as -(a/b)/b).

    Saves the inputs, not the output: after ``y /= b`` the output's memory is written
    again by later in-place operations, the inputs are not (PyTorch saves these too).
    """

    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.true_divide(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        ga = grad / b if need_a else None
        # (a / b) / b as PyTorch: b * b would overflow or underflow where the quotients do not
        gb = -grad * (a / b) / b if need_b else None
        return ga, gb


class Pow(Function):
    """y = aᵇ;  dy/da = b·aᵇ⁻¹, dy/db = aᵇ·ln a (both 0 at a = 0 where the formula has 0·∞).

    aᵇ is recomputed for dy/db rather than saved (see Div: inputs, not the output).
    """

    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.power(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        ad, bd = data(a), data(b)
        ga = gb = None
        # At a = 0 the formulas meet 0·∞: the limits (PyTorch's values) are 0 there.
        with np.errstate(divide="ignore", invalid="ignore"):
            if need_a:
                ga = grad * b * a ** (b - 1)
                zero_both = np.equal(ad, 0) & np.equal(bd, 0)  # 0·0⁻¹
                if np.any(zero_both):
                    ga = where(zero_both, 0.0, ga)
            if need_b:
                gb = grad * a ** b * log(a)
                zero_base = np.equal(ad, 0) & np.greater_equal(bd, 0)
                if np.any(zero_base):
                    gb = where(zero_base, 0.0, gb)
        return ga, gb


class Neg(Function):
    """y = -x;  dy/dx = -1."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        return np.negative(x)

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Abs(Function):
    """y = |x|;  dy/dx = sign(x) (0 at x = 0)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * np.sign(data(x))


class Exp(Function):
    """y = eˣ;  dy/dx = y."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        x = floating(x)
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y


class Log(Function):
    """y = ln x;  dy/dx = 1/x."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        x = floating(x)
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class Sqrt(Function):
    """y = √x;  dy/dx = 1/(2y)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        x = floating(x)
        y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad / (2 * y)


class Sin(Function):
    """y = sin x;  dy/dx = cos x."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        x = floating(x)
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * cos(x)


class Cos(Function):
    """y = cos x;  dy/dx = -sin x."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        x = floating(x)
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * sin(x)


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 - y²."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        x = floating(x)
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y * y)


class Sigmoid(Function):
    """y = σ(x) = 1/(1 + e⁻ˣ);  dy/dx = y(1 - y)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        x = floating(x)
        # e^-|x| never overflows; each branch divides by a number in [1, 2].
        e = np.exp(-np.abs(x))
        y = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(np.result_type(x, e), copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (y * (1 - y))


class Relu(Function):
    """y = max(x, 0);  dy/dx = 1 if x > 0 else 0 (0 at x = 0)."""

    array_backward = True
    op_name = "relu"

    #: NumPy's maximum against a Python 0 runs a scalar loop; against an array of zeros it
    #: runs its SIMD loop, 2-3x faster (float32, 9.4 MB: 0.70 -> 0.21 ms) and bit for bit the
    #: same (NaN stays NaN, -0.0 gives 0.0). Large float arrays are split into rows of
    #: this length and compared with one shared, read-only block of zeros.
    _ROW = 16384
    _zero_rows: dict = {}

    @staticmethod
    def forward(ctx, x):
        y = Relu._max0(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def _max0(x):
        """np.maximum(x, 0), faster for large contiguous float arrays."""
        n = Relu._ROW
        if not (type(x) is np.ndarray and x.dtype.kind == "f" and x.size >= n
                and x.flags.c_contiguous):
            return np.maximum(x, 0)
        zeros = Relu._zero_rows.get(x.dtype)
        if zeros is None:
            zeros = np.zeros(n, dtype=x.dtype)
            zeros.flags.writeable = False
            Relu._zero_rows[x.dtype] = zeros
        y = np.empty_like(x)
        flat, out = x.reshape(-1), y.reshape(-1)
        cut = flat.size // n * n
        np.maximum(flat[:cut].reshape(-1, n), zeros, out=out[:cut].reshape(-1, n))
        np.maximum(flat[cut:], 0, out=out[cut:])
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (data(y) > 0)


class LeakyRelu(Function):
    """y = x if x > 0 else αx;  dy/dx = 1 if x > 0 else α."""

    __slots__ = ("slope",)
    array_backward = True
    op_name = "leaky_relu"

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.slope = negative_slope
        ctx.save_for_backward(x)
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        xd = data(x)
        return grad * np.where(xd > 0, 1, ctx.slope).astype(xd.dtype)


class Heaviside(Function):
    """y = 1 if x > 0, ``values`` if x = 0, else 0 (the perceptron's step);  dy/dx = 0."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, values=0.0):
        return np.heaviside(x, values)

    @staticmethod
    def backward(ctx, grad):
        return zeros_like(grad)


class Clip(Function):
    """y = min(max(x, lo), hi);  dy/dx = 1 where lo ≤ x ≤ hi, else 0."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, lo=None, hi=None):
        if lo is None and hi is None:
            raise ValueError("at least one of min and max must be given")
        mask = np.ones(x.shape, dtype=bool)
        if lo is not None:
            mask &= x >= lo
        if hi is not None:
            mask &= x <= hi
        ctx.save_for_backward(mask)
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad * data(mask), None, None


class Maximum(Function):
    """y = max(a, b);  dy/da = 1 where a > b, ½ where a = b, else 0 (and b likewise)."""

    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        y = np.maximum(a, b)
        # a's share of the gradient: 1 where it is the larger, ½ on ties, else 0
        ctx.save_for_backward((np.greater(a, b) + 0.5 * np.equal(a, b)).astype(y.dtype))
        return y

    @staticmethod
    def backward(ctx, grad):
        (wa,) = ctx.saved_tensors
        wa = data(wa)
        return grad * wa, grad * (1 - wa)


class Minimum(Maximum):
    """y = min(a, b);  dy/da = 1 where a < b, ½ where a = b, else 0 (and b likewise)."""

    @staticmethod
    def forward(ctx, a, b):
        y = np.minimum(a, b)
        ctx.save_for_backward((np.less(a, b) + 0.5 * np.equal(a, b)).astype(y.dtype))
        return y


class Where(Function):
    """y = a where cond else b;  dy/da = cond, dy/db = not cond."""

    array_backward = True

    @staticmethod
    def forward(ctx, cond, a, b):
        cond = np.asarray(cond)
        if cond.dtype != np.bool_:
            raise TypeError(f"condition must be a bool tensor, got dtype {cond.dtype}")
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        cond = data(cond)
        _, need_a, need_b = ctx.needs_input_grad
        ga = where(cond, grad, 0.0) if need_a else None
        gb = where(cond, 0.0, grad) if need_b else None
        return None, ga, gb


class Clone(Function):
    """y = a copy of x in its own memory;  dy/dx = 1."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        return np.array(x, copy=True)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Cast(Function):
    """y = x converted to another float dtype;  dy/dx = 1 (cast back)."""

    __slots__ = ("in_dtype",)
    array_backward = True

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return cast(grad, ctx.in_dtype)


def _cast_array(x, dtype):
    return np.asarray(x).astype(dtype, copy=False)


def _zeros_like_tensor(x):
    return _make(np.zeros_like(x.data), False, None)


# Used inside backward functions: NumPy for arrays, recorded operations for Tensors.
cos = lift(np.cos, Cos.apply)
sin = lift(np.sin, Sin.apply)
log = lift(np.log, Log.apply)
cast = lift(_cast_array, lambda x, dtype: Cast.apply(x, dtype=dtype))
zeros_like = lift(np.zeros_like, _zeros_like_tensor)


def where(cond, a, b):
    """``np.where`` for arrays; the recorded ``Where`` when ``a`` or ``b`` is a Tensor."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return Where.apply(cond, a, b)
    return np.where(cond, a, b)


from ..tensor import Tensor, _make  # noqa: E402
