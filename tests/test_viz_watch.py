"""mg.viz.watch: what a saved page embeds is the model's state at that step.

Frames are decoded from the saved HTML (``read_view``) and compared with an independent
computation in NumPy from the weights copied in the training loop: the hidden activations
over the grid, the decision surface, the gradient norms, the loss, the accuracy.
"""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn
from microgradnn.nn import functional as F
from microgradnn.viz.watch import encode, read_view, recorder

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float32)


def xor_model(hidden=3):
    mg.manual_seed(0)
    return nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2), nn.Tanh(),
                         nn.Linear(2, 1), nn.Sigmoid())


def grid_of(meta):
    """The grid's points, rebuilt from the extent the page states (row 0 at the top)."""
    n = meta["grid"]["n"]
    x0, x1, y0, y1 = meta["grid"]["extent"]
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y1 - (np.arange(n) + 0.5) * (y1 - y0) / n
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def train_xor(view, model, steps, lr=2.0):
    """SGD on XOR; returns what the model was at each recorded step, copied by hand."""
    x, y = mg.tensor(XOR_X), mg.tensor(XOR_Y)
    expected = {}
    for step in range(steps):
        loss = F.mse_loss(model(x), y)
        model.zero_grad()
        loss.backward()
        norms = [float(np.sqrt((layer.weight.grad.data.astype(np.float64) ** 2).sum()))
                 for layer in model if isinstance(layer, nn.Linear)]
        with mg.no_grad():
            for p in model.parameters():
                p.data -= lr * p.grad.data
        expected[step] = {"loss": loss.item(), "norms": norms,
                          "params": [(m.weight.data.copy(), m.bias.data.copy())
                                     for m in model if isinstance(m, nn.Linear)]}
        view.record(loss)
    return expected


def forward_by_hand(params, x):
    """Each layer's activation (tanh, tanh, sigmoid) of the 2-h-2-1 net, in float64."""
    acts, a = [], x.astype(np.float64)
    for k, (w, b) in enumerate(params):
        z = a @ w.T.astype(np.float64) + b
        a = 1 / (1 + np.exp(-z)) if k == len(params) - 1 else np.tanh(z)
        acts.append(a)
    return acts


@pytest.mark.parametrize("replay_limit", [50_000, 0], ids=["pictures-later", "pictures-now"])
def test_frames_match_the_model_at_their_step(tmp_path, replay_limit):
    model = xor_model()
    view = mg.viz.watch(model, inputs=XOR_X, targets=XOR_Y, grid=12, max_frames=8,
                        replay_limit=replay_limit)
    expected = train_xor(view, model, 30)
    data = read_view(view.save(tmp_path / "xor.html"))
    meta = data["meta"]
    assert meta["chain"]["widths"] == [2, 3, 2, 1]
    assert meta["chain"]["acts"] == ["Tanh", "Tanh", "Sigmoid"]
    grid = grid_of(meta)
    steps = [f["step"] for f in data["frames"]]
    assert steps[0] == 0 and steps[-1] == 29 and len(steps) <= 9
    for f in data["frames"]:
        e = expected[f["step"]]
        assert f["loss"] == pytest.approx(e["loss"], rel=1e-6)
        np.testing.assert_allclose(f["grad_norms"], e["norms"], rtol=1e-5)
        for (w, b), w_page, b_page in zip(e["params"], f["weights"], f["biases"]):
            np.testing.assert_array_equal(w_page, w)          # float32, exact
            np.testing.assert_array_equal(b_page, b)
        acts = forward_by_hand(e["params"], grid)
        for a, maps in zip(acts, f["maps"]):
            n = meta["grid"]["n"]
            want = a.T.reshape(-1, n, n)
            span = np.ptp(want.reshape(len(want), -1), axis=1)
            err = np.abs(maps - want).reshape(len(want), -1).max(axis=1)
            assert np.all(err <= span / 510 + 1e-6), (f["step"], err, span)
        out = acts[-1][:, 0].reshape(meta["grid"]["n"], -1)
        assert np.abs(f["surface"] - out).max() <= np.ptp(out) / 510 + 1e-6
        pred = forward_by_hand(e["params"], XOR_X)[-1][:, 0] > 0.5
        assert f["accuracy"] == pytest.approx(np.mean(pred == (XOR_Y[:, 0] > 0.5)))
    hist = data["history"]
    np.testing.assert_array_equal(hist["step"], np.arange(30))
    np.testing.assert_array_equal(hist["loss"], np.float32([expected[s]["loss"]
                                                            for s in range(30)]))
    np.testing.assert_allclose(hist["grad_norms"], [expected[s]["norms"] for s in range(30)],
                               rtol=1e-5)


def test_every_records_one_call_in_k(tmp_path):
    model = xor_model()
    view = mg.viz.watch(model, inputs=XOR_X, targets=XOR_Y, every=4, grid=4)
    train_xor(view, model, 18)
    data = read_view(view.save(tmp_path / "v.html"))
    np.testing.assert_array_equal(data["history"]["step"], [0, 4, 8, 12, 16])
    assert [f["step"] for f in data["frames"]] == [0, 4, 8, 12, 16]


def test_frames_stay_bounded_and_evenly_spread():
    model = xor_model()
    x, y = mg.tensor(XOR_X), mg.tensor(XOR_Y)
    F.mse_loss(model(x), y).backward()            # gradients to record; no training needed
    view = mg.viz.watch(model, inputs=XOR_X, targets=XOR_Y, grid=4, max_frames=16,
                        max_history=100)
    for i in range(3000):
        view.record(float(i))
    steps = [f.step for f in view.frames]
    assert 8 <= len(steps) <= 16 and steps[0] == 0
    assert len(set(np.diff(steps))) == 1          # evenly spaced
    assert steps[-1] + np.diff(steps)[0] > 2999 - np.diff(steps)[0]   # covering the run
    assert 50 <= len(view._steps) <= 100 and len(set(np.diff(view._steps))) == 1
    page = view.to_html()
    data = encode.payload_of(page)
    assert data["frames"][-1]["step"] == 2999 and data["frames"][-1]["final"]
    assert len(data["frames"]) == len(steps) + 1


def test_recording_keeps_no_graph_alive():
    model = xor_model()
    view = mg.viz.watch(model, inputs=XOR_X, targets=XOR_Y, grid=4)
    x, y = mg.tensor(XOR_X), mg.tensor(XOR_Y)
    loss = F.mse_loss(model(x), y)
    loss.backward()
    view.record(loss)
    view.save  # noqa: B018 - the recorder stays alive below
    refs = [weakref.ref(loss), weakref.ref(loss.grad_fn)]
    del loss
    gc.collect()
    assert all(r() is None for r in refs), "the recorder kept the loss or its graph alive"
    assert len(view.frames) == 1


def test_recording_does_not_change_training():
    """Same losses and weights with and without the recorder, with BatchNorm and Dropout
    (the snapshots run in eval mode and put every module's flag back)."""
    def run(watched):
        mg.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.3),
                              nn.Linear(6, 1))
        model[1].eval()                            # mixed flags must survive a snapshot
        rng = np.random.default_rng(0)
        x = mg.tensor(rng.standard_normal((16, 2)).astype(np.float32))
        y = mg.tensor((rng.random((16, 1)) > 0.5).astype(np.float32))
        view = mg.viz.watch(model, inputs=x, targets=y, grid=4) if watched else None
        opt = mg.optim.SGD(model.parameters(), lr=0.1)
        losses = []
        for _ in range(12):
            loss = F.binary_cross_entropy_with_logits(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if view is not None:
                view.record(loss)
        flags = [m.training for m in model.modules()]
        if view is not None:
            view.to_html()
        assert [m.training for m in model.modules()] == flags
        return losses, [p.data.copy() for p in model.parameters()], flags
    bare, watched = run(False), run(True)
    assert bare[0] == watched[0] and bare[2] == watched[2]
    for a, b in zip(bare[1], watched[1]):
        np.testing.assert_array_equal(a, b)


def test_classes_accuracy_and_class_surface(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((30, 2)).astype(np.float32)
    y = rng.integers(0, 3, 30)
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 3))
    view = mg.viz.watch(model, inputs=x, targets=y, grid=6)
    loss = F.cross_entropy(model(mg.tensor(x)), mg.tensor(y))
    loss.backward()
    view.record(loss)
    data = read_view(view.save(tmp_path / "c.html"))
    (frame,) = data["frames"]
    with mg.no_grad():
        logits = model(mg.tensor(x)).data
        grid_logits = model(mg.tensor(grid_of(data["meta"]).astype(np.float32))).data
    assert frame["accuracy"] == pytest.approx(np.mean(logits.argmax(1) == y))
    np.testing.assert_array_equal(frame["surface_class"].ravel(), grid_logits.argmax(1))
    assert data["meta"]["output"]["kind"] == "classes"
    assert any("largest of the model's outputs" in n for n in data["meta"]["notes"])


def test_binary_logits_threshold_is_stated():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
    view = mg.viz.watch(model, inputs=XOR_X, targets=XOR_Y, grid=4)
    assert view.output["threshold"] == 0.0
    assert any("output > 0 counts as class 1 (the output read as a logit)" in n
               for n in view.notes)
    view = mg.viz.watch(model, inputs=XOR_X, targets=XOR_Y, grid=4, threshold=0.3)
    assert view.output["threshold"] == 0.3
    view = mg.viz.watch(model, inputs=XOR_X, targets=np.float32([[0.2], [1.5], [3], [0]]))
    assert view.output["kind"] == "values" and "the targets are not classes: no accuracy" \
        in view.notes


class Custom(nn.Module):
    """A module drawing cannot know: a shared activation, a functional call, its own
    parameter."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(2, 3), nn.Linear(3, 3), nn.Linear(3, 1)
        self.act = nn.Tanh()
        self.gain = nn.Parameter(np.ones(1, dtype=np.float32))

    def forward(self, x):
        return self.fc3(self.act(self.fc2(self.act(self.fc1(x))))) * self.gain


def test_custom_module_is_summarised_and_says_so(tmp_path):
    mg.manual_seed(0)
    model = Custom()
    view = mg.viz.watch(model, inputs=XOR_X, targets=XOR_Y, grid=4)
    loss = F.mse_loss(model(mg.tensor(XOR_X)), mg.tensor(XOR_Y))
    loss.backward()
    view.record(loss)
    notes = " | ".join(view.notes)
    assert "(model): a custom Custom; its parameters (gain)" in notes
    assert "not a chain of Linear layers" in notes
    assert [layer.name for layer in view.layers] == ["fc1", "fc2", "fc3", "(model)"]
    text = view.save(tmp_path / "custom.html").read_text(encoding="utf-8")
    assert "a custom Custom" in text
    gain_norm = read_view(tmp_path / "custom.html")["frames"][0]["grad_norms"][3]
    assert gain_norm == pytest.approx(abs(float(model.gain.grad.data[0])))


def test_shared_activation_module_maps_each_call(tmp_path):
    """The same Tanh instance after two layers: each layer's maps come from its own call."""
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.fc3 = nn.Linear(2, 3), nn.Linear(3, 2), nn.Linear(2, 1)
            self.act = nn.Tanh()

        def forward(self, x):
            return self.fc3(self.act(self.fc2(self.act(self.fc1(x)))))
    mg.manual_seed(0)
    model = Shared()
    view = mg.viz.watch(model, inputs=XOR_X, grid=5)
    loss = model(mg.tensor(XOR_X)).sum()
    loss.backward()
    view.record(loss)
    assert view.structure.activations == ["Tanh", "Tanh", "none"]
    data = read_view(view.save(tmp_path / "s.html"))
    g = grid_of(data["meta"])
    h1 = np.tanh(g @ model.fc1.weight.data.T + model.fc1.bias.data)
    h2 = np.tanh(h1 @ model.fc2.weight.data.T + model.fc2.bias.data)
    maps = data["frames"][0]["maps"]
    np.testing.assert_allclose(maps[0].reshape(3, -1), h1.T, atol=2 / 510 + 1e-6)
    np.testing.assert_allclose(maps[1].reshape(2, -1), h2.T, atol=2 / 510 + 1e-6)


def test_wide_layer_is_a_summary():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 40), nn.ReLU(), nn.Linear(40, 1))
    view = mg.viz.watch(model, inputs=XOR_X, targets=XOR_Y, grid=4)
    loss = F.mse_loss(model(mg.tensor(XOR_X)), mg.tensor(XOR_Y))
    loss.backward()
    view.record(loss)
    (frame,) = view.frames
    assert frame.maps[0] is None and frame.maps[1] is not None
    assert any("0 (40 units)" in n for n in view.notes)
    w = model[0].weight.data
    assert frame.mean_abs[0] == pytest.approx(np.abs(w).mean(), rel=1e-6)
    assert frame.histograms[0].sum() == w.size
    counts, _ = np.histogram(w, 20, (-np.abs(w).max(), np.abs(w).max()))
    np.testing.assert_array_equal(frame.histograms[0], counts)
    (stored,) = encode.payload_of(view.to_html())["frames"]
    assert stored["w"] == [None, None] and stored["b"][0] is None   # no edges drawn: not kept


def test_conv_filters_are_the_first_layer_weights(tmp_path):
    mg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    x = mg.randn(6, 2, 6, 6)
    y = mg.tensor(np.array([0, 1, 2, 0, 1, 2]))
    view = mg.viz.watch(model, inputs=x, targets=y)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    view.record(loss)
    data = read_view(view.save(tmp_path / "cnn.html"))
    want = model[0].weight.data.mean(axis=1)
    got = data["frames"][0]["filters"]
    scale = np.abs(want).reshape(4, -1).max(axis=1)
    assert np.all(np.abs(got - want).reshape(4, -1).max(axis=1) <= scale / 255 + 1e-7)
    assert any("mean over the 2 input channels" in n for n in data["meta"]["notes"])
    with mg.no_grad():
        acc = np.mean(model(x).data.argmax(1) == y.data)
    assert data["frames"][0]["accuracy"] == pytest.approx(acc)


def test_linear_weights_as_images_with_image_shape():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 5), nn.ReLU(), nn.Linear(5, 2))
    x = mg.randn(10, 16)
    view = mg.viz.watch(model, inputs=x, image_shape=(4, 4))
    model(x).sum().backward()
    view.record(0.0)
    codes, scale = view.frames[0].filters
    assert codes.shape == (5, 4, 4)
    np.testing.assert_allclose((codes / 127.5 - 1) * scale[:, None, None],
                               model[0].weight.data.reshape(5, 4, 4), atol=scale.max() / 255)
    with pytest.raises(ValueError, match=r"image_shape \(3, 3\) needs a first Linear layer "
                                         "with 9 inputs"):
        mg.viz.watch(model, inputs=x, image_shape=(3, 3))


def test_lstm_model_records_layers_and_says_what_is_missing():
    class NextBit(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.head = nn.LSTM(1, 4, batch_first=True), nn.Linear(4, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1])[:, 0]
    mg.manual_seed(0)
    model = NextBit()
    x = mg.randn(5, 3, 1)
    y = mg.tensor(np.float32([0, 1, 1, 0, 1]))
    view = mg.viz.watch(model, inputs=x, targets=y)
    loss = F.binary_cross_entropy_with_logits(model(x), y)
    loss.backward()
    view.record(loss)
    assert [layer.name for layer in view.layers] == ["lstm", "head"]
    lstm = model.lstm
    want = np.sqrt(sum((getattr(lstm, n).grad.data.astype(np.float64) ** 2).sum()
                       for n in ("weight_ih_l0", "weight_hh_l0")))
    assert view.frames[0].grad_norms[0] == pytest.approx(want, rel=1e-5)
    assert any("not points of a plane" in n for n in view.notes)
    with mg.no_grad():
        acc = np.mean((model(x).data > 0) == (y.data > 0.5))
    assert view.frames[0].accuracy == pytest.approx(acc)


def test_errors_are_loud():
    model = xor_model()
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        mg.viz.watch(lambda x: x, inputs=XOR_X)
    with pytest.raises(ValueError, match="3 targets for 4 inputs"):
        mg.viz.watch(model, inputs=XOR_X, targets=XOR_Y[:3])
    with pytest.raises(ValueError, match="every must be an int ≥ 1, got 0"):
        mg.viz.watch(model, inputs=XOR_X, every=0)
    with pytest.raises(ValueError, match="extent must be"):
        mg.viz.watch(model, inputs=XOR_X, extent=(1, 0, 0, 1))
    view = mg.viz.watch(model, inputs=XOR_X, targets=XOR_Y, grid=4)
    with pytest.raises(RuntimeError, match="nothing recorded yet"):
        view.to_html()
    with pytest.raises(ValueError, match=r"the loss must have one element, got shape \(4, 1\)"):
        view.record(model(mg.tensor(XOR_X)))
    with pytest.raises(TypeError, match="loss must be a Tensor or a number, got str"):
        view.record("0.1")
    with pytest.warns(UserWarning, match="no parameter has a gradient"):
        view.record(0.5)                           # before any backward
    with pytest.raises(RuntimeError, match="live updates need a Jupyter kernel"):
        mg.viz.watch(model, inputs=XOR_X, live=True)


def test_diverged_training_is_an_error_not_a_picture():
    model = xor_model()
    view = mg.viz.watch(model, inputs=XOR_X, targets=XOR_Y, grid=4, replay_limit=0)
    F.mse_loss(model(mg.tensor(XOR_X)), mg.tensor(XOR_Y)).backward()
    with mg.no_grad():
        model[0].weight.data[0, 0] = np.nan
    with pytest.raises(FloatingPointError, match="weights of 0 are not finite"):
        view.record(float("nan"))


def test_replaced_parameters_are_refused():
    model = xor_model()
    view = mg.viz.watch(model, inputs=XOR_X, grid=4)
    model(mg.tensor(XOR_X)).sum().backward()
    view.record(1.0)
    model[0].weight = nn.Parameter(np.zeros((3, 2), dtype=np.float32))
    with pytest.raises(RuntimeError, match="parameters or buffers were replaced"):
        view.to_html()


class FakeHandle:
    def __init__(self, html):
        self.shown = [html]

    def update(self, html):
        self.shown.append(html)


def test_live_display_updates_in_place(monkeypatch):
    displayed = []

    def display(obj, display_id=False):
        assert display_id is True
        displayed.append(FakeHandle(obj))
        return displayed[-1]
    monkeypatch.setattr(recorder, "_ipython_display", lambda: (display, lambda s: ("HTML", s)))
    model = xor_model()
    view = mg.viz.watch(model, inputs=XOR_X, targets=XOR_Y, grid=4, live_every=5)
    train_xor(view, model, 23)
    (handle,) = displayed                          # one display, updated in place
    assert len(handle.shown) == 5                  # steps 0, 5, 10, 15, 20
    kind, html = handle.shown[-1]
    assert kind == "HTML" and html.startswith("<iframe srcdoc=")
    live = encode.payload_of(__import__("html").unescape(html))
    assert live["live"] and [f["step"] for f in live["frames"]] == [20]
    view.finish()                                  # the full player replaces the live frame
    full = encode.payload_of(__import__("html").unescape(handle.shown[-1][1]))
    assert not full["live"] and len(full["frames"]) == 23
    monkeypatch.setattr(recorder, "_ipython_display", lambda: None)
    quiet = mg.viz.watch(model, inputs=XOR_X, grid=4)
    assert quiet._live is None                     # outside Jupyter nothing extra happens


def test_page_is_self_contained_and_notebook_ready(tmp_path):
    model = xor_model()
    view = mg.viz.watch(model, inputs=XOR_X, targets=XOR_Y, grid=4, title="XOR </script>")
    train_xor(view, model, 3)
    text = view.to_html()
    assert text.count("</script>") == 2            # the title cannot close the data
    for fetch in ("<link", "src=\"http", "src='http", "@import", "fetch(", "XMLHttpRequest"):
        assert fetch not in text
    assert "https://" not in text
    assert encode.payload_of(text)["title"] == "XOR </script>"
    cell = view._repr_html_()
    assert cell.startswith("<iframe srcdoc=\"") and "&lt;script" in cell


def test_quantise_round_trip_within_half_a_step():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 40)) * rng.uniform(0.01, 100, (5, 1))
    a[2] = 3.0                                     # a constant map
    codes, lo, hi = encode.quantise(a)
    back = encode.dequantise(codes, lo, hi)
    step = (hi.astype(np.float64) - lo) / 255
    assert np.all(np.abs(back - a) <= step[:, None] / 2 + 1e-5 * np.abs(a))
    with pytest.raises(FloatingPointError, match="not finite"):
        encode.quantise(np.array([[0.0, np.nan]]))


def test_a_10000_step_recording_stays_a_few_megabytes(tmp_path):
    model = xor_model(hidden=4)
    F.mse_loss(model(mg.tensor(XOR_X)), mg.tensor(XOR_Y)).backward()
    view = mg.viz.watch(model, inputs=XOR_X, targets=XOR_Y)     # default bounds
    for i in range(10_000):
        view.record(1.0 / (i + 1))
    assert len(view._frames) <= view.max_frames and len(view._steps) <= view.max_history
    path = view.save(tmp_path / "long.html")
    size = path.stat().st_size
    assert size < 3e6, f"a 10,000-step page takes {size / 1e6:.1f} MB"
    data = read_view(path)
    assert data["frames"][-1]["step"] == 9999
    assert data["history"]["loss"][-1] == np.float32(1.0 / 10_000)


def test_residual_blocks_are_summarised_layer_by_layer(tmp_path):
    mg.manual_seed(0)
    model = nn.Sequential(nn.ResidualBlock(2, 4, stride=2), nn.Flatten(), nn.Linear(4 * 3 * 3, 2))
    x = mg.randn(4, 2, 6, 6)
    y = mg.tensor(np.array([0, 1, 1, 0]))
    view = mg.viz.watch(model, inputs=x, targets=y)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    view.record(loss)
    names = [layer.name for layer in view.layers]
    assert names == ["0.conv1", "0.bn1", "0.conv2", "0.bn2", "0.downsample.0",
                     "0.downsample.1", "2"]
    conv2 = model[0].conv2.weight.grad.data.astype(np.float64)
    data = read_view(view.save(tmp_path / "res.html"))
    assert data["frames"][0]["grad_norms"][2] == pytest.approx(np.sqrt((conv2 ** 2).sum()),
                                                               rel=1e-5)
    assert [m.training for m in model.modules()] == [True] * len(list(model.modules()))


def test_residual_chain_maps_show_the_block_output(tmp_path):
    """Residual(Sequential(Linear, Tanh)): the column feeding the next layer is x + tanh(.),
    and the page says the skip connections are not drawn."""
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(),
                          nn.Residual(nn.Sequential(nn.Linear(3, 3), nn.Tanh())),
                          nn.Linear(3, 1))
    view = mg.viz.watch(model, inputs=XOR_X, grid=5)
    model(mg.tensor(XOR_X)).sum().backward()
    view.record(0.0)
    assert view.structure.activations == ["Tanh", "Residual", "none"]
    assert any("skip connections (2) are not drawn" in n for n in view.notes)
    data = read_view(view.save(tmp_path / "r.html"))
    g = grid_of(data["meta"])
    h1 = np.tanh(g @ model[0].weight.data.T + model[0].bias.data)
    inner = model[2].module[0]
    h2 = h1 + np.tanh(h1 @ inner.weight.data.T + inner.bias.data)
    maps = data["frames"][0]["maps"]
    np.testing.assert_allclose(maps[1].reshape(3, -1), h2.T,
                               atol=np.ptp(h2) / 510 + 1e-6)
