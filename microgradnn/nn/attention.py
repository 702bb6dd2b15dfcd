"""Multi-head attention with PyTorch's signature, parameter names and numbers.

``MultiheadAttention`` keeps PyTorch's parameters (``in_proj_weight``/``in_proj_bias`` or
``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` when key and value have their own
sizes, ``out_proj``, ``bias_k``/``bias_v``), so a ``state_dict`` moves between the two
libraries. The math is written in existing operations: no backward of its own.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes, ops
from ..tensor import Tensor, tensor
from . import init
from .functional.attention import scaled_dot_product_attention
from .functional.layers import _check_p, dropout, linear
from .layers import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention"]


def _param(shape: tuple, dtype) -> Parameter:
    dtype = dtypes.get_default_dtype() if dtype is None else np.dtype(dtype)
    return Parameter(np.zeros(shape, dtype=dtype))


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of size embed_dim / num_heads, then a linear
    output projection: softmax(Q Kᵀ/√d + mask) V per head.

    Inputs are (L, N, E) for query and (S, N, kdim), (S, N, vdim) for key and value, or
    (N, L, E) ... with ``batch_first=True``, or unbatched (L, E). ``forward`` returns
    ``(output, weights)``: output shaped like the query, weights (N, L, S) averaged over
    the heads (``average_attn_weights=False``: (N, num_heads, L, S)), or None when
    ``need_weights=False``. ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or
    (N·num_heads, L, S) are bool (True = *may not* attend, PyTorch's convention here,
    the opposite of ``scaled_dot_product_attention``'s) or float (added to the scores).
    Dropout on the weights applies in training mode only.

    >>> import microgradnn as mg
    >>> mha = mg.nn.MultiheadAttention(8, 2, batch_first=True)
    >>> out, w = mha(mg.zeros((3, 5, 8)), mg.zeros((3, 4, 8)), mg.zeros((3, 4, 8)))
    >>> out.shape, w.shape
    ((3, 5, 8), (3, 5, 4))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__()
        for name, value in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"MultiheadAttention: {name} must be a positive int, got "
                                 f"{value!r}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} must be divisible by "
                             f"num_heads {num_heads}")
        if device not in (None, "cpu"):
            raise ValueError(f"MultiheadAttention: only the CPU is supported, got device "
                             f"{device!r}")
        self.embed_dim = int(embed_dim)
        self.kdim = self.embed_dim if kdim is None else int(kdim)
        self.vdim = self.embed_dim if vdim is None else int(vdim)
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.num_heads = int(num_heads)
        self.dropout = _check_p("MultiheadAttention", dropout)
        self.batch_first = bool(batch_first)
        self.head_dim = self.embed_dim // self.num_heads
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _param((3 * E, E), dtype)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = _param((E, E), dtype)
            self.k_proj_weight = _param((E, self.kdim), dtype)
            self.v_proj_weight = _param((E, self.vdim), dtype)
        if bias:
            self.in_proj_bias = _param((3 * E,), dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = _param((1, 1, E), dtype)
            self.bias_v = _param((1, 1, E), dtype)
        else:
            self.register_parameter("bias_k", None)
            self.register_parameter("bias_v", None)
        self.add_zero_attn = bool(add_zero_attn)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's initialisation: Xavier-uniform projections, zero biases,
        Xavier-normal ``bias_k``/``bias_v``; ``out_proj.weight`` keeps Linear's default."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _projections(self):
        """(w_q, w_k, w_v), (b_q, b_k, b_v): slices of the packed parameters, or the
        separate ones."""
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            ws = (w[:E], w[E:2 * E], w[2 * E:])
        else:
            ws = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        b = self.in_proj_bias
        bs = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        return ws, bs

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        op = "MultiheadAttention"
        q, k, v = (x if isinstance(x, Tensor) else tensor(x) for x in (query, key, value))
        batched = q.ndim == 3
        if q.ndim not in (2, 3) or k.ndim != q.ndim or v.ndim != q.ndim:
            raise ValueError(f"{op}: query, key and value must all be 3-D (batched) or all 2-D "
                             f"(unbatched), got shapes {q.shape}, {k.shape}, {v.shape}")
        if not batched:                                   # one sequence: a batch of one
            q, k, v = q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0)
        elif not self.batch_first:                        # (L, N, E) → (N, L, E)
            q, k, v = q.swapaxes(0, 1), k.swapaxes(0, 1), v.swapaxes(0, 1)
        N, L, E = q.shape
        S = k.shape[1]
        H, d = self.num_heads, self.head_dim
        for name, given, size in (("query", query, self.embed_dim), ("key", key, self.kdim),
                                  ("value", value, self.vdim)):
            if given.shape[-1] != size:
                raise ValueError(f"{op}: expected {name} with {size} features (the last axis), "
                                 f"got shape {tuple(given.shape)}")
        if k.shape[:2] != v.shape[:2] or k.shape[0] != N:
            raise ValueError(f"{op}: key {tuple(key.shape)} and value {tuple(value.shape)} must "
                             f"have the same length and batch size as each other, and the "
                             f"batch size of query {tuple(query.shape)}")
        if is_causal and attn_mask is None:
            raise ValueError(f"{op}: is_causal is a hint that attn_mask is the causal mask; "
                             "pass attn_mask too")
        mask = self._merged_mask(attn_mask, key_padding_mask, batched, N, L, S, q.dtype)

        (wq, wk, wv), (bq, bk, bv) = self._projections()
        q, k, v = linear(q, wq, bq), linear(k, wk, bk), linear(v, wv, bv)
        if self.bias_k is not None:                       # one more key, learned
            k = ops.cat([k, self.bias_k.expand(N, 1, E)], 1)
            v = ops.cat([v, self.bias_v.expand(N, 1, E)], 1)
            mask = _pad_keys(mask)
        # (N, len, E) → (N, H, len, d): each head sees its own slice of the features
        q, k, v = (t.reshape(N, t.shape[1], H, d).permute(0, 2, 1, 3) for t in (q, k, v))
        if self.add_zero_attn:                            # one more key and value, all zeros
            zeros = np.zeros((N, H, 1, d), dtype=k.dtype)
            k, v = ops.cat([k, tensor(zeros)], 2), ops.cat([v, tensor(zeros)], 2)
            mask = _pad_keys(mask)
        p = self.dropout if self.training else 0.0
        if need_weights:
            # PyTorch's explicit path: a query whose keys are all masked gets NaN
            scores = (q * float(d ** -0.5)) @ k.swapaxes(-1, -2)
            weights = ops.softmax(scores if mask is None else scores + mask, -1)
            if p:
                weights = dropout(weights, p)
            out = weights @ v
        else:
            out = scaled_dot_product_attention(q, k, v, mask, dropout_p=p)
            weights = None
        out = linear(out.permute(0, 2, 1, 3).reshape(N, L, E), self.out_proj.weight,
                     self.out_proj.bias)
        if not batched:
            out = out.reshape(L, E)
        elif not self.batch_first:
            out = out.swapaxes(0, 1)
        if weights is not None:
            if average_attn_weights:
                weights = weights.mean(axis=1)
            if not batched:
                weights = weights.reshape(weights.shape[1:])
        return out, weights

    def _merged_mask(self, attn_mask, key_padding_mask, batched, N, L, S, dtype):
        """attn_mask and key_padding_mask as one float mask broadcasting to (N, H, L, S):
        bool True becomes -inf, a float mask is added as it is (and may need a gradient)."""
        op = "MultiheadAttention"
        total = None
        if attn_mask is not None:
            m = _as_float_mask(op, "attn_mask", attn_mask, dtype)
            H = self.num_heads
            if m.shape == (L, S):
                m = m.reshape(1, 1, L, S)
            elif batched and m.shape == (N * H, L, S):
                m = m.reshape(N, H, L, S)
            elif not batched and m.shape == (H, L, S):
                m = m.reshape(1, H, L, S)
            else:
                lead = f"{N * H}" if batched else f"{H}"
                raise ValueError(f"{op}: attn_mask must have shape ({L}, {S}) or ({lead}, {L}, "
                                 f"{S}) (batch·num_heads, L, S), got {tuple(m.shape)}")
            total = m
        if key_padding_mask is not None:
            m = _as_float_mask(op, "key_padding_mask", key_padding_mask, dtype)
            expected = (N, S) if batched else (S,)
            if m.shape != expected:
                raise ValueError(f"{op}: key_padding_mask must have shape {expected} (batch, "
                                 f"key length), got {tuple(m.shape)}")
            m = m.reshape(N, 1, 1, S)
            total = m if total is None else total + m
        return total


def _as_float_mask(op: str, name: str, mask, dtype):
    """A bool mask (True = masked) as a constant float ndarray of 0 and -inf; a float mask
    as a Tensor of the query's dtype."""
    if isinstance(mask, Tensor):
        if mask.dtype == np.bool_:
            mask = mask.data
    else:
        mask = np.asarray(mask)
    if mask.dtype == np.bool_:
        return np.where(mask, -np.inf, 0.0).astype(dtype)
    m = mask if isinstance(mask, Tensor) else tensor(mask)
    if m.dtype != dtype:
        raise TypeError(f"{op}: {name} must be bool or have the query's dtype {dtype}, got "
                        f"{m.dtype}")
    return m


def _pad_keys(mask):
    """One more key that every query may attend to: a zero column at the end of the mask."""
    if mask is None:
        return None
    if isinstance(mask, Tensor):
        pad = np.zeros(mask.shape[:-1] + (1,), dtype=mask.dtype)
        return ops.cat([mask, tensor(pad)], -1)
    return np.concatenate([mask, np.zeros(mask.shape[:-1] + (1,), dtype=mask.dtype)], -1)
