"""Fused primitives for recurrent cells: the gate pre-activations and the LSTM state update.

A recurrent network runs the same few small operations once per time step, so the cost
per graph node dominates (a few microseconds each, against a few microseconds of NumPy
work on a (32, 256) array). Two primitives cut an LSTM step from about twenty nodes to
four (``RecurrentLinear``, ``LSTMUpdate`` and the two slices that take ``h`` and ``c``):

- ``RecurrentLinear``: z = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh in one node instead of seven
  (two transposes, two products, three sums).
- ``LSTMUpdate``: the gate nonlinearities and the new (h, c) from z and c in one node
  instead of about a dozen.

Measured on the LSTMCell(16, 64) benchmark (batch 32, 50 steps, forward + backward +
Adam, ``benchmarks/bench_lstm.py``): the composite cell (matrix products, sigmoid/tanh on
slices of z, products and sums) took 2.3x as long per training step as the cell built
from these two primitives.

Both backward functions are written with operators, slices, ``@`` and ``.sum`` only, so
they run on NumPy arrays in a plain backward pass and on Tensors (recorded) under
``create_graph=True``: second derivatives work.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..autograd.function import Function


class RecurrentLinear(Function):
    """z = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh (each of h, W_hh and the biases may be None).

    Shapes: x (B, in), h (B, H), W_ih (G, in), W_hh (G, H), biases (G,) -> z (B, G).
    With g = ∂L/∂z:  ∂L/∂x = g W_ih,  ∂L/∂h = g W_hh,  ∂L/∂W_ih = gᵀ x,  ∂L/∂W_hh = gᵀ h,
    ∂L/∂b_ih = ∂L/∂b_hh = Σ_batch g.
    """

    __slots__ = ()
    array_backward = True
    op_name = "recurrent_linear"

    @staticmethod
    def forward(ctx, x, h, w_ih, w_hh, b_ih=None, b_hh=None):
        z = x @ w_ih.T
        for term in (None if h is None else h @ w_hh.T, b_ih, b_hh):
            if term is not None:
                # in place when no promotion is needed: z is ours, one temporary fewer
                z = np.add(z, term, out=z if term.dtype == z.dtype else None)
        ctx.save_for_backward(x, h, w_ih, w_hh)
        return z

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
def _gate_constants(hidden: int, dtype: np.dtype) -> tuple[np.ndarray, ...]:
    """Per-column constants over the gates [i, f, g, o] (each ``hidden`` wide).

    σ(z) = ½ + ½·tanh(z/2), so one ``tanh`` of z·scale serves all four gates:
    act = tanh(z·scale)·slope + shift, with scale = slope = ½ and shift = ½ for the sigmoid
    gates and 1, 1, 0 for g. The derivative is then (1 - t²)·scale·slope for every column.
    (Near σ ≈ 0 this form is exact only to about the dtype's epsilon in absolute terms,
    like 1/(1 + e⁻ᶻ) near σ ≈ 1.)
    """
    def per_gate(sig: float, tanh: float) -> np.ndarray:
        col = np.full(4 * hidden, sig, dtype=dtype)
        col[2 * hidden:3 * hidden] = tanh
        col.flags.writeable = False  # shared between calls
        return col

    scale = per_gate(0.5, 1.0)
    shift = per_gate(0.5, 0.0)
    deriv = per_gate(0.25, 1.0)
    return scale, shift, deriv


def _concat(xs: list, axis: int):
    """``np.concatenate`` for arrays, the recorded ``cat`` when any piece is a Tensor."""
    if any(isinstance(x, Tensor) for x in xs):
        return Cat.apply(*xs, axis=axis)
    return np.concatenate(xs, axis=axis)


def _tanh(x):
    return x.tanh() if isinstance(x, Tensor) else np.tanh(x)


class LSTMUpdate(Function):
    """The LSTM cell update from pre-activation gates z = [z_i, z_f, z_g, z_o] (B, 4H) and
    the cell state c (B, H), returning [h', c'] side by side (B, 2H):

        i, f, o = σ(z_i), σ(z_f), σ(z_o);  g = tanh z_g;  c' = f·c + i·g;  h' = o·tanh c'.

    With a = ∂L/∂h', b = ∂L/∂c' and  b̃ = b + a·o·(1 - tanh² c'):
    ∂L/∂z_i = b̃·g·i(1-i),  ∂L/∂z_f = b̃·c·f(1-f),  ∂L/∂z_g = b̃·i·(1-g²),
    ∂L/∂z_o = a·tanh c'·o(1-o),  ∂L/∂c = b̃·f.
    """

    __slots__ = ()
    array_backward = True
    op_name = "lstm_update"

    @staticmethod
    def forward(ctx, z, c):
        hidden = c.shape[-1]
        scale, shift, _ = _gate_constants(hidden, z.dtype)
        t = np.tanh(z * scale)
        act = t * scale
        act += shift
        out = np.empty(z.shape[:-1] + (2 * hidden,), dtype=act.dtype)
        h_new, c_new = out[..., :hidden], out[..., hidden:]
        np.multiply(act[..., hidden:2 * hidden], c, out=c_new)
        c_new += act[..., :hidden] * act[..., 2 * hidden:3 * hidden]
        tc = np.tanh(c_new)
        np.multiply(act[..., 3 * hidden:], tc, out=h_new)
        ctx.save_for_backward(z, c, t, act, tc)
        return out

    @staticmethod
    def backward(ctx, grad):
        z, c, t, act, tc = ctx.saved_tensors
        hidden = c.shape[-1]
        scale, shift, deriv = _gate_constants(hidden, act.dtype)
        if isinstance(z, Tensor):
            # Recorded (create_graph) pass: t, act and tanh c' must depend on z and c in the
            # new graph, so rebuild them from the inputs with tensor operations.
            t = _tanh(z * scale)
            act = t * scale + shift
            tc = _tanh(act[..., hidden:2 * hidden] * c
                       + act[..., :hidden] * act[..., 2 * hidden:3 * hidden])
        i, f = act[..., :hidden], act[..., hidden:2 * hidden]
        g, o = act[..., 2 * hidden:3 * hidden], act[..., 3 * hidden:]
        dh, dc = grad[..., :hidden], grad[..., hidden:]
        dc = dc + dh * o * (1 - tc * tc)          # c' also reaches the loss through h'
        dact = _concat([dc * g, dc * c, dc * i, dh * tc], -1)
        dz = dact * ((1 - t * t) * deriv)
        return dz, (dc * f if ctx.needs_input_grad[1] else None)


from ..tensor import Tensor  # noqa: E402
from .shape import Cat  # noqa: E402
