"""Gradient clipping against NumPy norms (and PyTorch when installed)."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as hst

import microgradnn as mg
from microgradnn.nn import Parameter
from microgradnn.nn.utils import (clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_,
                                  get_total_norm)
from microgradnn.testing import strategies as st


def _params_with_grads(grads):
    params = []
    for g in grads:
        p = Parameter(mg.zeros(g.shape, dtype=mg.float64))
        p.grad = mg.tensor(g.copy())
        params.append(p)
    return params


def _numpy_norm(grads, norm_type):
    flat = np.concatenate([g.ravel() for g in grads])
    if flat.size == 0:
        return 0.0
    return np.linalg.norm(flat, ord=norm_type)


grad_lists = hst.lists(st.arrays(st.shapes(max_dims=2, max_side=3), low=-5, high=5),
                       min_size=1, max_size=3)


@given(grads=grad_lists, norm_type=hst.sampled_from([1.0, 2.0, 3.5, math.inf]),
       max_norm=hst.floats(0.1, 10.0))
def test_clip_grad_norm_matches_numpy(grads, norm_type, max_norm):
    params = _params_with_grads(grads)
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    want = _numpy_norm(grads, norm_type)
    assert isinstance(total, mg.Tensor) and total.shape == ()
    assert total.item() == pytest.approx(want, rel=1e-12, abs=1e-300)
    coef = min(1.0, max_norm / (want + 1e-6))
    for p, g in zip(params, grads):
        # atol scaled to the gradients: denormal draws round differently in either product
        np.testing.assert_allclose(p.grad.data, g * coef, rtol=1e-12,
                                   atol=1e-12 * float(np.abs(g).max(initial=0.0)))
    clipped = _numpy_norm([p.grad.data for p in params], norm_type)
    assert clipped <= max_norm * (1 + 1e-9)


def test_clip_grad_norm_in_place_single_tensor_and_missing_grads():
    w = Parameter(mg.zeros(2))
    b = Parameter(mg.zeros(3))  # no gradient: skipped
    w.grad = mg.tensor([3.0, 4.0])
    grad_array = w.grad.data
    total = clip_grad_norm_(w, 1.0)  # a single tensor is accepted too
    assert total.item() == pytest.approx(5.0) and total.dtype == np.float32
    assert w.grad.data is grad_array
    np.testing.assert_allclose(w.grad.data, [0.6, 0.8], rtol=1e-5)
    assert clip_grad_norm_([b], 1.0).item() == 0.0 and b.grad is None
    # below the limit nothing changes
    w.grad = mg.tensor([0.3, 0.4])
    clip_grad_norm_([w, b], 1.0)
    np.testing.assert_allclose(w.grad.data, [0.3, 0.4], rtol=1e-6)


def test_clip_grad_norm_nonfinite():
    w = Parameter(mg.zeros(2))
    w.grad = mg.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match=r"total norm of order 2.0 of the gradients is inf"):
        clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(w.grad.data, [np.inf, 1.0])  # untouched
    total = clip_grad_norm_([w], 1.0)
    assert math.isinf(total.item())
    w.grad = mg.tensor([np.nan, 1.0])
    with pytest.raises(RuntimeError, match="is nan"):
        clip_grad_norm_([w], 1.0, norm_type=math.inf, error_if_nonfinite=True)


def test_total_norm_and_clip_with_norm_split_the_work():
    a, b = Parameter(mg.zeros(2)), Parameter(mg.zeros(1))
    a.grad, b.grad = mg.tensor([1.0, 2.0]), mg.tensor([2.0])
    total = get_total_norm([a.grad, b.grad])
    assert total.item() == pytest.approx(3.0)
    clip_grads_with_norm_([a, b], 1.5, total)
    np.testing.assert_allclose(np.r_[a.grad.data, b.grad.data], [0.5, 1.0, 1.0], rtol=1e-5)
    # order 0, as PyTorch: the number of tensors whose own 0-norm is nonzero
    assert get_total_norm([a.grad], norm_type=0).item() == 1.0
    assert get_total_norm([a.grad, mg.zeros(2), b.grad], norm_type=0).item() == 2.0
    assert get_total_norm([mg.tensor([-3.0, 1.0])], norm_type=-math.inf).item() == 1.0


@given(grads=grad_lists, clip_value=hst.floats(0.0, 4.0))
def test_clip_grad_value_matches_numpy(grads, clip_value):
    params = _params_with_grads(grads)
    assert clip_grad_value_(params, clip_value) is None
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad.data, np.clip(g, -clip_value, clip_value))


def test_clip_errors():
    with pytest.raises(TypeError, match="clip_grad_norm_: expected Tensors, parameter 0 is list"):
        clip_grad_norm_([[1.0]], 1.0)
    with pytest.raises(TypeError, match="clip_grad_value_: expected Tensors"):
        clip_grad_value_([np.zeros(2)], 1.0)


@pytest.mark.parametrize("norm_type", [1.0, 2.0, math.inf])
def test_clip_grad_norm_matches_pytorch(norm_type):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)]
    ours = [Parameter(mg.zeros(g.shape)) for g in grads]
    theirs = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = mg.tensor(g.copy()), torch.tensor(g.copy())
    total = clip_grad_norm_(ours, 0.5, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type)
    assert total.dtype == np.float32
    assert total.item() == pytest.approx(ttotal.item(), rel=1e-6)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-6)
