"""A playground of small networks on 2-D data, recorded with ``mg.viz.watch``.

Four classic two-class problems, generated here with NumPy (nothing is downloaded): XOR
(the four quadrants), two interleaved moons, two concentric circles and two spirals. For
each, a network with the hidden layers and activation you choose is trained with Adam on
the binary cross-entropy of its logit, and the training is written as a page to open in
any browser (demos/out/playground_<data>.html): the network with every neuron's activation
over the plane, the decision surface with the points, the loss and accuracy, and each
layer's gradient norm, frame by frame.

    python demos/playground.py                              # all four, default networks
    python demos/playground.py --data spirals --hidden 16,16 --activation relu
    python demos/playground.py --data moons --hidden 3 --lr 0.1 --steps 300 --out /tmp/pg
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402
from microgradnn.nn import functional as F  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}
# hidden layers that learn each problem in the default number of steps
DEFAULT_HIDDEN = {"xor": [4], "moons": [8, 8], "circles": [6], "spirals": [16, 16]}


def xor(n: int, rng, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Points in the square [-1, 1]², class 1 where x·y > 0 (away from the axes)."""
    x = rng.uniform(-1, 1, (n, 2))
    x += np.sign(x) * 0.08                       # a margin along both axes
    return x + noise * rng.standard_normal((n, 2)), (x[:, 0] * x[:, 1] > 0).astype(int)


def moons(n: int, rng, noise: float):
    """Two interleaved half circles of radius 1."""
    y = np.arange(n) % 2
    t = rng.uniform(0, np.pi, n)
    x = np.where(y[:, None] == 0, np.stack([np.cos(t), np.sin(t)], 1),
                 np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))
    return x + noise * rng.standard_normal((n, 2)), y


def circles(n: int, rng, noise: float):
    """A disc of radius 0.5 (class 1) inside a ring of radius 1 (class 0)."""
    y = np.arange(n) % 2
    t = rng.uniform(0, 2 * np.pi, n)
    r = np.where(y == 1, rng.uniform(0, 0.5, n), rng.uniform(0.8, 1.1, n))
    x = np.stack([r * np.cos(t), r * np.sin(t)], 1)
    return x + noise * rng.standard_normal((n, 2)), y


def spirals(n: int, rng, noise: float):
    """Two spirals of one and a half turns, the second the first turned by 180°."""
    y = np.arange(n) % 2
    t = rng.uniform(0.25, 1, n) * 3 * np.pi
    x = np.stack([t * np.cos(t), t * np.sin(t)], 1) / (3 * np.pi)
    x[y == 1] *= -1
    return x + noise * rng.standard_normal((n, 2)), y


DATA = {"xor": xor, "moons": moons, "circles": circles, "spirals": spirals}


def build(hidden: list[int], activation: str) -> nn.Sequential:
    """2 inputs → hidden layers with ``activation`` → one logit."""
    layers, width = [], 2
    for h in hidden:
        layers += [nn.Linear(width, h), ACTIVATIONS[activation]()]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, 1))


def run(name: str, args, out: Path) -> dict:
    rng = np.random.default_rng(0)
    mg.manual_seed(0)
    x, y = DATA[name](args.points, rng, args.noise)
    x, y = x.astype(np.float32), y.astype(np.float32)[:, None]
    hidden = args.hidden or DEFAULT_HIDDEN[name]
    model = build(hidden, args.activation)
    view = mg.viz.watch(model, inputs=x, targets=y, title=f"{name}: 2-"
                        f"{'-'.join(map(str, hidden))}-1, {args.activation}, Adam lr {args.lr:g}")
    opt = mg.optim.Adam(model.parameters(), lr=args.lr)
    xt, yt = mg.tensor(x), mg.tensor(y)
    for step in range(args.steps):
        loss = F.binary_cross_entropy_with_logits(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        view.record(loss)
    with mg.no_grad():
        accuracy = float(((model(xt).data > 0) == (y > 0.5)).mean())
    path = view.save(out / f"playground_{name}.html")
    print(f"{name:8s} 2-{'-'.join(map(str, hidden))}-1 {args.activation:7s} "
          f"loss {loss.item():.4f}  accuracy {accuracy:.3f}  -> {path}")
    return {"loss": loss.item(), "accuracy": accuracy, "file": path,
            "frames": len(view.frames)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=[*DATA, "all"], default="all")
    ap.add_argument("--hidden", type=lambda s: [int(v) for v in s.split(",") if v],
                    default=None, help="hidden layer widths, e.g. 8,8 (default: per data)")
    ap.add_argument("--activation", choices=sorted(ACTIVATIONS), default="tanh")
    ap.add_argument("--lr", type=float, default=0.03, help="Adam's learning rate")
    ap.add_argument("--steps", type=int, default=800, help="full-batch training steps")
    ap.add_argument("--points", type=int, default=200, help="points per data set")
    ap.add_argument("--noise", type=float, default=0.08, help="std of the points' noise")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for the pages")
    args = ap.parse_args(argv)
    names = list(DATA) if args.data == "all" else [args.data]
    return {name: run(name, args, args.out) for name in names}


if __name__ == "__main__":
    main()
