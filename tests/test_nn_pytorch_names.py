"""nn.Softplus / F.softplus, nn.LogSigmoid / F.logsigmoid, nn.SiLU / F.silu, nn.Dropout2d,
nn.Unflatten: PyTorch's meaning, and finite results at any finite input."""
from __future__ import annotations

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn
from microgradnn.nn import functional as F

EXTREMES = [-3.4e38, -1e30, -1e4, -100.0, -89.0, -20.0, -1.0, -1e-30, 0.0, 1e-30, 1.0, 20.0,
            20.5, 89.0, 100.0, 1e4, 1e30, 3.4e38, 1e-40, -1e-40]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn", ["softplus", "logsigmoid", "silu"])
def test_finite_values_and_gradients_at_any_finite_input(fn, dtype):
    x = mg.tensor(np.array(EXTREMES, dtype=dtype), requires_grad=True)
    y = getattr(F, fn)(x)
    y.sum().backward()
    assert y.dtype == dtype and x.grad.dtype == dtype
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad.data))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("fn, kwargs", [("softplus", {}), ("softplus", {"beta": 2.0}),
                                        ("softplus", {"beta": 0.5, "threshold": 5.0}),
                                        ("softplus", {"beta": -1.0}),
                                        ("logsigmoid", {}), ("silu", {})])
def test_values_and_gradients_match_pytorch(fn, kwargs, dtype):
    torch = pytest.importorskip("torch")
    # PyTorch's own float32 softplus overflows to inf beyond its threshold region when
    # beta*x is large and threshold is large; inside its finite range we must agree
    xs = np.array([x for x in EXTREMES if abs(x) <= 1e4] + list(np.linspace(-30, 30, 61)),
                  dtype=dtype)
    x = mg.tensor(xs, requires_grad=True)
    y = getattr(F, fn)(x, **kwargs)
    y.backward(mg.ones(y.shape, dtype=y.dtype))
    tx = torch.tensor(xs, requires_grad=True)
    ty = getattr(torch.nn.functional, fn)(tx, **kwargs)
    ty.backward(torch.ones_like(ty))
    # float32: below 1e-30 PyTorch flushes some results to 0 where ours keep the tiny value
    tol = dict(rtol=1e-6, atol=1e-30) if dtype == "float32" else dict(rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **tol)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), **tol)


def test_second_derivatives_match_pytorch():
    torch = pytest.importorskip("torch")
    xs = np.linspace(-8, 8, 33)
    for fn, kwargs in [("softplus", {"beta": 1.5, "threshold": 4.0}), ("logsigmoid", {}),
                       ("silu", {})]:
        x = mg.tensor(xs, requires_grad=True)
        (g,) = mg.autograd.grad(getattr(F, fn)(x, **kwargs).sum(), [x], create_graph=True)
        (h,) = mg.autograd.grad(g.sum(), [x])
        tx = torch.tensor(xs, requires_grad=True)
        (tg,) = torch.autograd.grad(getattr(torch.nn.functional, fn)(tx, **kwargs).sum(), [tx],
                                    create_graph=True)
        (th,) = torch.autograd.grad(tg.sum(), [tx])
        np.testing.assert_allclose(h.data, th.numpy(), rtol=1e-12, atol=1e-14, err_msg=fn)


def test_modules_call_the_functions_and_show_their_settings():
    x = mg.tensor(np.linspace(-5, 5, 11))
    np.testing.assert_array_equal(nn.Softplus(2.0, 3.0)(x).data, F.softplus(x, 2.0, 3.0).data)
    np.testing.assert_array_equal(nn.LogSigmoid()(x).data, F.logsigmoid(x).data)
    np.testing.assert_array_equal(nn.SiLU()(x).data, F.silu(x).data)
    assert repr(nn.Softplus(2.0, 3.0)) == "Softplus(beta=2.0, threshold=3.0)"
    assert repr(nn.SiLU()) == "SiLU()" and repr(nn.LogSigmoid()) == "LogSigmoid()"


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.softplus(mg.ones(2), beta=0), ValueError, "softplus: beta must be finite and nonzero"),
    (lambda: F.softplus(mg.ones(2), beta="1"), TypeError, "softplus: beta must be a number"),
    (lambda: nn.Softplus(threshold=None), TypeError, "Softplus: threshold must be a number"),
    (lambda: F.softplus(mg.tensor([1, 2])), TypeError, "softplus: expected a floating-point"),
    (lambda: F.logsigmoid(mg.tensor([1, 2])), TypeError, "logsigmoid: expected a floating-point"),
])
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------ Dropout2d


def test_dropout2d_zeroes_whole_channels_and_scales_the_rest():
    mg.manual_seed(0)
    x = mg.ones((50, 8, 3, 3), requires_grad=True)
    y = nn.Dropout2d(0.25)(x)
    per_channel = y.data.reshape(50, 8, 9)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # a channel is all kept or all dropped
    assert set(np.unique(per_channel)) <= {0.0, np.float32(1 / 0.75)}
    assert 0.15 < np.mean(per_channel[..., 0] == 0) < 0.35
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, y.data)  # d/dx of mask·x is the mask


def test_dropout2d_eval_p0_p1_and_3d_input():
    x = mg.ones((2, 3, 4, 4))
    assert nn.Dropout2d(0.5).eval()(x) is x
    assert nn.Dropout2d(0.0)(x) is x
    assert np.all(nn.Dropout2d(1.0)(x).data == 0)
    with pytest.warns(UserWarning, match=r"3-d input; taking it as \(N, C, L\)"):
        y = nn.Dropout2d(0.5)(mg.ones((2, 3, 5)))
    assert y.shape == (2, 3, 5)
    with pytest.raises(ValueError, match="Dropout2d: expected a 4-d input"):
        nn.Dropout2d()(mg.ones((2, 3)))
    with pytest.raises(ValueError, match="Dropout2d"):
        nn.Dropout2d(1.5)
    assert repr(nn.Dropout2d(0.3)) == "Dropout2d(p=0.3, inplace=False)"


# ------------------------------------------------------------------ Unflatten


@pytest.mark.parametrize("shape, dim, sizes", [((2, 60), 1, (3, 4, 5)), ((2, 60), -1, (3, -1)),
                                               ((12, 5), 0, (2, 6)), ((2, 6, 7), 1, (6,)),
                                               ((3, 0), 1, (0, 4))])
def test_unflatten_as_pytorch(shape, dim, sizes):
    x = mg.tensor(np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape), requires_grad=True)
    y = nn.Unflatten(dim, sizes)(x)
    torch = pytest.importorskip("torch")
    expected = torch.nn.Unflatten(dim, sizes)(torch.from_numpy(x.data))
    assert y.shape == tuple(expected.shape)
    np.testing.assert_array_equal(y.data, expected.numpy())
    assert nn.Flatten(dim if dim >= 0 else len(y.shape) - len(sizes),
                      (dim if dim >= 0 else len(y.shape) - len(sizes)) + len(sizes) - 1)(y).shape == shape


@pytest.mark.parametrize("make, shape, error, match", [
    (lambda: nn.Unflatten(1, (3, 5)), (2, 16), ValueError, "multiply to 15"),
    (lambda: nn.Unflatten(1, (3, -1)), (2, 16), ValueError, "cannot split dimension 1 of size 16"),
    (lambda: nn.Unflatten(3, (1,)), (2, 16), IndexError, "dim 3 is out of range"),
    (lambda: nn.Unflatten(1, (-1, -1)), None, TypeError, "one may be -1"),
    (lambda: nn.Unflatten(1, 4), None, TypeError, "unflattened_size"),
    (lambda: nn.Unflatten(1.0, (4,)), None, TypeError, "dim must be an int"),
])
def test_unflatten_errors(make, shape, error, match):
    with pytest.raises(error, match=match):
        make()(mg.zeros(shape))
