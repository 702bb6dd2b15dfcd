"""Recurrent cells as functions: one time step of an Elman RNN, an LSTM or a GRU.

Arguments follow PyTorch's cell functions: ``(input, hx, w_ih, w_hh, b_ih, b_hh)``.
``input`` is (batch, input_size) or unbatched (input_size,); ``hx`` has the same leading
shape with ``hidden_size`` features, or is None for zeros. Weights stack the gates along
the first axis: (gates·hidden_size, input_size) and (gates·hidden_size, hidden_size).
"""
from __future__ import annotations

import numpy as np

from ...ops.recurrent import LSTMStep, RecurrentLinear, StateHalf
from ...ops.shape import Cat
from ...tensor import Tensor, _make

__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell"]


def _check(op: str, input, hx_list, w_ih, w_hh, b_ih, b_hh, gates: int):
    """Validate shapes before any work; return (x as (B, in), hidden size, unbatched)."""
    for name, t in (("input", input), ("w_ih", w_ih), ("w_hh", w_hh)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if w_ih.ndim != 2 or w_hh.ndim != 2 or w_hh.shape[0] != w_ih.shape[0] \
            or w_ih.shape[0] != gates * w_hh.shape[1]:
        raise ValueError(f"{op}: weights must be ({gates}·hidden, input_size) and "
                         f"({gates}·hidden, hidden), got w_ih {w_ih.shape} and w_hh {w_hh.shape}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating-point tensor, got dtype {input.dtype} "
                        "(token ids go through an nn.Embedding first)")
    hidden, in_features = w_hh.shape[1], w_ih.shape[1]
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is not None and b.shape != (gates * hidden,):
            raise ValueError(f"{op}: {name} must be ({gates * hidden},), got {b.shape}")
    shape = input.shape
    if input.ndim == 1 and shape[0] == in_features:
        unbatched, batch = True, 1
    elif input.ndim == 2 and shape[1] == in_features:
        unbatched, batch = False, shape[0]
    else:
        raise ValueError(f"{op}: input must be (batch, {in_features}) or ({in_features},), "
                         f"got {shape}")
    want = (hidden,) if unbatched else (batch, hidden)
    for name, h in hx_list:
        if h is not None and not isinstance(h, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(h).__name__}")
        if h is not None and h.shape != want:
            raise ValueError(f"{op}: {name} must be {want} to match input {shape}, got {h.shape}")
    x = input.reshape((1, in_features)) if unbatched else input
    return x, hidden, unbatched


def _state(h, x, hidden: int, unbatched: bool):
    """The hidden state as (B, H): zeros when None, a row when unbatched."""
    if h is None:
        return _make(np.zeros((x.shape[0], hidden), dtype=x.dtype), False, None)
    return h.reshape((1, hidden)) if unbatched else h


def _rnn_cell(op: str, act, input, hx, w_ih, w_hh, b_ih, b_hh):
    x, hidden, unbatched = _check(op, input, [("hx", hx)], w_ih, w_hh, b_ih, b_hh, 1)
    h = act(RecurrentLinear.apply(x, _state(hx, x, hidden, unbatched), w_ih, w_hh, b_ih, b_hh))
    return h.reshape((hidden,)) if unbatched else h


def rnn_tanh_cell(input: Tensor, hx: Tensor | None, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One Elman RNN step: h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh).

    Shapes: input (B, in) or (in,); hx like input with H features (None: zeros);
    w_ih (H, in); w_hh (H, H); biases (H,). Returns h' like hx.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.rnn_tanh_cell(mg.ones((2, 3)), None, mg.ones((4, 3)), mg.ones((4, 4))).shape
    (2, 4)
    """
    return _rnn_cell("rnn_tanh_cell", Tensor.tanh, input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input: Tensor, hx: Tensor | None, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One Elman RNN step with ReLU: h' = max(0, x W_ihᵀ + b_ih + h W_hhᵀ + b_hh).

    Shapes as :func:`rnn_tanh_cell`.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.rnn_relu_cell(-mg.ones(3), None, mg.ones((4, 3)), mg.ones((4, 4)))
    tensor([0., 0., 0., 0.])
    """
    return _rnn_cell("rnn_relu_cell", Tensor.relu, input, hx, w_ih, w_hh, b_ih, b_hh)


def lstm_cell(input: Tensor, hx: tuple[Tensor, Tensor] | None, w_ih: Tensor, w_hh: Tensor,
              b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """One LSTM step; gates in PyTorch's order i, f, g, o stacked in the weights' rows:

        [z_i, z_f, z_g, z_o] = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh
        i, f, o = σ(z_i), σ(z_f), σ(z_o);  g = tanh z_g
        c' = f·c + i·g;  h' = o·tanh c'

    Shapes: input (B, in) or (in,); hx = (h, c), each like input with H features (None:
    zeros); w_ih (4H, in); w_hh (4H, H); biases (4H,). Returns (h', c').

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> h, c = F.lstm_cell(mg.ones((2, 3)), None, mg.zeros((16, 3)), mg.zeros((16, 4)))
    >>> h.shape, c.shape
    ((2, 4), (2, 4))
    """
    if hx is None:
        h = c = None
    else:
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"lstm_cell: hx must be a pair (h, c) or None, got "
                            f"{type(hx).__name__}")
        h, c = hx
    x, hidden, unbatched = _check("lstm_cell", input, [("h", h), ("c", c)],
                                  w_ih, w_hh, b_ih, b_hh, 4)
    # One node per step: both matrix products and the gate math are fused (LSTMStep, see
    # ops/recurrent.py for what that saves). The state travels packed as [h, c].
    s = _packed_state(h, c, x, hidden, unbatched)
    s_new = LSTMStep.apply(x, s, w_ih, w_hh, b_ih, b_hh)
    h_new = StateHalf.apply(s_new, which=0, unbatched=unbatched)
    c_new = StateHalf.apply(s_new, which=1, unbatched=unbatched)
    return h_new, c_new


def _packed_state(h, c, x, hidden: int, unbatched: bool):
    """[h, c] as one (B, 2H) tensor. When h and c are the halves of one earlier step's
    output, that output itself: then the slices taking them out of it are not on the
    gradient's path, and the backward pass has one node per step."""
    if h is not None and c is not None:
        fh, fc = h.grad_fn, c.grad_fn
        if type(fh) is StateHalf and type(fc) is StateHalf and (fh.which, fc.which) == (0, 1) \
                and fh.source is not None and fh.source is fc.source \
                and fh.next[0] is not None and fh.next[0] is fc.next[0]:
            # the packed state both halves were sliced from, linked where it was made
            made = fh.next[0]
            return made if isinstance(made, Tensor) else _make(fh.source, True, made)
    h = _state(h, x, hidden, unbatched)
    c = _state(c, x, hidden, unbatched)
    return Cat.apply(h, c, axis=1)


def gru_cell(input: Tensor, hx: Tensor | None, w_ih: Tensor, w_hh: Tensor,
             b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One GRU step; gates in PyTorch's order r, z, n stacked in the weights' rows:

        r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr);  z = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)
        n = tanh(x W_inᵀ + b_in + r·(h W_hnᵀ + b_hn));  h' = (1 - z)·n + z·h

    Shapes: input (B, in) or (in,); hx like input with H features (None: zeros);
    w_ih (3H, in); w_hh (3H, H); biases (3H,). Returns h'.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.gru_cell(mg.ones((2, 3)), None, mg.zeros((12, 3)), mg.zeros((12, 4))).shape
    (2, 4)
    """
    x, hidden, unbatched = _check("gru_cell", input, [("hx", hx)], w_ih, w_hh, b_ih, b_hh, 3)
    h = _state(hx, x, hidden, unbatched)
    gi = RecurrentLinear.apply(x, None, w_ih, None, b_ih, None)
    gh = RecurrentLinear.apply(h, None, w_hh, None, b_hh, None)
    rz = (gi[:, :2 * hidden] + gh[:, :2 * hidden]).sigmoid()
    r, z = rz[:, :hidden], rz[:, hidden:]
    n = (gi[:, 2 * hidden:] + r * gh[:, 2 * hidden:]).tanh()
    h_new = n + z * (h - n)
    return h_new.reshape((hidden,)) if unbatched else h_new
