"""Optimizers: each update rule against its closed form in NumPy, param groups, state dicts,
errors, L-BFGS on Rosenbrock; trajectories against PyTorch when it is installed."""
import copy
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from hypothesis import given, strategies as hst

import microgradnn as mg
from microgradnn import optim
from microgradnn import nn
from microgradnn.nn import Parameter
from microgradnn.testing import strategies as st

try:
    from microgradnn import serialization
except ImportError:  # pragma: no cover
    serialization = None


def _save_load(obj, path):
    save = getattr(mg, "save", None) or serialization.save
    load = getattr(mg, "load", None) or serialization.load
    save(obj, path)
    return load(path)


# ---------------------------------------------------------------------------- closed forms
# Each reference follows the textbook form of the rule, one step at a time, in float64.


def ref_sgd(p, grads, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False,
            maximize=False):
    b, out = None, []
    for g in grads:
        g = -g if maximize else g
        g = g + weight_decay * p
        if momentum != 0:
            b = g.copy() if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
        out.append(p)
    return out


def ref_adam(p, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
             maximize=False, decoupled_weight_decay=False):
    b1, b2 = betas
    m = v = vmax = np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        m_hat = m / (1 - b1 ** t)
        v_hat = (vmax if amsgrad else v) / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


def ref_adamw(p, grads, weight_decay=1e-2, **kw):
    return ref_adam(p, grads, weight_decay=weight_decay, decoupled_weight_decay=True, **kw)


def ref_rmsprop(p, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                centered=False, maximize=False):
    v = a = b = np.zeros_like(p)
    out = []
    for g in grads:
        g = -g if maximize else g
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        a = alpha * a + (1 - alpha) * g
        s = np.sqrt(v - a * a if centered else v) + eps
        if momentum > 0:
            b = momentum * b + g / s
            p = p - lr * b
        else:
            p = p - lr * g / s
        out.append(p)
    return out


def ref_adagrad(p, grads, lr, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                eps=1e-10, maximize=False):
    s = np.full_like(p, initial_accumulator_value)
    out = []
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        g = g + weight_decay * p
        s = s + g * g
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
        out.append(p)
    return out


@dataclass
class OptSpec:
    name: str
    cls: type
    hparams: hst.SearchStrategy  # of keyword dicts
    reference: Callable


def _sgd_hparams():
    @hst.composite
    def draw(d):
        momentum = d(hst.sampled_from([0.0, 0.5, 0.9]))
        nesterov = momentum > 0 and d(hst.booleans())
        return dict(lr=d(hst.floats(1e-3, 0.5)), momentum=momentum,
                    dampening=0.0 if nesterov else d(hst.sampled_from([0.0, 0.3])),
                    weight_decay=d(hst.sampled_from([0.0, 0.1])), nesterov=nesterov,
                    maximize=d(hst.booleans()))
    return draw()


def _adam_hparams(decoupled=None):
    return hst.fixed_dictionaries(dict(
        lr=hst.floats(1e-3, 0.5), betas=hst.tuples(hst.floats(0.0, 0.95), hst.floats(0.5, 0.999)),
        eps=hst.sampled_from([1e-8, 1e-3]), weight_decay=hst.sampled_from([0.0, 0.1]),
        amsgrad=hst.booleans(), maximize=hst.booleans(),
        **({} if decoupled is None else {"decoupled_weight_decay": hst.booleans()})))


SPECS = [
    OptSpec("SGD", optim.SGD, _sgd_hparams(), ref_sgd),
    OptSpec("Adam", optim.Adam, _adam_hparams(decoupled=True), ref_adam),
    OptSpec("AdamW", optim.AdamW, _adam_hparams(), ref_adamw),
    OptSpec("RMSprop", optim.RMSprop, hst.fixed_dictionaries(dict(
        lr=hst.floats(1e-3, 0.1), alpha=hst.floats(0.5, 0.999),
        eps=hst.sampled_from([1e-8, 1e-2]), weight_decay=hst.sampled_from([0.0, 0.1]),
        momentum=hst.sampled_from([0.0, 0.5]), centered=hst.booleans(),
        maximize=hst.booleans())), ref_rmsprop),
    OptSpec("Adagrad", optim.Adagrad, hst.fixed_dictionaries(dict(
        lr=hst.floats(1e-3, 0.5), lr_decay=hst.sampled_from([0.0, 0.1]),
        weight_decay=hst.sampled_from([0.0, 0.1]),
        initial_accumulator_value=hst.sampled_from([0.0, 0.5]),
        eps=hst.sampled_from([1e-10, 1e-3]), maximize=hst.booleans())), ref_adagrad),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@given(data=hst.data())
def test_update_matches_closed_form(spec, data):
    shape = data.draw(st.shapes(max_dims=3, max_side=3), label="shape")
    hp = data.draw(spec.hparams, label="hparams")
    seed = data.draw(hst.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    p0 = rng.normal(size=shape)
    grads = [rng.normal(size=shape) for _ in range(5)]
    expected = spec.reference(p0, grads, **hp)

    p = Parameter(mg.tensor(p0.copy()))
    opt = spec.cls([p], **hp)
    for g, want in zip(grads, expected):
        p.grad = mg.tensor(g.copy())
        opt.step()
        np.testing.assert_allclose(p.data, want, rtol=1e-9, atol=1e-12)
    assert p.data.dtype == np.float64
    # the gradients are read, never changed
    np.testing.assert_array_equal(p.grad.data, grads[-1])


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_float32_parameters_stay_float32(spec):
    rng = np.random.default_rng(1)
    p0 = rng.normal(size=(3, 2)).astype(np.float32)
    grads = [rng.normal(size=(3, 2)).astype(np.float32) for _ in range(4)]
    p = Parameter(mg.tensor(p0))
    opt = spec.cls([p], lr=0.05)
    for g in grads:
        p.grad = mg.tensor(g)
        opt.step()
    assert p.data.dtype == np.float32
    for value in opt.state[p].values():
        if isinstance(value, mg.Tensor) and value.ndim:
            assert value.dtype == np.float32
    want = spec.reference(p0.astype(np.float64), [g.astype(np.float64) for g in grads],
                          lr=0.05)
    np.testing.assert_allclose(p.data, want[-1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_parameters_without_grad_are_skipped(spec):
    a, b = Parameter(mg.ones(2)), Parameter(mg.ones(3))
    opt = spec.cls([a, b], lr=0.1)
    a.grad = mg.tensor([1.0, -1.0])
    opt.step()
    assert not np.allclose(a.data, 1.0)
    np.testing.assert_array_equal(b.data, np.ones(3))
    if spec.name != "Adagrad":  # Adagrad creates its state up front, like PyTorch
        assert b not in opt.state


def test_step_returns_closure_loss_and_runs_it_with_grad_enabled():
    w = Parameter(mg.tensor([1.0, 2.0]))
    opt = optim.SGD([w], lr=0.1)

    def closure():
        assert mg.is_grad_enabled()
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with mg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == pytest.approx(5.0)
    np.testing.assert_allclose(w.data, [0.8, 1.6])
    assert opt.step() is None


def test_lecture_example_one_neuron_gradient_descent():
    # y = w x + b with w = 0.4, b = 0.1, x = 0.15, target 0.3: the loss drops step by step
    w, b = Parameter(mg.tensor(0.4)), Parameter(mg.tensor(0.1))
    opt = optim.SGD([w, b], lr=0.1)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = (0.3 - (w * 0.15 + b)) ** 2
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx((0.3 - 0.16) ** 2, rel=1e-6)
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))
    assert losses[-1] < 1e-4


# ---------------------------------------------------------------------------- groups, zero_grad


def test_param_groups_use_their_own_options():
    rng = np.random.default_rng(2)
    a0, b0 = rng.normal(size=3), rng.normal(size=(2, 2))
    ga = [rng.normal(size=3) for _ in range(3)]
    gb = [rng.normal(size=(2, 2)) for _ in range(3)]
    a, b = Parameter(mg.tensor(a0)), Parameter(mg.tensor(b0))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "nesterov": True}],
                    lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[0]["nesterov"] is False
    for x, y in zip(ga, gb):
        a.grad, b.grad = mg.tensor(x), mg.tensor(y)
        opt.step()
    np.testing.assert_allclose(a.data, ref_sgd(a0, ga, lr=0.1, momentum=0.9)[-1])
    np.testing.assert_allclose(b.data, ref_sgd(b0, gb, lr=0.5, momentum=0.9,
                                               nesterov=True)[-1])


def test_add_param_group_and_changing_lr_between_steps():
    a, b = Parameter(mg.tensor([1.0])), Parameter(mg.tensor([1.0]))
    opt = optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": b, "lr": 0.2})
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    a.grad, b.grad = mg.tensor([1.0]), mg.tensor([1.0])
    opt.step()
    np.testing.assert_allclose([a.item(), b.item()], [0.9, 0.8], rtol=1e-6)
    opt.param_groups[0]["lr"] = 0.0
    opt.step()
    assert a.item() == pytest.approx(0.9)


def test_named_parameters_record_param_names():
    model = mg.nn.Module()
    model.weight = Parameter(mg.ones((2, 2)))
    model.bias = Parameter(mg.zeros(2))
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    assert all(p is q for p, q in zip(opt.param_groups[0]["params"], [model.weight, model.bias]))
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]


def test_zero_grad():
    w = Parameter(mg.ones(3))
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    grad_array = w.grad.data
    opt.zero_grad(set_to_none=False)
    assert w.grad.data is grad_array and not grad_array.any()
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [2.0, 2.0, 2.0])
    opt.zero_grad()
    assert w.grad is None
    opt.zero_grad()  # no gradient: nothing to do


def test_repr_lists_groups_and_options():
    text = repr(optim.SGD([Parameter(mg.ones(1))], lr=0.1, momentum=0.9))
    assert text.startswith("SGD (\nParameter Group 0\n")
    assert "    lr: 0.1\n" in text and "    momentum: 0.9\n" in text and "params" not in text


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize("make, message", [
    (lambda p: optim.SGD(p, lr=-0.1), "SGD: invalid learning rate -0.1"),
    (lambda p: optim.SGD(p, momentum=-1), "SGD: invalid momentum value -1"),
    (lambda p: optim.SGD(p, weight_decay=-1), "SGD: invalid weight_decay value -1"),
    (lambda p: optim.SGD(p, nesterov=True), "nesterov momentum requires momentum > 0"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "dampening == 0"),
    (lambda p: optim.Adam(p, lr=-1), "Adam: invalid learning rate -1"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "Adam: invalid betas[0] 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "Adam: invalid betas[1] -0.1"),
    (lambda p: optim.AdamW(p, eps=-1e-8), "AdamW: invalid epsilon value -1e-08"),
    (lambda p: optim.RMSprop(p, alpha=-0.5), "RMSprop: invalid alpha value -0.5"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "Adagrad: invalid lr_decay value -1"),
    (lambda p: optim.LBFGS(p, line_search_fn="armijo"), "LBFGS: invalid line_search_fn"),
    (lambda p: optim.LBFGS(p, max_iter=0), "LBFGS: invalid max_iter 0"),
    (lambda p: optim.SGD([{"params": p, "lr": -2.0}]), "SGD: invalid learning rate -2.0"),
])
def test_invalid_hyperparameters(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make([Parameter(mg.ones(2))])


def test_invalid_params():
    w = Parameter(mg.ones(2))
    with pytest.raises(ValueError, match=r"SGD: parameter 1 of group 0 \(shape \(2,\)\) is the "
                                         r"same tensor as parameter 0"):
        optim.SGD([w, w])
    with pytest.raises(ValueError, match=r"already in parameter group 0"):
        optim.SGD([{"params": [w]}, {"params": [w]}])
    with pytest.raises(TypeError, match=r"SGD: can only optimize Tensors, but parameter 1 of "
                                        r"group 0 is ndarray"):
        optim.SGD([w, np.ones(2)])
    with pytest.raises(ValueError, match=r"can't optimize a non-leaf Tensor \(parameter 0"):
        optim.Adam([w * 2])
    with pytest.raises(TypeError, match=r"wrap it in a list"):
        optim.SGD(w)
    with pytest.raises(TypeError, match=r"not a set"):
        optim.SGD({w})
    with pytest.raises(ValueError, match=r"empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match=r"floating-point"):
        optim.SGD([mg.tensor([1, 2])])
    with pytest.raises(ValueError, match=r"already in parameter group 0"):
        opt = optim.SGD([w])
        opt.add_param_group({"params": [w]})


def test_plain_leaf_tensors_are_accepted():
    # like PyTorch: any leaf tensor can be optimized, not only Parameters
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.5)
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_array_equal(w.data, [0.0, 0.0])


# ---------------------------------------------------------------------------- state dicts


def _quadratic_grads(p, rng_seed=0):
    """A deterministic gradient field: the gradient of a fixed quadratic at p."""
    rng = np.random.default_rng(rng_seed)
    a = rng.normal(size=(p.size, p.size))
    return (a @ a.T / p.size + np.eye(p.size)) @ p.reshape(-1) - 1.0


def _run(opt, params, steps):
    for _ in range(steps):
        for i, p in enumerate(params):
            p.grad = mg.tensor(_quadratic_grads(p.data, i).reshape(p.shape))
        opt.step()


def _two_params():
    rng = np.random.default_rng(5)
    return [Parameter(mg.tensor(rng.normal(size=(2, 3)))), Parameter(mg.tensor(rng.normal(size=4)))]


CONFIGS = [
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (optim.Adam, dict(lr=0.05, amsgrad=True)),
    (optim.AdamW, dict(lr=0.05)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01)),
]


def test_state_dict_layout_is_pytorchs():
    a, b = _two_params()
    c = Parameter(mg.zeros(1))
    opt = optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.01)
    a.grad, b.grad = mg.ones((2, 3), dtype=a.dtype), mg.ones(4, dtype=b.dtype)
    opt.step()
    sd = opt.state_dict()
    assert list(sd) == ["state", "param_groups"]
    assert list(sd["state"]) == [0, 1]  # c has no gradient yet, so no state
    assert list(sd["state"][0]) == ["step", "exp_avg", "exp_avg_sq"]
    step = sd["state"][0]["step"]
    assert isinstance(step, mg.Tensor) and step.shape == () and step.dtype == np.float32
    assert step.item() == 1.0
    assert isinstance(sd["state"][1]["exp_avg"], mg.Tensor)
    assert sd["state"][1]["exp_avg"].shape == (4,)
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1] == {"lr": 0.5, "betas": (0.9, 0.999), "eps": 1e-8,
                                     "weight_decay": 0, "amsgrad": False, "maximize": False,
                                     "decoupled_weight_decay": False, "params": [2]}
    # no momentum: SGD keeps no state at all
    sgd = optim.SGD([a], lr=0.1)
    sgd.step()
    assert sgd.state_dict()["state"] == {}


@pytest.mark.parametrize("cls, kw", CONFIGS, ids=lambda x: getattr(x, "__name__", ""))
@pytest.mark.parametrize("through_file", [False, True], ids=["deepcopy", "mg.save"])
def test_state_dict_round_trip_continues_the_same_trajectory(cls, kw, through_file, tmp_path):
    if through_file and serialization is None:
        pytest.skip("microgradnn.serialization not available")
    ref = _two_params()
    ref_opt = cls(ref, **kw)
    _run(ref_opt, ref, 7)

    first = _two_params()
    opt = cls(first, **kw)
    _run(opt, first, 3)
    if through_file:
        saved = _save_load({"model": [p.data for p in first], "optim": opt.state_dict()},
                           tmp_path / "ckpt.mgnn")
    else:
        saved = copy.deepcopy({"model": [p.data for p in first], "optim": opt.state_dict()})
    _run(opt, first, 2)  # training on must not disturb the checkpoint

    resumed = [Parameter(mg.tensor(x)) for x in saved["model"]]
    opt2 = cls(resumed, lr=123.0)  # hyperparameters come from the checkpoint
    opt2.load_state_dict(saved["optim"])
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    _run(opt2, resumed, 4)
    for p, q in zip(resumed, ref):
        np.testing.assert_array_equal(p.data, q.data)


def test_load_state_dict_copies_and_casts():
    w64 = Parameter(mg.tensor(np.ones(3)))
    opt = optim.Adam([w64], lr=0.1)
    w64.grad = mg.tensor(np.ones(3))
    opt.step()
    sd = opt.state_dict()
    w32 = Parameter(mg.ones(3))
    opt32 = optim.Adam([w32], lr=0.1)
    opt32.load_state_dict(sd)
    state = opt32.state[w32]
    assert state["exp_avg"].dtype == np.float32 and state["step"].dtype == np.float32
    state["exp_avg"].data[:] = 7
    assert not (opt.state[w64]["exp_avg"].data == 7).any()
    # plain numbers and arrays are accepted too (e.g. hand-written or from NumPy)
    opt32.load_state_dict({"state": {0: {"step": 4, "exp_avg": np.zeros(3),
                                         "exp_avg_sq": np.ones(3)}},
                           "param_groups": sd["param_groups"]})
    assert isinstance(opt32.state[w32]["exp_avg"], mg.Tensor)
    assert opt32.state[w32]["step"].item() == 4.0


def test_load_state_dict_errors():
    a, b = _two_params()
    opt = optim.Adam([a, b], lr=0.1)
    a.grad, b.grad = mg.ones((2, 3), dtype=a.dtype), mg.ones(4, dtype=b.dtype)
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    with pytest.raises(ValueError, match=r"checkpoint has 1 parameter groups, this optimizer "
                                         r"has 2"):
        optim.Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"group 0 has 2 parameters in the checkpoint, 1 in "
                                         r"this optimizer"):
        optim.Adam([a]).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"state\[1\]\['exp_avg'\] has shape \(4,\), its "
                                         r"parameter has shape \(2, 3\)"):
        optim.Adam([b, a]).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"expected a dict with 'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})
    bad = copy.deepcopy(sd)
    bad["state"]["0"] = bad["state"].pop(0)
    with pytest.raises(ValueError, match=r"state key '0' is not a parameter index"):
        opt.load_state_dict(bad)
    bad = copy.deepcopy(sd)
    bad["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match=r"Adam: invalid learning rate -1.0"):
        opt.load_state_dict(bad)
    # a failed load leaves the optimizer as it was
    assert opt.state[a]["step"].item() == 1.0 and opt.param_groups[0]["lr"] == 0.1


# ---------------------------------------------------------------------------- L-BFGS


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def rosenbrock_np(x):
    f = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
    g = np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)])
    return f, g


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_minimises_rosenbrock(line_search_fn):
    x = Parameter(mg.tensor([-1.5, 2.0], dtype=mg.float64))
    opt = optim.LBFGS([x], line_search_fn=line_search_fn)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    losses = [opt.step(closure).item() for _ in range(15)]
    assert losses[0] == pytest.approx(rosenbrock_np([-1.5, 2.0])[0])
    np.testing.assert_allclose(x.data, [1.0, 1.0], atol=1e-4)
    state = opt.state[x]
    assert state["n_iter"] <= 15 * 20 and state["func_evals"] >= state["n_iter"]


def test_lbfgs_trains_the_lecture_xor_network():
    rng = np.random.default_rng(0)
    X = mg.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=mg.float64)
    y = mg.tensor([[0.0], [1.0], [1.0], [0.0]], dtype=mg.float64)
    # the lecture's 2-4-1 network: tanh hidden layer, sigmoid output, MSE, weights 0.5 N(0, 1)
    params = [Parameter(mg.tensor(0.5 * rng.normal(size=(2, 4)))),
              Parameter(mg.zeros(4, dtype=mg.float64)),
              Parameter(mg.tensor(0.5 * rng.normal(size=(4, 1)))),
              Parameter(mg.zeros(1, dtype=mg.float64))]
    w1, b1, w2, b2 = params
    opt = optim.LBFGS(params, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        pred = mg.sigmoid(mg.tanh(X @ w1 + b1) @ w2 + b2)
        loss = ((pred - y) ** 2).mean()
        loss.backward()
        return loss

    for _ in range(10):
        opt.step(closure)
    pred = mg.sigmoid(mg.tanh(X @ w1 + b1) @ w2 + b2)
    assert closure().item() < 1e-3
    np.testing.assert_array_equal(pred.data.round().ravel(), [0, 1, 1, 0])


def test_lbfgs_stops_at_once_at_a_minimum_and_needs_a_closure():
    x = Parameter(mg.tensor([1.0, 1.0], dtype=mg.float64))
    opt = optim.LBFGS([x])

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    assert opt.step(closure).item() == 0.0
    assert opt.state[x] == {"func_evals": 1, "n_iter": 0}
    with pytest.raises(ValueError, match="LBFGS.step: needs a closure"):
        opt.step(None)
    with pytest.raises(ValueError, match="LBFGS: does not support parameter groups"):
        optim.LBFGS([{"params": [x]}, {"params": [Parameter(mg.ones(1))]}])


def test_lbfgs_history_is_bounded_and_state_round_trips(tmp_path):
    def make():
        p = [Parameter(mg.tensor([-1.2], dtype=mg.float64)),
             Parameter(mg.tensor([[1.0]], dtype=mg.float64))]
        return p, optim.LBFGS(p, max_iter=4, history_size=3, line_search_fn="strong_wolfe")

    def closure_for(params, opt):
        def closure():
            opt.zero_grad()
            loss = rosenbrock([params[0][0], params[1][0, 0]])
            loss.backward()
            return loss
        return closure

    ref, ref_opt = make()
    for _ in range(6):
        ref_opt.step(closure_for(ref, ref_opt))
    assert len(ref_opt.state[ref[0]]["old_dirs"]) == 3

    params, opt = make()
    for _ in range(2):
        opt.step(closure_for(params, opt))
    sd = opt.state_dict()
    assert list(sd["state"]) == [0] and sd["state"][0]["d"].shape == (2,)
    if serialization is not None:
        sd = _save_load(sd, tmp_path / "lbfgs.mgnn")
    else:
        sd = copy.deepcopy(sd)
    resumed = [Parameter(mg.tensor(p.data.copy())) for p in params]
    opt2 = optim.LBFGS(resumed)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["history_size"] == 3
    for _ in range(4):
        opt2.step(closure_for(resumed, opt2))
    for p, q in zip(resumed, ref):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12)

    wrong = copy.deepcopy(opt.state_dict())
    wrong["state"][0]["d"] = mg.zeros(3)
    with pytest.raises(ValueError, match=r"\['d'\] holds a vector of shape \(3,\), expected "
                                         r"\(2,\)"):
        opt2.load_state_dict(wrong)


# ---------------------------------------------------------------------------- vs PyTorch


def _torch_model_pair(torch, dtype=np.float64):
    rng = np.random.default_rng(3)
    arrays = [rng.normal(size=(3, 4)) * 0.5, rng.normal(size=4) * 0.1,
              rng.normal(size=(4, 2)) * 0.5, rng.normal(size=2) * 0.1]
    X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    ours = [Parameter(mg.tensor(a.astype(dtype))) for a in arrays]
    theirs = [torch.nn.Parameter(torch.tensor(a.astype(dtype))) for a in arrays]

    def loss_ours():
        w1, b1, w2, b2 = ours
        return (((mg.tanh(mg.tensor(X.astype(dtype)) @ w1 + b1) @ w2 + b2)
                 - mg.tensor(Y.astype(dtype))) ** 2).mean()

    def loss_theirs():
        w1, b1, w2, b2 = theirs
        x, y = torch.tensor(X.astype(dtype)), torch.tensor(Y.astype(dtype))
        return ((torch.tanh(x @ w1 + b1) @ w2 + b2 - y) ** 2).mean()

    return ours, theirs, loss_ours, loss_theirs


TORCH_CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.05, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01)),
]


@pytest.mark.parametrize("name, kw", TORCH_CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in
                                                         enumerate(TORCH_CONFIGS)])
def test_trajectory_matches_pytorch(name, kw):
    torch = pytest.importorskip("torch")
    ours, theirs, loss_ours, loss_theirs = _torch_model_pair(torch)
    opt, topt = getattr(optim, name)(ours, **kw), getattr(torch.optim, name)(theirs, **kw)
    for _ in range(20):
        opt.zero_grad()
        loss_ours().backward()
        opt.step()
        topt.zero_grad()
        loss_theirs().backward()
        topt.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-9, atol=1e-12)
    # same state keys, shapes and values
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for i, s in sd["state"].items():
        assert list(s) == list(tsd["state"][i])
        for key, value in s.items():
            np.testing.assert_allclose(value.data, tsd["state"][i][key].numpy(), rtol=1e-8,
                                       atol=1e-12)


@pytest.mark.parametrize("name, kw", [("Adam", dict(lr=0.05, amsgrad=True)),
                                      ("SGD", dict(lr=0.1, momentum=0.9)),
                                      ("Adadelta", dict(lr=0.5)), ("NAdam", dict(lr=0.05))])
def test_pytorch_state_dict_loads_and_continues(name, kw):
    torch = pytest.importorskip("torch")
    ours, theirs, loss_ours, loss_theirs = _torch_model_pair(torch)
    topt = getattr(torch.optim, name)(theirs, **kw)
    for _ in range(5):
        topt.zero_grad()
        loss_theirs().backward()
        topt.step()
    tsd = topt.state_dict()
    converted = {"state": {i: {k: mg.tensor(v.numpy().copy()) for k, v in s.items()}
                           for i, s in tsd["state"].items()},
                 "param_groups": tsd["param_groups"]}
    for p, q in zip(ours, theirs):
        p.data[...] = q.detach().numpy()
    opt = getattr(optim, name)(ours, lr=1.0)
    opt.load_state_dict(converted)
    topt.load_state_dict(tsd)  # PyTorch casts its own state the same way on loading
    for _ in range(5):
        opt.zero_grad()
        loss_ours().backward()
        opt.step()
        topt.zero_grad()
        loss_theirs().backward()
        topt.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(line_search_fn="strong_wolfe"),
                                dict(line_search_fn="strong_wolfe", history_size=3, max_iter=5),
                                dict(lr=0.5, max_iter=7),
                                dict(max_iter=3, history_size=2)])
def test_lbfgs_iterates_match_pytorch(kw):
    # the gradient comes from NumPy for both, so only the optimizers are compared
    torch = pytest.importorskip("torch")
    x = Parameter(mg.tensor([-1.5, 2.0], dtype=mg.float64))
    xt = torch.nn.Parameter(torch.tensor([-1.5, 2.0], dtype=torch.float64))
    opt, topt = optim.LBFGS([x], **kw), torch.optim.LBFGS([xt], **kw)

    def closure():
        f, g = rosenbrock_np(x.data)
        x.grad = mg.tensor(g)
        return mg.tensor(f)

    def tclosure():
        f, g = rosenbrock_np(xt.detach().numpy())
        xt.grad = torch.tensor(g)
        return torch.tensor(f)

    # (rounding differs in the last bit between NumPy's and PyTorch's dot products, and
    # Rosenbrock amplifies it a little from step to step)
    for _ in range(8):
        assert opt.step(closure).item() == pytest.approx(topt.step(tclosure).item(), rel=1e-6)
        np.testing.assert_allclose(x.data, xt.detach().numpy(), rtol=1e-6, atol=1e-8)
        s, ts = opt.state[x], topt.state[xt]
        assert (s["n_iter"], s["func_evals"]) == (ts["n_iter"], ts["func_evals"])


def test_lbfgs_with_several_parameters_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    m = rng.normal(size=(7, 7))
    A, b = m @ m.T + np.eye(7), rng.normal(size=7)
    shapes = [(2, 3), (1,)]

    def f_and_grad(flat):
        return 0.5 * flat @ A @ flat - b @ flat, A @ flat - b

    inits = [rng.normal(size=s) for s in shapes]
    ours = [Parameter(mg.tensor(a.copy())) for a in inits]
    theirs = [torch.nn.Parameter(torch.tensor(a.copy())) for a in inits]
    opt = optim.LBFGS(ours, max_iter=5, line_search_fn="strong_wolfe")
    topt = torch.optim.LBFGS(theirs, max_iter=5, line_search_fn="strong_wolfe")

    def closure():
        f, g = f_and_grad(np.concatenate([p.data.ravel() for p in ours]))
        ours[0].grad, ours[1].grad = mg.tensor(g[:6].reshape(2, 3)), mg.tensor(g[6:])
        return mg.tensor(f)

    def tclosure():
        f, g = f_and_grad(np.concatenate([p.detach().numpy().ravel() for p in theirs]))
        theirs[0].grad, theirs[1].grad = torch.tensor(g[:6].reshape(2, 3)), torch.tensor(g[6:])
        return torch.tensor(f)

    for _ in range(3):
        opt.step(closure)
        topt.step(tclosure)
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.concatenate([p.data.ravel() for p in ours]),
                               np.linalg.solve(A, b), atol=1e-5)


# ---------------------------------------------------------------------------- bad gradients
def _all_optimizers():
    """Every optimizer the package exports (new ones are covered without a change here)."""
    return [getattr(optim, n) for n in optim.__all__
            if isinstance(getattr(optim, n), type) and issubclass(getattr(optim, n), optim.Optimizer)
            and getattr(optim, n) is not optim.Optimizer]


def _spoil(p, how):
    """Give p a bad gradient. A wrong shape or dtype is put behind a good Tensor's back
    (its .data), so no check at assignment can catch it; a wrong type is assigned."""
    if how == "shape":          # (1,) broadcasts silently into a (4,) update
        p.grad = mg.zeros(p.shape, dtype=p.dtype)
        p.grad.data = np.ones(1, dtype=p.dtype)
    elif how == "dtype":
        p.grad = mg.zeros(p.shape, dtype=p.dtype)
        p.grad.data = np.ones(p.shape, dtype=np.float32)
    else:                       # an ndarray, which has a .data attribute of its own
        p.grad = np.ones(p.shape, dtype=p.dtype)


@pytest.mark.parametrize("cls", _all_optimizers(), ids=lambda c: c.__name__)
@pytest.mark.parametrize("how", ["shape", "dtype", "type"])
def test_a_bad_gradient_changes_nothing(cls, how):
    """All or nothing: the second parameter's bad gradient raises before the first
    parameter, or any state, is updated."""
    good = Parameter(mg.tensor([1.0, -2.0, 3.0], dtype=mg.float64))
    bad = Parameter(mg.tensor([0.5, 0.5, 0.5, 0.5], dtype=mg.float64))
    opt = cls([good, bad])

    spoil = False

    def closure():
        good.grad = mg.tensor([0.1, 0.2, 0.3], dtype=mg.float64)
        bad.grad = mg.tensor([0.1, 0.1, 0.1, 0.1], dtype=mg.float64)
        if spoil:
            try:
                _spoil(bad, how)
            except (TypeError, ValueError):
                bad.grad = None     # refused at assignment: nothing bad reaches step
        return mg.tensor(1.0, dtype=mg.float64)

    opt.step(closure)            # one good step first, so there is state to protect
    spoil = True
    before = copy.deepcopy((good.data, bad.data, opt.state_dict()))
    closure()
    if bad.grad is None:
        return
    with pytest.raises((TypeError, ValueError),
                       match=rf"{cls.__name__}\.step: the gradient of parameter 1 of group 0"):
        opt.step(closure)
    after = (good.data, bad.data, opt.state_dict())
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    assert repr(after[2]) == repr(before[2])


def test_optimizer_arguments_are_checked_like_pytorch():
    model = mg.nn.Linear(2, 1)
    with pytest.raises(TypeError, match=r"SGD: params is a Linear module; pass "
                                        r"model\.parameters\(\)"):
        optim.SGD(model)
    with pytest.raises(TypeError, match=r"parameter 0 of group 0 is Linear; pass "
                                        r"model\.parameters\(\)"):
        optim.Adam([model])
    with pytest.raises(TypeError, match=r"SGD: lr must be a real number, got 'a'"):
        optim.SGD(model.parameters(), lr="a")
    with pytest.raises(TypeError, match=r"Adam: betas must be a tuple of 2 real numbers"):
        optim.Adam(model.parameters(), betas=(0.9, "x"))
    with pytest.raises(TypeError, match=r"Adam: lr must be a real number, got None"):
        optim.Adam([{"params": model.parameters(), "lr": None}])
    with pytest.raises(TypeError, match=r"SGD: params should be an iterable"):
        optim.SGD(3)
    with pytest.raises(ValueError, match=r"SGD: invalid learning rate -1"):
        optim.SGD(model.parameters(), lr=-1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"SGD: lr must be a real number"):
        opt.add_param_group({"params": [Parameter(mg.ones(1))], "lr": "0.1"})
    assert len(opt.param_groups) == 1


@pytest.mark.parametrize("cls, kw", CONFIGS + [(optim.Adadelta, {}), (optim.NAdam, {})],
                         ids=lambda x: getattr(x, "__name__", ""))
def test_a_model_converted_after_its_optimizer_made_state_is_refused(cls, kw):
    """After model.double(), float32 buffers would keep updating float64 parameters
    without a word; the step raises instead (as PyTorch's does), changing nothing."""
    model = nn.Linear(3, 1)
    opt = cls(model.parameters(), **kw)
    x = mg.randn(4, 3)
    model(x).sum().backward()
    opt.step()
    model.double()
    opt.zero_grad()
    model(x.double()).sum().backward()
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(TypeError, match=rf"{cls.__name__}.step: state '\w+' of parameter 0 .*"
                                        "has dtype float32, the parameter has dtype float64"):
        opt.step()
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, b)
    fresh = cls(model.parameters(), **kw)   # the advice in the message works
    fresh.step()
