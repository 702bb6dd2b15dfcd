"""Functional forms of the basic layers: linear, dropout, embedding, batch and layer norm.

``linear`` is one fused primitive (the hot path of every MLP); the others are written in
existing operations and need no backward of their own.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ... import _validate as v, creation
from ...autograd import no_grad
from ...ops.elementwise import Where
from ...ops.linalg import Linear, check_same_dtype
from ...tensor import Tensor, tensor
from ...autograd.scope import composite

__all__ = ["linear", "dropout", "embedding", "batch_norm", "layer_norm"]

Shape = tuple[int, ...]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b: input (*, in_features), weight (out_features, in_features),
    bias (out_features,) or None; the result has shape (*, out_features).

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.linear(mg.ones((2, 3)), mg.ones((4, 3)), mg.zeros(4))
    tensor([[3., 3., 3., 3.],
            [3., 3., 3., 3.]])
    """
    x = v.check_tensor("linear", "input", input)
    for name, t in (("weight", weight), ("bias", bias)):
        if not (isinstance(t, Tensor) or (t is None and name == "bias")):
            raise TypeError(f"linear: {name} must be a Tensor, got {type(t).__name__}")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must have shape (out_features, in_features), got "
                         f"shape {weight.shape}")
    out_features, in_features = weight.shape
    check_same_dtype("linear", x, weight, ("the input", "the weight"))
    if bias is not None:
        check_same_dtype("linear", bias, weight, ("the bias", "the weight"))
    if x.ndim == 0 or x.shape[-1] != in_features:
        size = x.shape[-1] if x.ndim else "none (a 0-d input)"
        raise ValueError(f"linear: input feature size {size} != in_features {in_features} "
                         f"(input shape {x.shape})")
    if bias is None:
        return Linear.apply(x, weight)
    if bias.shape != (out_features,):
        raise ValueError(f"linear: bias has shape {bias.shape}, expected ({out_features},) "
                         f"for a weight of shape {weight.shape}")
    return Linear.apply(x, weight, bias)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Inverted dropout: in training, zero each element with probability ``p`` and scale
    the rest by 1/(1 - p), so the expected value is unchanged; otherwise return ``input``.
    The mask comes from the library's generator (``mg.manual_seed``). ``inplace`` is
    accepted for PyTorch code and ignored (the result is a new tensor).

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> mg.manual_seed(0)
    >>> y = F.dropout(mg.ones(1000), 0.5)
    >>> sorted(set(y.data.tolist()))
    [0.0, 2.0]
    >>> F.dropout(mg.ones(3), 0.5, training=False)
    tensor([1., 1., 1.])
    """
    p = _check_p("dropout", p)
    if not training or p == 0.0:
        return input
    x = v.check_tensor("dropout", "input", input)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    if p == 1.0:
        mask = np.zeros(x.shape, dtype=dtype)
    else:
        keep = creation.generator().random(x.shape) >= p
        mask = keep.astype(dtype) * np.asarray(1.0 / (1.0 - p), dtype=dtype)
    return x * mask


def _check_p(op: str, p: float) -> float:
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: probability p must be between 0 and 1, got {p!r}")
    return float(p)


def embedding(input, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer indices in
    ``input`` (any shape); the result has shape input.shape + (embedding_dim,). Rows at
    ``padding_idx`` are returned as they are but receive no gradient.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.embedding(mg.tensor([[0, 2]]), mg.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]))
    tensor([[[0., 0.],
             [2., 2.]]])
    """
    idx = input.data if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype} "
                        f"(input shape {idx.shape})")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must have shape (num_embeddings, embedding_dim), "
                         f"got shape {weight.shape}")
    n = weight.shape[0]
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise IndexError(f"embedding: index {bad} out of range for {n} embeddings "
                             f"(input shape {idx.shape})")
    out = weight[idx]
    if padding_idx is not None:
        padding_idx = _padding_idx(padding_idx, n)
        pad = idx == padding_idx
        if pad.any() and out.requires_grad:
            # The padding rows' values pass through, their gradient does not.
            out = _where(~pad[..., None], out, out.detach())
    return out


def _padding_idx(padding_idx: int, n: int) -> int:
    if not -n <= padding_idx < n:
        raise ValueError(f"embedding: padding_idx {padding_idx} out of range for {n} embeddings")
    return padding_idx % n


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (axis 1) of input (N, C, ...) to zero mean and unit variance,
    then scale by ``weight`` and shift by ``bias`` (both (C,), optional).

    In training the statistics come from the batch (biased variance) and the running
    estimates, if given, are updated in place: r ← (1 - momentum)·r + momentum·batch
    (the unbiased variance for ``running_var``, as PyTorch). Otherwise the running
    estimates are used.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> x = mg.tensor([[1.0], [3.0]])
    >>> F.batch_norm(x, None, None, training=True, eps=0.0)
    tensor([[-1.],
            [ 1.]])
    """
    x = v.check_tensor("batch_norm", "input", input)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must have shape (N, C, ...), got shape {x.shape}")
    c = x.shape[1]
    v.check_real("batch_norm", "momentum", momentum)
    v.check_real("batch_norm", "eps", eps, min=0.0)
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"batch_norm: {name} must be a Tensor or None, got "
                            f"{type(t).__name__}")
        if t is not None and t.shape != (c,):
            raise ValueError(f"batch_norm: {name} has shape {t.shape}, expected ({c},) for "
                             f"an input with {c} channels (input shape {x.shape})")
    axes = (0,) + tuple(range(2, x.ndim))
    stat_shape = (1, c) + (1,) * (x.ndim - 2)
    if training:
        n = x.numel() // c if c else 0
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input shape {x.shape}")
        y, mean, var = _standardize(x, axes, eps)
        if running_mean is not None or running_var is not None:
            with no_grad(), np.errstate(over="ignore"):   # a variance beyond the dtype is inf
                if running_mean is not None:
                    _blend(running_mean, mean.reshape(c), momentum)
                if running_var is not None:
                    _blend(running_var, var.reshape(c) * (n / (n - 1)), momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when "
                             "training=False")
        scale = 1.0 / np.sqrt(running_var.data + eps)
        y = (x - running_mean.data.reshape(stat_shape)) * scale.reshape(stat_shape)
    if weight is not None:
        y = y * weight.reshape(stat_shape)
    if bias is not None:
        y = y + bias.reshape(stat_shape)
    return y


def _blend(running: Tensor, batch: np.ndarray, momentum: float) -> None:
    """running ← (1 - momentum)·running + momentum·batch, in place."""
    new = (1.0 - momentum) * running.data + momentum * batch
    np.copyto(running.data, new, casting="unsafe")
    running._bump_version()  # an eval-mode graph that read the old statistics must notice


@composite
def layer_norm(input: Tensor, normalized_shape: int | Sequence[int],
               weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` axes of each sample (biased
    variance), then scale and shift by ``weight`` and ``bias`` (shape normalized_shape).

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.layer_norm(mg.tensor([[1.0, 3.0]]), (2,), eps=0.0)
    tensor([[-1.,  1.]])
    """
    x = v.check_tensor("layer_norm", "input", input)
    shape = _normalized_shape("layer_norm", normalized_shape)
    v.check_real("layer_norm", "eps", eps, min=0.0)
    k = len(shape)
    if x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise ValueError(f"layer_norm: input shape {x.shape} does not end with "
                         f"normalized_shape {shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"layer_norm: {name} must be a Tensor or None, got "
                            f"{type(t).__name__}")
        if t is not None and t.shape != shape:
            raise ValueError(f"layer_norm: {name} has shape {t.shape}, expected "
                             f"normalized_shape {shape}")
    y, _, _ = _standardize(x, tuple(range(x.ndim - k, x.ndim)), eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def _standardize(x: Tensor, axes: tuple, eps: float):
    """(x - m) / √(v + eps) with m, v the mean and biased variance over ``axes``; also
    returns m and v as arrays (kept dims).

    Squares overflow float32 beyond |x| ≈ 1.8·10¹⁹ (and the variance would be inf, the
    output 0). So each slice whose squares could overflow is first divided by a power of
    two s ~ max|x|: the result is unchanged when x and m scale by 1/s and v and eps by
    1/s², and dividing by a power of two is exact (the same bits, barring underflow).
    """
    big = np.max(np.abs(x.data), axis=axes, keepdims=True, initial=0.0)
    n = x.numel() // max(big.size, 1)
    # Scale only where the sum of n squares could overflow (|x| ~ 1e15 in float32).
    risky = np.isfinite(big) & (big > np.sqrt(np.finfo(x.dtype).max / max(n, 1)) / 4)
    z, eps_z, s = x, eps, 1.0
    if risky.any():
        _, e = np.frexp(big)
        # s = 2^(e-1) ≤ max|x| < 2^e: |x/s| < 2, and s itself never overflows.
        s = np.where(risky, np.ldexp(1.0, e - 1), 1.0)
        z, eps_z = x / s.astype(x.dtype), (eps / (s * s)).astype(x.dtype)
    mz = z.mean(axis=axes, keepdims=True)
    zc = z - mz
    vz = (zc * zc).mean(axis=axes, keepdims=True)
    y = zc / (vz + eps_z).sqrt()
    with np.errstate(over="ignore"):
        return y, mz.data * s, vz.data * (s * s)


def _normalized_shape(op: str, normalized_shape) -> Shape:
    return v.check_shape(op, "normalized_shape", normalized_shape)


def _where(cond: np.ndarray, a: Tensor, b: Tensor) -> Tensor:
    return Where.apply(np.broadcast_to(cond, a.shape), a, b)
