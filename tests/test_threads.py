"""Grad mode, keep() and module scopes belong to the thread, as in PyTorch.

The main test trains in two threads while a third evaluates under ``no_grad()``, 100
times, and checks every step of both trainings against a single-threaded reference.
"""
import sys
import threading

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn

TRIALS = 100
STEPS = 4


def _data(seed):
    rng = np.random.default_rng(seed)
    return (mg.tensor(rng.normal(size=(8, 3)), dtype=mg.float32),
            mg.tensor(rng.normal(size=(8, 1)), dtype=mg.float32))


def _model(seed):
    rng = np.random.default_rng(seed)
    m = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1))
    with mg.no_grad():
        for p in m.parameters():
            p.data[...] = rng.normal(size=p.shape)
    return m


def _train(seed, record):
    """STEPS of SGD; records (recorded?, loss, gradients) for every step."""
    model = _model(seed)
    x, y = _data(seed)
    opt = mg.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(STEPS):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        recorded = loss.grad_fn is not None and mg.is_grad_enabled()
        loss.backward()
        record.append((recorded, float(loss.data),
                       [np.array(p.grad.data) for p in model.parameters()]))
        opt.step()


def _evaluate(stop, problems):
    model = _model(99)
    x, _ = _data(99)
    while not stop.is_set():
        with mg.no_grad():
            out = model(x)
            if out.requires_grad or mg.is_grad_enabled():
                problems.append("recorded inside no_grad()")
        if not mg.is_grad_enabled():
            problems.append("grad mode stayed off after no_grad() exited")


@pytest.fixture
def fast_switching():
    """Let the interpreter switch threads very often, so the threads interleave."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def test_two_training_threads_and_an_evaluating_one(fast_switching):
    references = {}
    for seed in (1, 2):
        references[seed] = []
        _train(seed, references[seed])
    failures = []
    for trial in range(TRIALS):
        records = {1: [], 2: []}
        errors, problems = [], []
        stop = threading.Event()

        def guarded(target, *args):
            try:
                target(*args)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        trainers = [threading.Thread(target=guarded, args=(_train, s, records[s]))
                    for s in (1, 2)]
        evaluator = threading.Thread(target=guarded, args=(_evaluate, stop, problems))
        evaluator.start()
        for t in trainers:
            t.start()
        for t in trainers:
            t.join()
        stop.set()
        evaluator.join()
        ok = not errors and not problems
        for seed in (1, 2):
            got, want = records[seed], references[seed]
            ok = ok and len(got) == STEPS
            for (rec, loss, grads), (_, loss_ref, grads_ref) in zip(got, want):
                ok = ok and rec and np.isclose(loss, loss_ref, rtol=1e-12, atol=0)
                ok = ok and all(np.allclose(g, r, rtol=1e-12, atol=0)
                                for g, r in zip(grads, grads_ref))
        if not ok:
            failures.append((trial, errors[:1], problems[:1]))
    assert mg.is_grad_enabled()
    assert failures == [], f"{len(failures)} of {TRIALS} trials went wrong: {failures[:3]}"


def test_a_new_thread_starts_recording_even_inside_no_grad():
    seen = []
    w = mg.ones(2, requires_grad=True)

    def work():
        seen.append((mg.is_grad_enabled(), (w * 2).requires_grad,
                     mg.viz.keep is not None and mg.autograd.grad_mode.is_keeping_values()))

    with mg.no_grad(), mg.viz.keep():
        t = threading.Thread(target=work)
        t.start()
        t.join()
        assert not mg.is_grad_enabled()
    assert seen == [(True, True, False)]


def test_set_grad_enabled_in_one_thread_leaves_the_others_alone():
    off, go, done = threading.Event(), threading.Event(), threading.Event()

    def other():
        mg.autograd.set_grad_enabled(False)  # as a function: lasts in this thread
        off.set()
        go.wait()
        done.set()

    t = threading.Thread(target=other)
    t.start()
    off.wait()
    w = mg.ones(2, requires_grad=True)
    try:
        assert mg.is_grad_enabled() and (w * 2).requires_grad
    finally:
        go.set()
        t.join()
    assert done.is_set()


def test_backward_in_one_thread_does_not_stop_recording_in_another():
    """The engine turns grad mode off while it runs, for its own thread only."""
    inside, resume = threading.Event(), threading.Event()
    seen = []

    class Pause(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            seen.append(("backward thread", mg.is_grad_enabled()))
            inside.set()
            resume.wait(10)
            return grad

    x = mg.ones(3, requires_grad=True)
    y = Pause.apply(x).sum()
    t = threading.Thread(target=y.backward)
    t.start()
    inside.wait(10)
    w = mg.ones(2, requires_grad=True)
    seen.append(("other thread", mg.is_grad_enabled(), (w * 2).requires_grad))
    resume.set()
    t.join()
    assert seen == [("backward thread", False), ("other thread", True, True)]
    np.testing.assert_array_equal(x.grad.data, np.ones(3))


def test_keep_in_one_thread_does_not_make_another_keep():
    entered, release = threading.Event(), threading.Event()

    def keeper():
        with mg.viz.keep():
            entered.set()
            release.wait(10)

    t = threading.Thread(target=keeper)
    t.start()
    entered.wait(10)
    x = mg.ones(2, requires_grad=True)
    y = x * 3
    release.set()
    t.join()
    assert not y.grad_fn.keeps_values
    with pytest.raises(RuntimeError, match=r"mg\.viz\.keep\(\)"):
        y.grad_fn.value


def test_module_scopes_are_per_thread():
    """Nodes made in a module's forward point at that module's call, whatever other
    threads are running at the same time."""
    barrier = threading.Barrier(2)
    frames = {}

    class Slow(nn.Module):
        def __init__(self, tag):
            super().__init__()
            self.tag = tag

        def forward(self, x):
            barrier.wait(10)      # both threads are inside their module now
            y = x * 2
            barrier.wait(10)
            return y

    def run(tag):
        m = Slow(tag)
        y = m(mg.ones(2, requires_grad=True))
        frames[tag] = (y.grad_fn.scope.module is m, mg.autograd.scope.current())

    ts = [threading.Thread(target=run, args=(tag,)) for tag in "ab"]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert frames == {"a": (True, None), "b": (True, None)}
    assert mg.autograd.scope.current() is None


def test_one_no_grad_instance_shared_by_threads():
    """A decorated function and one context-manager object used by several threads."""
    ctx = mg.no_grad()
    results = []
    barrier = threading.Barrier(3)

    def work():
        with ctx:
            barrier.wait(10)
            results.append(mg.is_grad_enabled())
            barrier.wait(10)
        results.append(mg.is_grad_enabled())

    ts = [threading.Thread(target=work) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(results) == [False] * 3 + [True] * 3


def test_same_no_grad_instance_nested():
    ctx = mg.no_grad()
    with ctx:
        with ctx:
            assert not mg.is_grad_enabled()
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
