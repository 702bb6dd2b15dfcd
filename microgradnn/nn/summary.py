"""``summary(model, input_shape)``: a table of layers, output shapes and parameter counts.

The model runs once on zeros, in evaluation mode and without recording a graph; every
module call becomes a row, in the order the calls start. Each parameter is counted once,
in the first row whose module owns it (shared layers do not count twice).
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np

from .. import dtypes
from ..autograd import no_grad
from ..tensor import Tensor, _make
from .module import Module

__all__ = ["summary", "Summary", "Row"]


class Row(NamedTuple):
    """One module call: dotted name ("" for the model itself), class name, output shape
    (a tuple, or a list of them for several outputs), parameters first counted here, and
    whether the module has children (its parameters are then counted in theirs)."""

    name: str
    type: str
    output_shape: Any
    num_params: int
    container: bool
    shared: bool = False


class Summary:
    """The result of :func:`summary`: ``rows``, ``total_params``, ``trainable_params``,
    ``non_trainable_params``; ``str()`` (and ``print``) gives the table."""

    def __init__(self, model: Module, input_shapes: list, rows: list[Row]) -> None:
        self.model_type = type(model).__name__
        self.input_shapes = input_shapes
        self.rows = rows
        params = list(model.parameters())
        self.total_params = int(sum(p.numel() for p in params))
        self.trainable_params = int(sum(p.numel() for p in params if p.requires_grad))
        self.non_trainable_params = self.total_params - self.trainable_params

    def _cells(self, row: Row) -> tuple[str, str, str]:
        label = f"{row.name} ({row.type})" if row.name else row.type
        if row.container and row.num_params == 0:
            count = "--"
        elif row.shared and row.num_params == 0:
            count = "(shared)"
        else:
            count = f"{row.num_params:,}"
        return label, _format_shape(row.output_shape), count

    def __str__(self) -> str:
        head = ("Layer (type)", "Output shape", "Param #")
        cells = [self._cells(r) for r in self.rows]
        w = [max([len(head[i])] + [len(c[i]) for c in cells]) for i in range(3)]
        line = lambda c: f"{c[0]:<{w[0]}}  {c[1]:<{w[1]}}  {c[2]:>{w[2]}}"  # noqa: E731
        width = w[0] + w[1] + w[2] + 4
        out = [line(head), "=" * width]
        out += [line(c) for c in cells]
        out += ["=" * width,
                f"Total params: {self.total_params:,}",
                f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.non_trainable_params:,}"]
        return "\n".join(out)

    __repr__ = __str__


def _format_shape(shape) -> str:
    if shape is None:
        return "-"
    if isinstance(shape, list):
        return "[" + ", ".join(_format_shape(s) for s in shape) + "]"
    if isinstance(shape, tuple):
        return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    return str(shape)


def _output_shape(out):
    if isinstance(out, Tensor):
        return tuple(out.shape)
    if isinstance(out, (tuple, list)):
        return [_output_shape(o) for o in out]
    if isinstance(out, np.ndarray):
        return tuple(out.shape)
    return type(out).__name__


def _shapes(input_shape) -> list[tuple[int, ...]]:
    """One shape, or a list/tuple of shapes for a model with several inputs."""
    if isinstance(input_shape, (int, np.integer)):
        return [(int(input_shape),)]
    seq = list(input_shape)
    if seq and all(isinstance(s, (tuple, list)) for s in seq):
        return [tuple(int(v) for v in s) for s in seq]
    if all(isinstance(s, (int, np.integer)) for s in seq):
        return [tuple(int(v) for v in seq)]
    raise TypeError(f"summary: input_shape must be a tuple of ints (batch included) or a "
                    f"list of such tuples, got {input_shape!r}")


def summary(model: Module, input_shape: Sequence[int] | Sequence[Sequence[int]],
            dtype=None) -> Summary:
    """Run ``model`` once on zeros of ``input_shape`` (batch included; a list of shapes for
    several inputs) and tabulate every layer: dotted name and type, output shape, and
    number of parameters. ``dtype`` is the input's dtype (the default float dtype unless
    given; use an integer dtype for models that start with an ``Embedding``).

    Parameters are counted once each, in the first row of the module that owns them;
    rows of modules with children show ``--`` (their parameters are in the children's
    rows), a second call of a shared layer shows ``(shared)``. Modules that the forward
    pass never calls have no row, but their parameters are in the totals. Training mode is
    restored afterwards and no graph is recorded.

    The lecture's question, 10 inputs, two hidden layers of 10 and 10 outputs:

    >>> from microgradnn import nn
    >>> net = nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 10), nn.ReLU(),
    ...                     nn.Linear(10, 10))
    >>> s = nn.summary(net, (1, 10))
    >>> s.total_params
    330
    >>> print(s)
    Layer (type)  Output shape  Param #
    ===================================
    0 (Linear)    (1, 10)           110
    1 (ReLU)      (1, 10)             0
    2 (Linear)    (1, 10)           110
    3 (ReLU)      (1, 10)             0
    4 (Linear)    (1, 10)           110
    ===================================
    Total params: 330
    Trainable params: 330
    Non-trainable params: 0
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: model must be an nn.Module, got {type(model).__name__}")
    shapes = _shapes(input_shape)
    dt = dtypes.get_default_dtype() if dtype is None else np.dtype(dtype)
    inputs = [_make(np.zeros(s, dtype=dt), False, None) for s in shapes]

    modules = list(model.named_modules())
    show_root = not any(True for _ in model.children())
    records: list[list] = []      # [name, module, output shape], in call order
    saved = []                    # (module, instance forward or None) to restore
    training = [(m, m.training) for _, m in modules]

    def wrap(name: str, m: Module):
        bound = m.forward

        def forward(*args, **kwargs):
            rec = [name, m, None]
            if m is not model or show_root:
                records.append(rec)   # appended before the call: rows in call order
            out = bound(*args, **kwargs)
            rec[2] = _output_shape(out)
            return out

        return forward

    try:
        for name, m in modules:
            saved.append((m, m.__dict__.get("forward")))
            object.__setattr__(m, "forward", wrap(name, m))
        model.eval()
        with no_grad():
            model(*inputs)
    finally:
        for m, original in saved:
            if original is None:
                object.__delattr__(m, "forward")
            else:
                object.__setattr__(m, "forward", original)
        for m, mode in training:
            m.__dict__["training"] = mode

    counted: set[int] = set()
    rows = []
    for name, m, out_shape in records:
        own = [p for p in m._parameters.values() if p is not None]
        new = [p for p in own if id(p) not in counted]
        counted.update(id(p) for p in new)
        rows.append(Row(name, type(m).__name__, out_shape, int(sum(p.numel() for p in new)),
                        container=any(True for _ in m.children()),
                        shared=bool(own) and not new))
    return Summary(model, shapes, rows)
