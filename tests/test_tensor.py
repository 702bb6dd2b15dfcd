"""The Tensor class: construction, dtypes, attributes, creation functions, clear errors."""
import numpy as np
import pytest

import microgradnn as mg


# ---------------------------------------------------------------- construction and dtypes
def test_python_floats_default_to_float32_and_arrays_keep_their_dtype():
    assert mg.tensor(1.0).dtype == np.float32
    assert mg.tensor([1.0, 2]).dtype == np.float32
    assert mg.tensor(np.ones(2)).dtype == np.float64
    assert mg.tensor(np.ones(2, np.float32)).dtype == np.float32
    assert mg.tensor([1, 2]).dtype == np.int64
    assert mg.tensor([True]).dtype == np.bool_


def test_set_default_dtype():
    try:
        mg.set_default_dtype(mg.float64)
        assert mg.tensor(1.5).dtype == np.float64
        assert mg.zeros(2).dtype == np.float64
    finally:
        mg.set_default_dtype(mg.float32)
    with pytest.raises(TypeError, match="floating-point"):
        mg.set_default_dtype(mg.int32)


def test_tensor_copies_its_input():
    a = np.ones(3)
    t = mg.tensor(a)
    a[0] = 5
    assert t.data[0] == 1


def test_integer_and_bool_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="int64"):
        mg.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        mg.tensor([True]).requires_grad_()
    t = mg.tensor([1, 2])
    with pytest.raises(TypeError):
        t.requires_grad = True


def test_unsupported_data_is_a_type_error():
    with pytest.raises(TypeError, match="tensor"):
        mg.tensor("abc")
    with pytest.raises(TypeError, match="tensor"):
        mg.tensor([object()])


def test_results_follow_pytorch_promotion_and_grads_keep_input_dtype():
    a = mg.tensor(np.ones(2, np.float32), requires_grad=True)
    b = mg.tensor(np.ones(2, np.float64), requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    assert (a * 2.0).dtype == np.float32
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    assert (mg.tensor([1, 2]) * 0.5).dtype == np.float32  # the default float (PyTorch)


def test_attributes():
    t = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size() == (2, 3) and t.numel() == 6
    assert t.is_leaf and t.grad is None and t.grad_fn is None
    assert t.T.shape == (3, 2)
    assert t.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert isinstance(t.detach().numpy(), np.ndarray)
    assert mg.tensor(3.5).item() == 3.5
    y = t * 2
    assert not y.is_leaf and y.grad_fn is not None
    d = y.detach()
    assert d.grad_fn is None and not d.requires_grad and d.data is y.data
    with pytest.raises(ValueError, match="one element"):
        t.item()


def test_zero_grad_and_requires_grad_():
    t = mg.zeros(2).requires_grad_()
    assert t.requires_grad
    (t * 2).sum().backward()
    t.zero_grad()
    assert t.grad is None


def test_repr():
    assert repr(mg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(mg.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(mg.tensor([1.0], dtype=mg.float64)) == "tensor([1.], dtype=float64)"
    x = mg.tensor(2.0, requires_grad=True)
    assert repr(x * x) == "tensor(4., grad_fn=<Mul>)"
    assert "shape=(0, 3)" in repr(mg.zeros(0, 3))
    assert f"{mg.tensor(0.123456):.3f}" == "0.123"


def test_name_is_kept_on_leaves_and_nodes():
    x = mg.tensor(1.0, requires_grad=True)
    x.name = "x"
    h = x * 2
    h.name = "h"
    assert x.name == "x" and h.name == "h" and h.grad_fn.name == "h"


def test_comparisons_return_bool_tensors_without_grad():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == np.bool_ and not m.requires_grad
    assert (x == x).all().item()
    assert (x != 2.0).tolist() == [True, False, True]
    assert not (x == None)  # noqa: E711  (falls back to identity, like PyTorch)
    assert len({x, x}) == 1


def test_conversions_and_iteration():
    t = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert len(t) == 2
    assert [r.tolist() for r in t] == [[1, 2], [3, 4]]
    assert float(mg.tensor(2.5)) == 2.5 and int(mg.tensor(3)) == 3
    assert np.asarray(t).shape == (2, 2)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(t)
    with pytest.raises(TypeError):
        len(mg.tensor(1.0))


def test_astype_is_differentiable_between_floats():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64
    (y * 3).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [3, 3])
    assert not x.astype(np.int64).requires_grad


def test_ndarray_on_the_left_defers_to_tensor():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * x
    assert isinstance(y, mg.Tensor) and y.requires_grad


def test_setitem_only_outside_the_graph():
    t = mg.zeros(3)
    t[1] = 5.0
    assert t.tolist() == [0, 5, 0]
    w = mg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w[0] = 1.0
    with mg.no_grad():
        w[0] = 1.0
    assert w.data[0] == 1.0


# ---------------------------------------------------------------- creation
def test_creation_functions():
    assert mg.zeros(2, 3).shape == (2, 3) and mg.zeros((2, 3)).shape == (2, 3)
    assert mg.ones(2).tolist() == [1, 1]
    assert mg.full((2,), 7).dtype == np.int64 and mg.full((2,), 7.0).dtype == np.float32
    assert mg.arange(3).tolist() == [0, 1, 2] and mg.arange(0, 1, 0.5).dtype == np.float32
    assert mg.linspace(0, 1, 5).shape == (5,) and mg.linspace(0, 1, steps=3).tolist() == [0, 0.5, 1]
    assert mg.eye(3).data.trace() == 3
    x = mg.ones(2, 3, dtype=mg.float64)
    assert mg.zeros_like(x).dtype == np.float64 and mg.ones_like(x).shape == (2, 3)
    assert mg.zeros(2, requires_grad=True).requires_grad
    with pytest.raises(ValueError, match="negative"):
        mg.zeros(-1)


def test_manual_seed_makes_random_tensors_reproducible():
    mg.manual_seed(123)
    a, b = mg.rand(3), mg.randn(2, 2, dtype=mg.float64)
    mg.manual_seed(123)
    assert (mg.rand(3).data == a.data).all() and (mg.randn(2, 2, dtype=mg.float64).data == b.data).all()
    assert a.dtype == np.float32 and b.dtype == np.float64
    assert ((a.data >= 0) & (a.data < 1)).all()


# ---------------------------------------------------------------- clear errors, nothing recorded
@pytest.mark.parametrize("call, kind, message", [
    (lambda: mg.ones(2, 3) @ mg.ones(4, 5), ValueError,
     r"matmul: shapes \(2, 3\) and \(4, 5\) are not aligned: 3 != 4"),
    (lambda: mg.ones(()) @ mg.ones(2), ValueError, r"matmul: both operands need at least 1 dimension"),
    (lambda: mg.ones(2, 3) + mg.ones(4), ValueError, r"add: .*\(2,3\) \(4,\)"),
    (lambda: mg.ones(2, 3).sum(axis=2), ValueError, r"sum: axis 2 is out of range for a tensor of shape \(2, 3\)"),
    (lambda: mg.ones(2, 3).mean(axis=(0, 0)), ValueError, r"mean: repeated axis"),
    (lambda: mg.ones(2, 3).max(axis=1.5), TypeError, r"max: dim must be one int"),
    (lambda: mg.ones(0, 3).max(axis=0), ValueError, r"max: cannot reduce over an empty axis"),
    (lambda: mg.ones(6).reshape(4), ValueError, r"reshape: cannot reshape a tensor of shape \(6,\)"),
    (lambda: mg.ones(2, 3).transpose((0, 0)), ValueError, r"transpose: axes \(0, 0\)"),
    (lambda: mg.ones(2, 3).broadcast_to((4, 3)), ValueError, r"broadcast_to: cannot broadcast shape \(2, 3\) to \(4, 3\)"),
    (lambda: mg.cat([mg.ones(2, 3), mg.ones(2, 4)]), ValueError, r"cat: shapes \[\(2, 3\), \(2, 4\)\] differ outside axis 0"),
    (lambda: mg.stack([mg.ones(2), mg.ones(3)]), ValueError, r"stack: all tensors need the same shape"),
    (lambda: mg.ones(3)[5], IndexError, r"getitem: index 5 is out of bounds"),
    (lambda: mg.ones(3)[np.array([0.5])], IndexError, r"getitem: index arrays must be integers"),
    (lambda: mg.split(mg.ones(5), [2, 2]), ValueError, r"split: sizes \[2, 2\] do not add up to 5"),
    (lambda: mg.pad(mg.ones(2, 2), ((1, 1), (1, 1), (1, 1))), ValueError, r"pad: pad_width"),
    (lambda: mg.where(mg.ones(2), mg.ones(2), mg.zeros(2)), TypeError, r"where: condition must be a bool tensor"),
    (lambda: mg.clip(mg.ones(2)), ValueError, r"clip: give at least one of min and max"),
    (lambda: mg.ones(2).unsqueeze(3), ValueError, r"unsqueeze: dimension 3 is out of range"),
])
def test_bad_input_gets_a_clear_error_naming_the_operation(call, kind, message):
    with pytest.raises(kind, match=message):
        call()


def test_failed_operation_leaves_its_inputs_untouched():
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    before = x.data.copy()
    with pytest.raises(ValueError):
        x @ mg.ones(4, 5, dtype=mg.float64)
    assert x.grad_fn is None and x.grad is None
    np.testing.assert_array_equal(x.data, before)


# ---------------------------------------------------------------- found in review
def test_max_min_with_dim_return_values_and_indices_like_pytorch():
    x = mg.tensor([[1.0, 5.0], [3.0, 2.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert values.tolist() == [5, 3] and indices.tolist() == [1, 0]
    assert x.max(dim=1)[0].tolist() == [5, 3]          # PyTorch code means the values
    assert x.max(1).values.tolist() == [5, 3]           # positional dim: the same
    assert x.max(axis=1).indices.tolist() == [1, 0]     # axis is an alias of dim
    assert x.amax(1).tolist() == [5, 3]                 # the values alone
    assert x.min(dim=0, keepdim=True).indices.shape == (1, 2)


def test_zero_d_tensors_take_axis_minus_one_and_ints_softmax_to_floats():
    assert mg.softmax(mg.tensor(1.0)).item() == 1.0
    assert mg.tensor(2.0).sum(-1).item() == 2.0
    assert mg.logsumexp(mg.tensor([1, 2])).dtype == np.float32
    assert mg.heaviside(mg.tensor([0, 1]), 0.5).tolist() == [0.5, 1.0]


def test_review_errors_and_dtypes():
    with pytest.raises(ValueError, match="transpose: dimension 2 is out of range"):
        mg.zeros(2, 3).transpose((1, 2))
    with pytest.raises(ValueError, match=r"equal: .*\(2,\) \(3,\)"):
        mg.ones(2) == mg.ones(3)
    with pytest.raises(TypeError, match="shape must be ints"):
        mg.zeros(2.5)
    assert mg.rand(2, dtype=mg.float16).dtype == np.float16
    assert mg.randn(2, dtype=mg.float16).dtype == np.float16
