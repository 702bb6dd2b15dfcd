"""Teaching pictures: the XOR network's graph after one backward pass, backpropagation
step by step, and architecture diagrams of an MLP, a CNN and a small ResNet.

Everything lands in demos/out/ or --out, named graphs_*.svg / .png / .html (SVG and
PNG pictures, HTML steppers to open in any browser), so nothing overwrites xor.py's
files. Deterministic: the weights come from ``np.random.default_rng(0)``. Graphs are
recorded inside ``mg.viz.keep()``, so their values and gradients stay readable after a
plain ``backward()``.

    python demos/draw_graphs.py            # needs Graphviz's `dot` for the pictures
    python demos/draw_graphs.py --dot-only # writes only the DOT text (no dot needed)
    python demos/draw_graphs.py --docs     # also the small SVGs of docs/visualization.md
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling demo xor.py

import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402
from microgradnn.viz import backward_steps, draw_graph, draw_model, save_steps  # noqa: E402
from xor import build as xor_network  # noqa: E402  (the lecture's 2-4-1 network, initialised)

OUT = Path(__file__).resolve().parent / "out"


def xor_data():
    X = mg.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=mg.float32)
    Y = mg.tensor([[0], [1], [1], [0]], dtype=mg.float32)
    X.name = "X (inputs)"   # data and targets are drawn dashed: they need no gradient
    Y.name = "Y"
    return X, Y


def save(picture, name: str, dot_only: bool, formats=("svg", "png")) -> None:
    name = f"graphs_{name}"
    if dot_only:
        (OUT / f"{name}.dot").write_text(picture.source, encoding="utf-8")
        print(f"  {name}.dot")
        return
    for fmt in formats:
        picture.render(OUT / name, format=fmt, cleanup=True)
    print(f"  {name}.{' / .'.join(formats)}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dot-only", action="store_true",
                    help="write the DOT text only (no Graphviz needed)")
    ap.add_argument("--docs", action="store_true",
                    help="also write the pictures of docs/visualization.md to docs/_static")
    ap.add_argument("--out", type=Path, default=None, help="folder for the pictures")
    args = ap.parse_args(argv)
    global OUT
    if args.out is not None:
        OUT = args.out
    dot_only = args.dot_only
    if not dot_only and shutil.which("dot") is None:
        print("skipped the pictures (wrote DOT text only): Graphviz's `dot` is not "
              "installed (sudo apt-get install graphviz, brew install graphviz)")
        dot_only = True
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    mg.manual_seed(0)

    # 1. the XOR network's graph after one forward and backward pass
    print("XOR network, one backward pass:")
    model = xor_network(rng)
    X, Y = xor_data()
    with mg.viz.keep():               # values and gradients stay for the pictures
        loss = nn.MSELoss()(model(X), Y)
    loss.name = "loss"
    loss.backward()
    save(draw_graph(loss, model, show_derivative=True,
                    title="XOR network 2-4-1 after one backward pass"), "xor_graph", dot_only)
    save(draw_graph(loss, model, collapse="modules", rankdir="TB",
                    title="XOR network, one node per layer"), "xor_layers", dot_only)

    # 2. backpropagation step by step
    print("Backpropagation, step by step:")
    # the lecture's worked example: one neuron y = w·x + b, w = 0.4, b = 0.1, x = 0.15,
    # target 0.3, squared error (0.3 - 0.16)² ≈ 0.019
    with mg.viz.keep():
        w = mg.tensor(0.4, requires_grad=True)
        w.name = "w"
        b = mg.tensor(0.1, requires_grad=True)
        b.name = "b"
        x = mg.tensor(0.15)
        x.name = "x"
        target = mg.tensor(0.3)
        target.name = "target"
        y = w * x + b
        y.name = "ŷ"
        err = (target - y) ** 2
    err.name = "loss"
    frames = backward_steps(err, show_derivative=True, title="One neuron: ŷ = w·x + b")
    if dot_only:
        print(f"  graphs_backprop_neuron: {len(frames)} frames (HTML needs dot)")
    else:
        save_steps(frames, OUT / "graphs_backprop_neuron.html",
                   title="Backpropagation through one neuron, step by step")
        print(f"  graphs_backprop_neuron.html ({len(frames)} frames)")
    frames = backward_steps(loss, model, title="XOR network 2-4-1")
    if dot_only:
        print(f"  graphs_backprop_xor: {len(frames)} frames (HTML needs dot)")
    else:
        save_steps(frames, OUT / "graphs_backprop_xor.html",
                   title="Backpropagation through the XOR network, step by step")
        print(f"  graphs_backprop_xor.html ({len(frames)} frames)")

    # 3. architecture diagrams
    print("Architectures:")
    mlp = nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 10), nn.ReLU(),
                        nn.Linear(10, 10))
    save(draw_model(mlp, (1, 10), title="MLP 10-10-10-10: 3·(10·10 + 10) = 330 parameters"),
         "mlp", dot_only)
    cnn = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 10))
    save(draw_model(cnn, (1, 1, 28, 28)), "cnn", dot_only)
    resnet = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ResidualBlock(16, 16),
                           nn.ResidualBlock(16, 32, stride=2), nn.AdaptiveAvgPool2d(1),
                           nn.Flatten(), nn.Linear(32, 10))
    save(draw_model(resnet, (1, 3, 32, 32)), "resnet", dot_only)

    # 4. an unrolled LSTM cell, folded: 20 time steps drawn once
    print("LSTM cell unrolled over 20 steps, folded:")
    cell, head = nn.LSTMCell(3, 4), nn.Linear(4, 1)
    seq = mg.tensor(rng.standard_normal((20, 2, 3)), dtype=mg.float32)
    state = None
    with mg.viz.keep():
        for t in range(seq.shape[0]):
            state = cell(seq[t], state)
        out = head(state[0]).sum()
    out.backward()
    names = nn.ModuleDict({"cell": cell, "head": head})   # names for the picture
    save(draw_graph(out, names, collapse="modules", fold=True,
                    title="LSTMCell over 20 steps (folded: ×N = repeated calls)"),
         "lstm_folded", dot_only)
    print(f"Written to {OUT}")
    if args.docs and not dot_only:
        docs_pictures()


@mg.viz.keep()
def docs_pictures(static: Path | None = None, fmt: str = "svg") -> None:
    """The small pictures shown in docs/visualization.md (SVG, committed)."""
    static = static or Path(__file__).resolve().parents[1] / "docs" / "_static"
    static.mkdir(exist_ok=True)

    def neuron():
        x = mg.tensor([1.0, -2.0], requires_grad=True)
        x.name = "x"
        w = mg.tensor([0.5, 0.25], requires_grad=True)
        w.name = "w"
        b = mg.tensor(0.1, requires_grad=True)
        b.name = "b"
        z = (w * x).sum() + b
        z.name = "z"
        y = z.tanh()
        y.name = "y"
        return y

    with mg.viz.keep():
        y = neuron()
    y.backward()
    pictures = {"viz_neuron": draw_graph(y, show_derivative=True, legend=False)}
    with mg.viz.keep():
        y = neuron()
    pictures["viz_step"] = backward_steps(y, legend=False, layout="wide")[2]
    # gradient health: a dead ReLU, a healthy path, a vanishing one, a NaN
    a = mg.tensor([-1.0, -2.0], requires_grad=True)
    a.name = "dead"
    h = mg.tensor([0.5, 1.5], requires_grad=True)
    h.name = "healthy"
    v = mg.tensor([0.3, 0.7], requires_grad=True)
    v.name = "tiny"
    n = mg.tensor([0.0, 4.0], requires_grad=True)
    n.name = "sqrt at 0"
    with mg.viz.keep():
        loss = a.relu().sum() + (h * h).sum() + (v * 1e-5).sum() + n.sqrt().sum()
    loss.name = "loss"
    with np.errstate(divide="ignore"):
        loss.backward()
    pictures["viz_colours"] = draw_graph(loss, rankdir="LR")
    mlp = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
    pictures["viz_xor_model"] = draw_model(mlp, (4, 2), legend=False,
                                           title="XOR network 2-4-1: 17 parameters")
    cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(8 * 14 * 14, 10))
    pictures["viz_cnn"] = draw_model(cnn, (1, 1, 28, 28))
    for name, pic in pictures.items():
        pic.render(static / name, format=fmt, cleanup=True)
        print(f"  {static / name}.{fmt}")


if __name__ == "__main__":
    main()
