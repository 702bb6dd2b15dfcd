"""F.scaled_dot_product_attention and nn.MultiheadAttention: PyTorch's numbers (same
weights through state_dict), gradients of first and second order against finite
differences, and loud errors for shapes, dtypes and masks that do not fit."""
import importlib.util

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn
from microgradnn.nn import functional as F
from microgradnn.testing import gradcheck, gradgradcheck

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="compares with PyTorch")
rng = np.random.default_rng(0)


def leaf(shape):
    return mg.tensor(rng.standard_normal(shape), requires_grad=True)


def np_sdpa(q, k, v, mask=None, scale=None):
    """The formula in NumPy: softmax(q kᵀ · scale + mask) v."""
    s = q @ np.swapaxes(k, -1, -2) * (scale or 1 / np.sqrt(q.shape[-1]))
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    e = np.exp(s - s.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)) @ v


# ---------------------------------------------------------------- scaled_dot_product_attention
def test_sdpa_matches_formula_and_causal_mask():
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), \
        rng.standard_normal((2, 5, 6))
    out = F.scaled_dot_product_attention(mg.tensor(q), mg.tensor(k), mg.tensor(v), scale=0.7)
    np.testing.assert_allclose(out.data, np_sdpa(q, k, v, scale=0.7), atol=1e-12)
    out = F.scaled_dot_product_attention(mg.tensor(q), mg.tensor(k), mg.tensor(v),
                                         is_causal=True)
    causal = np.tril(np.ones((3, 5), bool))
    np.testing.assert_allclose(out.data, np_sdpa(q, k, v, causal), atol=1e-12)
    assert out.shape == (2, 3, 6)


def test_sdpa_fully_masked_query_gives_zeros_without_nan_gradients():
    q, k, v = leaf((3, 2)), leaf((4, 2)), leaf((4, 2))
    mask = np.ones((3, 4), bool)
    mask[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    np.testing.assert_array_equal(out.data[1], 0.0)
    out.sum().backward()
    assert np.isfinite(q.grad.data).all() and np.isfinite(k.grad.data).all()
    np.testing.assert_array_equal(q.grad.data[1], 0.0)


@pytest.mark.parametrize("kind", ["plain", "causal", "bool", "float", "gqa"])
def test_sdpa_gradients_first_and_second_order(kind):
    heads_kv = 1 if kind == "gqa" else 2
    q, k, v = leaf((2, 3, 2)), leaf((heads_kv, 4, 2)), leaf((heads_kv, 4, 3))
    kw = {"causal": dict(is_causal=True), "gqa": dict(enable_gqa=True),
          "bool": dict(attn_mask=np.array([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 1]], bool))}
    inputs = [q, k, v]
    if kind == "float":
        m = leaf((3, 4))
        inputs.append(m)
        fn = lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m)  # noqa
    else:
        fn = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kw.get(kind, {}))  # noqa
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_sdpa_dropout_uses_the_generator():
    q, k, v = (mg.tensor(rng.standard_normal((4, 4))) for _ in range(3))
    mg.manual_seed(1)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    mg.manual_seed(1)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    c = F.scaled_dot_product_attention(q, k, v)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.allclose(a.data, c.data)
    np.testing.assert_array_equal(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).data, 0)


@pytest.mark.parametrize("args, kwargs, error, words", [
    (((2, 3), (2, 4), (2, 4)), {}, ValueError, "features"),
    (((2, 4), (3, 4), (2, 4)), {}, ValueError, "positions"),
    (((4,), (3, 4), (3, 4)), {}, ValueError, "at least 2"),
    (((2, 4), (3, 4), (3, 4)), dict(attn_mask=np.ones((3, 2), bool)), ValueError, "broadcast"),
    (((2, 4), (3, 4), (3, 4)), dict(attn_mask=np.ones((2, 3), bool), is_causal=True),
     ValueError, "is_causal"),
    (((2, 4), (3, 4), (3, 4)), dict(attn_mask=np.ones((2, 3), np.float32)), TypeError, "dtype"),
    (((3, 2, 4), (2, 3, 4), (2, 3, 4)), dict(enable_gqa=True), ValueError, "multiple"),
    (((2, 2, 4), (3, 3, 4), (3, 3, 4)), {}, ValueError, "broadcast"),
])
def test_sdpa_errors(args, kwargs, error, words):
    q, k, v = (mg.tensor(rng.standard_normal(s)) for s in args)
    with pytest.raises(error, match=words):
        F.scaled_dot_product_attention(q, k, v, **kwargs)


def test_sdpa_rejects_mixed_dtypes():
    with pytest.raises(TypeError, match="same dtype"):
        F.scaled_dot_product_attention(mg.zeros((2, 2)), mg.zeros((2, 2), dtype=mg.float64),
                                       mg.zeros((2, 2)))


@needs_torch
@pytest.mark.parametrize("kwargs", [{}, dict(is_causal=True), dict(scale=0.25),
                                    dict(mask="bool"), dict(mask="float"), dict(gqa=True)])
def test_sdpa_matches_torch_forward_and_backward(kwargs):
    import torch
    kwargs = dict(kwargs)
    hk = 1 if kwargs.pop("gqa", False) else 3
    q, k, v = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, hk, 6, 5)), \
        rng.standard_normal((2, hk, 6, 2))
    kind = kwargs.pop("mask", None)
    mask = None if kind is None else rng.random((4, 6)) > 0.4 if kind == "bool" \
        else rng.standard_normal((3, 4, 6))
    if kind == "bool":
        mask[0] = False                               # one query with no key at all
    ours = [mg.tensor(a, requires_grad=True) for a in (q, k, v)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    gqa = hk == 1
    a = F.scaled_dot_product_attention(*ours, attn_mask=mask, enable_gqa=gqa, **kwargs)
    b = torch.nn.functional.scaled_dot_product_attention(
        *theirs, attn_mask=None if mask is None else torch.tensor(mask), enable_gqa=gqa, **kwargs)
    np.testing.assert_allclose(a.data, b.detach().numpy(), atol=1e-12)
    g = rng.standard_normal(a.shape)
    a.backward(mg.tensor(g))
    b.backward(torch.tensor(g))
    for x, y in zip(ours, theirs):
        np.testing.assert_allclose(x.grad.data, y.grad.numpy(), atol=1e-10)


# ------------------------------------------------------------------------ MultiheadAttention
def test_mha_parameters_have_pytorch_names_and_shapes():
    mha = nn.MultiheadAttention(6, 3)
    assert {n: p.shape for n, p in mha.named_parameters()} == {
        "in_proj_weight": (18, 6), "in_proj_bias": (18,), "out_proj.weight": (6, 6),
        "out_proj.bias": (6,)}
    mha = nn.MultiheadAttention(6, 2, kdim=4, vdim=5, bias=False, add_bias_kv=True)
    assert {n: p.shape for n, p in mha.named_parameters()} == {
        "q_proj_weight": (6, 6), "k_proj_weight": (6, 4), "v_proj_weight": (6, 5),
        "bias_k": (1, 1, 6), "bias_v": (1, 1, 6), "out_proj.weight": (6, 6)}
    assert mha.head_dim == 3 and mha.in_proj_weight is None
    np.testing.assert_array_equal(nn.MultiheadAttention(4, 2).in_proj_bias.data, 0)


@needs_torch
@pytest.mark.parametrize("kwargs", [dict(), dict(batch_first=True), dict(kdim=3, vdim=5),
                                    dict(bias=False), dict(add_bias_kv=True, add_zero_attn=True)])
@pytest.mark.parametrize("call", [dict(), dict(key_padding_mask="bool"),
                                  dict(attn_mask="float", average_attn_weights=False),
                                  dict(attn_mask="bool3d", need_weights=False)])
def test_mha_matches_torch(kwargs, call):
    import torch
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(8, 2, dtype=torch.float64, **kwargs)
    ours = nn.MultiheadAttention(8, 2, dtype=mg.float64, **kwargs)
    state = theirs.state_dict()
    assert list(state) == list(ours.state_dict())
    ours.load_state_dict({n: mg.tensor(t.numpy()) for n, t in state.items()})
    L, S, N = 5, 4, 3
    xs = [rng.standard_normal((L, N, 8)), rng.standard_normal((S, N, kwargs.get("kdim", 8))),
          rng.standard_normal((S, N, kwargs.get("vdim", 8)))]
    if kwargs.get("batch_first"):
        xs = [x.transpose(1, 0, 2) for x in xs]
    call = dict(call)
    masks = {"bool": rng.random((N, S)) > 0.7, "float": rng.standard_normal((L, S)),
             "bool3d": rng.random((N * 2, L, S)) > 0.8}
    for name in ("key_padding_mask", "attn_mask"):
        if name in call:
            call[name] = masks[call[name]]
    a_in = [mg.tensor(x, requires_grad=True) for x in xs]
    b_in = [torch.tensor(x, requires_grad=True) for x in xs]
    a_out, a_w = ours(*a_in, **call)
    b_out, b_w = theirs(*b_in, **{n: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                  for n, v in call.items()})
    np.testing.assert_allclose(a_out.data, b_out.detach().numpy(), atol=1e-12)
    if b_w is None:
        assert a_w is None
    else:
        np.testing.assert_allclose(a_w.data, b_w.detach().numpy(), atol=1e-12)
    g = rng.standard_normal(a_out.shape)
    a_out.backward(mg.tensor(g))
    b_out.backward(torch.tensor(g))
    for x, y in zip(a_in, b_in):
        np.testing.assert_allclose(x.grad.data, y.grad.numpy(), atol=1e-10)
    grads = dict(theirs.named_parameters())
    for n, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, grads[n].grad.numpy(), atol=1e-10, err_msg=n)


def test_mha_unbatched_equals_a_batch_of_one():
    mha = nn.MultiheadAttention(4, 2, dtype=mg.float64)
    x = rng.standard_normal((3, 4))
    out, w = mha(mg.tensor(x), mg.tensor(x), mg.tensor(x), average_attn_weights=False)
    out1, w1 = mha(mg.tensor(x[:, None]), mg.tensor(x[:, None]), mg.tensor(x[:, None]),
                   average_attn_weights=False)
    assert out.shape == (3, 4) and w.shape == (2, 3, 3)
    np.testing.assert_allclose(out.data, out1.data[:, 0])
    np.testing.assert_allclose(w.data, w1.data[0])


def test_mha_gradients_first_and_second_order():
    mha = nn.MultiheadAttention(4, 2, dtype=mg.float64, batch_first=True)
    params = list(mha.parameters())
    mask = np.array([[False, False, True]])

    def fn(x, *ps):
        return mha(x, x, x, key_padding_mask=mask)[0]
    x = leaf((1, 3, 4))
    assert gradcheck(fn, [x] + params)
    assert gradgradcheck(lambda x: fn(x), [x])


def test_mha_dropout_only_in_training():
    mha = nn.MultiheadAttention(4, 2, dropout=0.5, dtype=mg.float64)
    x = mg.tensor(rng.standard_normal((3, 2, 4)))
    mha.eval()
    a, _ = mha(x, x, x)
    b, _ = mha(x, x, x)
    np.testing.assert_array_equal(a.data, b.data)
    mha.train()
    mg.manual_seed(0)
    c, w = mha(x, x, x, average_attn_weights=False)
    assert not np.allclose(a.data, c.data)
    assert (w.data == 0).any()                         # dropped weights are returned as 0
    assert not np.allclose(w.data.sum(-1), 1.0)       # and the others scaled by 2


@pytest.mark.parametrize("make, call, error, words", [
    (lambda: nn.MultiheadAttention(6, 4), None, ValueError, "divisible"),
    (lambda: nn.MultiheadAttention(4, 2), dict(shapes=[(3, 2, 5)] * 3), ValueError,
     "query with 4 features"),
    (lambda: nn.MultiheadAttention(4, 2), dict(shapes=[(3, 2, 4), (3, 4), (3, 4)]),
     ValueError, "all be 3-D"),
    (lambda: nn.MultiheadAttention(4, 2), dict(shapes=[(3, 2, 4), (5, 2, 4), (4, 2, 4)]),
     ValueError, "same length"),
    (lambda: nn.MultiheadAttention(4, 2), dict(key_padding_mask=np.zeros((3, 2), bool)),
     ValueError, "key_padding_mask must have shape"),
    (lambda: nn.MultiheadAttention(4, 2), dict(attn_mask=np.zeros((2, 3, 3), bool)),
     ValueError, "attn_mask must have shape"),
    (lambda: nn.MultiheadAttention(4, 2), dict(attn_mask=np.zeros((3, 3), np.float64)),
     TypeError, "dtype"),
    (lambda: nn.MultiheadAttention(4, 2), dict(is_causal=True), ValueError, "attn_mask"),
])
def test_mha_errors(make, call, error, words):
    with pytest.raises(error, match=words):
        mha = make()
        call = dict(call)
        shapes = call.pop("shapes", [(3, 2, 4)] * 3)
        mha(*(mg.zeros(s) for s in shapes), **call)
