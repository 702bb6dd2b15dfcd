"""XOR, as in the lecture notes: a 2-4-1 network learns what one perceptron cannot.

Tanh hidden layer, sigmoid output, mean squared error, weights 0.5·N(0, 1), biases 0,
plain gradient descent with learning rate 10 for 500 steps. Prints the loss as it falls
and the final predictions, then draws the computational graph of one training step with
every value, gradient and local derivative (demos/out/xor_graph.svg) and writes a
step-by-step backpropagation player (demos/out/xor_backprop.html).

    python demos/xor.py                 # train, print, draw
    python demos/xor.py --no-draw       # train and print only (no Graphviz needed)
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

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


def train(model: nn.Module, steps: int = 500, lr: float = 10.0, log_every: int = 50) -> list[float]:
    """Full-batch gradient descent on the four XOR examples; returns the loss history."""
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
        if step % log_every == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {loss.item():.6f}")
    return losses


@mg.viz.keep()  # record the pictured pass with its values and gradients
def draw(model: nn.Module) -> None:
    """Picture one more forward and backward pass, with values, gradients and derivatives."""
    from microgradnn.viz import backward_steps, draw_graph, save_steps

    x, y = mg.tensor(X), mg.tensor(Y)
    x.name, y.name = "x", "target"
    loss = nn.functional.mse_loss(model(x), y)
    loss.name = "loss"
    loss.backward(retain_graph=True)  # retained: the stepper replays this backward pass
    OUT.mkdir(exist_ok=True)
    graph = draw_graph(loss, model, show_derivative=True, title="XOR network: one training step")
    (OUT / "xor_graph.dot").write_text(graph.source)
    frames = backward_steps(loss, model)
    save_steps(frames, OUT / "xor_backprop.html")
    if shutil.which("dot"):
        graph.render(OUT / "xor_graph", format="svg", cleanup=True)
        print(f"drew {OUT / 'xor_graph.svg'} and {OUT / 'xor_backprop.html'} "
              f"({len(frames)} backward steps)")
    else:
        print(f"Graphviz's `dot` is not installed: wrote the DOT text {OUT / 'xor_graph.dot'} "
              "(install graphviz to render it)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--no-draw", action="store_true", help="skip the pictures")
    args = ap.parse_args(argv)

    model = build(np.random.default_rng(0))
    train(model, steps=args.steps)
    with mg.no_grad():
        pred = model(mg.tensor(X)).data[:, 0]
    for inputs, p, target in zip(X, pred, Y[:, 0]):
        print(f"{inputs.astype(int).tolist()} -> {p:.4f}   (target {int(target)})")
    if not args.no_draw:
        draw(model)


if __name__ == "__main__":
    main()
