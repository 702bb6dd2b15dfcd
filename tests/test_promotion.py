"""Type promotion by PyTorch's rules, and the dtype policy: only bool, integer and real
floating dtypes enter tensors; products of mixed float dtypes raise."""
import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn
from microgradnn.nn import functional as F

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def ours(kind):
    """Operands of the kinds PyTorch's rule tells apart."""
    return {
        "f32": mg.ones(2, dtype=mg.float32), "f64": mg.ones(2, dtype=mg.float64),
        "f16": mg.ones(2, dtype=mg.float16), "i64": mg.ones(2, dtype=mg.int64),
        "i32": mg.ones(2, dtype=mg.int32), "u8": mg.ones(2, dtype=mg.uint8),
        "b": mg.ones(2, dtype=mg.bool_),
        "f64_0d": mg.tensor(2.0, dtype=mg.float64), "i64_0d": mg.tensor(2),
        "f32_0d": mg.tensor(2.0), "b_0d": mg.tensor(True),
        "py_float": 2.0, "py_int": 2, "py_bool": True,
        "np_f64": np.float64(2.0), "np_i64": np.int64(2),
    }[kind]


def theirs(kind):
    return {
        "f32": torch.ones(2, dtype=torch.float32), "f64": torch.ones(2, dtype=torch.float64),
        "f16": torch.ones(2, dtype=torch.float16), "i64": torch.ones(2, dtype=torch.int64),
        "i32": torch.ones(2, dtype=torch.int32), "u8": torch.ones(2, dtype=torch.uint8),
        "b": torch.ones(2, dtype=torch.bool),
        "f64_0d": torch.tensor(2.0, dtype=torch.float64), "i64_0d": torch.tensor(2),
        "f32_0d": torch.tensor(2.0), "b_0d": torch.tensor(True),
        "py_float": 2.0, "py_int": 2, "py_bool": True,
        "np_f64": 2.0, "np_i64": 2,  # PyTorch treats NumPy scalars as Python numbers
    }[kind]


KINDS = ["f32", "f64", "f16", "i64", "i32", "u8", "b", "f64_0d", "i64_0d", "f32_0d", "b_0d",
         "py_float", "py_int", "py_bool", "np_f64", "np_i64"]
TENSOR_KINDS = [k for k in KINDS if not k.startswith(("py", "np"))]
PAIRS = [(a, b) for a in TENSOR_KINDS for b in KINDS]


def test_the_issue_examples():
    x = mg.ones(3)
    assert (x * mg.tensor(2)).dtype == F32                     # int64 0-d tensor
    assert (x * mg.tensor(2.0, dtype=mg.float64)).dtype == F32  # float64 0-d tensor
    assert (x * np.float64(2)).dtype == F32                   # NumPy scalar
    assert (x ** mg.arange(3)).dtype == F32                   # int tensor exponent
    assert (mg.arange(3) / mg.arange(1, 4)).dtype == F32      # int / int: default float
    assert (mg.arange(3) * 0.5).dtype == F32
    assert (mg.tensor(2) * 0.5).dtype == F32


@pytest.mark.skipif(torch is None, reason="PyTorch not installed")
@pytest.mark.parametrize("op", ["add", "mul", "sub", "div", "maximum"])
def test_binary_result_dtypes_equal_pytorchs(op):
    for a, b in PAIRS:
        if op == "sub" and {a, b} & {"b", "b_0d", "py_bool"}:
            continue  # PyTorch refuses subtraction of bools
        if op == "maximum" and not (b in TENSOR_KINDS):
            continue  # torch.maximum takes tensors only
        ta, tb = theirs(a), theirs(b)
        fn = {"add": lambda x, y: x + y, "mul": lambda x, y: x * y, "sub": lambda x, y: x - y,
              "div": lambda x, y: x / y, "maximum": None}[op]
        if op == "maximum":
            expected = torch.maximum(ta, tb).dtype
            got = mg.maximum(ours(a), ours(b)).dtype
        else:
            expected = fn(ta, tb).dtype
            got = fn(ours(a), ours(b)).dtype
        assert got == np.dtype(str(expected).replace("torch.", "")), (op, a, b)


@pytest.mark.skipif(torch is None, reason="PyTorch not installed")
def test_reverse_operands_and_comparisons_follow_the_same_rule():
    for a in TENSOR_KINDS:
        for b in ["py_float", "py_int", "np_f64"]:
            expected = (theirs(b) * theirs(a)).dtype
            assert (ours(b) * ours(a)).dtype == np.dtype(str(expected)[6:]), (b, a)
    # a float32 tensor compared with a float64 0-d tensor compares in float32, as PyTorch
    x = mg.tensor([0.1], dtype=mg.float32)
    assert bool((x == mg.tensor(0.1, dtype=mg.float64)).item()) == bool(
        (torch.tensor([0.1]) == torch.tensor(0.1, dtype=torch.float64)).item())


def test_gradients_flow_through_promotion_casts():
    x = mg.ones(3, requires_grad=True)
    s = mg.tensor(2.0, dtype=mg.float64, requires_grad=True)
    y = (x * s).sum()
    assert y.dtype == F32
    y.backward()
    assert x.grad.dtype == F32 and s.grad.dtype == F64
    assert s.grad.item() == 3.0 and x.grad.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("fn", [mg.exp, mg.log, mg.sin, mg.cos, mg.sqrt, mg.tanh, mg.sigmoid])
@pytest.mark.parametrize("dtype", [mg.int64, mg.int32, mg.bool_])
def test_float_functions_of_int_and_bool_compute_in_the_default_float(fn, dtype):
    x = mg.ones(2, dtype=dtype)
    assert fn(x).dtype == mg.get_default_dtype()
    mg.set_default_dtype(mg.float64)
    try:
        assert fn(x).dtype == F64
    finally:
        mg.set_default_dtype(mg.float32)


def test_mismatched_float_dtypes_in_products_raise_naming_both():
    a, b = mg.ones(2, 3), mg.ones(3, 4, dtype=mg.float64)
    with pytest.raises(RuntimeError, match="matmul: .*float32.*float64.*x.to"):
        a @ b
    with pytest.raises(RuntimeError, match="matmul"):
        mg.matmul(a, mg.ones(3, 4, dtype=mg.int64))
    lin = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match="linear: .*the input is float64 and the weight is float32"):
        lin(mg.ones(4, 3, dtype=mg.float64))
    conv = nn.Conv2d(1, 2, 3)
    with pytest.raises(RuntimeError, match=r"conv: input type \(float64\) and weight type \(float32\)"):
        conv(mg.ones(1, 1, 5, 5, dtype=mg.float64))
    assert lin.double()(mg.ones(4, 3, dtype=mg.float64)).dtype == F64


@pytest.mark.parametrize("bad, match", [
    (np.array([1.0, 2.0], dtype=object), "dtype object"),
    (np.array(["a", "b"]), "dtype <U1"),
    (np.array([1 + 2j, 3j]), "complex .*out of scope"),
    (1j, "complex .*out of scope"),
])
@pytest.mark.parametrize("op", ["mul", "add", "matmul", "where", "tensor"])
def test_object_string_and_complex_operands_raise_type_error_naming_the_op(op, bad, match):
    x = mg.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match=f"{op}: .*{match}" if op != "tensor" else match):
        if op == "mul":
            x * bad
        elif op == "add":
            bad + x
        elif op == "matmul":
            mg.matmul(x, bad)
        elif op == "where":
            mg.where(mg.tensor([True, False]), x, bad)
        else:
            mg.tensor(bad)


def test_complex_dtype_names_exist_but_raise():
    assert mg.cfloat is not None
    with pytest.raises(TypeError, match="complex support is out of scope"):
        mg.zeros(2, dtype=mg.cfloat)
    with pytest.raises(TypeError, match="out of scope"):
        mg.ones(2).to(mg.cfloat)


def test_a_function_returning_none_raises():
    class Bad(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return None

        @staticmethod
        def backward(ctx, grad):
            return grad
    with pytest.raises(TypeError, match="bad: forward returned NoneType"):
        Bad.apply(mg.ones(2, requires_grad=True))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "truediv", "pow"])
def test_operators_inline_fast_path_agrees_with_promote2(name):
    # Tensor's operators check the common operand pairs inline before calling promote2
    # (tensor.py, _arithmetic); both ways must give the same dtype and values, both orders
    from microgradnn.ops import elementwise as ew
    from microgradnn.ops._util import promote2
    apply = {"add": ew.Add, "sub": ew.Sub, "mul": ew.Mul, "truediv": ew.Div,
             "pow": ew.Pow}[name]._apply2
    op = {"add": "add", "sub": "sub", "mul": "mul", "truediv": "div", "pow": "pow"}[name]
    for a, b in PAIRS:
        if name == "sub" and {a, b} & {"b", "b_0d", "py_bool"}:
            continue  # subtraction of bools is refused both ways
        x, y = ours(a), ours(b)
        for left, right, method in ((x, y, f"__{name}__"), (y, x, f"__r{name}__")):
            if method.startswith("__r") and isinstance(left, mg.Tensor):
                continue  # Python calls __r*__ only for a non-Tensor left operand
            with np.errstate(all="ignore"):
                got = getattr(x, method)(y)
                want = apply(*promote2(op, left, right, name == "truediv"))
            assert got.dtype == want.dtype, (method, a, b)
            np.testing.assert_array_equal(got.data, want.data, err_msg=f"{method} {a} {b}")


def test_operators_carry_their_own_names():
    # made by a factory (tensor.py, _arithmetic): help() and tracebacks must name them right
    for method in ("add", "sub", "mul", "truediv", "pow"):
        for dunder in (f"__{method}__", f"__r{method}__"):
            fn = getattr(mg.Tensor, dunder)
            assert fn.__name__ == dunder and fn.__qualname__ == f"Tensor.{dunder}"
