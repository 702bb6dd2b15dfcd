"""Benchmark: one training step of a small LSTM classifier, three ways, in one process.

The model: ``LSTMCell(16, 64)`` unrolled over 50 time steps on a batch of 32, a linear
head 64 -> 10 on the last h, cross-entropy, Adam (lr 1e-3). One training step is
forward + backward + update. Compared:

- microgradnn: ``nn.LSTMCell``, ``nn.Linear``, ``F.cross_entropy``, ``optim.Adam``;
- a hand-written NumPy version: forward and backward derived by hand, Adam by hand
  (the floor for any NumPy-based engine doing the same work). It is written the plain
  way, x @ Wᵀ; the library's fused LSTM step computes W @ xᵀ instead, which OpenBLAS
  runs faster here: written that way the NumPy version gained about 7%;
- PyTorch (CPU), when installed.

All three start from the same weights and see the same batch; their first losses are
compared as a sanity check. Printed: ms per step (best of several rounds, since this
machine is shared), the ratios, the CPU time per step (steadier than the wall clock when
other processes compete for the cores), the tracemalloc peak during one step (NumPy-based
versions only: PyTorch's allocator is invisible to tracemalloc) and the traced memory
after many steps against after a few (it should stay flat: no graph kept alive).

BLAS and PyTorch run single-threaded by default (``--threads N`` to change): at these
sizes threads do not pay off, and on a busy machine PyTorch's spinning worker threads
slow down the NumPy code that runs next in the same process by an order of magnitude.

    python benchmarks/bench_lstm.py            # full run, under a minute
    python benchmarks/bench_lstm.py --quick    # a few seconds
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
    ap.add_argument("--quick", action="store_true", help="few steps, one round (smoke test)")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for BLAS and PyTorch (default 1)")
    return ap.parse_args(argv)


ARGS = _parse_args() if __name__ == "__main__" else None
if ARGS is not None:  # before NumPy loads its BLAS, which reads these once
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

SEQ, BATCH, IN, HIDDEN, CLASSES, LR = 50, 32, 16, 64, 10, 1e-3


def make_problem(seed: int = 0) -> tuple[dict, np.ndarray, np.ndarray]:
    """Initial weights (PyTorch's shapes and init ranges), inputs (seq, batch, in), labels."""
    rng = np.random.default_rng(seed)
    k = 1 / np.sqrt(HIDDEN)
    shapes = {"weight_ih": (4 * HIDDEN, IN), "weight_hh": (4 * HIDDEN, HIDDEN),
              "bias_ih": (4 * HIDDEN,), "bias_hh": (4 * HIDDEN,),
              "head_w": (CLASSES, HIDDEN), "head_b": (CLASSES,)}
    weights = {n: rng.uniform(-k, k, s).astype(np.float32) for n, s in shapes.items()}
    x = rng.standard_normal((SEQ, BATCH, IN)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH)
    return weights, x, y


# ---------------------------------------------------------------------------- NumPy
class NumpyLSTM:
    """The same model with forward and backward written out by hand, and Adam by hand."""

    def __init__(self, weights: dict, x: np.ndarray, y: np.ndarray) -> None:
        self.p = {n: w.copy() for n, w in weights.items()}
        self.m = {n: np.zeros_like(w) for n, w in self.p.items()}
        self.v = {n: np.zeros_like(w) for n, w in self.p.items()}
        self.t = 0
        self.x, self.y = x, y

    def step(self) -> float:
        p, x, y, H = self.p, self.x, self.y, HIDDEN
        w_ih, w_hh, b = p["weight_ih"], p["weight_hh"], p["bias_ih"] + p["bias_hh"]
        h = np.zeros((BATCH, H), np.float32)
        c = np.zeros((BATCH, H), np.float32)
        tape = []
        for t in range(SEQ):
            z = x[t] @ w_ih.T + h @ w_hh.T + b
            a = 1 / (1 + np.exp(-z))                   # sigmoid for i, f, o ...
            a[:, 2 * H:3 * H] = np.tanh(z[:, 2 * H:3 * H])   # ... and tanh for g
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            c_new = f * c + i * g
            tc = np.tanh(c_new)
            tape.append((h, c, a, tc))
            h, c = o * tc, c_new
        logits = h @ p["head_w"].T + p["head_b"]
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        rows = np.arange(BATCH)
        loss = -logp[rows, y].mean()

        grads = {}
        dlogits = np.exp(logp)
        dlogits[rows, y] -= 1
        dlogits /= BATCH
        grads["head_w"] = dlogits.T @ h
        grads["head_b"] = dlogits.sum(axis=0)
        dh = dlogits @ p["head_w"]
        dc = np.zeros_like(dh)
        dw_ih, dw_hh = np.zeros_like(w_ih), np.zeros_like(w_hh)
        db = np.zeros_like(b)
        for t in reversed(range(SEQ)):
            h_prev, c_prev, a, tc = tape[t]
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            dc = dc + dh * o * (1 - tc * tc)
            dz = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                                 dc * i * (1 - g * g), dh * tc * o * (1 - o)], axis=1)
            dw_ih += dz.T @ x[t]
            dw_hh += dz.T @ h_prev
            db += dz.sum(axis=0)
            dh = dz @ w_hh
            dc = dc * f
        grads.update(weight_ih=dw_ih, weight_hh=dw_hh, bias_ih=db, bias_hh=db)

        self.t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        for n, w in p.items():
            g = grads[n]
            self.m[n] = b1 * self.m[n] + (1 - b1) * g
            self.v[n] = b2 * self.v[n] + (1 - b2) * g * g
            m_hat = self.m[n] / (1 - b1 ** self.t)
            v_hat = self.v[n] / (1 - b2 ** self.t)
            w -= LR * m_hat / (np.sqrt(v_hat) + eps)
        return float(loss)


# ---------------------------------------------------------------------------- microgradnn
class MicrogradLSTM:
    """``nn.LSTMCell`` unrolled by hand, ``nn.Linear`` head, ``F.cross_entropy``, ``optim.Adam``."""

    def __init__(self, weights: dict, x: np.ndarray, y: np.ndarray) -> None:
        import microgradnn as mg
        from microgradnn import nn, optim
        from microgradnn.nn import functional as F

        self.F = F
        self.cell = nn.LSTMCell(IN, HIDDEN)
        self.head = nn.Linear(HIDDEN, CLASSES)
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(self.cell, n).data = weights[n].copy()
        self.head.weight.data = weights["head_w"].copy()
        self.head.bias.data = weights["head_b"].copy()
        self.opt = optim.Adam(list(self.cell.parameters()) + list(self.head.parameters()), lr=LR)
        self.x = mg.tensor(x)
        self.y = mg.tensor(y)

    def step(self) -> float:
        self.opt.zero_grad()
        state = None
        for t in range(SEQ):
            state = self.cell(self.x[t], state)
        loss = self.F.cross_entropy(self.head(state[0]), self.y)
        loss.backward()
        self.opt.step()
        return loss.item()


# ---------------------------------------------------------------------------- PyTorch
class TorchLSTM:
    """The same model in PyTorch (CPU, default thread settings)."""

    def __init__(self, weights: dict, x: np.ndarray, y: np.ndarray) -> None:
        import torch

        if ARGS is not None:
            torch.set_num_threads(ARGS.threads)
        self.torch = torch
        self.cell = torch.nn.LSTMCell(IN, HIDDEN)
        self.head = torch.nn.Linear(HIDDEN, CLASSES)
        with torch.no_grad():
            for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(self.cell, n).copy_(torch.from_numpy(weights[n]))
            self.head.weight.copy_(torch.from_numpy(weights["head_w"]))
            self.head.bias.copy_(torch.from_numpy(weights["head_b"]))
        params = list(self.cell.parameters()) + list(self.head.parameters())
        self.opt = torch.optim.Adam(params, lr=LR)
        self.x = torch.from_numpy(x)
        self.y = torch.from_numpy(y)

    def step(self) -> float:
        torch = self.torch
        self.opt.zero_grad()
        state = None
        for t in range(SEQ):
            state = self.cell(self.x[t], state)
        loss = torch.nn.functional.cross_entropy(self.head(state[0]), self.y)
        loss.backward()
        self.opt.step()
        return loss.item()


# ---------------------------------------------------------------------------- measuring
def ms_per_step(model, steps: int) -> tuple[float, float]:
    """(wall-clock, CPU) milliseconds per step. With one thread the CPU time leaves out
    the waits for a core, so it is the steadier measure on a busy machine."""
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        model.step()
    return ((time.perf_counter() - t0) / steps * 1e3, (time.process_time() - c0) / steps * 1e3)


def peak_bytes_one_step(model) -> int:
    """tracemalloc peak above the memory in use before the step."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        model.step()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def memory_growth(model, few: int, many: int) -> tuple[int, int]:
    """Traced memory in use after ``few`` and after ``many`` steps (from tracing's start)."""
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(few):
            model.step()
        gc.collect()
        after_few = tracemalloc.get_traced_memory()[0]
        for _ in range(many - few):
            model.step()
        gc.collect()
        after_many = tracemalloc.get_traced_memory()[0]
        return after_few, after_many
    finally:
        tracemalloc.stop()


def main() -> None:
    args = ARGS
    steps, rounds, warmup = (5, 1, 2) if args.quick else (40, 5, 10)
    few, many = (5, 20) if args.quick else (20, 200)

    weights, x, y = make_problem()
    models = {"microgradnn": MicrogradLSTM(weights, x, y),
              "numpy (by hand)": NumpyLSTM(weights, x, y)}
    try:
        models["pytorch"] = TorchLSTM(weights, x, y)
    except ImportError:
        pass

    first = {name: m.step() for name, m in models.items()}
    spread = max(first.values()) - min(first.values())
    print(f"LSTMCell({IN}, {HIDDEN}) x {SEQ} steps, batch {BATCH}, head {HIDDEN}->{CLASSES}, "
          f"cross-entropy, Adam(lr={LR}); {args.threads} thread(s)")
    print("first losses: " + ", ".join(f"{n} {v:.6f}" for n, v in first.items())
          + f"  ({'agree' if spread < 1e-4 else 'DISAGREE'})")

    for m in models.values():
        for _ in range(warmup):
            m.step()
    best = {name: float("inf") for name in models}
    cpu = dict(best)
    for _ in range(rounds):  # interleaved rounds: load from other processes hits all alike
        for name, m in models.items():
            wall, used = ms_per_step(m, steps)
            best[name], cpu[name] = min(best[name], wall), min(cpu[name], used)

    peaks = {n: (peak_bytes_one_step(m) if n != "pytorch" else None) for n, m in models.items()}
    growth = {n: (memory_growth(m, few, many) if n != "pytorch" else None)
              for n, m in models.items()}

    ref_np = best["numpy (by hand)"]
    ref_pt = best.get("pytorch")
    print()
    print(f"{'':16s} {'ms/step':>8s} {'vs numpy':>9s} {'vs torch':>9s} {'cpu ms':>7s} "
          f"{'peak 1 step':>12s} {f'mem@{few}':>10s} {f'mem@{many}':>10s}")
    for name in models:
        ms = best[name]
        vs_pt = f"{ms / ref_pt:8.2f}x" if ref_pt else "      n/a"
        peak = f"{peaks[name] / 2**20:9.2f} MiB" if peaks[name] is not None else "         n/a"
        if growth[name] is None:
            g1 = g2 = "n/a"
        else:
            g1, g2 = (f"{v / 2**20:.2f} MiB" for v in growth[name])
        print(f"{name:16s} {ms:8.2f} {ms / ref_np:8.2f}x {vs_pt} {cpu[name]:7.2f} {peak} "
              f"{g1:>10s} {g2:>10s}")
    ratios = [f"vs numpy {cpu['microgradnn'] / cpu['numpy (by hand)']:.2f}x"]
    if "pytorch" in cpu:
        ratios.append(f"vs torch {cpu['microgradnn'] / cpu['pytorch']:.2f}x")
    print(f"\nmicrogradnn by CPU time: {', '.join(ratios)}")
    print(f"(best of {rounds} rounds of {steps} steps; memory columns: traced memory in use "
          f"after {few} and {many} steps, should be flat)")


if __name__ == "__main__":
    main()
