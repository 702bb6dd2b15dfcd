"""Gradients exactly at kinks, where the derivative is a convention, against PyTorch's.

The spec table keeps drawn values away from kinks (finite differences straddling one are
meaningless), so these points are checked here, one by one, with non-uniform upstream
gradients.
"""
import numpy as np
import pytest

import microgradnn as mg
from microgradnn.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def grads(fn, values, upstream, lib):
    """Gradients of fn at ``values`` (a list of arrays) with the given upstream gradient."""
    if lib == "mg":
        xs = [mg.tensor(np.array(v, dtype=np.float64), requires_grad=True) for v in values]
        fn(*xs).backward(mg.tensor(np.array(upstream, dtype=np.float64)))
        return [x.grad.data for x in xs]
    xs = [torch.tensor(np.array(v, dtype=np.float64), requires_grad=True) for v in values]
    fn(*xs).backward(torch.tensor(np.array(upstream, dtype=np.float64)))
    return [x.grad.numpy() for x in xs]


X = [0.0, -0.0, 1.5, -2.0]
G = [2.0, 3.0, 5.0, 7.0]
T2 = torch.tensor(2.0, dtype=torch.float64)

CASES = {
    "relu at 0": (mg.relu, torch.relu, [X], G),
    "leaky_relu at 0": (lambda t: mg.leaky_relu(t, 0.1), lambda t: TF.leaky_relu(t, 0.1), [X], G),
    "leaky_relu default slope at 0": (F.leaky_relu, TF.leaky_relu, [X], G),
    "abs at 0": (mg.abs, torch.abs, [X], G),
    "elu at 0": (lambda t: F.elu(t, alpha=0.5), lambda t: TF.elu(t, alpha=0.5), [X], G),
    "clip at its bounds": (lambda t: mg.clip(t, -1.0, 1.5), lambda t: torch.clamp(t, -1.0, 1.5),
                           [[-1.0, 1.5, 0.0, 2.0]], G),
    "clip with only a lower bound": (lambda t: mg.clip(t, -1.0, None),
                                     lambda t: torch.clamp(t, min=-1.0), [[-1.0, 1.5, -3.0, 2.0]], G),
    "maximum on ties": (mg.maximum, torch.maximum, [[1.0, 2.0, 3.0, -1.0], [1.0, 1.0, 3.0, 0.0]], G),
    "minimum on ties": (mg.minimum, torch.minimum, [[1.0, 2.0, 3.0, -1.0], [1.0, 1.0, 3.0, 0.0]], G),
    "max over all on ties": (lambda t: t.max() * T2.item(), lambda t: t.max() * T2,
                             [[[1.0, 3.0, 3.0], [2.0, 3.0, 0.0]]], 1.0),
    "min over all on ties": (lambda t: t.min() * 2.0, lambda t: t.min() * T2,
                             [[[1.0, 0.0, 3.0], [0.0, 3.0, 0.0]]], 1.0),
    # amax over an axis: ties share the gradient; max(dim) routes it to the index (below)
    "amax over an axis on ties": (lambda t: t.amax(dim=1), lambda t: t.amax(dim=1),
                                 [[[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]], [2.0, 5.0]),
    "max_pool on ties": (lambda t: F.max_pool2d(t, 2), lambda t: TF.max_pool2d(t, 2),
                         [[[[[1.0, 1.0, 0.0, 2.0], [0.0, 1.0, 2.0, 2.0]]]]], [[[[3.0, 5.0]]]]),
    "heaviside": (mg.heaviside, lambda t: t * 0.0, [X], G),
    "pow with base 0": (lambda a, b: a ** b, lambda a, b: a ** b,
                        [[0.0, 0.0, 2.0], [0.0, 2.0, 0.0]], [2.0, 3.0, 5.0]),
}


@pytest.mark.parametrize("name", CASES)
def test_gradient_at_kink_follows_pytorch(name):
    mg_fn, torch_fn, values, upstream = CASES[name]
    ours = grads(mg_fn, values, upstream, "mg")
    theirs = grads(torch_fn, values, upstream, "torch")
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_with_dim_routes_ties_to_the_returned_index(op, keepdim):
    values = [[[1.0, 3.0, 3.0], [2.0, 2.0, 0.0], [0.0, 0.0, 1.0]]]
    upstream = np.array([2.0, 5.0, 7.0]).reshape((3, 1) if keepdim else (3,))
    ours = grads(lambda t: getattr(t, op)(1, keepdim).values, values, upstream, "mg")
    theirs = grads(lambda t: getattr(t, op)(1, keepdim).values, values, upstream, "torch")
    np.testing.assert_array_equal(ours[0], theirs[0])


@pytest.mark.parametrize("beta, threshold", [(1.0, 20.0), (2.0, 3.0)])
def test_softplus_takes_pytorchs_side_of_its_threshold(beta, threshold):
    """Where βx = threshold softplus switches to x: at the threshold itself the slope is
    σ(βx) < 1, above it exactly 1, as in PyTorch (a fresh-seed run drew x = 20 exactly,
    where the second derivative has its kink; the spec rows avoid it)."""
    t = threshold / beta
    values = [[t - 0.5, t, t + 0.5, 0.0]]
    ours = grads(lambda x: F.softplus(x, beta=beta, threshold=threshold), values, G, "mg")
    theirs = grads(lambda x: TF.softplus(x, beta=beta, threshold=threshold), values, G, "torch")
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-15, atol=0)
    assert ours[0][1] < G[1] and ours[0][2] == G[2]   # below 1 at the threshold, 1 above
