"""Hypothesis strategies for shapes, arrays and tensors.

Values can be kept away from kinks (where a derivative jumps, e.g. 0 for relu) and from
the edges of a domain (e.g. 0 for log), so finite differences stay meaningful.

>>> from microgradnn.testing import strategies as st
>>> from hypothesis import HealthCheck, given, settings
>>> @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
... @given(st.tensors(shape=st.shapes(max_dims=2)))
... def test_double(x):
...     assert ((x + x).data == 2 * x.data).all()
>>> test_double()
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

try:
    from hypothesis import assume, strategies as hst
    from hypothesis.extra import numpy as hnp
except ImportError as e:  # a test dependency, not a dependency of microgradnn itself
    raise ImportError(
        "microgradnn.testing.strategies needs Hypothesis, which is not installed; from a "
        "checkout of microgradnn run: pip install -e '.[testing]' (or pip install hypothesis)"
    ) from e

from ..dtypes import get_default_dtype
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
    """Tensors (float64 and requiring grad by default) with values from :func:`arrays`,
    0-d and size-0 ones included. A drawn tensor's repr is the code that rebuilds it, so a
    falsifying example can be pasted back:

    >>> from hypothesis import HealthCheck, find, settings
    >>> quiet = settings(database=None, suppress_health_check=list(HealthCheck))  # a busy machine
    >>> find(tensors(shape=(2,)), lambda t: True, settings=quiet)
    mg.tensor([0.0, 0.0], dtype=mg.float64, requires_grad=True)
    """
    @hst.composite
    def build(draw):
        return _leaf(draw(arrays(shape, dtype, low, high, avoid, margin, distinct)), requires_grad)

    return build()


class DrawnTensor(Tensor):
    """A leaf tensor drawn by :func:`tensors`; only its repr differs from a Tensor's: it is
    Python code that makes an equal tensor."""

    __slots__ = ()

    def __repr__(self) -> str:
        dtype = f"mg.{self.dtype.name}"
        flag = ", requires_grad=True" if self.requires_grad else ""
        if self.numel() == 0:
            return f"mg.zeros({self.shape}, dtype={dtype}{flag})"
        # tolist() gives Python numbers, whose repr reads back exactly
        return f"mg.tensor({self.data.tolist()!r}, dtype={dtype}{flag})"


def _leaf(a: np.ndarray, requires_grad: bool) -> Tensor:
    # np.array, not np.ascontiguousarray: the latter turns a 0-d array into shape (1,)
    t = _make(np.array(a, order="C", copy=True), False, None)
    t.__class__ = DrawnTensor
    t.requires_grad = requires_grad
    return t


def module_inputs(module, max_batch: int = 3, max_side: int = 5, low: float = -2.0,
                  high: float = 2.0, dtype=None) -> hst.SearchStrategy[tuple]:
    """Valid inputs for one of our layers (or a container that starts with one): a tuple
    of arguments for ``module(*args)``, tensors of ``dtype`` (integer ids for
    ``Embedding``). By default the dtype of the module's parameters, since a layer
    refuses inputs of another float dtype, as in PyTorch (``gradcheck_module`` makes its
    own float64 copies of module and inputs).

    Knows Linear, Conv1d/Conv2d, ResidualBlock, BatchNorm1d/2d, LayerNorm, RNN/LSTM/GRU
    and their cells, Embedding, and Sequential/ModuleList/Residual by their first layer;
    raises TypeError for a module it cannot read a shape from.

    >>> from microgradnn import nn
    >>> from hypothesis import HealthCheck, find, settings
    >>> quiet = settings(database=None, suppress_health_check=list(HealthCheck))
    >>> find(module_inputs(nn.Linear(3, 2)), lambda args: True, settings=quiet)[0].shape
    (1, 3)
    """
    from .. import nn

    if dtype is None:
        dtype = next((p.dtype for p in module.parameters() if p.dtype.kind == "f"),
                     get_default_dtype())
    batch = hst.integers(1, max_batch)
    # the classes are looked up here, not imported at module level: strategies must not
    # pull the whole nn package into every import of microgradnn.testing
    if isinstance(module, (nn.Sequential, nn.ModuleList)):
        for child in module:
            try:
                return module_inputs(child, max_batch, max_side, low, high, dtype)
            except TypeError:
                continue  # an activation or a Flatten: the shape is decided further on
        raise TypeError(f"module_inputs: no layer of {type(module).__name__} tells the input shape")
    if isinstance(module, nn.Residual):
        return module_inputs(module.module, max_batch, max_side, low, high, dtype)

    def floats_of(*shape_parts):
        return hst.tuples(*shape_parts).flatmap(
            lambda shape: tensors(shape=tuple(shape), dtype=dtype, low=low, high=high)).map(
                lambda t: (t,))

    fixed = hst.just
    if isinstance(module, nn.Linear):
        return floats_of(batch, fixed(module.in_features))
    if isinstance(module, nn.ResidualBlock):
        side = hst.integers(1, max_side)
        # batch norm in training needs more than one value per channel, even at 1×1
        return floats_of(hst.integers(2, max_batch + 1), fixed(module.in_channels), side, side)
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        if isinstance(module.padding, str):
            pads = (0,) * len(module.kernel_size)
        else:
            pads = module.padding
        sides = [hst.integers(max(1, d * (k - 1) + 1 - 2 * p), max(1, d * (k - 1) + 1 - 2 * p) + 3)
                 for k, d, p in zip(module.kernel_size, module.dilation, pads)]
        return floats_of(batch, fixed(module.in_channels), *sides)
    if isinstance(module, nn.BatchNorm2d):
        side = hst.integers(1, 3)
        return floats_of(hst.integers(2, max_batch + 1), fixed(module.num_features), side, side)
    if isinstance(module, nn.BatchNorm1d):
        return floats_of(hst.integers(2, max_batch + 1), fixed(module.num_features))
    if isinstance(module, nn.LayerNorm):
        return floats_of(batch, *map(fixed, module.normalized_shape))
    if isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):
        steps = hst.integers(1, 3)
        first = (batch, steps) if module.batch_first else (steps, batch)
        return floats_of(*first, fixed(module.input_size))
    if isinstance(module, (nn.RNNCell, nn.LSTMCell, nn.GRUCell)):
        return floats_of(batch, fixed(module.input_size))
    if isinstance(module, nn.Embedding):
        n = module.num_embeddings
        return hst.lists(hst.integers(0, n - 1), min_size=1, max_size=6).map(
            lambda ids: (_make(np.array(ids, dtype=np.int64), False, None),))
    raise TypeError(f"module_inputs: cannot tell the input shape of a {type(module).__name__}; "
                    "draw its inputs with tensors(shape=...)")
