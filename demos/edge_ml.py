"""Edge ML: prune and quantise the digits MLP, and measure what it costs in accuracy.

The model is the lecture's MLP of demos/digits.py (64 → 100 ReLU → 10, Adam), trained on
the 8×8 digits. Then:

- magnitude pruning with PyTorch's ``nn.utils.prune`` names: ``l1_unstructured`` on each
  weight matrix separately, and ``global_unstructured`` over both at once (the smallest
  weights of the whole network go first), at sparsities from 0 to 98%, with and without
  a short fine-tuning of the surviving weights (``weight_orig`` trains, the mask holds
  the pruned ones at zero), and ``prune.remove`` to make it permanent;
- post-training int8 quantisation (``microgradnn.quantization.quantize_dynamic``):
  per-channel int8 weights, int8 inputs with a scale per batch, the matrix product
  accumulated in int32; accuracy and size before and after, and combined with pruning.

    python demos/edge_ml.py
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
from microgradnn.nn.utils import prune  # noqa: E402
from microgradnn.quantization import model_size_bytes, quantize_dynamic  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "edge_ml"


def _digits_demo():
    spec = importlib.util.spec_from_file_location("demo_digits",
                                                  Path(__file__).parent / "digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def accuracy(model, x, y) -> float:
    with mg.no_grad():
        return float((model(mg.tensor(x)).data.argmax(1) == y).mean())


def fit(model, x, y, epochs: int, lr: float = 1e-3) -> None:
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, seed=0)
    opt = mg.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()


def pruned(model, sparsity: float, how: str):
    m = copy.deepcopy(model)
    pairs = [(m[0], "weight"), (m[2], "weight")]
    if how == "global":
        prune.global_unstructured(pairs, pruning_method=prune.L1Unstructured, amount=sparsity)
    else:
        for module, name in pairs:
            prune.l1_unstructured(module, name, amount=sparsity)
    return m


def sparsity_of(model) -> float:
    w = [model[0].weight.data, model[2].weight.data]
    return float(sum((a == 0).sum() for a in w) / sum(a.size for a in w))


def draw(path: Path, levels, curves, sizes) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    for label, accs in curves.items():
        axes[0].plot(100 * np.array(levels), accs, "o-", ms=3, label=label)
    axes[0].set_xlabel("weights pruned (%)")
    axes[0].set_ylabel("test accuracy")
    axes[0].set_title("magnitude pruning of the digits MLP")
    axes[0].legend()
    names = list(sizes)
    axes[1].barh(names, [sizes[n][0] / 1024 for n in names])
    for i, n in enumerate(names):
        axes[1].text(sizes[n][0] / 1024, i, f"  {sizes[n][0] / 1024:.1f} KiB, "
                     f"accuracy {sizes[n][1]:.3f}", va="center")
    axes[1].set_xlabel("stored size (KiB)")
    axes[1].set_xlim(0, 1.9 * max(s[0] for s in sizes.values()) / 1024)
    axes[1].set_title("int8 quantisation")
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return path


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30, help="training epochs")
    ap.add_argument("--finetune", type=int, default=5, help="epochs after pruning")
    ap.add_argument("--levels", type=float, nargs="+",
                    default=[0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98])
    ap.add_argument("--out", type=Path, default=OUT, help="folder for edge_ml.png")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    mg.manual_seed(0)

    digits = _digits_demo()
    xtrain, ytrain, xtest, ytest, _ = digits.load(None, rng)
    xtrain, xtest, _, _ = digits.standardize(xtrain, xtest)
    model = digits.build(64, 100)
    fit(model, xtrain, ytrain, args.epochs)
    base = accuracy(model, xtest, ytest)
    print(f"digits MLP 64-100-10: test accuracy {base:.4f}")

    curves = {"l1_unstructured, each layer": [], "global_unstructured": [],
              "global + fine-tuning": []}
    for level in args.levels:
        local = pruned(model, level, "local")
        glob = pruned(model, level, "global")
        tuned = pruned(model, level, "global")
        if args.finetune:
            fit(tuned, xtrain, ytrain, args.finetune)
        accs = [accuracy(m, xtest, ytest) for m in (local, glob, tuned)]
        for label, a in zip(curves, accs):
            curves[label].append(a)
        print(f"{100 * level:4.0f}% pruned: each layer {accs[0]:.4f}   global {accs[1]:.4f}   "
              f"global + {args.finetune} epochs {accs[2]:.4f}")

    # make one pruning permanent and check the zeros are really in the weights
    keep = pruned(model, 0.9, "global")
    fit(keep, xtrain, ytrain, args.finetune)
    for layer in (keep[0], keep[2]):
        prune.remove(layer, "weight")
    print(f"after prune.remove: {sparsity_of(keep):.3f} of the weights are 0, "
          f"parameters {[n for n, _ in keep.named_parameters()]}")

    qmodel = quantize_dynamic(model)
    qpruned = quantize_dynamic(keep)
    with mg.no_grad():
        diff = np.abs(qmodel(mg.tensor(xtest)).data - model(mg.tensor(xtest)).data).max()
    sizes = {"float32": (model_size_bytes(model), base),
             "int8": (model_size_bytes(qmodel), accuracy(qmodel, xtest, ytest)),
             "90% pruned, float32": (model_size_bytes(keep), accuracy(keep, xtest, ytest)),
             "90% pruned, int8": (model_size_bytes(qpruned), accuracy(qpruned, xtest, ytest))}
    for name, (size, acc) in sizes.items():
        print(f"{name:>20s}: {size:6d} bytes, test accuracy {acc:.4f}")
    print(f"int8 against float32: largest logit difference {diff:.4f}; size ratio "
          f"{sizes['int8'][0] / sizes['float32'][0]:.3f} (weights 1 byte instead of 4, plus "
          "one float scale per output and the float biases)")
    nonzero = sum(int((layer.weight_int8.data != 0).sum()) for layer in (qpruned[0], qpruned[2]))
    print(f"the pruned int8 model has {nonzero} nonzero weights: stored sparsely (value + "
          f"16-bit index) it would need about {nonzero * 3 + 4 * (100 + 10) * 2} bytes")
    args.out.mkdir(parents=True, exist_ok=True)
    path = draw(args.out / "edge_ml.png", args.levels, curves, sizes)
    print(f"wrote {path}")
    return {"base_accuracy": base, "levels": args.levels, "curves": curves,
            "sizes": sizes, "removed_sparsity": sparsity_of(keep),
            "max_logit_difference": float(diff), "files": [path]}


if __name__ == "__main__":
    main()
