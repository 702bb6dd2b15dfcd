"""Handwritten digits with a multilayer perceptron, as in the lecture's MNIST example.

The lecture trains scikit-learn's MLPClassifier (one hidden layer of 100 ReLU units, Adam)
on MNIST and reaches 0.958 test accuracy. This demo builds the same network with
microgradnn and shows each step of the recipe:

- preprocessing to zero mean and unit variance (statistics of the training set only);
- a train/test split, and a validation split taken from the training set;
- mini-batches from ``DataLoader``, cross-entropy on the logits, Adam, weight decay,
  He initialisation;
- early stopping: stop once the validation loss has not improved for ``--patience``
  epochs and keep the best weights;
- test accuracy, a confusion matrix, a few mistakes drawn in ASCII, and the parameter
  count from ``nn.summary`` (with the lecture's question: 10 inputs, two hidden layers of
  10, 10 outputs: 330 parameters).

By default it uses the 1,797 8×8 digits bundled with scikit-learn (``./scripts/demo`` installs it,
or ``pip install -e '.[demos]'`` from a checkout; nothing is downloaded) and reaches about 0.97. With ``--mnist DIR``
it reads MNIST from files you already have (see ``microgradnn.data.load_mnist``). The
trained weights go to demos/out/digits_mlp.mgnn (``mg.load`` reads them back).

    python demos/digits.py
    python demos/digits.py --mnist ~/data/mnist --epochs 30
    python demos/digits.py --watch      # also digits_training.html: watch it learn
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
from microgradnn.data import DataLoader, TensorDataset  # noqa: E402
from microgradnn.nn import functional as F  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
SHADES = " .:-=+*#%@"


def load(mnist: str | None, rng: np.random.Generator, test_fraction: float = 0.25):
    """(xtrain, ytrain, xtest, ytest, side): float32 features, int64 labels, image side."""
    if mnist:
        from microgradnn.data import load_mnist
        xtrain, ytrain, xtest, ytest = load_mnist(mnist)
        return (xtrain.astype(np.float32), ytrain, xtest.astype(np.float32), ytest, 28)
    from microgradnn.data import load_digits
    x, y = load_digits()
    order = rng.permutation(len(x))
    n_test = int(round(test_fraction * len(x)))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test], 8


def standardize(train: np.ndarray, *others: np.ndarray):
    """Zero mean, unit variance per feature, with the training set's statistics (pixels
    that never vary, e.g. the corners, keep scale 1)."""
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1.0
    return [((a - mean) / std).astype(np.float32) for a in (train, *others)] + [mean, std]


def build(in_features: int, hidden: int = 100, classes: int = 10) -> nn.Sequential:
    """in_features → hidden ReLU units → classes logits, He-initialised, zero biases."""
    model = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, classes))
    for layer in (model[0], model[2]):
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        nn.init.zeros_(layer.bias)
    return model


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(accuracy, mean cross-entropy, predicted classes) without recording a graph."""
    model.eval()
    with mg.no_grad():
        logits = model(mg.tensor(x))
        loss = F.cross_entropy(logits, mg.tensor(y)).item()
    model.train()
    pred = logits.data.argmax(axis=1)
    return float((pred == y).mean()), loss, pred


def train(model, xtrain, ytrain, xval, yval, *, epochs: int, batch_size: int, lr: float,
          weight_decay: float, patience: int, log_every: int = 10, view=None):
    """Adam on shuffled mini-batches with early stopping on the validation loss (smoother
    than the accuracy of a small validation set); returns (history, best epoch)."""
    loader = DataLoader(TensorDataset(xtrain, ytrain), batch_size=batch_size, shuffle=True,
                        seed=0)
    opt = mg.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    best_loss, best_epoch, best_state, history = np.inf, 0, None, []
    for epoch in range(1, epochs + 1):
        total = 0.0
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)      # forward pass and loss
            opt.zero_grad()
            loss.backward()                            # backpropagation
            opt.step()                                 # Adam update
            if view is not None:
                view.record(loss)
            total += loss.item() * len(yb)
        val_acc, val_loss, _ = evaluate(model, xval, yval)
        history.append((total / len(ytrain), val_loss, val_acc))
        improved = val_loss < best_loss
        if improved:
            best_loss, best_epoch, best_acc = val_loss, epoch, val_acc
            best_state = {k: v.data.copy() for k, v in model.state_dict().items()}
        if epoch % log_every == 0 or epoch <= 3:
            print(f"epoch {epoch:3d}  train loss {total / len(ytrain):.4f}  validation loss "
                  f"{val_loss:.4f}  accuracy {val_acc:.4f}{'  (best)' if improved else ''}")
        if epoch - best_epoch >= patience:
            print(f"epoch {epoch:3d}: early stopping, the validation loss has not improved "
                  f"for {patience} epochs")
            break
    model.load_state_dict({k: mg.tensor(v) for k, v in best_state.items()})
    print(f"kept the weights of epoch {best_epoch} (validation loss {best_loss:.4f}, "
          f"accuracy {best_acc:.4f})")
    return history, best_epoch


def confusion_matrix(y: np.ndarray, pred: np.ndarray, classes: int = 10) -> np.ndarray:
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (y, pred), 1)
    return m


def print_confusion(m: np.ndarray) -> None:
    print("confusion matrix (rows: true digit, columns: predicted)")
    print("      " + "".join(f"{j:5d}" for j in range(len(m))) + "   recall")
    for i, row in enumerate(m):
        cells = "".join(f"{v:5d}" if v or i == j else "    ." for j, v in enumerate(row))
        print(f"  {i:2d}  {cells}   {row[i] / max(row.sum(), 1):.3f}")


def ascii_digits(images: list[np.ndarray], captions: list[str], side: int) -> None:
    step = 2 if side > 16 else 1       # MNIST: every second pixel keeps the rows short
    rep = 1 if side > 16 else 2        # 8×8: two characters per pixel
    blocks = []
    for img in images:
        img = img.reshape(side, side)[::step, ::step]
        lo, hi = img.min(), img.max()
        idx = ((img - lo) / (hi - lo or 1) * (len(SHADES) - 1)).round().astype(int)
        blocks.append(["".join(SHADES[i] * rep for i in row) for row in idx])
    width = max([len(blocks[0][0])] + [len(c) for c in captions])
    print("   ".join(f"{c:<{width}s}" for c in captions))
    for rows in zip(*blocks):
        print("   ".join(f"{r:<{width}s}" for r in rows))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", metavar="DIR", help="train on MNIST files in DIR instead")
    ap.add_argument("--epochs", type=int, default=200, help="at most this many epochs")
    ap.add_argument("--hidden", type=int, default=100, help="hidden ReLU units")
    ap.add_argument("--batch-size", type=int, default=None,
                    help="mini-batch size (default 32 for the digits, 200 for MNIST)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--patience", type=int, default=10,
                    help="early stopping: epochs without a lower validation loss")
    ap.add_argument("--validation", type=float, default=0.1,
                    help="fraction of the training set held out for early stopping")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for digits_mlp.mgnn")
    ap.add_argument("--watch", action="store_true",
                    help="record the training as a page, digits_training.html in --out")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    mg.manual_seed(0)

    xtrain, ytrain, xtest, ytest, side = load(args.mnist, rng)
    batch_size = args.batch_size or (200 if args.mnist else 32)
    order = rng.permutation(len(xtrain))
    n_val = int(round(args.validation * len(xtrain)))
    val, fit = order[:n_val], order[n_val:]
    xfit, xval, xtest_s, mean, std = standardize(xtrain[fit], xtrain[val], xtest)
    yfit, yval = ytrain[fit], ytrain[val]
    print(f"{'MNIST' if args.mnist else '8×8 digits'}: {len(yfit)} training, {len(yval)} "
          f"validation, {len(ytest)} test images of {xtrain.shape[1]} pixels")
    print(f"after standardizing: training mean {xfit.mean():.3f}, "
          f"std {xfit[:, std != 1].std():.3f} (over pixels that vary)")

    model = build(xtrain.shape[1], args.hidden)
    info = nn.summary(model, (1, xtrain.shape[1]))
    print(info)
    d, h = xtrain.shape[1], args.hidden
    print(f"= {d}·{h} + {h} weights and biases into the hidden layer, {h}·10 + 10 into the "
          f"outputs")
    lecture = nn.summary(nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 10),
                                       nn.ReLU(), nn.Linear(10, 10)), (1, 10))
    print(f"the lecture's question, 10 inputs, two hidden layers of 10, 10 outputs: "
          f"{lecture.total_params} parameters = 3·(10·10 + 10)\n")

    view = mg.viz.watch(model, inputs=xfit, targets=yfit, image_shape=(side, side),
                        title="Digits: MLP") if args.watch else None
    history, best_epoch = train(model, xfit, yfit, xval, yval, epochs=args.epochs,
                                batch_size=batch_size, lr=args.lr,
                                weight_decay=args.weight_decay, patience=args.patience,
                                view=view)
    acc, test_loss, pred = evaluate(model, xtest_s, ytest)
    train_acc, _, _ = evaluate(model, xfit, yfit)
    print(f"\ntraining accuracy {train_acc:.4f}, test accuracy {acc:.4f}, test loss "
          f"{test_loss:.4f}")
    print("(the lecture's MLPClassifier, the same network, reaches 0.958 on MNIST)")
    cm = confusion_matrix(ytest, pred)
    print_confusion(cm)

    wrong = np.flatnonzero(pred != ytest)[:4]
    if len(wrong):
        print(f"\n{len(np.flatnonzero(pred != ytest))} test images wrong; the first few:")
        ascii_digits([xtest[i] for i in wrong],
                     [f"true {ytest[i]}, said {pred[i]}" for i in wrong], side)

    args.out.mkdir(parents=True, exist_ok=True)
    import _figures
    figures = [
        _figures.loss_curve([h[0] for h in history], args.out / "digits_loss.png",
                            "Digits MLP: cross-entropy per epoch", xlabel="epoch",
                            extra={"validation loss": [h[1] for h in history]}),
        _figures.confusion_heatmap(cm, args.out / "digits_confusion.png",
                                   "Digits MLP, test set"),
    ]
    wrong = np.flatnonzero(pred != ytest)[:10]
    if len(wrong):
        figures.append(_figures.image_row(
            [xtest[i].reshape(side, side) for i in wrong],
            [f"true {ytest[i]}, said {pred[i]}" for i in wrong],
            args.out / "digits_misclassified.png", "Test digits the MLP gets wrong", rows=2))
    path = args.out / "digits_mlp.mgnn"
    mg.save({"model": model.state_dict(), "mean": mean, "std": std, "epoch": best_epoch,
             "test_accuracy": acc}, path)
    print(f"\nwrote {path} (mg.load it; model.load_state_dict(ckpt['model']))")
    files = [path]
    if view is not None:
        files.append(view.save(args.out / "digits_training.html"))
        print(f"wrote {files[-1]}: the training, step by step")
    return {"test_accuracy": acc, "train_accuracy": train_acc, "confusion": cm,
            "best_epoch": best_epoch, "epochs_run": len(history),
            "params": info.total_params, "lecture_params": lecture.total_params,
            "files": files + [f for f in figures if f is not None]}


if __name__ == "__main__":
    main()
