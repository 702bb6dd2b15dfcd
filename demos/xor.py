"""XOR, as in the lecture notes: a 2-4-1 network learns what one perceptron cannot.

Tanh hidden layer, sigmoid output, mean squared error, weights 0.5·N(0, 1), biases 0,
plain gradient descent with learning rate 10 for 500 steps. Prints the loss as it falls
and the final predictions, draws the loss curve (xor_loss.png), then the computational
graph of one more training step with every value, gradient and local derivative
(xor_graph.svg) and a step-by-step backpropagation player (xor_backprop.html), all in
demos/out/ or --out. Without Graphviz's `dot` it says so in one line and writes the
DOT text instead.

    python demos/xor.py                 # train, print, draw
    python demos/xor.py --out /tmp/xor  # somewhere else
    python demos/xor.py --no-draw       # train and print only (no Graphviz needed)
    python demos/xor.py --watch         # also demos/out/xor_training.html: watch it learn
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

OUT = Path(__file__).resolve().parent / "out"
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
Y = np.array([[0], [1], [1], [0]], dtype=np.float32)


def build(rng: np.random.Generator) -> nn.Sequential:
    """The lecture's network, initialised as in the notes."""
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
    with mg.no_grad():
        for layer in (model[0], model[2]):
            layer.weight.data[...] = 0.5 * rng.standard_normal(layer.weight.shape)
            layer.bias.data[...] = 0.0
    return model


def train(model: nn.Module, steps: int = 500, lr: float = 10.0, log_every: int = 50,
          view=None) -> list[float]:
    """Full-batch gradient descent on the four XOR examples; returns the loss history.
    ``view``: an ``mg.viz.watch`` recorder, given every step's loss."""
    x, y = mg.tensor(X), mg.tensor(Y)
    losses = []
    for step in range(steps):
        loss = nn.functional.mse_loss(model(x), y)        # forward pass and loss
        model.zero_grad()
        loss.backward()                                   # backpropagation
        with mg.no_grad():                                # gradient descent update
            for p in model.parameters():
                p.data -= lr * p.grad.data
        losses.append(loss.item())
        if view is not None:
            view.record(loss)
        if step % log_every == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {loss.item():.6f}")
    return losses


def draw(model: nn.Module, out: Path = OUT) -> dict:
    """Picture one more forward and backward pass, with values, gradients and derivatives.

    Recorded inside ``viz.keep()`` (nodes keep their values and gradients for the
    pictures) after ``zero_grad()``, so every gradient drawn is this pass's own, not a
    sum with the last training step's. Returns the tensors drawn (for the tests)."""
    from microgradnn.viz import backward_steps, draw_graph

    from _figures import have_dot

    x, y = mg.tensor(X), mg.tensor(Y)
    x.name, y.name = "x", "target"
    with mg.viz.keep():
        loss = nn.functional.mse_loss(model(x), y)
    loss.name = "loss"
    model.zero_grad()
    loss.backward()
    out.mkdir(parents=True, exist_ok=True)
    graph = draw_graph(loss, model, show_derivative=True, title="XOR network: one training step")
    (out / "xor_graph.dot").write_text(graph.source, encoding="utf-8")
    if not have_dot(f"xor_graph.svg and xor_backprop.html (wrote {out / 'xor_graph.dot'})"):
        return {"loss": loss}
    graph.render(out / "xor_graph", format="svg", cleanup=True)
    steps = backward_steps(loss, model, title="XOR network: backpropagation")
    steps.save(out / "xor_backprop.html", title="Backpropagation through the XOR network")
    print(f"drew {out / 'xor_graph.svg'} and {out / 'xor_backprop.html'} "
          f"({len(steps) - 1} backward steps)")
    return {"loss": loss}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--no-draw", action="store_true", help="skip the pictures")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for the pictures")
    ap.add_argument("--watch", nargs="?", const="", default=None, metavar="HTML",
                    help="record the training as a page (default OUT/xor_training.html)")
    args = ap.parse_args(argv)

    model = build(np.random.default_rng(0))
    view = None if args.watch is None else mg.viz.watch(
        model, inputs=X, targets=Y, title="XOR: the 2-4-1 network of the lecture")
    losses = train(model, steps=args.steps, view=view)
    if view is not None:
        page = Path(args.watch) if args.watch else args.out / "xor_training.html"
        print(f"wrote {view.save(page)}: the training, step by step (open it in a "
              "browser)")
    with mg.no_grad():
        pred = model(mg.tensor(X)).data[:, 0]
    for inputs, p, target in zip(X, pred, Y[:, 0]):
        print(f"{inputs.astype(int).tolist()} -> {p:.4f}   (target {int(target)})")
    if not args.no_draw:
        from _figures import loss_curve
        loss_curve(losses, args.out / "xor_loss.png", "XOR 2-4-1: mean squared error")
        draw(model, args.out)


if __name__ == "__main__":
    main()
