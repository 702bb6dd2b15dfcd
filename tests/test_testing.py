"""microgradnn.testing itself: checks that cannot pass vacuously, messages with plain
numbers, strategies that draw what they promise."""
import importlib
import re
import sys

import numpy as np
import pytest
from hypothesis import find, given, settings

import microgradnn as mg
from microgradnn.testing import GradcheckError, gradcheck, gradgradcheck
from microgradnn.testing import strategies as st


def f64(values, requires_grad=True):
    return mg.tensor(values, dtype=mg.float64, requires_grad=requires_grad)


class Square(mg.autograd.Function):
    """y = x²; a correct first derivative, given as a constant (no second derivative)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * mg.tensor(2 * x.data)  # detached: right value, wrong graph


class HalfSquare(mg.autograd.Function):
    """y = x², with a backward that forgot the factor 2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x


@pytest.mark.parametrize("check", [gradcheck, gradgradcheck])
def test_no_input_requiring_grad_is_an_error(check):
    x = f64([1.0, 2.0], requires_grad=False)
    with pytest.raises(ValueError, match="no input requires grad"):
        check(lambda x: x * 2, [x])


@pytest.mark.parametrize("check", [gradcheck, gradgradcheck])
def test_float32_input_is_an_error(check):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="input 0 of shape \\(2,\\) has dtype float32"):
        check(lambda x: x * 2, [x])


def test_float32_output_is_an_error():
    x = f64([1.0, 2.0])
    with pytest.raises(TypeError, match="output 0 has dtype float32"):
        gradcheck(lambda x: x.astype(mg.float32) * 2, [x])


@pytest.mark.parametrize("check", [gradcheck, gradgradcheck])
def test_unused_input_is_reported_unless_allowed(check):
    x, y = f64([1.0, 2.0]), f64([3.0])
    with pytest.raises(GradcheckError, match="input 1 of shape \\(1,\\) requires grad but no "
                                             "output depends on it"):
        check(lambda x, y: x.sin(), [x, y])
    assert check(lambda x, y: x.sin(), [x, y], allow_unused=True)


def test_an_output_that_needs_no_grad_uses_no_input():
    x = f64([1.0, 2.0])
    with pytest.raises(GradcheckError, match="no output depends on it"):
        gradcheck(lambda x: mg.tensor(x.data * 2), [x])


def test_failure_message_has_plain_numbers_name_element_and_tolerance():
    x = f64([0.5, 1.5, -2.0])
    x.name = "x"
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: HalfSquare.apply(b) + a, [f64([0.0]), x])
    msg = str(info.value)
    assert "np.float64" not in msg
    assert "input 1 ('x') of shape (3,), element (0,), output element 0" in msg
    assert "analytic 0.5 vs numeric 1," in msg
    assert re.search(r"difference 0\.5 > tolerance 0\.00101 \(atol 1e-05 \+ rtol 0\.001", msg)
    assert "3 of 9 entries differ" in msg


def test_names_argument_labels_the_inputs():
    w = f64([[1.0, 2.0]])
    with pytest.raises(GradcheckError, match="input 0 \\('weight'\\) of shape \\(1, 2\\), "
                                             "element \\(0, 0\\)"):
        gradcheck(HalfSquare.apply, [w], names=["weight"])


def test_gradgradcheck_catches_a_backward_that_is_only_right_to_first_order():
    x = f64([0.5, -1.5])
    assert gradcheck(Square.apply, [x])
    with pytest.raises(GradcheckError, match="gradcheck: input 0 of shape \\(2,\\)"):
        gradgradcheck(Square.apply, [x])


def test_gradgradcheck_accepts_linear_functions():
    x = f64([0.5, -1.5])
    assert gradgradcheck(lambda x: 3 * x - 1, [x])


def test_checks_leave_the_inputs_untouched():
    x = f64([[0.5, -1.5], [2.0, 0.25]]).T  # a non-contiguous view
    arr, before = x.data, x.data.copy()
    assert gradcheck(lambda t: (t * t).sum(axis=0), [x])
    assert gradgradcheck(lambda t: (t * t).sum(axis=0), [x])
    assert x.data is arr and np.array_equal(x.data, before) and x.grad is None


def test_tensors_draw_0d_and_size_0():
    assert find(st.tensors(), lambda t: t.shape == ()).shape == ()
    assert find(st.tensors(), lambda t: t.numel() == 0 and t.ndim >= 2).numel() == 0


@settings(max_examples=30)
@given(t=st.tensors(shape=st.shapes(max_dims=3)))
def test_drawn_tensor_repr_rebuilds_it(t):
    back = eval(repr(t), {"mg": mg})
    assert type(back) is mg.Tensor
    assert back.shape == t.shape and back.dtype == t.dtype
    assert back.requires_grad == t.requires_grad
    assert np.array_equal(back.data, t.data)


def test_drawn_tensor_repr_without_grad_and_float32():
    t = find(st.tensors(shape=(2,), dtype=np.float32, requires_grad=False), lambda t: True)
    assert repr(t) == "mg.tensor([0.0, 0.0], dtype=mg.float32)"


def test_strategies_without_hypothesis_name_the_extra(monkeypatch):
    monkeypatch.delitem(sys.modules, "microgradnn.testing.strategies")
    for name in [m for m in sys.modules if m == "hypothesis" or m.startswith("hypothesis.")]:
        monkeypatch.setitem(sys.modules, name, None)  # None: "import fails"
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    with pytest.raises(ImportError, match=re.escape("pip install -e '.[testing]'")):
        importlib.import_module("microgradnn.testing.strategies")


def test_inputs_reached_through_a_closure_are_perturbed_too():
    w = f64([0.5, -2.0])
    x = f64([1.5, 3.0])
    # fn uses w from its closure, as a module uses its parameters
    assert gradcheck(lambda x, _w: (x * w).sin(), [x, w])
    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(lambda x, _w: HalfSquare.apply(w) + x, [x, w])
