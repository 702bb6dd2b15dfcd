"""Benchmark: how long microgradnn.viz takes to draw a graph of 10,000 operations.

The graph: a residual chain h ← h + tanh(h · w_i) of small (4, 4) tensors, 10,000
operation nodes in all (plus their leaves), with a backward pass done so every node has a
value and a gradient to format. Timed (best of a few rounds, this machine is shared):

- ``draw_graph``: reading the graph, laying out nodes and writing the DOT text
  (what Python does; the part this library controls);
- ``draw_graph(collapse="modules", fold=True)`` on an unrolled RNN cell of the same size;
- ``backward_steps`` on a small graph, per frame;
- optionally (``--render``) Graphviz's own layout of the 10,000-node DOT text to SVG,
  which is dot's work and takes far longer than writing the text.

    python benchmarks/bench_viz.py             # a few seconds
    python benchmarks/bench_viz.py --render    # adds dot's layout time (minutes)

Measured on the shared 2-core machine: 1.5 s for the DOT text of 10,000 operations with
values and gradients (0.5 s names and shapes only; 0.3 s for an 11,663-operation RNN
collapsed and folded); dot's own layout of the 10,000-operation picture: 681 s.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402
from microgradnn.autograd import Function  # noqa: E402
from microgradnn.viz import backward_steps, draw_graph, walk  # noqa: E402


def chain_graph(n_ops: int):
    """h ← h + tanh(h @ w_i): four operations per step (MatMul, Tanh, Add ... Sum)."""
    rng = np.random.default_rng(0)
    h = mg.tensor(rng.normal(size=(4, 4)), dtype=mg.float32, requires_grad=True)
    h.name = "x"
    weights = []
    steps = (n_ops - 1) // 3
    for i in range(steps):
        w = mg.tensor(rng.normal(scale=0.3, size=(4, 4)), dtype=mg.float32, requires_grad=True)
        w.name = f"w{i}"
        weights.append(w)
        h = h + (h @ w).tanh()
    loss = h.sum()
    loss.backward()
    return loss, weights


class Cell(nn.Module):
    def __init__(self):
        super().__init__()
        self.wx = nn.Parameter(np.full((8, 4), 0.1, dtype=np.float32))
        self.wh = nn.Parameter(np.eye(8, dtype=np.float32) * 0.5)

    def forward(self, x, h):
        return (x @ self.wx.T + h @ self.wh.T).tanh()


def rnn_graph(steps: int):
    cell = Cell()
    xs = mg.tensor(np.ones((steps, 2, 4)), dtype=mg.float32, requires_grad=True)
    h = mg.zeros(2, 8)
    for t in range(steps):
        h = cell(xs[t], h)
    loss = h.sum()
    loss.backward()
    return loss, cell


def best_of(fn, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def count_nodes(root) -> tuple[int, int]:
    """(operations, tensors): one tensor per operation output plus the leaves."""
    g = walk.extract([root])
    return sum(isinstance(it, Function) for it in g.items), len(g.items)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=10_000, help="operation nodes (10,000)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--render", action="store_true", help="also time dot's layout to SVG")
    args = ap.parse_args()

    loss, _ = chain_graph(args.nodes)
    n_ops, n_tensors = count_nodes(loss)
    src_len = [0]

    def draw():
        src_len[0] = len(draw_graph(loss).source)

    t = best_of(draw, args.rounds)
    print(f"draw_graph, {n_ops:,} operations ({n_ops + n_tensors:,} picture nodes), values "
          f"and grads: {t:.2f} s  ({src_len[0] / 1e6:.1f} MB of DOT)")

    t = best_of(lambda: draw_graph(loss, show_values=False, show_grads=False), args.rounds)
    print(f"draw_graph, same graph, names and shapes only:             {t:.2f} s")

    rloss, cell = rnn_graph(max(1, args.nodes // 6))
    rn, _ = count_nodes(rloss)
    t = best_of(lambda: draw_graph(rloss, cell, collapse="modules", fold=True), args.rounds)
    print(f"draw_graph, unrolled RNN of {rn:,} operations, collapsed and folded: {t:.2f} s")

    small = (mg.tensor([1.0, 2.0], requires_grad=True) * 3.0).tanh().sum()
    small.backward(retain_graph=True)
    frames = []
    t = best_of(lambda: frames.__setitem__(slice(None), backward_steps(small)), args.rounds)
    print(f"backward_steps, 3-operation graph: {t * 1e3 / len(frames):.1f} ms per frame")

    if args.render:
        if shutil.which("dot") is None:
            print("dot is not installed: skipping the layout timing")
            return
        pic = draw_graph(loss, show_values=False, show_grads=False, legend=False)
        t0 = time.perf_counter()
        pic.pipe(format="svg")
        print(f"dot layout + SVG of the {n_ops:,}-operation graph (Graphviz itself): "
              f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
