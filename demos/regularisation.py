"""Regularisation on an over-fitting MLP: weight decay, dropout and early stopping.

A 64-256-256-10 ReLU network has about 85,000 parameters; here it learns from only
``--train`` (200) of the 8×8 digits, so it can memorise them. The same network, from the
same starting weights, is trained four ways (Adam, lr 1e-3, mini-batches of 32):

- no regularisation: the training loss goes to ~0 while the test loss turns back up;
- weight decay: the penalty λ·Σw² (``weight_decay=`` of the optimiser) keeps the weights
  small;
- dropout: ``nn.Dropout(0.5)`` after each hidden layer, active in training only
  (``model.train()`` / ``model.eval()``);
- early stopping: the unregularised run, stopped when the loss on a separate validation
  set has not improved for ``--patience`` epochs, with the best weights kept.

The test images are never used for a decision; they only measure. The figure shows the
training and test loss of each run per epoch.

    python demos/regularisation.py
    python demos/regularisation.py --train 500 --epochs 300
"""
from __future__ import annotations

import argparse
import copy
import importlib.util
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402
from microgradnn.data import DataLoader, TensorDataset  # noqa: E402
from microgradnn.nn import functional as F  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "regularisation"


def build(dropout: float, hidden: int = 256) -> nn.Sequential:
    drop = (lambda: nn.Dropout(dropout)) if dropout else nn.Identity
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), drop(),
                         nn.Linear(hidden, hidden), nn.ReLU(), drop(),
                         nn.Linear(hidden, 10))


def evaluate(model, x, y) -> tuple[float, float]:
    """(loss, accuracy) in evaluation mode (dropout off), without a graph."""
    model.eval()
    with mg.no_grad():
        logits = model(mg.tensor(x))
        loss = F.cross_entropy(logits, mg.tensor(y)).item()
    model.train()
    return loss, float((logits.data.argmax(1) == y).mean())


def run(model, data, *, epochs: int, lr: float, weight_decay: float, patience: int | None):
    """Train; returns the history [(train loss, val loss, test loss, test acc)] and, with
    ``patience``, the epoch whose weights were kept."""
    xtr, ytr, xval, yval, xte, yte = data
    loader = DataLoader(TensorDataset(xtr, ytr), batch_size=32, shuffle=True, seed=0)
    opt = mg.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    history, best, best_epoch, best_state = [], np.inf, 0, None
    for epoch in range(1, epochs + 1):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        train_loss, _ = evaluate(model, xtr, ytr)
        val_loss, _ = evaluate(model, xval, yval)
        test_loss, test_acc = evaluate(model, xte, yte)
        history.append((train_loss, val_loss, test_loss, test_acc))
        if patience is not None:
            if val_loss < best:
                best, best_epoch = val_loss, epoch
                best_state = copy.deepcopy(model.state_dict())
            elif epoch - best_epoch >= patience:
                model.load_state_dict(best_state)
                break
    return history, (best_epoch if patience is not None else None)


def load_split(rng, n_train: int, n_val: int):
    spec = importlib.util.spec_from_file_location("demo_digits",
                                                  Path(__file__).parent / "digits.py")
    digits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(digits)
    xtrain, ytrain, xtest, ytest, _ = digits.load(None, rng)
    order = rng.permutation(len(xtrain))
    fit, val = order[:n_train], order[n_train:n_train + n_val]
    xfit, xval, xte, _, _ = digits.standardize(xtrain[fit], xtrain[val], xtest)
    return xfit, ytrain[fit], xval, ytrain[val], xte, ytest


def draw(path: Path, runs: dict) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(4 * len(runs), 3.6), sharey=True,
                             layout="constrained")
    for ax, (name, r) in zip(axes, runs.items()):
        h = np.array(r["history"])
        epochs = np.arange(1, len(h) + 1)
        ax.semilogy(epochs, h[:, 0], label="training loss")
        ax.semilogy(epochs, h[:, 2], label="test loss")
        if r["kept_epoch"]:
            ax.axvline(r["kept_epoch"], color="k", ls=":", label=f"kept epoch {r['kept_epoch']}")
        ax.set_title(f"{name}: test accuracy {r['test_accuracy']:.3f}")
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("cross-entropy")
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return path


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=200, help="training images")
    ap.add_argument("--val", type=int, default=200, help="validation images (early stopping)")
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--patience", type=int, default=10)
    ap.add_argument("--out", type=Path, default=OUT, help="folder for regularisation.png")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    mg.manual_seed(0)

    data = load_split(rng, args.train, args.val)
    print(f"8×8 digits: {args.train} training, {args.val} validation, {len(data[5])} test "
          f"images; network 64-256-256-10")
    settings = {"none": dict(dropout=0.0, weight_decay=0.0, patience=None),
                "weight decay": dict(dropout=0.0, weight_decay=args.weight_decay, patience=None),
                "dropout": dict(dropout=args.dropout, weight_decay=0.0, patience=None),
                "early stopping": dict(dropout=0.0, weight_decay=0.0, patience=args.patience)}
    runs = {}
    for name, s in settings.items():
        mg.manual_seed(0)                  # the same starting weights for every run
        model = build(s["dropout"])
        history, kept = run(model, data, epochs=args.epochs, lr=args.lr,
                            weight_decay=s["weight_decay"], patience=s["patience"])
        test_loss, test_acc = evaluate(model, data[4], data[5])
        train_loss, train_acc = evaluate(model, data[0], data[1])
        min_test = min(h[2] for h in history)
        runs[name] = {"history": history, "kept_epoch": kept, "test_accuracy": test_acc,
                      "test_loss": test_loss, "train_loss": train_loss,
                      "train_accuracy": train_acc, "min_test_loss": min_test}
        extra = f", weights of epoch {kept} kept" if kept else ""
        print(f"{name:>15s}: train loss {train_loss:.4f} (accuracy {train_acc:.3f}), test loss "
              f"{test_loss:.4f} (lowest on the way {min_test:.4f}), test accuracy "
              f"{test_acc:.3f}{extra}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = draw(args.out / "regularisation.png", runs)
    print(f"wrote {path}")
    return {"runs": {k: {kk: vv for kk, vv in v.items() if kk != "history"}
                     for k, v in runs.items()}, "files": [path]}


if __name__ == "__main__":
    main()
