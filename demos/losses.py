"""Loss functions against the margin, with their gradients from autograd, and the
lecture's worked gradient descent on one neuron, drawn as a path on its loss curve.

Part 1. For a label y ∈ {-1, +1} and a score f, the margin is m = y·f: m = 1 is a
confident correct answer, m = -1 a confident wrong one. The lecture plots
- the logistic loss  log(1 + e^(-m))   (cross-entropy of a sigmoid output),
- the hinge loss     max(0, 1 - m)     (the support-vector machine's),
- the squared loss   (1 - m)² = (y - f)² for y = ±1,
beside the 0-1 loss they stand in for. The slopes are computed by ``backward()`` on a
tensor of margins and compared with the formulas.

Part 2. One neuron ŷ = w·x + b with w = 0.4, b = 0.1 and one training point x = 0.15,
target y = 0.3: the loss (y - ŷ)² is (0.3 - 0.16)² ≈ 0.0196. Gradient descent on w
(b kept fixed) with learning rate 12 (chosen so the first step lands on the lecture's
0.004) moves w from 0.4 towards the exact answer (y - b)/x = 4/3, and the loss falls
0.0196 → 0.0041 → 0.0009 → ... Each step is drawn on the curve L(w).

    python demos/losses.py
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import microgradnn as mg  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "losses"

LOSSES = {
    # name: (loss of the margin written with tensor ops, its derivative by hand)
    "logistic": (lambda m: (1 + (-m).exp()).log(), lambda m: -1 / (1 + np.exp(m))),
    "hinge": (lambda m: mg.relu(1 - m), lambda m: np.where(m < 1, -1.0, 0.0)),
    "squared": (lambda m: (1 - m) ** 2, lambda m: -2 * (1 - m)),
}


def margin_curves(points: int) -> dict:
    """Loss and autograd slope of each loss over margins in [-2, 3]."""
    m_np = np.linspace(-2, 3, points)
    out = {}
    for name, (fn, slope) in LOSSES.items():
        m = mg.tensor(m_np, requires_grad=True)
        loss = fn(m)
        loss.sum().backward()          # each loss depends on its own margin only
        grad = m.grad.data.copy()
        away = np.abs(m_np - 1) > 1e-9   # hinge has a kink at m = 1
        out[name] = {"margin": m_np, "loss": loss.data.copy(), "grad": grad,
                     "max_error": float(np.abs(grad - slope(m_np))[away].max())}
    return out


def neuron_descent(steps: int, lr: float, w: float = 0.4, b: float = 0.1, x: float = 0.15,
                   y: float = 0.3) -> list[tuple[float, float, float]]:
    """(w, loss, dL/dw) at every step of gradient descent on w for one point."""
    w_t = mg.tensor(w, dtype=mg.float64, requires_grad=True)
    path = []
    for _ in range(steps + 1):
        loss = (y - (w_t * x + b)) ** 2
        w_t.grad = None
        loss.backward()
        path.append((w_t.item(), loss.item(), w_t.grad.item()))
        with mg.no_grad():
            w_t.data -= lr * w_t.grad.data
    return path


def draw(path: Path, curves: dict, descent, b=0.1, x=0.15, y=0.3) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4), layout="constrained")
    m = curves["logistic"]["margin"]
    axes[0].plot(m, (m <= 0).astype(float), "k:", label="0-1 loss")
    for name, c in curves.items():
        axes[0].plot(m, c["loss"], label=name)
        axes[1].plot(m, c["grad"], label=name)
    for ax, title in ((axes[0], "loss against the margin m = y·f"),
                      (axes[1], "dL/dm from backward()")):
        ax.axvline(1, color="grey", lw=0.5)
        ax.axvline(-1, color="grey", lw=0.5)
        ax.set_xlabel("margin (1: correct, -1: wrong)")
        ax.set_title(title)
        ax.legend()
    axes[0].set_ylim(-0.1, 4.5)
    ws = np.linspace(0, 2, 201)
    axes[2].plot(ws, (y - (ws * x + b)) ** 2, label="L(w) = (0.3 - (0.15 w + 0.1))²")
    pw, pl, _ = zip(*descent)
    axes[2].plot(pw, pl, "o-", color="C3", label="gradient descent, lr 12")
    for i, (wi, li) in enumerate(zip(pw[:4], pl[:4])):
        axes[2].annotate(f"{li:.4f}", (wi, li), textcoords="offset points", xytext=(6, 6))
    axes[2].set_xlabel("w")
    axes[2].set_title("the lecture's neuron: w from 0.4 towards 4/3")
    axes[2].legend()
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return path


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=501, help="margins to evaluate")
    ap.add_argument("--steps", type=int, default=8, help="gradient-descent steps on w")
    ap.add_argument("--lr", type=float, default=12.0)
    ap.add_argument("--out", type=Path, default=OUT, help="folder for losses.png")
    args = ap.parse_args(argv)
    mg.manual_seed(0)

    curves = margin_curves(args.points)
    at = {}
    for name, (fn, _) in LOSSES.items():
        values = fn(mg.tensor([1.0, -1.0], dtype=mg.float64)).data
        at[name] = (float(values[0]), float(values[1]))
        print(f"{name:>9s} loss: {values[0]:.4f} at m = 1 (correct), {values[1]:.4f} at m = -1 "
              f"(wrong); autograd slope vs formula: max error {curves[name]['max_error']:.1e}")
    descent = neuron_descent(args.steps, args.lr)
    print("\none neuron, y_hat = w*0.15 + 0.1, target 0.3, gradient descent on w:")
    for i, (w, loss, g) in enumerate(descent):
        print(f"  step {i}: w = {w:.4f}  y_hat = {w * 0.15 + 0.1:.4f}  loss = {loss:.6f}  "
              f"dL/dw = {g:+.5f}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = draw(args.out / "losses.png", curves, descent)
    print(f"wrote {path}")
    return {"at_margin": at, "max_error": {k: v["max_error"] for k, v in curves.items()},
            "descent": descent, "files": [path]}


if __name__ == "__main__":
    main()
