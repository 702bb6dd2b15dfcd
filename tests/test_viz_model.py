"""microgradnn.viz.draw_model: architecture diagrams (MLP, CNN, residual, autoencoder,
RNN) checked on the DOT text, and checks that drawing leaves the model as it was."""
import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn
from microgradnn.viz import draw_model

pytest.importorskip("graphviz", reason="the graphviz Python package is not installed "
                                       "(pip install graphviz)")

_NODE = re.compile(r"^\s*(\w+) \[(.*)\]$", re.M)
_EDGE = re.compile(r"^\s*(\w+) -> (\w+)", re.M)


@pytest.fixture(autouse=True, scope="module")
def _keep_values_for_pictures():
    """Pictures read the values and gradients of recorded nodes: record inside keep()."""
    with mg.viz.keep():
        yield


def nodes(src):
    return {m.group(1): m.group(2) for m in _NODE.finditer(src)
            if m.group(1) not in ("graph", "node", "edge")}


def edges(src):
    return [(m.group(1), m.group(2)) for m in _EDGE.finditer(src)]


def text(attrs):
    m = re.search(r"label=<(.*)>(?: \w+=|$)", attrs)
    return " ".join(re.sub(r"<[^>]*>", " ", m.group(1)).replace("&amp;", "&").split())


def find(src, needle):
    return [n for n, a in nodes(src).items() if needle in text(a)]


def chain(src, labels):
    """The node ids of ``labels`` (one each), checked to be joined by edges in order."""
    ids = []
    for lab in labels:
        found = find(src, lab)
        assert len(found) == 1, (lab, found)
        ids.append(found[0])
    es = edges(src)
    for a, b in zip(ids, ids[1:]):
        assert (a, b) in es, (a, b)
    return ids


def test_mlp_of_the_lecture_question_has_330_parameters():
    mlp = nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 10), nn.ReLU(),
                        nn.Linear(10, 10))
    src = draw_model(mlp, (1, 10)).source
    assert "Sequential: 330 parameters" in src
    ids = chain(src, ["input (1, 10) float32", "0: Linear", "1: ReLU", "2: Linear", "3: ReLU",
                      "4: Linear", "output (1, 10) float32"])
    layer = text(nodes(src)[ids[1]])
    assert "in_features=10, out_features=10" in layer and "→ (1, 10)" in layer \
        and "110 parameters" in layer
    assert "parameters" not in text(nodes(src)[ids[2]])   # ReLU has none
    assert "rankdir=TB" in src and "Layers" in src
    assert "subgraph" not in src  # the model itself is the picture, not a cluster


class Res(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.fc1 = nn.Linear(n, n)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(n, n)

    def forward(self, x):
        return self.act(x + self.fc2(self.act(self.fc1(x))))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(4, 8)
        self.block = Res(8)
        self.drop = nn.Dropout(0.3)
        self.bn = nn.BatchNorm1d(8)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.bn(self.drop(self.block(self.inp(x)))))


def test_skip_connection_and_clusters_follow_the_real_data_flow():
    src = draw_model(ResNet(), (3, 4)).source
    (inp,) = find(src, "inp: Linear")
    (add,) = find(src, "Add")
    (fc2,) = find(src, "fc2: Linear")   # named relative to its cluster
    es = edges(src)
    assert (inp, add) in es and (fc2, add) in es   # the identity path and the residual
    assert re.search(r"label=<<B>block: Res</B>>", src)
    block = src.split("subgraph cluster_0 {")[1].split("\t}")[0]
    assert "fc1: Linear" in block and "Add" in block and "head" not in block
    # the shared ReLU is called twice: two nodes, numbered
    assert find(src, "act: ReLU (call 1)") and find(src, "act: ReLU (call 2)")


def test_dropout_in_eval_is_drawn_on_the_path_and_the_model_is_left_as_it_was():
    model = ResNet()
    model.train()
    model.block.eval()
    modes = {name: m.training for name, m in model.named_modules()}
    bn = model.bn
    mean_before = bn.running_mean.data.copy()
    mg.manual_seed(3)
    expected_next = mg.rand(3).data
    mg.manual_seed(3)
    src = draw_model(model, (3, 4)).source
    assert np.array_equal(mg.rand(3).data, expected_next)       # RNG state restored
    assert {n: m.training for n, m in model.named_modules()} == modes
    assert np.array_equal(bn.running_mean.data, mean_before)   # no statistics update
    assert all(p.grad is None for p in model.parameters())
    (drop,) = find(src, "drop: Dropout")
    assert "active in training only" in text(nodes(src)[drop]) and "dashed" in nodes(src)[drop]
    chain(src, ["act: ReLU (call 2)", "drop: Dropout",
                "bn: BatchNorm1d", "head: Linear", "output (3, 2)"])


def test_cnn_shapes_and_parameter_counts():
    cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(8 * 14 * 14, 10))
    src = draw_model(cnn, (2, 1, 28, 28)).source
    ids = chain(src, ["input (2, 1, 28, 28)", "0: Conv2d", "1: ReLU", "2: MaxPool2d",
                      "3: Flatten", "4: Linear", "output (2, 10)"])
    conv = text(nodes(src)[ids[1]])
    assert "→ (2, 8, 28, 28)" in conv and "80 parameters" in conv
    assert "kernel_size=(3, 3), padding=(1, 1)" in conv   # kept whole inside parentheses
    assert "stride" not in conv                          # left at its default: not shown
    full = text(nodes(draw_model(cnn, (2, 1, 28, 28), show_defaults=True).source)[ids[1]])
    assert "stride=(1, 1)" in full and "bias=True" not in text(nodes(src)[ids[4]])
    assert "→ (2, 8, 14, 14)" in text(nodes(src)[ids[3]])
    assert "→ (2, 1568)" in text(nodes(src)[ids[4]])
    total = sum(p.data.size for p in cnn.parameters())
    assert f"Sequential: {total:,} parameters" in src
    # layer families get their own colours
    fills = {attr for attr in re.findall(r'fillcolor="(#\w+)"', src)}
    assert len(fills) >= 4


class AE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))
        self.decoder = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 16), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def test_autoencoder_bottleneck_and_container_clusters():
    src = draw_model(AE(), (1, 16)).source
    titles = re.findall(r"label=<<B>([^<]*)</B>> labeljust=l", src)
    assert titles == ["encoder: Sequential", "decoder: Sequential"]
    (code,) = [n for n in find(src, "2: Linear") if "→ (1, 2)" in text(nodes(src)[n])]
    (dec0,) = find(src, "0: Linear in_features=2")
    assert (code, dec0) in edges(src)


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 4)
        self.lstm = nn.LSTM(4, 6, batch_first=True)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        out, _ = self.lstm(self.emb(x))
        return self.fc(out[:, -1])


def test_rnn_with_integer_input_tensor():
    tokens = mg.tensor(np.zeros((2, 50), dtype=np.int64))
    src = draw_model(Tagger(), input=tokens).source
    chain(src, ["input (2, 50) int64", "emb: Embedding", "lstm: LSTM", "GetItem", "fc: Linear",
                "output (2, 3)"])
    (lstm,) = find(src, "lstm: LSTM")
    assert "→ (2, 50, 6)" in text(nodes(src)[lstm])   # one node for 50 time steps
    assert tokens.grad_fn is None and not tokens.requires_grad


def test_several_inputs_and_outputs():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 2)
            self.b = nn.Linear(5, 2)

        def forward(self, x, y):
            s = self.a(x) + self.b(y)
            return s, s.tanh()

    src = draw_model(Two(), [(1, 3), (1, 5)]).source
    chain(src, ["input 0 (1, 3)", "a: Linear", "Add"])
    chain(src, ["input 1 (1, 5)", "b: Linear", "Add", "output 0 (1, 2) float32"])
    chain(src, ["Add", "Tanh", "output 1 (1, 2) float32"])


def test_errors_name_draw_model():
    with pytest.raises(TypeError, match="draw_model: model must be an nn.Module"):
        draw_model(lambda x: x, (1, 2))
    with pytest.raises(ValueError, match="input_shape"):
        draw_model(nn.Linear(2, 3))
    with pytest.raises(ValueError, match=r"draw_model: running Linear on zeros of shape "
                                         r"\(1, 5\) failed"):
        draw_model(nn.Linear(2, 3), (1, 5))
    with pytest.raises(ValueError, match="rankdir"):
        draw_model(nn.Linear(2, 3), (1, 2), rankdir="UP")
    with pytest.raises(ValueError, match="not both"):
        draw_model(nn.Linear(2, 3), (1, 2), input=mg.zeros(1, 2))


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="Graphviz's `dot` is not installed (apt-get install graphviz)")
def test_model_svg_has_layer_labels():
    mlp = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
    svg = draw_model(mlp, (4, 2)).pipe(format="svg", encoding="utf-8")
    root = ET.fromstring(svg)
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for want in ("0: Linear", "1: Tanh", "3: Sigmoid", "→ (4, 1)", "12 parameters",
                 "Sequential: 17 parameters"):
        assert want in texts, want


def test_drawing_inside_no_grad_still_sees_the_data_flow():
    mlp = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))
    with mg.no_grad():
        src = draw_model(mlp, (2, 3)).source
        assert not mg.is_grad_enabled()
    chain(src, ["input (2, 3)", "0: Linear", "1: ReLU", "2: Linear", "output (2, 1)"])
