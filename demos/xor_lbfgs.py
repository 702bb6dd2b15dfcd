"""XOR as scikit-learn does it (L-BFGS), and the lecture's two MNIST recipes.

Part 1, XOR. The lecture's three lines,
``MLPClassifier(solver='lbfgs', hidden_layer_sizes=(4), activation='tanh').fit(X, y)``,
score 1.0. Here the same model is written with microgradnn and fitted with
``optim.LBFGS``: 2 inputs → 4 tanh → 1 logistic output, log-loss plus sklearn's L2 penalty
alpha/(2n)·Σw² (alpha = 1e-4, weights only), weights and biases drawn as sklearn draws them
(uniform in ±√(6/(fan_in + fan_out))), at most 200 iterations with a strong-Wolfe line
search. Beside it, the lecture's gradient-descent version (demos/xor.py: MSE, lr 10, 500
steps). L-BFGS gets there in a few dozen loss evaluations; the figure shows the loss
against the number of evaluations and both decision surfaces. It is repeated for 10 seeds
(and for sklearn's own MLPClassifier with random_state 0…9, if installed): a 4-unit net
on XOR can land in a local minimum, for sklearn as for us.

Part 2, the MNIST recipes, on the 8×8 digits by default or MNIST with ``--mnist DIR``:
- sklearn's default MLPClassifier: 100 ReLU units, Adam (lr 1e-3), mini-batches of 200,
  alpha 1e-4, stopping when the training loss has not improved by 1e-4 for 10 epochs
  (the lecture: 0.958 on MNIST);
- the batch-by-batch tanh network: 78 tanh hidden units, softmax outputs, batches of
  5,000 images, loss 1 − mean p(correct class), plain gradient descent (the lecture:
  test loss 0.085 on MNIST).

    python demos/xor_lbfgs.py
    python demos/xor_lbfgs.py --mnist ~/data/mnist
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402
from microgradnn.nn import functional as F  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "xor_lbfgs"
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
Y = np.array([0, 1, 1, 0], dtype=np.int64)


def _load_demo(name: str):
    spec = importlib.util.spec_from_file_location(f"demo_{name}", Path(__file__).parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- XOR, L-BFGS
def glorot_like_sklearn(model: nn.Sequential, rng: np.random.Generator) -> None:
    """sklearn's MLP initialisation: weights and biases uniform in ±√(6/(fan_in+fan_out))."""
    with mg.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                bound = math.sqrt(6.0 / (layer.in_features + layer.out_features))
                layer.weight.data[...] = rng.uniform(-bound, bound, layer.weight.shape)
                layer.bias.data[...] = rng.uniform(-bound, bound, layer.bias.shape)


def sklearn_loss(model: nn.Sequential, x: mg.Tensor, y: mg.Tensor, alpha: float) -> mg.Tensor:
    """Mean log-loss of the logistic output plus alpha/(2n)·Σ w² over the weight matrices."""
    logits = model(x)[:, 0]
    loss = F.binary_cross_entropy_with_logits(logits, y)
    penalty = sum((layer.weight * layer.weight).sum() for layer in model
                  if isinstance(layer, nn.Linear))
    return loss + penalty * (alpha / (2 * x.shape[0]))


def fit_lbfgs(seed: int, alpha: float = 1e-4, max_iter: int = 200, tol: float = 1e-4):
    """(model, losses per evaluation, score) for the 2-4-1 tanh net fitted with L-BFGS."""
    f64 = mg.float64
    model = nn.Sequential(nn.Linear(2, 4, dtype=f64), nn.Tanh(), nn.Linear(4, 1, dtype=f64))
    glorot_like_sklearn(model, np.random.default_rng(seed))
    x, y = mg.tensor(X), mg.tensor(Y.astype(np.float64))
    opt = mg.optim.LBFGS(model.parameters(), lr=1, max_iter=max_iter, max_eval=15000,
                         tolerance_grad=tol, tolerance_change=1e-12, history_size=10,
                         line_search_fn="strong_wolfe")
    losses = []

    def closure():
        opt.zero_grad()
        loss = sklearn_loss(model, x, y, alpha)
        loss.backward()
        losses.append(loss.item())
        return loss

    opt.step(closure)
    return model, losses, score(model)


def score(model: nn.Module) -> float:
    with mg.no_grad():
        out = model(mg.tensor(X.astype(model[0].weight.dtype)))[:, 0].data
    # a logistic output > 0.5 (logit > 0) or, for the sigmoid MSE net, p > 0.5
    threshold = 0.0 if not isinstance(model[-1], nn.Sigmoid) else 0.5
    return float(((out > threshold).astype(int) == Y).mean())


def sklearn_scores(seeds) -> list[float] | None:
    try:
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None
    import warnings
    scores = []
    for seed in seeds:
        clf = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(4), activation="tanh",
                            random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")        # a ConvergenceWarning on a stuck seed
            clf.fit(X, Y)
        scores.append(float(clf.score(X, Y)))
    return scores


# --------------------------------------------------------------------- the MNIST recipes
def load_data(mnist: str | None, rng: np.random.Generator, limit: int | None = None):
    digits = _load_demo("digits")
    xtrain, ytrain, xtest, ytest, _ = digits.load(mnist, rng)
    if limit:
        xtrain, ytrain = xtrain[:limit], ytrain[:limit]
    if mnist:               # bytes → [0, 1], as the lecture's notebooks do
        xtrain, xtest = xtrain / 255.0, xtest / 255.0
    else:
        xtrain, xtest = xtrain / 16.0, xtest / 16.0
    return (xtrain.astype(np.float32), ytrain, xtest.astype(np.float32), ytest)


def accuracy(model, x, y) -> float:
    with mg.no_grad():
        return float((model(mg.tensor(x)).data.argmax(1) == y).mean())


def sklearn_adam_recipe(xtrain, ytrain, xtest, ytest, *, max_iter: int, rng,
                        hidden: int = 100, lr: float = 1e-3, alpha: float = 1e-4,
                        batch_size: int = 200, tol: float = 1e-4, n_iter_no_change: int = 10):
    """sklearn's MLPClassifier defaults, written out: (model, history, epochs run)."""
    model = nn.Sequential(nn.Linear(xtrain.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, 10))
    glorot_like_sklearn(model, rng)
    opt = mg.optim.Adam(model.parameters(), lr=lr, eps=1e-8)
    n = len(xtrain)
    batch_size = min(batch_size, n)
    best, stall, history = np.inf, 0, []
    for epoch in range(1, max_iter + 1):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            xb = mg.tensor(xtrain[idx])
            loss = F.cross_entropy(model(xb), mg.tensor(ytrain[idx]))
            # sklearn's penalty: alpha/2·Σw² divided by the batch size
            penalty = (model[0].weight * model[0].weight).sum() + \
                (model[2].weight * model[2].weight).sum()
            loss = loss + penalty * (alpha / (2 * len(idx)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        epoch_loss = total / n
        history.append((epoch, epoch_loss, accuracy(model, xtest, ytest)))
        if epoch_loss > best - tol:
            stall += 1
        else:
            stall = 0
        best = min(best, epoch_loss)
        if stall >= n_iter_no_change:
            print(f"  epoch {epoch}: training loss did not improve by {tol} for "
                  f"{n_iter_no_change} epochs: stop (sklearn's rule)")
            break
    return model, history


def tanh_batch_recipe(xtrain, ytrain, xtest, ytest, *, epochs: int, rng, hidden: int = 78,
                      batch_size: int = 5000, lr: float = 3.0):
    """78 tanh units, softmax outputs, loss 1 − mean p(correct), batches of 5,000, plain
    gradient descent: (model, history of (epoch, training loss, test loss, test accuracy))."""
    model = nn.Sequential(nn.Linear(xtrain.shape[1], hidden), nn.Tanh(), nn.Linear(hidden, 10))
    glorot_like_sklearn(model, rng)
    n = len(xtrain)

    def loss_fn(x, y):
        p = F.softmax(model(x), dim=1)
        return 1 - p[np.arange(len(y)), y].mean()

    history = []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            loss = loss_fn(mg.tensor(xtrain[idx]), ytrain[idx])
            model.zero_grad()
            loss.backward()
            with mg.no_grad():
                for p in model.parameters():
                    p.data -= lr * p.grad.data
            total += loss.item() * len(idx)
        with mg.no_grad():
            test_loss = loss_fn(mg.tensor(xtest), ytest).item()
        history.append((epoch, total / n, test_loss, accuracy(model, xtest, ytest)))
    return model, history


# ----------------------------------------------------------------------------- pictures
def draw_xor(path: Path, lbfgs_model, lbfgs_losses, gd_model, gd_losses) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
    axes[0].semilogy(range(1, len(lbfgs_losses) + 1), lbfgs_losses, label="L-BFGS (log-loss)")
    axes[0].semilogy(range(1, len(gd_losses) + 1), gd_losses, label="gradient descent (MSE)")
    axes[0].set_xlabel("loss evaluations (forward + backward passes)")
    axes[0].set_title("training loss")
    axes[0].legend()
    g = np.linspace(-0.5, 1.5, 101)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    for ax, model, title in ((axes[1], lbfgs_model, "L-BFGS, as sklearn"),
                             (axes[2], gd_model, "gradient descent, lr 10")):
        with mg.no_grad():
            out = model(mg.tensor(grid.astype(model[0].weight.dtype))).data[:, 0]
        if not isinstance(model[-1], nn.Sigmoid):
            out = 1 / (1 + np.exp(-out))
        im = ax.contourf(g, g, out.reshape(len(g), len(g)), levels=np.linspace(0, 1, 11),
                         cmap="RdBu_r")
        ax.scatter(X[:, 0], X[:, 1], c=["w" if t == 0 else "k" for t in Y], edgecolors="k",
                   s=80, label="XOR points (white: 0, black: 1)")
        ax.set_title(f"{title}: p(class 1)")
        ax.set_aspect("equal")
    fig.colorbar(im, ax=axes[2])
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def draw_recipes(path: Path, adam_history, tanh_history) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    e, loss, acc = zip(*adam_history)
    axes[0].plot(e, acc, label="100 ReLU, Adam (sklearn's defaults)")
    e2, _, test_loss, acc2 = zip(*tanh_history)
    axes[0].plot(e2, acc2, label="78 tanh, batches of 5,000, 1 − p(correct)")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("test accuracy")
    axes[0].legend()
    axes[1].plot(e2, test_loss)
    axes[1].set_xlabel("epoch")
    axes[1].set_title("tanh network: test loss 1 − mean p(correct)")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10, help="XOR fits to repeat")
    ap.add_argument("--mnist", metavar="DIR", help="the recipes on MNIST files in DIR")
    ap.add_argument("--adam-epochs", type=int, default=200, help="at most (sklearn: max_iter)")
    ap.add_argument("--tanh-epochs", type=int, default=800)
    ap.add_argument("--tanh-lr", type=float, default=3.0)
    ap.add_argument("--limit", type=int, default=None, help="use the first N training images")
    ap.add_argument("--no-sklearn", action="store_true", help="skip sklearn's own runs")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for the PNG figures")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    mg.manual_seed(0)
    args.out.mkdir(parents=True, exist_ok=True)

    print("XOR with L-BFGS, as MLPClassifier(solver='lbfgs', hidden_layer_sizes=(4), "
          "activation='tanh')")
    model, losses, first_score = fit_lbfgs(0)
    print(f"  seed 0: score {first_score:.2f} after {len(losses)} loss evaluations, "
          f"final loss {losses[-1]:.2e}")
    with mg.no_grad():
        p = 1 / (1 + np.exp(-model(mg.tensor(X))[:, 0].data))
    print("  p(class 1) for [0,0] [0,1] [1,0] [1,1]: " + " ".join(f"{v:.3f}" for v in p))
    seeds = list(range(args.seeds))
    ours = [first_score] + [fit_lbfgs(s)[2] for s in seeds[1:]]
    print(f"  ours, seeds 0-{seeds[-1]}: scores {ours}: {sum(s == 1.0 for s in ours)} of "
          f"{len(ours)} reach 1.0")
    theirs = None if args.no_sklearn else sklearn_scores(seeds)
    if theirs is not None:
        print(f"  sklearn, random_state 0-{seeds[-1]}: scores {theirs}: "
              f"{sum(s == 1.0 for s in theirs)} of {len(theirs)} reach 1.0")

    xor = _load_demo("xor")
    print("\nthe same XOR by gradient descent (demos/xor.py: MSE, lr 10):")
    gd_model = xor.build(np.random.default_rng(0))
    gd_losses = xor.train(gd_model, steps=500, log_every=250)
    gd_score = score(gd_model)
    print(f"  score {gd_score:.2f} after {len(gd_losses)} loss evaluations")
    xor_png = draw_xor(args.out / "xor_lbfgs.png", model, losses, gd_model, gd_losses)

    name = "MNIST" if args.mnist else "8×8 digits"
    xtrain, ytrain, xtest, ytest = load_data(args.mnist, rng, args.limit)
    print(f"\n{name}: {len(ytrain)} training and {len(ytest)} test images")
    print("recipe 1: sklearn's MLPClassifier defaults (100 ReLU, Adam) written out")
    adam_model, adam_history = sklearn_adam_recipe(xtrain, ytrain, xtest, ytest,
                                                   max_iter=args.adam_epochs,
                                                   rng=np.random.default_rng(0))
    adam_acc = adam_history[-1][2]
    print(f"  {len(adam_history)} epochs, test accuracy {adam_acc:.4f} (the lecture: 0.958 on "
          "MNIST)")
    sk_acc = None
    if not args.no_sklearn and importlib.util.find_spec("sklearn") is not None:
        import warnings
        from sklearn.neural_network import MLPClassifier
        clf = MLPClassifier(random_state=0, max_iter=args.adam_epochs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(xtrain, ytrain)
        sk_acc = float(clf.score(xtest, ytest))
        print(f"  sklearn's MLPClassifier() on the same split: {sk_acc:.4f} "
              f"({clf.n_iter_} epochs)")
    print("recipe 2: 78 tanh units, batches of 5,000, loss 1 - mean p(correct)")
    tanh_model, tanh_history = tanh_batch_recipe(xtrain, ytrain, xtest, ytest,
                                                 epochs=args.tanh_epochs, lr=args.tanh_lr,
                                                 rng=np.random.default_rng(0))
    _, tanh_train, tanh_test, tanh_acc = tanh_history[-1]
    print(f"  {len(tanh_history)} epochs of {math.ceil(len(ytrain) / 5000)} batch(es): "
          f"training loss {tanh_train:.4f}, test loss {tanh_test:.4f}, test accuracy "
          f"{tanh_acc:.4f} (the lecture: test loss 0.085 on MNIST)")
    recipes_png = draw_recipes(args.out / "mnist_recipes.png", adam_history, tanh_history)
    print(f"\nwrote {xor_png} and {recipes_png}")
    return {"lbfgs_score": first_score, "lbfgs_evaluations": len(losses), "seed_scores": ours,
            "sklearn_scores": theirs, "gd_score": gd_score, "adam_accuracy": adam_acc,
            "sklearn_adam_accuracy": sk_acc, "tanh_test_loss": tanh_test,
            "tanh_accuracy": tanh_acc, "files": [xor_png, recipes_png]}


if __name__ == "__main__":
    main()
