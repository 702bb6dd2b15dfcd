"""What anomaly mode costs: nothing measurable when off, a lot when on (it is for debugging).

Times the chain of tiny-tensor operations of ``bench_ops.py`` (forward + backward) with
anomaly mode off and on, and, for the off case, the two flag tests it adds per operation
(one in recording, one per backward step) measured on their own against the time of an
operation. Run: ``python benchmarks/bench_anomaly.py``.
"""
from __future__ import annotations

import argparse
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import microgradnn as mg  # noqa: E402
from microgradnn.autograd import anomaly  # noqa: E402
from bench_ops import chain_microgradnn  # noqa: E402


def best_cpu(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.thread_time()
        fn()
        best = min(best, time.thread_time() - t0)
    return best


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    n = 1000
    off = best_cpu(lambda: chain_microgradnn(n, 4), repeats)
    with mg.autograd.detect_anomaly():
        on = best_cpu(lambda: chain_microgradnn(n, 4), max(2, repeats // 4))
    # The cost anomaly mode adds when off: two reads of a module attribute per operation.
    def timed(stmt):
        return min(timeit.repeat(stmt, globals={"anomaly": anomaly}, timer=time.thread_time,
                                 number=200_000, repeat=5)) / 200_000
    check = max(0.0, timed("if anomaly.enabled: pass") - timed("pass"))
    per_op = off / n
    print(f"chain of {n} tiny operations, forward + backward (CPU time, best of {repeats})")
    print(f"  anomaly off: {per_op * 1e6:7.2f} us/op")
    print(f"  anomaly on:  {on / n * 1e6:7.2f} us/op   ({on / off:.1f}x: stacks recorded, "
          "gradients checked)")
    print(f"  the flag tests when off: {2 * check * 1e9:.0f} ns/op = "
          f"{2 * check / per_op:.2%} of an operation")


if __name__ == "__main__":
    main()
