"""The pieces every spec table row is made of: ``Case``, ``OpSpec`` and array drawing.

``tests/op_specs.py`` holds the table (``SPECS``); this module only defines the row format,
so that the rows for layers and fused primitives (``tests/op_specs_nn.py``) can share it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from microgradnn.testing import strategies as st

SMALL = dict(max_dims=3, max_side=3)


@dataclass
class Case:
    """One drawn example: the input arrays (each becomes a float64 leaf requiring grad),
    the operation on tensors, a NumPy reference on arrays and, for fused primitives, an
    ``oracle``: the same math written with plain Tensor operations, whose gradients the
    primitive's must equal."""

    arrays: list
    fn: Callable
    ref: Callable
    oracle: Callable | None = None


@dataclass
class OpSpec:
    """A row of the table: ``draw(data) -> Case``. ``second_order=False`` skips
    gradgradcheck; ``max_examples`` caps Hypothesis examples for slow rows."""

    name: str
    draw: Callable  # (hypothesis data) -> Case
    second_order: bool = True
    max_examples: int | None = None

    def __repr__(self) -> str:
        return self.name


def _arr(data, shape, low=-3.0, high=3.0, avoid=(), distinct=False):
    return data.draw(st.arrays(shape, low=low, high=high, avoid=avoid, margin=0.05,
                               distinct=distinct))
