"""Convolution: F.conv1d/conv2d, unfold/fold, pad and the Conv1d/Conv2d layers.

Values are checked against a direct loop over output positions (the definition), first
and second derivatives with gradcheck/gradgradcheck on drawn shapes and hyperparameters,
the lecture's worked examples, error messages, and (when installed) PyTorch.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as hst

import microgradnn as mg
from microgradnn import nn
from microgradnn.nn import functional as F
from microgradnn.ops.conv import ConvNd
from microgradnn.testing import gradcheck, gradgradcheck
from microgradnn.testing import strategies as st


# ---------------------------------------------------------------- references
def conv_reference(x, w, b, stride, padding, dilation):
    """Cross-correlation by its definition: one loop iteration per output element."""
    nsp = x.ndim - 2
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    kernel = w.shape[2:]
    out = tuple((xp.shape[2 + i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
                for i in range(nsp))
    y = np.zeros((x.shape[0], w.shape[0]) + out)
    for n in range(x.shape[0]):
        for o in range(w.shape[0]):
            for p in np.ndindex(*out):
                acc = 0.0 if b is None else b[o]
                for c in range(x.shape[1]):
                    for k in np.ndindex(*kernel):
                        pos = tuple(p[i] * stride[i] + k[i] * dilation[i] for i in range(nsp))
                        acc += xp[(n, c) + pos] * w[(o, c) + k]
                y[(n, o) + p] = acc
    return y


@hst.composite
def conv_cases(draw, nsp: int, max_side: int = 6, max_channels: int = 3):
    """(x, w, b, stride, padding, dilation) with tiny float64 tensors that fit together."""
    n = draw(hst.integers(1, 2))
    c = draw(hst.integers(1, max_channels))
    o = draw(hst.integers(1, 3))
    kernel = tuple(draw(hst.integers(1, 3)) for _ in range(nsp))
    stride = tuple(draw(hst.integers(1, 2)) for _ in range(nsp))
    dilation = tuple(draw(hst.integers(1, 2)) for _ in range(nsp))
    padding = tuple(draw(hst.integers(0, 2)) for _ in range(nsp))
    size = tuple(draw(hst.integers(max(1, d * (k - 1) + 1 - 2 * p), max(max_side, d * (k - 1) + 1)))
                 for k, d, p in zip(kernel, dilation, padding))
    x = draw(st.tensors((n, c) + size, low=-2, high=2))
    w = draw(st.tensors((o, c) + kernel, low=-2, high=2))
    b = draw(st.tensors((o,), low=-2, high=2))
    return x, w, b, stride, padding, dilation


CONV = {1: F.conv1d, 2: F.conv2d}


# ---------------------------------------------------------------- values
@pytest.mark.parametrize("nsp", [1, 2])
@given(data=hst.data())
def test_conv_matches_the_definition(nsp, data):
    x, w, b, stride, padding, dilation = data.draw(conv_cases(nsp))
    y = CONV[nsp](x, w, b, stride, padding, dilation)
    ref = conv_reference(x.data, w.data, b.data, stride, [(p, p) for p in padding], dilation)
    np.testing.assert_allclose(y.data, ref, rtol=1e-10, atol=1e-10)
    y_nobias = CONV[nsp](x, w, None, stride, padding, dilation)
    np.testing.assert_allclose(y_nobias.data, ref - b.data.reshape((-1,) + (1,) * nsp),
                               atol=1e-10)


def x_image():
    """The lecture's 5×5 image with an X drawn on both diagonals."""
    return np.maximum(np.eye(5), np.fliplr(np.eye(5)))


DIAGONAL = np.eye(3)
ANTI_DIAGONAL = np.fliplr(np.eye(3))
X_KERNEL = np.maximum(DIAGONAL, ANTI_DIAGONAL)


@pytest.mark.parametrize("kernel, expected", [
    (DIAGONAL, [[3, 0, 1], [0, 3, 0], [1, 0, 3]]),
    (ANTI_DIAGONAL, [[1, 0, 3], [0, 3, 0], [3, 0, 1]]),
    (X_KERNEL, [[3, 0, 3], [0, 5, 0], [3, 0, 3]]),
])
def test_lecture_x_image_feature_maps(kernel, expected):
    image = mg.tensor(x_image()[None, None])
    y = F.conv2d(image, mg.tensor(kernel[None, None]))
    np.testing.assert_array_equal(y.data[0, 0], expected)


def test_lecture_single_window():
    window = mg.tensor(np.eye(3)[None, None])
    assert F.conv2d(window, mg.tensor(ANTI_DIAGONAL[None, None])).item() == 1
    assert F.conv2d(window, mg.tensor(DIAGONAL[None, None])).item() == 3


def test_lecture_parameter_counts_dense_vs_conv():
    dense = nn.Linear(100, 10)
    conv = nn.Conv2d(1, 10, 3)
    assert sum(p.numel() for p in dense.parameters()) == 1010
    assert sum(p.numel() for p in conv.parameters()) == 100
    # the conv layer's weights are shared across positions: any image size works
    assert conv(mg.zeros((1, 1, 10, 10))).shape == (1, 10, 8, 8)


def test_unbatched_input_matches_batch_of_one():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 5))
    w = rng.standard_normal((2, 3, 3, 2))
    y = F.conv2d(mg.tensor(x), mg.tensor(w), padding=1)
    y1 = F.conv2d(mg.tensor(x[None]), mg.tensor(w), padding=1)
    assert y.shape == y1.shape[1:]
    np.testing.assert_allclose(y.data, y1.data[0])
    assert F.conv1d(mg.zeros((3, 7)), mg.zeros((4, 3, 2))).shape == (4, 6)


@pytest.mark.parametrize("kernel, dilation", [(1, 1), (2, 1), (3, 1), (4, 1), (3, 2), (2, 3)])
def test_same_padding_keeps_the_size(kernel, dilation):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 7, 6))
    w = rng.standard_normal((3, 2, kernel, kernel))
    y = F.conv2d(mg.tensor(x), mg.tensor(w), padding="same", dilation=dilation)
    assert y.shape == (1, 3, 7, 6)
    # PyTorch's rule: total d·(k-1), the odd pixel goes to the end
    t = dilation * (kernel - 1)
    ref = conv_reference(x, w, None, (1, 1), [(t // 2, t - t // 2)] * 2, (dilation,) * 2)
    np.testing.assert_allclose(y.data, ref, atol=1e-12)
    assert F.conv2d(mg.tensor(x), mg.tensor(w), padding="valid").shape == \
        (1, 3, 8 - kernel, 7 - kernel)


def test_float32_stays_float32():
    conv = nn.Conv2d(2, 3, 3)
    y = conv(mg.zeros((1, 2, 5, 5)))
    assert y.dtype == np.float32 and conv.weight.dtype == np.float32


def test_empty_batch():
    y = F.conv2d(mg.zeros((0, 2, 5, 5)), mg.ones((3, 2, 3, 3)))
    assert y.shape == (0, 3, 3, 3)


# ---------------------------------------------------------------- derivatives
@pytest.mark.parametrize("nsp", [1, 2])
@given(data=hst.data())
def test_conv_gradcheck(nsp, data):
    x, w, b, stride, padding, dilation = data.draw(conv_cases(nsp, max_side=5))
    assert gradcheck(lambda x, w, b: CONV[nsp](x, w, b, stride, padding, dilation), [x, w, b])


@pytest.mark.parametrize("nsp", [1, 2])
@settings(max_examples=5)
@given(data=hst.data())
def test_conv_gradgradcheck(nsp, data):
    x, w, b, stride, padding, dilation = data.draw(conv_cases(nsp, max_side=4, max_channels=2))
    assert gradgradcheck(lambda x, w, b: CONV[nsp](x, w, b, stride, padding, dilation),
                         [x, w, b])


@pytest.mark.parametrize("flat", [True, False])
@settings(max_examples=5)
@given(data=hst.data())
def test_both_column_layouts_agree_to_second_order(flat, data):
    """Stride-1 convolutions may use the flat (whole-row) layout or the strided one; both
    must give the same values and derivatives of every order."""
    x, w, b, _, padding, dilation = data.draw(conv_cases(2, max_side=4, max_channels=2))
    pairs = tuple((p, p) for p in padding)

    def f(x, w, b):
        return ConvNd.apply(x, w, b, stride=(1, 1), padding=pairs, dilation=dilation, flat=flat)

    ref = conv_reference(x.data, w.data, b.data, (1, 1), pairs, dilation)
    np.testing.assert_allclose(f(x, w, b).data, ref, atol=1e-10)
    assert gradcheck(f, [x, w, b])
    assert gradgradcheck(f, [x, w, b])


def test_gradient_penalty_through_a_conv():
    """create_graph=True: the input gradient is itself differentiable (double backward)."""
    rng = np.random.default_rng(2)
    x = mg.tensor(rng.standard_normal((2, 2, 5, 5)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    y = F.conv2d(x, w, padding=1).tanh().sum()
    (gx,) = mg.autograd.grad(y, [x], create_graph=True)
    (gx * gx).sum().backward()
    assert w.grad is not None and w.grad.shape == w.shape


def test_only_the_needed_gradients():
    x = mg.tensor(np.ones((1, 1, 4, 4)))          # data: no gradient wanted
    w = mg.tensor(np.ones((2, 1, 3, 3)), requires_grad=True)
    F.conv2d(x, w).sum().backward()
    np.testing.assert_array_equal(w.grad.data, np.full((2, 1, 3, 3), 4.0))
    assert x.grad is None


# ---------------------------------------------------------------- unfold, fold, pad
def _dot_tolerance(a: np.ndarray, b: np.ndarray) -> float:
    """Rounding bound for sum(a * b) computed two ways: n·eps times the sum of |a·b|.

    A relative tolerance alone fails when the sum cancels to ~0 or the terms are denormal
    (their products underflow to 0 in one order of summation and not in the other).
    """
    n = max(a.size, 1)
    return 4 * n * np.finfo(np.float64).eps * float(np.abs(a * b).sum()) + 1e-300


# An image of denormal numbers: the draw on which an rtol-only comparison failed.
_DENORMAL_CASE = (mg.tensor(np.full((1, 1, 3, 3), 5e-324) * np.arange(1, 10).reshape(1, 1, 3, 3)),
                  mg.tensor(np.ones((1, 1, 2, 2))), mg.tensor(np.zeros(1)), (1, 1), (1, 0), (1, 1))


@given(case=conv_cases(2))
@example(case=_DENORMAL_CASE)
def test_unfold_and_fold_are_adjoint(case):
    x, w, _, stride, padding, dilation = case
    kernel = w.shape[2:]
    cols = F.unfold(x, kernel, dilation, padding, stride)
    c = np.random.default_rng(0).standard_normal(cols.shape)
    back = F.fold(mg.tensor(c), x.shape[2:], kernel, dilation, padding, stride)
    # <unfold(x), c> == <x, fold(c)>, to the rounding of either sum
    lhs, rhs = (cols.data * c).sum(), (x.data * back.data).sum()
    tol = max(_dot_tolerance(cols.data, c), _dot_tolerance(x.data, back.data))
    assert abs(lhs - rhs) <= tol, (lhs, rhs, tol)
    # conv2d is unfold then one matrix product (PyTorch's column order)
    y = w.data.reshape(w.shape[0], -1) @ cols.data
    np.testing.assert_allclose(y.reshape(F.conv2d(x, w, None, stride, padding, dilation).shape),
                               F.conv2d(x, w, None, stride, padding, dilation).data, atol=1e-10)


@settings(max_examples=8)
@given(data=hst.data())
def test_unfold_and_fold_gradcheck(data):
    x, w, _, stride, padding, dilation = data.draw(conv_cases(2, max_side=4, max_channels=2))
    kernel = w.shape[2:]
    assert gradcheck(lambda t: F.unfold(t, kernel, dilation, padding, stride) ** 2, [x])
    cols = F.unfold(x, kernel, dilation, padding, stride)
    c = mg.tensor(np.random.default_rng(1).standard_normal(cols.shape), requires_grad=True)
    assert gradcheck(lambda t: F.fold(t, x.shape[2:], kernel, dilation, padding, stride) ** 2,
                     [c])


def test_unfold_fold_second_derivatives():
    rng = np.random.default_rng(3)
    x = mg.tensor(rng.standard_normal((1, 2, 4, 5)), requires_grad=True)
    assert gradgradcheck(lambda x: F.unfold(x, (2, 3), 1, 1, (2, 1)) ** 2, [x])
    c = mg.tensor(rng.standard_normal((1, 2 * 4, 6)), requires_grad=True)
    assert gradgradcheck(lambda c: F.fold(c, (3, 4), 2, 1, 0, 1) ** 2, [c])


@pytest.mark.parametrize("mode, np_mode", [("constant", "constant"), ("reflect", "reflect"),
                                           ("replicate", "edge"), ("circular", "wrap")])
def test_pad_modes_match_numpy(mode, np_mode):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 4, 5))
    y = F.pad(mg.tensor(x), (1, 2, 3, 0), mode=mode)          # (left, right, top, bottom)
    ref = np.pad(x, ((0, 0), (0, 0), (3, 0), (1, 2)), mode=np_mode)
    np.testing.assert_allclose(y.data, ref)
    t = mg.tensor(x[:1, :2], requires_grad=True)
    assert gradcheck(lambda t: F.pad(t, (2, 1), mode=mode) ** 2, [t])
    assert gradgradcheck(lambda t: F.pad(t, (1, 2, 2, 0), mode=mode) ** 2, [t])


def test_pad_constant_value_and_negative_crop():
    x = mg.tensor(np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(F.pad(x, (1, 0), value=-1).data[:, 0], [-1, -1, -1])
    np.testing.assert_array_equal(F.pad(x, (-1, 1, 0, -2)).data, [[1, 2, 3, 0]])


def test_pad_errors():
    x = mg.zeros((2, 3))
    with pytest.raises(ValueError, match="pad: pad must hold an even number"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(ValueError, match="reflect padding .* must be smaller"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="mode must be"):
        F.pad(x, (1, 1), mode="mirror")


# ---------------------------------------------------------------- errors
def test_error_names_channels_and_shape():
    with pytest.raises(ValueError) as e:
        F.conv2d(mg.zeros((8, 4, 28, 28)), mg.zeros((16, 3, 3, 3)))
    assert str(e.value) == ("conv2d: input has 4 channels, weight expects 3 "
                            "(input shape (8, 4, 28, 28))")


@pytest.mark.parametrize("kwargs, message", [
    (dict(stride=0), "conv2d: stride must be positive"),
    (dict(dilation=(1, 0)), "conv2d: dilation must be positive"),
    (dict(padding=-1), "conv2d: padding must be non-negative"),
    (dict(padding="full"), "conv2d: padding must be 'valid', 'same'"),
    (dict(padding="same", stride=2), "padding='same' is not supported for strided"),
    (dict(groups=2), "conv2d: only groups=1"),
    (dict(stride=(1, 2, 3)), "conv2d: stride must be an int or a tuple of 2 ints"),
])
def test_bad_hyperparameters(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        F.conv2d(mg.zeros((1, 3, 8, 8)), mg.zeros((2, 3, 3, 3)), **kwargs)


def test_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"conv2d: kernel size \(5, 5\) is larger than the "
                                         r"padded input size \(4, 4\)"):
        F.conv2d(mg.zeros((1, 1, 4, 4)), mg.zeros((1, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"dilated extent \(5, 5\)"):
        F.conv2d(mg.zeros((1, 1, 4, 4)), mg.zeros((1, 1, 3, 3)), dilation=2)
    F.conv2d(mg.zeros((1, 1, 4, 4)), mg.zeros((1, 1, 5, 5)), padding=1)  # fits when padded


def test_wrong_ranks_and_bias():
    with pytest.raises(ValueError, match=r"conv2d: expected a 3-d or 4-d input .* got shape "
                                         r"\(28, 28\)"):
        F.conv2d(mg.zeros((28, 28)), mg.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"conv1d: expected a 2-d or 3-d input"):
        F.conv1d(mg.zeros((1, 1, 5, 5)), mg.zeros((1, 1, 3)))
    with pytest.raises(ValueError, match=r"conv2d: weight must be 4-d"):
        F.conv2d(mg.zeros((1, 1, 5, 5)), mg.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(2,\)"):
        F.conv2d(mg.zeros((1, 1, 5, 5)), mg.zeros((2, 1, 3, 3)), mg.zeros(3))


def test_layer_errors():
    with pytest.raises(ValueError, match="Conv2d: in_channels must be a positive int"):
        nn.Conv2d(0, 3, 3)
    with pytest.raises(ValueError, match="Conv2d: padding_mode must be one of"):
        nn.Conv2d(1, 3, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="Conv1d: only groups=1"):
        nn.Conv1d(2, 2, 3, groups=2)
    with pytest.raises(ValueError, match="Conv2d: padding='same' is not supported for strided"):
        nn.Conv2d(1, 3, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="conv2d: input has 2 channels, weight expects 1"):
        nn.Conv2d(1, 3, 3)(mg.zeros((1, 2, 5, 5)))


# ---------------------------------------------------------------- layers
def test_layer_parameters_init_and_state_dict():
    mg.manual_seed(0)
    conv = nn.Conv2d(8, 16, (3, 2))
    assert conv.weight.shape == (16, 8, 3, 2) and conv.bias.shape == (16,)
    assert list(conv.state_dict()) == ["weight", "bias"]
    bound = 1 / math.sqrt(8 * 3 * 2)  # Kaiming uniform with a = √5
    for p in (conv.weight, conv.bias):
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.8 * bound  # really spread over the range
    assert list(nn.Conv1d(2, 3, 4, bias=False).state_dict()) == ["weight"]
    assert nn.Conv1d(2, 3, 4).weight.shape == (3, 2, 4)


def test_layer_repr():
    assert repr(nn.Conv2d(1, 8, 3)) == "Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1))"
    assert repr(nn.Conv1d(2, 4, 5, stride=2, padding=1, dilation=2, bias=False)) == \
        "Conv1d(2, 4, kernel_size=(5,), stride=(2,), padding=(1,), dilation=(2,), bias=False)"
    assert "padding=same" in repr(nn.Conv2d(1, 1, 3, padding="same"))


@pytest.mark.parametrize("mode, np_mode", [("reflect", "reflect"), ("replicate", "edge"),
                                           ("circular", "wrap")])
def test_layer_padding_modes(mode, np_mode):
    conv = nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=mode, dtype=np.float64)
    x = np.random.default_rng(5).standard_normal((1, 2, 5, 6))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)), mode=np_mode)
    ref = conv_reference(xp, conv.weight.data, conv.bias.data, (1, 1), [(0, 0)] * 2, (1, 1))
    np.testing.assert_allclose(conv(mg.tensor(x)).data, ref, atol=1e-12)


def test_layer_trains():
    """A few SGD steps on a conv layer lower a simple loss."""
    mg.manual_seed(1)
    conv = nn.Conv2d(1, 2, 3, padding=1)
    x = mg.randn(4, 1, 6, 6)
    target = mg.zeros((4, 2, 6, 6))
    losses = []
    for _ in range(20):
        loss = ((conv(x) - target) ** 2).mean()
        conv.zero_grad()
        loss.backward()
        with mg.no_grad():
            for p in conv.parameters():
                p.data -= 0.1 * p.grad.data
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# ---------------------------------------------------------------- PyTorch
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("cfg", [
    dict(kernel_size=3),
    dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
    dict(kernel_size=3, padding="same", dilation=2),
    dict(kernel_size=4, padding="same"),
    dict(kernel_size=3, padding=2, padding_mode="reflect", bias=False),
    dict(kernel_size=3, padding=1, padding_mode="circular", stride=2),
])
def test_matches_pytorch_conv2d(cfg):
    torch = pytest.importorskip("torch")
    tconv = torch.nn.Conv2d(3, 4, **cfg).double()
    conv = nn.Conv2d(3, 4, dtype=np.float64, **cfg)
    conv.load_state_dict({k: v.detach().numpy() for k, v in tconv.state_dict().items()})
    assert repr(conv) == repr(tconv)
    x = np.random.default_rng(6).standard_normal((2, 3, 7, 8))
    xm = mg.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ym, yt = conv(xm), tconv(xt)
    np.testing.assert_allclose(ym.data, yt.detach().numpy(), atol=1e-12)
    g = np.random.default_rng(7).standard_normal(ym.shape)
    (ym * mg.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xm.grad.data, xt.grad.numpy(), atol=1e-12)
    for name, p in conv.named_parameters():
        np.testing.assert_allclose(p.grad.data, dict(tconv.named_parameters())[name].grad.numpy(),
                                   atol=1e-12)


def test_matches_pytorch_conv1d_and_unfold():
    torch = pytest.importorskip("torch")
    tconv = torch.nn.Conv1d(2, 3, 3, stride=2, padding=1, dilation=2).double()
    conv = nn.Conv1d(2, 3, 3, stride=2, padding=1, dilation=2, dtype=np.float64)
    conv.load_state_dict({k: v.detach().numpy() for k, v in tconv.state_dict().items()})
    x = np.random.default_rng(8).standard_normal((2, 2, 9))
    np.testing.assert_allclose(conv(mg.tensor(x)).data,
                               tconv(torch.tensor(x)).detach().numpy(), atol=1e-12)
    x = np.random.default_rng(9).standard_normal((2, 3, 7, 6))
    args = ((2, 3), 2, 1, (2, 1))
    cols = torch.nn.functional.unfold(torch.tensor(x), *args).numpy()
    np.testing.assert_allclose(F.unfold(mg.tensor(x), *args).data, cols)
    np.testing.assert_allclose(F.fold(mg.tensor(cols), (7, 6), *args).data,
                               torch.nn.functional.fold(torch.tensor(cols), (7, 6), *args).numpy())


def test_review_pad_overcrop_and_integer_types():
    import numpy as np
    import microgradnn as mg
    from microgradnn.nn import functional as F
    with pytest.raises(ValueError, match="crop more than"):
        F.pad(mg.arange(4.0).reshape(1, 4), (0, -5))
    assert mg.nn.MaxPool2d(np.int64(2))(mg.zeros((1, 1, 4, 4))).shape == (1, 1, 2, 2)


@pytest.mark.parametrize("nsp, stride", [(2, 1), (2, 2), (1, 1)])
def test_chunked_convolution_equals_one_chunk(monkeypatch, nsp, stride):
    # Large batches run in chunks of samples (ops/conv.py, _COLS_BYTES); a tiny budget
    # forces one sample per chunk, so every chunking path is compared with the whole batch.
    from microgradnn.ops import conv as conv_ops
    rng = np.random.default_rng(5)
    shape = (5, 3) + (7,) * nsp
    x0 = rng.standard_normal(shape)
    w0 = rng.standard_normal((4, 3) + (3,) * nsp)
    b0 = rng.standard_normal(4)
    g0 = rng.standard_normal(CONV[nsp](mg.tensor(x0), mg.tensor(w0), None, stride, 1).shape)

    def run():
        x, w, b = (mg.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        y = CONV[nsp](x, w, b, stride, 1)
        y.backward(mg.tensor(g0))
        return y.data, x.grad.data, w.grad.data, b.grad.data

    whole = run()
    monkeypatch.setattr(conv_ops, "_COLS_BYTES", 1)
    assert len(conv_ops._chunks(5, 100)) == 5
    chunked = run()
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


SCRATCH_CASES = [dict(stride=1, padding=0), dict(stride=1, padding=1),
                 dict(stride=2, padding=1), dict(stride=1, padding=0, dilation=2)]


def _conv_step(x0, w0, b0, g0, cfg, retain=False):
    x, w, b = (mg.tensor(a, requires_grad=True) for a in (x0, w0, b0))
    y = F.conv2d(x, w, b, **cfg)
    y.backward(mg.tensor(g0), retain_graph=retain)
    return y, x, w, b


def _results(step):
    """The output and the three gradients of a _conv_step, as arrays."""
    y, x, w, b = step
    return y.data, x.grad.data, w.grad.data, b.grad.data


@pytest.mark.parametrize("cfg", SCRATCH_CASES)
def test_scratch_buffers_never_leak_between_steps(monkeypatch, cfg):
    """Chunked passes keep their temporaries in reused per-thread buffers (ops/conv.py,
    _scratch): steps in a row with different inputs must equal a fresh whole-batch pass,
    nothing returned may point into a scratch buffer, and a graph kept from an earlier
    step (retain_graph) must still backpropagate correctly after later steps reused them."""
    from microgradnn.ops import conv as conv_ops
    rng = np.random.default_rng(11)
    data = [(rng.standard_normal((6, 3, 8, 8)), rng.standard_normal((5, 3, 3, 3)),
             rng.standard_normal(5)) for _ in range(3)]
    out_shape = F.conv2d(mg.tensor(data[0][0]), mg.tensor(data[0][1]), **cfg).shape
    grads = [rng.standard_normal(out_shape) for _ in data]
    fresh = [_results(_conv_step(*d, g, cfg)) for d, g in zip(data, grads)]  # no scratch
    monkeypatch.setattr(conv_ops, "_COLS_BYTES", 2000)  # a sample or two per chunk
    monkeypatch.setattr(conv_ops, "_SCRATCH_BYTES", 1 << 20)  # every temporary in scratch
    monkeypatch.setattr(conv_ops, "_scratch_local", __import__("threading").local())
    assert len(conv_ops._chunks(6, 1000)) == 3
    first = _conv_step(*data[0], grads[0], cfg, retain=True)
    later = [_conv_step(*d, g, cfg) for d, g in zip(data[1:], grads[1:])]
    assert "cols" in conv_ops._scratch_local.__dict__, "the chunks should use scratch"
    for step, ref in zip([first] + later, fresh):
        for a, r in zip(_results(step), ref):
            np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)
            for buf in conv_ops._scratch_local.__dict__.values():
                assert not np.shares_memory(a, buf)
    # the first step's graph again: its saved inputs were not overwritten
    y, x, w, b = first
    y.backward(mg.tensor(grads[0]))
    for t, r in zip((x, w, b), fresh[0][1:]):
        np.testing.assert_allclose(t.grad.data, 2 * r, rtol=1e-12, atol=1e-12)


def test_scratch_buffers_are_per_thread(monkeypatch):
    """Two threads convolving at once (chunked, in scratch) each get their own results."""
    import threading
    from microgradnn.ops import conv as conv_ops
    rng = np.random.default_rng(12)
    cfg = dict(stride=1, padding=1)
    cases = [(rng.standard_normal((6, 3, 8, 8)), rng.standard_normal((5, 3, 3, 3)),
              rng.standard_normal(5)) for _ in range(2)]
    grads = [rng.standard_normal((6, 5, 8, 8)) for _ in cases]
    fresh = [_results(_conv_step(*c, g, cfg)) for c, g in zip(cases, grads)]
    monkeypatch.setattr(conv_ops, "_COLS_BYTES", 2000)
    monkeypatch.setattr(conv_ops, "_SCRATCH_BYTES", 1 << 20)
    errors = []

    def work(i):
        try:
            for _ in range(20):
                got = _results(_conv_step(*cases[i], grads[i], cfg))
                for a, r in zip(got, fresh[i]):
                    np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)
        except Exception as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
