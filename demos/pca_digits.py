"""The lecture's PCA exercise: classify digits from their first k principal components.

The exercise's own data set is not in the material we have, so this uses the digit
images the lectures already use: scikit-learn's 8×8 digits by default (64 pixels), or
MNIST's 784-pixel images with ``--mnist DIR`` (``microgradnn.data.load_mnist``).

1. PCA of the training images (centred pixels, ``np.linalg.svd``): the first two
   components, one dot per test image coloured by its digit, and the variance explained.
2. For k = 2, 4, 8, ..., 64: the MLP of the lecture (100 ReLU units, Adam) trained on the
   first k components, and as a baseline a multinomial logistic regression on the same
   components (one ``nn.Linear(k, 10)`` and cross-entropy, fitted with ``optim.LBFGS``),
   both written with microgradnn; beside them the MLP on the raw pixels. Test accuracy
   against k is the figure.

    python demos/pca_digits.py
    python demos/pca_digits.py --mnist ~/data/mnist --limit 10000
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

OUT = Path(__file__).resolve().parent / "out" / "pca_digits"


def pca(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, components (n_features, n_features) as rows, explained variance ratio)."""
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    var = s ** 2
    return mean, vt, var / var.sum()


def standardize(train: np.ndarray, test: np.ndarray):
    mu, sd = train.mean(0), train.std(0)
    sd[sd == 0] = 1.0
    return ((train - mu) / sd).astype(np.float32), ((test - mu) / sd).astype(np.float32)


def accuracy(model, x, y) -> float:
    with mg.no_grad():
        return float((model(mg.tensor(x)).data.argmax(1) == y).mean())


def mlp(xtrain, ytrain, xtest, ytest, *, epochs: int, hidden: int = 100) -> float:
    """The lecture's MLP (He-initialised ReLU layer, Adam lr 1e-3, batches of 64)."""
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(xtrain.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, 10))
    nn.init.kaiming_normal_(model[0].weight, nonlinearity="relu")
    opt = mg.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(xtrain, ytrain), batch_size=64, shuffle=True, seed=0)
    for _ in range(epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return accuracy(model, xtest, ytest)


def logistic_regression(xtrain, ytrain, xtest, ytest, *, weight_decay: float = 1e-3) -> float:
    """Multinomial logistic regression, x → softmax(W x + b), with a small L2 penalty,
    fitted full-batch by L-BFGS."""
    mg.manual_seed(0)
    model = nn.Linear(xtrain.shape[1], 10)
    x, y = mg.tensor(xtrain), mg.tensor(ytrain)
    opt = mg.optim.LBFGS(model.parameters(), lr=1, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y) + (model.weight * model.weight).sum() * weight_decay
        loss.backward()
        return loss

    opt.step(closure)
    return accuracy(model, xtest, ytest)


def load(mnist, rng, limit):
    spec = importlib.util.spec_from_file_location("demo_digits",
                                                  Path(__file__).parent / "digits.py")
    digits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(digits)
    xtrain, ytrain, xtest, ytest, _ = digits.load(mnist, rng)
    if limit:
        xtrain, ytrain = xtrain[:limit], ytrain[:limit]
    return xtrain.astype(np.float64), ytrain, xtest.astype(np.float64), ytest


def draw(path: Path, xy, labels, ks, mlp_acc, lr_acc, raw_acc, ratio) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    sc = axes[0].scatter(xy[:, 0], xy[:, 1], c=labels, cmap="tab10", s=8)
    fig.colorbar(sc, ax=axes[0], ticks=range(10), label="digit")
    axes[0].set_xlabel(f"component 1 ({100 * ratio[0]:.1f}% of the variance)")
    axes[0].set_ylabel(f"component 2 ({100 * ratio[1]:.1f}%)")
    axes[0].set_title("test images on the first two principal components")
    axes[1].semilogx(ks, mlp_acc, "o-", base=2, label="MLP (100 ReLU) on k components")
    axes[1].semilogx(ks, lr_acc, "s-", base=2, label="logistic regression on k components")
    axes[1].axhline(raw_acc, color="k", ls=":", label=f"MLP on raw pixels: {raw_acc:.3f}")
    axes[1].set_xlabel("k (principal components kept)")
    axes[1].set_ylabel("test accuracy")
    axes[1].set_title("accuracy against k")
    axes[1].legend()
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return path


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", metavar="DIR", help="MNIST files in DIR instead of the digits")
    ap.add_argument("--limit", type=int, default=None, help="use the first N training images")
    ap.add_argument("--ks", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    ap.add_argument("--epochs", type=int, default=40, help="MLP epochs")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for pca_digits.png")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    mg.manual_seed(0)

    xtrain, ytrain, xtest, ytest = load(args.mnist, rng, args.limit)
    name = "MNIST" if args.mnist else "8×8 digits"
    print(f"{name}: {len(ytrain)} training, {len(ytest)} test images of {xtrain.shape[1]} "
          "pixels (the PCA exercise's own data is not available; see the docstring)")
    mean, comps, ratio = pca(xtrain)
    cum = np.cumsum(ratio)
    print("variance explained by the first k components: " +
          ", ".join(f"k={k}: {cum[k - 1]:.3f}" for k in args.ks if k <= len(cum)))
    strain, stest = standardize(xtrain, xtest)
    raw = mlp(strain, ytrain, stest, ytest, epochs=args.epochs)
    print(f"MLP on the raw {xtrain.shape[1]} pixels: test accuracy {raw:.4f}")
    ks = [k for k in args.ks if k <= comps.shape[0]]
    mlp_acc, lr_acc = [], []
    for k in ks:
        ztrain, ztest = (xtrain - mean) @ comps[:k].T, (xtest - mean) @ comps[:k].T
        ztrain, ztest = standardize(ztrain, ztest)
        mlp_acc.append(mlp(ztrain, ytrain, ztest, ytest, epochs=args.epochs))
        lr_acc.append(logistic_regression(ztrain, ytrain, ztest, ytest))
        print(f"k = {k:3d}: MLP {mlp_acc[-1]:.4f}   PCA + logistic regression {lr_acc[-1]:.4f}")
    xy = (xtest - mean) @ comps[:2].T
    args.out.mkdir(parents=True, exist_ok=True)
    path = draw(args.out / "pca_digits.png", xy, ytest, ks, mlp_acc, lr_acc, raw, ratio)
    print(f"wrote {path}")
    return {"raw_accuracy": raw, "ks": ks, "mlp_accuracy": dict(zip(ks, mlp_acc)),
            "logreg_accuracy": dict(zip(ks, lr_acc)), "explained": ratio, "files": [path]}


if __name__ == "__main__":
    main()
