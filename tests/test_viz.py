"""microgradnn.viz: draw_graph and the backprop stepper.

Structural assertions on the DOT text (nodes, labels, edges, clusters, colours), expected
DOT files for a few small graphs (tests/viz_expected/; regenerate with
MICROGRADNN_UPDATE_VIZ_EXPECTED=1 after a deliberate change, then look at the pictures),
SVG rendering parsed as XML, the stepper's frame count against the engine's own steps, and
checks that drawing never changes the graph or any gradient.
"""
import os
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as hst

import microgradnn as mg
from microgradnn import nn
from microgradnn.nn import functional as F
from microgradnn.autograd import Function, engine
from microgradnn.viz import (GraphvizNotFoundError, backward_steps, draw_graph, save_steps,
                             style, walk)

pytest.importorskip("graphviz", reason="the graphviz Python package is not installed "
                                       "(pip install graphviz)")

EXPECTED = Path(__file__).parent / "viz_expected"
UPDATE = os.environ.get("MICROGRADNN_UPDATE_VIZ_EXPECTED") == "1"
HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(
    not HAVE_DOT, reason="Graphviz's `dot` is not installed (apt-get install graphviz / "
                         "brew install graphviz), so pictures cannot be rendered here")
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def kept():
    """Every graph of these tests is recorded inside viz.keep(), as pictures need (the
    tests of what happens outside it switch it off themselves)."""
    with mg.viz.keep():
        yield


# ---------------------------------------------------------------- DOT parsing helpers
_NODE = re.compile(r"^\s*(\w+) \[(.*)\]$", re.M)
_EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$", re.M)


def dot_nodes(src: str) -> dict[str, str]:
    """node id -> its attribute text (graph/node/edge defaults excluded)."""
    return {m.group(1): m.group(2) for m in _NODE.finditer(src)
            if m.group(1) not in ("graph", "node", "edge")}


def dot_edges(src: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _EDGE.finditer(src)]


def attr(attrs: str, name: str) -> str | None:
    m = re.search(rf'(?<![\w-]){name}="([^"]*)"', attrs)
    return m.group(1) if m else None


def label_text(attrs: str) -> str:
    """The visible text of an HTML label: tags dropped, entities decoded, one space."""
    m = re.search(r"label=<(.*)>(?: \w+=|$)", attrs)
    text = re.sub(r"<[^>]*>", " ", m.group(1))
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"') \
        .replace("&amp;", "&")
    return " ".join(text.split())


def by_label(src: str, needle: str) -> list[str]:
    return [nid for nid, a in dot_nodes(src).items() if needle in label_text(a)]


# ---------------------------------------------------------------- small graphs
def neuron():
    """y = tanh(w·x + b), the lecture's single neuron, with names."""
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
    return y, (x, w, b)


class Lin(nn.Module):
    """A linear layer written with primitives (independent of nn.Linear's own node)."""

    def __init__(self, w, b):
        super().__init__()
        self.weight = nn.Parameter(np.asarray(w, dtype=np.float32))
        self.bias = nn.Parameter(np.asarray(b, dtype=np.float32))

    def forward(self, x):
        return x @ self.weight.T + self.bias


class Tanh(nn.Module):
    def forward(self, x):
        return x.tanh()


class Sig(nn.Module):
    def forward(self, x):
        return x.sigmoid()


def xor_net():
    """The lecture's 2-2-1 XOR shape with fixed weights, after one backward pass."""
    model = nn.Sequential(Lin([[1.0, -1.0], [0.5, 0.5]], [0.0, -0.5]), Tanh(),
                          Lin([[1.0, -2.0]], [0.25]), Sig())
    X = mg.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=mg.float32)
    Y = mg.tensor([[0], [1], [1], [0]], dtype=mg.float32)
    loss = ((model(X) - Y) ** 2).mean()
    loss.name = "loss"
    loss.backward()
    return model, loss


def check_expected(name: str, source: str) -> None:
    path = EXPECTED / f"{name}.dot"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(source, encoding="utf-8")
    assert path.exists(), f"missing {path}: run with MICROGRADNN_UPDATE_VIZ_EXPECTED=1"
    assert source == path.read_text(encoding="utf-8"), (
        f"DOT for {name} changed; if deliberate, regenerate with "
        "MICROGRADNN_UPDATE_VIZ_EXPECTED=1 and look at the rendered picture")


def snapshot(root):
    """Everything drawing must leave alone: node grads/values/saved, leaf grads and data."""
    g = walk.extract(walk.as_roots(root))
    state = []
    for item in g.items:
        if isinstance(item, Function):
            state.append((item, item.grad, item.value, item.saved, item.next))
        else:
            state.append((item, item.grad, item.data, item.requires_grad))
    return state


def assert_unchanged(before):
    for entry in before:
        item = entry[0]
        if isinstance(item, Function):
            now = (item, item.grad, item.value, item.saved, item.next)
        else:
            now = (item, item.grad, item.data, item.requires_grad)
        assert all(a is b for a, b in zip(entry, now)), f"drawing changed {item!r}"


# ---------------------------------------------------------------- structure
def test_neuron_nodes_edges_and_labels():
    y, (x, w, b) = neuron()
    src = draw_graph(y).source
    nodes = dot_nodes(src)
    ops = sorted(label_text(a).split()[0] for n, a in nodes.items() if n.startswith("op"))
    assert ops == ["Add", "Mul", "Sum", "Tanh"]
    tensors = [n for n in nodes if n.startswith("t")]
    assert len(tensors) == 3 + 4  # three leaves, one output per operation
    # data flows along the arrows: inputs -> op -> output
    edges = dot_edges(src)
    assert len(edges) == 4 + 6     # one per operation output, one per operation input
    (mul,) = by_label(src, "Mul")
    (xn,) = [n for n in tensors if label_text(nodes[n]).startswith("x ")]
    (wn,) = [n for n in tensors if label_text(nodes[n]).startswith("w ")]
    assert (xn, mul) in edges and (wn, mul) in edges
    # header: name, shape, dtype; then the numbers
    assert label_text(nodes[xn]).startswith("x (2,) float32 value [ 1 -2]")
    (yn,) = [n for n in tensors if label_text(nodes[n]).startswith("y ")]
    assert label_text(nodes[yn]) == \
        f"y scalar float32 value {style.fmt_number(np.tanh(0.5 * 1 + 0.25 * -2 + 0.1))}"
    assert "grad" not in label_text(nodes[xn])  # no backward yet
    # leaves have square corners and a thick border, results are rounded
    assert attr(nodes[xn], "style") == "filled" and attr(nodes[xn], "penwidth") == "2"
    assert attr(nodes[yn], "style") == "rounded,filled"


def test_gradients_appear_after_backward_with_the_right_numbers():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    x.name = "x"
    y = (x * x).sum()
    y.backward()
    src = draw_graph(y).source
    (xn,) = by_label(src, "x (2,)")
    assert "grad [2 4]" in label_text(dot_nodes(src)[xn])
    # the root's gradient is the seed 1; the intermediate x*x gets ones too
    assert "grad [1 1]" in " ".join(label_text(a) for a in dot_nodes(src).values())


def test_options_hide_values_grads_shapes_and_set_direction():
    y, _ = neuron()
    y.backward(retain_graph=True)
    full = draw_graph(y).source
    assert "value" in full and "grad" in full and "float32" in full and "rankdir=LR" in full
    src = draw_graph(y, show_values=False, show_grads=False, show_shapes=False,
                     rankdir="TB", legend=False).source
    text = " ".join(label_text(a) for a in dot_nodes(src).values())
    assert "value" not in text and "grad" not in text and "float32" not in text
    assert "rankdir=TB" in src and "legend" not in dot_nodes(src)
    assert "Legend" in full


def test_large_tensors_show_statistics_and_small_ones_every_number():
    a = mg.tensor(np.arange(20.0), requires_grad=True)
    a.name = "a"
    y = (a * 2.0).sum()
    src = draw_graph(y).source
    (an,) = by_label(src, "a (20,)")
    assert "min 0 mean 9.5 max 19" in label_text(dot_nodes(src)[an])
    src = draw_graph(y, max_elements=20).source
    (an,) = by_label(src, "a (20,)")
    assert "[ 0  1  2  3  4  5  6  7" in src and " 16 17 18 19]" in src  # 8 per line
    src = draw_graph(y, precision=2, max_elements=0).source
    assert "mean 9.5" in src


def test_derivative_rules_come_from_the_docstrings():
    y, _ = neuron()
    src = draw_graph(y, show_derivative=True).source
    (tanh,) = by_label(src, "Tanh")
    assert label_text(dot_nodes(src)[tanh]) == "Tanh y = tanh x dy/dx = 1 - y²"
    (mul,) = by_label(src, "Mul")
    assert "dy/da = b, dy/db = a" in label_text(dot_nodes(src)[mul])
    assert "dy/dx" not in draw_graph(y).source


class NoDoc(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * 2


def test_user_function_without_docstring_shows_only_its_name():
    x = mg.tensor([1.0], requires_grad=True)
    src = draw_graph(NoDoc.apply(x), show_derivative=True).source
    (op,) = by_label(src, "NoDoc")
    assert label_text(dot_nodes(src)[op]) == "NoDoc"


def test_names_from_a_module_a_dict_and_automatically():
    model, loss = xor_net()
    auto = draw_graph(loss).source            # the outermost module names its parameters
    named = draw_graph(loss, model).source
    for src in (auto, named):
        for name in ("0.weight (2, 2) float32", "0.bias (2,)", "2.weight (1, 2)", "2.bias"):
            assert by_label(src, name), name
    w = model[0].weight
    src = draw_graph(loss, {"W1": w}).source
    assert by_label(src, "W1 (2, 2) float32") and not by_label(src, "0.weight")
    src = draw_graph(loss, [("W1", w)]).source
    assert by_label(src, "W1 (2, 2)")
    with pytest.raises(TypeError, match="draw_graph: params must be"):
        draw_graph(loss, 3)


def test_module_calls_are_labelled_clusters_holding_their_operations():
    model, loss = xor_net()
    src = draw_graph(loss, model).source
    titles = re.findall(r"label=<<B>([^<]*)</B>> labeljust=l", src)
    assert titles == ["Sequential", "0: Lin", "1: Tanh", "2: Lin", "3: Sig"]
    # the Tanh operation sits in the "1: Tanh" cluster, the loss outside all clusters
    block = src.split("subgraph cluster_2 {")[1].split("}")[0]
    assert "<B>Tanh</B>" in block and "0.weight" not in block
    top = src.split("subgraph cluster_0")[0]
    assert "loss" in top and "<B>Mean</B>" in src.split("subgraph cluster_0")[1].split(
        "\t}\n")[-1] or "<B>Mean</B>" in top
    # parameters are drawn inside the layer that uses them
    layer0 = src.split("subgraph cluster_1 {")[1].split("subgraph")[0]
    assert "0.weight" in layer0 and "0.bias" in layer0


def test_collapse_draws_each_layer_as_one_node():
    model, loss = xor_net()
    src = draw_graph(loss, model, collapse="modules").source
    nodes = dot_nodes(src)
    blocks = {label_text(a).split(" ")[0] + " " + label_text(a).split(" ")[1]
              for n, a in nodes.items() if n.startswith("m")}
    assert blocks == {"0: Lin", "1: Tanh", "2: Lin", "3: Sig"}
    (lin0,) = by_label(src, "0: Lin")
    assert "6 parameters" in label_text(nodes[lin0])
    assert "0.weight" not in src                       # hidden inside its layer
    assert "<B>MatMul</B>" not in src and "<B>Sub</B>" in src  # the loss stays visible
    # layer -> its output tensor -> next layer
    edges = dot_edges(src)
    (act,) = by_label(src, "1: Tanh")
    mid = [t for s, t in edges if s == lin0]
    assert len(mid) == 1 and (mid[0], act) in edges
    # depth 0 collapses the whole Sequential; depth 1 is its layers again
    src0 = draw_graph(loss, model, collapse=0).source
    assert len([n for n in dot_nodes(src0) if n.startswith("m")]) == 1
    src1 = draw_graph(loss, model, collapse=1).source
    assert len([n for n in dot_nodes(src1) if n.startswith("m")]) == 4
    with pytest.raises(ValueError, match="collapse must be"):
        draw_graph(loss, collapse="layers")
    with pytest.raises(ValueError, match="fold=True"):
        draw_graph(loss, fold=True)


class Cell(nn.Module):
    """h' = tanh(x Wxᵀ + h Whᵀ): one RNN step written with primitives."""

    def __init__(self):
        super().__init__()
        self.wx = nn.Parameter(np.full((3, 2), 0.5, dtype=np.float32))
        self.wh = nn.Parameter(np.eye(3, dtype=np.float32) * 0.5)

    def forward(self, x, h):
        return (x @ self.wx.T + h @ self.wh.T).tanh()


class Unrolled(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = Cell()

    def forward(self, xs):
        h = mg.zeros(1, 3)
        for t in range(xs.shape[0]):
            h = self.cell(xs[t], h)
        return h


def test_fold_draws_an_unrolled_loop_once_with_a_count():
    model = Unrolled()
    xs = mg.tensor(np.ones((6, 1, 2)), dtype=mg.float32, requires_grad=True)
    xs.name = "xs"
    loss = model(xs).sum()
    loss.backward()
    plain = draw_graph(loss, model, collapse="modules").source
    assert len(by_label(plain, "cell: Cell")) == 6
    assert by_label(plain, "cell: Cell (call 6)")
    src = draw_graph(loss, model, collapse="modules", fold=True).source
    (cell,) = by_label(src, "cell: Cell ×")
    label = label_text(dot_nodes(src)[cell])
    assert "×6" in label and "6 operations" in label
    # the recurrence: the folded cell's output feeds the folded cell again
    edges = dot_edges(src)
    outs = [t for s, t in edges if s == cell]
    assert any((t, cell) in edges for t in outs)
    (getitem,) = by_label(src, "GetItem ×")
    assert "×6" in label_text(dot_nodes(src)[getitem])
    # the folded tensor reports the spread of its gradients over the copies
    assert "mean |grad| over ×6" in src


def test_gradient_colours_nan_inf_zero_and_relative_shading():
    x = mg.tensor([0.0, 1.0], requires_grad=True)
    x.name = "x"
    y = x.sqrt().sum()     # d sqrt(x)/dx = inf at 0
    with np.errstate(divide="ignore"):
        y.backward()
    src = draw_graph(y).source
    (xn,) = by_label(src, "x (2,)")
    assert attr(dot_nodes(src)[xn], "fillcolor") == style.BAD_FILL
    assert "inf" in label_text(dot_nodes(src)[xn])

    d = mg.tensor([-1.0, -2.0], requires_grad=True)
    d.name = "dead"
    y = d.relu().sum()
    y.backward()
    src = draw_graph(y).source
    (dn,) = by_label(src, "dead (2,)")
    assert attr(dot_nodes(src)[dn], "fillcolor") == style.ZERO_FILL

    a = mg.tensor(1.0, dtype=mg.float64, requires_grad=True)
    a.name = "a"
    b = mg.tensor(1.0, dtype=mg.float64, requires_grad=True)
    b.name = "b"
    y = a * 1e-3 + b       # |grad a| = 1e-3 |grad b|
    y.backward()
    src = draw_graph(y).source
    fills = {n: attr(a_, "fillcolor") for n, a_ in dot_nodes(src).items()}
    (an,), (bn,) = by_label(src, "a scalar"), by_label(src, "b scalar")
    assert fills[bn] == style.shade(1.0)
    assert fills[an] == style.shade(1e-3) != fills[bn]
    # before backward: plain white
    c = mg.tensor(1.0, requires_grad=True)
    c.name = "c"
    src = draw_graph(c * 2.0).source
    assert attr(dot_nodes(src)[by_label(src, "c ")[0]], "fillcolor") == style.TENSOR_FILL


def test_partly_zero_large_gradients_say_how_much_is_zero():
    x = mg.tensor(np.linspace(-1, 1, 40), dtype=mg.float32, requires_grad=True)
    x.name = "x"
    y = x.relu().sum()
    y.backward()
    src = draw_graph(y).source
    assert "50% exactly 0" in label_text(dot_nodes(src)[by_label(src, "x (40,)")[0]])


def test_shade_and_number_formatting():
    assert style.shade(1.0) == "#74c476" and style.shade(1e-9) == style.shade(1e-6)
    assert style.shade(0.0) == style.shade(1e-6)
    assert style.fmt_number(1234567.0) == "1.23e6" and style.fmt_number(2e-7) == "2e-7"
    assert style.fmt_number(-0.0) == "0" and style.fmt_number(np.float32(0.5)) == "0.5"
    assert style.fmt_number(3) == "3" and style.fmt_number(True) == "T"
    assert style.array_lines(np.zeros((0, 3))) == ["(empty)"]
    assert style.array_lines(np.array(np.nan)) == ["nan"]
    assert style.stats_line(np.array([1.0, np.nan, np.inf, 3.0] * 5)) == \
        "min 1  mean 2  max 3  5 nan  5 inf"
    assert style.array_lines(np.arange(8.0).reshape(2, 2, 2))[-1] == \
        "(rows along the last axis of (2, 2, 2))"
    assert style.esc('<a & "b">') == "&lt;a &amp; &quot;b&quot;&gt;"


def test_multiple_roots_a_leaf_root_and_bad_arguments():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    a, b = x * 2.0, x.exp()
    src = draw_graph([a, b]).source
    assert len([n for n in dot_nodes(src) if n.startswith("op")]) == 2
    assert len(by_label(src, "(2,) float32")) == 3  # x is drawn once
    src = draw_graph(x).source
    assert [n for n in dot_nodes(src) if n != "legend"] == ["t0"]
    with pytest.raises(TypeError, match="draw_graph: expected a Tensor"):
        draw_graph(np.ones(2))
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(a, rankdir="UP")
    with pytest.raises(ValueError, match="max_elements"):
        draw_graph(a, max_elements=-1)
    with pytest.raises(ValueError, match="precision"):
        draw_graph(a, precision=0)


def test_drawing_never_changes_the_graph_and_backward_still_works():
    model, loss = xor_net()
    before = snapshot(loss)
    draw_graph(loss, model, show_derivative=True)
    draw_graph(loss, model, collapse="modules", fold=True)
    assert_unchanged(before)
    y, (x, w, b) = neuron()
    before = snapshot(y)
    draw_graph(y)
    assert_unchanged(before)
    y.backward()      # the graph was not released or altered by drawing
    assert x.grad is not None


def test_output_is_deterministic_with_ids_from_traversal_order():
    y1, _ = neuron()
    y2, _ = neuron()
    s1, s2 = draw_graph(y1).source, draw_graph(y2).source
    assert s1 == s2 == draw_graph(y1).source
    assert "0x" not in s1 and re.search(r"\bt\d{5,}", s1) is None


def test_deep_chain_is_drawn_without_recursion():
    x = mg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(3 * sys.getrecursionlimit()):
        y = y * 1.0
    src = draw_graph(y, show_values=False, legend=False).source
    assert src.count(" -> ") == 2 * 3 * sys.getrecursionlimit()


_UNARY = [lambda t: t.tanh(), lambda t: t.sigmoid(), lambda t: t * 2.0, lambda t: t.exp(),
          lambda t: t.relu(), lambda t: -t]
_BINARY = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b]


@settings(max_examples=10)
@given(hst.lists(hst.tuples(hst.integers(0, 8), hst.integers(0, 8), hst.integers(0, 10)),
                 min_size=1, max_size=12))
def test_every_node_and_input_is_drawn_once(program):
    """Random small graphs: one op node per Function node, one tensor node per node or
    leaf, and one edge per (op, input) pair plus one per op output."""
    leaves = [mg.tensor([0.5, -0.25], requires_grad=True) for _ in range(3)]
    vals = list(leaves)
    for i, j, k in program:
        a, b = vals[i % len(vals)], vals[j % len(vals)]
        vals.append(_UNARY[k % len(_UNARY)](a) if k < 6 else _BINARY[k % 3](a, b))
    root = vals[-1].sum()
    g = walk.extract([root])
    n_ops = sum(isinstance(it, Function) for it in g.items)
    n_inputs = sum(len(ins) for ins in g.inputs)
    src = draw_graph(root, legend=False).source
    nodes = dot_nodes(src)
    assert sum(n.startswith("op") for n in nodes) == n_ops
    assert sum(n.startswith("t") for n in nodes) == len(g.items)
    assert len(dot_edges(src)) == n_ops + n_inputs


# ---------------------------------------------------------------- expected DOT files
def test_expected_dot_neuron_after_backward():
    y, _ = neuron()
    y.backward()
    check_expected("neuron", draw_graph(y, show_derivative=True).source)


def test_expected_dot_xor_network_with_clusters_and_collapsed():
    model, loss = xor_net()
    check_expected("xor_clusters", draw_graph(loss, model).source)
    check_expected("xor_collapsed", draw_graph(loss, model, collapse="modules",
                                               rankdir="TB").source)


def test_expected_dot_stepper_frame():
    y, _ = neuron()
    frames = backward_steps(y, title="neuron", layout="wide")  # no Graphviz run in it
    check_expected("neuron_step2", frames[2].source)


# ---------------------------------------------------------------- rendering
@needs_dot
def test_svg_render_parses_as_xml_with_the_expected_labels():
    model, loss = xor_net()
    svg = draw_graph(loss, model, show_derivative=True).pipe(format="svg", encoding="utf-8")
    root = ET.fromstring(svg)
    assert root.tag == SVG_NS + "svg"
    texts = " ".join(t.text or "" for t in root.iter(SVG_NS + "text"))
    for want in ("0.weight", "(2, 2) float32", "MatMul", "Tanh", "dy/dx = 1 - y²", "loss",
                 "value", "grad", "0: Lin", "Legend"):
        assert want in texts, want
    groups = [g.get("class") for g in root.iter(SVG_NS + "g")]
    assert groups.count("cluster") == 5 and "node" in groups and "edge" in groups


@needs_dot
def test_render_writes_png_and_pdf(tmp_path):
    y, _ = neuron()
    pic = draw_graph(y)
    png = Path(pic.render(tmp_path / "neuron", format="png", cleanup=True))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = Path(pic.render(tmp_path / "neuron", format="pdf", cleanup=True))
    assert pdf.read_bytes()[:4] == b"%PDF"
    assert "image/svg+xml" in pic._repr_mimebundle_()   # Jupyter's inline display


def test_missing_dot_says_how_to_install_graphviz_while_source_works(monkeypatch, tmp_path):
    y, _ = neuron()
    pic = draw_graph(y)
    monkeypatch.setenv("PATH", str(tmp_path))   # no dot on this PATH
    assert "digraph" in pic.source
    for call in (lambda: pic.pipe(format="svg"),
                 lambda: pic.render(tmp_path / "g", format="png"),
                 lambda: pic._repr_mimebundle_()):
        with pytest.raises(GraphvizNotFoundError) as info:
            call()
        msg = str(info.value)
        assert "apt-get install graphviz" in msg and "brew install graphviz" in msg
        assert "graphviz.org/download" in msg and ".source" in msg
    frames = backward_steps(y, layout="wide")
    with pytest.raises(GraphvizNotFoundError):
        save_steps(frames, tmp_path / "steps.html")


# ---------------------------------------------------------------- stepper
def engine_steps(root, leaves):
    """The engine's own step order on this graph (a separate run, counted)."""
    seen = []
    saved = [(it, it.grad) for it in walk.extract([root]).items if isinstance(it, Function)]
    engine.run_backward([root], [np.ones(root.shape, root.dtype)], retain_graph=True,
                        create_graph=False, inputs=list(leaves), allow_unused=True,
                        on_step=lambda node, grad: seen.append(type(node).__name__))
    for it, g in saved:
        it.grad = g
    return seen


def highlighted_ops(src):
    return [label_text(a).split()[0] for n, a in dot_nodes(src).items()
            if n.startswith(("op", "m")) and attr(a, "color") == style.HIGHLIGHT]


def test_one_frame_per_engine_step_in_the_engine_order():
    y, leaves = neuron()
    order = engine_steps(y, leaves)
    frames = backward_steps(y, layout="wide")
    assert len(frames) == len(order) + 1 == 5      # the forward pass first
    assert [highlighted_ops(f.source) for f in frames] == [[]] + [[o] for o in order]
    model, loss = xor_net()
    loss2 = ((model(mg.ones(3, 2)) - 1.0) ** 2).mean()
    order = engine_steps(loss2, list(model.parameters()))
    assert len(backward_steps(loss2, model, layout="wide")) == len(order) + 1
    # collapsed: the module holding the current operations is highlighted, once per call
    frames = backward_steps(loss2, model, collapse="modules", layout="wide")
    blocks = [h for f in frames for h in highlighted_ops(f.source)]
    assert blocks == ["Mean", "Pow", "Sub", "3:", "2:", "1:", "0:"]


def test_frames_show_gradients_as_they_arrive_and_red_arrows_to_inputs():
    y, (x, w, b) = neuron()
    frames = backward_steps(y)
    srcs = [f.source for f in frames]
    assert style.HIGHLIGHT not in "".join(m.group(0) for m in _EDGE.finditer(srcs[0]))
    # step 1 is Tanh: y's gradient is known, x's is not (written invisibly, same size)
    (xn,) = by_label(srcs[1], "x (2,)")
    first = dot_nodes(srcs[1])[xn]
    assert attr(first, "fillcolor") == style.TENSOR_FILL
    assert f'COLOR="{style.TENSOR_FILL}">[' in first
    # red arrows: from the current op back to its inputs
    hot = [m.group(0) for m in _EDGE.finditer(srcs[1]) if style.HIGHLIGHT in m.group(0)]
    assert len(hot) == 1 and 'dir="back"' in hot[0]
    # the last frame has every gradient, equal to a real backward pass
    y.backward(retain_graph=True)
    last = dot_nodes(srcs[-1])[xn]
    assert attr(last, "fillcolor") != style.TENSOR_FILL
    want = " ".join(style.fmt_number(v) for v in x.grad.data)
    assert f"grad [{want}]" in label_text(last) or want.split()[0] in label_text(last)
    assert "Backward step 4 of 4" in srcs[-1]
    # same label sizes in every frame: the layout does not jump
    sizes = [[len(label_text(a)) for a in dot_nodes(s).values()] for s in srcs]
    assert all(sz == sizes[0] for sz in sizes)


def test_stepper_leaves_all_gradients_untouched():
    y, (x, w, b) = neuron()
    before = snapshot(y)
    backward_steps(y, layout="wide")
    assert_unchanged(before)
    assert x.grad is None and w.grad is None
    y.backward(retain_graph=True)
    grads = [t.grad for t in (x, w, b)]
    before = snapshot(y)
    backward_steps(y, layout="wide")
    assert_unchanged(before)
    assert [t.grad for t in (x, w, b)] == grads


def test_stepper_after_a_plain_backward_uses_the_kept_values():
    y, _ = neuron()
    steps = backward_steps(y)
    before = list(zip([f.source for f in steps], steps.captions))
    y.backward()                 # releases the saved values; keep() kept values and grads
    after = backward_steps(y)
    assert len(after) == len(before)
    assert [f.source for f in after] == [src for src, _ in before]
    assert [c.replace(" (its .grad)", "") for c in after.captions[1:]] == \
        [c for _, c in before][1:]
    assert "viz.keep()" in after.captions[0]


def test_stepper_outside_keep_says_to_record_inside_keep():
    y, _ = neuron()
    y.backward()
    for item in walk.extract([y]).items:   # what the engine does outside keep()
        if isinstance(item, Function):
            item.keeps_values = False
    draw_graph(y)                # the graph can still be drawn
    with pytest.raises(ValueError, match=r"mg\.viz\.keep\(\)"):
        backward_steps(y)


def test_captions_apply_the_chain_rule_with_the_numbers():
    w = mg.tensor(0.5, requires_grad=True)
    w.name = "w"
    x = mg.tensor(2.0)
    x.name = "x"
    target = mg.tensor(0.3)
    target.name = "target"
    y_hat = w * x
    y_hat.name = "ŷ"
    err = y_hat - target
    err.name = "e"
    loss = err * err
    loss.name = "L"
    steps = backward_steps(loss)
    caps = steps.captions
    assert len(caps) == 4 and "L = 0.49" in caps[0] and "∂L/∂L = 1" in caps[0]
    mul = caps[1].splitlines()
    assert mul[0] == "Backward step 1 of 3" and mul[1] == "Mul: receives ∂L/∂L = 1"
    assert "∂L/∂e = ∂L/∂L · b = 1 · 0.7 = 0.7" in mul
    sub = caps[2].splitlines()
    assert sub[1] == "Sub: receives ∂L/∂e = 1.4"
    assert "∂L/∂ŷ = ∂L/∂e · 1 = 1.4 · 1 = 1.4" in sub
    assert "∂L/∂target = ∂L/∂e · (−1): not computed, target needs no gradient" in sub
    last = caps[3].splitlines()
    assert "∂L/∂w = ∂L/∂ŷ · b = 1.4 · 2 = 2.8" in last
    (dw,) = mg.autograd.grad(loss, w, retain_graph=True)
    assert float(dw) == pytest.approx(2.8)
    # tensors: shapes and the element with the largest gradient
    a = mg.tensor([[1.0, -3.0]], requires_grad=True)
    a.name = "a"
    caps = backward_steps((a.tanh() * 2.0).sum()).captions
    tanh = caps[3].splitlines()
    assert tanh[1].startswith("Tanh: receives ∂L/∂y, shape (1, 2); element [0, 0] = 2")
    assert tanh[2].startswith("∂L/∂a[0, 0] = ∂L/∂y · (1 − y²) = 2 · 0.42 = 0.84")


@needs_dot
def test_steps_play_inline_in_jupyter():
    y, _ = neuron()
    out = backward_steps(y)._repr_html_()
    assert out.startswith("<iframe") and "srcdoc=" in out and "&lt;svg" in out


def test_stepper_non_scalar_root_needs_a_gradient():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    with pytest.raises(ValueError, match="gradient="):
        backward_steps(y, layout="wide")
    assert len(backward_steps(y, gradient=np.ones(2), layout="wide")) == 2
    with pytest.raises(ValueError, match="gradient has shape"):
        backward_steps(y, gradient=np.ones(3))
    with pytest.raises(ValueError, match="no backward pass"):
        backward_steps(x, layout="wide")


def test_save_steps_html_is_self_contained_with_one_frame_per_step(tmp_path):
    frames = ['<?xml version="1.0"?>\n<svg id="graph0"><g id="node1"/></svg>',
              '<svg id="graph0"><g id="node1"/></svg>']
    page = save_steps(frames, tmp_path / "s.html").read_text()
    assert page.count('class="frame"') == 2 and "1 / 2" in page
    assert page.count('id="s0_graph0"') == 1 and page.count('id="s1_graph0"') == 1
    assert "<?xml" not in page
    with pytest.raises(ValueError, match="no frames"):
        save_steps([], tmp_path / "x.html")
    with pytest.raises(ValueError, match="interval"):
        save_steps(frames, tmp_path / "x.html", interval=0)


@needs_dot
def test_save_steps_renders_every_frame(tmp_path):
    y, leaves = neuron()
    frames = backward_steps(y, show_derivative=True)
    path = save_steps(frames, tmp_path / "backprop.html", title="A neuron")
    page = path.read_text(encoding="utf-8")
    assert page.count('<div class="frame"') == len(frames) == len(engine_steps(y, leaves)) + 1
    assert page.count("<svg") == len(frames)
    assert re.search(r'(src|href)="https?:', page) is None and "<link" not in page
    assert "<title>A neuron</title>" in page and "play" in page
    for block in re.findall(r"<svg.*?</svg>", page, re.S):
        ET.fromstring(block)   # each inline picture is well-formed XML


def test_last_stepper_frame_shows_gradients_that_bypassed_a_none():
    # A Function whose backward returns None for an input: that consumer never runs,
    # and the leaf's gradient must still show as complete in the last frame.
    class FirstOnly(mg.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g, None

    x = mg.tensor([1.0, -2.0], requires_grad=True)
    x.name = "x"
    y = FirstOnly.apply(x * 2.0, x * 3.0).sum()
    last = backward_steps(y, layout="wide")[-1].source
    (x_node,) = [ln for ln in last.splitlines() if "<B>x</B>" in ln]
    grad_cell = x_node.split(">grad<")[1]
    assert "[2 2]" in grad_cell and "#ffffff" not in grad_cell  # shown, not hidden


# ---------------------------------------------------------------- complete graphs
def test_constant_inputs_and_targets_are_drawn_dashed_and_named():
    w = mg.tensor([0.5, -0.25], requires_grad=True)
    w.name = "w"
    x = mg.tensor([1.0, 2.0])
    x.name = "x"
    target = mg.tensor(0.3)
    y_hat = (w * x).sum()
    y_hat.name = "ŷ"
    loss = (y_hat - target) * 2.0
    loss.backward()
    src = draw_graph(loss).source
    nodes = dot_nodes(src)
    (xn,) = by_label(src, "x (2,)")
    assert "no grad" in label_text(nodes[xn]) and "dashed" in attr(nodes[xn], "style")
    assert "grad" not in label_text(nodes[xn]).replace("no grad", "")
    (unnamed,) = [n for n, a in nodes.items() if "scalar float32 no grad" in label_text(a)]
    assert "0.3" in label_text(nodes[unnamed])
    # every operation shows all its tensor inputs: Mul gets w and x, Sub gets ŷ and target
    mul, mul2 = by_label(src, "Mul")
    (sub,) = by_label(src, "Sub")
    edges = dot_edges(src)
    assert {s for s, t in edges if t == mul} == {by_label(src, "w (2,)")[0], xn}
    assert unnamed in {s for s, t in edges if t == sub}
    assert len([s for s, t in edges if t == sub]) == 2
    # a Python number stays folded into its operation's label, named after its slot
    assert label_text(nodes[mul2]) == "Mul b = 2"
    assert len([s for s, t in edges if t == mul2]) == 1


def test_outside_keep_no_constants_and_values_not_kept_is_said():
    with mg.viz.keep() as k:
        mg.autograd.grad_mode.set_keep_values(False)
        w = mg.tensor([0.5, -0.25], requires_grad=True)
        loss = (w * mg.tensor([1.0, 2.0])).sum()
    loss.backward()
    assert "no grad" not in draw_graph(loss, legend=False).source
    # the engine frees node values outside keep(): the picture draws the structure only
    for item in walk.extract([loss]).items:
        if isinstance(item, Function):
            item.keeps_values = False
    src = draw_graph(loss, legend=False).source
    assert "were not kept" in src and "mg.viz.keep()" in src
    assert len(by_label(src, "Mul")) == 1 and len(by_label(src, "Sum")) == 1


def test_composites_are_one_node_and_expand_on_request():
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    x = mg.tensor([[0.0, 1.0], [1.0, 0.0]])
    y = mg.tensor([[1.0], [0.0]])
    y.name = "target"
    loss = F.binary_cross_entropy_with_logits(model(x), y) + \
        F.softmax(model(x) * 0.0 + mg.tensor([[0.0], [1.0]]), dim=0).sum()
    loss.backward()
    src = draw_graph(loss, model).source
    assert "NoneType" not in src
    blocks = {label_text(a).split()[0] for n, a in dot_nodes(src).items() if n.startswith("m")}
    assert {"binary_cross_entropy_with_logits", "softmax"} <= blocks
    op_names = [label_text(a).split()[0] for n, a in dot_nodes(src).items() if n.startswith("op")]
    assert "Where" not in op_names and "Exp" not in op_names
    (target,) = by_label(src, "target (2, 1)")     # an argument of the composite: visible
    (bce,) = by_label(src, "binary_cross_entropy_with_logits")
    assert (target, bce) in dot_edges(src)
    full = draw_graph(loss, model, expand_composites=True).source
    op_names = [label_text(a).split()[0] for n, a in dot_nodes(full).items() if n.startswith("op")]
    assert "Where" in op_names and "Exp" in op_names
    assert "cluster" in full and "binary_cross_entropy_with_logits" in full


def test_a_loss_module_made_and_dropped_keeps_its_class_name():
    p = mg.tensor([0.2, 0.7], requires_grad=True)
    loss = nn.MSELoss()(p, mg.tensor([0.0, 1.0]))   # the module is garbage collected
    loss.backward()
    import gc
    gc.collect()
    src = draw_graph(loss).source
    assert "NoneType" not in src and "MSELoss" in src and "mse_loss" in src


# ---------------------------------------------------------------- highlight contract
class Failure:
    """What mg.testing hands over: a graph node and a message."""

    def __init__(self, node, message):
        self.node, self.message = node, message


def test_highlight_paints_the_node_red_with_its_message():
    y, (x, w, b) = neuron()
    y.backward()
    mul = y.grad_fn.next[0].next[0].next[0]
    assert type(mul).__name__ == "Mul"
    src = draw_graph(y, highlight=Failure(mul, "gradient differs by 0.5")).source
    nodes = dot_nodes(src)
    (op,) = by_label(src, "gradient differs by 0.5")
    assert label_text(nodes[op]).startswith("Mul")
    assert attr(nodes[op], "color") == style.HIGHLIGHT
    # an iterable of them, and a Tensor as the node
    src = draw_graph(y, highlight=[Failure(w, "w is off"), Failure(y.grad_fn, "root")]).source
    (wn,) = by_label(src, "w is off")
    assert label_text(dot_nodes(src)[wn]).startswith("w ")
    assert attr(dot_nodes(src)[wn], "color") == style.HIGHLIGHT
    assert by_label(src, "root")
    other = mg.tensor(1.0, requires_grad=True) * 2
    with pytest.raises(ValueError, match="not part of the graph"):
        draw_graph(y, highlight=Failure(other.grad_fn, "elsewhere"))
    with pytest.raises(TypeError, match=r"\.node and \.message"):
        draw_graph(y, highlight=[object()])


@needs_dot
def test_slide_layout_keeps_a_long_chain_within_a_slide():
    x = mg.tensor([0.5, -0.25], requires_grad=True)
    y = x
    for i in range(24):
        y = (y * 0.9).tanh() if i % 2 else y + 0.1
    loss = y.sum()
    loss.backward()

    def aspect(pic):
        head = pic.pipe(format="plain", encoding="utf-8").split()
        return float(head[2]) / float(head[3])

    wide = draw_graph(loss, legend=False)
    slide = draw_graph(loss, layout="slide")
    assert aspect(wide) > 8                       # one long line
    assert 0.8 < aspect(slide) < 3.5              # rows: about a 16:9 slide
    src = slide.source
    assert src.count("rank=same") >= 2 and "rankdir=TB" in src and "Legend" not in src
    assert 'POINT-SIZE="14"' in src and 'POINT-SIZE="10"' not in src   # larger text
    with pytest.raises(ValueError, match="layout must be"):
        draw_graph(loss, layout="tall")


def test_a_user_function_backward_runs_once_and_its_caption_says_why_no_number():
    calls = []

    class Once(Function):
        """y = 2x;  dy/dx = 2."""

        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            calls.append(1)
            return g * 2

    x = mg.tensor(1.5, requires_grad=True)
    x.name = "x"
    steps = backward_steps(Once.apply(x), layout="wide")
    assert len(calls) == 1                        # only the engine's own call
    assert "∂L/∂x = ∂L/∂y · 2 (no number: a user-defined backward" in steps.captions[1]
