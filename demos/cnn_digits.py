"""A small convolutional network on the 8×8 digits: conv-ReLU-maxpool twice, then linear.

The lecture's CNN recipe (alternating convolution and pooling, then a fully connected
layer), shaped like the benchmark's network (benchmarks/bench_cnn.py), with padding 1 so
the small images keep their size through each 3×3 convolution:

    (1, 8, 8) -conv 3×3, 8 maps-> (8, 8, 8) -ReLU, max pool 2-> (8, 4, 4)
              -conv 3×3, 16 maps-> (16, 4, 4) -ReLU, max pool 2-> (16, 2, 2) -linear-> 10

trained with SGD with momentum on mini-batches. It prints ``nn.summary`` (about 1,900
parameters, a quarter of the MLP of demos/digits.py), the test accuracy after each epoch,
and the 3×3 filters the first layer learned; it draws the architecture with
``viz.draw_model`` into demos/out/cnn_digits.svg (the DOT text if Graphviz's ``dot`` is
missing). With ``--mnist DIR`` it trains on MNIST files you already have (28×28 images).

    python demos/cnn_digits.py
    python demos/cnn_digits.py --epochs 3 --no-draw
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the demos' _figures.py

import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402
from microgradnn.data import DataLoader, TensorDataset  # noqa: E402
from microgradnn.nn import functional as F  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def load(mnist: str | None, rng: np.random.Generator, test_fraction: float = 0.25):
    """Images (N, 1, side, side) float32 standardized with the training set's mean and
    standard deviation (one number each: pixels are all alike), and int64 labels."""
    if mnist:
        from microgradnn.data import load_mnist
        xtrain, ytrain, xtest, ytest = load_mnist(mnist)
        side = 28
    else:
        from microgradnn.data import load_digits
        x, y = load_digits()
        order = rng.permutation(len(x))
        n_test = int(round(test_fraction * len(x)))
        xtrain, ytrain = x[order[n_test:]], y[order[n_test:]]
        xtest, ytest = x[order[:n_test]], y[order[:n_test]]
        side = 8
    mean, std = xtrain.mean(), xtrain.std()
    shape = (-1, 1, side, side)
    xtrain = ((xtrain - mean) / std).astype(np.float32).reshape(shape)
    xtest = ((xtest - mean) / std).astype(np.float32).reshape(shape)
    return xtrain, ytrain, xtest, ytest, side


def build(side: int, classes: int = 10) -> nn.Sequential:
    """Two conv-ReLU-maxpool stages (8 then 16 maps, 3×3, padding 1), then linear."""
    return nn.Sequential(
        nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * (side // 4) ** 2, classes))


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray, batch: int = 1000) -> float:
    model.eval()
    correct = 0
    with mg.no_grad():
        for i in range(0, len(x), batch):
            correct += int((model(mg.tensor(x[i:i + batch])).data.argmax(1)
                            == y[i:i + batch]).sum())
    model.train()
    return correct / len(x)


def print_filters(conv: nn.Conv2d) -> None:
    """The first layer's learned 3×3 kernels side by side, one decimal."""
    w = np.round(conv.weight.data[:, 0], 1) + 0.0   # (maps, 3, 3); + 0.0 turns -0.0 into 0.0
    print("the first layer's learned 3×3 filters (a bank of pattern matchers):")
    for i in range(w.shape[1]):
        print("  " + "   ".join(" ".join(f"{v:+.1f}" for v in k[i]) for k in w))


@mg.viz.keep()  # the picture reads the recorded graph's values
def draw(model: nn.Module, side: int, out: Path) -> Path:
    from microgradnn.viz import draw_model
    count = sum(p.numel() for p in model.parameters())
    picture = draw_model(model, (1, 1, side, side),
                         title=f"CNN for {side}×{side} digits: {count:,} parameters")
    from _figures import have_dot
    if shutil.which("dot"):
        picture.render(out / "cnn_digits", format="svg", cleanup=True)
        return out / "cnn_digits.svg"
    path = out / "cnn_digits.dot"
    path.write_text(picture.source, encoding="utf-8")
    have_dot(f"cnn_digits.svg (wrote the DOT text {path})")
    return path


def figures(model, xtest, ytest, side: int, losses, out: Path) -> list:
    """Loss curve, the first layer's learned filters, and its feature maps of one digit."""
    import _figures
    files = [_figures.loss_curve(losses, out / "cnn_digits_loss.png",
                                 "CNN: training cross-entropy per epoch", xlabel="epoch")]
    w = model[0].weight.data[:, 0]
    files.append(_figures.image_row(list(w), [f"filter {i}" for i in range(len(w))],
                                    out / "cnn_digits_filters.png",
                                    "First layer: the learned 3×3 filters", cmap="coolwarm",
                                    vmin=-np.abs(w).max(), vmax=np.abs(w).max()))
    with mg.no_grad():
        maps = model[1](model[0](mg.tensor(xtest[:1]))).data[0]
    files.append(_figures.image_row(
        [xtest[0, 0]] + list(maps), [f"a {ytest[0]}"] + [f"map {i}" for i in range(len(maps))],
        out / "cnn_digits_feature_maps.png",
        "One test digit and its 8 feature maps after conv + ReLU", cmap="viridis", rows=1))
    return files


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", metavar="DIR", help="train on MNIST files in DIR instead")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--no-draw", action="store_true", help="skip the architecture picture")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for cnn_digits.svg")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    mg.manual_seed(0)

    xtrain, ytrain, xtest, ytest, side = load(args.mnist, rng)
    print(f"{'MNIST' if args.mnist else '8×8 digits'}: {len(ytrain)} training and "
          f"{len(ytest)} test images of {side}×{side} pixels")
    model = build(side)
    info = nn.summary(model, (1, 1, side, side))
    print(info)

    loader = DataLoader(TensorDataset(xtrain, ytrain), batch_size=args.batch_size,
                        shuffle=True, seed=0)
    opt = mg.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    print(f"\nSGD lr {args.lr}, momentum {args.momentum}, batches of {args.batch_size}")
    history, losses = [], []
    for epoch in range(1, args.epochs + 1):
        total = 0.0
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
        acc = evaluate(model, xtest, ytest)
        history.append(acc)
        losses.append(total / len(ytrain))
        print(f"epoch {epoch:3d}  train loss {total / len(ytrain):.4f}  test accuracy {acc:.4f}")
    print(f"\ntest accuracy {history[-1]:.4f} with {info.total_params:,} parameters")
    print_filters(model[0])

    files = []
    if not args.no_draw:
        args.out.mkdir(parents=True, exist_ok=True)
        files.append(draw(model, side, args.out))
        print(f"\nwrote {files[0]}")
        files.extend(f for f in figures(model, xtest, ytest, side, losses, args.out) if f)
    return {"test_accuracy": history[-1], "history": history, "params": info.total_params,
            "files": files}


if __name__ == "__main__":
    main()
