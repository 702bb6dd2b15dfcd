"""LambdaLR, MultiStepLR, LinearLR, OneCycleLR, SequentialLR: sequences equal to PyTorch's,
state dicts that continue the same schedule, and the errors PyTorch raises."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import optim
from microgradnn.nn import Parameter
from microgradnn.optim import lr_scheduler as ls


def _sequence(sched, opt, n):
    lrs, moms = [], []
    for _ in range(n):
        lrs.append(sched.get_last_lr())
        g = opt.param_groups[0]
        moms.append(g["betas"][0] if "betas" in g else g.get("momentum", 0.0))
        opt.step()
        sched.step()
    return np.array(lrs), np.array(moms)


class Warmup:
    """A callable object: LambdaLR keeps its attributes in the state dict."""

    def __init__(self, n):
        self.n = n

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.n)


# each case: (name, function of (scheduler module, optimizer) -> scheduler, epochs)
CASES = [
    ("LambdaLR", lambda m, o: m.LambdaLR(o, lambda e: 0.95 ** e), 30),
    ("LambdaLR-per-group", lambda m, o: m.LambdaLR(o, [lambda e: 1 / (e + 1), Warmup(5)]), 30),
    ("MultiStepLR", lambda m, o: m.MultiStepLR(o, [3, 7, 7, 20], gamma=0.3), 30),
    ("LinearLR", lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=8), 20),
    ("LinearLR-down", lambda m, o: m.LinearLR(o, 1.0, 0.05, total_iters=12), 20),
    ("OneCycleLR", lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=40), 40),
    ("OneCycleLR-linear-3phase", lambda m, o: m.OneCycleLR(
        o, max_lr=0.5, epochs=4, steps_per_epoch=9, pct_start=0.25, anneal_strategy="linear",
        three_phase=True, div_factor=10.0, final_div_factor=100.0), 36),
    ("OneCycleLR-no-momentum", lambda m, o: m.OneCycleLR(o, 1.0, 25, cycle_momentum=False), 25),
    ("SequentialLR", lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, 0.2, total_iters=4), m.CosineAnnealingLR(o, T_max=10, eta_min=0.01)],
        milestones=[4]), 30),
    ("SequentialLR-three", lambda m, o: m.SequentialLR(
        o, [m.ExponentialLR(o, 0.9), m.StepLR(o, 3, 0.5), m.MultiStepLR(o, [2, 4])],
        milestones=[5, 12]), 30),
]


def _ours(kind="sgd"):
    groups = [{"params": [Parameter(mg.zeros(1))], "lr": lr} for lr in (0.1, 0.3)]
    return optim.SGD(groups, lr=0.1, momentum=0.9) if kind == "sgd" else optim.Adam(groups)


def _theirs(torch, kind="sgd"):
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in (0.1, 0.3)]
    return (torch.optim.SGD(groups, lr=0.1, momentum=0.9) if kind == "sgd"
            else torch.optim.Adam(groups))


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("name, make, n", CASES, ids=[c[0] for c in CASES])
def test_sequences_match_pytorch(name, make, n, kind):
    torch = pytest.importorskip("torch")
    ours, theirs = _ours(kind), _theirs(torch, kind)
    got = _sequence(make(ls, ours), ours, n)
    want = _sequence(make(torch.optim.lr_scheduler, theirs), theirs, n)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])  # OneCycleLR's momentum / beta1 too


@pytest.mark.parametrize("name, make, n", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("through_file", [False, True], ids=["deepcopy", "mg.save"])
def test_state_dict_round_trip_continues_the_same_schedule(name, make, n, through_file,
                                                           tmp_path):
    opt = _ours()
    full = _sequence(make(ls, opt), opt, n)[0]
    opt = _ours()
    sched = make(ls, opt)
    part = _sequence(sched, opt, n // 3)[0]
    checkpoint = {"optim": opt.state_dict(), "sched": sched.state_dict()}
    if through_file:
        mg.save(checkpoint, tmp_path / "s.safetensors")
        checkpoint = mg.load(tmp_path / "s.safetensors")
    else:
        checkpoint = copy.deepcopy(checkpoint)
    opt2 = _ours()
    sched2 = make(ls, opt2)
    opt2.load_state_dict(checkpoint["optim"])
    sched2.load_state_dict(checkpoint["sched"])
    rest = _sequence(sched2, opt2, n - n // 3)[0]
    np.testing.assert_array_equal(np.concatenate([part, rest]), full)


def test_lambda_lr_keeps_callable_objects_state_not_functions():
    warm = Warmup(5)
    sched = ls.LambdaLR(_ours(), [lambda e: 1.0, warm])
    assert sched.state_dict()["lr_lambdas"] == [None, {"n": 5}]
    other = Warmup(99)
    sched2 = ls.LambdaLR(_ours(), [lambda e: 1.0, other])
    sched2.load_state_dict(sched.state_dict())
    assert other.n == 5


def test_one_cycle_refuses_to_step_past_total_steps():
    opt = _ours()
    sched = ls.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    opt.step(); sched.step(); opt.step(); sched.step(); opt.step(); sched.step()
    with pytest.raises(ValueError, match="OneCycleLR: stepped 4 times, but total_steps is 3"):
        sched.step()


@pytest.mark.parametrize("make, error, match", [
    (lambda o: ls.LambdaLR(o, [lambda e: 1.0]), ValueError, "expected 2 values for lr_lambda"),
    (lambda o: ls.LambdaLR(o, 3), TypeError, "expected a function"),
    (lambda o: ls.MultiStepLR(o, [1.5]), TypeError, "milestones must be ints"),
    (lambda o: ls.LinearLR(o, start_factor=0), ValueError, "start_factor"),
    (lambda o: ls.LinearLR(o, start_factor=1.5), ValueError, "start_factor"),
    (lambda o: ls.LinearLR(o, end_factor=-0.1), ValueError, "end_factor"),
    (lambda o: ls.LinearLR(o, total_iters=0), ValueError, "total_iters"),
    (lambda o: ls.OneCycleLR(o, 1.0), ValueError, "total_steps, or epochs and steps_per_epoch"),
    (lambda o: ls.OneCycleLR(o, 1.0, total_steps=0), ValueError, "positive integer total_steps"),
    (lambda o: ls.OneCycleLR(o, 1.0, 10, pct_start=1), ValueError, "pct_start"),
    (lambda o: ls.OneCycleLR(o, 1.0, 10, anneal_strategy="exp"), ValueError, "anneal_strategy"),
    (lambda o: ls.OneCycleLR(o, [1.0], 10), ValueError, "expected 2 values for max_lr"),
    (lambda o: ls.SequentialLR(o, [], []), ValueError, "at least one scheduler"),
    (lambda o: ls.SequentialLR(o, [ls.StepLR(o, 2)], [3]), ValueError, "one milestone fewer"),
    (lambda o: ls.SequentialLR(o, [ls.ReduceLROnPlateau(o)], []), ValueError, "ReduceLROnPlateau"),
    (lambda o: ls.SequentialLR(o, [ls.StepLR(_ours(), 2)], []), ValueError, "another optimizer"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make(_ours())


def test_one_cycle_needs_momentum_to_cycle_it():
    opt = optim.Adagrad([Parameter(mg.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="cycle_momentum needs an optimizer with momentum"):
        ls.OneCycleLR(opt, 1.0, 10)
    sched = ls.OneCycleLR(opt, 1.0, 10, cycle_momentum=False)
    assert math.isclose(sched.get_last_lr()[0], 0.04)
