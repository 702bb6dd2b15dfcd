"""Benchmark: seconds per training epoch of a small MNIST-sized CNN, three ways, one process.

The model: Conv2d(1→8, 3×3) - ReLU - MaxPool 2 - Conv2d(8→16, 3×3) - ReLU - MaxPool 2 -
flatten - Linear(400→10), cross-entropy, SGD with momentum 0.9 (lr 0.01), batches of 64
drawn from 60,000 random MNIST-shaped samples (float32 (1, 28, 28), labels 0..9; seeded).
Compared, in the same process and on the same batches:

- microgradnn (``nn.Conv2d``, ``nn.MaxPool2d``, ``nn.Linear``, ``F.cross_entropy``,
  ``optim.SGD``);
- a plain NumPy version: forward, backward and update written out by hand with a
  straightforward im2col (no autograd: the floor for a NumPy engine doing this work);
- PyTorch (CPU), when installed.

All three start from the same weights; their losses over the first steps are printed as a
sanity check. An epoch is 938 batches; the script times a fraction of it and extrapolates:
by default 100 batches per implementation, as 5 interleaved rounds of 20 (the machine is
shared, so the least disturbed round counts). Both wall-clock and CPU time are shown; CPU
time is steadier when other processes compete for the cores. Peak memory is the
tracemalloc peak during one training step (PyTorch's allocator is invisible to
tracemalloc: n/a).

Two process settings matter a lot on a small shared machine and apply to all three
implementations alike: the number of BLAS/PyTorch threads (``--threads``, default 2) and
glibc's habit of returning freed multi-MB blocks to the OS (changed with ``mallopt``
unless ``--no-mallopt``; see ``_keep_freed_memory``).

    python benchmarks/bench_cnn.py                # about a minute
    python benchmarks/bench_cnn.py --threads 1    # fairer when the machine is busy
    python benchmarks/bench_cnn.py --quick        # a few seconds
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402
from microgradnn.nn import functional as F  # noqa: E402

SAMPLES, BATCH, CLASSES, LR, MOMENTUM = 60_000, 64, 10, 0.01, 0.9
BATCHES_PER_EPOCH = -(-SAMPLES // BATCH)  # 938


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """60,000 random images (N, 1, 28, 28) float32 and labels 0..9, in shuffled order."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((SAMPLES, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, CLASSES, SAMPLES)
    return x, y


def batches(x: np.ndarray, y: np.ndarray, start: int, count: int):
    """``count`` consecutive mini-batches, wrapping around the data set."""
    for b in range(start, start + count):
        i = (b % BATCHES_PER_EPOCH) * BATCH
        yield x[i:i + BATCH], y[i:i + BATCH]


# ---------------------------------------------------------------------------- microgradnn
class Microgradnn:
    name = "microgradnn"

    def __init__(self) -> None:
        mg.manual_seed(0)
        self.model = nn.Sequential(
            nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(400, 10))
        self.opt = mg.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)

    def weights(self) -> dict[str, np.ndarray]:
        return {k: v.data.copy() for k, v in self.model.state_dict().items()}

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        loss = F.cross_entropy(self.model(mg.tensor(x)), mg.tensor(y))
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()


# ---------------------------------------------------------------------------- NumPy
def _im2col(x: np.ndarray, k: int) -> np.ndarray:
    """(N, C, H, W) -> (N, C·k·k, Ho·Wo) columns of every k×k window (stride 1)."""
    n, c, h, w = x.shape
    win = sliding_window_view(x, (k, k), axis=(2, 3))        # (N, C, Ho, Wo, k, k) view
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * k * k, (h - k + 1) * (w - k + 1))


def _col2im(cols: np.ndarray, shape: tuple, k: int) -> np.ndarray:
    """Adjoint of _im2col: add every window's column back onto its pixels."""
    n, c, h, w = shape
    ho, wo = h - k + 1, w - k + 1
    cols = cols.reshape(n, c, k, k, ho, wo)
    out = np.zeros(shape, dtype=cols.dtype)
    for i in range(k):
        for j in range(k):
            out[:, :, i:i + ho, j:j + wo] += cols[:, :, i, j]
    return out


def _pool2(a: np.ndarray) -> np.ndarray:
    """2×2 max pool with stride 2 (floor): the maximum of the four strided quarter views."""
    n, c, h, w = a.shape
    q = [a[:, :, i:h // 2 * 2:2, j:w // 2 * 2:2] for i in (0, 1) for j in (0, 1)]
    return np.maximum(np.maximum(q[0], q[1]), np.maximum(q[2], q[3]))


def _unpool2(g: np.ndarray, a: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Gradient of _pool2: each window's gradient goes to its first maximum."""
    n, c, h, w = a.shape
    out = np.zeros(a.shape, dtype=g.dtype)
    taken = np.zeros(p.shape, dtype=bool)
    for i in (0, 1):
        for j in (0, 1):
            hit = (a[:, :, i:h // 2 * 2:2, j:w // 2 * 2:2] == p) & ~taken
            taken |= hit
            out[:, :, i:h // 2 * 2:2, j:w // 2 * 2:2] = g * hit
    return out


class Numpy:
    name = "NumPy (by hand)"

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.p = {k: w.copy() for k, w in weights.items()}
        self.buf: dict[str, np.ndarray] = {}

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        p = self.p
        n = x.shape[0]
        w1, b1 = p["0.weight"].reshape(8, 9), p["0.bias"]
        w2, b2 = p["3.weight"].reshape(16, 72), p["3.bias"]
        w3, b3 = p["7.weight"], p["7.bias"]
        # forward
        cols1 = _im2col(x, 3)                                   # (N, 9, 676)
        z1 = (w1 @ cols1 + b1[:, None]).reshape(n, 8, 26, 26)
        a1 = np.maximum(z1, 0)
        p1 = _pool2(a1)                                         # (N, 8, 13, 13)
        cols2 = _im2col(p1, 3)                                  # (N, 72, 121)
        z2 = (w2 @ cols2 + b2[:, None]).reshape(n, 16, 11, 11)
        a2 = np.maximum(z2, 0)
        p2 = _pool2(a2)                                         # (N, 16, 5, 5)
        f = p2.reshape(n, 400)
        logits = f @ w3.T + b3
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(n), y].mean()
        # backward
        dlogits = np.exp(logp)
        dlogits[np.arange(n), y] -= 1
        dlogits /= n
        g = {"7.weight": dlogits.T @ f, "7.bias": dlogits.sum(0)}
        dp2 = (dlogits @ w3).reshape(p2.shape)
        dz2 = _unpool2(dp2, a2, p2) * (z2 > 0)
        dz2 = dz2.reshape(n, 16, 121)
        g["3.weight"] = (dz2 @ cols2.transpose(0, 2, 1)).sum(0).reshape(16, 8, 3, 3)
        g["3.bias"] = dz2.sum(axis=(0, 2))
        dp1 = _col2im(w2.T @ dz2, p1.shape, 3)
        dz1 = (_unpool2(dp1, a1, p1) * (z1 > 0)).reshape(n, 8, 676)
        g["0.weight"] = (dz1 @ cols1.transpose(0, 2, 1)).sum(0).reshape(8, 1, 3, 3)
        g["0.bias"] = dz1.sum(axis=(0, 2))
        sgd_momentum(p, g, self.buf, LR, MOMENTUM)
        return float(loss)


def sgd_momentum(params: dict, grads: dict, bufs: dict, lr: float, momentum: float) -> None:
    """SGD with momentum in PyTorch's form, in place: buf = μ·buf + g; p -= lr·buf."""
    for k, gk in grads.items():
        if k in bufs:
            bufs[k] *= momentum
            bufs[k] += gk
        else:
            bufs[k] = gk.astype(params[k].dtype, copy=True)
        params[k] -= lr * bufs[k]


# ---------------------------------------------------------------------------- PyTorch
class Torch:
    name = "PyTorch"

    def __init__(self, weights: dict[str, np.ndarray], threads: int) -> None:
        import torch
        self.torch = torch
        torch.set_num_threads(threads)
        tn = torch.nn
        self.model = tn.Sequential(
            tn.Conv2d(1, 8, 3), tn.ReLU(), tn.MaxPool2d(2),
            tn.Conv2d(8, 16, 3), tn.ReLU(), tn.MaxPool2d(2),
            tn.Flatten(), tn.Linear(400, 10))
        self.model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        torch = self.torch
        loss = torch.nn.functional.cross_entropy(self.model(torch.from_numpy(x)),
                                                 torch.from_numpy(y))
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()


# ---------------------------------------------------------------------------- measuring
def _limit_blas_threads(n: int) -> str:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return "default (install threadpoolctl to set them)"
    _limit_blas_threads.handle = threadpool_limits(limits=n, user_api="blas")
    return str(n)


def _keep_freed_memory() -> str:
    """Ask glibc to keep large freed blocks for reuse instead of unmapping them.

    Every training step allocates and frees arrays of a few MB. By default glibc maps each
    fresh from the OS and unmaps it on free, so every step pays a page fault per 4 KB
    touched; on the 2-core virtual machine this was written on, that alone made the
    microgradnn step 1.7x slower (5.9 -> 9.9 ms of CPU time) and the hand-written NumPy
    one about 1.5x. The setting applies to the whole process, so to all three implementations
    (PyTorch's CPU allocator also calls malloc).
    """
    import ctypes
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = (libc.mallopt(m_mmap_threshold, 1 << 30) == 1
              and libc.mallopt(m_trim_threshold, 1 << 30) == 1)
    except (OSError, AttributeError):
        ok = False
    return "freed blocks kept for reuse (mallopt)" if ok else "glibc defaults (mallopt unavailable)"


def timed(impl, x, y, start: int, count: int) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds of this process) for ``count`` training steps."""
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    for xb, yb in batches(x, y, start, count):
        impl.step(xb, yb)
    return time.perf_counter() - t0, time.process_time() - c0


def peak_memory(impl, x, y) -> int:
    """tracemalloc peak (bytes) during one training step."""
    xb, yb = next(batches(x, y, 0, 1))
    gc.collect()
    tracemalloc.start()
    try:
        impl.step(xb, yb)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a short run (smoke test)")
    ap.add_argument("--batches", type=int, default=None,
                    help="batches timed per implementation (default 100, quick 10)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="interleaved timing rounds; the best counts (default 5, quick 1)")
    ap.add_argument("--threads", type=int, default=2,
                    help="threads for NumPy's BLAS and for PyTorch (default 2). On a busy "
                         "machine 1 is fairer: idle OpenMP/BLAS threads spin and steal the "
                         "cores the other library needs")
    ap.add_argument("--no-mallopt", action="store_true",
                    help="keep glibc's default of returning large freed blocks to the OS")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    args = ap.parse_args(argv)
    count = args.batches or (10 if args.quick else 100)
    rounds = args.rounds or (1 if args.quick else 5)
    per_round = max(1, count // rounds) if not args.quick else count

    blas_note = _limit_blas_threads(args.threads)
    mallopt_note = "glibc defaults" if args.no_mallopt else _keep_freed_memory()
    x, y = make_data()
    ours = Microgradnn()
    impls = [ours, Numpy(ours.weights())]
    if not args.no_torch:
        try:
            impls.append(Torch(ours.weights(), args.threads))
        except ImportError:
            print("PyTorch not installed: skipping it")

    # Sanity: the same weights and batches give the same losses.
    losses = {impl.name: [impl.step(xb, yb) for xb, yb in batches(x, y, 0, 3)]
              for impl in impls}
    for name, ls in losses.items():
        print(f"first losses  {name:<16} " + "  ".join(f"{v:.5f}" for v in ls))

    # Interleaved rounds: each implementation runs `per_round` batches per round; the
    # fastest round per implementation is the least disturbed by other processes.
    best = {impl.name: float("inf") for impl in impls}
    best_cpu = dict(best)
    start = 3
    for _ in range(rounds):
        for impl in impls:
            wall, cpu = timed(impl, x, y, start, per_round)
            best[impl.name] = min(best[impl.name], wall)
            best_cpu[impl.name] = min(best_cpu[impl.name], cpu)
        start += per_round
    mem = {impl.name: (peak_memory(impl, x, y) if not isinstance(impl, Torch) else None)
           for impl in impls}

    per_epoch = {k: v / per_round * BATCHES_PER_EPOCH for k, v in best.items()}
    cpu_epoch = {k: v / per_round * BATCHES_PER_EPOCH for k, v in best_cpu.items()}
    torch_name = "PyTorch" if "PyTorch" in per_epoch else None
    print(f"\nCNN 1-8-16 conv/pool + linear 400->10, batch {BATCH}, {SAMPLES:,} samples: "
          f"timed {per_round} batches x {rounds} round(s) (best round), extrapolated to "
          f"{BATCHES_PER_EPOCH} batches/epoch")
    print(f"NumPy {np.__version__}, BLAS threads: {blas_note}; malloc: {mallopt_note}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 1.0 and args.threads > 1:
        print(f"note: load average {load:.1f} on {os.cpu_count()} cores; with other work "
              f"running, multi-threaded BLAS/OpenMP spin and slow down (PyTorch most); "
              f"--threads 1 compares the libraries more fairly")
    if torch_name:
        import torch
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"\n{'implementation':<18}{'s/epoch':>9}{'ms/batch':>10}{'vs PyTorch':>12}"
          f"{'vs NumPy':>10}{'CPU s/epoch':>13}{'peak MB/step':>14}")
    for name, sec in per_epoch.items():
        vs_t = f"{sec / per_epoch[torch_name]:.2f}x" if torch_name else "-"
        vs_n = f"{sec / per_epoch['NumPy (by hand)']:.2f}x"
        m = mem[name]
        m = f"{m / 2**20:.1f}" if m is not None else "n/a"
        print(f"{name:<18}{sec:>9.2f}{sec / BATCHES_PER_EPOCH * 1e3:>10.2f}{vs_t:>12}"
              f"{vs_n:>10}{cpu_epoch[name]:>13.2f}{m:>14}")
    ours_cpu = cpu_epoch["microgradnn"]
    ratios = [f"{ours_cpu / cpu_epoch['NumPy (by hand)']:.2f}x NumPy"]
    if torch_name:
        ratios.insert(0, f"{ours_cpu / cpu_epoch[torch_name]:.2f}x PyTorch")
    print(f"\nmicrogradnn in CPU time (steadier than wall time on a shared machine): "
          f"{', '.join(ratios)}")
    print("s/epoch: best round's wall time per batch x 938 (extrapolated, not a full epoch); "
          "peak MB: tracemalloc peak during one step (PyTorch: n/a, its allocator is not "
          "traced)")


if __name__ == "__main__":
    main()
