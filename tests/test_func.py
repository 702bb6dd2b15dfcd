"""microgradnn.func (torch.func style) and microgradnn.autograd.functional
(torch.autograd.functional signatures): against finite differences and against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import func
from microgradnn.autograd import functional as AF

RNG = np.random.default_rng(0)
X = RNG.standard_normal(3)
Y = RNG.standard_normal(3)
W = RNG.standard_normal((2, 3))


def t(a, grad=False):
    return mg.tensor(np.array(a, dtype=np.float64), requires_grad=grad)


def numeric_jacobian(f, arrays, i, eps=1e-6):
    """d f(arrays) / d arrays[i] by central differences, shape out.shape + in.shape."""
    base = np.asarray(f(*arrays))
    x = arrays[i]
    jac = np.zeros(base.shape + x.shape)
    for idx in np.ndindex(x.shape):
        plus = [a.copy() for a in arrays]
        minus = [a.copy() for a in arrays]
        plus[i][idx] += eps
        minus[i][idx] -= eps
        jac[(...,) + idx] = (np.asarray(f(*plus)) - np.asarray(f(*minus))) / (2 * eps)
    return jac


# the same functions written for microgradnn (on Tensors) and for NumPy (finite differences)
def f_scalar(x, y):
    return (x.sin() * y).sum() + (x * x * y).sum()


def f_scalar_np(x, y):
    return np.sum(np.sin(x) * y) + np.sum(x * x * y)


def f_vector(x, w):
    return (w @ x).tanh() * x.sum()


def f_vector_np(x, w):
    return np.tanh(w @ x) * x.sum()


# ------------------------------------------------------------------ func.grad and friends


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1, 0), -1])
def test_grad_against_finite_differences(argnums):
    g = func.grad(f_scalar, argnums=argnums)(t(X), t(Y))
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    got = g if isinstance(argnums, tuple) else (g,)
    for a, gi in zip(nums, got):
        np.testing.assert_allclose(gi.data, numeric_jacobian(f_scalar_np, [X, Y], a % 2),
                                   rtol=1e-7, atol=1e-9)
        assert not gi.requires_grad


def test_grad_over_a_dict_of_parameters_and_has_aux():
    def loss(params, x):
        out = (params["w"] @ x + params["b"]).tanh()
        return (out * out).sum(), {"out": out}

    params = {"w": t(W), "b": t([0.1, -0.2])}
    g, aux = func.grad(loss, has_aux=True)(params, t(X))
    assert set(g) == {"w", "b"} and g["w"].shape == (2, 3) and aux["out"].shape == (2,)

    def loss_np(w, b):
        out = np.tanh(w @ X + b)
        return np.sum(out * out)
    np.testing.assert_allclose(g["w"].data, numeric_jacobian(loss_np, [W, np.array([0.1, -0.2])], 0),
                               rtol=1e-7, atol=1e-9)
    (gv, (value, aux2)) = func.grad_and_value(loss, has_aux=True)(params, t(X))
    np.testing.assert_allclose(value.data, loss_np(W, np.array([0.1, -0.2])))
    np.testing.assert_array_equal(gv["b"].data, g["b"].data)


def test_grad_composes_to_higher_derivatives():
    d3 = func.grad(func.grad(func.grad(lambda x: (x ** 4).sum())))
    np.testing.assert_allclose(d3(t(1.5)).data, 24 * 1.5)


def test_grad_leaves_the_inputs_alone():
    x = t(X, grad=True)
    func.grad(lambda v: (v * v).sum())(x)
    assert x.grad is None
    x2 = t(X)
    func.grad(lambda v: (v * v).sum())(x2)
    assert not x2.requires_grad


def test_grad_of_an_unused_argument_is_zero():
    g = func.grad(lambda a, b: (a * 2).sum(), argnums=(0, 1))(t(X), t(Y))
    np.testing.assert_array_equal(g[1].data, np.zeros(3))


def test_vjp_over_several_outputs():
    out, vjp_fn = func.vjp(lambda x, w: (w @ x, x * x), t(X), t(W))
    cot = (t([1.0, -1.0]), t([0.5, 0.0, 2.0]))
    gx, gw = vjp_fn(cot)
    np.testing.assert_allclose(gx.data, W.T @ cot[0].data + 2 * X * cot[1].data)
    np.testing.assert_allclose(gw.data, np.outer(cot[0].data, X))
    gx2, _ = vjp_fn(cot)  # callable again
    np.testing.assert_array_equal(gx.data, gx2.data)
    with pytest.raises(ValueError, match="vjp: cotangents of shapes"):
        vjp_fn((t([1.0]), t([1.0])))


@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_jacrev_against_finite_differences(argnums):
    jac = func.jacrev(f_vector, argnums=argnums)(t(X), t(W))
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    got = jac if isinstance(argnums, tuple) else (jac,)
    for a, j in zip(nums, got):
        np.testing.assert_allclose(j.data, numeric_jacobian(f_vector_np, [X, W], a), rtol=1e-6,
                                   atol=1e-8)


def test_jacrev_of_several_outputs_and_hessian():
    jac = func.jacrev(lambda x: {"a": x * x, "b": x.sum()})(t(X))
    assert jac["a"].shape == (3, 3) and jac["b"].shape == (3,)
    np.testing.assert_allclose(jac["a"].data, np.diag(2 * X))
    h = func.hessian(f_scalar)(t(X), t(Y))
    np.testing.assert_allclose(h.data, np.diag(-np.sin(X) * Y + 2 * Y), atol=1e-12)
    hxy = func.hessian(f_scalar, argnums=(0, 1))(t(X), t(Y))
    np.testing.assert_allclose(hxy[0][1].data, np.diag(np.cos(X) + 2 * X), atol=1e-12)


@pytest.mark.parametrize("call, error, match", [
    (lambda: func.grad(lambda x: x * 2)(t(X)), ValueError, "grad: the function must return a Tensor with one element"),
    (lambda: func.grad(lambda x: x.sum(), argnums=2)(t(X)), ValueError, "argnums 2 is out of range"),
    (lambda: func.grad(lambda x: x.sum(), argnums=[0])(t(X)), TypeError, "argnums must be an int"),
    (lambda: func.grad(lambda x: x.sum())(mg.tensor([1, 2])), TypeError, "floating-point"),
    (lambda: func.grad(lambda x: x.sum())([1.0]), TypeError, "expected a Tensor"),
    (lambda: func.grad(lambda x: x.sum(), has_aux=True)(t(X)), TypeError, "has_aux=True"),
])
def test_func_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_func_matches_torch_func():
    torch = pytest.importorskip("torch")
    tf = torch.func

    def tf_scalar(x, y):
        return (x.sin() * y).sum() + (x * x * y).sum()

    def tf_vector(x, w):
        return (w @ x).tanh() * x.sum()

    tx, ty, tw = (torch.tensor(a) for a in (X, Y, W))
    for argnums in (0, (0, 1)):
        ours = func.grad(f_scalar, argnums)(t(X), t(Y))
        theirs = tf.grad(tf_scalar, argnums)(tx, ty)
        for a, b in zip(ours if isinstance(ours, tuple) else (ours,),
                        theirs if isinstance(theirs, tuple) else (theirs,)):
            np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-13)
        ours = func.jacrev(f_vector, argnums)(t(X), t(W))
        theirs = tf.jacrev(tf_vector, argnums)(tx, tw)
        for a, b in zip(ours if isinstance(ours, tuple) else (ours,),
                        theirs if isinstance(theirs, tuple) else (theirs,)):
            assert a.shape == tuple(b.shape)
            np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(func.hessian(f_scalar)(t(X), t(Y)).data,
                               tf.hessian(tf_scalar)(tx, ty).numpy(), rtol=1e-12, atol=1e-14)
    _, ours_fn = func.vjp(f_vector, t(X), t(W))
    _, theirs_fn = tf.vjp(tf_vector, tx, tw)
    for a, b in zip(ours_fn(t([1.0, 2.0])), theirs_fn(torch.tensor([1.0, 2.0], dtype=torch.float64))):
        np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-13)


# ------------------------------------------------------------------ autograd.functional


def test_functional_jacobian_layouts_and_values():
    j = AF.jacobian(f_vector, (t(X), t(W)))
    assert isinstance(j, tuple) and j[0].shape == (2, 3) and j[1].shape == (2, 2, 3)
    np.testing.assert_allclose(j[0].data, numeric_jacobian(f_vector_np, [X, W], 0), rtol=1e-6)
    single = AF.jacobian(lambda x: x.exp(), t(X))
    np.testing.assert_allclose(single.data, np.diag(np.exp(X)))
    both = AF.jacobian(lambda x, y: (x * y, x.sum()), (t(X), t(Y)))
    assert len(both) == 2 and len(both[0]) == 2 and both[1][0].shape == (3,)
    assert not single.requires_grad


def test_functional_hessian_vjp_jvp_hvp_vhp():
    h = AF.hessian(f_scalar, (t(X), t(Y)))
    np.testing.assert_allclose(h[0][0].data, np.diag(-np.sin(X) * Y + 2 * Y), atol=1e-12)
    np.testing.assert_allclose(h[0][1].data, np.diag(np.cos(X) + 2 * X), atol=1e-12)
    v = t([0.3, -1.0, 2.0])
    out, vj = AF.vjp(lambda x: f_vector(x, t(W)), t(X), t([1.0, -2.0]))
    np.testing.assert_allclose(vj.data, np.array([1.0, -2.0]) @ numeric_jacobian(f_vector_np, [X, W], 0),
                               rtol=1e-6)
    out, jv = AF.jvp(lambda x: f_vector(x, t(W)), t(X), v)
    np.testing.assert_allclose(jv.data, numeric_jacobian(f_vector_np, [X, W], 0) @ v.data, rtol=1e-6)
    hess = np.diag(-np.sin(X) * Y + 2 * Y)
    for fn in (AF.hvp, AF.vhp):
        value, hv = fn(lambda x: f_scalar(x, t(Y)), t(X), v)
        np.testing.assert_allclose(hv.data, hess @ v.data, atol=1e-12)
        np.testing.assert_allclose(value.data, f_scalar_np(X, Y))


def test_functional_create_graph_gives_differentiable_results():
    x = t(X, grad=True)
    (_, g) = AF.vjp(lambda v: (v ** 3).sum(), x, create_graph=True)
    assert g.requires_grad
    (gg,) = mg.autograd.grad(g.sum(), [x])
    np.testing.assert_allclose(gg.data, 6 * X)


def test_functional_strict_and_v_rules():
    with pytest.raises(RuntimeError, match="strict mode"):
        AF.jacobian(lambda a, b: a * 2, (t(X), t(Y)), strict=True)
    zeros = AF.jacobian(lambda a, b: a * 2, (t(X), t(Y)))
    np.testing.assert_array_equal(zeros[1].data, np.zeros((3, 3)))
    with pytest.raises(RuntimeError, match="vjp: v can be omitted only"):
        AF.vjp(lambda x: x * 2, t(X))
    with pytest.raises(ValueError, match="vjp: v has shapes"):
        AF.vjp(lambda x: x * 2, t(X), t([1.0]))
    with pytest.raises(RuntimeError, match="hessian: the function must return a single-element"):
        AF.hessian(lambda x: x * 2, t(X))
    with pytest.raises(ValueError, match="forward-mode' requires vectorize=True"):
        AF.jacobian(lambda x: x, t(X), strategy="forward-mode")
    np.testing.assert_array_equal(
        AF.jacobian(lambda x: x * 2, t(X), vectorize=True, strategy="forward-mode").data,
        2 * np.eye(3))
    with pytest.raises(TypeError, match="jacobian: inputs must be a Tensor or a tuple"):
        AF.jacobian(lambda x: x, [1.0])


def test_functional_matches_torch():
    torch = pytest.importorskip("torch")
    F = torch.autograd.functional

    def tf_scalar(x, y):
        return (x.sin() * y).sum() + (x * x * y).sum()

    def tf_vector(x, w):
        return (w @ x).tanh() * x.sum()

    tx, ty, tw = (torch.tensor(a) for a in (X, Y, W))
    tv = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)
    pairs = [
        (AF.jacobian(f_vector, (t(X), t(W))), F.jacobian(tf_vector, (tx, tw))),
        (AF.hessian(f_scalar, (t(X), t(Y))), F.hessian(tf_scalar, (tx, ty))),
        (AF.vjp(f_vector, (t(X), t(W)), t([1.0, 2.0])),
         F.vjp(tf_vector, (tx, tw), torch.tensor([1.0, 2.0], dtype=torch.float64))),
        (AF.jvp(lambda x: f_vector(x, t(W)), t(X), mg.tensor(tv.numpy())),
         F.jvp(lambda x: tf_vector(x, tw), tx, tv)),
        (AF.hvp(lambda x: f_scalar(x, t(Y)), t(X), mg.tensor(tv.numpy())),
         F.hvp(lambda x: tf_scalar(x, ty), tx, tv)),
        (AF.vhp(lambda x: f_scalar(x, t(Y)), t(X), mg.tensor(tv.numpy())),
         F.vhp(lambda x: tf_scalar(x, ty), tx, tv)),
    ]

    def compare(a, b):
        if isinstance(b, (tuple, list)):
            assert isinstance(a, tuple) and len(a) == len(b)
            for x, y in zip(a, b):
                compare(x, y)
        else:
            assert a.shape == tuple(b.shape)
            np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-12, atol=1e-14)
    for ours, theirs in pairs:
        compare(ours, theirs)
