"""Fused primitives for recurrent cells.

A recurrent network runs the same few small operations once per time step, so the cost
per graph node (a few microseconds) is as large as the NumPy work on a (32, 256) array.
Written with the general operations, an LSTM step is about twenty nodes; here it is one:

- ``LSTMStep``: both matrix products, the gate nonlinearities and the new state, from
  the input and the packed state [h, c] to the packed new state [h', c'].
- ``StateHalf``: h or c out of a packed state. ``nn.functional.lstm_cell`` hands the
  packed state itself to the next step when it is given the two halves of one, so the
  slices are on the backward path only where h or c is used by something else.
- ``RecurrentLinear``: z = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh in one node instead of seven,
  for the Elman RNN and GRU cells.

Measured (LSTMCell(16, 64), batch 32, 50 steps, one training step with Adam, as in
``benchmarks/bench_lstm.py``, single-threaded BLAS): the cell written with general
operations takes 3.1x as long as with ``LSTMStep``; ``RecurrentLinear`` plus a fused
elementwise update and two slices per step, 1.3-1.5x; with ``LSTMStep`` the step costs
about what the hand-written NumPy version does (0.97-1.01x). For the gate products alone
(per step): x W_ihᵀ + h W_hhᵀ 53 µs, [x, h] [W_ih, W_hh]ᵀ 41 µs, and the transposed
form used in ``LSTMStep``, W_ih xᵀ + W_hh hᵀ, 30 µs (OpenBLAS is slow on A @ Bᵀ here).

Each backward is written with operators, slices, transposes, ``@`` and a few lifted
helpers, so it runs on NumPy arrays in a plain backward pass and on Tensors (recorded)
under ``create_graph=True``: second derivatives work.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..autograd.function import Function
from ._util import data


class RecurrentLinear(Function):
    """z = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh;  ∂L/∂x = g W_ih, ∂L/∂h = g W_hh,
    ∂L/∂W_ih = gᵀ x, ∂L/∂W_hh = gᵀ h, ∂L/∂b_ih = ∂L/∂b_hh = Σ_batch g  (g = ∂L/∂z).

    Shapes: x (B, in), h (B, H), W_ih (G, in), W_hh (G, H), biases (G,) -> z (B, G); each
    of h, W_hh and the biases may be None (left out of the sum).
    """

    array_backward = True
    op_name = "recurrent_linear"

    @staticmethod
    def forward(ctx, x, h, w_ih, w_hh, b_ih=None, b_hh=None):
        # zᵀ = W_ih xᵀ + W_hh hᵀ: OpenBLAS runs W @ (C-order matrix) about twice as fast
        # as x @ Wᵀ at these sizes (see LSTMStep); z is returned as the transpose.
        zT = w_ih @ np.ascontiguousarray(x.T)
        if h is not None:
            zT += w_hh @ np.ascontiguousarray(h.T)
        if b_ih is not None or b_hh is not None:
            b = b_ih if b_hh is None else b_hh if b_ih is None else b_ih + b_hh
            zT = np.add(zT, b[:, None], out=zT if b.dtype == zT.dtype else None)
        ctx.save_for_backward(x, h, w_ih, w_hh)
        return zT.T

    @staticmethod
    def backward(ctx, grad):
        x, h, w_ih, w_hh = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = grad @ w_ih if need[0] else None
        gh = grad @ w_hh if need[1] else None
        gw_ih = grad.T @ x if need[2] else None
        gw_hh = grad.T @ h if need[3] else None
        gb = grad.sum(axis=0) if need[4] or need[5] else None
        return gx, gh, gw_ih, gw_hh, (gb if need[4] else None), (gb if need[5] else None)


@lru_cache(maxsize=64)
def _gate_constants(hidden: int, batch: int, dtype: np.dtype) -> tuple[np.ndarray, ...]:
    """Constants over the transposed gates [i; f; g; o] (4H, B), each gate ``hidden`` rows.

    σ(z) = ½ + ½·tanh(z/2), so one ``tanh`` of z·scale serves all four gates:
    act = tanh(z·scale)·scale + shift, with scale = shift = ½ for the sigmoid gates and
    scale = 1, shift = 0 for g. With u = act - shift the derivative is
    d act/dz = (scale - u)(scale + u): σ(1 - σ) for the sigmoid gates, 1 - g² for g, computed
    from the activations alone, so backward needs nothing else from the gates. (Near σ ≈ 0
    this form is exact only to about the dtype's epsilon in absolute terms, like
    1/(1 + e⁻ᶻ) near σ ≈ 1.) The arrays are full-size:
    NumPy broadcasts a (4H, 1) column over rows of only B elements about 2.5x slower than
    it multiplies two (4H, B) arrays.
    """
    def per_gate(sig: float, tanh: float) -> np.ndarray:
        a = np.full((4 * hidden, batch), sig, dtype=dtype)
        a[2 * hidden:3 * hidden] = tanh
        a.flags.writeable = False  # shared between calls
        return a

    return per_gate(0.5, 1.0), per_gate(0.5, 0.0)


def _cat(*xs, axis: int):
    """``np.concatenate`` for arrays, the recorded ``cat`` when any piece is a Tensor."""
    if any(isinstance(x, Tensor) for x in xs):
        return Cat.apply(*xs, axis=axis)
    return np.concatenate(xs, axis=axis)


def _row_sums(x):
    """Σ over axis 1; for arrays as x @ 1 (5x faster than ``sum(axis=1)`` on (256, 32))."""
    if isinstance(x, Tensor):
        return x.sum(axis=1)
    return x @ _ones(x.shape[1], x.dtype)


@lru_cache(maxsize=16)
def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    a = np.ones(n, dtype=dtype)
    a.flags.writeable = False
    return a


def _np_cat(*xs, axis: int):
    return np.concatenate(xs, axis=axis)


def _contiguous(x):
    """A C-order copy of an array when needed (Tensors pass: layout is only about speed)."""
    return np.ascontiguousarray(x) if isinstance(x, np.ndarray) else x


class LSTMStep(Function):
    """[h', c'] = [o·tanh c', f·c + i·g], [i, f, g, o] = [σ, σ, tanh, σ](z),
    z = x W_ihᵀ + h W_hhᵀ + b;  ∂L/∂c = b̃·f, ∂L/∂h = δ W_hh, ∂L/∂W_hh = δᵀ h, ...
    (b̃ = ∂L/∂c' + ∂L/∂h'·o·(1 - tanh² c'), δ = ∂L/∂z).

    One LSTM step from the input x (B, in), the packed state s = [h, c] (B, 2H) and the
    parameters W_ih (4H, in), W_hh (4H, H), b_ih, b_hh (4H,) (biases may be None), to the
    packed new state [h', c'] (B, 2H):

        z = [z_i, z_f, z_g, z_o] = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh
        i, f, o = σ(z_i), σ(z_f), σ(z_o);  g = tanh z_g;  c' = f·c + i·g;  h' = o·tanh c'

    With a = ∂L/∂h', b = ∂L/∂c' and  b̃ = b + a·o·(1 - tanh² c'):
    δ = ∂L/∂z = [b̃·g·i(1-i), b̃·c·f(1-f), b̃·i·(1-g²), a·tanh c'·o(1-o)];  ∂L/∂c = b̃·f;
    ∂L/∂h = δ W_hh;  ∂L/∂x = δ W_ih;  ∂L/∂W_ih = δᵀ x;  ∂L/∂W_hh = δᵀ h;
    ∂L/∂b_ih = ∂L/∂b_hh = Σ_batch δ.

    Everything is computed transposed (features × batch, suffix T): the products are then
    W @ (C-order matrix), which OpenBLAS runs about twice as fast as x @ Wᵀ at these sizes,
    and each gate is a block of rows. The output is the transpose of a C-order (2H, B)
    array, so the next step reads hᵀ and cᵀ without copying.
    """

    array_backward = True
    op_name = "lstm_step"

    @staticmethod
    def forward(ctx, x, s, w_ih, w_hh, b_ih=None, b_hh=None):
        hidden, batch = w_hh.shape[1], x.shape[0]
        sT = s.T
        zT = w_ih @ np.ascontiguousarray(x.T)
        zT += w_hh @ np.ascontiguousarray(sT[:hidden])
        if b_ih is not None or b_hh is not None:
            b = b_ih if b_hh is None else b_hh if b_ih is None else b_ih + b_hh
            zT = np.add(zT, b[:, None], out=zT if b.dtype == zT.dtype else None)
        scale, shift = _gate_constants(hidden, batch, zT.dtype)
        actT = np.multiply(zT, scale, out=zT)     # z itself is not needed again
        np.tanh(actT, out=actT)
        actT *= scale
        actT += shift
        cT = sT[hidden:]
        outT = np.empty((2 * hidden, batch), dtype=np.result_type(actT, cT))
        c_newT = outT[hidden:]
        np.multiply(actT[hidden:2 * hidden], cT, out=c_newT)
        c_newT += actT[:hidden] * actT[2 * hidden:3 * hidden]
        tcT = np.tanh(c_newT)
        np.multiply(actT[3 * hidden:], tcT, out=outT[:hidden])
        # Only the activations are kept (not tanh(z·scale) as well): the gate derivatives
        # follow from them, which keeps a step's saved state as small as a hand-written
        # LSTM's (peak memory of the benchmark step 4.6 -> 3.1 MiB, hand-written 3.4 MiB).
        ctx.save_for_backward(x, s, w_ih, w_hh, b_ih, b_hh, actT, tcT)
        return outT.T

    @staticmethod
    def backward(ctx, grad):
        x, s, w_ih, w_hh, b_ih, b_hh, actT, tcT = ctx.saved_tensors
        hidden = w_hh.shape[1]
        scale, shift = _gate_constants(hidden, x.shape[0], data(actT).dtype)
        sT = s.T
        hT, cT = sT[:hidden], sT[hidden:]
        recording = isinstance(grad, Tensor)
        if recording:
            # Recorded (create_graph) pass: t, act and tanh c' must depend on the inputs in
            # the new graph, so rebuild them from the inputs with tensor operations.
            actT, tcT = _lstm_gates(x, hT, cT, w_ih, w_hh, b_ih, b_hh)
        cat = Cat.apply if recording else _np_cat
        iT, fT = actT[:hidden], actT[hidden:2 * hidden]
        gT, oT = actT[2 * hidden:3 * hidden], actT[3 * hidden:]
        gradT = grad.T
        dhT, dcT = gradT[:hidden], gradT[hidden:]
        dcT = dcT + dhT * oT * (1 - tcT * tcT)    # c' also reaches the loss through h'
        uT = actT - shift
        dzT = cat(dcT * gT, dcT * cT, dcT * iT, dhT * tcT, axis=0) * ((scale - uT) * (scale + uT))
        need = ctx.needs_input_grad
        gx = dzT.T @ w_ih if need[0] else None
        gs = cat(w_hh.T @ dzT, dcT * fT, axis=0).T if need[1] else None
        gw_ih = dzT @ x if need[2] else None
        gw_hh = dzT @ _contiguous(hT.T) if need[3] else None
        gb = _row_sums(dzT) if need[4] or need[5] else None
        return gx, gs, gw_ih, gw_hh, (gb if need[4] else None), (gb if need[5] else None)


def _lstm_gates(x, hT, cT, w_ih, w_hh, b_ih, b_hh):
    """[i; f; g; o] and tanh c', transposed, by tensor operations."""
    hidden = w_hh.shape[1]
    scale, shift = _gate_constants(hidden, x.shape[0], x.dtype)
    zT = w_ih @ x.T + w_hh @ hT
    for b in (b_ih, b_hh):
        if b is not None:
            zT = zT + b.reshape((b.shape[0], 1))
    actT = (zT * scale).tanh() * scale + shift
    c_newT = actT[hidden:2 * hidden] * cT + actT[:hidden] * actT[2 * hidden:3 * hidden]
    return actT, c_newT.tanh()


class StateHalf(Function):
    """y = s[:, :H] (h, ``which`` = 0) or s[:, H:] (c, ``which`` = 1);  ∂L/∂s = ∂L/∂y in
    that half, 0 in the other.

    s = [h, c] (B, 2H) is a packed LSTM state; y is (B, H), or (H,) when ``unbatched``
    (then B = 1).

    The node keeps the packed array it sliced (``source``, until a backward pass releases
    it), so a later step given this h and c back can take the packed state itself as its
    input: the two slices then drop out of the backward pass (see
    ``nn.functional.lstm_cell``).
    """

    __slots__ = ("which", "unbatched", "source")
    array_backward = True
    op_name = "state_half"

    @staticmethod
    def forward(ctx, s, which, unbatched=False):
        ctx.which, ctx.unbatched, ctx.source = which, unbatched, s
        hidden = s.shape[1] // 2
        y = s[:, :hidden] if which == 0 else s[:, hidden:]
        return y[0] if unbatched else y

    @staticmethod
    def backward(ctx, grad):
        if ctx.unbatched:
            grad = grad.reshape((1,) + grad.shape)
        zeros = np.zeros(grad.shape, dtype=data(grad).dtype)
        return _cat(grad, zeros, axis=-1) if ctx.which == 0 else _cat(zeros, grad, axis=-1)


from ..tensor import Tensor  # noqa: E402
from .shape import Cat  # noqa: E402
