"""Layers, activations, normalisation and erf: values against NumPy/closed forms, first and
second derivatives by finite differences on Hypothesis-drawn shapes, errors, and PyTorch
parity (outputs given the same weights, state_dict keys) when torch is installed."""
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from hypothesis import given, settings, strategies as hst

import microgradnn as mg
from microgradnn import nn
from microgradnn.nn import functional as F
from microgradnn.ops.special import erf, erf_array
from microgradnn.testing import gradcheck, gradgradcheck
from microgradnn.testing import strategies as st

F64 = mg.float64


def leaf(a):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


# ---------------------------------------------------------------- erf
def test_erf_matches_math_erf_to_an_ulp_or_two():
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(-7, 7, 20001), rng.uniform(-6, 6, 20000),
                        np.geomspace(1e-300, 1e-3, 200), -np.geomspace(1e-300, 1e-3, 200),
                        [0.0, 1.5, np.nextafter(1.5, 2), 3.0, np.nextafter(3.0, 4), 6.0, 6.5,
                         30.0]])
    ref = np.array([math.erf(v) for v in x])
    got = erf_array(x)
    assert got.dtype == np.float64
    rel = np.abs(got - ref) / np.maximum(np.abs(ref), np.finfo(float).tiny)
    assert rel.max() < 5e-16
    assert np.all(np.abs(got - ref) <= 2 * np.spacing(np.abs(ref)) + 1e-300)


def test_erf_special_values_and_dtypes():
    out = erf_array(np.array([np.nan, np.inf, -np.inf, -0.0], dtype=np.float32))
    assert out.dtype == np.float32
    assert np.isnan(out[0]) and out[1] == 1 and out[2] == -1 and out[3] == 0
    assert erf(mg.tensor([0.5])).dtype == np.float32
    np.testing.assert_allclose(erf(mg.tensor([0.5])).data, math.erf(0.5), rtol=1e-7)
    assert erf_array(np.zeros((2, 0))).shape == (2, 0)
    with pytest.raises(TypeError, match="erf"):
        erf(mg.tensor([1, 2]))


@given(st.tensors(shape=st.shapes(max_dims=2, max_side=4), low=-4, high=4))
def test_erf_first_and_second_derivatives(x):
    assert gradcheck(erf, [x])
    assert gradgradcheck(erf, [x])


# ---------------------------------------------------------------- activations
@dataclass
class Act:
    name: str
    module: Callable[[], nn.Module]
    ref: Callable[[np.ndarray], np.ndarray]
    avoid: tuple = ()
    torch_fn: Callable | None = None   # torch -> callable(tensor)

    def __repr__(self):
        return self.name


def _np_gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2))) if x.size else x


def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True, initial=-np.inf))
    return e / e.sum(axis=axis, keepdims=True)


ACTS = [
    Act("step", nn.Step, lambda x: (x > 0).astype(x.dtype), avoid=(0.0,)),
    Act("sigmoid", nn.Sigmoid, lambda x: 1 / (1 + np.exp(-x)),
        torch_fn=lambda t: t.nn.Sigmoid()),
    Act("tanh", nn.Tanh, np.tanh, torch_fn=lambda t: t.nn.Tanh()),
    Act("relu", nn.ReLU, lambda x: np.maximum(x, 0), avoid=(0.0,), torch_fn=lambda t: t.nn.ReLU()),
    Act("leaky_relu", lambda: nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x),
        avoid=(0.0,), torch_fn=lambda t: t.nn.LeakyReLU(0.2)),
    Act("elu", lambda: nn.ELU(0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x)),
        avoid=(0.0,), torch_fn=lambda t: t.nn.ELU(0.7)),
    Act("gelu", nn.GELU, _np_gelu, torch_fn=lambda t: t.nn.GELU()),
    Act("gelu_tanh", lambda: nn.GELU("tanh"),
        lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
        torch_fn=lambda t: t.nn.GELU("tanh")),
    Act("softmax", lambda: nn.Softmax(dim=-1), lambda x: _np_softmax(x, -1),
        torch_fn=lambda t: t.nn.Softmax(dim=-1)),
    Act("log_softmax", lambda: nn.LogSoftmax(dim=-1),
        lambda x: np.log(_np_softmax(x, -1)), torch_fn=lambda t: t.nn.LogSoftmax(dim=-1)),
]

act_inputs = lambda spec: st.tensors(  # noqa: E731
    shape=st.shapes(min_dims=1, max_dims=3, max_side=4), low=-4, high=4, avoid=spec.avoid,
    margin=0.02)


@pytest.mark.parametrize("spec", ACTS, ids=repr)
@given(data=hst.data())
def test_activation_values(spec, data):
    x = data.draw(act_inputs(spec))
    y = spec.module()(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    np.testing.assert_allclose(y.data, spec.ref(x.data), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spec", ACTS, ids=repr)
@settings(max_examples=8)
@given(data=hst.data())
def test_activation_gradients_first_and_second_order(spec, data):
    x = data.draw(act_inputs(spec))
    m = spec.module()
    assert gradcheck(m, [x])
    assert gradgradcheck(m, [x])


def test_activation_closed_forms_and_edges():
    x = mg.tensor([-2.0, 0.0, 3.0], dtype=F64, requires_grad=True)
    F.relu(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]          # relu'(0) = 0, as PyTorch
    x.grad = None
    F.elu(x, 0.5).sum().backward()
    assert x.grad.tolist() == [0.5 * math.exp(-2.0), 0.5, 1.0]  # elu'(0) = alpha
    x.grad = None
    F.step(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    assert F.step(x).tolist() == [0.0, 0.0, 1.0]
    big = mg.tensor([-1000.0, 1000.0], dtype=F64)
    assert F.elu(big).tolist() == [-1.0, 1000.0] and F.sigmoid(big).tolist() == [0.0, 1.0]
    assert F.gelu(big).tolist() == [-0.0, 1000.0]
    sm = F.softmax(mg.tensor([[1.0, 2.0], [3.0, 4.0]]), dim=0)
    np.testing.assert_allclose(sm.data.sum(axis=0), [1, 1], rtol=1e-6)
    np.testing.assert_allclose(F.softmax(mg.tensor([[1.0, 1.0]])).data, [[0.5, 0.5]])
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="fast")


def test_activation_reprs():
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.ELU()) == "ELU(alpha=1.0)"
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    assert repr(nn.Step()) == "Step()"


@pytest.mark.parametrize("spec", [a for a in ACTS if a.torch_fn], ids=repr)
def test_activations_match_pytorch(spec):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).normal(size=(4, 5)) * 3
    xt = torch.tensor(x, requires_grad=True)
    yt = spec.torch_fn(torch)(xt)
    (yt * torch.arange(20.0, dtype=torch.float64).reshape(4, 5)).sum().backward()
    xm = leaf(x)
    ym = spec.module()(xm)
    (ym * mg.arange(20.0, dtype=F64).reshape(4, 5)).sum().backward()
    np.testing.assert_allclose(ym.data, yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(xm.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- Linear
@hst.composite
def linear_case(draw):
    batch = tuple(draw(hst.lists(hst.integers(0, 3), max_size=2)))
    n_in, n_out = draw(hst.integers(1, 4)), draw(hst.integers(1, 4))
    x = draw(st.arrays(batch + (n_in,)))
    w = draw(st.arrays((n_out, n_in)))
    b = draw(hst.none() | st.arrays((n_out,)))
    return x, w, b


@settings(max_examples=12)
@given(linear_case())
def test_linear_values_and_gradients(case):
    x, w, b = case
    ref = x @ w.T + (0 if b is None else b)
    ts = [leaf(x), leaf(w)] + ([] if b is None else [leaf(b)])
    fn = lambda *t: F.linear(*t)  # noqa: E731
    np.testing.assert_allclose(fn(*ts).data, ref, rtol=1e-12, atol=1e-12)
    assert gradcheck(fn, ts)
    assert gradgradcheck(fn, ts)


def test_linear_gradients_closed_form():
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(5, 3)), rng.normal(size=(2, 3))
    b, g = rng.normal(size=2), rng.normal(size=(5, 2))
    tx, tw, tb = leaf(x), leaf(w), leaf(b)
    F.linear(tx, tw, tb).backward(g)
    np.testing.assert_allclose(tx.grad.data, g @ w)
    np.testing.assert_allclose(tw.grad.data, g.T @ x)
    np.testing.assert_allclose(tb.grad.data, g.sum(0))


def test_linear_module_shapes_init_and_errors():
    mg.manual_seed(0)
    lin = nn.Linear(400, 30)
    assert lin.weight.shape == (30, 400) and lin.bias.shape == (30,)
    assert lin.weight.dtype == np.float32
    bound = 1 / math.sqrt(400)
    for p in (lin.weight, lin.bias):
        assert np.abs(p.data).max() <= bound * (1 + 1e-6)   # float32 rounding
    # U(-b, b) has standard deviation b/√3
    assert abs(lin.weight.data.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert lin(mg.zeros(400)).shape == (30,)
    assert lin(mg.zeros((2, 3, 400))).shape == (2, 3, 30)
    assert nn.Linear(2, 3, dtype=F64).weight.dtype == np.float64
    assert nn.Linear(2, 3, bias=False).bias is None
    with pytest.raises(ValueError) as info:
        nn.Linear(4, 3)(mg.zeros((2, 5)))
    assert str(info.value) == "linear: input feature size 5 != in_features 4 (input shape (2, 5))"
    with pytest.raises(ValueError, match="bias has shape"):
        F.linear(mg.zeros((2, 4)), mg.zeros((3, 4)), mg.zeros(4))
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(-1, 3)


def test_linear_matches_pytorch_given_the_same_weights():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.Linear(5, 3), torch.nn.Linear(5, 3)
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    theirs.load_state_dict({k: torch.tensor(v.data) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(2, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(ours(mg.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- Identity, Flatten, Dropout
def test_identity_and_flatten():
    x = mg.zeros((2, 3, 4, 5))
    assert nn.Identity(7, key=1)(x) is x
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    t = leaf(np.arange(6.0).reshape(1, 2, 3))
    assert gradcheck(nn.Flatten(), [t])


def test_dropout_statistics_scaling_and_gradient():
    mg.manual_seed(0)
    x = mg.ones(20000, dtype=F64, requires_grad=True)
    drop = nn.Dropout(0.3)
    y = drop(x)
    kept = y.data != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y.data[kept], 1 / 0.7)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, y.data)    # the same mask scales the gradient
    drop.eval()
    assert drop(x) is x
    assert F.dropout(x, 0.0) is x
    assert (F.dropout(x, 1.0).data == 0).all()
    mg.manual_seed(5)
    a = F.dropout(mg.ones(50), 0.5)
    mg.manual_seed(5)
    np.testing.assert_array_equal(F.dropout(mg.ones(50), 0.5).data, a.data)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(p)


# ---------------------------------------------------------------- Embedding
def test_embedding_lookup_gradient_and_padding():
    mg.manual_seed(0)
    emb = nn.Embedding(6, 3, padding_idx=2, dtype=F64)
    assert emb.weight.shape == (6, 3) and (emb.weight.data[2] == 0).all()
    emb.weight.data[2] = 7.0            # the padding row's value still comes out
    idx = np.array([[0, 2, 5], [5, 5, 1]])
    out = emb(mg.tensor(idx))
    np.testing.assert_array_equal(out.data, emb.weight.data[idx])
    g = np.random.default_rng(1).normal(size=(2, 3, 3))
    out.backward(g)
    expected = np.zeros((6, 3))
    np.add.at(expected, idx, g)          # repeated indices accumulate
    expected[2] = 0                      # the padding row gets no gradient
    np.testing.assert_allclose(emb.weight.grad.data, expected)
    assert repr(emb) == "Embedding(6, 3, padding_idx=2)"
    assert nn.Embedding(4, 2, padding_idx=-1).padding_idx == 3


@settings(max_examples=8)
@given(hst.integers(1, 4), hst.integers(1, 3), st.shapes(max_dims=2, max_side=3), hst.data())
def test_embedding_gradients(num, dim, idx_shape, data):
    weight = leaf(data.draw(st.arrays((num, dim))))
    idx = np.random.default_rng(data.draw(hst.integers(0, 99))).integers(0, num, size=idx_shape)
    # (padding_idx deliberately blocks its row's gradient: checked in closed form above)
    fn = lambda w: F.embedding(mg.tensor(idx), w)  # noqa: E731
    assert gradcheck(fn, [weight]) and gradgradcheck(fn, [weight])


def test_dropout_gradients_with_a_fixed_mask():
    def fn(x):
        mg.manual_seed(0)   # the same mask at every evaluation
        return F.dropout(x, 0.4)

    x = leaf(np.random.default_rng(0).normal(size=(3, 4)))
    assert gradcheck(fn, [x]) and gradgradcheck(fn, [x])


def test_embedding_init_errors_and_from_pretrained():
    mg.manual_seed(0)
    w = nn.Embedding(2000, 10).weight.data
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02
    emb = nn.Embedding(10, 2)
    with pytest.raises(IndexError, match="index 10 out of range for 10 embeddings"):
        emb(mg.tensor([1, 10]))
    with pytest.raises(IndexError, match="index -1"):
        emb(mg.tensor([-1]))
    with pytest.raises(TypeError, match="integers"):
        emb(mg.tensor([1.0]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)
    pre = nn.Embedding.from_pretrained(mg.tensor([[1.0, 2.0], [3.0, 4.0]]), freeze=False)
    assert pre(mg.tensor([1])).tolist() == [[3.0, 4.0]] and pre.weight.requires_grad
    assert pre(mg.tensor(np.zeros((0,), dtype=np.int64))).shape == (0, 2)


def test_embedding_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.Embedding(7, 4, padding_idx=1)
    theirs = torch.nn.Embedding(7, 4, padding_idx=1)
    theirs.load_state_dict({k: torch.tensor(v.data) for k, v in ours.state_dict().items()})
    idx = np.array([[1, 3], [6, 1]])
    np.testing.assert_array_equal(ours(mg.tensor(idx)).data,
                                  theirs(torch.tensor(idx)).detach().numpy())


# ---------------------------------------------------------------- BatchNorm
@hst.composite
def bn_case(draw):
    rank = draw(hst.sampled_from([2, 3, 4]))
    c = draw(hst.integers(1, 3))
    shape = (draw(hst.integers(2, 3)), c) + tuple(draw(hst.integers(1, 2)) for _ in range(rank - 2))
    x = draw(st.arrays(shape))
    # keep each channel's spread away from 0: the finite differences stay meaningful
    axes = (0,) + tuple(range(2, rank))
    from hypothesis import assume
    assume(np.all(x.std(axis=axes) > 0.2))
    return x, draw(st.arrays((c,), low=0.5, high=2)), draw(st.arrays((c,)))


@settings(max_examples=10)
@given(bn_case())
def test_batch_norm_training_values_and_gradients(case):
    x, w, b = case
    axes = (0,) + tuple(range(2, x.ndim))
    shape = [1] * x.ndim
    shape[1] = -1
    ref = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + 1e-5)
    ref = ref * w.reshape(shape) + b.reshape(shape)
    fn = lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)  # noqa: E731
    ts = [leaf(x), leaf(w), leaf(b)]
    np.testing.assert_allclose(fn(*ts).data, ref, rtol=1e-10, atol=1e-10)
    assert gradcheck(fn, ts)
    assert gradgradcheck(fn, ts)


def test_batch_norm_eval_gradients():
    rng = np.random.default_rng(0)
    rm, rv = mg.tensor(rng.normal(size=3)), mg.tensor(rng.uniform(0.5, 2, size=3))
    fn = lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False)  # noqa: E731
    ts = [leaf(rng.normal(size=(2, 3, 2))), leaf(rng.normal(size=3)), leaf(rng.normal(size=3))]
    ref = (ts[0].data - rm.data[:, None]) / np.sqrt(rv.data[:, None] + 1e-5) * ts[1].data[:, None] \
        + ts[2].data[:, None]
    np.testing.assert_allclose(fn(*ts).data, ref, rtol=1e-12)
    assert gradcheck(fn, ts) and gradgradcheck(fn, ts)


def test_batch_norm_running_statistics():
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm2d(3, momentum=0.2, dtype=F64)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    rm, rv = np.zeros(3), np.ones(3)
    for step in range(3):
        x = rng.normal(2.0, 3.0, size=(4, 3, 2, 2))
        y = bn(mg.tensor(x))
        flat = x.transpose(1, 0, 2, 3).reshape(3, -1)
        rm = 0.8 * rm + 0.2 * flat.mean(1)
        rv = 0.8 * rv + 0.2 * flat.var(1, ddof=1)   # unbiased for the running estimate
        np.testing.assert_allclose(y.data.transpose(1, 0, 2, 3).reshape(3, -1).mean(1), 0,
                                   atol=1e-12)
    np.testing.assert_allclose(bn.running_mean.data, rm)
    np.testing.assert_allclose(bn.running_var.data, rv)
    assert bn.num_batches_tracked.item() == 3 and bn.num_batches_tracked.dtype == np.int64
    bn.eval()
    x = rng.normal(size=(2, 3, 2, 2))
    expected = (x - rm[:, None, None]) / np.sqrt(rv[:, None, None] + 1e-5)
    np.testing.assert_allclose(bn(mg.tensor(x)).data, expected)
    assert bn.num_batches_tracked.item() == 3      # eval does not count batches


def test_batch_norm_momentum_none_is_a_cumulative_average():
    rng = np.random.default_rng(1)
    bn = nn.BatchNorm1d(2, momentum=None, dtype=F64)
    batches = [rng.normal(size=(5, 2)) for _ in range(4)]
    for x in batches:
        bn(mg.tensor(x))
    np.testing.assert_allclose(bn.running_mean.data, np.mean([x.mean(0) for x in batches], 0))


def test_batch_norm_options_and_errors():
    bn = nn.BatchNorm1d(2, affine=False, track_running_stats=False)
    assert list(bn.state_dict()) == [] and bn.weight is None and bn.running_mean is None
    x = mg.tensor([[1.0, 5.0], [3.0, 9.0]])
    np.testing.assert_allclose(bn.eval()(x).data, [[-1, -1], [1, 1]], atol=1e-4)  # batch stats
    assert nn.BatchNorm1d(2, bias=False).bias is None
    with pytest.raises(ValueError, match=r"input has 3 channels, expected num_features=2"):
        nn.BatchNorm1d(2)(mg.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        nn.BatchNorm2d(2)(mg.zeros((4, 2)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(2)(mg.zeros((1, 2)))
    assert nn.BatchNorm1d(2).eval()(mg.zeros((1, 2))).shape == (1, 2)
    with pytest.raises(ValueError, match="num_features"):
        nn.BatchNorm1d(0)
    with pytest.raises(ValueError, match="running_mean and running_var"):
        F.batch_norm(mg.zeros((2, 2)), None, None)
    assert repr(nn.BatchNorm2d(4)) == ("BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, "
                                       "bias=True, track_running_stats=True)")


@pytest.mark.parametrize("shape", [(6, 3), (5, 3, 4), (4, 3, 5, 5)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_matches_pytorch(shape, momentum):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    cls, tcls = ((nn.BatchNorm2d, torch.nn.BatchNorm2d) if len(shape) == 4
                 else (nn.BatchNorm1d, torch.nn.BatchNorm1d))
    ours, theirs = cls(3, momentum=momentum), tcls(3, momentum=momentum)
    ours.weight.data[:] = rng.normal(size=3)
    ours.bias.data[:] = rng.normal(size=3)
    theirs.load_state_dict({k: torch.tensor(v.data) for k, v in ours.state_dict().items()})
    for _ in range(3):
        x = (rng.normal(size=shape) * 2 + 1).astype(np.float32)
        np.testing.assert_allclose(ours(mg.tensor(x)).data,
                                   theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k].data, v.numpy(), rtol=1e-5, atol=1e-6)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(mg.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- LayerNorm
@hst.composite
def ln_case(draw):
    norm = tuple(draw(hst.lists(hst.integers(2, 3), min_size=1, max_size=2)))
    lead = tuple(draw(hst.lists(hst.integers(1, 2), max_size=2)))
    x = draw(st.arrays(lead + norm))
    axes = tuple(range(len(lead), len(lead) + len(norm)))
    from hypothesis import assume
    assume(np.all(x.std(axis=axes) > 0.2))
    return x, norm, draw(st.arrays(norm, low=0.5, high=2)), draw(st.arrays(norm))


@settings(max_examples=10)
@given(ln_case())
def test_layer_norm_values_and_gradients(case):
    x, norm, w, b = case
    axes = tuple(range(x.ndim - len(norm), x.ndim))
    ref = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + 1e-5) * w + b
    fn = lambda x, w, b: F.layer_norm(x, norm, w, b)  # noqa: E731
    ts = [leaf(x), leaf(w), leaf(b)]
    np.testing.assert_allclose(fn(*ts).data, ref, rtol=1e-10, atol=1e-10)
    assert gradcheck(fn, ts)
    assert gradgradcheck(fn, ts)


def test_layer_norm_module_and_errors():
    ln = nn.LayerNorm((2, 3))
    assert ln.weight.shape == (2, 3) and list(ln.state_dict()) == ["weight", "bias"]
    assert (ln.weight.data == 1).all() and (ln.bias.data == 0).all()
    assert nn.LayerNorm(3, elementwise_affine=False).weight is None
    assert nn.LayerNorm(3, bias=False).bias is None
    assert repr(nn.LayerNorm(4)) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)"
    with pytest.raises(ValueError,
                       match=r"input shape \(2, 5\) does not end with normalized_shape \(4,\)"):
        nn.LayerNorm(4)(mg.zeros((2, 5)))
    with pytest.raises(TypeError, match="normalized_shape"):
        nn.LayerNorm("a")


def test_layer_norm_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours, theirs = nn.LayerNorm((3, 4)), torch.nn.LayerNorm((3, 4))
    ours.weight.data[:] = rng.normal(size=(3, 4))
    ours.bias.data[:] = rng.normal(size=(3, 4))
    theirs.load_state_dict({k: torch.tensor(v.data) for k, v in ours.state_dict().items()})
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(mg.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
