"""Properties of the backward engine on random graphs: chains and DAGs (shared inputs,
fan-out, broadcasting) built from operations of the spec table.

backward is linear in the upstream gradient; two backward calls accumulate their sum;
a repeated backward with retain_graph gives bit-for-bit the same gradients; inputs are
never mutated; gradients never share memory with inputs, with each other or with the
upstream gradient the caller passed.
"""
import numpy as np
from hypothesis import given, settings, strategies as hst

import microgradnn as mg
from microgradnn.testing import strategies as st

from op_specs import SPECS

BY_NAME = {s.name: s for s in SPECS}
# Elementwise rows defined on all reals with bounded outputs or slopes, so deep chains
# stay finite; binary rows broadcast.
UNARY = ["neg", "sin", "cos", "tanh", "sigmoid", "scalar_rmul", "scalar_radd", "scalar_rsub"]
BINARY = ["add", "sub", "mul", "maximum", "minimum"]


@hst.composite
def graphs(draw):
    """(leaf arrays, fn): fn maps leaves to one output through a random DAG of spec ops."""
    shapes = draw(st.broadcastable_shapes(draw(hst.integers(1, 3)), max_dims=2, max_side=3))
    arrays = [draw(st.arrays(s, low=-2, high=2)) for s in shapes]
    data = draw(hst.data())
    steps = []
    for _ in range(draw(hst.integers(1, 6))):
        binary = draw(hst.booleans())
        spec = BY_NAME[draw(hst.sampled_from(BINARY if binary else UNARY))]
        op = spec.draw(data).fn  # the row's operation (its drawn arrays are not used)
        n_nodes = len(arrays) + len(steps)
        args = tuple(draw(hst.integers(0, n_nodes - 1)) for _ in range(2 if binary else 1))
        steps.append((op, args))
    outputs = draw(hst.lists(hst.integers(0, len(arrays) + len(steps) - 1), min_size=1,
                             max_size=3))

    def fn(*leaves):
        nodes = list(leaves)
        for op, args in steps:
            nodes.append(op(*[nodes[a] for a in args]))
        # several nodes summed: gradients of a node reach the output along several paths
        shape = np.broadcast_shapes(*[nodes[i].shape for i in outputs])
        return sum((nodes[i] * (k + 1) for k, i in enumerate(outputs)), mg.zeros(shape, dtype=mg.float64))
    return arrays, fn


def leaves(arrays):
    return [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in arrays]


def gradients(fn, arrays, seed, retain=False):
    xs = leaves(arrays)
    out = fn(*xs)
    return mg.autograd.grad(out, xs, seed, allow_unused=True, retain_graph=retain), xs, out


def dense(g, x):
    return np.zeros(x.shape) if g is None else g.data


@settings(max_examples=15)
@given(graphs(), hst.floats(-2, 2), hst.floats(-2, 2), hst.integers(0, 2 ** 32 - 1))
def test_backward_is_linear_in_the_upstream_gradient(graph, a, b, seed):
    arrays, fn = graph
    out_shape = fn(*leaves(arrays)).shape
    rng = np.random.default_rng(seed)
    g1, g2 = rng.standard_normal(out_shape), rng.standard_normal(out_shape)
    mixed, xs, _ = gradients(fn, arrays, np.asarray(a * g1 + b * g2))
    one, _, _ = gradients(fn, arrays, g1)
    two, _, _ = gradients(fn, arrays, g2)
    for m, p, q, x in zip(mixed, one, two, xs):
        np.testing.assert_allclose(dense(m, x), a * dense(p, x) + b * dense(q, x),
                                   rtol=1e-9, atol=1e-9)


@settings(max_examples=15)
@given(graphs(), hst.integers(0, 2 ** 32 - 1))
def test_two_backward_calls_accumulate_their_sum(graph, seed):
    arrays, fn = graph
    xs = leaves(arrays)
    out = fn(*xs)
    rng = np.random.default_rng(seed)
    g1, g2 = rng.standard_normal(out.shape), rng.standard_normal(out.shape)
    out.backward(g1, retain_graph=True)
    out.backward(g2)
    one, ys, _ = gradients(fn, arrays, g1)
    two, _, _ = gradients(fn, arrays, g2)
    for x, p, q, y in zip(xs, one, two, ys):
        got = np.zeros(x.shape) if x.grad is None else x.grad.data
        np.testing.assert_allclose(got, dense(p, y) + dense(q, y), rtol=1e-12, atol=1e-12)


@settings(max_examples=15)
@given(graphs(), hst.integers(0, 2 ** 32 - 1))
def test_repeated_backward_with_retain_graph_is_bit_for_bit_repeatable(graph, seed):
    arrays, fn = graph
    xs = leaves(arrays)
    out = fn(*xs)
    g = np.random.default_rng(seed).standard_normal(out.shape)
    first = mg.autograd.grad(out, xs, g, retain_graph=True, allow_unused=True)
    second = mg.autograd.grad(out, xs, g, retain_graph=True, allow_unused=True)
    third = mg.autograd.grad(out, xs, g, allow_unused=True)
    for p, q, r in zip(first, second, third):
        assert (p is None) == (q is None) == (r is None)
        if p is not None:
            assert np.array_equal(p.data, q.data) and np.array_equal(p.data, r.data)


@settings(max_examples=15)
@given(graphs(), hst.integers(0, 2 ** 32 - 1))
def test_inputs_are_never_mutated_and_gradients_alias_nothing(graph, seed):
    arrays, fn = graph
    xs = leaves(arrays)
    before = [x.data.copy() for x in xs]
    out = fn(*xs)
    g = np.random.default_rng(seed).standard_normal(out.shape)
    g_before = g.copy()
    out.backward(g, retain_graph=True)
    out.backward(g)  # the second call adds into existing .grad
    np.testing.assert_array_equal(g, g_before)
    for x, b in zip(xs, before):
        np.testing.assert_array_equal(x.data, b)
    grads = [x.grad.data for x in xs if x.grad is not None]
    for i, gr in enumerate(grads):
        assert not np.shares_memory(gr, g)
        assert not np.shares_memory(gr, out.data)
        for x in xs:
            assert not np.shares_memory(gr, x.data)
        for other in grads[i + 1:]:
            assert not np.shares_memory(gr, other)


def test_a_leaf_as_its_own_output_gets_a_copy_of_the_upstream_gradient():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    g = np.array([3.0, 4.0])
    x.backward(g)
    g[0] = 100.0
    assert x.grad.data.tolist() == [3.0, 4.0]
