"""Benchmark: what ``mg.viz.watch`` adds to a training step, as a ratio in one run.

Each workload trains two copies of one model side by side from the same weights on the
same data, the second with ``view.record(loss)`` after every step (default settings:
frames evenly spread, at most 100), alternating blocks of 25 steps, and reports the CPU
time per step of each (thread CPU time, so the load of a shared machine does not count;
BLAS single-threaded) and the overhead ``watched / bare - 1`` (best of ``--rounds``).
Writing the page afterwards, which makes the pictures, is timed apart: it is not part of
the training loop. Workloads are the lecture's networks:

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


def run(build, step, make_opt, steps, inputs, targets, block: int = 25):
    """Train two copies of one model side by side, the second with a recorder, in blocks
    of ``block`` steps each, alternating. Returns the CPU seconds of the bare and of the
    watched training, and the view: both copies do the same arithmetic, so the difference
    is the recorder's."""
    bare, watched = build(), build()
    opts = make_opt(bare.parameters()), make_opt(watched.parameters())
    view = mg.viz.watch(watched, inputs=inputs, targets=targets)
    clock = time.thread_time           # CPU time: the machine's other load does not count
    spent = [0.0, 0.0]
    for start in range(0, steps, block):
        for k, (model, opt) in enumerate(zip((bare, watched), opts)):
            t0 = clock()
            for i in range(start, min(start + block, steps)):
                loss = step(model, opt, i)
                opt.zero_grad()
                loss.backward()
                opt.step()
                if k:
                    view.record(loss)
            spent[k] += clock() - t0
    return spent[0], spent[1], view


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps, one round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    print("CPU time per training step, bare and with view.record(loss) after it\n")
    print(f"{'workload':24s} {'steps':>6s} {'bare ms':>8s} {'watched':>8s} "
          f"{'overhead':>9s} {'frames':>7s} {'page s':>7s} {'page MB':>8s}")
    for name, build, step, x, y, steps, make_opt in (xor(), moons(), digits()):
        steps = steps // 5 if args.quick else steps
        runs = [run(build, step, make_opt, steps, x, y) for _ in range(rounds)]
        bare, watched, view = min(runs, key=lambda r: r[1] / r[0])
        start = time.thread_time()
        html = view.to_html()                  # the pictures: after training, not in it
        write = time.thread_time() - start
        print(f"{name:24s} {steps:6d} {1e3 * bare / steps:8.3f} {1e3 * watched / steps:8.3f} "
              f"{watched / bare - 1:9.1%} {len(view._frames):7d} {write:7.2f} "
              f"{len(html) / 1e6:8.2f}")
    name, build, step, x, y, _, make_opt = xor()
    steps = 2000 if args.quick else 10_000
    bare, watched, view = run(build, step, make_opt, steps, x, y)
    with tempfile.TemporaryDirectory() as tmp:
        path = view.save(Path(tmp) / "xor.html")
        size = os.path.getsize(path)
    print(f"\n{name}, {steps} steps recorded: overhead {watched / bare - 1:.1%}, "
          f"{len(view._frames) + 1} frames, {len(view._steps)} loss points, "
          f"page {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
