"""nn.init: gains, fans (dense and convolution weights), bounds and spreads of every
initialiser, in-place filling, the shared generator; PyTorch's formulas when installed."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as hst

import microgradnn as mg
from microgradnn import nn
from microgradnn.nn import init
from microgradnn.nn.init import _calculate_fan_in_and_fan_out


def test_calculate_gain_table():
    for name in ("linear", "conv1d", "conv2d", "conv3d", "sigmoid", "conv_transpose2d"):
        assert init.calculate_gain(name) == 1.0
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("selu") == 0.75
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01 ** 2))
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert init.calculate_gain("leaky_relu", 0) == math.sqrt(2)
    assert math.isclose(init.calculate_gain("leaky_relu", math.sqrt(5)), math.sqrt(1 / 3))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "a")


@given(hst.lists(hst.integers(1, 5), min_size=2, max_size=5))
def test_fans_of_dense_and_convolution_weights(shape):
    receptive = math.prod(shape[2:])
    fan_in, fan_out = _calculate_fan_in_and_fan_out(mg.zeros(tuple(shape)))
    assert fan_in == shape[1] * receptive and fan_out == shape[0] * receptive


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match=r"at least 2 dimensions.*\(5,\)"):
        init.xavier_uniform_(mg.zeros(5))
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(mg.zeros((2, 2)), mode="fan_avg")


def _uniform_ok(data, bound):
    """Within ±bound (up to float32 rounding), spread close to bound/√3, mean near 0."""
    assert np.abs(data).max() <= bound * (1 + 1e-6)
    assert abs(data.std() - bound / math.sqrt(3)) < 0.03 * bound
    assert abs(data.mean()) < 0.03 * bound


def _normal_ok(data, std):
    assert abs(data.std() - std) < 0.03 * std
    assert abs(data.mean()) < 0.03 * std


SHAPES = [(300, 200), (64, 16, 3, 3)]


@pytest.mark.parametrize("shape", SHAPES)
def test_xavier_and_kaiming_spreads(shape):
    mg.manual_seed(0)
    w = mg.zeros(shape)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(w)
    _uniform_ok(init.xavier_uniform_(w, gain=2.0).data, 2.0 * math.sqrt(6 / (fan_in + fan_out)))
    _normal_ok(init.xavier_normal_(w).data, math.sqrt(2 / (fan_in + fan_out)))
    # the default a=0 is leaky_relu's slope, so the gain is √2 (as PyTorch)
    _uniform_ok(init.kaiming_uniform_(w).data, math.sqrt(2) * math.sqrt(3 / fan_in))
    _uniform_ok(init.kaiming_uniform_(w, a=math.sqrt(5)).data, 1 / math.sqrt(fan_in))
    _normal_ok(init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu").data,
               math.sqrt(2) / math.sqrt(fan_out))
    _normal_ok(init.kaiming_normal_(w, nonlinearity="tanh").data, (5 / 3) / math.sqrt(fan_in))


def test_uniform_normal_constant_fill_in_place_and_return_the_tensor():
    mg.manual_seed(0)
    p = nn.Parameter(mg.zeros((100, 100)))
    data = p.data
    assert init.uniform_(p, -2.0, 3.0) is p and p.data is data   # same array, filled in place
    assert p.data.min() >= -2 and p.data.max() < 3 and abs(p.data.mean() - 0.5) < 0.05
    init.normal_(p, mean=1.0, std=0.5)
    assert abs(p.data.mean() - 1.0) < 0.02 and abs(p.data.std() - 0.5) < 0.02
    assert p.dtype == np.float32 and p.requires_grad and p.grad_fn is None
    assert (init.constant_(p, 0.25).data == 0.25).all()
    assert (init.zeros_(p).data == 0).all() and (init.ones_(p).data == 1).all()
    d = mg.zeros(3, dtype=mg.float64)
    assert init.normal_(d).dtype == np.float64
    with pytest.raises(TypeError, match="Tensor"):
        init.zeros_(np.zeros(3))


def test_empty_tensors_are_a_no_op():
    assert init.kaiming_uniform_(mg.zeros((0, 3))).shape == (0, 3)
    assert init.xavier_normal_(mg.zeros((3, 0))).shape == (3, 0)


def test_manual_seed_and_explicit_generators_make_draws_reproducible():
    mg.manual_seed(42)
    a = init.kaiming_uniform_(mg.zeros((4, 4))).data.copy()
    mg.manual_seed(42)
    np.testing.assert_array_equal(init.kaiming_uniform_(mg.zeros((4, 4))).data, a)
    g1, g2 = np.random.default_rng(7), np.random.default_rng(7)
    np.testing.assert_array_equal(init.normal_(mg.zeros(5), generator=g1).data,
                                  init.normal_(mg.zeros(5), generator=g2).data)
    mg.manual_seed(1)
    l1 = nn.Linear(3, 3)
    mg.manual_seed(1)
    l2 = nn.Linear(3, 3)
    np.testing.assert_array_equal(l1.weight.data, l2.weight.data)


@settings(max_examples=10)
@given(hst.integers(1, 50), hst.integers(1, 50))
def test_linear_default_init_is_within_pytorch_bounds(n_in, n_out):
    lin = nn.Linear(n_in, n_out)
    bound = 1 / math.sqrt(n_in)
    for p in (lin.weight, lin.bias):
        assert np.abs(p.data).max() <= bound * (1 + 1e-6)   # float32 rounding


def test_formulas_match_pytorch_statistics():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    mg.manual_seed(0)
    for shape in SHAPES:
        for ours, theirs in [(init.kaiming_uniform_, torch.nn.init.kaiming_uniform_),
                             (init.xavier_normal_, torch.nn.init.xavier_normal_)]:
            a = ours(mg.zeros(shape)).data
            b = theirs(torch.zeros(shape)).numpy()
            assert abs(a.std() - b.std()) < 0.05 * b.std()
            assert abs(np.abs(a).max() - np.abs(b).max()) < 0.25 * np.abs(b).max()
        theirs = torch.nn.init.calculate_gain("leaky_relu", 0.3)
        assert init.calculate_gain("leaky_relu", 0.3) == theirs
