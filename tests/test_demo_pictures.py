"""Every gradient a demo's picture shows is the true one.

The demos run with tiny settings while every picture they draw (``draw_graph``, each
stepper frame) is captured with the graph it was drawn from. Afterwards each gradient
written in a picture is compared, as the picture prints it, with a fresh
``mg.autograd.grad`` of the picture's root with respect to that node (operation
outputs through stand-in tensors on their nodes, leaves directly). Tensor.backward is
made to retain the graph during the run, which changes no number, so the fresh
gradients can be computed afterwards. Architecture diagrams (``draw_model``) show no
gradients; that is checked too.

A gradient summed over two backward passes (a missing ``zero_grad()``) fails here.
"""
import html
import importlib.util
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import microgradnn as mg
from microgradnn.autograd.function import Function
from microgradnn.tensor import Tensor, _make
from microgradnn.viz import graph, steps, style

DEMOS = Path(__file__).resolve().parents[1] / "demos"
GRAD_CELL = re.compile(
    r'>grad</FONT></TD><TD ALIGN="LEFT" BALIGN="LEFT"><FONT FACE="monospace" '
    r'POINT-SIZE="\d+"( COLOR="[^"]*")?>(.*?)</FONT></TD>')
NODE = re.compile(r"^\s*t(\d+) \[label=<(.*)>", re.M)


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"demo_pic_{name}", DEMOS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Pictures:
    """Captures (display, options, DOT source) for every picture drawn."""

    def __init__(self, monkeypatch) -> None:
        self.drawn = []
        lay_out, emit = graph.lay_out, graph.emit

        def spy_lay_out(roots, params, opts, op):
            d = lay_out(roots, params, opts, op)
            d.spy_roots = list(roots)
            return d

        def spy_emit(d, opts, grad, **kw):
            pic = emit(d, opts, grad, **kw)
            self.drawn.append((d, opts, pic.source))
            return pic

        for module in (graph, steps):
            monkeypatch.setattr(module, "lay_out", spy_lay_out)
            monkeypatch.setattr(module, "emit", spy_emit)
        backward = Tensor.backward

        def retaining(self, gradient=None, retain_graph=False, create_graph=False):
            return backward(self, gradient, retain_graph=True, create_graph=create_graph)

        monkeypatch.setattr(Tensor, "backward", retaining)


def shown_grads(source: str) -> dict[int, list[str]]:
    """Item index -> the visible gradient lines of its tensor node (ghosts skipped)."""
    out = {}
    for m in NODE.finditer(source):
        k, label = int(m.group(1)), m.group(2)
        cell = GRAD_CELL.search(label)
        if cell is None or cell.group(1) or "×" in label:   # no grad, not yet, or folded
            continue
        lines = [html.unescape(re.sub(r"<[^>]*>", "", t)).replace("\xa0", " ")
                 for t in cell.group(2).split('<BR ALIGN="LEFT"/>')]
        out[k] = [t for t in lines if t]
    return out


def fresh_grads(d) -> dict[int, np.ndarray]:
    """d(root)/d(node) for every node of the picture's graph, by a new autograd.grad."""
    items = d.g.items
    wanted, inputs = [], []
    for k, item in enumerate(items):
        if isinstance(item, Function):
            inputs.append(_make(item.value, True, item))   # stands for the node's output
        elif item.requires_grad:
            inputs.append(item)
        else:
            continue
        wanted.append(k)
    grads = mg.autograd.grad(d.spy_roots, inputs, retain_graph=True, allow_unused=True)
    return {k: g.data for k, g in zip(wanted, grads) if g is not None}


def check_all(pictures: Pictures) -> int:
    """Compare every shown gradient; returns how many were checked."""
    checked = 0
    fresh_of = {}
    for d, opts, source in pictures.drawn:
        if id(d) not in fresh_of:
            fresh_of[id(d)] = fresh_grads(d)
        fresh = fresh_of[id(d)]
        for k, lines in shown_grads(source).items():
            assert k in fresh, f"a gradient is shown for item {k}, which gets none"
            want = style.array_lines(fresh[k], opts.precision, opts.max_elements)
            assert lines[:len(want)] == want, (
                f"picture shows grad {lines} for item {k} "
                f"({type(d.g.items[k]).__name__}); a fresh autograd.grad gives {want}")
            checked += 1
    return checked


def test_xor_pictures_show_true_gradients(tmp_path, monkeypatch):
    pictures = Pictures(monkeypatch)
    load("xor").main(["--steps", "20", "--out", str(tmp_path)])
    assert len(pictures.drawn) >= 2          # the graph and the stepper's frames
    assert check_all(pictures) >= 10


def test_draw_graphs_pictures_show_true_gradients(tmp_path, monkeypatch):
    pictures = Pictures(monkeypatch)
    load("draw_graphs").main(["--dot-only", "--out", str(tmp_path)])
    assert check_all(pictures) >= 30
    for name in ("mlp", "cnn", "resnet"):     # architecture diagrams carry no gradients
        assert ">grad<" not in (tmp_path / f"graphs_{name}.dot").read_text(encoding="utf-8")


def test_lstm_picture_shows_true_gradients(tmp_path, monkeypatch):
    pictures = Pictures(monkeypatch)
    load("lstm_sequence").main(["--steps", "20", "--train", "60", "--test", "20",
                                "--bits", "5", "--hidden", "4", "--out", str(tmp_path)])
    assert pictures.drawn and check_all(pictures) >= 1


def test_a_doubled_gradient_is_caught(monkeypatch):
    """The checker itself: a picture drawn after two backward passes fails it."""
    pictures = Pictures(monkeypatch)
    w = mg.tensor([0.5, -1.0], requires_grad=True)
    with mg.viz.keep():
        loss = (w * w).sum()
    loss.backward()
    loss.backward()                            # no zero_grad: w.grad is twice the truth
    mg.viz.draw_graph(loss)
    with pytest.raises(AssertionError, match="fresh autograd.grad"):
        check_all(pictures)


TINY = {"xor": ["--steps", "10"], "draw_graphs": [],
        "lstm_sequence": ["--steps", "5", "--train", "40", "--test", "10", "--bits", "5",
                          "--hidden", "4"],
        "cnn_digits": ["--epochs", "1"]}


@pytest.mark.parametrize("name", list(TINY))
def test_demos_without_dot_say_what_they_skipped_in_one_line(name, tmp_path, monkeypatch,
                                                             capsys):
    if name == "cnn_digits":
        pytest.importorskip("sklearn", reason="the 8×8 digits need scikit-learn")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))     # no `dot` anywhere
    assert shutil.which("dot") is None
    load(name).main(TINY[name] + ["--out", str(tmp_path)])
    out = capsys.readouterr().out
    skipped = [ln for ln in out.splitlines() if ln.startswith("skipped")]
    assert len(skipped) == 1 and "dot" in skipped[0], out
    assert "Traceback" not in out
    assert list(tmp_path.glob("*.dot"))       # the DOT text is still written
