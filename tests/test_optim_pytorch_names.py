"""Adadelta and NAdam: each rule against a NumPy transcription of its formula, trajectories
and state against PyTorch, state dicts, errors."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import optim
from microgradnn.nn import Parameter

from test_optim import _torch_model_pair


def ref_adadelta(p, grads, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    v = u = np.zeros_like(p)
    out = []
    for g in grads:
        g = g + weight_decay * p
        v = rho * v + (1 - rho) * g ** 2
        d = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * d ** 2
        p = p - lr * d
        out.append(p)
    return out


def ref_nadam(p, grads, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              momentum_decay=4e-3):
    b1, b2 = betas
    m = v = np.zeros_like(p)
    prod = 1.0
    out = []
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * p
        mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        prod = float(np.float32(prod) * np.float32(mu))  # float32 arithmetic, as PyTorch's
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        s = np.sqrt(v / (1 - b2 ** t)) + eps
        p = p - lr * (1 - mu) / (1 - prod) * g / s - lr * mu_next / (1 - prod * mu_next) * m / s
        out.append(p)
    return out


@pytest.mark.parametrize("name, ref, kw", [
    ("Adadelta", ref_adadelta, {}), ("Adadelta", ref_adadelta, dict(lr=0.5, rho=0.5, weight_decay=0.1)),
    ("NAdam", ref_nadam, {}), ("NAdam", ref_nadam, dict(lr=0.1, betas=(0.8, 0.99), weight_decay=0.05,
                                                        momentum_decay=0.01)),
])
def test_rule_matches_its_formula(name, ref, kw):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(8)]
    w = Parameter(mg.tensor(p0.copy()))
    opt = getattr(optim, name)([w], **kw)
    for g, want in zip(grads, ref(p0, grads, **kw)):
        w.grad = mg.tensor(g)
        opt.step()
        np.testing.assert_allclose(w.data, want, rtol=1e-12, atol=1e-14)


def test_maximize_and_decoupled_weight_decay():
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(3) for _ in range(4)]
    for name, kw in [("Adadelta", {}), ("NAdam", {"lr": 0.1})]:
        a, b = Parameter(mg.ones(3, dtype=mg.float64)), Parameter(mg.ones(3, dtype=mg.float64))
        oa = getattr(optim, name)([a], maximize=True, **kw)
        ob = getattr(optim, name)([b], **kw)
        for g in grads:
            a.grad, b.grad = mg.tensor(g), mg.tensor(-g)
            oa.step()
            ob.step()
        np.testing.assert_allclose(a.data, b.data, rtol=1e-15)
    w = Parameter(mg.ones(2, dtype=mg.float64))
    opt = optim.NAdam([w], lr=0.1, weight_decay=0.5, decoupled_weight_decay=True)
    w.grad = mg.zeros(2, dtype=mg.float64)
    opt.step()
    np.testing.assert_allclose(w.data, [0.95, 0.95])  # only the decay: the gradient is 0


TORCH_CONFIGS = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.01, maximize=True)),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, kw", TORCH_CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in
                                                         enumerate(TORCH_CONFIGS)])
def test_trajectory_and_state_match_pytorch(name, kw, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs, loss_ours, loss_theirs = _torch_model_pair(torch, dtype)
    opt, topt = getattr(optim, name)(ours, **kw), getattr(torch.optim, name)(theirs, **kw)
    for _ in range(20):
        opt.zero_grad()
        loss_ours().backward()
        opt.step()
        topt.zero_grad()
        loss_theirs().backward()
        topt.step()
    tol = dict(rtol=1e-9, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), **tol)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for i, s in sd["state"].items():
        assert list(s) == list(tsd["state"][i])
        for key, value in s.items():
            assert value.dtype == tsd["state"][i][key].numpy().dtype, key
            np.testing.assert_allclose(value.data, tsd["state"][i][key].numpy(), **tol)


@pytest.mark.parametrize("name, kw", [("Adadelta", dict(lr=0.7)), ("NAdam", dict(lr=0.05))])
def test_state_dict_resumes_the_same_trajectory(name, kw, tmp_path):
    rng = np.random.default_rng(2)
    grads = [rng.standard_normal(4) for _ in range(10)]

    def run(opt, w, gs):
        for g in gs:
            w.grad = mg.tensor(g)
            opt.step()

    w = Parameter(mg.tensor(np.ones(4)))
    run(getattr(optim, name)([w], **kw), w, grads)
    v = Parameter(mg.tensor(np.ones(4)))
    opt = getattr(optim, name)([v], **kw)
    run(opt, v, grads[:5])
    mg.save({"w": v, "optim": opt.state_dict()}, tmp_path / "c.safetensors")
    back = mg.load(tmp_path / "c.safetensors")
    u = Parameter(mg.tensor(back["w"].data.copy()))
    opt2 = getattr(optim, name)([u], lr=123.0)
    opt2.load_state_dict(copy.deepcopy(back["optim"]))
    run(opt2, u, grads[5:])
    if name == "NAdam":
        # load_state_dict casts mu_product to the parameter's dtype (float64), as PyTorch's
        # does, so the resumed run rounds it differently from then on
        assert back["optim"]["state"][0]["mu_product"].dtype == np.float32
        assert opt2.state[u]["mu_product"].dtype == np.float64
        np.testing.assert_allclose(u.data, w.data, rtol=1e-6)
    else:
        np.testing.assert_array_equal(u.data, w.data)


@pytest.mark.parametrize("make, match", [
    (lambda ps: optim.Adadelta(ps, lr=-1), "Adadelta: invalid learning rate -1"),
    (lambda ps: optim.Adadelta(ps, rho=1.5), "Adadelta: invalid rho value 1.5"),
    (lambda ps: optim.Adadelta(ps, eps=-1e-6), "Adadelta: invalid epsilon value"),
    (lambda ps: optim.NAdam(ps, betas=(1.0, 0.9)), r"NAdam: invalid betas\[0\] 1.0"),
    (lambda ps: optim.NAdam(ps, momentum_decay=-1), "NAdam: invalid momentum_decay value"),
    (lambda ps: optim.NAdam(ps, weight_decay=-1), "NAdam: invalid weight_decay value"),
])
def test_invalid_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make([Parameter(mg.zeros(2))])


def test_betas_of_the_wrong_type():
    # a number where a pair belongs is a type error (the optimizer base checks option types)
    with pytest.raises(TypeError, match="NAdam: betas"):
        optim.NAdam([Parameter(mg.zeros(2))], betas=0.9)
