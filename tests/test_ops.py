"""Every row of the spec table (tests/op_specs.py), every property: forward against NumPy
(and against the plain-Tensor oracle of a fused primitive), first- and second-order
gradients against central finite differences, gradient shape and dtype, the plain pass
equal to the recorded one, inputs left alone and gradients that alias nothing; and a
test that every Function subclass shipped in microgradnn has a row."""
import importlib
import inspect
import os
import pkgutil

import numpy as np
import pytest
from hypothesis import given, settings, strategies as hst

import microgradnn as mg
from microgradnn.autograd.function import Function
from microgradnn.testing import gradcheck, gradgradcheck

from op_specs import BRANCH_ROWS, SPECS

ROWS = SPECS + BRANCH_ROWS  # every property runs on the branch-fixing rows too


def leaves(arrays, dtype=np.float64):
    return [mg.tensor(np.asarray(a, dtype=dtype), requires_grad=True) for a in arrays]


def upstream(out, seed=0):
    """A random (non-uniform) upstream gradient: ones would hide swapped or mis-scaled terms."""
    return np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)


def for_each_example(spec, check):
    """Run ``check(case)`` on examples drawn from ``spec`` (at most ``spec.max_examples``
    of them, for slow rows; at most $MICROGRADNN_SPEC_EXAMPLES, for mutation runs that
    start the suite hundreds of times)."""
    limit = settings.default.max_examples
    if spec.max_examples is not None:
        limit = min(limit, spec.max_examples)
    limit = min(limit, int(os.environ.get("MICROGRADNN_SPEC_EXAMPLES", limit)))

    @settings(max_examples=limit)
    @given(data=hst.data())
    def run(data):
        check(spec.draw(data))

    run()


spec_param = pytest.mark.parametrize("spec", ROWS, ids=repr)


@spec_param
def test_forward_matches_numpy(spec):
    def check(case):
        out = case.fn(*leaves(case.arrays))
        expected = np.asarray(case.ref(*case.arrays))
        assert out.shape == expected.shape
        np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
        if case.oracle is not None:
            np.testing.assert_allclose(out.data, case.oracle(*leaves(case.arrays)).data,
                                       rtol=1e-12, atol=1e-12)
    for_each_example(spec, check)


@spec_param
def test_gradcheck(spec):
    for_each_example(spec, lambda case: gradcheck(case.fn, leaves(case.arrays)))


@pytest.mark.parametrize("spec", [s for s in ROWS if s.second_order], ids=repr)
def test_gradgradcheck(spec):
    for_each_example(spec, lambda case: gradgradcheck(case.fn, leaves(case.arrays)))


@spec_param
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_has_shape_and_dtype_of_its_tensor(spec, dtype):
    def check(case):
        xs = leaves(case.arrays, dtype)
        out = case.fn(*xs)
        assert out.requires_grad
        out.backward(upstream(out))
        for x in xs:
            assert x.grad is not None
            assert x.grad.shape == x.shape
            assert x.grad.dtype == x.dtype
    for_each_example(spec, check)


@spec_param
def test_plain_and_recorded_backward_agree(spec):
    """The fast array path and the create_graph Tensor path run the same backward code."""
    def check(case):
        xs = leaves(case.arrays)
        out = case.fn(*xs)
        seed = upstream(out)
        plain = mg.autograd.grad(out, xs, seed, retain_graph=True)
        recorded = mg.autograd.grad(out, xs, mg.tensor(seed), create_graph=True)
        for p, r in zip(plain, recorded):
            np.testing.assert_allclose(p.data, r.data, rtol=1e-12, atol=1e-12)
    for_each_example(spec, check)


@pytest.mark.parametrize("spec", ROWS, ids=repr)
def test_fused_primitive_matches_its_oracle(spec):
    """A fused node's gradients equal those of the same math in plain Tensor operations."""
    def check(case):
        if case.oracle is None:
            return
        xs, ys = leaves(case.arrays), leaves(case.arrays)
        out, ref = case.fn(*xs), case.oracle(*ys)
        seed = upstream(out)
        got = mg.autograd.grad(out, xs, seed)
        want = mg.autograd.grad(ref, ys, seed)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.data, w.data, rtol=1e-10, atol=1e-12)
    for_each_example(spec, check)


@spec_param
def test_backward_leaves_inputs_alone_and_gradients_alias_nothing(spec):
    def check(case):
        xs = leaves(case.arrays)
        before = [x.data.copy() for x in xs]
        out = case.fn(*xs)
        out.backward(upstream(out))
        for x, b in zip(xs, before):
            np.testing.assert_array_equal(x.data, b)
        grads = [x.grad.data for x in xs]
        for i, g in enumerate(grads):
            for x in xs:
                assert not np.shares_memory(g, x.data)
            for h in grads[i + 1:]:
                assert not np.shares_memory(g, h)
    for_each_example(spec, check)


@pytest.mark.parametrize("lead", [(), (3,), (2, 3)])
def test_gradcheck_of_linear_with_a_frozen_weight_and_no_bias(lead):
    """The table's leaves all require grad; a frozen layer (fine-tuning) asks Linear for
    the input's gradient alone: needs_input_grad = (True, False), two slots, no bias."""
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal(lead + (4,)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((2, 4)))
    assert gradcheck(lambda t: mg.nn.functional.linear(t, w), [x])


# ---------------------------------------------------------------- coverage of the table
def shipped_primitives():
    """Every concrete Function subclass defined in the microgradnn package."""
    for info in pkgutil.walk_packages(mg.__path__, "microgradnn."):
        importlib.import_module(info.name)
    found, stack = set(), list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("microgradnn.") and cls.forward is not Function.forward \
                and not inspect.isabstract(cls):
            found.add(cls)
    return found


def primitives_in(out):
    seen, stack, types = set(), [out.grad_fn], set()
    while stack:
        node = stack.pop()
        if not isinstance(node, Function) or id(node) in seen:
            continue
        seen.add(id(node))
        types.add(type(node))
        stack.extend(node.next)
    return types


def test_every_shipped_primitive_has_a_row_in_the_table():
    covered = set()
    for spec in SPECS:
        @settings(max_examples=8, derandomize=True, database=None)
        @given(data=hst.data())
        def collect(data):
            case = spec.draw(data)
            covered.update(primitives_in(case.fn(*leaves(case.arrays))))
        collect()
    missing = sorted(f"{c.__module__}.{c.__qualname__}" for c in shipped_primitives() - covered)
    assert not missing, ("these Function subclasses appear in no row of tests/op_specs.py; "
                         f"add a spec for each: {missing}")


def test_the_coverage_walk_finds_a_new_primitive():
    """The check above must notice a primitive added to the package without a row."""
    import gc

    class Brand(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad

    Brand.__module__ = "microgradnn.ops.brand_new"
    try:
        found = shipped_primitives()
        assert Brand in found
        assert mg.ops.elementwise.Tanh in found and mg.ops.conv.ConvNd in found
        assert mg.ops.reduce._Extreme not in found  # abstract: no forward of its own
    finally:
        del Brand, found
        gc.collect()  # __subclasses__ holds weak references: let the class go


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("size", [16384, 16384 * 3 + 5, 100_003])
def test_relu_fast_path_is_np_maximum_bit_for_bit(dtype, size):
    """Large float arrays take Relu's row-by-row path (ops/elementwise.py): the same bits
    as np.maximum(x, 0), NaN, -0.0 and infinities included, and the same gradient."""
    rng = np.random.default_rng(size)
    x = rng.standard_normal(size).astype(dtype)
    special = np.array([np.nan, -0.0, 0.0, -np.inf, np.inf, -np.nan, 1e-30], dtype=dtype)
    x[:7], x[-7:] = special, special
    for arr in (x, x.reshape(-1, 1), x[::-1]):      # contiguous, 2-d, and a strided view
        t = mg.tensor(arr, requires_grad=True)
        y = mg.relu(t)
        ref = np.maximum(arr, 0)
        assert y.data.dtype == ref.dtype and y.data.tobytes() == ref.tobytes()
        g = rng.standard_normal(arr.shape).astype(dtype)
        y.backward(mg.tensor(g))
        assert t.grad.data.tobytes() == (g * (ref > 0)).tobytes()
