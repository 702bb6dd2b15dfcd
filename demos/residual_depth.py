"""Plain against residual networks of depth 4, 8, 16 and 32 on the digits: where the
gradient goes, and which ones train, with MLP blocks and with small conv blocks.

Two block families, each plain or residual with the same parameters and the same starting
weights, PyTorch's default initialisation (``nn.Linear``, ``nn.Conv2d``) and ReLU:

- MLP:  64 pixels → Linear(64, width) → (depth - 1 blocks ReLU → Linear(width, width))
        → ReLU → Linear(width, 10)
- conv: 1×8×8 image → Conv2d(1, C, 3, padding=1) → (depth - 1 blocks ReLU →
        Conv2d(C, C, 3, padding=1)) → ReLU → Flatten → Linear(C·64, 10), C = 8

- plain:     h ← block(h)
- residual:  h ← h + block(h)             (``nn.Residual``: the block learns a residual;
                                           the "pre-activation" form of ResNet v2)

For each network the script measures the gradient norm ‖∂L/∂W‖ reaching every weight
(matrix or kernel) on its whole training set, at initialisation and after training, and
trains the networks of a family the same way (SGD with momentum 0.9, lr 0.01) so the
training curves can be compared: the MLPs for 15 epochs of the 1348 training images in
batches of 64; the conv networks, whose convolutions cost several times as much here, for 6
epochs of the first 600 in batches of 32. Test accuracy is on all 449 test images. The
lecture's claims, shown for both families: in the deep plain network the gradient shrinks
by a constant factor per layer and the first layers get almost nothing, so it does not
train; the identity path of the residual network carries the gradient to every layer, and
it trains at every depth. It uses the 8×8 digits bundled with scikit-learn and writes one
figure, a row per family, to ``--out``; the default run takes about half a minute on 2 cores.

    python demos/residual_depth.py
    python demos/residual_depth.py --blocks conv --conv-train 1348 --conv-epochs 15   # minutes
    python demos/residual_depth.py --depths 4 8 16 32 64 --epochs 30
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402
from microgradnn.data import DataLoader, TensorDataset  # noqa: E402
from microgradnn.nn import functional as F  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "residual_depth"
# The conv family's budget, to keep the run near half a minute: per image the conv networks
# take about 7 times as long as the MLPs, and batches of 32 are the cheapest per image
# (the unfolded arrays stay in the cache).
CONV_EPOCHS, CONV_TRAIN, CONV_BATCH_SIZE = 6, 600, 32


def build_mlp(kind: str, depth: int, width: int, in_features: int = 64, classes: int = 10):
    """An input layer, ``depth - 1`` blocks ReLU → Linear(width, width), plain or each
    wrapped in a residual connection, then ReLU → Linear(width, classes): ``depth``
    hidden layers either way, with the same parameters."""
    layers = [nn.Linear(in_features, width)]
    for _ in range(depth - 1):
        block = nn.Sequential(nn.ReLU(), nn.Linear(width, width))
        layers.append(nn.Residual(block) if kind == "residual" else block)
    layers += [nn.ReLU(), nn.Linear(width, classes)]
    return nn.Sequential(*layers)


def build_conv(kind: str, depth: int, channels: int, side: int = 8, classes: int = 10):
    """The same on (N, 1, side, side) images: a stem Conv2d(1, channels, 3, padding=1),
    ``depth - 1`` blocks ReLU → Conv2d(channels, channels, 3, padding=1), plain or
    residual, then ReLU → Flatten → Linear(channels·side², classes). Padding keeps the
    side, so x + block(x) needs no projection."""
    layers = [nn.Conv2d(1, channels, 3, padding=1)]
    for _ in range(depth - 1):
        block = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1))
        layers.append(nn.Residual(block) if kind == "residual" else block)
    layers += [nn.ReLU(), nn.Flatten(), nn.Linear(channels * side * side, classes)]
    return nn.Sequential(*layers)


def weights(model: nn.Module) -> list[mg.Tensor]:
    """The weight matrices (and convolution kernels) from input to output."""
    return [p for name, p in model.named_parameters() if name.endswith("weight")]


def chunks(n: int, size: int | None):
    """Slices covering range(n) in pieces of ``size`` (one piece when None)."""
    size = n if size is None else size
    return [slice(i, i + size) for i in range(0, n, size)]


def gradient_norms(model: nn.Module, x: np.ndarray, y: np.ndarray,
                   chunk: int | None = None) -> np.ndarray:
    """‖∂L/∂W‖ (Frobenius) of every weight, for the mean loss over all of (x, y).

    With ``chunk`` the set goes through in pieces: each piece's mean loss, weighted by its
    share of the samples, adds its part to the same ``.grad``; the convolutions' unfolded
    arrays then stay small enough for the cache."""
    model.zero_grad()
    for part in chunks(len(y), chunk):
        share = len(y[part]) / len(y)
        (F.cross_entropy(model(mg.tensor(x[part])), mg.tensor(y[part])) * share).backward()
    norms = np.array([np.linalg.norm(w.grad.data) for w in weights(model)])
    model.zero_grad()
    return norms


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, chunk: int | None = None) -> float:
    with mg.no_grad():
        hits = sum(int((model(mg.tensor(x[part])).data.argmax(1) == y[part]).sum())
                   for part in chunks(len(y), chunk))
    return hits / len(y)


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


TITLES = {"mlp": "MLP blocks", "conv": "conv blocks"}


def draw(path: Path, results: dict, blocks: list[str], depths: list[int]) -> Path:
    """One row per block family: gradient per layer at init, after training (log scale),
    and the training curves."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    fig, rows = plt.subplots(len(blocks), 3, figsize=(15, 4.2 * len(blocks)),
                             layout="constrained", squeeze=False)
    colours = plt.cm.viridis(np.linspace(0, 0.85, len(depths)))
    for block, axes in zip(blocks, rows):
        name = TITLES[block]
        for ax, key, title in ((axes[0], "grad_init", f"{name}: gradient reaching each "
                                                      "layer, at init"),
                               (axes[1], "grad_trained", f"{name}: ... and after training")):
            for depth, c in zip(depths, colours):
                for kind, style in (("plain", "--"), ("residual", "-")):
                    g = results[block, kind, depth][key]
                    ax.semilogy(range(1, len(g) + 1), g, style, color=c,
                                label=f"{kind}, depth {depth}")
            ax.set_xlabel("layer (1 = input layer, last = output layer)")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel("‖∂L/∂W‖ (log scale)")
            ax.set_title(title)
        axes[0].legend(fontsize=7, ncol=2)
        for depth, c in zip(depths, colours):
            for kind, style in (("plain", "--"), ("residual", "-")):
                curve = results[block, kind, depth]["curve"]
                axes[2].plot(range(1, len(curve) + 1), curve, style, color=c)
        axes[2].set_xlabel("epoch")
        axes[2].xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[2].set_ylabel("training loss (cross-entropy)")
        axes[2].set_title(f"{name}: training curves")
        # a key for the line styles and colours instead of eight entries again
        key = [Line2D([], [], color="black", linestyle="--", label="plain"),
               Line2D([], [], color="black", label="residual")]
        key += [Line2D([], [], color=c, label=f"depth {depth}")
                for depth, c in zip(depths, colours)]
        axes[2].legend(handles=key, fontsize=7, ncol=2)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def families(args, xtrain, ytrain, xtest, ytest) -> dict:
    """Per block family: how to build a network, and the data and epochs it gets. The conv
    family sees images (N, 1, 8, 8), a subset of the training set and fewer epochs, to
    stay inside the demo's minute."""
    side = int(round(np.sqrt(xtrain.shape[1])))
    n = min(args.conv_train, len(ytrain))
    return {
        "mlp": {"build": lambda kind, depth: build_mlp(kind, depth, args.width),
                "data": (xtrain, ytrain, xtest, ytest), "epochs": args.epochs,
                "batch_size": args.batch_size, "chunk": None},
        "conv": {"build": lambda kind, depth: build_conv(kind, depth, args.channels, side),
                 "data": (xtrain[:n].reshape(-1, 1, side, side), ytrain[:n],
                          xtest.reshape(-1, 1, side, side), ytest),
                 "epochs": args.conv_epochs, "batch_size": args.conv_batch_size,
                 "chunk": args.conv_batch_size},
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--blocks", nargs="+", choices=["mlp", "conv"], default=["mlp", "conv"],
                    help="which block families to compare (default both)")
    ap.add_argument("--depths", type=int, nargs="+", default=[4, 8, 16, 32])
    ap.add_argument("--width", type=int, default=32, help="units per MLP layer")
    ap.add_argument("--channels", type=int, default=8, help="channels per conv layer")
    ap.add_argument("--epochs", type=int, default=15, help="epochs of the MLPs")
    ap.add_argument("--conv-epochs", type=int, default=CONV_EPOCHS,
                    help="epochs of the conv networks")
    ap.add_argument("--conv-train", type=int, default=CONV_TRAIN,
                    help="training images for the conv networks (the first ones)")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--batch-size", type=int, default=64, help="mini-batch of the MLPs")
    ap.add_argument("--conv-batch-size", type=int, default=CONV_BATCH_SIZE,
                    help="mini-batch of the conv networks")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for residual_depth.png")
    args = ap.parse_args(argv)
    if min(args.depths) < 1:
        raise ValueError(f"residual_depth: depths must be at least 1, got {args.depths}")
    for flag in ("width", "channels", "epochs", "conv_epochs", "conv_train", "batch_size",
                 "conv_batch_size"):
        if getattr(args, flag) < 1:
            raise ValueError(f"residual_depth: --{flag.replace('_', '-')} must be a positive "
                             f"int, got {getattr(args, flag)}")
    blocks = list(dict.fromkeys(args.blocks))
    rng = np.random.default_rng(0)
    mg.manual_seed(0)

    xtrain, ytrain, xtest, ytest = load(rng)
    setups = families(args, xtrain, ytrain, xtest, ytest)
    results, seconds = {}, {}
    for block in blocks:
        setup = setups[block]
        xtr, ytr, xte, yte = setup["data"]
        print(f"\n{TITLES[block]}: {len(ytr)} training images, {setup['epochs']} epochs")
        print(f"{'network':>18s} {'first-layer grad':>17s} {'last-layer grad':>16s} "
              f"{'at init ratio':>14s}  {'trained: first-layer grad':>25s} {'test acc':>9s}")
        start = time.perf_counter()
        for depth in args.depths:
            for kind in ("plain", "residual"):
                mg.manual_seed(depth)             # the same draws for plain and residual
                model = setup["build"](kind, depth)
                g0 = gradient_norms(model, xtr, ytr, setup["chunk"])
                curve = train(model, xtr, ytr, epochs=setup["epochs"], lr=args.lr,
                              batch_size=setup["batch_size"])
                g1 = gradient_norms(model, xtr, ytr, setup["chunk"])
                acc = accuracy(model, xte, yte, setup["chunk"])
                results[block, kind, depth] = {"grad_init": g0, "grad_trained": g1,
                                               "curve": curve, "test_accuracy": acc}
                print(f"{kind + ', depth ' + str(depth):>18s} {g0[0]:17.2e} {g0[-1]:16.2e} "
                      f"{g0[0] / g0[-1]:14.1e}  {g1[0]:25.2e} {acc:9.3f}")
        seconds[block] = time.perf_counter() - start
        print(f"({seconds[block]:.1f} s)")
    deepest = max(args.depths)
    ratios = {}
    for block in blocks:
        plain, residual = results[block, "plain", deepest], results[block, "residual", deepest]
        ratios[block] = float(residual["grad_init"][0] / plain["grad_init"][0])
        print(f"\n{TITLES[block]}, depth {deepest}: the first layer's gradient at "
              f"initialisation is {ratios[block]:.1e} times larger with residual connections; "
              f"test accuracy plain {plain['test_accuracy']:.3f}, residual "
              f"{residual['test_accuracy']:.3f}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = draw(args.out / "residual_depth.png", results, blocks, args.depths)
    print(f"wrote {path}")
    table = {f"{block}_{kind}_{depth}": {"first_grad_init": float(r["grad_init"][0]),
                                         "test_accuracy": r["test_accuracy"],
                                         "final_loss": r["curve"][-1]}
             for (block, kind, depth), r in results.items()}
    return {"table": table, "first_layer_ratio": ratios, "seconds": seconds, "files": [path]}


if __name__ == "__main__":
    main()
