"""Finding a wrong gradient: a model with one faulty custom operation, found and drawn.

A tiny classifier (linear layer, a hand-written "swish" activation x·σ(x), linear layer,
cross-entropy) uses a custom ``Function`` whose backward forgets one term of the product
rule. This demo

1. runs ``gradcheck`` on the whole loss: it fails, but only says which input's gradient
   is wrong, not where in the model the mistake is;
2. runs ``testing.locate``: every node of the graph is checked on its own (its backward
   against finite differences of its forward at the values it saw), and the first node
   that disagrees is the faulty swish;
3. draws the graph with that node highlighted (``draw_graph(..., highlight=failure)``
   where the installed viz supports it), into demos/out/locate_fault.svg (the DOT text
   if Graphviz's ``dot`` is missing);
4. fixes the backward and shows that both checks pass.

    python demos/locate_fault.py
    python demos/locate_fault.py --out /tmp/pics
"""
from __future__ import annotations

import argparse
import inspect
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402
from microgradnn.nn import functional as F  # noqa: E402
from microgradnn.testing import GradcheckError, gradcheck, locate  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


class Swish(mg.autograd.Function):
    """y = x·σ(x);  dy/dx = σ(x) + x·σ(x)(1 - σ(x)). The backward below drops the second
    term: the deliberate fault."""

    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + (-x).exp())   # forward receives Tensors (run under no_grad)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad):
        x, s = ctx.saved_tensors
        return grad * s  # wrong: the product rule's x·σ'(x) term is missing


class FixedSwish(Swish):
    """The same operation with the full derivative."""

    @staticmethod
    def backward(ctx, grad):
        x, s = ctx.saved_tensors
        return grad * (s + x * s * (1 - s))


def make_loss(swish):
    mg.manual_seed(0)
    fc1, fc2 = nn.Linear(3, 4, dtype=mg.float64), nn.Linear(4, 2, dtype=mg.float64)
    fc1.weight.name, fc2.weight.name = "fc1.weight", "fc2.weight"
    target = mg.tensor([0, 1, 1])

    def loss(x):
        return F.cross_entropy(fc2(swish.apply(fc1(x))), target)
    return loss


def draw(failure, out: Path) -> Path:
    kwargs = {}
    if "highlight" in inspect.signature(mg.viz.draw_graph).parameters:
        kwargs["highlight"] = failure
    else:
        print("(this viz has no highlight= yet: the picture is drawn without the red node)")
    picture = mg.viz.draw_graph(failure.outputs[0], title=failure.message, **kwargs)
    out.mkdir(parents=True, exist_ok=True)
    if shutil.which("dot"):
        picture.render(out / "locate_fault", format="svg", cleanup=True)
        return out / "locate_fault.svg"
    path = out / "locate_fault.dot"
    path.write_text(picture.source, encoding="utf-8")
    print("Graphviz's `dot` is not installed: writing the DOT text only")
    return path


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help="folder for locate_fault.svg")
    args = ap.parse_args(argv)
    mg.manual_seed(0)
    x = mg.tensor(np.random.default_rng(0).standard_normal((3, 3)), dtype=mg.float64,
                  requires_grad=True)

    loss = make_loss(Swish)
    try:
        gradcheck(loss, [x])
        whole = "passed"
    except GradcheckError as e:
        whole = "failed"
        print("gradcheck of the whole loss fails:\n ", e)
    failure = locate(loss, [x])
    print("\nlocate finds the faulty node:\n ", failure.message)
    path = draw(failure, args.out)
    print(f"\nthe graph of the loss: {path}")

    fixed = make_loss(FixedSwish)
    fixed_ok = gradcheck(fixed, [x]) and locate(fixed, [x]) is None
    print(f"\nwith the backward fixed: gradcheck passes and locate finds nothing: {fixed_ok}")
    return {"gradcheck": whole, "op": failure.op, "node": type(failure.node).__name__,
            "fixed_ok": fixed_ok, "files": [path]}


if __name__ == "__main__":
    main()
