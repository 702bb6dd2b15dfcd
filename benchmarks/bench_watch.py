"""Benchmark: what ``mg.viz.watch`` adds to a training step, as a ratio in one run.

Each workload trains a model with ``view.record(loss)`` after every step (default
settings: frames evenly spread, at most 100) and sums, step by step, the CPU time of the
training step and that of the ``record`` call after it: the overhead is their ratio, both
measured side by side in the same run, so the load of a shared machine hits both alike
(best of ``--rounds`` runs). BLAS runs single-threaded, so the thread's CPU time is all
of it. Writing the page afterwards, which makes the pictures, is timed apart: it is not
part of the training loop. Workloads are the lecture's networks:

- XOR: 2-4-1 tanh/sigmoid, MSE, plain gradient descent, 500 steps on the 4 points;
- moons: 2-8-8-2 ReLU, cross-entropy, Adam, 1000 steps on 200 points;
- digits MLP: 64-100-10 ReLU, cross-entropy, Adam, mini-batches of 32 (no plane: no maps).

It also records a 10,000-step XOR run and prints the size of the saved page.

    python benchmarks/bench_watch.py            # about a minute
    python benchmarks/bench_watch.py --quick    # a few seconds
"""
from __future__ import annotations

import argparse
import os
import sys

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")   # before NumPy loads: thread CPU time is then all of it
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import numpy as np  # noqa: E402

import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402
from microgradnn.nn import functional as F  # noqa: E402


def xor():
    x = mg.tensor(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32))
    y = mg.tensor(np.array([[0], [1], [1], [0]], np.float32))

    def build():
        mg.manual_seed(0)
        return nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())

    def step(model, opt, i):
        return F.mse_loss(model(x), y)
    return "XOR 2-4-1", build, step, x, y, 500, lambda p: mg.optim.SGD(p, lr=5.0)


def moons():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, np.pi, 200)
    top = rng.random(200) < 0.5
    pts = np.where(top[:, None], np.stack([np.cos(t), np.sin(t)], 1),
                   np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))
    x = mg.tensor((pts + 0.1 * rng.standard_normal((200, 2))).astype(np.float32))
    y = mg.tensor(top.astype(np.int64))

    def build():
        mg.manual_seed(0)
        return nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(),
                             nn.Linear(8, 2))

    def step(model, opt, i):
        return F.cross_entropy(model(x), y)
    return "moons 2-8-8-2", build, step, x, y, 1000, lambda p: mg.optim.Adam(p, lr=0.03)


def digits():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1344, 64)).astype(np.float32)
    y = rng.integers(0, 10, 1344)
    batches = [(mg.tensor(x[i:i + 32]), mg.tensor(y[i:i + 32])) for i in range(0, 1344, 32)]

    def build():
        mg.manual_seed(0)
        return nn.Sequential(nn.Linear(64, 100), nn.ReLU(), nn.Linear(100, 10))

    def step(model, opt, i):
        xb, yb = batches[i % len(batches)]
        return F.cross_entropy(model(xb), yb)
    return "digits MLP 64-100-10", build, step, x, y, 1000, lambda p: mg.optim.Adam(p, lr=1e-3)


def run(build, step, make_opt, steps, inputs=None, targets=None):
    """Train ``steps`` steps, with a recorder when ``inputs`` are given. Returns the CPU
    seconds of the training steps, of the record() calls (both summed over the steps, so
    they are measured side by side under the same load) and the view."""
    model = build()
    opt = make_opt(model.parameters())
    view = None if inputs is None else mg.viz.watch(model, inputs=inputs, targets=targets)
    clock = time.thread_time
    training = recording = 0.0
    for i in range(steps):
        t0 = clock()
        loss = step(model, opt, i)
        opt.zero_grad()
        loss.backward()
        opt.step()
        t1 = clock()
        if view is not None:
            view.record(loss)
        training += t1 - t0
        recording += clock() - t1
    return training, recording, view


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps, one round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    print("CPU time of this thread: the training steps and the record() calls between them\n")
    print(f"{'workload':24s} {'steps':>6s} {'step ms':>8s} {'record ms':>10s} "
          f"{'overhead':>9s} {'frames':>7s} {'page s':>7s} {'page MB':>8s}")
    for name, build, step, x, y, steps, make_opt in (xor(), moons(), digits()):
        steps = steps // 5 if args.quick else steps
        best = None
        for _ in range(rounds):
            training, recording, view = run(build, step, make_opt, steps, x, y)
            if best is None or recording / training < best[1] / best[0]:
                best = (training, recording, view)
        training, recording, view = best
        start = time.thread_time()
        html = view.to_html()                  # the pictures: after training, not in it
        write = time.thread_time() - start
        print(f"{name:24s} {steps:6d} {1e3 * training / steps:8.3f} "
              f"{1e3 * recording / steps:10.3f} {recording / training:9.1%} "
              f"{len(view._frames):7d} {write:7.2f} {len(html) / 1e6:8.2f}")
    name, build, step, x, y, _, make_opt = xor()
    steps = 2000 if args.quick else 10_000
    training, recording, view = run(build, step, make_opt, steps, x, y)
    with tempfile.TemporaryDirectory() as tmp:
        path = view.save(Path(tmp) / "xor.html")
        size = os.path.getsize(path)
    print(f"\n{name}, {steps} steps recorded: overhead {recording / training:.1%}, "
          f"{len(view._frames) + 1} frames, {len(view._steps)} loss points, "
          f"page {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
