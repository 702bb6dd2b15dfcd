"""The table of operation specs that drives the property tests in test_ops.py: every
primitive (every ``Function`` subclass in microgradnn) and the composite operations.

Each spec draws inputs (NumPy arrays) and returns a ``Case``: the inputs, the operation
written with microgradnn (taking tensors), and a NumPy reference (taking arrays).
Values stay inside each operation's domain and away from its kinks, so central finite
differences are meaningful.
"""
from __future__ import annotations

import numpy as np
from hypothesis import assume, strategies as hst

import microgradnn as mg
from microgradnn.testing import strategies as st

from spec_kit import SMALL, Case, OpSpec, _arr  # noqa: F401  (the row format)
from op_specs_nn import NN_BRANCH_ROWS, NN_SPECS


def unary(name, fn, ref, low=-3.0, high=3.0, avoid=(), second_order=True, **shape_kw):
    def draw(data):
        shape = data.draw(st.shapes(**{**SMALL, **shape_kw}))
        return Case([_arr(data, shape, low, high, avoid)], fn, ref)
    return OpSpec(name, draw, second_order)


def binary(name, fn, ref, lows=(-3.0, -3.0), highs=(3.0, 3.0), avoid=((), ()),
           no_ties=False):
    def draw(data):
        sa, sb = data.draw(st.broadcastable_shapes(2, **SMALL))
        a = _arr(data, sa, lows[0], highs[0], avoid[0])
        b = _arr(data, sb, lows[1], highs[1], avoid[1])
        if no_ties:
            assume(np.all(np.abs(np.subtract(a, b)) > 0.05))
        return Case([a, b], fn, ref)
    return OpSpec(name, draw)


def reduction(name, fn, ref, distinct=False, nonempty=False, min_side=0, min_dims=0,
              min_reduced=0, second_order=True):
    """fn(x, axis, keepdims) / ref(x, axis, keepdims) with a drawn axis and keepdims."""
    def draw(data):
        shape = data.draw(st.shapes(min_dims=min_dims, max_dims=3, max_side=3, min_side=min_side))
        x = _arr(data, shape, distinct=distinct)
        axis = data.draw(_axes(len(shape)))
        keepdims = data.draw(hst.booleans())
        reduced = [shape[a] for a in (range(len(shape)) if axis is None else np.atleast_1d(axis))]
        if nonempty:
            assume(all(n > 0 for n in reduced) and x.size > 0)
        # std of a single value is 0, where its derivative (of a square root) is infinite
        assume(int(np.prod(reduced)) >= min_reduced)
        return Case([x], lambda t: fn(t, axis, keepdims), lambda a: ref(a, axis, keepdims))
    return OpSpec(name, draw, second_order)


def _axes(ndim):
    if ndim == 0:
        return hst.sampled_from([None, ()])
    single = hst.integers(-ndim, ndim - 1)
    several = hst.lists(hst.integers(0, ndim - 1), unique=True, max_size=ndim).map(tuple)
    return hst.one_of(hst.none(), single, several)


def _np_var(a, axis, keepdims):
    return np.var(a, axis=axis, keepdims=keepdims, ddof=1)


def _np_logsumexp(a, axis, keepdims):
    m = np.max(a, axis=axis, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):  # log 0 = -inf: the sum over an empty axis
        s = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return s if keepdims else np.squeeze(s, axis=axis if axis is not None else None) if a.ndim else s.reshape(())


def _np_softmax(a, axis):
    e = np.exp(a - np.max(a, axis=axis, keepdims=True, initial=-np.inf))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_like(name, fn, ref):
    def draw(data):
        shape = data.draw(st.shapes(min_dims=1, max_dims=3, max_side=3))
        x = _arr(data, shape)
        axis = data.draw(hst.integers(-len(shape), len(shape) - 1))
        return Case([x], lambda t: fn(t, axis), lambda a: ref(a, axis))
    return OpSpec(name, draw)


MATMUL_SHAPES = {  # (n, k, m, b) -> operand shapes; one spec per kind, so every branch runs
    "vv": lambda n, k, m, b: ((k,), (k,)), "vm": lambda n, k, m, b: ((k,), (k, m)),
    "mv": lambda n, k, m, b: ((n, k), (k,)), "mm": lambda n, k, m, b: ((n, k), (k, m)),
    "bmm": lambda n, k, m, b: ((b, n, k), (k, m)), "bmv": lambda n, k, m, b: ((b, n, k), (k,)),
    "bcast": lambda n, k, m, b: ((b, 1, n, k), (2, k, m)), "bv": lambda n, k, m, b: ((k,), (b, k, m)),
}


def matmul_spec(kind):
    def draw(data):
        # sides from 1 to 4, distinct n, k, m where possible so a transpose cannot pass
        n, k, m, b = (data.draw(hst.integers(1, 4)) for _ in range(4))
        a, c = (_arr(data, s) for s in MATMUL_SHAPES[kind](n, k, m, b))
        return Case([a, c], lambda x, y: x @ y, np.matmul)
    return OpSpec(f"matmul_{kind}", draw)


def getitem_spec():
    def draw(data):
        shape = data.draw(st.shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
        x = _arr(data, shape)
        kind = data.draw(hst.sampled_from(["slice", "int", "none_ellipsis", "int_array", "mask",
                                           "mixed"]))
        n0 = shape[0]
        if kind == "slice":
            start = data.draw(hst.integers(-n0, n0))
            step = data.draw(hst.sampled_from([1, 2, -1]))
            idx = (slice(start, None, step),)
        elif kind == "int":
            idx = (data.draw(hst.integers(-n0, n0 - 1)),)
        elif kind == "none_ellipsis":
            idx = (None, Ellipsis, slice(None, None, -1))
        elif kind == "int_array":  # repeated indices must accumulate
            idx = (np.array(data.draw(hst.lists(hst.integers(-n0, n0 - 1), min_size=0, max_size=5)),
                            dtype=np.intp),)
        elif kind == "mask":
            idx = (np.array(data.draw(hst.lists(hst.booleans(), min_size=n0, max_size=n0))),)
        else:
            idx = (Ellipsis, np.array([0, 0, -1]))
        return Case([x], lambda t: t[idx], lambda a: a[idx])
    return OpSpec("getitem", draw)


def _perm(data, ndim):
    return tuple(data.draw(hst.permutations(range(ndim))))


def shape_spec(name, make):
    """make(data, shape) -> (fn, ref)."""
    def draw(data):
        shape = data.draw(st.shapes(**SMALL))
        x = _arr(data, shape)
        fn, ref = make(data, shape)
        return Case([x], fn, ref)
    return OpSpec(name, draw)


def _transpose(data, shape):
    p = _perm(data, len(shape))
    return (lambda t: t.transpose(p)), (lambda a: a.transpose(p))


def _reshape(data, shape):
    return (lambda t: t.reshape(-1)), (lambda a: a.reshape(-1))


def _unsqueeze(data, shape):
    d = data.draw(hst.integers(-len(shape) - 1, len(shape)))
    return (lambda t: t.unsqueeze(d)), (lambda a: np.expand_dims(a, d))


def _squeeze(data, shape):
    return (lambda t: t.reshape((1,) + shape + (1,)).squeeze()), (lambda a: np.squeeze(a.reshape((1,) + shape + (1,))))


def _flatten(data, shape):
    if not shape:
        return (lambda t: t.flatten()), (lambda a: a.reshape(1))
    s = data.draw(hst.integers(0, len(shape) - 1))
    e = data.draw(hst.integers(s, len(shape) - 1))
    new = shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:]
    return (lambda t: t.flatten(s, e)), (lambda a: a.reshape(new))


def _broadcast(data, shape):
    target = (2,) + tuple(3 if s == 1 else s for s in shape)
    return (lambda t: t.broadcast_to(target)), (lambda a: np.broadcast_to(a, target))


def _pad(data, shape):
    pw = tuple((data.draw(hst.integers(0, 2)), data.draw(hst.integers(0, 2))) for _ in shape)
    return (lambda t: mg.pad(t, pw, 0.5)), (
        lambda a: np.pad(a, pw, constant_values=0.5) if a.ndim else a.copy())


def _T(data, shape):
    return (lambda t: t.T), (lambda a: a.T)


def join_spec(name, row=None, inner=False):
    """``inner=True`` (cat): two or three non-empty pieces joined along an axis after the
    first, so every run checks that each piece gets its own slice of the gradient along
    the right axis (with one piece, or along axis 0, a wrong slice can pass for the
    right one; the first drawn example always has one piece)."""
    def draw(data):
        if inner:
            shape = data.draw(st.shapes(min_dims=2, max_dims=3, min_side=1, max_side=3))
            n = data.draw(hst.integers(2, 3))
            axis = data.draw(hst.integers(1, len(shape) - 1))
        else:
            shape = data.draw(st.shapes(min_dims=1, max_dims=3, max_side=3))
            n = data.draw(hst.integers(1, 3))
            axis = data.draw(hst.integers(-len(shape), len(shape) - 1))
        arrays = []
        for _ in range(n):
            s = list(shape)
            if name == "cat":
                s[axis] = data.draw(hst.integers(1 if inner else 0, 3))
            arrays.append(_arr(data, tuple(s)))
        if name == "cat":
            return Case(arrays, lambda *ts: mg.cat(list(ts), axis=axis),
                        lambda *a: np.concatenate(a, axis=axis))
        ax = data.draw(hst.integers(-len(shape) - 1, len(shape)))
        return Case(arrays, lambda *ts: mg.stack(list(ts), axis=ax), lambda *a: np.stack(a, axis=ax))
    return OpSpec(row or name, draw)


def split_spec():
    def draw(data):
        shape = data.draw(st.shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
        x = _arr(data, shape)
        size = data.draw(hst.integers(1, 4))
        # Join the pieces back with different weights, so each piece's gradient matters.
        def fn(t):
            return mg.cat([p * (i + 1) for i, p in enumerate(t.split(size))], axis=0)

        def ref(a):
            pieces = [a[i:i + size] for i in range(0, a.shape[0], size)]
            return np.concatenate([p * (i + 1) for i, p in enumerate(pieces)], axis=0)
        return Case([x], fn, ref)
    return OpSpec("split", draw)


def where_spec():
    def draw(data):
        sc, sa, sb = data.draw(st.broadcastable_shapes(3, **SMALL))
        cond = data.draw(st.arrays(sc)) > 0
        a, b = _arr(data, sa), _arr(data, sb)
        return Case([a, b], lambda x, y: mg.where(mg.tensor(cond), x, y),
                    lambda x, y: np.where(cond, x, y))
    return OpSpec("where", draw)


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


POS = dict(low=0.2, high=4.0)

SPECS = [
    binary("add", lambda a, b: a + b, np.add),
    binary("sub", lambda a, b: a - b, np.subtract),
    binary("mul", lambda a, b: a * b, np.multiply),
    binary("div", lambda a, b: a / b, np.divide, lows=(-3, 0.3), highs=(3, 3)),
    binary("pow", lambda a, b: a ** b, np.power, lows=(0.3, -2), highs=(3, 2)),
    binary("maximum", mg.maximum, np.maximum, no_ties=True),
    binary("minimum", mg.minimum, np.minimum, no_ties=True),
    where_spec(),
    unary("scalar_radd", lambda t: 2.5 + t, lambda a: 2.5 + a),
    unary("scalar_rsub", lambda t: 2.5 - t, lambda a: 2.5 - a),
    unary("scalar_rmul", lambda t: 2.5 * t, lambda a: 2.5 * a),
    unary("scalar_rdiv", lambda t: 2.5 / t, lambda a: 2.5 / a, **POS),
    unary("scalar_pow", lambda t: t ** 3, lambda a: a ** 3),
    unary("scalar_fractional_pow", lambda t: t ** 0.5, lambda a: a ** 0.5, **POS),
    unary("scalar_rpow", lambda t: 2.0 ** t, lambda a: 2.0 ** a),
    unary("neg", lambda t: -t, np.negative),
    unary("abs", mg.abs, np.abs, avoid=(0,)),
    unary("exp", mg.exp, np.exp),
    unary("log", mg.log, np.log, **POS),
    unary("sqrt", mg.sqrt, np.sqrt, **POS),
    unary("sin", mg.sin, np.sin),
    unary("cos", mg.cos, np.cos),
    unary("tanh", mg.tanh, np.tanh),
    unary("sigmoid", mg.sigmoid, _sigmoid),
    unary("relu", mg.relu, lambda a: np.maximum(a, 0), avoid=(0,)),
    unary("leaky_relu", lambda t: mg.leaky_relu(t, 0.1), lambda a: np.where(a > 0, a, 0.1 * a),
          avoid=(0,)),
    unary("heaviside", mg.heaviside, lambda a: np.heaviside(a, 0.0), avoid=(0,)),
    unary("clip", lambda t: mg.clip(t, -1, 1.5), lambda a: np.clip(a, -1, 1.5), avoid=(-1, 1.5)),
    *[matmul_spec(kind) for kind in MATMUL_SHAPES],
    *NN_SPECS,  # layers, losses, fused and internal primitives: tests/op_specs_nn.py
    reduction("sum", lambda t, ax, k: t.sum(ax, k), lambda a, ax, k: np.sum(a, ax, keepdims=k)),
    reduction("mean", lambda t, ax, k: t.mean(ax, k), lambda a, ax, k: np.mean(a, ax, keepdims=k),
              nonempty=True),
    # amax/amin take several axes; max/min over one dim also return indices (PyTorch)
    reduction("max", lambda t, ax, k: t.amax(ax, k), lambda a, ax, k: np.max(a, ax, keepdims=k),
              distinct=True, nonempty=True),
    reduction("min", lambda t, ax, k: t.amin(ax, k), lambda a, ax, k: np.min(a, ax, keepdims=k),
              distinct=True, nonempty=True),
    # unbiased by default (PyTorch): n - 1 in the denominator, so at least 2 values
    reduction("var", lambda t, ax, k: t.var(ax, keepdim=k), _np_var, nonempty=True,
              min_reduced=2),
    reduction("var_biased", lambda t, ax, k: t.var(ax, keepdim=k, correction=0),
              lambda a, ax, k: np.var(a, ax, keepdims=k), nonempty=True),
    reduction("std", lambda t, ax, k: t.std(ax, keepdim=k),
              lambda a, ax, k: np.std(a, ax, keepdims=k, ddof=1),
              distinct=True, nonempty=True, min_side=2, min_dims=1, min_reduced=2),
    reduction("logsumexp", lambda t, ax, k: t.logsumexp(ax, k),
              lambda a, ax, k: _np_logsumexp(a, ax, k)),
    softmax_like("softmax", lambda t, ax: mg.softmax(t, ax), _np_softmax),
    softmax_like("log_softmax", lambda t, ax: mg.log_softmax(t, ax),
                 lambda a, ax: np.log(_np_softmax(a, ax))),
    shape_spec("reshape", _reshape),
    shape_spec("transpose", _transpose),
    shape_spec("T", _T),
    shape_spec("unsqueeze", _unsqueeze),
    shape_spec("squeeze", _squeeze),
    shape_spec("flatten", _flatten),
    shape_spec("broadcast_to", _broadcast),
    shape_spec("pad", _pad),
    getitem_spec(),
    join_spec("cat"),
    join_spec("stack"),
    split_spec(),
]


# ---------------------------------------------------------------------------- interop:
# softplus family (microgradnn.ops.special; PyTorch's F.softplus, F.logsigmoid, F.silu)


def _np_softplus(a, beta=1.0, threshold=20.0):
    return np.where(beta * a > threshold, a, np.logaddexp(0.0, beta * a) / beta)


SPECS += [
    unary("softplus", mg.nn.functional.softplus, _np_softplus),
    unary("softplus_beta_threshold", lambda t: mg.nn.functional.softplus(t, beta=2.0, threshold=3.0),
          lambda a: _np_softplus(a, 2.0, 3.0), avoid=(1.5,)),  # the kink where βx = threshold
    # avoid: the threshold (βx = 20) where softplus becomes x, a kink of its second derivative
    unary("softplus_wide", mg.nn.functional.softplus, _np_softplus, low=-40.0, high=40.0,
          avoid=(20.0,)),
    unary("logsigmoid", mg.nn.functional.logsigmoid, lambda a: -np.logaddexp(0.0, -a)),
    unary("logsigmoid_wide", mg.nn.functional.logsigmoid, lambda a: -np.logaddexp(0.0, -a),
          low=-40.0, high=40.0),
    unary("silu", mg.nn.functional.silu, lambda a: a * _sigmoid(a)),
]


# ==================================================================================
# PyTorch's names (issue 7): new differentiable operations (recorded in-place writes are
# checked with gradcheck/gradgradcheck in tests/test_inplace.py).
# Same OpSpec format as above; kept in one block at the end of the table.
# ==================================================================================
def _dim_spec(name, make, min_dims=1, inner=False):
    """make(data, shape, dim) -> (fn, ref) for an op along one drawn dim. ``inner=True``:
    a dim after the first, every side at least 2, so that a backward working along axis 0
    instead of its own cannot pass (the first drawn example is 1-d, where it would)."""
    def draw(data):
        shape = data.draw(st.shapes(min_dims=2 if inner else min_dims, max_dims=3,
                                    min_side=2 if inner else 1, max_side=3))
        x = _arr(data, shape, distinct=True)
        d = data.draw(hst.integers(1, len(shape) - 1) if inner else
                      hst.integers(-len(shape), len(shape) - 1))
        fn, ref = make(data, shape, d)
        return Case([x], fn, ref)
    return OpSpec(name, draw)


def _np_gather(a, d, idx):
    return np.take_along_axis(a, idx, axis=d)


def _gather(data, shape, d):
    n = shape[d]
    ishape = tuple(data.draw(hst.integers(1, 3)) if i == d % len(shape) else s
                   for i, s in enumerate(shape))
    idx = np.array(data.draw(hst.lists(hst.integers(0, n - 1), min_size=int(np.prod(ishape)),
                                       max_size=int(np.prod(ishape))))).reshape(ishape)
    return (lambda t: t.gather(d, mg.tensor(idx))), (lambda a: _np_gather(a, d, idx))


def _einsum_spec(name="einsum", summed=False):
    """``summed=True``: only equations where a letter of one operand appears nowhere else
    (summed away), so the backward's broadcast of g back over it runs in every example."""
    def draw(data):
        i, j, k = (data.draw(hst.integers(1, 3)) for _ in range(3))
        if summed:
            choices = [("ij->", ((i, j),)), ("ij->j", ((i, j),)),
                       ("ij,jk->k", ((i, j), (j, k)))]
        else:
            choices = [
                ("ij,jk->ik", ((i, j), (j, k))), ("ij,kj->ik", ((i, j), (k, j))),
                ("ij,j->i", ((i, j), (j,))), ("ij->", ((i, j),)), ("ij,k->ijk", ((i, j), (k,))),
                ("ij->ji", ((i, j),)), ("bij,bjk->bik", ((2, i, j), (2, j, k)))]
        eq, shapes = data.draw(hst.sampled_from(choices))
        arrays = [_arr(data, s) for s in shapes]
        return Case(arrays, lambda *ts: mg.einsum(eq, *ts), lambda *a: np.einsum(eq, *a))
    return OpSpec(name, draw)


def _setitem_spec():
    """``y[index] = v`` on a non-leaf y: the recorded in-place write (SetItem), whose
    gradient goes to v at the index and to y's old value everywhere else."""
    def draw(data):
        shape = data.draw(st.shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
        n0 = shape[0]
        idx = data.draw(hst.sampled_from([data.draw(hst.integers(-n0, n0 - 1)),
                                          slice(data.draw(hst.integers(0, n0 - 1)), None)]))
        x = _arr(data, shape)
        v = _arr(data, np.empty(shape)[idx].shape)

        def fn(t, u):
            y = t * 1.0  # a non-leaf, so the write is recorded
            y[idx] = u
            return y

        def ref(a, b):
            out = a.copy()
            out[idx] = b
            return out
        return Case([x, v], fn, ref)
    return OpSpec("setitem", draw)


SPECS += [
    _setitem_spec(),
    _dim_spec("cumsum", lambda data, s, d: ((lambda t: t.cumsum(d)),
                                           (lambda a: np.cumsum(a, axis=d)))),
    _dim_spec("prod", lambda data, s, d: ((lambda t: t.prod(d)), (lambda a: np.prod(a, axis=d)))),
    unary("prod_all", lambda t: t.prod(), np.prod),
    unary("norm", lambda t: t.norm(), lambda a: np.sqrt(np.sum(a * a)), avoid=(0,)),
    _dim_spec("sort", lambda data, s, d: ((lambda t: t.sort(d).values),
                                         (lambda a: np.sort(a, axis=d)))),
    _dim_spec("topk", lambda data, s, d: ((lambda t: t.topk(1, d).values),
                                         (lambda a: np.max(a, axis=d, keepdims=True)))),
    _dim_spec("gather", _gather),
    _dim_spec("flip", lambda data, s, d: ((lambda t: t.flip(d)), (lambda a: np.flip(a, d)))),
    _dim_spec("roll", lambda data, s, d: ((lambda t: t.roll(1, d)), (lambda a: np.roll(a, 1, d)))),
    _einsum_spec(),
    unary("clone", lambda t: t.clone(), np.copy),
    unary("masked_fill", lambda t: t.masked_fill(t > 0, 0.5),
          lambda a: np.where(a > 0, 0.5, a), avoid=(0,)),
]

# Operations above drawn again with a branch fixed (see NN_BRANCH_ROWS in op_specs_nn.py);
# tests/test_ops.py runs SPECS + BRANCH_ROWS.
BRANCH_ROWS = [
    join_spec("cat", "cat_inner_axis", inner=True),
    _dim_spec("cumsum_inner_axis", lambda data, s, d: ((lambda t: t.cumsum(d)),
                                                      (lambda a: np.cumsum(a, axis=d))),
              inner=True),
    _einsum_spec("einsum_summed_letter", summed=True),
    *NN_BRANCH_ROWS,
]
