"""Every operation in the spec table: forward against NumPy, first- and second-order
gradients against central finite differences, gradient shape and dtype."""
import numpy as np
import pytest
from hypothesis import given, strategies as hst

import microgradnn as mg
from microgradnn.testing import gradcheck, gradgradcheck

from op_specs import SPECS


def leaves(arrays, dtype=np.float64):
    return [mg.tensor(np.asarray(a, dtype=dtype), requires_grad=True) for a in arrays]


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@given(data=hst.data())
def test_forward_matches_numpy(spec, data):
    case = spec.draw(data)
    out = case.fn(*leaves(case.arrays))
    expected = np.asarray(case.ref(*case.arrays))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@given(data=hst.data())
def test_gradcheck(spec, data):
    case = spec.draw(data)
    assert gradcheck(case.fn, leaves(case.arrays))


@pytest.mark.parametrize("spec", [s for s in SPECS if s.second_order], ids=repr)
@given(data=hst.data())
def test_gradgradcheck(spec, data):
    case = spec.draw(data)
    assert gradgradcheck(case.fn, leaves(case.arrays))


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=hst.data())
def test_gradient_has_shape_and_dtype_of_its_tensor(spec, dtype, data):
    case = spec.draw(data)
    xs = leaves(case.arrays, dtype)
    out = case.fn(*xs)
    if not out.requires_grad:  # e.g. an empty selection that cut every input off
        return
    out.backward(np.ones(out.shape, dtype=out.dtype))
    for x in xs:
        if x.grad is not None:
            assert x.grad.shape == x.shape
            assert x.grad.dtype == x.dtype


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@given(data=hst.data())
def test_plain_and_recorded_backward_agree(spec, data):
    """The fast array path and the create_graph Tensor path run the same backward code."""
    case = spec.draw(data)
    xs = leaves(case.arrays)
    out = case.fn(*xs)
    if not out.requires_grad:
        return
    seed = np.random.default_rng(0).standard_normal(out.shape)
    plain = mg.autograd.grad(out, xs, seed, retain_graph=True, allow_unused=True)
    recorded = mg.autograd.grad(out, xs, mg.tensor(seed), create_graph=True, allow_unused=True)
    for p, r in zip(plain, recorded):
        assert (p is None) == (r is None)
        if p is not None:
            np.testing.assert_allclose(p.data, r.data, rtol=1e-12, atol=1e-12)
