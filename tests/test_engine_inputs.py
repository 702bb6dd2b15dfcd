"""``autograd.grad`` and ``backward(inputs=...)`` run only the nodes on paths to the inputs.

Counted, not timed: a user Function counts its backward calls, and the engine's
``on_step`` callback counts every node it runs.
"""
import numpy as np
import pytest

import microgradnn as mg
from microgradnn.autograd import engine


class Counted(mg.autograd.Function):
    """y = x (the identity), counting its backward calls."""

    calls = 0

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        Counted.calls += 1
        return grad


def _graph():
    """loss = sum(x * 2) + sum(chain of 50 counted nodes on w): x's path has 3 nodes."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor([3.0, 4.0], requires_grad=True)
    h = w
    for _ in range(50):
        h = Counted.apply(h)
    loss = (x * 2).sum() + h.sum()
    return x, w, loss


def _steps(loss, inputs, **kw):
    nodes = []
    engine.run_backward([loss], [np.ones((), dtype=loss.dtype)], retain_graph=True,
                        create_graph=False, inputs=inputs,
                        on_step=lambda fn, g: nodes.append(type(fn).__name__), **kw)
    return nodes


def test_grad_runs_only_the_path_to_its_input():
    x, w, loss = _graph()
    Counted.calls = 0
    (gx,) = mg.autograd.grad(loss, [x], retain_graph=True)
    assert Counted.calls == 0
    np.testing.assert_array_equal(gx.data, [2.0, 2.0])
    assert x.grad is None and w.grad is None
    assert _steps(loss, [x]) == ["Add", "Sum", "Mul"]
    assert len(_steps(loss, None)) == 3 + 1 + 50   # everything, for comparison


def test_backward_inputs_accumulates_only_into_those():
    x, w, loss = _graph()
    Counted.calls = 0
    loss.backward(inputs=[x], retain_graph=True)
    assert Counted.calls == 0
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])
    assert w.grad is None
    loss.backward(inputs=w)
    assert Counted.calls == 50
    np.testing.assert_array_equal(w.grad.data, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_backward_inputs_gives_the_same_gradients_as_a_full_backward():
    rng = np.random.default_rng(0)
    a = mg.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    b = mg.tensor(rng.normal(size=(2,)), requires_grad=True)
    c = mg.tensor(rng.normal(size=(3, 2)), requires_grad=True)

    def f():
        return ((a * b).tanh() + (a * c).exp()).sum()

    f().backward()
    full = [t.grad.data.copy() for t in (a, b, c)]
    for t in (a, b, c):
        t.grad = None
    f().backward(inputs=[a, c])
    np.testing.assert_allclose(a.grad.data, full[0], rtol=1e-12)
    np.testing.assert_allclose(c.grad.data, full[2], rtol=1e-12)
    assert b.grad is None


def test_backward_inputs_with_a_non_leaf_tensor_sets_its_grad():
    """As PyTorch: a non-leaf input gets ``.grad``; nodes below it need not run."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = Counted.apply(x) * 2
    w = mg.tensor([3.0, 4.0], requires_grad=True)
    y = (h * w).sum()
    Counted.calls = 0
    y.backward(inputs=[h, w], retain_graph=True)
    np.testing.assert_array_equal(h.grad.data, [3.0, 4.0])
    np.testing.assert_array_equal(w.grad.data, [2.0, 4.0])
    assert x.grad is None and Counted.calls == 0
    y.backward(inputs=[h])
    np.testing.assert_array_equal(h.grad.data, [6.0, 8.0])


def test_grad_of_a_non_leaf_input_does_not_run_below_it():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = Counted.apply(Counted.apply(x))
    y = (h * h).sum()
    Counted.calls = 0
    (gh,) = mg.autograd.grad(y, h)
    np.testing.assert_array_equal(gh.data, [2.0, 4.0])
    assert Counted.calls == 0


def test_grad_with_one_input_on_a_shared_path():
    """Both inputs below one node: that node runs once, each input gets its part."""
    x = mg.tensor(2.0, requires_grad=True)
    w = mg.tensor(3.0, requires_grad=True)
    h = x * w
    y = h.exp() + Counted.apply(w).sum()
    Counted.calls = 0
    (gx,) = mg.autograd.grad(y, x, retain_graph=True)
    assert Counted.calls == 0
    np.testing.assert_allclose(gx.data, 3.0 * np.exp(6.0))
    gx, gw = mg.autograd.grad(y, [x, w])
    assert Counted.calls == 1
    np.testing.assert_allclose(gw.data, 2.0 * np.exp(6.0) + 1.0)


def test_unused_input_and_bad_inputs():
    x, w, loss = _graph()
    u = mg.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused"):
        mg.autograd.grad(loss, [x, u], retain_graph=True)
    gx, gu = mg.autograd.grad(loss, [x, u], allow_unused=True, retain_graph=True)
    assert gu is None
    loss.backward(inputs=[u], retain_graph=True)   # unused: nothing to add, as PyTorch
    assert u.grad is None
    with pytest.raises(RuntimeError, match="cannot be empty"):
        loss.backward(inputs=[])
    with pytest.raises(RuntimeError, match="does not require grad"):
        loss.backward(inputs=[mg.ones(2)])
    with pytest.raises(TypeError, match="must hold Tensors"):
        loss.backward(inputs=[np.ones(2)])


def test_second_order_through_a_restricted_walk():
    x = mg.tensor(1.5, requires_grad=True)
    w = mg.tensor(0.5, requires_grad=True)
    y = (x ** 3) * 2 + Counted.apply(w).exp()
    Counted.calls = 0
    (g,) = mg.autograd.grad(y, x, create_graph=True)
    (gg,) = mg.autograd.grad(g, x)
    np.testing.assert_allclose(g.data, 6 * 1.5 ** 2)
    np.testing.assert_allclose(gg.data, 12 * 1.5)
    assert Counted.calls == 0
