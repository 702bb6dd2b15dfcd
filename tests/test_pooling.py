"""Pooling: max (first-maximum gradient), average (both divisor rules, ceil mode) and
adaptive average, as functions and layers, against loop references, gradcheck and
gradgradcheck on drawn hyperparameters, the lecture's example and (when installed) PyTorch.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as hst

import microgradnn as mg
from microgradnn import nn
from microgradnn.nn import functional as F
from microgradnn.testing import gradcheck, gradgradcheck


# ---------------------------------------------------------------- references
def out_len(n, k, s, p, d, ceil_mode):
    o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def max_pool_reference(x, kernel, stride, padding, dilation, ceil_mode):
    """Maxima and flat input index of the first maximum of every window, by loops."""
    nsp = x.ndim - 2
    size = x.shape[2:]
    out = tuple(out_len(size[i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode)
                for i in range(nsp))
    y = np.full(x.shape[:2] + out, -np.inf)
    idx = np.full(x.shape[:2] + out, -1)
    for n, c in np.ndindex(*x.shape[:2]):
        for p in np.ndindex(*out):
            for k in np.ndindex(*kernel):
                pos = tuple(p[i] * stride[i] + k[i] * dilation[i] - padding[i] for i in range(nsp))
                if all(0 <= pos[i] < size[i] for i in range(nsp)):
                    v = x[(n, c) + pos]
                    if v > y[(n, c) + p]:
                        y[(n, c) + p] = v
                        idx[(n, c) + p] = np.ravel_multi_index(pos, size)
    return y, idx


def avg_pool_reference(x, kernel, stride, padding, ceil_mode, count_include_pad):
    nsp = x.ndim - 2
    size = x.shape[2:]
    out = tuple(out_len(size[i], kernel[i], stride[i], padding[i], 1, ceil_mode)
                for i in range(nsp))
    y = np.zeros(x.shape[:2] + out)
    for p in np.ndindex(*out):
        lo, hi, pool = [], [], 1
        for i in range(nsp):
            start = p[i] * stride[i] - padding[i]
            end = min(start + kernel[i], size[i] + padding[i])
            pool *= end - start
            lo.append(max(start, 0))
            hi.append(min(end, size[i]))
        window = x[(slice(None), slice(None)) + tuple(slice(a, b) for a, b in zip(lo, hi))]
        count = pool if count_include_pad else math.prod(b - a for a, b in zip(lo, hi))
        y[(slice(None), slice(None)) + p] = window.sum(axis=tuple(range(2, 2 + nsp))) / count
    return y


def adaptive_reference(x, out):
    nsp = x.ndim - 2
    size = x.shape[2:]
    y = np.zeros(x.shape[:2] + tuple(out))
    for p in np.ndindex(*out):
        sl = tuple(slice(p[i] * size[i] // out[i], -(-(p[i] + 1) * size[i] // out[i]))
                   for i in range(nsp))
        y[(slice(None), slice(None)) + p] = x[(slice(None), slice(None)) + sl].mean(
            axis=tuple(range(2, 2 + nsp)))
    return y


# ---------------------------------------------------------------- strategies
@hst.composite
def pool_cases(draw, nsp: int, max_side: int = 6, dilation: bool = True):
    """(x array, kernel, stride, padding, dilation, ceil_mode); x holds distinct values
    0.1 apart, so finite differences never straddle a tie."""
    kernel = tuple(draw(hst.integers(1, 3)) for _ in range(nsp))
    stride = tuple(draw(hst.integers(1, 3)) for _ in range(nsp))
    padding = tuple(draw(hst.integers(0, k // 2)) for k in kernel)
    dil = tuple(draw(hst.integers(1, 2)) if dilation else 1 for _ in range(nsp))
    ceil_mode = draw(hst.booleans())
    lows = [max(1, d * (k - 1) + 1 - 2 * p) for k, d, p in zip(kernel, dil, padding)]
    size = tuple(draw(hst.integers(lo, max(lo, max_side))) for lo in lows)
    shape = (draw(hst.integers(1, 2)), draw(hst.integers(1, 3))) + size
    values = draw(hst.permutations(range(math.prod(shape))))
    x = (np.array(values, dtype=np.float64).reshape(shape) - math.prod(shape) / 2) / 10
    return x, kernel, stride, padding, dil, ceil_mode


def all_windows_real(x, kernel, stride, padding, dilation, ceil_mode) -> bool:
    """Does every window hold at least one input element (not only padding)?"""
    y, _ = max_pool_reference(x, kernel, stride, padding, dilation, ceil_mode)
    return bool(np.isfinite(y).all())


MAX = {1: F.max_pool1d, 2: F.max_pool2d}
AVG = {1: F.avg_pool1d, 2: F.avg_pool2d}


def leaf(a):
    return mg.tensor(a, requires_grad=True)


# ---------------------------------------------------------------- lecture example
def test_lecture_max_pool_of_0_to_15():
    fmap = mg.arange(16.0).reshape(1, 1, 4, 4)
    expected = [[5, 7], [13, 15]]
    np.testing.assert_array_equal(F.max_pool2d(fmap, 2, 2).data[0, 0], expected)
    np.testing.assert_array_equal(nn.MaxPool2d(2)(fmap).data[0, 0], expected)
    np.testing.assert_array_equal(nn.MaxPool2d(kernel_size=2, stride=2)(fmap[0]).data[0],
                                  expected)


# ---------------------------------------------------------------- max pooling
@pytest.mark.parametrize("nsp", [1, 2])
@given(data=hst.data())
def test_max_pool_matches_reference(nsp, data):
    x, kernel, stride, padding, dilation, ceil_mode = data.draw(pool_cases(nsp))
    ref, ref_idx = max_pool_reference(x, kernel, stride, padding, dilation, ceil_mode)
    assume(np.isfinite(ref).all())  # every window holds at least one real element
    xt = leaf(x)
    y, idx = MAX[nsp](xt, kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    np.testing.assert_array_equal(y.data, ref)
    np.testing.assert_array_equal(idx.data, ref_idx)
    # the gradient goes to exactly the element each window chose
    g = np.random.default_rng(0).standard_normal(y.shape)
    (y * mg.tensor(g)).sum().backward()
    expected = np.zeros(x.shape)
    flat = expected.reshape(x.shape[:2] + (-1,))
    for n, c in np.ndindex(*x.shape[:2]):
        np.add.at(flat[n, c], ref_idx[n, c].ravel(), g[n, c].ravel())
    np.testing.assert_allclose(xt.grad.data, expected, atol=1e-12)


def test_ties_send_the_gradient_to_the_first_maximum():
    x = leaf(np.array([[[[1.0, 1.0, 0.0, 2.0],
                         [1.0, 0.0, 2.0, 2.0]]]]))
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[[[1, 0, 0, 1], [0, 0, 0, 0]]]])
    x = leaf(np.zeros((1, 1, 3)))
    F.max_pool1d(x, 2, 1).sum().backward()    # overlapping windows, all tied
    np.testing.assert_array_equal(x.grad.data, [[[1, 1, 0]]])


def test_max_pool_propagates_nan():
    y = F.max_pool1d(mg.tensor([[[1.0, np.nan, 0.0, 2.0]]]), 2)
    assert np.isnan(y.data[0, 0, 0]) and y.data[0, 0, 1] == 2


@pytest.mark.parametrize("nsp", [1, 2])
@given(data=hst.data())
def test_max_pool_gradcheck(nsp, data):
    x, kernel, stride, padding, dilation, ceil_mode = data.draw(pool_cases(nsp, max_side=5))
    assume(all_windows_real(x, kernel, stride, padding, dilation, ceil_mode))
    assert gradcheck(lambda t: MAX[nsp](t, kernel, stride, padding, dilation, ceil_mode),
                     [leaf(x)])


@pytest.mark.parametrize("nsp", [1, 2])
@settings(max_examples=5)
@given(data=hst.data())
def test_max_pool_gradgradcheck(nsp, data):
    x, kernel, stride, padding, dilation, ceil_mode = data.draw(pool_cases(nsp, max_side=4))
    assume(all_windows_real(x, kernel, stride, padding, dilation, ceil_mode))
    # squared, so the second derivative is not identically zero
    assert gradgradcheck(lambda t: MAX[nsp](t, kernel, stride, padding, dilation, ceil_mode) ** 2,
                         [leaf(x)])


# ---------------------------------------------------------------- average pooling
@pytest.mark.parametrize("nsp", [1, 2])
@pytest.mark.parametrize("count_include_pad", [True, False])
@given(data=hst.data())
def test_avg_pool_matches_reference(nsp, count_include_pad, data):
    x, kernel, stride, padding, _, ceil_mode = data.draw(pool_cases(nsp, dilation=False))
    y = AVG[nsp](leaf(x), kernel, stride, padding, ceil_mode, count_include_pad)
    ref = avg_pool_reference(x, kernel, stride, padding, ceil_mode, count_include_pad)
    np.testing.assert_allclose(y.data, ref, rtol=1e-12, atol=1e-12)


def test_avg_pool_divisor_override():
    x = mg.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(F.avg_pool2d(x, 2, divisor_override=1).data[0, 0],
                                  [[10, 18], [42, 50]])


@pytest.mark.parametrize("nsp", [1, 2])
@given(data=hst.data())
def test_avg_pool_gradcheck(nsp, data):
    x, kernel, stride, padding, _, ceil_mode = data.draw(pool_cases(nsp, 5, dilation=False))
    cip = data.draw(hst.booleans())
    assert gradcheck(lambda t: AVG[nsp](t, kernel, stride, padding, ceil_mode, cip), [leaf(x)])


@pytest.mark.parametrize("nsp", [1, 2])
@settings(max_examples=5)
@given(data=hst.data())
def test_avg_pool_gradgradcheck(nsp, data):
    x, kernel, stride, padding, _, ceil_mode = data.draw(pool_cases(nsp, 4, dilation=False))
    cip = data.draw(hst.booleans())
    assert gradgradcheck(lambda t: AVG[nsp](t, kernel, stride, padding, ceil_mode, cip) ** 2,
                         [leaf(x)])


# ---------------------------------------------------------------- adaptive average pooling
@given(h=hst.integers(1, 7), w=hst.integers(1, 7), oh=hst.integers(1, 4), ow=hst.integers(1, 4))
def test_adaptive_avg_pool2d_matches_reference(h, w, oh, ow):
    x = np.random.default_rng(h * 10 + w).standard_normal((2, 3, h, w))
    y = F.adaptive_avg_pool2d(mg.tensor(x), (oh, ow))
    np.testing.assert_allclose(y.data, adaptive_reference(x, (oh, ow)), atol=1e-12)
    y1 = F.adaptive_avg_pool1d(mg.tensor(x[:, :, 0]), ow)
    np.testing.assert_allclose(y1.data, adaptive_reference(x[:, :, 0], (ow,)), atol=1e-12)


def test_adaptive_avg_pool_special_sizes():
    x = np.random.default_rng(1).standard_normal((2, 4, 5, 6))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(mg.tensor(x), 1).data,
                               x.mean(axis=(2, 3), keepdims=True), atol=1e-12)
    assert F.adaptive_avg_pool2d(mg.tensor(x), (None, 3)).shape == (2, 4, 5, 3)
    assert nn.AdaptiveAvgPool2d((1, 1))(mg.tensor(x[0])).shape == (4, 1, 1)


@given(h=hst.integers(1, 5), w=hst.integers(1, 5), oh=hst.integers(1, 3), ow=hst.integers(1, 3))
@settings(max_examples=8)
def test_adaptive_avg_pool_derivatives(h, w, oh, ow):
    x = leaf(np.random.default_rng(h + 7 * w).standard_normal((1, 2, h, w)))
    assert gradcheck(lambda t: F.adaptive_avg_pool2d(t, (oh, ow)), [x])
    assert gradgradcheck(lambda t: F.adaptive_avg_pool2d(t, (oh, ow)) ** 2, [x])
    x1 = leaf(x.data[:, :, 0])
    assert gradcheck(lambda t: F.adaptive_avg_pool1d(t, ow), [x1])
    assert gradgradcheck(lambda t: F.adaptive_avg_pool1d(t, ow) ** 2, [x1])


# ---------------------------------------------------------------- errors and layers
def test_errors():
    x = mg.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"max_pool2d: padding 2 should be at most half of "
                                         r"the kernel size \(3, 3\)"):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match=r"max_pool2d: kernel size \(5, 5\) .* is larger than "
                                         r"the input \(input shape \(1, 1, 4, 4\)\)"):
        F.max_pool2d(x, 5)
    with pytest.raises(ValueError, match=r"avg_pool1d: expected a 2-d or 3-d input"):
        F.avg_pool1d(x, 2)
    with pytest.raises(ValueError, match="max_pool2d: stride must be positive"):
        F.max_pool2d(x, 2, 0)
    with pytest.raises(TypeError, match="avg_pool2d: expected a floating-point input"):
        F.avg_pool2d(mg.tensor(np.ones((1, 1, 4, 4), dtype=np.int64)), 2)
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: output_size must be positive"):
        F.adaptive_avg_pool2d(x, 0)


def test_layers_defaults_and_repr():
    pool = nn.MaxPool2d(3)
    assert pool.stride == 3
    assert repr(pool) == ("MaxPool2d(kernel_size=3, stride=3, padding=0, dilation=1, "
                          "ceil_mode=False)")
    assert repr(nn.AvgPool2d(2, 1)) == "AvgPool2d(kernel_size=2, stride=1, padding=0)"
    assert repr(nn.AdaptiveAvgPool2d((1, 1))) == "AdaptiveAvgPool2d(output_size=(1, 1))"
    assert list(pool.state_dict()) == []
    x = mg.arange(8.0).reshape(1, 1, 8)
    np.testing.assert_array_equal(nn.MaxPool1d(2)(x).data, [[[1, 3, 5, 7]]])
    np.testing.assert_array_equal(nn.AvgPool1d(4)(x).data, [[[1.5, 5.5]]])
    y, idx = nn.MaxPool1d(2, return_indices=True)(x)
    np.testing.assert_array_equal(idx.data, [[[1, 3, 5, 7]]])
    assert nn.AdaptiveAvgPool1d(3)(x).shape == (1, 1, 3)


def test_float32_stays_float32():
    x = mg.randn(2, 3, 6, 6)
    for layer in (nn.MaxPool2d(2), nn.AvgPool2d(3, 2, 1), nn.AdaptiveAvgPool2d(4)):
        assert layer(x).dtype == np.float32


# ---------------------------------------------------------------- PyTorch
@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", [
    (2, None, 0, 1, False), (3, 2, 1, 1, True), ((2, 3), (1, 2), (1, 1), (2, 1), False),
    (3, 1, 1, 2, True)])
def test_matches_pytorch_pooling(kernel, stride, padding, dilation, ceil_mode):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((2, 3, 7, 8)).round(1)  # some ties
    pools = [
        (nn.MaxPool2d(kernel, stride, padding, dilation, True, ceil_mode),
         torch.nn.MaxPool2d(kernel, stride, padding, dilation, True, ceil_mode)),
        (nn.AvgPool2d(kernel, stride, padding, ceil_mode),
         torch.nn.AvgPool2d(kernel, stride, padding, ceil_mode)),
        (nn.AvgPool2d(kernel, stride, padding, ceil_mode, count_include_pad=False),
         torch.nn.AvgPool2d(kernel, stride, padding, ceil_mode, count_include_pad=False)),
        (nn.AdaptiveAvgPool2d((3, 5)), torch.nn.AdaptiveAvgPool2d((3, 5))),
    ]
    for ours, theirs in pools:
        if isinstance(ours, nn.AvgPool2d) and dilation != 1:
            continue
        xm, xt = leaf(x), torch.tensor(x, requires_grad=True)
        ym, yt = ours(xm), theirs(xt)
        if isinstance(ym, tuple):
            np.testing.assert_array_equal(ym[1].data, yt[1].numpy())
            ym, yt = ym[0], yt[0]
        np.testing.assert_allclose(ym.data, yt.detach().numpy(), atol=1e-12)
        g = np.random.default_rng(3).standard_normal(ym.shape)
        (ym * mg.tensor(g)).sum().backward()
        (yt * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(xm.grad.data, xt.grad.numpy(), atol=1e-12)
        assert repr(ours) == repr(theirs)
