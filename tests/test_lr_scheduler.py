"""Learning-rate schedulers: sequences against closed forms, plateau logic, state dicts,
and against PyTorch's schedulers when it is installed."""
import copy
import math

import numpy as np
import pytest
from hypothesis import given, strategies as hst

import microgradnn as mg
from microgradnn import optim
from microgradnn.nn import Parameter
from microgradnn.optim import lr_scheduler as ls

try:
    from microgradnn import serialization
except ImportError:  # pragma: no cover
    serialization = None


def _opt(lrs=(0.1,)):
    return optim.SGD([{"params": [Parameter(mg.zeros(1))], "lr": lr} for lr in lrs], lr=0.1)


def _sequence(sched, opt, n, metrics=None):
    out = []
    for i in range(n):
        out.append(sched.get_last_lr())
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
    return np.array(out)


@given(step_size=hst.integers(1, 5), gamma=hst.floats(0.1, 1.0), lr=hst.floats(1e-3, 1.0))
def test_step_lr_closed_form(step_size, gamma, lr):
    opt = _opt([lr, 2 * lr])
    got = _sequence(ls.StepLR(opt, step_size, gamma), opt, 15)
    want = [[base * gamma ** (e // step_size) for base in (lr, 2 * lr)] for e in range(15)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


@given(gamma=hst.floats(0.5, 1.0), lr=hst.floats(1e-3, 1.0))
def test_exponential_lr_closed_form(gamma, lr):
    opt = _opt([lr])
    got = _sequence(ls.ExponentialLR(opt, gamma), opt, 20)
    np.testing.assert_allclose(got[:, 0], lr * gamma ** np.arange(20), rtol=1e-12)


@given(T_max=hst.integers(1, 8), eta_min=hst.sampled_from([0.0, 1e-3, 0.01]),
       lr=hst.floats(0.02, 1.0))
def test_cosine_annealing_closed_form(T_max, eta_min, lr):
    opt = _opt([lr])
    got = _sequence(ls.CosineAnnealingLR(opt, T_max, eta_min), opt, 3 * T_max + 2)
    epochs = np.arange(3 * T_max + 2)
    want = eta_min + (lr - eta_min) * (1 + np.cos(np.pi * epochs / T_max)) / 2
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-9, atol=1e-12)


def test_cosine_annealing_resumed_with_last_epoch_uses_the_closed_form():
    opt = _opt([1.0])
    ls.CosineAnnealingLR(opt, T_max=10)
    opt.param_groups[0]["lr"] = 123.0  # whatever it is now, resuming recomputes it
    sched = ls.CosineAnnealingLR(opt, T_max=10, last_epoch=3)
    assert sched.last_epoch == 4
    assert sched.get_last_lr()[0] == pytest.approx((1 + math.cos(math.pi * 4 / 10)) / 2)


def test_resuming_needs_initial_lr():
    with pytest.raises(KeyError, match="parameter group 0 has no 'initial_lr'"):
        ls.StepLR(_opt(), step_size=2, last_epoch=5)


def test_schedulers_are_chainable_with_manual_changes():
    # the recursive forms start from the current lr, as PyTorch's do
    opt = _opt([1.0])
    sched = ls.ExponentialLR(opt, gamma=0.5)
    opt.step(); sched.step()
    opt.param_groups[0]["lr"] = 4.0
    opt.step(); sched.step()
    assert sched.get_last_lr() == [2.0]


def test_reduce_on_plateau_patience_cooldown_and_min_lr():
    opt = _opt([1.0, 0.05])
    sched = ls.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=[0.0, 0.04])
    metrics = [5.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 3.0, 3.0]
    got = _sequence(sched, opt, len(metrics), metrics)
    lrs = [r[0] for r in got[1:]] + [sched.get_last_lr()[0]]
    # bad epochs at metrics[2], [3], [4] -> cut after epoch 4; cooldown of 1 then 3 more bad
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert sched.get_last_lr()[1] == 0.04  # clamped at its min_lr
    assert sched.best == 3.0 and sched.last_epoch == 10


@pytest.mark.parametrize("mode, threshold_mode, metrics, cut_at", [
    ("min", "rel", [1.0, 0.99995, 0.99991, 0.9], 2),  # less than 1e-4 better: no progress
    ("min", "rel", [1.0, 0.9, 0.8, 0.7], None),
    ("min", "abs", [1.0, 0.95, 0.92, 0.5], 2),
    ("max", "rel", [1.0, 1.00005, 1.00009, 2.0], 2),
    ("max", "abs", [1.0, 1.5, 1.55, 1.7], None),
])
def test_reduce_on_plateau_thresholds(mode, threshold_mode, metrics, cut_at):
    opt = _opt([1.0])
    threshold = 1e-4 if threshold_mode == "rel" else 0.1
    sched = ls.ReduceLROnPlateau(opt, mode=mode, threshold=threshold,
                                 threshold_mode=threshold_mode, patience=1)
    lrs = []
    for m in metrics:
        sched.step(mg.tensor(m))  # a one-element tensor works as the metric
        lrs.append(sched.get_last_lr()[0])
    first_cut = next((i for i, lr in enumerate(lrs) if lr < 1.0), None)
    assert first_cut == cut_at


def test_reduce_on_plateau_skips_changes_below_eps():
    opt = _opt([1e-9])
    sched = ls.ReduceLROnPlateau(opt, patience=0)
    sched.step(1.0)
    sched.step(1.0)
    assert sched.get_last_lr() == [1e-9]


def test_scheduler_errors():
    with pytest.raises(TypeError, match="StepLR: expected an Optimizer"):
        ls.StepLR([Parameter(mg.zeros(1))], step_size=1)
    with pytest.raises(ValueError, match="StepLR: invalid step_size 0"):
        ls.StepLR(_opt(), step_size=0)
    with pytest.raises(ValueError, match="CosineAnnealingLR: invalid T_max 0"):
        ls.CosineAnnealingLR(_opt(), T_max=0)
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau: invalid factor 1.0"):
        ls.ReduceLROnPlateau(_opt(), factor=1.0)
    with pytest.raises(ValueError, match=r"invalid mode 'up'"):
        ls.ReduceLROnPlateau(_opt(), mode="up")
    with pytest.raises(ValueError, match=r"got 1 min_lr values for 2 parameter groups"):
        ls.ReduceLROnPlateau(_opt([0.1, 0.2]), min_lr=[0.0])
    sched = ls.StepLR(_opt(), step_size=2)
    with pytest.raises(ValueError, match=r"unexpected keys \['T_max'"):
        sched.load_state_dict(ls.CosineAnnealingLR(_opt(), T_max=3).state_dict())


@pytest.mark.parametrize("make, metrics", [
    (lambda o: ls.StepLR(o, 3, 0.5), None),
    (lambda o: ls.ExponentialLR(o, 0.9), None),
    (lambda o: ls.CosineAnnealingLR(o, 5, 0.01), None),
    (lambda o: ls.ReduceLROnPlateau(o, patience=1, cooldown=1), [3, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1]),
])
@pytest.mark.parametrize("through_file", [False, True], ids=["deepcopy", "mg.save"])
def test_state_dict_round_trip_continues_the_same_schedule(make, metrics, through_file,
                                                           tmp_path):
    if through_file and serialization is None:
        pytest.skip("microgradnn.serialization not available")
    opt = _opt([1.0, 0.5])
    full = _sequence(make(opt), opt, 11, metrics)

    opt = _opt([1.0, 0.5])
    sched = make(opt)
    part = _sequence(sched, opt, 4, metrics)
    checkpoint = {"optim": opt.state_dict(), "sched": sched.state_dict()}
    if through_file:
        (getattr(mg, "save", None) or serialization.save)(checkpoint, tmp_path / "s.mgnn")
        checkpoint = (getattr(mg, "load", None) or serialization.load)(tmp_path / "s.mgnn")
    else:
        checkpoint = copy.deepcopy(checkpoint)

    opt2 = _opt([7.0, 7.0])
    sched2 = make(opt2)
    opt2.load_state_dict(checkpoint["optim"])
    sched2.load_state_dict(checkpoint["sched"])
    rest = _sequence(sched2, opt2, 7, None if metrics is None else metrics[4:])
    np.testing.assert_allclose(np.concatenate([part, rest]), full, rtol=1e-15)


@pytest.mark.parametrize("name, kw, metrics", [
    ("StepLR", dict(step_size=3, gamma=0.7), None),
    ("ExponentialLR", dict(gamma=0.9), None),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01), None),
    ("CosineAnnealingLR", dict(T_max=1), None),
    ("ReduceLROnPlateau", dict(patience=2, factor=0.5, cooldown=1, threshold=0.05), "noisy"),
    ("ReduceLROnPlateau", dict(mode="max", patience=1, threshold_mode="abs", min_lr=0.02),
     "noisy"),
])
def test_lr_sequences_match_pytorch(name, kw, metrics):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    if metrics == "noisy":
        metrics = list(np.r_[np.linspace(1, 0.5, 5), np.full(10, 0.5),
                             rng.uniform(0.4, 0.6, 25)])
    ours = _opt([0.1, 0.3])
    theirs = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr}
                              for lr in (0.1, 0.3)])
    got = _sequence(getattr(ls, name)(ours, **kw), ours, 40, metrics)
    want = _sequence(getattr(torch.optim.lr_scheduler, name)(theirs, **kw), theirs, 40,
                     metrics)
    np.testing.assert_array_equal(got, want)


def test_state_dict_saved_by_pytorch_loads():
    # PyTorch's scheduler state carries two private flags of its own; they are skipped.
    w = mg.nn.Parameter(mg.zeros(1))
    sched = ls.StepLR(mg.optim.SGD([w], lr=1.0), step_size=2)
    state = dict(sched.state_dict(), _get_lr_called_within_step=False, _is_initial=False)
    sched.load_state_dict(state)
    assert sched.get_last_lr() == [1.0]
