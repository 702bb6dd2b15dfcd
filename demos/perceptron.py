"""The perceptron of the lecture: output 1 if w·x + b > 0 else 0 (the Heaviside step).

On the four binary inputs [0,0], [0,1], [1,0], [1,1] this demo

1. prints the truth tables of perceptrons with given weights (AND, OR, NAND);
2. trains a perceptron with the perceptron rule w ← w + η (t − y) x on AND and on OR
   (the step has slope 0 everywhere, so backpropagation gets no signal: the demo shows
   that the autograd gradient is exactly 0);
3. shows that no single perceptron computes XOR: a search over a grid of weights and
   biases finds at most 3 of the 4 outputs right (one straight line cannot separate
   [0,1], [1,0] from [0,0], [1,1]). demos/xor.py trains the 2-4-1 network that can.

It writes demos/out/perceptron.svg: the four inputs and the decision lines of the
trained AND and OR perceptrons.

    python demos/perceptron.py
    python demos/perceptron.py --grid 21 --out /tmp/pics
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the demos' _figures.py

import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
TARGETS = {
    "AND": np.array([0, 0, 0, 1], dtype=np.float32),
    "OR": np.array([0, 1, 1, 1], dtype=np.float32),
    "NAND": np.array([1, 1, 1, 0], dtype=np.float32),
    "XOR": np.array([0, 1, 1, 0], dtype=np.float32),
}
# hand-picked weights (w1, w2) and bias b: the classic textbook perceptrons
GIVEN = {"AND": ((1.0, 1.0), -1.5), "OR": ((1.0, 1.0), -0.5), "NAND": ((-1.0, -1.0), 1.5)}


class Perceptron(nn.Module):
    """y = step(w·x + b): a Linear layer with one output followed by the Heaviside step."""

    def __init__(self, in_features: int = 2) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, 1)
        self.step = nn.Step()

    def forward(self, x):
        return self.step(self.linear(x))[:, 0]

    def set(self, w, b: float) -> "Perceptron":
        with mg.no_grad():
            self.linear.weight.data[...] = np.asarray(w, dtype=np.float32)
            self.linear.bias.data[...] = b
        return self


def outputs(model: Perceptron) -> np.ndarray:
    with mg.no_grad():
        return model(mg.tensor(X)).data.astype(int)


def truth_tables() -> dict[str, list[int]]:
    """The outputs of the hand-weighted perceptrons on the four inputs, as a table."""
    print("1. Perceptrons with given weights: y = 1 if w·x + b > 0 else 0")
    for name, (w, b) in GIVEN.items():
        print(f"   {name:5s} w = ({w[0]:+.1f}, {w[1]:+.1f})  b = {b:+.1f}")
    tables = {name: outputs(Perceptron().set(w, b)).tolist() for name, (w, b) in GIVEN.items()}
    print("    x1 x2 | " + "  ".join(f"{n:>4s}" for n in tables))
    for i, (x1, x2) in enumerate(X.astype(int)):
        print(f"    {x1:2d} {x2:2d} | " + "  ".join(f"{tables[n][i]:4d}" for n in tables))
    return tables


def perceptron_rule(target: np.ndarray, lr: float = 0.1, max_epochs: int = 50,
                    rng: np.random.Generator | None = None, verbose: bool = True):
    """Train a perceptron with Rosenblatt's rule; returns (model, epochs, history of errors).

    Each epoch visits the four inputs in a random order and, for each, moves the weights
    by lr · (target − output) · x (and the bias by lr · (target − output)).  Training stops
    after the first epoch without mistakes.
    """
    rng = rng or np.random.default_rng(0)
    model = Perceptron()
    errors = []
    for epoch in range(1, max_epochs + 1):
        mistakes = 0
        for i in rng.permutation(len(X)):
            y = model(mg.tensor(X[i:i + 1])).item()
            delta = target[i] - y
            if delta != 0:
                mistakes += 1
                with mg.no_grad():
                    model.linear.weight.data += lr * delta * X[i]
                    model.linear.bias.data += lr * delta
        errors.append(mistakes)
        if mistakes == 0:
            break
    return model, epoch, errors


def zero_gradient() -> float:
    """Why the perceptron rule and not backpropagation: the step's slope is 0."""
    model = Perceptron()
    loss = nn.functional.mse_loss(model(mg.tensor(X)), mg.tensor(TARGETS["AND"]))
    loss.backward()
    return float(np.abs(model.linear.weight.grad.data).max())


def grid_search(values: np.ndarray) -> dict[str, tuple[int, int]]:
    """Every (w1, w2, b) on a grid at once: the best number of correct outputs per truth
    table, and how many grid points reach it."""
    w1, w2, b = np.meshgrid(values, values, values, indexing="ij")
    w = mg.tensor(np.stack([w1.ravel(), w2.ravel()]).astype(np.float32))   # (2, G)
    bias = mg.tensor(b.ravel().astype(np.float32))                           # (G,)
    with mg.no_grad():
        y = mg.heaviside(mg.tensor(X) @ w + bias).data                      # (4, G)
    best = {}
    for name, target in TARGETS.items():
        correct = (y == target[:, None]).sum(axis=0)
        best[name] = (int(correct.max()), int((correct == correct.max()).sum()))
    return best


def draw(models: dict[str, Perceptron], path: Path) -> None:
    """The unit square with the four inputs (filled = XOR target 1) and each trained
    perceptron's decision line w1·x1 + w2·x2 + b = 0, as a small hand-written SVG."""
    size, pad, lo, hi = 320, 40, -0.5, 1.5
    sx = lambda v: pad + (v - lo) / (hi - lo) * (size - 2 * pad)           # noqa: E731
    sy = lambda v: size - pad - (v - lo) / (hi - lo) * (size - 2 * pad)    # noqa: E731
    colours = {"AND": "#d62728", "OR": "#1f77b4"}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
             f'font-family="Helvetica" font-size="12">',
             f'<rect x="{sx(lo)}" y="{sy(hi)}" width="{sx(hi) - sx(lo)}" '
             f'height="{sy(lo) - sy(hi)}" fill="none" stroke="#999"/>']
    for k, (name, model) in enumerate(models.items()):
        (w1, w2), b = model.linear.weight.data[0], float(model.linear.bias.data[0])
        # where the line w1 x + w2 y + b = 0 crosses the plot's border
        pts = []
        for v in (lo, hi):
            if abs(w2) > 1e-9:
                pts.append((v, -(w1 * v + b) / w2))
            if abs(w1) > 1e-9:
                pts.append((-(w2 * v + b) / w1, v))
        inside = lambda v: lo - 1e-9 <= v <= hi + 1e-9                    # noqa: E731
        pts = sorted(p for p in pts if inside(p[0]) and inside(p[1]))
        if len(pts) < 2:
            continue
        pts = [pts[0], pts[-1]]
        (xa, ya), (xb, yb) = pts
        c = colours.get(name, "#2ca02c")
        parts.append(f'<line x1="{sx(xa):.1f}" y1="{sy(ya):.1f}" x2="{sx(xb):.1f}" '
                     f'y2="{sy(yb):.1f}" stroke="{c}" stroke-width="2"/>')
        parts.append(f'<text x="{pad + 90 * k}" y="{size - pad + 25}" fill="{c}">'
                     f'— {name} line</text>')
    for (x1, x2), t in zip(X, TARGETS["XOR"]):
        fill = "#222" if t else "#fff"
        parts.append(f'<circle cx="{sx(x1):.1f}" cy="{sy(x2):.1f}" r="7" fill="{fill}" '
                     f'stroke="#222" stroke-width="1.5"/>')
        parts.append(f'<text x="{sx(x1) + 10:.1f}" y="{sy(x2) - 8:.1f}">'
                     f'({int(x1)},{int(x2)})</text>')
    parts.append(f'<text x="{pad}" y="20">filled = XOR is 1: no single line separates them</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts), encoding="utf-8")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=int, default=41,
                    help="grid points per weight for the XOR search (default 41: -2..2 by 0.1)")
    ap.add_argument("--lr", type=float, default=0.1, help="perceptron-rule learning rate")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for perceptron.svg")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    mg.manual_seed(0)

    tables = truth_tables()

    print("\n2. The perceptron rule: w <- w + lr·(t - y)·x,  b <- b + lr·(t - y)")
    print(f"   (backpropagation cannot train it: d step/dz = 0, so every gradient is "
          f"{zero_gradient():g})")
    print("   each run starts from nn.Linear's random initial weights")
    trained, histories = {}, {}
    result = {"tables": tables, "trained": {}}
    for name in ("AND", "OR"):
        model, epochs, errors = perceptron_rule(TARGETS[name], lr=args.lr, rng=rng)
        out = outputs(model)
        w, b = model.linear.weight.data[0], float(model.linear.bias.data[0])
        print(f"   {name}: converged after {epochs} epochs (mistakes per epoch {errors})")
        print(f"        w = ({w[0]:+.2f}, {w[1]:+.2f}), b = {b:+.2f}; outputs {out.tolist()} "
              f"(target {TARGETS[name].astype(int).tolist()})")
        trained[name] = model
        histories[name] = errors
        result["trained"][name] = {"epochs": epochs, "outputs": out.tolist()}
    model, epochs, xor_errors = perceptron_rule(TARGETS["XOR"], lr=args.lr, rng=rng,
                                                max_epochs=20)
    errors = xor_errors
    print(f"   XOR: {epochs} epochs, mistakes per epoch {errors}")
    print("        the rule never settles: no weights get all four right")

    values = np.linspace(-2.0, 2.0, args.grid)
    print(f"\n3. Every perceptron on a grid: w1, w2, b in {values[0]:g}..{values[-1]:g} "
          f"({args.grid} values each, {args.grid ** 3:,} perceptrons)")
    best = grid_search(values)
    for name, (correct, count) in best.items():
        print(f"   {name:5s} best {correct}/4 correct ({count:,} grid points reach it)")
    print("   XOR: at most 3 of 4 -- one line cannot separate the XOR classes. "
          "A hidden layer can: see demos/xor.py.")
    result["grid_best"] = {name: c for name, (c, _) in best.items()}

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "perceptron.svg"
    draw(trained, path)
    print(f"\nwrote {path}")
    import _figures
    lines = {name: (m.linear.weight.data[0], float(m.linear.bias.data[0]))
             for name, m in trained.items()}
    files = [_figures.half_planes(lines, X, TARGETS["XOR"], args.out / "perceptron_planes.png",
                                  "Each trained perceptron is one line; XOR's points "
                                  "(red: 1) need two"),
             _figures.loss_curve([max(e, 0) for e in histories["AND"]],
                                 args.out / "perceptron_mistakes.png",
                                 "Perceptron rule on AND: mistakes per epoch", xlabel="epoch",
                                 extra={"OR": histories["OR"], "XOR (never 0)": xor_errors},
                                 log=False)]
    result["files"] = [path] + [f for f in files if f is not None]
    return result


if __name__ == "__main__":
    main()
