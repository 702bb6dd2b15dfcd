"""locate: every node checked on its own, the first wrong one returned and drawable."""
import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn
from microgradnn.nn import functional as F
from microgradnn.ops import elementwise as E
from microgradnn.testing import GradcheckError, gradcheck, locate


class LeakySquare(mg.autograd.Function):
    """y = x²; its backward forgets the factor 2 (the fault locate must find)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x


def f64(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return mg.tensor(rng.standard_normal(shape), dtype=mg.float64, requires_grad=True)


def cnn_loss(fault):
    mg.manual_seed(0)
    conv, lin = nn.Conv2d(1, 2, 3, padding=1, dtype=mg.float64), nn.Linear(8, 3, dtype=mg.float64)
    target = mg.tensor([0, 2])

    def loss(x):
        h = F.max_pool2d(conv(x).tanh(), 2).flatten(1)
        if fault:
            h = LeakySquare.apply(h)
        return F.cross_entropy(lin(h), target)
    return loss


def test_a_correct_model_has_no_faulty_node():
    assert locate(cnn_loss(fault=False), [f64(2, 1, 4, 4)]) is None


def test_the_wrong_custom_function_is_found_inside_a_model():
    x = f64(2, 1, 4, 4)
    before = x.data.copy()
    loss = cnn_loss(fault=True)
    with pytest.raises(GradcheckError):
        gradcheck(loss, [x])
    failure = locate(loss, [x])
    assert isinstance(failure.node, LeakySquare)
    assert failure.op == "leakysquare" and failure.shapes == ((2, 8),)
    assert failure.input_index == 0 and failure.error > 1e-3
    assert "leakysquare" in failure.message and "input 0" in failure.message
    assert str(failure) == failure.message
    assert failure.outputs[0].shape == ()
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None


def test_a_wrong_builtin_backward_is_found(monkeypatch):
    def wrong(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 + y * y)  # sign slip: should be 1 - y²
    monkeypatch.setattr(E.Tanh, "backward", staticmethod(wrong))
    failure = locate(lambda x, w: ((x @ w).tanh() * 2).sum(), [f64(2, 3), f64(3, 2, seed=1)])
    assert isinstance(failure.node, E.Tanh) and failure.shapes == ((2, 2),)


def test_the_first_of_two_faults_in_forward_order_is_returned():
    failure = locate(lambda x: LeakySquare.apply(LeakySquare.apply(x.exp()).sin()).sum(), [f64(3)])
    assert isinstance(failure.node, LeakySquare)
    assert isinstance(failure.node.next[0], E.Exp)  # the inner one


def test_locate_restores_every_forward():
    originals = {cls: cls.__dict__["forward"] for cls in (E.Tanh, LeakySquare)}
    locate(lambda x: LeakySquare.apply(x.tanh()).sum(), [f64(3)])
    for cls, fwd in originals.items():
        assert cls.__dict__["forward"] is fwd


def test_locate_needs_something_to_check():
    with pytest.raises(ValueError, match="no input requires grad"):
        locate(lambda x: x.sin(), [mg.tensor([1.0], dtype=mg.float64)])


def test_draw_graph_paints_the_failure():
    import inspect
    if "highlight" not in inspect.signature(mg.viz.draw_graph).parameters:
        pytest.skip("draw_graph(..., highlight=) is not there yet (the pictures work adds it)")
    failure = locate(cnn_loss(fault=True), [f64(2, 1, 4, 4)])
    source = mg.viz.draw_graph(failure.outputs[0], highlight=failure).source
    from microgradnn.viz import style
    assert style.HIGHLIGHT.lower() in source.lower()       # painted in the highlight red
    assert "leakysquare" in source.lower() or "LeakySquare" in source
    first_words = failure.message.split(":")[0][:20]
    assert first_words.split(" ")[0] in source
