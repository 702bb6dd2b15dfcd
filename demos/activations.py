"""The lecture's activation functions and their slopes, the slopes computed by autograd.

Step (Heaviside), sigmoid 1/(1 + e^(-kx)) with slopes k = 0.5, 1, 2, tanh, ReLU max(0, x)
and leaky ReLU (0.1·x for x < 0), each evaluated on a grid of x values; one backward pass
gives every derivative at once (the functions act elementwise, so the gradient of their
sum is the vector of slopes). The demo prints both as a table, checks autograd against
the textbook formula, and shows the lecture's points:

- the step's derivative is 0 everywhere (why a perceptron cannot learn by gradient descent);
- sigmoid and tanh saturate: far from 0 their slope almost vanishes, and stacked sigmoids
  multiply slopes of at most k/4, so the gradient shrinks layer after layer;
- ReLU's slope is exactly 1 for x > 0 (and 0 below: a "dead" unit); leaky ReLU keeps 0.1.

It writes demos/out/activations.svg, a line plot of the functions and their derivatives
(drawn by hand as SVG: no plotting library needed).

    python demos/activations.py
    python demos/activations.py --points 81 --out /tmp/pics
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402
from microgradnn.nn import functional as F  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def _sigmoid(k: float):
    return lambda x: F.sigmoid(k * x)


def _sigmoid_slope(k: float):
    def slope(x):
        s = 1 / (1 + np.exp(-k * x))
        return k * s * (1 - s)
    return slope


# name, function of a Tensor, the derivative as a NumPy formula (to check autograd), colour
ACTIVATIONS = [
    ("step", nn.Step(), lambda x: np.zeros_like(x), "#7f7f7f"),
    ("sigmoid k=0.5", _sigmoid(0.5), _sigmoid_slope(0.5), "#9ecae1"),
    ("sigmoid k=1", _sigmoid(1.0), _sigmoid_slope(1.0), "#3182bd"),
    ("sigmoid k=2", _sigmoid(2.0), _sigmoid_slope(2.0), "#08306b"),
    ("tanh", F.tanh, lambda x: 1 - np.tanh(x) ** 2, "#2ca02c"),
    ("ReLU", F.relu, lambda x: (x > 0).astype(x.dtype), "#d62728"),
    ("leaky ReLU 0.1", lambda x: F.leaky_relu(x, 0.1),
     lambda x: np.where(x > 0, 1.0, 0.1).astype(x.dtype), "#ff7f0e"),
]


def evaluate(x: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every activation and its derivative on the points ``x`` (float64), by autograd."""
    results = {}
    for name, fn, _, _ in ACTIVATIONS:
        t = mg.tensor(x, requires_grad=True)
        y = fn(t)
        (dy,) = mg.autograd.grad(y.sum(), t)   # d(sum_i f(x_i))/dx_j = f'(x_j)
        results[name] = (y.data, dy.data)
    return results


def stacked_slope(fn, depth: int = 10, x0: float = 1.0) -> float:
    """d/dx of f(f(...f(x))) (``depth`` times) at x0: the chain rule multiplies slopes."""
    x = mg.tensor(x0, dtype=mg.float64, requires_grad=True)
    y = x
    for _ in range(depth):
        y = fn(y)
    (dy,) = mg.autograd.grad(y, x)
    return float(dy.item())


def print_table(x: np.ndarray, results: dict, at: tuple[float, ...]) -> None:
    cols = [int(np.argmin(np.abs(x - a))) for a in at]
    head = "".join(f"{x[c]:>8g}" for c in cols)
    for title, which in (("f(x)", 0), ("f'(x) by autograd", 1)):
        print(f"{title:<16s}   x ={head}")
        for name, pair in results.items():
            print(f"  {name:<16s}    " + "".join(f"{pair[which][c]:8.4f}" for c in cols))
        print()


def svg_plot(x: np.ndarray, results: dict, path: Path) -> None:
    """Two panels, f(x) and f'(x), one coloured polyline per activation, legend below."""
    w, h, pad = 360, 260, 36
    panels = [("f(x)", 0, (-1.2, 2.0)), ("f'(x)", 1, (-0.1, 1.1))]
    width, height = 2 * w + 20, h + 40 + 18 * ((len(ACTIVATIONS) + 3) // 4)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="Helvetica" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>']
    for p, (title, which, (ylo, yhi)) in enumerate(panels):
        x0 = p * (w + 20)
        sx = lambda v: x0 + pad + (v - x[0]) / (x[-1] - x[0]) * (w - 2 * pad)  # noqa: E731
        sy = lambda v: h - pad + (ylo - v) / (yhi - ylo) * (h - 2 * pad)        # noqa: E731
        out.append(f'<clipPath id="c{p}"><rect x="{sx(x[0]):.1f}" y="{sy(yhi):.1f}" '
                   f'width="{w - 2 * pad}" height="{h - 2 * pad}"/></clipPath>')
        out.append(f'<rect x="{sx(x[0]):.1f}" y="{sy(yhi):.1f}" width="{w - 2 * pad}" '
                   f'height="{h - 2 * pad}" fill="none" stroke="#999"/>')
        # axes through 0 and tick labels
        out.append(f'<line x1="{sx(x[0]):.1f}" y1="{sy(0):.1f}" x2="{sx(x[-1]):.1f}" '
                   f'y2="{sy(0):.1f}" stroke="#ccc"/>')
        out.append(f'<line x1="{sx(0):.1f}" y1="{sy(ylo):.1f}" x2="{sx(0):.1f}" '
                   f'y2="{sy(yhi):.1f}" stroke="#ccc"/>')
        for v in (x[0], 0, x[-1]):
            out.append(f'<text x="{sx(v):.1f}" y="{h - pad + 14}" text-anchor="middle">'
                       f'{v:g}</text>')
        for v in (-1, 0, 1) if ylo < -1 else (0, 1):
            out.append(f'<text x="{sx(x[0]) - 4:.1f}" y="{sy(v) + 4:.1f}" '
                       f'text-anchor="end">{v}</text>')
        out.append(f'<text x="{x0 + w / 2}" y="{pad - 12}" text-anchor="middle" '
                   f'font-weight="bold">{title}</text>')
        for name, fn, _, colour in ACTIVATIONS:
            pts = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x, results[name][which]))
            dash = ' stroke-dasharray="5,3"' if name == "step" else ""
            thick = 3.2 if name == "ReLU" else 1.8   # leaky ReLU runs on top of it for x > 0
            out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" '
                       f'stroke-width="{thick}"{dash} clip-path="url(#c{p})"/>')
    for i, (name, _, _, colour) in enumerate(ACTIVATIONS):
        lx, ly = pad + 170 * (i % 4), h + 16 + 18 * (i // 4)
        out.append(f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 20}" y2="{ly - 4}" '
                   f'stroke="{colour}" stroke-width="2.5"/>')
        out.append(f'<text x="{lx + 26}" y="{ly}">{name}</text>')
    out.append("</svg>")
    path.write_text("\n".join(out), encoding="utf-8")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=201,
                    help="grid points from -5 to 5 (default 201: steps of 0.05)")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for activations.svg")
    args = ap.parse_args(argv)
    mg.manual_seed(0)   # the values are not random; seeded anyway, like every demo

    x = np.linspace(-5.0, 5.0, args.points)
    results = evaluate(x)
    print_table(x, results, at=(-4, -2, -1, -0.5, 0, 0.5, 1, 2, 4))

    print(f"{'':18s}{'autograd vs formula':>20s}{'max slope':>11s}{'slope at 4':>12s}"
          f"{'10 stacked':>12s}")
    summary = {}
    for name, fn, formula, _ in ACTIVATIONS:
        y, dy = results[name]
        err = float(np.max(np.abs(dy - formula(x))))
        at4 = float(dy[np.argmin(np.abs(x - 4))])
        stacked = stacked_slope(fn)
        summary[name] = {"max_error": err, "max_slope": float(dy.max()), "slope_at_4": at4,
                         "stacked_slope": stacked}
        print(f"  {name:<16s}{err:20.1e}{dy.max():11.4f}{at4:12.4f}{stacked:12.2e}")
    print("\n(10 stacked: d/dx of f(f(...f(x)...)) at x = 1, ten times f; "
          "the chain rule multiplies the slopes)")
    print("The step's slope is 0 everywhere: gradient descent gets no signal through it.")
    print("Sigmoid's slope is at most k/4 and tanh's at most 1, and both fade away from 0 "
          "(saturation);")
    print("ReLU passes slope 1 for x > 0, leaky ReLU keeps 0.1 for x < 0 (no dead units).")

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "activations.svg"
    svg_plot(x, results, path)
    print(f"\nwrote {path}")
    return {"x": x, "results": results, "summary": summary, "files": [path]}


if __name__ == "__main__":
    main()
