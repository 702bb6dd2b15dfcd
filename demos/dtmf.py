"""The lecture's exercise: recognise noisy DTMF (telephone keypad) tones without labels.

Each key of the 4×4 keypad is the sum of one low tone (697, 770, 852, 941 Hz) and one high
tone (1209, 1336, 1477, 1633 Hz). The script synthesises short windows of ``--window``
samples at 8 kHz (32 ms by default) with a random phase for each tone, a random
amplitude and a random ratio between the two, and adds white noise at a chosen
signal-to-noise ratio (SNR = signal power / noise power, in dB).

Preprocessing (NumPy, not learned): the magnitude spectrum of the Hann-windowed samples
(``np.fft.rfft``), scaled to unit length, so loudness does not matter.

Unsupervised learning, with no labels anywhere: a denoising autoencoder (spectrum → 64 →
``--code`` → 64 → spectrum, ReLU, Adam) learns to rebuild the *clean* spectrum of a window
from its noisy spectrum (SNRs drawn between -5 and 20 dB); then k-means (16 clusters,
k-means++ starts, best of 10, written in NumPy) groups the codes of the training windows.

Scoring, the only place the keys are used: each cluster is named after the key it
matches best (one-to-one, the Hungarian method from scipy, which scikit-learn installs),
and test windows at each SNR are recognised by their nearest cluster centre.

    python demos/dtmf.py
    python demos/dtmf.py --snrs -15 -10 -5 0 5 --window 128
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402
from microgradnn.data import DataLoader, TensorDataset  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "dtmf"
RATE = 8000
LOW = (697, 770, 852, 941)
HIGH = (1209, 1336, 1477, 1633)
KEYS = "123A456B789C*0#D"          # row = low tone, column = high tone


def tones(keys: np.ndarray, window: int, rng: np.random.Generator) -> np.ndarray:
    """Clean windows (n, window): random phases, amplitude in [0.5, 1.5] and high/low
    ratio ("twist") in [0.7, 1.4]."""
    t = np.arange(window) / RATE
    low = np.array(LOW)[keys // 4][:, None]
    high = np.array(HIGH)[keys % 4][:, None]
    amp = rng.uniform(0.5, 1.5, (len(keys), 1))
    twist = rng.uniform(0.7, 1.4, (len(keys), 1))
    phase = rng.uniform(0, 2 * np.pi, (len(keys), 2))
    return amp * (np.sin(2 * np.pi * low * t + phase[:, :1]) +
                  twist * np.sin(2 * np.pi * high * t + phase[:, 1:]))


def add_noise(x: np.ndarray, snr_db, rng: np.random.Generator) -> np.ndarray:
    """White Gaussian noise with power = signal power / 10^(snr/10), per window."""
    power = (x ** 2).mean(axis=1, keepdims=True)
    snr = np.broadcast_to(np.asarray(snr_db, dtype=float), (len(x),))[:, None]
    return x + rng.standard_normal(x.shape) * np.sqrt(power / 10 ** (snr / 10))


def spectrum(x: np.ndarray) -> np.ndarray:
    """|rfft| of the Hann-windowed samples, scaled to unit length: float32 (n, bins)."""
    s = np.abs(np.fft.rfft(x * np.hanning(x.shape[1]), axis=1))
    return (s / np.linalg.norm(s, axis=1, keepdims=True)).astype(np.float32)


class DenoisingAutoencoder(nn.Module):
    def __init__(self, bins: int, code: int, hidden: int = 64) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(bins, hidden), nn.ReLU(), nn.Linear(hidden, code))
        self.decoder = nn.Sequential(nn.Linear(code, hidden), nn.ReLU(), nn.Linear(hidden, bins))

    def forward(self, x):
        return self.decoder(self.encoder(x))


def encode(model: DenoisingAutoencoder, x: np.ndarray) -> np.ndarray:
    with mg.no_grad():
        return model.encoder(mg.tensor(x)).data


# ------------------------------------------------------------------- k-means in NumPy
def kmeans(x: np.ndarray, k: int, rng: np.random.Generator, n_init: int = 10,
           iters: int = 100) -> tuple[np.ndarray, float]:
    """Lloyd's algorithm from k-means++ starts; the centres of the best of ``n_init`` runs
    (lowest sum of squared distances) and that sum."""
    best, best_inertia = None, np.inf
    for _ in range(n_init):
        centres = [x[rng.integers(len(x))]]
        for _ in range(k - 1):              # k-means++: far points are likelier starts
            d2 = ((x[:, None] - np.array(centres)[None]) ** 2).sum(-1).min(1)
            centres.append(x[rng.choice(len(x), p=d2 / d2.sum())])
        centres = np.array(centres)
        for _ in range(iters):
            labels = assign(x, centres)
            new = np.array([x[labels == j].mean(0) if np.any(labels == j) else centres[j]
                            for j in range(k)])
            if np.allclose(new, centres):
                break
            centres = new
        inertia = float(((x - centres[assign(x, centres)]) ** 2).sum())
        if inertia < best_inertia:
            best, best_inertia = centres, inertia
    return best, best_inertia


def assign(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return ((x[:, None] - centres[None]) ** 2).sum(-1).argmin(1)


def match_clusters(clusters: np.ndarray, keys: np.ndarray, k: int = 16) -> np.ndarray:
    """cluster → key, one-to-one, maximising the number of agreements (Hungarian method)."""
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError as e:
        raise ImportError("dtmf.py scores the clusters with scipy's linear_sum_assignment; "
                          "scipy comes with scikit-learn: pip install microgradnn[demos]") from e
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (clusters, keys), 1)
    rows, cols = linear_sum_assignment(-counts)
    mapping = np.empty(k, dtype=np.int64)
    mapping[rows] = cols
    return mapping


# ---------------------------------------------------------------------------- picture
def draw(path: Path, snrs, accs, codes, keys, example) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
    axes[0].plot(snrs, accs, "o-")
    axes[0].axhline(0.95, color="grey", ls=":", label="target at 0 dB: 0.95")
    axes[0].set_xlabel("SNR (dB)")
    axes[0].set_ylabel("keys recognised")
    axes[0].set_title("accuracy against noise (no labels in training)")
    axes[0].legend()
    c = codes - codes.mean(0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    xy = c @ vt[:2].T
    sc = axes[1].scatter(xy[:, 0], xy[:, 1], c=keys, cmap="tab20", s=6)
    for j in range(16):
        m = xy[keys == j].mean(0)
        axes[1].annotate(KEYS[j], m, fontsize=11, weight="bold", ha="center")
    axes[1].set_title("codes at 0 dB (first two principal axes), by key")
    del sc
    freqs = np.fft.rfftfreq(2 * (example["clean"].shape[0] - 1), 1 / RATE)
    axes[2].plot(freqs, example["noisy"], color="0.6", label="noisy input (0 dB)")
    axes[2].plot(freqs, example["clean"], label="clean")
    axes[2].plot(freqs, example["rebuilt"], "--", label="reconstructed")
    axes[2].set_xlim(400, 2000)
    axes[2].set_xlabel("frequency (Hz)")
    axes[2].set_title(f"magnitude spectra of key {example['key']}")
    axes[2].legend()
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return path


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--window", type=int, default=256, help="samples per window (8 kHz)")
    ap.add_argument("--train", type=int, default=4000, help="unlabelled training windows")
    ap.add_argument("--test", type=int, default=800, help="test windows per SNR")
    ap.add_argument("--snrs", type=float, nargs="+", default=[-10, -5, 0, 5, 10, 20])
    ap.add_argument("--code", type=int, default=8, help="size of the latent code")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--out", type=Path, default=OUT, help="folder for dtmf.png")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    mg.manual_seed(0)

    keys = rng.integers(0, 16, args.train)      # used below only to score, never to train
    clean = tones(keys, args.window, rng)
    noisy = add_noise(clean, rng.uniform(-5, 20, args.train), rng)
    x_noisy, x_clean = spectrum(noisy), spectrum(clean)
    print(f"{args.train} training windows of {args.window} samples "
          f"({1000 * args.window / RATE:.0f} ms), {x_noisy.shape[1]} spectrum bins "
          f"of {RATE / args.window:.1f} Hz")

    model = DenoisingAutoencoder(x_noisy.shape[1], args.code)
    opt = mg.optim.Adam(model.parameters(), lr=2e-3)
    loader = DataLoader(TensorDataset(x_noisy, x_clean), batch_size=64, shuffle=True, seed=0)
    for epoch in range(1, args.epochs + 1):
        total = 0.0
        for xb, cb in loader:
            loss = nn.functional.mse_loss(model(xb), cb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        if epoch in (1, args.epochs) or epoch % 10 == 0:
            print(f"epoch {epoch:3d}  denoising MSE {total / len(x_noisy):.6f}")

    centres, inertia = kmeans(encode(model, x_noisy), 16, rng)
    mapping = match_clusters(assign(encode(model, x_noisy), centres), keys)
    train_acc = float((mapping[assign(encode(model, x_noisy), centres)] == keys).mean())
    print(f"k-means on the training codes: 16 clusters, inertia {inertia:.3f}; matched to "
          f"keys, they agree with {train_acc:.3f} of the training windows")

    accs, zero_db = [], None
    for snr in args.snrs:
        tkeys = rng.integers(0, 16, args.test)
        tclean = tones(tkeys, args.window, rng)
        tnoisy = spectrum(add_noise(tclean, snr, rng))
        codes = encode(model, tnoisy)
        acc = float((mapping[assign(codes, centres)] == tkeys).mean())
        accs.append(acc)
        print(f"SNR {snr:+5.1f} dB: {acc:.4f} of {args.test} test keys recognised")
        if snr == 0:
            zero_db = dict(codes=codes, keys=tkeys, noisy=tnoisy, clean=spectrum(tclean))
    args.out.mkdir(parents=True, exist_ok=True)
    files = []
    if zero_db is not None:
        with mg.no_grad():
            rebuilt = model(mg.tensor(zero_db["noisy"][:1])).data[0]
        example = dict(noisy=zero_db["noisy"][0], clean=zero_db["clean"][0], rebuilt=rebuilt,
                       key=KEYS[zero_db["keys"][0]])
        files.append(draw(args.out / "dtmf.png", args.snrs, accs, zero_db["codes"],
                          zero_db["keys"], example))
        print(f"wrote {files[0]}")
    return {"accuracy": dict(zip(args.snrs, accs)), "train_agreement": train_acc,
            "files": files}


if __name__ == "__main__":
    main()
