"""Scaled dot-product attention, as PyTorch's ``F.scaled_dot_product_attention``.

Written in existing operations (matmul, softmax, where, dropout), so it needs no backward
of its own and its gradients of every order come from the engine.
"""
from __future__ import annotations

import math

import numpy as np

from ... import ops
from ...ops._util import as_tensor
from ...tensor import Tensor, tensor
from .layers import dropout

__all__ = ["scaled_dot_product_attention"]


def attention_weights(scores: Tensor, mask) -> Tensor:
    """softmax(scores) over the last axis after applying ``mask`` (None, a bool ndarray
    where True means *may attend*, or a float Tensor added to the scores).

    A row where every key is masked gets weights 0 (PyTorch's sdpa does the same) rather
    than the NaN of a softmax over -inf; its gradient is 0 as well.
    """
    if mask is not None:
        if isinstance(mask, np.ndarray) and mask.dtype == np.bool_:
            scores = ops.where(mask, scores, -np.inf)
        else:
            scores = scores + mask
    dead = np.isneginf(scores.data).all(axis=-1, keepdims=True)
    if dead.any():
        # softmax of a row of -inf is 0/0; give it finite scores, then zero its weights
        scores = ops.where(np.broadcast_to(dead, scores.shape), 0.0, scores)
        return ops.where(np.broadcast_to(dead, scores.shape), 0.0, ops.softmax(scores, -1))
    return ops.softmax(scores, -1)


def _mask_of(op: str, attn_mask, dtype, shape: tuple):
    """Check ``attn_mask`` against the scores' ``shape`` (..., L, S) and return it as a
    bool ndarray (True = take part) or a float Tensor (added)."""
    if isinstance(attn_mask, Tensor):
        m = attn_mask.data if attn_mask.dtype == np.bool_ else attn_mask
    else:
        m = np.asarray(attn_mask)
        if m.dtype != np.bool_:
            m = tensor(m)
    if not (isinstance(m, np.ndarray) or m.dtype == dtype):
        raise TypeError(f"{op}: attn_mask must be bool or have the query's dtype {dtype}, "
                        f"got {m.dtype}")
    try:
        ok = np.broadcast_shapes(m.shape, shape) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{op}: attn_mask of shape {tuple(m.shape)} does not broadcast to the "
                         f"attention scores' shape {tuple(shape)} (..., L, S)")
    return m


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, enable_gqa: bool = False) -> Tensor:
    """softmax(Q Kᵀ · scale + mask) V, with PyTorch's arguments and meaning.

    query (..., L, E), key (..., S, E), value (..., S, Ev) → (..., L, Ev); the leading axes
    broadcast. ``scale`` defaults to 1/√E. ``attn_mask`` broadcasts to (..., L, S): a bool
    mask says which keys each query may attend to (True = take part), a float mask is added
    to the scores. ``is_causal`` lets query i see keys 0..i (top-left aligned; not with
    ``attn_mask``). ``dropout_p`` drops attention weights (always, as PyTorch's functional
    form: pass 0.0 when evaluating). ``enable_gqa`` lets key and value have fewer heads
    (axis -3) than query, each shared by consecutive query heads. A query whose keys are
    all masked gets an output of 0.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> q = k = mg.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> v = mg.tensor([[1.0], [2.0]])
    >>> F.scaled_dot_product_attention(q, k, v, is_causal=True)
    tensor([[1.    ],
            [1.6698]])
    """
    op = "scaled_dot_product_attention"
    q, k, v = (as_tensor(t, "scaled_dot_product_attention") for t in (query, key, value))
    for name, t in (("query", q), ("key", k), ("value", v)):
        if t.ndim < 2:
            raise ValueError(f"{op}: {name} must have at least 2 dimensions (..., length, "
                             f"features), got shape {t.shape}")
    if not (q.dtype == k.dtype == v.dtype):
        raise TypeError(f"{op}: query, key and value must have the same dtype, got "
                        f"{q.dtype}, {k.dtype} and {v.dtype}")
    if q.dtype.kind != "f":
        raise TypeError(f"{op}: expected floating-point tensors, got dtype {q.dtype}")
    L, E = q.shape[-2:]
    S = k.shape[-2]
    if k.shape[-1] != E:
        raise ValueError(f"{op}: query has {E} features, key {k.shape[-1]} (shapes {q.shape} "
                         f"and {k.shape})")
    if v.shape[-2] != S:
        raise ValueError(f"{op}: key has {S} positions, value {v.shape[-2]} (shapes {k.shape} "
                         f"and {v.shape})")
    if enable_gqa:
        k, v = _repeat_heads(op, q, k), _repeat_heads(op, q, v)
    try:
        np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"{op}: the leading axes of query {q.shape}, key {k.shape} and value "
                         f"{v.shape} do not broadcast") from None
    if is_causal and attn_mask is not None:
        raise ValueError(f"{op}: attn_mask must not be given with is_causal=True")
    if scale is None:
        scale = 1.0 / math.sqrt(E) if E else 1.0
    scores = (q @ k.swapaxes(-1, -2)) * float(scale)
    if is_causal:
        mask = np.tril(np.ones((L, S), dtype=bool))
    else:
        mask = None if attn_mask is None else _mask_of(op, attn_mask, q.dtype, scores.shape)
    weights = attention_weights(scores, mask)
    if dropout_p:
        weights = dropout(weights, dropout_p)
    return weights @ v


def _repeat_heads(op: str, q: Tensor, kv: Tensor) -> Tensor:
    """Repeat each head of key/value (axis -3) so it serves Hq / Hkv consecutive query
    heads (PyTorch's ``repeat_interleave`` for grouped-query attention)."""
    if q.ndim < 3 or kv.ndim < 3:
        raise ValueError(f"{op}: enable_gqa needs a heads axis (-3); shapes {q.shape} and "
                         f"{kv.shape}")
    hq, hkv = q.shape[-3], kv.shape[-3]
    if hkv == 0 or hq % hkv:
        raise ValueError(f"{op}: with enable_gqa the query's {hq} heads must be a multiple of "
                         f"the key/value's {hkv} heads")
    r = hq // hkv
    if r == 1:
        return kv
    lead = kv.shape[:-3]
    expanded = kv.unsqueeze(kv.ndim - 2).expand(*lead, hkv, r, *kv.shape[-2:])
    return expanded.reshape(*lead, hq, *kv.shape[-2:])
