"""Graph lifetime as PyTorch's: after backward a graph holds its structure, not its values.

Nodes never keep their output (only its shape and dtype); backward without
``retain_graph`` frees what they saved; values and received gradients stay readable only
for nodes recorded inside ``mg.viz.keep()``.
"""
import gc

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn
from microgradnn.autograd.function import Function


def _arrays_held_by_graph(root):
    """Every ndarray reachable from the graph below ``root`` without passing through a
    leaf tensor (parameters, inputs) or a module: what the graph itself keeps alive."""
    leaves = set()
    seen, stack, found = set(), [root.grad_fn], []
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            found.append(obj)
            continue
        if isinstance(obj, mg.Tensor) and obj.grad_fn is None:
            leaves.add(id(obj))
            continue
        if isinstance(obj, (type, nn.Module)) or type(obj).__name__ == "module":
            continue
        stack.extend(gc.get_referents(obj))
    return found


def _small_cnn():
    mg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def test_after_backward_the_graph_holds_no_arrays():
    model = _small_cnn()
    x = mg.randn(2, 1, 8, 8)
    loss = nn.functional.cross_entropy(model(x), mg.tensor([0, 2]))
    before = _arrays_held_by_graph(loss)
    assert sum(a.nbytes for a in before) > 1000   # saved activations, pooling indices...
    loss.backward()
    after = _arrays_held_by_graph(loss)
    assert [a.shape for a in after if a.size > 1] == []


def test_a_node_does_not_keep_its_output_alive():
    w = mg.ones(1000, requires_grad=True)
    h = w + 1          # Add saves nothing
    y = h.sum()        # Sum keeps only the input's shape
    node = h.grad_fn
    assert node._out() is h.data
    del h
    gc.collect()
    assert node._out() is None        # the output array is gone, as in PyTorch
    assert node.out_shape == (1000,) and node.out_dtype == np.float32
    y.backward()
    np.testing.assert_array_equal(w.grad.data, np.ones(1000))


def test_a_second_backward_through_a_graph_without_saved_values_works():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x + 1).sum()
    y.backward()
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_a_second_backward_through_released_pooling_indices_says_so():
    x = mg.randn(1, 1, 4, 4, requires_grad=True)
    y = nn.functional.max_pool2d(x, 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="released by an earlier backward.*retain_graph"):
        y.backward()


def test_retain_graph_keeps_what_backward_needs():
    x = mg.randn(1, 1, 4, 4, requires_grad=True)
    y = nn.functional.max_pool2d(x.tanh(), 2).sum()
    y.backward(retain_graph=True)
    first = x.grad.data.copy()
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * first)


def test_values_and_gradients_are_kept_only_inside_keep():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.viz.keep():
        y = x * 3
    z = y.sum()          # recorded outside keep()
    z.backward()
    assert y.grad_fn.keeps_values and not z.grad_fn.keeps_values
    np.testing.assert_array_equal(y.grad_fn.value, [3.0, 6.0])
    np.testing.assert_array_equal(y.grad_fn.grad, [1.0, 1.0])
    for what in ("value", "grad"):
        with pytest.raises(RuntimeError, match=r"Sum node: its %s was not kept.*mg\.viz\.keep\(\)"
                           % what):
            getattr(z.grad_fn, what)


def test_kept_gradient_is_a_copy_not_shared_with_a_leaf():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.viz.keep():
        y = x + 0
        z = y.sum()
    z.backward()
    x.grad.data[...] = 7.0   # e.g. an in-place gradient clip
    np.testing.assert_array_equal(y.grad_fn.grad, [1.0, 1.0])


def test_keep_restores_the_previous_setting():
    assert not mg.autograd.grad_mode.is_keeping_values()
    with mg.viz.keep():
        with mg.viz.keep():
            pass
        assert mg.autograd.grad_mode.is_keeping_values()
    assert not mg.autograd.grad_mode.is_keeping_values()


def test_saved_outputs_are_recognised_after_their_node_ran():
    """A consumer that saved a node's output, backpropagated later with create_graph,
    still links it to that node (the second derivative is not lost)."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x + 1            # saves nothing; runs (and is released) in the first backward
    z = y * y            # saves y
    y.sum().backward()
    (g,) = mg.autograd.grad(z.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 2 * (x.data + 1))
    (gg,) = mg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.data, [2.0, 2.0])


def test_losses_kept_in_a_list_cost_little():
    """The common mistake ``losses.append(loss)``: a kept loss costs its graph's
    structure only (bytes measured against PyTorch in benchmarks/bench_memory.py)."""
    import tracemalloc
    model = _small_cnn()
    x = mg.randn(4, 1, 8, 8)
    t = mg.tensor([0, 1, 2, 0])
    opt = mg.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), t)
        loss.backward()
        opt.step()
        return loss

    step()
    gc.collect()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    losses = [step() for _ in range(30)]
    gc.collect()
    per_loss = (tracemalloc.get_traced_memory()[0] - start) / len(losses)
    tracemalloc.stop()
    # activations alone are 4*4*8*8*4 bytes = 4 KiB per conv output; the structure is less
    assert per_loss < 8000, per_loss
