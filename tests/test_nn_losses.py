"""Losses: one table of specs drives value checks against NumPy references (written from the
formulas), first and second derivatives by finite differences, on drawn shapes,
reductions and hyperparameters; then errors, stability, modules and PyTorch parity."""
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as hst

import microgradnn as mg
from microgradnn import nn
from microgradnn.nn import functional as F
from microgradnn.testing import gradcheck, gradgradcheck
from microgradnn.testing import strategies as st

REDUCTIONS = ["mean", "sum", "none"]


def leaf(a):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def reduce(per, reduction):
    if reduction == "mean":
        with np.errstate(invalid="ignore"):
            return np.sum(per) / np.size(per)   # nan for no elements, as PyTorch
    return np.sum(per) if reduction == "sum" else per


def np_log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


# ---------------------------------------------------------------- NumPy references
def ref_cross_entropy(x, t, weight, ignore_index, reduction, smoothing):
    unbatched = x.ndim == 1
    if unbatched:
        x, t = x[None], np.asarray(t)[None]
    c = x.shape[1]
    w = np.ones(c) if weight is None else weight
    lp = np.moveaxis(np_log_softmax(x, 1), 1, -1)           # (N, d..., C)
    valid = t != ignore_index
    ts = np.where(valid, t, 0)
    picked = np.take_along_axis(lp, ts[..., None], -1)[..., 0]
    nll = -w[ts] * picked * valid
    uniform = -(lp * w).sum(-1) * valid
    per = (1 - smoothing) * nll + smoothing / c * uniform
    if reduction == "none":
        return per[0] if unbatched else per
    if reduction == "sum":
        return per.sum()
    return per.sum() / (w[ts] * valid).sum()


def ref_cross_entropy_probs(x, q, weight, reduction, smoothing):
    axis = 1 if x.ndim > 1 else 0
    c = x.shape[axis]
    shape = [1] * x.ndim
    shape[axis] = c
    w = np.ones(c) if weight is None else weight
    q = q * (1 - smoothing) + smoothing / c
    per = -(np_log_softmax(x, axis) * q * w.reshape(shape)).sum(axis)
    return reduce(per, reduction)


def ref_nll(x, t, weight, ignore_index, reduction):
    unbatched = x.ndim == 1
    if unbatched:
        x, t = x[None], np.asarray(t)[None]
    w = np.ones(x.shape[1]) if weight is None else weight
    valid = t != ignore_index
    ts = np.where(valid, t, 0)
    picked = np.take_along_axis(np.moveaxis(x, 1, -1), ts[..., None], -1)[..., 0]
    per = -w[ts] * picked * valid
    if reduction == "none":
        return per[0] if unbatched else per
    if reduction == "sum":
        return per.sum()
    return per.sum() / (w[ts] * valid).sum()


def ref_multi_margin(x, t, p, margin, weight, reduction):
    x2 = x[None] if x.ndim == 1 else x
    t2 = np.atleast_1d(t)
    n, c = x2.shape
    per = np.zeros(n)
    for i in range(n):
        for j in range(c):
            if j != t2[i]:
                z = margin - x2[i, t2[i]] + x2[i, j]
                h = max(z, 0.0) ** p
                per[i] += h * (1.0 if weight is None else weight[t2[i]])
    per = per / c
    return reduce(per[0] if x.ndim == 1 and reduction == "none" else per, reduction)


# ---------------------------------------------------------------- the spec table
@dataclass
class Case:
    arrays: list                    # differentiable inputs
    fn: Callable                    # tensors -> loss
    ref: Callable                   # arrays -> expected value
    smooth: bool = True             # second derivatives checked


@dataclass
class LossSpec:
    name: str
    draw: Callable                  # (data, reduction) -> Case

    def __repr__(self):
        return self.name


SHAPES = st.shapes(min_dims=1, max_dims=3, max_side=3)


def _pair(data, low=-3.0, high=3.0):
    shape = data.draw(SHAPES)
    arrays = st.arrays(shape, low=low, high=high)
    return data.draw(arrays), data.draw(arrays)


def draw_mse(data, red):
    x, y = _pair(data)
    return Case([x, y], lambda a, b: F.mse_loss(a, b, reduction=red),
                lambda a, b: reduce((a - b) ** 2, red))


def draw_l1(data, red):
    x, y = _pair(data)
    assume(np.all(np.abs(x - y) > 0.02))
    return Case([x, y], lambda a, b: F.l1_loss(a, b, reduction=red),
                lambda a, b: reduce(np.abs(a - b), red))


def draw_huber(data, red):
    x, y = _pair(data)
    delta = data.draw(hst.floats(0.2, 2.0))
    assume(np.all(np.abs(np.abs(x - y) - delta) > 0.02))

    def ref(a, b):
        d = np.abs(a - b)
        return reduce(np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), red)

    return Case([x, y], lambda a, b: F.huber_loss(a, b, red, delta), ref)


@hst.composite
def class_problem(draw, min_classes=1):
    """Logits (N, C, d...) or (C,), integer targets with some ignored, optional weights."""
    c = draw(hst.integers(min_classes, 4))
    unbatched = draw(hst.booleans()) and draw(hst.booleans())
    extra = () if unbatched else tuple(draw(hst.lists(hst.integers(1, 2), max_size=2)))
    n = draw(hst.integers(1, 3))
    xshape = (c,) if unbatched else (n, c) + extra
    tshape = () if unbatched else (n,) + extra
    x = draw(st.arrays(xshape))
    rng = np.random.default_rng(draw(hst.integers(0, 2 ** 16)))
    t = rng.integers(0, c, size=tshape)
    ignore_index = draw(hst.sampled_from([-100, c + 1, 0]))
    if t.ndim and draw(hst.booleans()):
        t.flat[rng.integers(0, t.size)] = ignore_index
    weight = draw(hst.none() | st.arrays((c,), low=0.5, high=2.0))
    return x, t, weight, ignore_index


def draw_cross_entropy(data, red):
    x, t, weight, ignore = data.draw(class_problem())
    smoothing = data.draw(hst.sampled_from([0.0, 0.25]) | hst.floats(0, 1))
    if red == "mean":
        assume(np.any(t != ignore))
    wt = None if weight is None else mg.tensor(weight)
    return Case([x], lambda a: F.cross_entropy(a, mg.tensor(t), wt, ignore_index=ignore,
                                               reduction=red, label_smoothing=smoothing),
                lambda a: ref_cross_entropy(a, t, weight, ignore, red, smoothing))


def draw_cross_entropy_probs(data, red):
    x, _, weight, _ = data.draw(class_problem())
    axis = 1 if x.ndim > 1 else 0
    q = np.exp(data.draw(st.arrays(x.shape)))
    q = q / q.sum(axis=axis, keepdims=True)
    smoothing = data.draw(hst.sampled_from([0.0, 0.1]))
    wt = None if weight is None else mg.tensor(weight)
    return Case([x, q], lambda a, b: F.cross_entropy(a, b, wt, reduction=red,
                                                     label_smoothing=smoothing),
                lambda a, b: ref_cross_entropy_probs(a, b, weight, red, smoothing))


def draw_nll(data, red):
    x, t, weight, ignore = data.draw(class_problem())
    if red == "mean":
        assume(np.any(t != ignore))
    wt = None if weight is None else mg.tensor(weight)
    return Case([x], lambda a: F.nll_loss(a, mg.tensor(t), wt, ignore_index=ignore, reduction=red),
                lambda a: ref_nll(a, t, weight, ignore, red))


def draw_bce(data, red):
    shape = data.draw(SHAPES)
    x = data.draw(st.arrays(shape, low=0.05, high=0.95))
    y = data.draw(st.arrays(shape, low=0.0, high=1.0))
    weight = data.draw(hst.none() | st.arrays(shape[-1:], low=0.5, high=2.0))
    wt = None if weight is None else mg.tensor(weight)

    def ref(a, b):
        per = -(b * np.log(a) + (1 - b) * np.log(1 - a))
        return reduce(per if weight is None else per * weight, red)

    return Case([x, y], lambda a, b: F.binary_cross_entropy(a, b, wt, reduction=red), ref)


def draw_bce_logits(data, red):
    shape = data.draw(SHAPES)
    x = data.draw(st.arrays(shape, low=-6, high=6))
    y = data.draw(st.arrays(shape, low=0.0, high=1.0))
    weight = data.draw(hst.none() | st.arrays(shape[-1:], low=0.5, high=2.0))
    pos = data.draw(hst.none() | st.arrays(shape[-1:], low=0.2, high=3.0))
    wt = None if weight is None else mg.tensor(weight)
    pt = None if pos is None else mg.tensor(pos)

    def ref(a, b):
        s = 1 / (1 + np.exp(-a))
        p = 1.0 if pos is None else pos
        per = -(p * b * np.log(s) + (1 - b) * np.log(1 - s))
        return reduce(per if weight is None else per * weight, red)

    return Case([x, y], lambda a, b: F.binary_cross_entropy_with_logits(
        a, b, wt, reduction=red, pos_weight=pt), ref)


def draw_hinge(data, red):
    shape = data.draw(SHAPES)
    margin = data.draw(hst.floats(0.5, 2.0))
    x = data.draw(st.arrays(shape, low=-3, high=3))
    assume(np.all(np.abs(margin - x) > 0.02))
    y = np.random.default_rng(data.draw(hst.integers(0, 99))).choice([-1, 1], size=shape)
    return Case([x], lambda a: F.hinge_embedding_loss(a, mg.tensor(y), margin, reduction=red),
                lambda a: reduce(np.where(y == 1, a, np.maximum(0, margin - a)), red))


def draw_multi_margin(data, red):
    x, t, weight, _ = data.draw(class_problem())
    assume(x.ndim <= 2)
    assume(np.all(t >= 0) and np.all(t < x.shape[-1]))
    p = data.draw(hst.sampled_from([1, 2]))
    margin = data.draw(hst.floats(0.5, 1.5))
    x2, t2 = (x[None], np.atleast_1d(t)) if x.ndim == 1 else (x, t)
    z = margin - np.take_along_axis(x2, t2[:, None], 1) + x2
    assume(np.all(np.abs(z) > 0.02))
    wt = None if weight is None else mg.tensor(weight)
    return Case([x], lambda a: F.multi_margin_loss(a, mg.tensor(t), p, margin, wt, reduction=red),
                lambda a: ref_multi_margin(a, t, p, margin, weight, red))


LOSSES = [LossSpec("mse", draw_mse), LossSpec("l1", draw_l1), LossSpec("huber", draw_huber),
          LossSpec("cross_entropy", draw_cross_entropy),
          LossSpec("cross_entropy_probs", draw_cross_entropy_probs),
          LossSpec("nll", draw_nll), LossSpec("bce", draw_bce),
          LossSpec("bce_logits", draw_bce_logits), LossSpec("hinge", draw_hinge),
          LossSpec("multi_margin", draw_multi_margin)]


@pytest.mark.parametrize("spec", LOSSES, ids=repr)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=hst.data())
def test_loss_values(spec, reduction, data):
    case = spec.draw(data, reduction)
    out = case.fn(*[leaf(a) for a in case.arrays])
    expected = np.asarray(case.ref(*case.arrays))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("spec", LOSSES, ids=repr)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=6)
@given(data=hst.data())
def test_loss_first_and_second_derivatives(spec, reduction, data):
    case = spec.draw(data, reduction)
    ts = [leaf(a) for a in case.arrays]
    assert gradcheck(case.fn, ts)
    if case.smooth:
        assert gradgradcheck(case.fn, ts)


# ---------------------------------------------------------------- closed forms, stability
def test_lecture_examples():
    # one neuron, w = 0.4, b = 0.1, x = 0.15, target 0.3: loss (0.3 - 0.16)² ≈ 0.0196
    w = mg.tensor(0.4, dtype=mg.float64, requires_grad=True)
    loss = F.mse_loss(w * 0.15 + 0.1, mg.tensor(0.3, dtype=mg.float64))
    assert math.isclose(loss.item(), 0.14 ** 2)
    loss.backward()
    assert math.isclose(w.grad.item(), 2 * (0.16 - 0.3) * 0.15)
    # cross-entropy -Σ y log p with a one-hot y equals the class-index form
    logits = mg.tensor([[2.0, 1.0, 0.1]], dtype=mg.float64)
    onehot = mg.tensor([[0.0, 1.0, 0.0]], dtype=mg.float64)
    p = np.exp(logits.data) / np.exp(logits.data).sum()
    assert math.isclose(F.cross_entropy(logits, mg.tensor([1])).item(), -math.log(p[0, 1]))
    assert math.isclose(F.cross_entropy(logits, onehot).item(), -math.log(p[0, 1]))


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    rng = np.random.default_rng(0)
    x = leaf(rng.normal(size=(4, 5)))
    t = np.array([0, 4, 2, 2])
    F.cross_entropy(x, mg.tensor(t)).backward()
    p = np.exp(np_log_softmax(x.data, 1))
    np.testing.assert_allclose(x.grad.data, (p - np.eye(5)[t]) / 4, atol=1e-15)


def test_cross_entropy_all_ignored_is_nan_and_float32_stays_float32():
    x = mg.tensor([[1.0, 2.0]], requires_grad=True)
    out = F.cross_entropy(x, mg.tensor([-100]))
    assert np.isnan(out.item()) and out.dtype == np.float32
    assert F.cross_entropy(x, mg.tensor([1]), reduction="sum").dtype == np.float32
    big = mg.tensor([[1000.0, -1000.0]], dtype=mg.float64, requires_grad=True)
    loss = F.cross_entropy(big, mg.tensor([1]))
    loss.backward()
    assert loss.item() == 2000.0 and np.isfinite(big.grad.data).all()


def test_binary_losses_are_stable_at_the_edges():
    x = mg.tensor([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=mg.float64, requires_grad=True)
    y = mg.tensor([1.0, 0.0, 1.0, 1.0, 0.0], dtype=mg.float64)
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    loss.sum().backward()
    np.testing.assert_allclose(loss.data, [1000.0, 0.0, math.log(2), 0.0, 1000.0], atol=1e-15)
    # d/dx = σ(x) - y, also at x = 0 (where |x| has its kink)
    np.testing.assert_allclose(x.grad.data, [-1.0, 0.0, -0.5, 0.0, 1.0], atol=1e-15)
    p = mg.tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    t = mg.tensor([1.0, 0.0, 0.0, 1.0])
    bce = F.binary_cross_entropy(p, t, reduction="none")
    bce.sum().backward()
    assert bce.tolist() == [100.0, 100.0, 0.0, 0.0]      # log clamped at -100
    assert np.isfinite(p.grad.data).all()


def test_losses_accept_integer_targets_and_arrays():
    x = mg.tensor([0.0, 1.0], requires_grad=True)
    assert math.isclose(F.mse_loss(x, mg.tensor([0, 0])).item(), 0.5)
    assert math.isclose(F.mse_loss(x, np.array([True, True])).item(), 0.5)
    assert math.isclose(F.l1_loss(x, [1.0, 1.0]).item(), 0.5)
    assert F.cross_entropy(mg.zeros((2, 3)), np.array([0, 2])).shape == ()


# ---------------------------------------------------------------- errors
def test_loss_errors_name_the_problem():
    x = mg.zeros((2, 10))
    with pytest.raises(IndexError) as info:
        F.cross_entropy(x, mg.tensor([3, 12]))
    assert str(info.value) == "cross_entropy: target class 12 out of range for 10 classes"
    with pytest.raises(IndexError, match="target class -1 out of range"):
        F.nll_loss(x, mg.tensor([0, -1]))
    with pytest.raises(ValueError,
                       match=r"target shape \(3,\) does not match input shape \(2, 10\)"):
        F.cross_entropy(x, mg.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="class probabilities need the input's shape"):
        F.cross_entropy(x, mg.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="integer"):
        F.nll_loss(x, mg.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match=r"target shape \(2, 1\) != input shape \(2,\)"):
        F.mse_loss(mg.zeros(2), mg.zeros((2, 1)))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(mg.tensor([1.5]), mg.tensor([1.0]))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, mg.tensor([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"weight has shape \(3,\), expected \(10,\)"):
        F.cross_entropy(x, mg.tensor([0, 1]), mg.ones(3))
    with pytest.raises(ValueError, match="p = 1 and p = 2"):
        F.multi_margin_loss(x, mg.tensor([0, 1]), p=3)
    with pytest.raises(ValueError, match="delta"):
        nn.HuberLoss(delta=0)
    with pytest.raises(TypeError, match="floating point"):
        F.mse_loss(mg.tensor([1, 2]), mg.tensor([1, 2]))


# ---------------------------------------------------------------- modules
def test_loss_modules_call_their_functions():
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.normal(size=(3, 4)))
    t = mg.tensor(np.array([0, 3, 1]))
    w = mg.tensor(rng.uniform(0.5, 2, size=4))
    y = mg.tensor(rng.uniform(size=(3, 4)))
    pairs = [
        (nn.MSELoss(reduction="sum"), F.mse_loss(x, y, reduction="sum")),
        (nn.L1Loss(), F.l1_loss(x, y)),
        (nn.HuberLoss("none", 0.5), F.huber_loss(x, y, "none", 0.5)),
        (nn.CrossEntropyLoss(w, label_smoothing=0.1),
         F.cross_entropy(x, t, w, label_smoothing=0.1)),
        (nn.NLLLoss(w), F.nll_loss(x, t, w)),
        (nn.MultiMarginLoss(2, 0.5, w), F.multi_margin_loss(x, t, 2, 0.5, w)),
    ]
    for module, expected in pairs:
        target = y if isinstance(module, (nn.MSELoss, nn.L1Loss, nn.HuberLoss)) else t
        np.testing.assert_allclose(module(x, target).data, expected.data)
    s = mg.tensor(rng.uniform(0.1, 0.9, size=(3, 4)))
    np.testing.assert_allclose(nn.BCELoss()(s, y).data, F.binary_cross_entropy(s, y).data)
    np.testing.assert_allclose(nn.BCEWithLogitsLoss(pos_weight=w)(x, y).data,
                               F.binary_cross_entropy_with_logits(x, y, pos_weight=w).data)
    h = mg.tensor(np.array([1, -1, 1]))
    np.testing.assert_allclose(nn.HingeEmbeddingLoss(0.5)(x[:, 0], h).data,
                               F.hinge_embedding_loss(x[:, 0], h, 0.5).data)
    assert list(nn.CrossEntropyLoss(w).state_dict()) == ["weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    assert list(nn.BCEWithLogitsLoss(w, pos_weight=w).state_dict()) == ["weight", "pos_weight"]
    assert repr(nn.MSELoss()) == "MSELoss()"
    assert repr(nn.HuberLoss(delta=2.0)) == "HuberLoss(delta=2.0)"


# ---------------------------------------------------------------- PyTorch parity
def _parity_cases():
    """(name, arrays, call): ``call(F, T, *inputs)`` is written once and run with our
    functional module and mg.tensor, then with torch.nn.functional and torch.tensor:
    the same keyword call must work in both libraries."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    p = 1 / (1 + np.exp(-x))
    yb = (rng.uniform(size=(5, 4)) > 0.5).astype(float)
    w = rng.uniform(0.5, 2, size=4)
    t = rng.integers(0, 4, size=5)
    ti = t.copy()
    ti[2] = -100
    x4, t4 = rng.normal(size=(2, 4, 3, 2)), rng.integers(0, 4, size=(2, 3, 2))
    t4[0, 1, 1] = 7
    q = np.exp(y) / np.exp(y).sum(1, keepdims=True)
    sign = np.sign(y)
    cases = []
    for r in REDUCTIONS:
        cases += [
            (f"mse {r}", [x, y], lambda F, T, a, b, r=r: F.mse_loss(a, b, reduction=r)),
            (f"huber {r}", [3 * x, y],
             lambda F, T, a, b, r=r: F.huber_loss(a, b, reduction=r, delta=0.7)),
            (f"bce {r}", [p],
             lambda F, T, a, r=r: F.binary_cross_entropy(a, T(yb), T(w), reduction=r)),
            (f"bce_logits {r}", [5 * x, p],
             lambda F, T, a, b, r=r: F.binary_cross_entropy_with_logits(
                 a, b, T(w), reduction=r, pos_weight=T(w))),
            (f"hinge {r}", [x],
             lambda F, T, a, r=r: F.hinge_embedding_loss(a, T(sign), 0.8, reduction=r)),
            (f"nll {r}", [x], lambda F, T, a, r=r: F.nll_loss(a, T(ti), T(w), reduction=r)),
        ]
        for pp in (1, 2):
            cases.append((f"multi_margin p={pp} {r}", [x],
                          lambda F, T, a, r=r, pp=pp: F.multi_margin_loss(
                              a, T(t), pp, 0.9, T(w), reduction=r)))
        for ls in (0.0, 0.2):
            for use_w in (False, True):
                opts = dict(reduction=r, label_smoothing=ls)
                wt = (lambda T: T(w)) if use_w else (lambda T: None)
                tag = f"ls={ls} w={use_w} {r}"
                cases += [
                    (f"ce indices {tag}", [x],
                     lambda F, T, a, o=opts, wt=wt: F.cross_entropy(a, T(ti), wt(T), **o)),
                    (f"ce 4-d {tag}", [x4],
                     lambda F, T, a, o=opts, wt=wt: F.cross_entropy(
                         a, T(t4), wt(T), ignore_index=7, **o)),
                    (f"ce probabilities {tag}", [x, q],
                     lambda F, T, a, b, o=opts, wt=wt: F.cross_entropy(a, b, wt(T), **o)),
                    (f"ce unbatched {tag}", [x[0]],
                     lambda F, T, a, o=opts, wt=wt: F.cross_entropy(a, T(t[0]), wt(T), **o)),
                ]
    return cases


def test_losses_and_their_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    for name, arrays, call in _parity_cases():
        ms = [leaf(a) for a in arrays]
        ts = [torch.tensor(a, requires_grad=True) for a in arrays]
        y, ty = call(F, mg.tensor, *ms), call(torch.nn.functional, torch.tensor, *ts)
        assert y.shape == tuple(ty.shape), name
        seed = np.arange(1.0, y.numel() + 1).reshape(y.shape)
        y.backward(seed)
        ty.backward(torch.tensor(seed))
        np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)
        for m, t in zip(ms, ts):
            np.testing.assert_allclose(m.grad.data, t.grad.numpy(), rtol=1e-9, atol=1e-12,
                                       err_msg=name)


def test_loss_module_state_dicts_match_pytorch():
    torch = pytest.importorskip("torch")
    w = np.ones(3, dtype=np.float32)
    pairs = [(nn.CrossEntropyLoss(mg.tensor(w)), torch.nn.CrossEntropyLoss(torch.tensor(w))),
             (nn.BCEWithLogitsLoss(mg.tensor(w), pos_weight=mg.tensor(w)),
              torch.nn.BCEWithLogitsLoss(torch.tensor(w), pos_weight=torch.tensor(w))),
             (nn.NLLLoss(), torch.nn.NLLLoss()), (nn.MSELoss(), torch.nn.MSELoss())]
    for ours, theirs in pairs:
        assert list(ours.state_dict()) == list(theirs.state_dict())


def test_every_target_ignored_gives_nan_loss_and_zero_gradient():
    x = mg.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    for loss_fn in (F.cross_entropy, F.nll_loss):
        x.grad = None
        loss = loss_fn(x, mg.tensor([0, 0, 0]), ignore_index=0)
        loss.backward()
        assert np.isnan(loss.item()) and not np.isnan(x.grad.data).any()
    assert F.mse_loss(mg.tensor([1.0, 2.0]), [1.0, 3.0]).dtype == np.float32
