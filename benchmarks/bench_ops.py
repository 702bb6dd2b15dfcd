"""Engine overhead per operation: long chains of tiny-tensor operations, forward + backward.

Prints microgradnn's time per operation beside the same chain written by hand in plain
NumPy (forward and backward, no autograd) and beside PyTorch eager when it is installed,
all measured in this one run, with ratios. Run: ``python benchmarks/bench_ops.py``.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import microgradnn as mg

# The chain cycles through a product, a sum and a nonlinearity: y <- tanh(y * a + b).
A, B = 1.0001, 0.0001


def chain_microgradnn(n_ops: int, size: int):
    x = mg.tensor(np.full(size, 0.5, np.float32), requires_grad=True)
    y = x
    for i in range(n_ops):
        k = i % 3
        y = y * A if k == 0 else (y + B if k == 1 else y.tanh())
    y.sum().backward()
    return x.grad.data


def chain_numpy(n_ops: int, size: int):
    y = np.full(size, 0.5, np.float32)
    tanh_out = []
    for i in range(n_ops):
        k = i % 3
        if k == 0:
            y = y * A
        elif k == 1:
            y = y + B
        else:
            y = np.tanh(y)
            tanh_out.append(y)
    g = np.ones(size, np.float32)
    for i in reversed(range(n_ops)):
        k = i % 3
        if k == 0:
            g = g * A
        elif k == 2:
            t = tanh_out.pop()
            g = g * (1 - t * t)
    return g


def chain_torch(torch, n_ops: int, size: int):
    x = torch.full((size,), 0.5, requires_grad=True)
    y = x
    for i in range(n_ops):
        k = i % 3
        y = y * A if k == 0 else (y + B if k == 1 else y.tanh())
    y.sum().backward()
    return x.grad


def best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--size", type=int, default=4, help="elements per tensor (tiny by default)")
    p.add_argument("--quick", action="store_true", help="few repeats (smoke test)")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats = 2
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None

    # Same result from both implementations, or the comparison means nothing.
    np.testing.assert_allclose(chain_microgradnn(300, args.size), chain_numpy(300, args.size),
                               rtol=1e-5)

    print(f"chain of tiny tensors ({args.size} elements), forward + backward, best of "
          f"{args.repeats}")
    print(f"{'ops':>8} {'impl':<12} {'total s':>10} {'us/op':>8} {'vs NumPy':>9} {'vs torch':>9}")
    for n_ops, repeats in ((1000, args.repeats), (100_000, max(2, args.repeats // 10))):
        t_mg = best_time(lambda: chain_microgradnn(n_ops, args.size), repeats)
        t_np = best_time(lambda: chain_numpy(n_ops, args.size), repeats)
        t_th = best_time(lambda: chain_torch(torch, n_ops, args.size), repeats) if torch else None
        rows = [("microgradnn", t_mg), ("numpy", t_np)] + ([("pytorch", t_th)] if torch else [])
        for name, t in rows:
            vs_np = f"{t / t_np:8.2f}x"
            vs_th = f"{t / t_th:8.2f}x" if t_th else "     n/a"
            print(f"{n_ops:>8} {name:<12} {t:>10.4f} {t / n_ops * 1e6:>8.2f} {vs_np:>9} {vs_th:>9}")
    print("targets: 1000-op chain <= 3 us/op; 100,000-op chain < 1 s")


if __name__ == "__main__":
    main()
