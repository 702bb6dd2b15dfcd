"""Plain against residual networks of depth 4, 8, 16 and 32 on the digits: where the
gradient goes, and which ones train.

Both families are MLPs of the same width and the same parameters, 64 pixels → width →
(depth hidden layers) → 10, with PyTorch's default ``nn.Linear`` initialisation and ReLU:

- plain:     h ← W relu(h) + b
- residual:  h ← h + W relu(h) + b        (``nn.Residual``: the block learns a residual;
                                           the "pre-activation" form of ResNet v2)

For each network the script measures the gradient norm ‖∂L/∂W‖ reaching every layer on
the whole training set, at initialisation and after training, and trains all of them the
same way (SGD with momentum 0.9, lr 0.01, mini-batches of 64) so the training curves can be
compared. The lecture's claims, shown: in the deep plain network the gradient shrinks by
a constant factor per layer and the first layers get almost nothing, so it does not train;
the identity path of the residual network carries the gradient to every layer, and it
trains at every depth. By default it uses the 8×8 digits bundled with scikit-learn.

    python demos/residual_depth.py
    python demos/residual_depth.py --depths 4 8 16 32 64 --epochs 30
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402
from microgradnn.data import DataLoader, TensorDataset  # noqa: E402
from microgradnn.nn import functional as F  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "residual_depth"


def build(kind: str, depth: int, width: int, in_features: int = 64, classes: int = 10):
    """An input layer, ``depth - 1`` blocks ReLU → Linear(width, width), plain or each
    wrapped in a residual connection, then ReLU → Linear(width, classes): ``depth``
    hidden layers either way, with the same parameters."""
    layers = [nn.Linear(in_features, width)]
    for _ in range(depth - 1):
        block = nn.Sequential(nn.ReLU(), nn.Linear(width, width))
        layers.append(nn.Residual(block) if kind == "residual" else block)
    layers += [nn.ReLU(), nn.Linear(width, classes)]
    return nn.Sequential(*layers)


def weights(model: nn.Module) -> list[mg.Tensor]:
    """The weight matrices from input to output."""
    return [p for name, p in model.named_parameters() if name.endswith("weight")]


def gradient_norms(model: nn.Module, x: mg.Tensor, y: mg.Tensor) -> np.ndarray:
    """‖∂L/∂W‖ (Frobenius) of every weight matrix, for the loss on (x, y)."""
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    norms = np.array([np.linalg.norm(w.grad.data) for w in weights(model)])
    model.zero_grad()
    return norms


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with mg.no_grad():
        return float((model(mg.tensor(x)).data.argmax(1) == y).mean())


def train(model, xtrain, ytrain, *, epochs: int, lr: float, batch_size: int) -> list[float]:
    loader = DataLoader(TensorDataset(xtrain, ytrain), batch_size=batch_size, shuffle=True,
                        seed=0)
    opt = mg.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    curve = []
    for _ in range(epochs):
        total = 0.0
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
        curve.append(total / len(ytrain))
    return curve


def load(rng):
    digits = importlib.util.spec_from_file_location("demo_digits",
                                                    Path(__file__).parent / "digits.py")
    module = importlib.util.module_from_spec(digits)
    digits.loader.exec_module(module)
    xtrain, ytrain, xtest, ytest, _ = module.load(None, rng)
    xtrain, xtest, _, _ = module.standardize(xtrain, xtest)
    return xtrain, ytrain, xtest, ytest


def draw(path: Path, results: dict, depths: list[int]) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
    colours = plt.cm.viridis(np.linspace(0, 0.85, len(depths)))
    for ax, key, title in ((axes[0], "grad_init", "gradient reaching each layer, at init"),
                           (axes[1], "grad_trained", "... and after training")):
        for depth, c in zip(depths, colours):
            for kind, style in (("plain", "--"), ("residual", "-")):
                g = results[kind, depth][key]
                ax.semilogy(range(1, len(g) + 1), g, style, color=c,
                            label=f"{kind}, depth {depth}")
        ax.set_xlabel("layer (1 = input layer)")
        ax.set_ylabel("‖∂L/∂W‖")
        ax.set_title(title)
    axes[0].legend(fontsize=7, ncol=2)
    for depth, c in zip(depths, colours):
        for kind, style in (("plain", "--"), ("residual", "-")):
            axes[2].plot(range(1, len(results[kind, depth]["curve"]) + 1),
                         results[kind, depth]["curve"], style, color=c)
    axes[2].set_xlabel("epoch")
    axes[2].set_ylabel("training loss (cross-entropy)")
    axes[2].set_title("training curves (dashed: plain, solid: residual)")
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return path


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depths", type=int, nargs="+", default=[4, 8, 16, 32])
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--out", type=Path, default=OUT, help="folder for residual_depth.png")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    mg.manual_seed(0)

    xtrain, ytrain, xtest, ytest = load(rng)
    x, y = mg.tensor(xtrain), mg.tensor(ytrain)
    results = {}
    print(f"{'network':>16s} {'first-layer grad':>17s} {'last-layer grad':>16s} "
          f"{'at init ratio':>14s}  {'trained: first-layer grad':>25s} {'test acc':>9s}")
    for depth in args.depths:
        for kind in ("plain", "residual"):
            mg.manual_seed(depth)                 # the same draws for plain and residual
            model = build(kind, depth, args.width)
            g0 = gradient_norms(model, x, y)
            curve = train(model, xtrain, ytrain, epochs=args.epochs, lr=args.lr,
                          batch_size=args.batch_size)
            g1 = gradient_norms(model, x, y)
            acc = accuracy(model, xtest, ytest)
            results[kind, depth] = {"grad_init": g0, "grad_trained": g1, "curve": curve,
                                    "test_accuracy": acc}
            print(f"{kind + ', depth ' + str(depth):>16s} {g0[0]:17.2e} {g0[-1]:16.2e} "
                  f"{g0[0] / g0[-1]:14.1e}  {g1[0]:25.2e} {acc:9.3f}")
    deepest = max(args.depths)
    ratio = results["residual", deepest]["grad_init"][0] / \
        results["plain", deepest]["grad_init"][0]
    print(f"\ndepth {deepest}: the first layer's gradient at initialisation is {ratio:.1e} times "
          "larger with residual connections")
    print(f"test accuracy at depth {deepest}: plain "
          f"{results['plain', deepest]['test_accuracy']:.3f}, residual "
          f"{results['residual', deepest]['test_accuracy']:.3f}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = draw(args.out / "residual_depth.png", results, args.depths)
    print(f"wrote {path}")
    table = {f"{kind}_{depth}": {"first_grad_init": float(r["grad_init"][0]),
                                 "test_accuracy": r["test_accuracy"],
                                 "final_loss": r["curve"][-1]}
             for (kind, depth), r in results.items()}
    return {"table": table, "first_layer_ratio": float(ratio), "files": [path]}


if __name__ == "__main__":
    main()
