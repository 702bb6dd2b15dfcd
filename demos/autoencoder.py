"""An autoencoder on the 8×8 digits: reconstruct each image through a small bottleneck.

Unsupervised: the network never sees a label. The encoder squeezes the 64 pixels into a
code of ``--bottleneck`` numbers (8 by default, or 2), the decoder rebuilds the image from
that code, and training lowers the mean squared error between input and reconstruction:

    64 -> 32 ReLU -> code (8) -> 32 ReLU -> 64 sigmoid

The demo prints the reconstruction error on held-out digits before and after training
next to two references (always drawing the mean digit, and PCA with as many components:
the best any *linear* autoencoder can do), shows reconstructions as ASCII art, checks
that the codes group digits by class (nearest neighbour in code space; the labels are
used only for this check) and writes demos/out/autoencoder_codes.svg: the codes of the
test digits in the plane (the two code numbers themselves for ``--bottleneck 2``, their
two principal components otherwise), coloured by digit.

With ``--noise 0.3`` it trains a denoising autoencoder: Gaussian noise is added to every
input, the target stays the clean image.

    python demos/autoencoder.py
    python demos/autoencoder.py --bottleneck 2 --noise 0.3
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
from microgradnn.creation import generator  # noqa: E402
from microgradnn.data import DataLoader, TensorDataset, load_digits  # noqa: E402
from microgradnn.nn import functional as F  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
SHADES = " .:-=+*#%@"
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]


class AutoEncoder(nn.Module):
    def __init__(self, in_features: int = 64, hidden: int = 32, bottleneck: int = 8) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(),
                                     nn.Linear(hidden, bottleneck))
        self.decoder = nn.Sequential(nn.Linear(bottleneck, hidden), nn.ReLU(),
                                     nn.Linear(hidden, in_features), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def mse(model: AutoEncoder, x: np.ndarray, target: np.ndarray | None = None) -> float:
    with mg.no_grad():
        return F.mse_loss(model(mg.tensor(x)), mg.tensor(x if target is None else target)).item()


def codes(model: AutoEncoder, x: np.ndarray) -> np.ndarray:
    with mg.no_grad():
        return model.encoder(mg.tensor(x)).data


def pca_mse(train: np.ndarray, test: np.ndarray, k: int) -> float:
    """Reconstruction error of the test set from the top k principal components of the
    training set (the optimum of a linear autoencoder with a k-dimensional code)."""
    mean = train.mean(axis=0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    basis = vt[:k]
    rebuilt = (test - mean) @ basis.T @ basis + mean
    return float(((rebuilt - test) ** 2).mean())


def nearest_neighbour_accuracy(train_codes, ytrain, test_codes, ytest) -> float:
    d = ((test_codes[:, None, :] - train_codes[None, :, :]) ** 2).sum(axis=2)
    return float((ytrain[d.argmin(axis=1)] == ytest).mean())


def ascii_rows(img: np.ndarray) -> list[str]:
    idx = np.clip((img.reshape(8, 8) * (len(SHADES) - 1)).round().astype(int), 0,
                  len(SHADES) - 1)
    return ["".join(SHADES[i] * 2 for i in row) for row in idx]


def show(rows: dict[str, np.ndarray]) -> None:
    """One line of images per entry of ``rows`` (original, noisy, rebuilt), digits side by side."""
    for name, images in rows.items():
        print(f"   {name}")
        blocks = [ascii_rows(np.clip(img, 0, 1)) for img in images]
        for lines in zip(*blocks):
            print("   " + "  |".join(lines))
        print()


def svg_scatter(points: np.ndarray, labels: np.ndarray, path: Path, title: str) -> None:
    size, pad = 420, 30
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    inner = pad + 10                     # keep the labels inside the frame
    xy = inner + (points - lo) / span * (size - 2 * inner)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 90}" height="{size}" '
           'font-family="Helvetica" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{pad}" y="18">{title}</text>',
           f'<rect x="{pad}" y="{pad}" width="{size - 2 * pad}" height="{size - 2 * pad}" '
           'fill="none" stroke="#bbb"/>']
    for (x, y), c in zip(xy, labels):
        out.append(f'<text x="{x:.1f}" y="{size - y + 4:.1f}" fill="{COLOURS[c]}" '
                   f'text-anchor="middle" font-size="10">{c}</text>')
    for c in range(10):
        out.append(f'<circle cx="{size + 10}" cy="{pad + 20 * c}" r="5" fill="{COLOURS[c]}"/>')
        out.append(f'<text x="{size + 20}" y="{pad + 20 * c + 4}">digit {c}</text>')
    out.append("</svg>")
    path.write_text("\n".join(out), encoding="utf-8")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bottleneck", type=int, default=8, help="code size (try 2 or 8)")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--noise", type=float, default=0.0,
                    help="standard deviation of Gaussian noise on the inputs (denoising)")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--show", type=int, default=6,
                    help="reconstructions to print (digits 0, 1, ..., at most 10)")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for autoencoder_codes.svg")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    mg.manual_seed(0)

    x, y = load_digits()
    x = x / 16.0                                  # pixels 0..16 -> 0..1, like the sigmoid
    order = rng.permutation(len(x))
    n_test = len(x) // 4
    xtest, ytest = x[order[:n_test]], y[order[:n_test]]
    xtrain, ytrain = x[order[n_test:]], y[order[n_test:]]
    xtest_in = xtest
    if args.noise:
        xtest_in = (xtest + args.noise * rng.standard_normal(xtest.shape)).astype(np.float32)
    print(f"8×8 digits: {len(xtrain)} training and {len(xtest)} test images, pixels in [0, 1]"
          f"{f'; inputs get Gaussian noise, σ = {args.noise}' if args.noise else ''}")

    model = AutoEncoder(64, args.hidden, args.bottleneck)
    print(nn.summary(model, (1, 64)))
    before = mse(model, xtest_in, xtest)
    mean_mse = float(((xtest - xtrain.mean(axis=0)) ** 2).mean())
    pca = pca_mse(xtrain, xtest, args.bottleneck)

    loader = DataLoader(TensorDataset(xtrain), batch_size=args.batch_size, shuffle=True, seed=0)
    opt = mg.optim.Adam(model.parameters(), lr=args.lr)
    noise_rng = generator()   # the library's seeded generator: same noise every run
    print(f"\nAdam lr {args.lr}, batches of {args.batch_size}, loss = MSE(rebuilt, clean input)")
    losses = []
    for epoch in range(1, args.epochs + 1):
        total = 0.0
        for (xb,) in loader:
            inputs = xb
            if args.noise:
                inputs = xb + mg.tensor(args.noise * noise_rng.standard_normal(xb.shape)
                                        .astype(np.float32))
            loss = F.mse_loss(model(inputs), xb)    # the target is the clean image
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        losses.append(total / len(xtrain))
        if epoch == 1 or epoch % 10 == 0 or epoch == args.epochs:
            print(f"epoch {epoch:3d}  training MSE {total / len(xtrain):.4f}  "
                  f"test MSE {mse(model, xtest_in, xtest):.4f}")
    after = mse(model, xtest_in, xtest)

    print("\nreconstruction MSE on the test digits (pixels in [0, 1]):")
    print(f"  {'untrained network':<32s}{before:.4f}")
    print(f"  {'always the mean digit':<32s}{mean_mse:.4f}")
    print(f"  {f'PCA, {args.bottleneck} components':<32s}{pca:.4f}   (the best linear code of "
          "that size, clean inputs)")
    print(f"  {f'trained autoencoder, code of {args.bottleneck}':<32s}{after:.4f}")
    result = {"mse_before": before, "mse_after": after, "mse_mean_digit": mean_mse,
              "mse_pca": pca}
    if args.noise:
        noisy = float(((xtest_in - xtest) ** 2).mean())
        print(f"  {'the noisy inputs themselves':<32s}{noisy:.4f}   (so the network removes "
              "noise)")
        result["mse_noisy_input"] = noisy

    test_codes = codes(model, xtest_in)
    knn = nearest_neighbour_accuracy(codes(model, xtrain), ytrain, test_codes, ytest)
    print(f"\ncodes group the digits: the nearest training code has the same label for "
          f"{knn:.3f} of the test digits (chance 0.1)")
    result["code_neighbour_accuracy"] = knn

    # one test digit of each class 0, 1, 2, ... (labels only pick what to show)
    pick = [int(np.flatnonzero(ytest == c)[0]) for c in range(min(args.show, 10))]
    with mg.no_grad():
        rebuilt = model(mg.tensor(xtest_in[pick])).data
    rows = {"original": xtest[pick]}
    if args.noise:
        rows["noisy input"] = xtest_in[pick]
    rows[f"reconstruction from {args.bottleneck} numbers"] = rebuilt
    print()
    show(rows)

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "autoencoder_codes.svg"
    if args.bottleneck == 2:
        plane, how = test_codes, "the 2 code numbers"
    else:
        centred = test_codes - test_codes.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        plane = centred @ vt[:2].T
        how = f"the {args.bottleneck}-number codes, 2 principal components"
    svg_scatter(plane, ytest, path, f"Test digits in code space ({how})")
    print(f"wrote {path}")
    import _figures
    shown = [xtest[pick]] + ([xtest_in[pick]] if args.noise else []) + [rebuilt]
    kinds = ["original"] + (["noisy input"] if args.noise else []) + ["rebuilt"]
    images = [img.reshape(8, 8) for group in shown for img in group]
    captions = [k for k in kinds for _ in pick]
    files = [_figures.loss_curve(losses, args.out / "autoencoder_loss.png",
                                 "Autoencoder: training MSE per epoch", xlabel="epoch"),
             _figures.image_row(images, captions, args.out / "autoencoder_reconstructions.png",
                                f"Test digits and their reconstructions from "
                                f"{args.bottleneck} numbers", rows=len(shown), vmin=0, vmax=1)]
    result["files"] = [path] + [f for f in files if f is not None]
    return result


if __name__ == "__main__":
    main()
