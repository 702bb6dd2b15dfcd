"""Recurrent layers: the cells ``RNNCell``, ``LSTMCell``, ``GRUCell`` (one time step) and
``RNN``, ``LSTM``, ``GRU`` (whole sequences, stacked layers), with PyTorch's arguments,
parameter names and shapes, gate order and initialisation U(-1/√hidden, 1/√hidden).

Backpropagation through time needs nothing special: the loop over time steps records
one small graph per step, and ``backward()`` walks it back to the first step.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import dtypes
from ..creation import generator
from ..ops.shape import GetItem, Stack
from ..tensor import Tensor
from . import functional as F
from .module import Module, Parameter

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_CELL_FN = {"RNN_TANH": F.rnn_tanh_cell, "RNN_RELU": F.rnn_relu_cell,
            "LSTM": F.lstm_cell, "GRU": F.gru_cell}


def _check_size(cls: str, name: str, value) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{cls}: {name} must be a non-negative int, got {value!r}")
    return int(value)


def _uniform_init(module: Module, hidden_size: int) -> None:
    """PyTorch's recurrent initialisation: every parameter from U(-1/√H, 1/√H)."""
    k = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    gen = generator()
    for p in module.parameters():
        p.data = gen.uniform(-k, k, size=p.shape).astype(p.dtype)


def _parameter(shape: tuple, dtype) -> Parameter:
    return Parameter(np.zeros(shape, dtype=dtypes.get_default_dtype() if dtype is None else dtype))


# ---------------------------------------------------------------------------- cells
class _CellBase(Module):
    """Parameters shared by the cells: weight_ih (G·H, in), weight_hh (G·H, H), biases (G·H,)."""

    _mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, *, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = _check_size(name, "input_size", input_size)
        self.hidden_size = _check_size(name, "hidden_size", hidden_size)
        self.bias = bool(bias)
        rows = _GATES[self._mode] * self.hidden_size
        self.weight_ih = _parameter((rows, self.input_size), dtype)
        self.weight_hh = _parameter((rows, self.hidden_size), dtype)
        if self.bias:
            self.bias_ih = _parameter((rows,), dtype)
            self.bias_hh = _parameter((rows,), dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every weight and bias from U(-1/√hidden_size, 1/√hidden_size)."""
        _uniform_init(self, self.hidden_size)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        return s


class RNNCell(_CellBase):
    """One Elman RNN step: h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or ReLU).

    Input (B, input_size) or (input_size,); ``hx`` like it with ``hidden_size`` features
    (None: zeros). Returns h'. Parameters: weight_ih (H, in), weight_hh (H, H), bias_ih and
    bias_hh (H,).

    >>> import microgradnn as mg
    >>> cell = mg.nn.RNNCell(3, 5)
    >>> cell(mg.zeros((2, 3))).shape
    (2, 5)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", *, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        fn = F.rnn_tanh_cell if self.nonlinearity == "tanh" else F.rnn_relu_cell
        return fn(input, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity}"


class LSTMCell(_CellBase):
    """One LSTM step (gates i, f, g, o): returns (h', c') with c' = f·c + i·g, h' = o·tanh c'.

    Input (B, input_size) or (input_size,); ``hx = (h, c)``, each like the input with
    ``hidden_size`` features (None: zeros). Parameters: weight_ih (4H, in), weight_hh
    (4H, H), bias_ih and bias_hh (4H,). The four gates come from one matrix product per
    operand and one fused elementwise update (``F.lstm_cell``).

    >>> import microgradnn as mg
    >>> cell = mg.nn.LSTMCell(3, 5)
    >>> h, c = cell(mg.zeros((2, 3)))
    >>> h.shape, c.shape
    ((2, 5), (2, 5))
    """

    _mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, dtype=dtype)

    def forward(self, input: Tensor,
                hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        return F.lstm_cell(input, hx, self.weight_ih, self.weight_hh, self.bias_ih,
                           self.bias_hh)


class GRUCell(_CellBase):
    """One GRU step (gates r, z, n): n = tanh(x W_inᵀ + b_in + r·(h W_hnᵀ + b_hn)),
    h' = (1 - z)·n + z·h.

    Input (B, input_size) or (input_size,); ``hx`` like it with ``hidden_size`` features
    (None: zeros). Parameters: weight_ih (3H, in), weight_hh (3H, H), biases (3H,).

    >>> import microgradnn as mg
    >>> mg.nn.GRUCell(3, 5)(mg.zeros(3)).shape
    (5,)
    """

    _mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return F.gru_cell(input, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


# ---------------------------------------------------------------------------- sequences
class _RNNBase(Module):
    """Stacked unidirectional recurrent layers over a sequence."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, *, dtype=None) -> None:
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if bidirectional:
            raise NotImplementedError(
                f"{name}: bidirectional=True is not supported (only unidirectional layers); "
                "run a second layer on the reversed sequence and concatenate the outputs")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size={proj_size!r} is not supported "
                                      "(LSTM projections are not implemented)")
        self.mode = mode
        self.input_size = _check_size(name, "input_size", input_size)
        self.hidden_size = _check_size(name, "hidden_size", hidden_size)
        if self.hidden_size == 0:
            raise ValueError(f"{name}: hidden_size must be positive, got 0")
        if not isinstance(num_layers, (int, np.integer)) or isinstance(num_layers, bool) \
                or num_layers < 1:
            raise ValueError(f"{name}: num_layers must be a positive int, got {num_layers!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
                or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout={dropout} acts between stacked layers, so with "
                          "num_layers=1 it has no effect", UserWarning, stacklevel=3)
        self.num_layers = int(num_layers)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = False
        self.proj_size = 0
        rows = _GATES[mode] * self.hidden_size
        for layer in range(self.num_layers):
            in_size = self.input_size if layer == 0 else self.hidden_size
            setattr(self, f"weight_ih_l{layer}", _parameter((rows, in_size), dtype))
            setattr(self, f"weight_hh_l{layer}", _parameter((rows, self.hidden_size), dtype))
            if self.bias:
                setattr(self, f"bias_ih_l{layer}", _parameter((rows,), dtype))
                setattr(self, f"bias_hh_l{layer}", _parameter((rows,), dtype))
        self.reset_parameters()

    @property
    def _cls(self) -> str:
        return type(self).__name__

    def reset_parameters(self) -> None:
        """Draw every weight and bias from U(-1/√hidden_size, 1/√hidden_size)."""
        _uniform_init(self, self.hidden_size)

    def _layer_params(self, layer: int) -> tuple:
        p = self._parameters
        return (p[f"weight_ih_l{layer}"], p[f"weight_hh_l{layer}"],
                p.get(f"bias_ih_l{layer}"), p.get(f"bias_hh_l{layer}"))

    def _check_input(self, input) -> tuple[bool, int, int]:
        """Return (unbatched, seq_len, batch) or raise naming the expected shape."""
        if not isinstance(input, Tensor):
            raise TypeError(f"{self._cls}: input must be a Tensor, got {type(input).__name__}")
        layout = "(batch, seq, {0})" if self.batch_first else "(seq, batch, {0})"
        expected = f"{layout.format(self.input_size)} or (seq, {self.input_size})"
        shape = input.shape
        if input.ndim not in (2, 3) or shape[-1] != self.input_size:
            raise ValueError(f"{self._cls}: input must be {expected}, got {shape}")
        if input.ndim == 2:
            return True, shape[0], 1
        seq, batch = (shape[1], shape[0]) if self.batch_first else (shape[0], shape[1])
        return False, seq, batch

    def _check_state(self, name: str, h, unbatched: bool, batch: int):
        if h is None:
            return None
        if not isinstance(h, Tensor):
            raise TypeError(f"{self._cls}: {name} must be a Tensor, got {type(h).__name__}")
        want = ((self.num_layers, self.hidden_size) if unbatched
                else (self.num_layers, batch, self.hidden_size))
        if h.shape != want:
            kind = "unbatched " if unbatched else ""
            raise ValueError(f"{self._cls}: {name} must be {want} for {kind}input of "
                             f"batch {batch}, got {h.shape}")
        return h.reshape((self.num_layers, 1, self.hidden_size)) if unbatched else h

    def _dropout_masks(self, seq: int, batch: int, dtype) -> np.ndarray | None:
        """Inverted-dropout masks for one layer's outputs, (seq, batch, H), or None."""
        p = self.dropout
        if not self.training or p == 0:
            return None
        if p == 1:
            return np.zeros((seq, batch, self.hidden_size), dtype=dtype)
        keep = generator().random((seq, batch, self.hidden_size)) >= p
        return (keep / (1 - p)).astype(dtype)

    def _run(self, input: Tensor, hx):
        """Run all layers; ``hx`` is a list of per-state tensors (num_layers, B, H) or None."""
        unbatched, seq, batch = self._check_input(input)
        if seq == 0:
            raise ValueError(f"{self._cls}: the input sequence is empty (shape {input.shape})")
        x = input.reshape((seq, 1, self.input_size)) if unbatched else input
        time_axis = 1 if self.batch_first and not unbatched else 0
        steps = [GetItem.apply(x, index=(slice(None), t) if time_axis else t)
                 for t in range(seq)]
        cell = _CELL_FN[self.mode]
        lstm = self.mode == "LSTM"
        finals: list[list[Tensor]] = [[] for _ in hx]
        for layer in range(self.num_layers):
            params = self._layer_params(layer)
            state = [None if s is None else GetItem.apply(s, index=layer) for s in hx]
            outs = []
            for xt in steps:
                if lstm:
                    pair = None if state[0] is None and state[1] is None else tuple(state)
                    state = list(cell(xt, pair, *params))
                    outs.append(state[0])
                else:
                    state = [cell(xt, state[0], *params)]
                    outs.append(state[0])
            for f, s in zip(finals, state):
                f.append(s)
            masks = self._dropout_masks(seq, batch, outs[0].dtype) \
                if layer < self.num_layers - 1 else None
            steps = outs if masks is None else [o * m for o, m in zip(outs, masks)]
        output = Stack.apply(*steps, axis=time_axis)
        states = [Stack.apply(*f, axis=0) for f in finals]
        if unbatched:
            output = output.reshape((seq, self.hidden_size))
            states = [s.reshape((self.num_layers, self.hidden_size)) for s in states]
        return output, states

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity=relu"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        return s


class RNN(_RNNBase):
    """Stacked Elman RNN layers over a sequence, each layer's outputs the next layer's
    inputs: h(t) = tanh(x(t) W_ihᵀ + b_ih + h(t-1) W_hhᵀ + b_hh) (or ReLU).

    Input (seq, batch, input_size), (batch, seq, input_size) with ``batch_first``, or
    unbatched (seq, input_size); ``hx`` (num_layers, batch, hidden_size) or None (zeros).
    Returns (output, h_n): output (seq, batch, hidden_size) (batch first if asked), the last
    layer's h_t for every t; h_n (num_layers, batch, hidden_size), every layer's last h.
    ``dropout`` is applied to the outputs of every layer but the last, in training mode.
    Parameters weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} as PyTorch's.
    Only unidirectional layers: ``bidirectional=True`` raises NotImplementedError.

    >>> import microgradnn as mg
    >>> rnn = mg.nn.RNN(3, 5, num_layers=2)
    >>> out, h_n = rnn(mg.zeros((7, 2, 3)))
    >>> out.shape, h_n.shape
    ((7, 2, 5), (2, 2, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, *, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        unbatched, _, batch = self._check_input(input)
        output, (h_n,) = self._run(input, [self._check_state("hx", hx, unbatched, batch)])
        return output, h_n


class LSTM(_RNNBase):
    """Stacked LSTM layers over a sequence (gates i, f, g, o as :class:`LSTMCell`).

    Input (seq, batch, input_size), (batch, seq, input_size) with ``batch_first``, or
    unbatched (seq, input_size); ``hx = (h_0, c_0)``, each (num_layers, batch, hidden_size),
    or None (zeros). Returns (output, (h_n, c_n)) with output (seq, batch, hidden_size)
    (batch first if asked) and h_n, c_n (num_layers, batch, hidden_size). ``dropout`` acts
    between layers in training mode. Parameter names as PyTorch's; ``bidirectional`` and
    ``proj_size`` are not supported (NotImplementedError).

    >>> import microgradnn as mg
    >>> lstm = mg.nn.LSTM(3, 5, batch_first=True)
    >>> out, (h_n, c_n) = lstm(mg.zeros((2, 7, 3)))
    >>> out.shape, h_n.shape, c_n.shape
    ((2, 7, 5), (1, 2, 5), (1, 2, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, *, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, dtype=dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        unbatched, _, batch = self._check_input(input)
        if hx is None:
            states = [None, None]
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"LSTM: hx must be a pair (h_0, c_0) or None, got "
                                f"{type(hx).__name__}")
            states = [self._check_state("h_0", hx[0], unbatched, batch),
                      self._check_state("c_0", hx[1], unbatched, batch)]
        output, (h_n, c_n) = self._run(input, states)
        return output, (h_n, c_n)


class GRU(_RNNBase):
    """Stacked GRU layers over a sequence (gates r, z, n as :class:`GRUCell`).

    Shapes, ``hx``, ``batch_first`` and ``dropout`` as :class:`RNN`; returns (output, h_n).

    >>> import microgradnn as mg
    >>> out, h_n = mg.nn.GRU(3, 5)(mg.zeros((7, 3)))
    >>> out.shape, h_n.shape
    ((7, 5), (1, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, *, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        unbatched, _, batch = self._check_input(input)
        output, (h_n,) = self._run(input, [self._check_state("hx", hx, unbatched, batch)])
        return output, h_n
