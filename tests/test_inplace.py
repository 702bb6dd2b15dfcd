"""In-place operations follow PyTorch's rules: they keep the tensor's identity, are free
outside a graph, refused on a leaf that requires grad while grad mode is on, and recorded
(first and second order) on a tensor inside a graph."""
import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn
from microgradnn.testing import gradcheck, gradgradcheck

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def f64(values, grad=True):
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=grad)


def test_manual_update_in_no_grad_keeps_identity_and_trains_the_model():
    model = nn.Linear(3, 1)
    x, y = mg.randn(8, 3), mg.randn(8, 1)
    params = list(model.parameters())
    before = [p.data.copy() for p in params]
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    with mg.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    for p, old, now in zip(params, before, model.parameters()):
        assert p is now
        assert not np.allclose(p.data, old)
        np.testing.assert_allclose(p.data, old - 0.1 * p.grad.data, rtol=1e-6)
        assert p.is_leaf and p.requires_grad


@pytest.mark.parametrize("update", [
    lambda p: p.add_(1.0), lambda p: p.sub_(1.0), lambda p: p.mul_(2.0), lambda p: p.div_(2.0),
    lambda p: p.pow_(2), lambda p: p.neg_(), lambda p: p.clamp_(0, 1), lambda p: p.zero_(),
    lambda p: p.fill_(3.0), lambda p: p.copy_(mg.ones(3)), lambda p: p.uniform_(),
    lambda p: p.normal_(), lambda p: p.masked_fill_(mg.tensor([True, False, True]), 0.0),
    lambda p: p.__iadd__(1.0), lambda p: p.__isub__(1.0), lambda p: p.__imul__(2.0),
    lambda p: p.__itruediv__(2.0), lambda p: p.__ipow__(2.0), lambda p: p.__setitem__(0, 5.0),
], ids=["add_", "sub_", "mul_", "div_", "pow_", "neg_", "clamp_", "zero_", "fill_", "copy_",
        "uniform_", "normal_", "masked_fill_", "+=", "-=", "*=", "/=", "**=", "setitem"])
def test_leaf_that_requires_grad_refuses_in_place_with_grad_mode_on(update):
    p = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    before = p.data.copy()
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad.*no_grad"):
        update(p)
    np.testing.assert_array_equal(p.data, before)  # nothing was written
    with mg.no_grad():
        out = update(p)
    assert out is None or out is p
    assert p.is_leaf and p.requires_grad and p.grad_fn is None


def test_in_place_values_match_out_of_place():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3)).astype(np.float32)
    b = rng.standard_normal((2, 3)).astype(np.float32)
    cases = [("add_", lambda t: t.add_(mg.tensor(b), alpha=2), a + 2 * b),
             ("sub_", lambda t: t.sub_(mg.tensor(b)), a - b),
             ("mul_", lambda t: t.mul_(mg.tensor(b)), a * b),
             ("div_", lambda t: t.div_(2.0), a / 2),
             ("pow_", lambda t: t.pow_(2), a ** 2),
             ("neg_", lambda t: t.neg_(), -a),
             ("clamp_", lambda t: t.clamp_(-0.5, 0.5), np.clip(a, -0.5, 0.5)),
             ("masked_fill_", lambda t: t.masked_fill_(mg.tensor(a > 0), -1.0),
              np.where(a > 0, -1.0, a)),
             ("copy_", lambda t: t.copy_(mg.tensor(b[0])), np.broadcast_to(b[0], a.shape)),
             ("fill_", lambda t: t.fill_(2.5), np.full(a.shape, 2.5)),
             ("zero_", lambda t: t.zero_(), np.zeros(a.shape)),
             ("@=", lambda t: t.__imatmul__(mg.eye(3) * 2), a @ (2 * np.eye(3)))]
    for name, fn, expected in cases:
        t = mg.tensor(a)
        data = t.data
        assert fn(t) is t, name
        assert t.data is data, name  # the same memory
        np.testing.assert_allclose(t.data, expected, rtol=1e-6, err_msg=name)
        assert t.dtype == np.float32, name


def test_in_place_writes_are_seen_by_views_and_detached_aliases():
    x = mg.zeros(2, 3)
    view, alias = x[0], x.detach()
    x += 1
    assert view.data.sum() == 3 and alias.data.sum() == 6


def test_in_place_refuses_shape_changes_and_unsafe_casts():
    x = mg.zeros(3)
    with pytest.raises(RuntimeError, match="add_: the result has shape \\(2, 3\\)"):
        x.add_(mg.ones(2, 3))
    i = mg.arange(3)
    with pytest.raises(RuntimeError, match="result type float32 can't be cast to .*int64"):
        i += 1.5
    i += 2  # int stays int
    assert i.dtype == np.int64 and i.tolist() == [2, 3, 4]
    e = mg.ones(3).expand(2, 3)
    with pytest.raises(RuntimeError, match="read-only"):
        with mg.no_grad():
            e.add_(1)


def test_random_fills_use_the_seeded_generator():
    mg.manual_seed(3)
    a = mg.zeros(1000).uniform_(-2, 2)
    mg.manual_seed(3)
    b = mg.zeros(1000).uniform_(-2, 2)
    assert np.array_equal(a.data, b.data)
    assert -2 <= a.data.min() and a.data.max() < 2
    n = mg.zeros(20000, dtype=mg.float64).normal_(1.0, 2.0)
    assert abs(n.data.mean() - 1.0) < 0.1 and abs(n.data.std() - 2.0) < 0.1


# ---------------------------------------------------------------- recorded in-place
def _chain(x):
    """Out-of-place ops and in-place ops on non-leaves, mixed."""
    h = x * 2.0
    h.mul_(x)          # h = 2x²
    h.add_(x, alpha=3)  # h = 2x² + 3x
    h.sub_(1.0)
    h.div_(x + 4.0)
    h.pow_(2)
    h.neg_()
    h.clamp_(-50.0, None)
    return h


def test_recorded_in_place_ops_pass_gradcheck_first_and_second_order():
    x = f64([0.3, -0.7, 1.2])
    assert gradcheck(_chain, [x])
    assert gradgradcheck(_chain, [x])


def test_recorded_in_place_matches_out_of_place_values_and_gradients():
    x = f64([0.3, -0.7, 1.2])
    y = _chain(x)
    assert y.grad_fn is not None and not y.is_leaf
    y.sum().backward()
    x2 = f64([0.3, -0.7, 1.2])
    ref = -(((2.0 * x2 * x2 + 3 * x2 - 1.0) / (x2 + 4.0)) ** 2)
    ref.sum().backward()
    np.testing.assert_allclose(y.data, ref.data, rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, x2.grad.data, rtol=1e-12)


def test_in_place_on_a_tensor_that_needs_no_grad_with_an_operand_that_does():
    w = f64([1.0, 2.0, 3.0])
    acc = mg.zeros(3, dtype=mg.float64)
    acc += w * w           # acc becomes part of the graph, as in PyTorch
    assert acc.requires_grad and not acc.is_leaf
    acc.sum().backward()
    np.testing.assert_allclose(w.grad.data, 2 * w.data)


def test_y_mul_y_in_place_is_recorded_with_the_value_before_the_write():
    x = f64([0.5, 1.5])

    def f(x):
        y = x + 1.0
        y.mul_(y)           # (x+1)²
        return y
    assert gradcheck(f, [x]) and gradgradcheck(f, [x])


def test_setitem_recorded_gradients_first_and_second_order():
    x = f64([0.5, -1.0, 2.0])
    v = f64([3.0, 4.0])

    def f(x, v):
        y = x * x
        y[1:] = v * x[0]
        return y
    assert gradcheck(f, [x, v]) and gradgradcheck(f, [x, v])
    z = mg.zeros(3, dtype=mg.float64)
    z[[0, 2]] = v
    z.sum().backward()
    np.testing.assert_allclose(v.grad.data, [1.0, 1.0])


def test_setitem_outside_graph_and_its_errors():
    x = mg.zeros(3)
    x[0] = 5
    x[1:] = mg.tensor([1.0, 2.0])
    assert x.tolist() == [5.0, 1.0, 2.0]
    with pytest.raises(IndexError, match="setitem"):
        x[5] = 1.0
    with pytest.raises((TypeError, ValueError), match="setitem"):
        x[0] = "a"
    y = mg.zeros(3, dtype=mg.float64) * f64([1, 2, 3])
    with pytest.raises(IndexError, match="more than once"):
        y[[0, 0]] = f64([1.0, 2.0])


def test_in_place_on_a_view_in_a_recorded_graph_is_refused():
    w = f64([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="view"):
        w[0:2].mul_(2.0)
    h = w * 1.0
    with pytest.raises(RuntimeError, match="view"):
        h.reshape(3, 1).add_(1.0)
    with mg.no_grad():
        w[0:2].mul_(2.0)  # allowed, as in PyTorch
    assert w.tolist() == [2.0, 4.0, 3.0]


def test_requires_grad_():
    x = mg.zeros(2)
    assert x.requires_grad_() is x and x.requires_grad
    with pytest.raises(TypeError, match="floating-point"):
        mg.arange(2).requires_grad_()


@pytest.mark.skipif(torch is None, reason="PyTorch not installed")
def test_recorded_in_place_gradients_equal_pytorchs():
    xs = np.array([0.3, -0.7, 1.2])
    x = f64(xs)
    _chain(x).sum().backward()
    tx = torch.tensor(xs, requires_grad=True)
    h = tx * 2.0
    h.mul_(tx)
    h.add_(tx, alpha=3)
    h.sub_(1.0)
    h.div_(tx + 4.0)
    h.pow_(2)
    h.neg_()
    h.clamp_(-50.0, None)
    h.sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-12)
