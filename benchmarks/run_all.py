"""Run every benchmark, one after another, each in its own process.

Each script prints its own table with ratios against the hand-written NumPy version and
PyTorch (when installed), measured in the same run. Separate processes, because some set
BLAS threading before NumPy loads.

    python benchmarks/run_all.py            # the full set, several minutes
    python benchmarks/run_all.py --quick    # a smoke run of each, well under a minute
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["bench_ops.py", "bench_mlp.py", "bench_cnn.py", "bench_mnist_cnn.py", "bench_lstm.py",
           "bench_viz.py", "bench_watch.py"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    ap.add_argument("only", nargs="*", help="run only these scripts (e.g. bench_mlp.py)")
    args = ap.parse_args(argv)
    failed = []
    for name in args.only or SCRIPTS:
        cmd = [sys.executable, str(HERE / name)]
        if args.quick and name != "bench_viz.py":
            cmd.append("--quick")
        elif args.quick:
            cmd += ["--nodes", "1000", "--rounds", "1"]
        print(f"\n=== {name} ===", flush=True)
        if subprocess.run(cmd).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
