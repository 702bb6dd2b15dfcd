"""Benchmark: the CNN of PyTorch's MNIST example, three ways, as ratios from one run.

The network (PyTorch's examples/mnist): Conv2d(1→32, 3×3) - ReLU - Conv2d(32→64, 3×3) -
ReLU - MaxPool 2 - [Dropout 0.25] - flatten - Linear(9216→128) - ReLU - [Dropout 0.5] -
Linear(128→10) - log_softmax - nll_loss; batches of 64 random MNIST-shaped images
(float32 (1, 28, 28), labels 0..9, seeded). Compared on the same weights and batches:

- microgradnn (``nn`` layers, ``F.log_softmax`` + ``F.nll_loss``, ``optim.SGD``);
- NumPy by hand: forward, backward and update written out with im2col (no autograd;
  the floor for a NumPy engine doing this work; without dropout, SGD only);
- PyTorch (CPU), when installed.

Measured: a training step (SGD, momentum 0.9, lr 0.01; ``--adadelta`` uses Adadelta as the
example does, ``--dropout`` turns the example's dropout on), a no-grad forward pass over
1,000 images, and the peak RSS of a process that only trains (``--rss``: each
implementation in a fresh process, same data). Timing is interleaved rounds; the least
disturbed round counts, in CPU time of the process (steadier than wall time on a shared
machine) and wall time. Threads: ``--threads`` (default 1) for BLAS and PyTorch alike.
glibc's malloc is left at its defaults, as users have it, and each implementation is timed
in a process of its own (a worker this script starts; the rounds still interleave): in one
shared process, whichever implementation first frees a large block raises glibc's
mmap and trim thresholds for all of them (measured: that hid about 13 ms of page faults a
step from microgradnn's figure before ops/conv.py reused its buffers, and 3-4 ms from
PyTorch's). ``--shared-process`` times them all in this process, as before. ``--baseline
CHECKOUT`` adds microgradnn imported from another checkout to the same interleaved rounds
(an A/B of two versions in one run).

    python benchmarks/bench_mnist_cnn.py              # about a minute
    python benchmarks/bench_mnist_cnn.py --quick      # a few seconds
    python benchmarks/bench_mnist_cnn.py --threads 2 --dropout --adadelta
    python benchmarks/bench_mnist_cnn.py --baseline ../main   # this checkout against another
"""
from __future__ import annotations

import argparse
import gc
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# run from a checkout; a --baseline worker imports microgradnn from the other checkout first
_TREE = os.environ.get("BENCH_MICROGRADNN_TREE")
sys.path.insert(0, _TREE or str(Path(__file__).resolve().parents[1]))
if _TREE:
    import microgradnn  # noqa: E402  (before bench_cnn puts this checkout first)
    assert Path(microgradnn.__file__).resolve().is_relative_to(Path(_TREE).resolve())
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cnn import sgd_momentum  # noqa: E402  (the hand-written update, shared)

BATCH, LR, MOMENTUM, EVAL_BATCH = 64, 0.01, 0.9, 1000


def make_batches(count: int, seed: int = 0, batch: int = BATCH):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((batch, 1, 28, 28), dtype=np.float32),
             rng.integers(0, 10, batch)) for _ in range(count)]


# ---------------------------------------------------------------------------- microgradnn
class Microgradnn:
    name = "microgradnn"

    def __init__(self, dropout: bool, adadelta: bool) -> None:
        import microgradnn as mg
        from microgradnn import nn
        from microgradnn.nn import functional as F
        self.mg, self.F = mg, F
        mg.manual_seed(0)
        p1, p2 = (0.25, 0.5) if dropout else (0.0, 0.0)
        self.model = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Dropout(p1), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(p2),
            nn.Linear(128, 10))
        params = self.model.parameters()
        self.opt = (mg.optim.Adadelta(params, lr=1.0) if adadelta
                    else mg.optim.SGD(params, lr=LR, momentum=MOMENTUM))

    def weights(self) -> dict[str, np.ndarray]:
        return {k: v.data.copy() for k, v in self.model.state_dict().items()}

    def step(self, x, y) -> float:
        mg, F = self.mg, self.F
        self.model.train()
        loss = F.nll_loss(F.log_softmax(self.model(mg.tensor(x)), dim=1), mg.tensor(y))
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()

    def evaluate(self, x) -> np.ndarray:
        self.model.eval()
        with self.mg.no_grad():
            return self.F.log_softmax(self.model(self.mg.tensor(x)), dim=1).data


# ---------------------------------------------------------------------------- NumPy
def _im2col(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N, C·9, Ho·Wo): every 3×3 window (stride 1), PyTorch's row order."""
    n, c, h, w = x.shape
    win = sliding_window_view(x, (3, 3), axis=(2, 3))        # (N, C, Ho, Wo, 3, 3)
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * 9, (h - 2) * (w - 2))


def _col2im(cols: np.ndarray, shape: tuple) -> np.ndarray:
    n, c, h, w = shape
    ho, wo = h - 2, w - 2
    cols = cols.reshape(n, c, 3, 3, ho, wo)
    out = np.zeros(shape, dtype=cols.dtype)
    for i in range(3):
        for j in range(3):
            out[:, :, i:i + ho, j:j + wo] += cols[:, :, i, j]
    return out


class Numpy:
    name = "NumPy (by hand)"

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.p = {k: w.copy() for k, w in weights.items()}
        self.buf: dict[str, np.ndarray] = {}

    def _forward(self, x):
        p = self.p
        n = x.shape[0]
        cols1 = _im2col(x)                                                   # (N, 9, 676)
        z1 = (p["0.weight"].reshape(32, 9) @ cols1 + p["0.bias"][:, None]).reshape(n, 32, 26, 26)
        a1 = np.maximum(z1, 0)
        cols2 = _im2col(a1)                                                  # (N, 288, 576)
        z2 = (p["2.weight"].reshape(64, 288) @ cols2 + p["2.bias"][:, None]).reshape(n, 64, 24, 24)
        a2 = np.maximum(z2, 0)
        win = a2.reshape(n, 64, 12, 2, 12, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, 64, 12, 12, 4)
        arg = win.argmax(-1)
        pooled = np.take_along_axis(win, arg[..., None], -1)[..., 0]
        f = pooled.reshape(n, 9216)
        z3 = f @ p["7.weight"].T + p["7.bias"]
        a3 = np.maximum(z3, 0)
        logits = a3 @ p["10.weight"].T + p["10.bias"]
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return logp, (cols1, z1, a1, cols2, z2, arg, f, z3, a3)

    def evaluate(self, x):
        return self._forward(x)[0]

    def step(self, x, y) -> float:
        p = self.p
        n = x.shape[0]
        logp, (cols1, z1, a1, cols2, z2, arg, f, z3, a3) = self._forward(x)
        loss = -logp[np.arange(n), y].mean()
        d = np.exp(logp)
        d[np.arange(n), y] -= 1
        d /= n
        g = {"10.weight": d.T @ a3, "10.bias": d.sum(0)}
        dz3 = (d @ p["10.weight"]) * (z3 > 0)
        g["7.weight"], g["7.bias"] = dz3.T @ f, dz3.sum(0)
        dpool = (dz3 @ p["7.weight"]).reshape(n, 64, 12, 12)
        dwin = np.zeros((n, 64, 12, 12, 4), dtype=dpool.dtype)
        np.put_along_axis(dwin, arg[..., None], dpool[..., None], -1)
        da2 = dwin.reshape(n, 64, 12, 12, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, 64, 24, 24)
        dz2 = (da2 * (z2 > 0)).reshape(n, 64, 576)
        g["2.weight"] = (dz2 @ cols2.transpose(0, 2, 1)).sum(0).reshape(64, 32, 3, 3)
        g["2.bias"] = dz2.sum(axis=(0, 2))
        da1 = _col2im(p["2.weight"].reshape(64, 288).T @ dz2, a1.shape)
        dz1 = (da1 * (z1 > 0)).reshape(n, 32, 676)
        g["0.weight"] = (dz1 @ cols1.transpose(0, 2, 1)).sum(0).reshape(32, 1, 3, 3)
        g["0.bias"] = dz1.sum(axis=(0, 2))
        sgd_momentum(p, g, self.buf, LR, MOMENTUM)
        return float(loss)


# ---------------------------------------------------------------------------- PyTorch
class Torch:
    name = "PyTorch"

    def __init__(self, weights, threads: int, dropout: bool, adadelta: bool) -> None:
        import torch
        self.torch = torch
        torch.set_num_threads(threads)
        tn = torch.nn
        p1, p2 = (0.25, 0.5) if dropout else (0.0, 0.0)
        self.model = tn.Sequential(
            tn.Conv2d(1, 32, 3), tn.ReLU(), tn.Conv2d(32, 64, 3), tn.ReLU(), tn.MaxPool2d(2),
            tn.Dropout(p1), tn.Flatten(), tn.Linear(9216, 128), tn.ReLU(), tn.Dropout(p2),
            tn.Linear(128, 10))
        self.model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
        params = self.model.parameters()
        self.opt = (torch.optim.Adadelta(params, lr=1.0) if adadelta
                    else torch.optim.SGD(params, lr=LR, momentum=MOMENTUM))

    def step(self, x, y) -> float:
        torch = self.torch
        self.model.train()
        out = torch.log_softmax(self.model(torch.from_numpy(x)), dim=1)
        loss = torch.nn.functional.nll_loss(out, torch.from_numpy(y))
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()

    def evaluate(self, x):
        self.model.eval()
        with self.torch.no_grad():
            return self.torch.log_softmax(self.model(self.torch.from_numpy(x)), dim=1).numpy()


# ---------------------------------------------------------------------------- measuring
def _limit_threads(n: int) -> str:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return "default (install threadpoolctl to set them)"
    _limit_threads.handle = threadpool_limits(limits=n, user_api="blas")
    return str(n)


def best_of(fn, rounds: int, reps: int) -> tuple[float, float]:
    """(best wall s, best CPU s) per call of ``fn`` over ``rounds`` rounds of ``reps`` calls."""
    wall = cpu = float("inf")
    for _ in range(rounds):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(reps):
            fn()
        wall = min(wall, (time.perf_counter() - t0) / reps)
        cpu = min(cpu, (time.process_time() - c0) / reps)
    return wall, cpu


def make_impls(args, only: str | None = None):
    ours = Microgradnn(args.dropout, args.adadelta)
    impls = [ours]
    if not (args.dropout or args.adadelta) and only in (None, Numpy.name):
        impls.append(Numpy(ours.weights()))
    if not args.no_torch and only in (None, Torch.name):
        try:
            impls.append(Torch(ours.weights(), args.threads, args.dropout, args.adadelta))
        except ImportError:
            print("PyTorch not installed: skipping it")
    return impls


def _peak_rss_bytes() -> int:
    """This process's peak resident set size. VmHWM, not getrusage's ru_maxrss: Linux
    carries ru_maxrss over from before exec, so a child started by a big parent would
    report at least the parent's size."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss_child(args) -> None:
    """In a fresh process: train ``args.steps`` steps with one implementation, print peak RSS."""
    _limit_threads(args.threads)
    try:
        import torch  # noqa: F401  every child imports the same libraries as the baseline
    except ImportError:
        pass
    if args.rss_child == "none":          # the baseline: libraries imported, nothing trained
        import microgradnn  # noqa: F401
        print(_peak_rss_bytes())
        return
    impls = {impl.name: impl for impl in make_impls(args, only=args.rss_child)}
    impl = impls[args.rss_child]
    for other in list(impls):
        if other != args.rss_child:
            del impls[other]              # the weights' source only; free it before training
    for x, y in make_batches(args.steps):
        impl.step(x, y)
    print(_peak_rss_bytes())


def peak_rss(args, name: str, tree: str | None = None) -> int | None:
    cmd = [sys.executable, __file__, "--rss-child", name, "--threads", str(args.threads),
           "--steps", "5"] + (["--dropout"] if args.dropout else []) \
        + (["--adadelta"] if args.adadelta else [])
    done = subprocess.run(cmd, capture_output=True, text=True, env=_tree_env(tree))
    if done.returncode != 0:
        print(f"peak RSS of {name} failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return int(done.stdout.split()[-1])


def baseline_rss(args) -> int:
    """Peak RSS of a process that imported everything but trained nothing."""
    cmd = [sys.executable, __file__, "--rss-child", "none"]
    return int(subprocess.run(cmd, capture_output=True, text=True).stdout.split()[-1])


def worker(args) -> None:
    """A timing worker: one implementation in this fresh process, driven line by line over
    stdin by ``main`` ("step" runs ``reps`` training steps, "eval" one evaluation; each
    answers "wall cpu" in seconds per call). Its first line: the first three losses."""
    _limit_threads(args.threads)
    impls = {impl.name: impl for impl in make_impls(args, only=args.worker)}
    impl = impls.pop(args.worker)
    impls.clear()                         # the weights' source only
    train = make_batches(3 + args.rounds_total * args.reps)
    (xe, _), = make_batches(1, seed=1, batch=args.eval_batch)
    print(" ".join(f"{impl.step(x, y):.5f}" for x, y in train[:3]), flush=True)
    it = iter(train[3:])
    for line in sys.stdin:
        cmd = line.split()[0]
        if cmd == "step":
            s = best_of(lambda: impl.step(*next(it)), 1, args.reps)
        elif cmd == "eval":
            s = best_of(lambda: impl.evaluate(xe), 1, 1)
        else:
            return
        print(f"{s[0]!r} {s[1]!r}", flush=True)


def _tree_env(tree: str | None) -> dict | None:
    """The environment of a child that imports microgradnn from ``tree`` (None: this one)."""
    return None if tree is None else dict(os.environ, BENCH_MICROGRADNN_TREE=tree)


class Worker:
    """The parent's handle on a timing worker process (see :func:`worker`)."""

    def __init__(self, args, name: str, rounds: int, reps: int, eval_batch: int,
                 tree: str | None = None) -> None:
        self.name = name if tree is None else f"{name} (baseline)"
        cmd = [sys.executable, __file__, "--worker", name, "--threads", str(args.threads),
               "--worker-shape", str(rounds), str(reps), str(eval_batch)] \
            + (["--dropout"] if args.dropout else []) + (["--adadelta"] if args.adadelta else [])
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=_tree_env(tree))
        self.first_losses = self.proc.stdout.readline().strip()
        if not self.first_losses:
            raise RuntimeError(f"timing worker for {name} failed to start")

    def ask(self, cmd: str) -> tuple[float, float]:
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().split()
        if len(answer) != 2:
            raise RuntimeError(f"timing worker for {self.name} stopped (its error is above)")
        return float(answer[0]), float(answer[1])

    def close(self) -> None:
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a short run (smoke test)")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS / PyTorch threads (default 1)")
    ap.add_argument("--dropout", action="store_true", help="the example's dropout layers on")
    ap.add_argument("--adadelta", action="store_true", help="Adadelta(lr=1.0) as the example")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    ap.add_argument("--no-rss", action="store_true", help="skip the peak-RSS processes")
    ap.add_argument("--rss-child", help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=5, help=argparse.SUPPRESS)
    ap.add_argument("--shared-process", action="store_true",
                    help="time every implementation in this one process (malloc state shared)")
    ap.add_argument("--baseline", metavar="CHECKOUT",
                    help="also time microgradnn imported from another checkout (A/B, in the "
                         "same interleaved rounds; needs its own process: not with "
                         "--shared-process)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--worker-shape", type=int, nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.baseline and args.shared_process:
        ap.error("--baseline needs a process of its own: leave out --shared-process")
    if args.rss_child:
        return rss_child(args)
    if args.worker:
        args.rounds_total, args.reps, args.eval_batch = args.worker_shape
        return worker(args)
    rounds = args.rounds or (1 if args.quick else 5)
    reps = 2 if args.quick else 4
    threads = _limit_threads(args.threads)
    impls = make_impls(args)
    train = make_batches(3 + rounds * reps)
    (xe, _), = make_batches(1, seed=1, batch=200 if args.quick else EVAL_BATCH)

    # Sanity: the same weights give the same outputs and (without dropout) losses.
    ref = impls[0].evaluate(xe)
    for impl in impls[1:]:
        err = float(np.abs(impl.evaluate(xe) - ref).max())
        print(f"eval output, max |difference| from microgradnn: {impl.name}: {err:.2e}")
    results = {impl.name: {} for impl in impls}
    step_best = {impl.name: (float("inf"), float("inf")) for impl in impls}
    eval_best = dict(step_best)
    if args.shared_process:
        for impl in impls:
            print(f"first losses  {impl.name:<16} "
                  + "  ".join(f"{impl.step(x, y):.5f}" for x, y in train[:3]))
        it = {impl.name: iter(train[3:] * rounds) for impl in impls}
        runners = [(impl.name,
                    lambda impl=impl: best_of(lambda: impl.step(*next(it[impl.name])), 1, reps),
                    lambda impl=impl: best_of(lambda: impl.evaluate(xe), 1, 1))
                   for impl in impls]
    else:
        names = [impl.name for impl in impls]
        del impls[:]                      # the workers build their own
        workers = [Worker(args, name, rounds, reps, xe.shape[0]) for name in names]
        if args.baseline:
            workers.insert(0, Worker(args, Microgradnn.name, rounds, reps, xe.shape[0],
                                     tree=args.baseline))
            results = {w.name: {} for w in workers}
            step_best = {w.name: (float("inf"), float("inf")) for w in workers}
            eval_best = dict(step_best)
        for w in workers:
            print(f"first losses  {w.name:<16} {w.first_losses.replace(' ', '  ')}")
        runners = [(w.name, lambda w=w: w.ask("step"), lambda w=w: w.ask("eval"))
                   for w in workers]
    for _ in range(rounds):               # interleaved: each round runs every implementation
        for name, step, evaluate in runners:
            s, e = step(), evaluate()
            step_best[name] = tuple(map(min, step_best[name], s))
            eval_best[name] = tuple(map(min, eval_best[name], e))
    if not args.shared_process:
        for w in workers:
            w.close()
    if not args.no_rss:
        base = baseline_rss(args)
        for name in results:
            base_tree = args.baseline if name.endswith("(baseline)") else None
            rss = peak_rss(args, name.removesuffix(" (baseline)"), base_tree)
            results[name]["rss"] = None if rss is None else max(rss - base, 0)

    tname = "PyTorch" if "PyTorch" in results else None
    flags = ", ".join(f for f, on in (("dropout", args.dropout), ("Adadelta", args.adadelta))
                      if on) or "SGD momentum, no dropout"
    print(f"\nPyTorch's MNIST-example CNN, batch {BATCH} ({flags}); eval: no-grad forward of "
          f"{xe.shape[0]} images; NumPy {np.__version__}, BLAS threads {threads}; best of "
          f"{rounds} interleaved rounds, "
          f"{'all in one process' if args.shared_process else 'each in its own process'}; "
          f"load average {os.getloadavg()[0]:.1f}")
    if args.baseline:
        print(f"baseline: microgradnn from {args.baseline}")
    print(f"{'implementation':<18}{'step ms (CPU)':>14}{'step ms (wall)':>15}{'vs PyTorch':>11}"
          f"{'eval ms (CPU)':>14}{'vs PyTorch':>11}{'train RSS MB':>13}{'vs PyTorch':>11}")
    for n in results:
        s_cpu, s_wall = step_best[n][1], step_best[n][0]
        e_cpu = eval_best[n][1]
        rss = results[n].get("rss")

        def ratio(a, b):
            return f"{a / b:.2f}x" if (tname and a is not None and b) else "-"
        t_rss = results[tname].get("rss") if tname else None
        print(f"{n:<24}{s_cpu * 1e3:>8.1f}{s_wall * 1e3:>15.1f}"
              f"{ratio(s_cpu, step_best[tname][1] if tname else None):>11}"
              f"{e_cpu * 1e3:>14.1f}{ratio(e_cpu, eval_best[tname][1] if tname else None):>11}"
              f"{(rss / 2**20 if rss is not None else float('nan')):>13.1f}"
              f"{ratio(rss, t_rss):>11}")
    print("train RSS: peak resident memory of a process training 5 steps, minus that of a "
          "process that only imported the libraries")


if __name__ == "__main__":
    main()
