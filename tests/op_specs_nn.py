"""Rows of the spec table (``tests/op_specs.py``) for layers, losses, the fused primitives
(Linear, ConvNd, MaxPool, LSTMStep, RecurrentLinear, CrossEntropy) and the primitives
that operations use internally (Unfold/Fold, their stride-1 forms, StateHalf, SumTo,
IndexAdd, Cast, Erf).

A fused primitive's row carries an ``oracle``: the same math written with plain Tensor
operations, whose values and gradients the fused node must reproduce. NumPy references
are written here from the definitions, not with microgradnn's own helpers.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import assume, strategies as hst

import microgradnn as mg
from microgradnn.nn import functional as F
from microgradnn.ops import conv as C
from microgradnn.ops.elementwise import Cast
from microgradnn.ops.recurrent import LSTMStep, RecurrentLinear, StateHalf
from microgradnn.ops.reduce import sum_to
from microgradnn.ops.shape import IndexAdd
from microgradnn.ops.special import erf
from microgradnn.testing import strategies as st

from spec_kit import SMALL, Case, OpSpec, _arr

ints = hst.integers


def _sig(a):
    return 1 / (1 + np.exp(-a))


# ---------------------------------------------------------------- linear
def linear_spec(name="linear", every_part=False):
    """``every_part=True``: always a bias and two leading axes of sides 2-3, so that the
    backward's reshape of a batched gradient and its bias sum run in every example (a
    mutation run draws only three, the first with every boolean False and every side 1)."""
    def draw(data):
        if every_part:
            lead = (data.draw(ints(2, 3)), data.draw(ints(2, 3)))
        else:
            lead = data.draw(st.shapes(max_dims=2, max_side=3))
        n_in, n_out = data.draw(ints(1, 4)), data.draw(ints(1, 4))
        bias = every_part or data.draw(hst.booleans())
        arrays = [_arr(data, lead + (n_in,)), _arr(data, (n_out, n_in))]
        if bias:
            arrays.append(_arr(data, (n_out,)))
            return Case(arrays, F.linear, lambda x, w, b: x @ w.T + b,
                        lambda x, w, b: x @ w.T + b)
        return Case(arrays, F.linear, lambda x, w: x @ w.T, lambda x, w: x @ w.T)
    return OpSpec(name, draw)


# ---------------------------------------------------------------- windows
def _geometry(data, nsp, max_kernel=3, max_pad=1):
    kernel = tuple(data.draw(ints(1, max_kernel)) for _ in range(nsp))
    stride = tuple(data.draw(ints(1, 2)) for _ in range(nsp))
    dilation = tuple(data.draw(ints(1, 2)) for _ in range(nsp))
    padding = tuple((data.draw(ints(0, max_pad)), data.draw(ints(0, max_pad))) for _ in range(nsp))
    # room for at least one window (and at most a few)
    size = tuple(max(1, d * (k - 1) + 1 - lo - hi) + data.draw(ints(0, 2))
                 for k, d, (lo, hi) in zip(kernel, dilation, padding))
    return size, kernel, stride, padding, dilation


def _out(size, kernel, stride, padding, dilation):
    return tuple((n + lo + hi - d * (k - 1) - 1) // s + 1
                 for n, k, s, (lo, hi), d in zip(size, kernel, stride, padding, dilation))


def _window(offset, stride, dilation, out):
    """Index of the padded input that kernel ``offset`` reads for every output position."""
    return (slice(None), slice(None)) + tuple(
        slice(o * d, o * d + s * (n - 1) + 1, s) for o, s, d, n in zip(offset, stride, dilation, out))


def _np_pad(x, padding, value=0.0):
    return np.pad(x, ((0, 0), (0, 0)) + tuple(padding), constant_values=value)


def _np_unfold(x, kernel, stride, padding, dilation):
    out = _out(x.shape[2:], kernel, stride, padding, dilation)
    xp = _np_pad(x, padding)
    cols = np.zeros((x.shape[0],) + kernel + (x.shape[1],) + out)
    for off in itertools.product(*map(range, kernel)):
        cols[(slice(None),) + off] = xp[_window(off, stride, dilation, out)]
    return cols


def _np_fold(cols, size, kernel, stride, padding, dilation):
    nsp = len(kernel)
    out = cols.shape[2 + nsp:]
    acc = np.zeros((cols.shape[0], cols.shape[1 + nsp])
                   + tuple(n + lo + hi for n, (lo, hi) in zip(size, padding)))
    for off in itertools.product(*map(range, kernel)):
        acc[_window(off, stride, dilation, out)] += cols[(slice(None),) + off]
    return acc[(slice(None), slice(None)) + tuple(slice(lo, lo + n) for (lo, _), n in zip(padding, size))]


def unfold_spec(fold: bool):
    def draw(data):
        nsp = data.draw(ints(1, 2))
        size, kernel, stride, padding, dilation = _geometry(data, nsp)
        n, c = data.draw(ints(1, 2)), data.draw(ints(1, 2))
        geo = dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation)
        if not fold:
            return Case([_arr(data, (n, c) + size)], lambda x: C.Unfold.apply(x, **geo),
                        lambda x: _np_unfold(x, kernel, stride, padding, dilation))
        cols = _arr(data, (n,) + kernel + (c,) + _out(size, kernel, stride, padding, dilation))
        return Case([cols], lambda t: C.Fold.apply(t, size=size, **geo),
                    lambda a: _np_fold(a, size, kernel, stride, padding, dilation))
    return OpSpec("fold" if fold else "unfold", draw)


def _flat_geometry(data, nsp):
    size, kernel, _, padding, dilation = _geometry(data, nsp)
    padded = tuple(m + lo + hi for m, (lo, hi) in zip(size, padding))
    out = tuple(p - d * (k - 1) for p, k, d in zip(padded, kernel, dilation))
    strides = tuple(math.prod(padded[i + 1:]) for i in range(nsp))
    length = out[0] * strides[0]
    shifts = {off: sum(o * d * f for o, d, f in zip(off, dilation, strides))
              for off in itertools.product(*map(range, kernel))}
    return size, kernel, padding, dilation, padded, length, shifts


def _np_unfold_flat(x, kernel, padding, dilation, padded, length, shifts):
    """cols[n, k, c, l] = x_padded_flat[n, c, shift(k) + l], zeros past the end."""
    n, c = x.shape[:2]
    flat = _np_pad(x, padding).reshape(n, c, -1)
    flat = np.concatenate([flat, np.zeros((n, c, length + max(shifts.values())))], axis=2)
    cols = np.zeros((n,) + kernel + (c, length))
    for off, shift in shifts.items():
        cols[(slice(None),) + off] = flat[:, :, shift:shift + length]
    return cols


def _np_fold_flat(cols, size, kernel, padding, padded, length, shifts):
    nsp = len(kernel)
    n, c = cols.shape[0], cols.shape[1 + nsp]
    flat = np.zeros((n, c, math.prod(padded) + length + max(shifts.values())))
    for off, shift in shifts.items():
        flat[:, :, shift:shift + length] += cols[(slice(None),) + off]
    full = flat[:, :, :math.prod(padded)].reshape((n, c) + padded)
    return full[(slice(None), slice(None)) + tuple(slice(lo, lo + m) for (lo, _), m in zip(padding, size))]


def unfold_flat_spec(fold: bool):
    def draw(data):
        nsp = data.draw(ints(1, 2))
        size, kernel, padding, dilation, padded, length, shifts = _flat_geometry(data, nsp)
        n, c = data.draw(ints(1, 2)), data.draw(ints(1, 2))
        geo = dict(kernel=kernel, padding=padding, dilation=dilation)
        if not fold:
            return Case([_arr(data, (n, c) + size)], lambda x: C.UnfoldFlat.apply(x, **geo),
                        lambda x: _np_unfold_flat(x, kernel, padding, dilation, padded, length,
                                                  shifts))
        cols = _arr(data, (n,) + kernel + (c, length))
        return Case([cols], lambda t: C.FoldFlat.apply(t, size=size, **geo),
                    lambda a: _np_fold_flat(a, size, kernel, padding, padded, length, shifts))
    return OpSpec("fold_flat" if fold else "unfold_flat", draw)


def _np_conv(x, w, b, stride, padding, dilation):
    kernel = w.shape[2:]
    out = _out(x.shape[2:], kernel, stride, padding, dilation)
    xp = _np_pad(x, padding)
    y = np.zeros((x.shape[0], w.shape[0]) + out)
    for off in itertools.product(*map(range, kernel)):
        y += np.einsum("oc,nc...->no...", w[(slice(None), slice(None)) + off],
                       xp[_window(off, stride, dilation, out)])
    return y if b is None else y + b.reshape((-1,) + (1,) * len(kernel))


def _conv_oracle(x, w, b, stride, padding, dilation):
    """The convolution in plain Tensor operations: pad, one strided slice per kernel
    offset, a matrix product with that offset's weights, and a sum."""
    nsp = len(stride)
    kernel = w.shape[2:]
    out = _out(x.shape[2:], kernel, stride, padding, dilation)
    xp = mg.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    n, c = x.shape[:2]
    y = None
    for off in itertools.product(*map(range, kernel)):
        part = xp[_window(off, stride, dilation, out)].reshape((n, c, math.prod(out)))
        term = w[(slice(None), slice(None)) + off] @ part
        y = term if y is None else y + term
    y = y.reshape((n, w.shape[0]) + out)
    return y if b is None else y + b.reshape((w.shape[0],) + (1,) * nsp)


def conv_spec(name="conv", bias=None):
    """``bias=True``: every example has a bias (the bias gradient's sum over the batch and
    spatial axes is then checked in every run, not only when the drawn boolean says so)."""
    def draw(data):
        nsp = data.draw(ints(1, 2))
        size, kernel, stride, padding, dilation = _geometry(data, nsp)
        flat = data.draw(hst.booleans())
        if flat:  # the stride-1 layout (ConvNd chooses it by the flag)
            stride = (1,) * nsp
        n, c, o = data.draw(ints(1, 2)), data.draw(ints(1, 2)), data.draw(ints(1, 3))
        with_bias = data.draw(hst.booleans()) if bias is None else bias
        arrays = [_arr(data, (n, c) + size), _arr(data, (o, c) + kernel)]
        geo = dict(stride=stride, padding=padding, dilation=dilation)
        if with_bias:
            arrays.append(_arr(data, (o,)))
        def fn(x, w, b=None):
            return C.ConvNd.apply(x, w, b, flat=flat, **geo)
        return Case(arrays, fn, lambda x, w, b=None: _np_conv(x, w, b, stride, padding, dilation),
                    lambda x, w, b=None: _conv_oracle(x, w, b, stride, padding, dilation))
    return OpSpec(name, draw, max_examples=10)


def _np_max_pool(x, kernel, stride, padding, dilation):
    out = _out(x.shape[2:], kernel, stride, padding, dilation)
    xp = _np_pad(x, padding, -np.inf)
    return np.max([xp[_window(off, stride, dilation, out)]
                   for off in itertools.product(*map(range, kernel))], axis=0)


def max_pool_spec():
    def draw(data):
        nsp = data.draw(ints(1, 2))
        size, kernel, stride, padding, dilation = _geometry(data, nsp, max_pad=0)
        # PyTorch's rule: padding at most half the kernel (a window never all padding)
        padding = tuple((p, p) for p in (data.draw(ints(0, k // 2)) for k in kernel))
        x = _arr(data, (data.draw(ints(1, 2)), data.draw(ints(1, 2))) + size, distinct=True)
        geo = dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation)
        out = _out(size, kernel, stride, padding, dilation)

        def oracle(t):
            tp = mg.pad(t, ((0, 0), (0, 0)) + padding, -1e9)
            return mg.stack([tp[_window(off, stride, dilation, out)]
                             for off in itertools.product(*map(range, kernel))]).amax(dim=0)
        return Case([x], lambda t: C.MaxPool.apply(t, **geo),
                    lambda a: _np_max_pool(a, kernel, stride, padding, dilation), oracle)
    return OpSpec("max_pool", draw)


# ---------------------------------------------------------------- recurrent
def _np_lstm(x, s, w_ih, w_hh, b):
    hidden = w_hh.shape[1]
    h, c = s[:, :hidden], s[:, hidden:]
    z = x @ w_ih.T + h @ w_hh.T + b
    i, f, g, o = (z[:, k * hidden:(k + 1) * hidden] for k in range(4))
    c_new = _sig(f) * c + _sig(i) * np.tanh(g)
    return np.concatenate([_sig(o) * np.tanh(c_new), c_new], axis=1)


def _lstm_oracle(x, s, w_ih, w_hh, b_ih, b_hh):
    hidden = w_hh.shape[1]
    h, c = s[:, :hidden], s[:, hidden:]
    z = x @ w_ih.T + h @ w_hh.T
    for bias in (b_ih, b_hh):
        if bias is not None:
            z = z + bias
    i, f, g, o = (z[:, k * hidden:(k + 1) * hidden] for k in range(4))
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return mg.cat([o.sigmoid() * c_new.tanh(), c_new], axis=1)


def _biases(data, size):
    """Which of b_ih, b_hh are given (each may be None)."""
    return [data.draw(hst.booleans()) for _ in range(2)]


def _with_biases(fn, has):
    """fn(*fixed, b_ih, b_hh) called with the drawn tensors, None for absent biases."""
    def call(*args):
        fixed, rest = list(args[:len(args) - sum(has)]), list(args[len(args) - sum(has):])
        return fn(*fixed, *[rest.pop(0) if h else None for h in has])
    return call


def lstm_step_spec():
    def draw(data):
        b, n_in, hidden = data.draw(ints(1, 3)), data.draw(ints(1, 3)), data.draw(ints(1, 2))
        has = _biases(data, 4 * hidden)
        arrays = [_arr(data, (b, n_in)), _arr(data, (b, 2 * hidden)),
                  _arr(data, (4 * hidden, n_in), -1, 1), _arr(data, (4 * hidden, hidden), -1, 1)]
        arrays += [_arr(data, (4 * hidden,)) for h in has if h]

        def ref(x, s, w_ih, w_hh, *bs):
            return _np_lstm(x, s, w_ih, w_hh, sum(bs) if bs else 0.0)
        return Case(arrays, _with_biases(LSTMStep.apply, has), ref,
                    _with_biases(_lstm_oracle, has))
    return OpSpec("lstm_step", draw, max_examples=10)


def recurrent_linear_spec(name="recurrent_linear", fixed=None):
    """``fixed=(with_h, has_b_ih, has_b_hh)`` instead of drawn: the row with h and only
    b_ih checks the h gradient and that each bias gets its own slot in every run."""
    def draw(data):
        b, n_in, n_h, g = (data.draw(ints(1, 3)) for _ in range(4))
        if fixed is None:
            with_h, has = data.draw(hst.booleans()), _biases(data, g)
        else:
            with_h, has = fixed[0], list(fixed[1:])
        arrays = [_arr(data, (b, n_in)), _arr(data, (g, n_in))]
        if with_h:
            arrays += [_arr(data, (b, n_h)), _arr(data, (g, n_h))]
        arrays += [_arr(data, (g,)) for h in has if h]

        def terms(x, w_ih, *rest):
            h, w_hh = (rest[0], rest[1]) if with_h else (None, None)
            return x, h, w_ih, w_hh, list(rest[2:] if with_h else rest)

        def fn(*args):
            x, h, w_ih, w_hh, bs = terms(*args)
            return RecurrentLinear.apply(x, h, w_ih, w_hh, *[bs.pop(0) if k else None for k in has])

        def ref(*args):
            x, h, w_ih, w_hh, bs = terms(*args)
            return x @ w_ih.T + (0 if h is None else h @ w_hh.T) + sum(bs)

        def oracle(*args):
            x, h, w_ih, w_hh, bs = terms(*args)
            z = x @ w_ih.T
            if h is not None:
                z = z + h @ w_hh.T
            for bias in bs:
                z = z + bias
            return z
        return Case(arrays, fn, ref, oracle)
    return OpSpec(name, draw)


def state_half_spec():
    def draw(data):
        unbatched = data.draw(hst.booleans())
        b = 1 if unbatched else data.draw(ints(0, 3))
        s = _arr(data, (b, 2 * data.draw(ints(1, 3))))
        which = data.draw(ints(0, 1))
        hidden = s.shape[1] // 2

        def ref(a):
            y = a[:, :hidden] if which == 0 else a[:, hidden:]
            return y[0] if unbatched else y
        return Case([s], lambda t: StateHalf.apply(t, which=which, unbatched=unbatched), ref)
    return OpSpec("state_half", draw)


def rnn_cell_spec(kind):
    cell = {"rnn_tanh": F.rnn_tanh_cell, "gru": F.gru_cell}[kind]
    gates = {"rnn_tanh": 1, "gru": 3}[kind]

    def ref(x, h, w_ih, w_hh, b_ih, b_hh):
        if kind == "rnn_tanh":
            return np.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        n = h.shape[1]
        gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
        r, z = _sig(gi[:, :n] + gh[:, :n]), _sig(gi[:, n:2 * n] + gh[:, n:2 * n])
        new = np.tanh(gi[:, 2 * n:] + r * gh[:, 2 * n:])
        return (1 - z) * new + z * h

    def draw(data):
        b, n_in, hidden = data.draw(ints(1, 3)), data.draw(ints(1, 3)), data.draw(ints(1, 2))
        g = gates * hidden
        arrays = [_arr(data, (b, n_in)), _arr(data, (b, hidden)), _arr(data, (g, n_in), -1, 1),
                  _arr(data, (g, hidden), -1, 1), _arr(data, (g,)), _arr(data, (g,))]
        return Case(arrays, cell, ref)
    return OpSpec(f"{kind}_cell", draw)


# ---------------------------------------------------------------- cross-entropy
def _np_log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _ce_coefficients(x_shape, target, valid, weight, smoothing):
    """a[n, c, ...] with loss = -Σ_c a_c log p_c per sample (the docstring's definition)."""
    axis = 1 if len(x_shape) >= 2 else 0
    c = x_shape[axis]
    w = np.ones(c) if weight is None else weight
    onehot = np.moveaxis(np.eye(c)[target], -1, axis)
    wy = w[target] * valid
    shape = [1] * len(x_shape)
    shape[axis] = c
    a = (1 - smoothing) * onehot * np.expand_dims(wy, axis) + \
        smoothing / c * w.reshape(shape) * np.expand_dims(valid, axis)
    return a, wy, axis


def cross_entropy_spec():
    def draw(data):
        c = data.draw(ints(1, 4))
        shape = data.draw(hst.sampled_from([(c,), (data.draw(ints(1, 3)), c),
                                            (data.draw(ints(1, 2)), c, data.draw(ints(1, 2)))]))
        x = _arr(data, shape)
        tshape = shape[:1] + shape[2:] if len(shape) >= 2 else ()
        target = np.array(data.draw(hst.lists(ints(0, c - 1), min_size=math.prod(tshape),
                                              max_size=math.prod(tshape))), dtype=np.int64)
        target = target.reshape(tshape)
        ignore = data.draw(hst.sampled_from([-100, 0]))
        valid = (target != ignore).astype(np.float64)
        reduction = data.draw(hst.sampled_from(["mean", "sum", "none"]))
        weight = _arr(data, (c,), 0.2, 2.0) if data.draw(hst.booleans()) else None
        smoothing = data.draw(hst.sampled_from([0.0, 0.2]))
        a, wy, axis = _ce_coefficients(shape, np.where(valid > 0, target, 0), valid, weight,
                                       smoothing)
        if reduction == "mean":
            assume(wy.sum() > 0.1)  # every target ignored: nan, tested elsewhere
        wt = None if weight is None else mg.tensor(weight)
        kw = dict(weight=wt, ignore_index=ignore, reduction=reduction, label_smoothing=smoothing)

        def reduce(loss, total):
            if reduction == "none":
                return loss
            return loss.sum() / total if reduction == "mean" else loss.sum()

        def ref(x):
            return reduce(-(a * _np_log_softmax(x, axis)).sum(axis=axis), wy.sum())

        def oracle(t):
            return reduce(-(mg.tensor(a) * mg.log_softmax(t, axis)).sum(axis=axis), float(wy.sum()))
        return Case([x], lambda t: F.cross_entropy(t, mg.tensor(target), **kw), ref, oracle)
    return OpSpec("cross_entropy", draw)


# ---------------------------------------------------------------- losses and activations
def pair_loss(name, fn, ref, low=-3.0, high=3.0, kinks=(), target_grad=False):
    """fn(input, target, reduction=...) against ref(d, x, y) per element, then reduced.
    ``target_grad=True``: the target is a leaf too, for a loss whose backward has a
    gradient for its target (BinaryCrossEntropy's log(1-p) - log p)."""
    def draw(data):
        shape = data.draw(st.shapes(**SMALL))
        x, y = _arr(data, shape, low, high), _arr(data, shape, low, high)
        for k in kinks:  # differences away from the loss's kinks
            assume(np.all(np.abs(np.abs(x - y) - k) > 0.05))
        reduction = data.draw(hst.sampled_from(["mean", "sum", "none"]))
        if reduction == "mean":
            assume(x.size > 0)
        reduce = {"none": np.asarray, "sum": np.sum, "mean": np.mean}[reduction]
        if target_grad:
            return Case([x, y], lambda t, u: fn(t, u, reduction=reduction),
                        lambda a, b: reduce(ref(a, b)))
        return Case([x], lambda t: fn(t, mg.tensor(y), reduction=reduction),
                    lambda a: reduce(ref(a, y)))
    return OpSpec(name, draw)


def _np_huber(x, y):
    d = np.abs(x - y)
    return np.where(d < 1, 0.5 * d * d, d - 0.5)


def nll_spec():
    def draw(data):
        n, c = data.draw(ints(1, 3)), data.draw(ints(1, 4))
        x = _arr(data, (n, c))
        target = np.array(data.draw(hst.lists(ints(0, c - 1), min_size=n, max_size=n)))
        return Case([x], lambda t: F.nll_loss(t, mg.tensor(target)),
                    lambda a: -a[np.arange(n), target].mean())
    return OpSpec("nll_loss", draw)


def unary_nn(name, fn, ref, low=-3.0, high=3.0, avoid=()):
    def draw(data):
        return Case([_arr(data, data.draw(st.shapes(**SMALL)), low, high, avoid)], fn, ref)
    return OpSpec(name, draw)


def _np_gelu_tanh(a):
    return 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))


_erf = np.vectorize(math.erf, otypes=[np.float64])


def layer_norm_spec():
    def draw(data):
        shape = data.draw(st.shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
        k = data.draw(ints(1, len(shape)))
        norm = shape[-k:]
        assume(math.prod(norm) >= 2)  # one value: variance 0, its root not differentiable
        x = _arr(data, shape, distinct=True)
        w, b = _arr(data, norm), _arr(data, norm)
        axes = tuple(range(-k, 0))

        def ref(x, w, b):
            mu = x.mean(axis=axes, keepdims=True)
            var = x.var(axis=axes, keepdims=True)
            return (x - mu) / np.sqrt(var + 1e-5) * w + b
        return Case([x, w, b], lambda x, w, b: F.layer_norm(x, norm, w, b), ref)
    return OpSpec("layer_norm", draw)


def batch_norm_spec():
    def draw(data):
        n, c = data.draw(ints(2, 3)), data.draw(ints(1, 3))
        x = _arr(data, (n, c), distinct=True)
        w, b = _arr(data, (c,)), _arr(data, (c,))

        def ref(x, w, b):
            return (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) * w + b
        return Case([x, w, b], lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                    ref)
    return OpSpec("batch_norm", draw)


def embedding_spec():
    def draw(data):
        num, dim = data.draw(ints(1, 4)), data.draw(ints(1, 3))
        idx = np.array(data.draw(hst.lists(ints(0, num - 1), max_size=5)), dtype=np.int64)
        return Case([_arr(data, (num, dim))], lambda w: F.embedding(mg.tensor(idx), w),
                    lambda w: w[idx])
    return OpSpec("embedding", draw)


def avg_pool_spec():
    def draw(data):
        k = data.draw(ints(1, 2))
        x = _arr(data, (1, data.draw(ints(1, 2)), k * data.draw(ints(1, 2)), k * data.draw(ints(1, 2))))
        n, c, h, w = x.shape
        return Case([x], lambda t: F.avg_pool2d(t, k),
                    lambda a: a.reshape(n, c, h // k, k, w // k, k).mean(axis=(3, 5)))
    return OpSpec("avg_pool2d", draw)


# ---------------------------------------------------------------- internal primitives
def sum_to_spec():
    def draw(data):
        shape = data.draw(st.shapes(**SMALL))
        lead = data.draw(ints(0, len(shape)))
        target = tuple(1 if data.draw(hst.booleans()) else s for s in shape[lead:])
        axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(target) if s == 1)
        return Case([_arr(data, shape)], lambda t: sum_to(t, target),
                    lambda a: a.sum(axis=axes, keepdims=True).reshape(target))
    return OpSpec("sum_to", draw)


def index_add_spec():
    def draw(data):
        shape = data.draw(st.shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
        n0 = shape[0]
        kind = data.draw(hst.sampled_from(["slice", "int", "int_array", "mixed"]))
        if kind == "slice":
            index = (slice(data.draw(ints(-n0, n0)), None, data.draw(hst.sampled_from([1, 2, -1]))),)
        elif kind == "int":
            index = (data.draw(ints(-n0, n0 - 1)),)
        elif kind == "int_array":  # repeated indices must add up
            index = (np.array(data.draw(hst.lists(ints(-n0, n0 - 1), max_size=5)), dtype=np.intp),)
        else:
            index = (Ellipsis, np.array([0, 0, -1]))
        x = _arr(data, np.zeros(shape)[index].shape)

        def ref(a):
            out = np.zeros(shape)
            np.add.at(out, index, a)
            return out
        return Case([x], lambda t: IndexAdd.apply(t, index=index, shape=shape), ref)
    return OpSpec("index_add", draw)


NN_SPECS = [
    linear_spec(),
    conv_spec(),
    max_pool_spec(),
    unfold_spec(fold=False),
    unfold_spec(fold=True),
    unfold_flat_spec(fold=False),
    unfold_flat_spec(fold=True),
    lstm_step_spec(),
    state_half_spec(),
    recurrent_linear_spec(),
    rnn_cell_spec("rnn_tanh"),
    rnn_cell_spec("gru"),
    cross_entropy_spec(),
    nll_spec(),
    pair_loss("mse_loss", F.mse_loss, lambda x, y: (x - y) ** 2),
    pair_loss("l1_loss", F.l1_loss, lambda x, y: np.abs(x - y), kinks=(0,)),
    pair_loss("huber_loss", F.huber_loss, _np_huber, kinks=(0, 1)),
    pair_loss("binary_cross_entropy", F.binary_cross_entropy,
              lambda p, y: -(y * np.log(p) + (1 - y) * np.log(1 - p)), low=0.05, high=0.95),
    pair_loss("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
              lambda x, y: np.logaddexp(0, x) - x * y),
    unary_nn("elu", F.elu, lambda a: np.where(a > 0, a, np.exp(np.minimum(a, 0)) - 1), avoid=(0,)),
    unary_nn("gelu", F.gelu, lambda a: 0.5 * a * (1 + _erf(a / math.sqrt(2)))),
    unary_nn("gelu_tanh", lambda t: F.gelu(t, approximate="tanh"), _np_gelu_tanh),
    unary_nn("erf", erf, _erf, low=-5.0, high=5.0),
    unary_nn("cast", lambda t: Cast.apply(t, dtype=np.longdouble), lambda a: a.astype(np.longdouble)),
    layer_norm_spec(),
    batch_norm_spec(),
    embedding_spec(),
    avg_pool_spec(),
    sum_to_spec(),
    index_add_spec(),
]

# Rows that draw an operation above again with its optional parts fixed, so that a run of
# few examples (a mutation run draws three, the first with every boolean False) still
# reaches every branch of its backward. The same operations: not new entries of the table
# that tests/test_numerics.py sweeps, hence a list of their own (tests/test_ops.py runs
# both).
NN_BRANCH_ROWS = [
    linear_spec("linear_batched_bias", every_part=True),
    conv_spec("conv_bias", bias=True),
    recurrent_linear_spec("recurrent_linear_h_b_ih", fixed=(True, True, False)),
    pair_loss("binary_cross_entropy_target", F.binary_cross_entropy,
              lambda p, y: -(y * np.log(p) + (1 - y) * np.log(1 - p)), low=0.05, high=0.95,
              target_grad=True),
]
