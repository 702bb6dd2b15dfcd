"""nn.summary: the lecture's parameter counts, table rows and layout, nested and shared
modules, modes restored, no graph recorded."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as hst

from microgradnn import nn


def lecture_mlp():
    return nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 10), nn.ReLU(),
                         nn.Linear(10, 10))


def test_the_lectures_mlp_has_330_parameters():
    s = nn.summary(lecture_mlp(), (1, 10))
    assert s.total_params == 330 and s.trainable_params == 330 and s.non_trainable_params == 0
    assert [(r.name, r.type, r.output_shape, r.num_params) for r in s.rows] == [
        ("0", "Linear", (1, 10), 110), ("1", "ReLU", (1, 10), 0), ("2", "Linear", (1, 10), 110),
        ("3", "ReLU", (1, 10), 0), ("4", "Linear", (1, 10), 110)]
    text = str(s)
    assert "Total params: 330" in text and "Trainable params: 330" in text
    assert text.splitlines()[0].split() == ["Layer", "(type)", "Output", "shape", "Param", "#"]
    assert repr(s) == text


def test_print_shows_the_table(capsys):
    print(nn.summary(lecture_mlp(), (4, 10)))
    out = capsys.readouterr().out
    assert "0 (Linear)" in out and "(4, 10)" in out and "Non-trainable params: 0" in out


def test_dense_layer_on_100_pixels_has_1010_parameters():
    s = nn.summary(nn.Sequential(nn.Flatten(), nn.Linear(100, 10)), (1, 1, 10, 10))
    assert s.total_params == 1010 and "1,010" in str(s)
    assert s.rows[0].output_shape == (1, 100)


@pytest.mark.skipif(not hasattr(nn, "Conv2d"), reason="nn.Conv2d not available")
def test_conv_layer_with_10_maps_has_100_parameters():
    s = nn.summary(nn.Conv2d(1, 10, 3), (1, 1, 10, 10))
    assert s.total_params == 100
    assert s.rows[0].type == "Conv2d" and s.rows[0].output_shape == (1, 10, 8, 8)


@settings(max_examples=10)
@given(hst.lists(hst.integers(1, 6), min_size=2, max_size=5), hst.integers(1, 3))
def test_totals_agree_with_the_parameters(sizes, batch):
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    net = nn.Sequential(*layers)
    s = nn.summary(net, (batch, sizes[0]))
    assert s.total_params == sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    assert sum(r.num_params for r in s.rows) == s.total_params
    assert s.rows[-1].output_shape == (batch, sizes[-1])


def test_nested_shared_frozen_and_multi_output_models():
    shared = nn.Linear(4, 4)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            self.first = shared
            self.body = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(3), shared)
            self.unused = nn.Linear(2, 2)

        def forward(self, idx):
            h = self.body(self.first(self.emb(idx)))
            return h, h.sum()

    net = Net()
    net.emb.weight.requires_grad = False
    net.train()
    s = nn.summary(net, (2, 3), dtype=np.int64)
    names = [r.name for r in s.rows]
    assert names == ["emb", "first", "body", "body.0", "body.1", "first"]
    rows = {(r.name, i): r for i, r in enumerate(s.rows)}
    assert rows[("body", 2)].container and str(s).count("--") == 1
    assert rows[("first", 5)].shared and rows[("first", 5)].num_params == 0
    assert "(shared)" in str(s)
    assert rows[("body.1", 4)].num_params == 6
    # every parameter once, including the unused layer's; the frozen embedding is not trainable
    assert s.total_params == 40 + 20 + 20 + 6 + 6
    assert s.trainable_params == s.total_params - 40
    # the model runs once on zeros in eval mode; modes come back and nothing is left behind
    assert all(m.training for m in net.modules())
    assert net.body[1].num_batches_tracked.item() == 0
    assert all("forward" not in m.__dict__ for m in net.modules())


def test_tuple_outputs_and_several_inputs():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 2), nn.Linear(5, 2)

        def forward(self, x, y):
            return self.a(x) + self.b(y), (x, y)

    s = nn.summary(Two(), [(4, 3), (4, 5)])
    assert [r.output_shape for r in s.rows] == [(4, 2), (4, 2)]
    single = nn.summary(nn.Linear(3, 2), (3,))
    assert single.rows[0].name == "" and single.rows[0].type == "Linear"
    assert single.rows[0].output_shape == (2,)


def test_summary_records_no_graph_and_restores_forward_after_errors():
    net = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(ValueError, match="input feature size 4"):
        nn.summary(net, (1, 4))
    assert "forward" not in net[0].__dict__ and net.training
    seen = []
    net[0].register_forward_hook(lambda m, i, o: seen.append(o.requires_grad))
    nn.summary(net, (1, 3))
    assert seen == [False]
    with pytest.raises(TypeError, match="input_shape"):
        nn.summary(net, "1x3")
    with pytest.raises(TypeError, match="nn.Module"):
        nn.summary(lambda x: x, (1, 3))
