"""Hypothesis strategies for shapes, arrays and tensors.

Values can be kept away from kinks (where a derivative jumps, e.g. 0 for relu) and from
the edges of a domain (e.g. 0 for log), so finite differences stay meaningful.

>>> from microgradnn.testing import strategies as st
>>> from hypothesis import given
>>> @given(st.tensors(shape=st.shapes(max_dims=2)))
... def test_double(x):
...     assert ((x + x).data == 2 * x.data).all()
>>> test_double()
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from hypothesis import assume, strategies as hst
from hypothesis.extra import numpy as hnp

from ..tensor import Tensor, _make

Shape = tuple[int, ...]


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 0,
           max_side: int = 4) -> hst.SearchStrategy[Shape]:
    """Array shapes, including 0-d (``()``) and size-0 ones when ``min_side`` is 0."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3,
                         min_side: int = 0, max_side: int = 4) -> hst.SearchStrategy[tuple[Shape, ...]]:
    """``num_shapes`` shapes that broadcast together (as NumPy's binary operations need)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda b: b.input_shapes)


def floats(low: float = -3.0, high: float = 3.0, avoid: Sequence[float] = (),
           margin: float = 1e-2) -> hst.SearchStrategy[float]:
    """Finite floats in [low, high], at least ``margin`` from every point in ``avoid``."""
    base = hst.floats(low, high, allow_nan=False, allow_infinity=False)
    if not avoid:
        return base
    return base.filter(lambda v: all(abs(v - k) >= margin for k in avoid))


def arrays(shape, dtype=np.float64, low: float = -3.0, high: float = 3.0,
           avoid: Sequence[float] = (), margin: float = 1e-2,
           distinct: bool = False) -> hst.SearchStrategy[np.ndarray]:
    """Float arrays of ``shape`` (a shape or a strategy for one) with bounded values.

    ``distinct=True`` keeps elements at least ``margin`` apart, so max/min/sort have no ties
    that a finite difference would straddle.
    """
    shape_st = shape if isinstance(shape, hst.SearchStrategy) else hst.just(tuple(shape))

    @hst.composite
    def build(draw):
        s = draw(shape_st)
        a = draw(hnp.arrays(dtype, s, elements=floats(low, high, avoid, margin)))
        if distinct and a.size > 1:
            v = np.sort(a.ravel())
            assume(np.min(np.diff(v)) >= margin)
        return a

    return build()


def tensors(shape=shapes(), dtype=np.float64, low: float = -3.0, high: float = 3.0,
            avoid: Sequence[float] = (), margin: float = 1e-2, distinct: bool = False,
            requires_grad: bool = True) -> hst.SearchStrategy[Tensor]:
    """Tensors (float64 and requiring grad by default) with values from :func:`arrays`."""
    return arrays(shape, dtype, low, high, avoid, margin, distinct).map(
        lambda a: _leaf(a, requires_grad))


def _leaf(a: np.ndarray, requires_grad: bool) -> Tensor:
    t = _make(np.ascontiguousarray(a), False, None)
    t.requires_grad = requires_grad
    return t
