"""Benchmark: one epoch of MLP training on MNIST-shaped data, three ways, in one process.

The model: 784-100-10 with ReLU, cross-entropy, Adam (lr 1e-3), batch 128, 60,000 random
samples shaped like MNIST (generated here; nothing is downloaded). Compared:

- microgradnn (``nn.Linear``, ``F.cross_entropy``, ``optim.Adam``, ``data.DataLoader``);
- a hand-written NumPy version: forward, backward and Adam by hand (the floor for any
  NumPy-based engine doing the same work);
- PyTorch (CPU), when installed.

All start from the same weights and see the same batches; their first losses are compared
as a sanity check. Printed: seconds per epoch (best of several epochs), ratios, the
tracemalloc peak during one step (NumPy-based versions; PyTorch's allocator is invisible to
tracemalloc) and traced memory after many steps against after a few (flat: no graph kept).

BLAS and PyTorch run single-threaded by default (``--threads N``) so that the comparison
does not depend on how busy the shared machine is.

    python benchmarks/bench_mlp.py            # full run, about a minute
    python benchmarks/bench_mlp.py --quick    # a few seconds
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
from pathlib import Path


def _parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a fraction of an epoch, one round")
    ap.add_argument("--epochs", type=int, default=3, help="epochs timed per implementation")
    ap.add_argument("--threads", type=int, default=1, help="threads for BLAS and PyTorch")
    return ap.parse_args(argv)


ARGS = _parse_args() if __name__ == "__main__" else None
if ARGS is not None:  # before NumPy loads its BLAS, which reads these once
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

N, IN, HIDDEN, CLASSES, BATCH, LR = 60_000, 784, 100, 10, 128, 1e-3
BETAS, EPS = (0.9, 0.999), 1e-8


def make_problem(n: int, seed: int = 0):
    """Weights in PyTorch's layout and init ranges, images in [0, 1), labels 0..9."""
    rng = np.random.default_rng(seed)
    k1, k2 = 1 / np.sqrt(IN), 1 / np.sqrt(HIDDEN)
    weights = {
        "w1": rng.uniform(-k1, k1, (HIDDEN, IN)).astype(np.float32),
        "b1": rng.uniform(-k1, k1, HIDDEN).astype(np.float32),
        "w2": rng.uniform(-k2, k2, (CLASSES, HIDDEN)).astype(np.float32),
        "b2": rng.uniform(-k2, k2, CLASSES).astype(np.float32),
    }
    x = rng.random((n, IN), dtype=np.float32)
    y = rng.integers(0, CLASSES, n).astype(np.int64)
    return weights, x, y


def batches(n: int, seed: int):
    """The same shuffled batch order for every implementation."""
    order = np.random.default_rng(seed).permutation(n)
    return [order[i:i + BATCH] for i in range(0, n, BATCH)]


# ---------------------------------------------------------------- microgradnn
class MicrogradnnMLP:
    def __init__(self, weights):
        import microgradnn as mg
        from microgradnn import nn
        self.mg, self.F = mg, nn.functional
        self.model = nn.Sequential(nn.Linear(IN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES))
        self.model.load_state_dict({"0.weight": weights["w1"], "0.bias": weights["b1"],
                                    "2.weight": weights["w2"], "2.bias": weights["b2"]})
        self.opt = mg.optim.Adam(self.model.parameters(), lr=LR)

    def step(self, x, y) -> float:
        self.opt.zero_grad()
        loss = self.F.cross_entropy(self.model(x), y)
        loss.backward()
        self.opt.step()
        return loss.item()

    def epoch(self, x, y, order):
        Tensor = self.mg.Tensor  # wraps the batch NumPy just gathered, without a copy
        for idx in order:
            self.step(Tensor(x[idx]), Tensor(y[idx]))


# ---------------------------------------------------------------- NumPy by hand
class NumpyMLP:
    def __init__(self, weights):
        self.p = {k: v.copy() for k, v in weights.items()}
        self.m = {k: np.zeros_like(v) for k, v in weights.items()}
        self.v = {k: np.zeros_like(v) for k, v in weights.items()}
        self.t = 0

    def step(self, x, y) -> float:
        p = self.p
        z1 = x @ p["w1"].T + p["b1"]
        h = np.maximum(z1, 0)
        logits = h @ p["w2"].T + p["b2"]
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        n = len(y)
        loss = float(np.mean(np.log(s[:, 0]) - shifted[np.arange(n), y]))
        d = e / s                              # softmax - onehot, over the batch mean
        d[np.arange(n), y] -= 1
        d /= n
        grads = {"w2": d.T @ h, "b2": d.sum(axis=0)}
        dh = d @ p["w2"]
        dh *= z1 > 0
        grads["w1"] = dh.T @ x
        grads["b1"] = dh.sum(axis=0)
        self.t += 1
        b1, b2 = BETAS
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for k, g in grads.items():  # Adam, in place, with one scratch array
            m, v = self.m[k], self.v[k]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            np.multiply(g, g, out=g)
            g *= 1 - b2
            v += g
            np.sqrt(v, out=g)
            g /= np.sqrt(c2)
            g += EPS
            np.divide(m, g, out=g)
            g *= LR / c1
            p[k] -= g
        return loss

    def epoch(self, x, y, order):
        for idx in order:
            self.step(x[idx], y[idx])


# ---------------------------------------------------------------- PyTorch
class TorchMLP:
    def __init__(self, torch, weights):
        self.torch = torch
        nn = torch.nn
        self.model = nn.Sequential(nn.Linear(IN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES))
        self.model.load_state_dict({"0.weight": torch.tensor(weights["w1"]),
                                    "0.bias": torch.tensor(weights["b1"]),
                                    "2.weight": torch.tensor(weights["w2"]),
                                    "2.bias": torch.tensor(weights["b2"])})
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)

    def step(self, x, y) -> float:
        self.opt.zero_grad()
        loss = self.torch.nn.functional.cross_entropy(self.model(x), y)
        loss.backward()
        self.opt.step()
        return loss.item()

    def epoch(self, x, y, order):
        t = self.torch
        xt, yt = t.from_numpy(x), t.from_numpy(y)
        for idx in order:
            i = t.from_numpy(idx)
            self.step(xt[i], yt[i])


# ---------------------------------------------------------------- measuring
def epoch_seconds(impl, x, y, order, rounds: int) -> float:
    best = float("inf")
    for r in range(rounds):
        gc.collect()
        t0 = time.perf_counter()
        impl.epoch(x, y, order)
        best = min(best, time.perf_counter() - t0)
    return best


def step_peak_bytes(impl, x, y, idx, wrap) -> int:
    impl.step(*wrap(x[idx], y[idx]))  # warm: optimizer state exists
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    impl.step(*wrap(x[idx], y[idx]))
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def traced_after(impl, x, y, order, steps: int, wrap) -> int:
    tracemalloc.start()
    for idx in order[:steps]:
        impl.step(*wrap(x[idx], y[idx]))
    gc.collect()
    current = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return current


def main(args) -> None:
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    import microgradnn as mg

    n = 6_400 if args.quick else N
    rounds = 1 if args.quick else args.epochs
    weights, x, y = make_problem(n)
    order = batches(n, seed=1)

    impls = {"microgradnn": MicrogradnnMLP(weights), "numpy": NumpyMLP(weights)}
    if torch is not None:
        impls["pytorch"] = TorchMLP(torch, weights)
    wraps = {"microgradnn": lambda a, b: (mg.Tensor(a), mg.Tensor(b)),
             "numpy": lambda a, b: (a, b),
             "pytorch": lambda a, b: (torch.from_numpy(a), torch.from_numpy(b))}

    # Sanity: the same first loss from every implementation (fresh copies).
    first = {name: type(impl)(*((torch,) if name == "pytorch" else ()), weights).step(
        *wraps[name](x[order[0]], y[order[0]])) for name, impl in impls.items()}
    spread = max(first.values()) - min(first.values())
    assert spread < 1e-4, f"implementations disagree on the first loss: {first}"

    print(f"MLP {IN}-{HIDDEN}-{CLASSES} ReLU, cross-entropy, Adam, batch {BATCH}, "
          f"{n} samples ({len(order)} steps per epoch), threads={args.threads}, "
          f"best of {rounds} epoch(s)")
    seconds = {name: epoch_seconds(impl, x, y, order, rounds) for name, impl in impls.items()}
    scale = N / n  # --quick times a fraction of the epoch
    print(f"{'impl':<12} {'s/epoch':>8} {'vs NumPy':>9} {'vs torch':>9} {'peak MiB':>9} "
          f"{'mem@20':>8} {'mem@400':>8}")
    few, many = 20, min(400, len(order))
    for name, impl in impls.items():
        s = seconds[name] * scale
        vs_np = seconds[name] / seconds["numpy"]
        vs_th = f"{seconds[name] / seconds['pytorch']:8.2f}x" if "pytorch" in seconds else "     n/a"
        if name == "pytorch":
            mem = f"{'n/a':>9} {'n/a':>8} {'n/a':>8}"
        else:
            peak = step_peak_bytes(impl, x, y, order[0], wraps[name]) / 2**20
            a = traced_after(impl, x, y, order, few, wraps[name]) / 2**20
            b = traced_after(impl, x, y, order, many, wraps[name]) / 2**20
            mem = f"{peak:>9.2f} {a:>8.2f} {b:>8.2f}"
        print(f"{name:<12} {s:>8.3f} {vs_np:>8.2f}x {vs_th:>9} {mem}")
    print("target: microgradnn within 1.15x of the hand-written NumPy version; "
          "peak memory within 1.2x")


if __name__ == "__main__":
    main(ARGS)
