"""Memory a graph holds after backward: bytes per kept loss, and the peak of a training loop.

Two small models (an MLP and a CNN) train with SGD. Measured, in one run:

- **bytes per kept loss**: the common mistake ``losses.append(loss)`` keeps every step's
  graph alive. After ``backward()`` a graph should hold only its structure (as PyTorch's
  does), not the values or gradients it computed. microgradnn's bytes are counted exactly
  by ``tracemalloc`` (NumPy reports its arrays to it); PyTorch's C++ graph is invisible
  to tracemalloc, so its bytes are the growth of glibc's heap in use (``mallinfo2``) plus
  what tracemalloc sees of its Python objects.
- **peak of a ``loss = step()`` loop**: the previous step's graph is alive while the next
  forward pass runs; the tracemalloc peak of such a loop against a loop that drops each
  loss at once (1.00x: the old graph costs nothing).

    python benchmarks/bench_memory.py            # about a minute
    python benchmarks/bench_memory.py --quick    # a few seconds
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import sys
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402

BATCH = 16


def _mg_models():
    mlp = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                        nn.Linear(64, 10))
    cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    return {"MLP 32-64-64-10": (mlp, (BATCH, 32)), "CNN 1x16x16, 2 conv": (cnn, (BATCH, 1, 16, 16))}


def _torch_models(torch):
    tnn = torch.nn
    mlp = tnn.Sequential(tnn.Linear(32, 64), tnn.ReLU(), tnn.Linear(64, 64), tnn.ReLU(),
                         tnn.Linear(64, 10))
    cnn = tnn.Sequential(tnn.Conv2d(1, 8, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                         tnn.Conv2d(8, 16, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                         tnn.Flatten(), tnn.Linear(16 * 4 * 4, 10))
    return {"MLP 32-64-64-10": mlp, "CNN 1x16x16, 2 conv": cnn}


def mg_step(model, shape):
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal(shape).astype(np.float32))
    y = mg.tensor(rng.integers(0, 10, size=shape[0]))
    opt = mg.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def torch_step(torch, model, shape):
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal(shape).astype(np.float32))
    y = torch.tensor(rng.integers(0, 10, size=shape[0]))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                               "usmblks", "fsmblks", "uordblks", "fordblks",
                                               "keepcost")]


def _malloc_in_use():
    """Bytes in use in the C heap (glibc's mallinfo2), or None where it is unavailable.
    PyTorch's graph nodes and tensors live there, invisible to tracemalloc."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return None

    def in_use() -> int:
        m = libc.mallinfo2()
        return m.uordblks + m.hblkhd
    return in_use


def heap_per_kept_loss(step, steps: int, in_use) -> float:
    """C-heap plus traced Python bytes still allocated per kept loss (for PyTorch)."""
    for _ in range(20):
        step()
    gc.collect()
    tracemalloc.start()
    h0, t0 = in_use(), tracemalloc.get_traced_memory()[0]
    kept = [step() for _ in range(steps)]
    gc.collect()
    per = (in_use() - h0 + tracemalloc.get_traced_memory()[0] - t0) / steps
    tracemalloc.stop()
    del kept
    return per


def traced_per_kept_loss(step, steps: int) -> float:
    """Exact Python/NumPy bytes still allocated per kept loss (tracemalloc)."""
    step()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    kept = [step() for _ in range(steps)]
    gc.collect()
    per = (tracemalloc.get_traced_memory()[0] - base) / steps
    tracemalloc.stop()
    del kept
    return per


def loop_peak(step, steps: int, keep_last: bool) -> int:
    """tracemalloc peak of ``loss = step()`` (keep_last) or ``step()`` (the loss dropped)."""
    step()
    gc.collect()
    tracemalloc.start()
    loss = step() if keep_last else None
    tracemalloc.reset_peak()
    for _ in range(steps):
        if keep_last:
            loss = step()
        else:
            step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del loss
    return peak


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="few steps (smoke test)")
    ap.add_argument("--steps", type=int, default=400, help="steps per measurement")
    args = ap.parse_args(argv)
    steps = 40 if args.quick else args.steps
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    mg.manual_seed(0)
    models = _mg_models()
    tmodels = _torch_models(torch) if torch else {}
    print(f"bytes a kept loss holds after backward (losses.append(loss)), batch {BATCH}, "
          f"{steps} steps")
    in_use = _malloc_in_use()
    print(f"{'model':<22} {'microgradnn':>12} {'pytorch':>10} {'vs torch':>9} "
          f"{'peak loss=step()':>17} {'vs dropped':>11}")
    for name, (model, shape) in models.items():
        step = mg_step(model, shape)
        ours = traced_per_kept_loss(step, steps)
        peak_kept = loop_peak(step, max(5, steps // 20), True)
        peak_dropped = loop_peak(step, max(5, steps // 20), False)
        if torch and in_use:
            theirs = heap_per_kept_loss(torch_step(torch, tmodels[name], shape), steps, in_use)
            vs = f"{ours / theirs:8.2f}x" if theirs > 0 else "     n/a"
            theirs_txt = f"{theirs / 1024:8.1f}KB"
        else:
            theirs_txt, vs = "       n/a", "     n/a"
        print(f"{name:<22} {ours / 1024:10.1f}KB {theirs_txt:>10} {vs:>9} "
              f"{peak_kept / 2**20:14.2f}MiB {peak_kept / peak_dropped:10.2f}x")
    print("targets: a kept loss within 1.5x of PyTorch's bytes; the loop's peak 1.0x "
          "(the previous graph holds nothing big)")


if __name__ == "__main__":
    main()
