"""Smoke tests of the demos: each demo's ``main([...])`` runs in-process with tiny settings.

Files go to a temporary folder (``--out``), never to demos/out. Thresholds are far from
what the full runs reach, so a slightly different floating-point path cannot break them.
The demos that need the 8×8 digits are skipped without scikit-learn.
"""
from __future__ import annotations

import importlib.util
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

DEMOS = Path(__file__).resolve().parents[1] / "demos"
MINE = ["perceptron", "activations", "conv_filters", "digits", "cnn_digits", "lstm_sequence",
        "autoencoder"]


def load(name: str):
    """Import demos/<name>.py as a module (demos/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"demo_{name}", DEMOS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def svg_ok(path: Path) -> None:
    assert path.exists(), path
    root = ET.parse(path).getroot()                 # well-formed XML
    assert root.tag.endswith("svg")


def pngs(folder: Path, *names: str) -> None:
    """The demo's matplotlib figures were written (skipped when matplotlib is missing)."""
    if importlib.util.find_spec("matplotlib") is None:
        return
    for name in names:
        assert (folder / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


needs_sklearn = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None,
                                   reason="the 8×8 digits need scikit-learn")


@pytest.mark.parametrize("name", MINE + ["xor", "draw_graphs"])
def test_demo_has_docstring_and_main(name):
    text = (DEMOS / f"{name}.py").read_text(encoding="utf-8")
    module = load(name)
    assert module.__doc__ and f"python demos/{name}.py" in module.__doc__
    assert callable(module.main)
    if name in MINE:
        assert "--out" in text and "manual_seed(0)" in text


def test_xor(capsys, tmp_path):
    load("xor").main(["--steps", "300", "--no-draw", "--out", str(tmp_path)])
    lines = re.findall(r"^\[(\d), (\d)\] -> ([\d.]+)", capsys.readouterr().out, re.M)
    assert [(int(a), int(b)) for a, b, _ in lines] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [round(float(p)) for _, _, p in lines] == [0, 1, 1, 0]


def test_draw_graphs_dot_only(tmp_path, monkeypatch):
    demo = load("draw_graphs")
    monkeypatch.setattr(demo, "OUT", tmp_path)
    demo.main(["--dot-only", "--out", str(tmp_path)])
    for name in ("xor_graph", "xor_layers", "mlp", "cnn", "resnet", "lstm_folded"):
        source = (tmp_path / f"graphs_{name}.dot").read_text(encoding="utf-8")
        assert source.startswith("digraph")
    assert "330 parameters" in (tmp_path / "graphs_mlp.dot").read_text(encoding="utf-8")


def test_perceptron(tmp_path, capsys):
    r = load("perceptron").main(["--grid", "21", "--out", str(tmp_path)])
    assert r["tables"] == {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "NAND": [1, 1, 1, 0]}
    assert r["trained"]["AND"]["outputs"] == [0, 0, 0, 1]
    assert r["trained"]["OR"]["outputs"] == [0, 1, 1, 1]
    assert r["grid_best"] == {"AND": 4, "OR": 4, "NAND": 4, "XOR": 3}
    assert "every gradient is 0" in capsys.readouterr().out
    svg_ok(tmp_path / "perceptron.svg")
    pngs(tmp_path, "perceptron_planes", "perceptron_mistakes")


def test_activations(tmp_path):
    r = load("activations").main(["--points", "41", "--out", str(tmp_path)])
    s = r["summary"]
    assert all(v["max_error"] < 1e-6 for v in s.values())     # autograd == formula
    assert not np.any(r["results"]["step"][1])                 # the step's slope is 0
    for k in (0.5, 1.0, 2.0):                                   # sigmoid: at most k/4, at 0
        assert s[f"sigmoid k={k:g}"]["max_slope"] == pytest.approx(k / 4)
    assert s["sigmoid k=1"]["slope_at_4"] < 0.02 and s["tanh"]["slope_at_4"] < 0.002
    assert s["ReLU"]["stacked_slope"] == 1.0 and s["sigmoid k=1"]["stacked_slope"] < 1e-5
    svg_ok(tmp_path / "activations.svg")


def test_conv_filters(tmp_path):
    demo = load("conv_filters")
    r = demo.main(["--out", str(tmp_path)])
    pngs(tmp_path, "conv_filters_inputs", "conv_filters_maps", "conv_filters_pooling")
    for name, expected in demo.EXPECTED.items():
        np.testing.assert_array_equal(r["maps"][name], expected)
    np.testing.assert_array_equal(r["pooled"], [[5, 7], [13, 15]])
    assert r["params"] == {"dense": 1010, "conv": 100}
    np.testing.assert_allclose(r["filtered"]["identity"], r["filtered"]["image"])
    svg_ok(tmp_path / "conv_filters.svg")


@needs_sklearn
def test_digits(tmp_path):
    import microgradnn as mg
    r = load("digits").main(["--epochs", "3", "--out", str(tmp_path)])
    assert r["test_accuracy"] > 0.8
    assert r["params"] == 64 * 100 + 100 + 100 * 10 + 10 and r["lecture_params"] == 330
    assert r["confusion"].sum() == 449
    pngs(tmp_path, "digits_loss", "digits_confusion", "digits_misclassified")
    ckpt = mg.load(tmp_path / "digits_mlp.mgnn")
    assert ckpt["model"]["0.weight"].shape == (100, 64)


def test_digits_mnist_files(tmp_path):
    """--mnist reads the user's files (here tiny random ones in the .npy layout)."""
    rng = np.random.default_rng(0)
    data = tmp_path / "mnist"
    data.mkdir()
    for split, n in (("train", 60), ("test", 20)):
        np.save(data / f"x{split}.npy", rng.integers(0, 256, (n, 784), dtype=np.uint8))
        np.save(data / f"y{split}.npy", rng.integers(0, 10, n))
    r = load("digits").main(["--mnist", str(data), "--epochs", "1", "--hidden", "8",
                             "--out", str(tmp_path)])
    assert 0 <= r["test_accuracy"] <= 1 and r["confusion"].sum() == 20
    assert r["params"] == 784 * 8 + 8 + 8 * 10 + 10


@needs_sklearn
def test_cnn_digits(tmp_path):
    r = load("cnn_digits").main(["--epochs", "1", "--out", str(tmp_path)])
    assert r["test_accuracy"] > 0.6
    assert r["params"] == (8 * 9 + 8) + (16 * 8 * 9 + 16) + (64 * 10 + 10)
    path = r["files"][0]
    assert path.exists() and path.suffix in (".svg", ".dot")
    pngs(tmp_path, "cnn_digits_loss", "cnn_digits_filters", "cnn_digits_feature_maps")


def test_lstm_sequence(tmp_path):
    r = load("lstm_sequence").main(["--steps", "200", "--train", "200", "--test", "100",
                                    "--out", str(tmp_path)])
    assert r["period"] == 1023
    assert r["test_accuracy"] > 0.7
    assert r["unrolled_difference"] < 1e-5                   # LSTMCell loop == nn.LSTM
    path = r["files"][0]
    pngs(tmp_path, "lstm_loss")
    assert path.exists()
    if path.suffix == ".svg":
        assert "×" in path.read_text(encoding="utf-8")        # folded repeated calls


@needs_sklearn
def test_autoencoder(tmp_path):
    demo = load("autoencoder")
    r = demo.main(["--epochs", "3", "--show", "2", "--out", str(tmp_path)])
    assert r["mse_after"] < 0.5 * r["mse_before"]
    assert r["code_neighbour_accuracy"] > 0.3
    svg_ok(tmp_path / "autoencoder_codes.svg")
    pngs(tmp_path, "autoencoder_loss", "autoencoder_reconstructions")
    r = demo.main(["--epochs", "1", "--bottleneck", "2", "--noise", "0.3", "--show", "1",
                   "--out", str(tmp_path)])
    assert r["mse_noisy_input"] > 0.05 and r["mse_after"] < r["mse_before"]


# ---- mg.viz.watch: the playground and the demos' --watch pages ------------------------
def watched(path: Path, last_step: int) -> dict:
    from microgradnn.viz.watch import read_view
    data = read_view(path)
    assert data["frames"][0]["step"] == 0 and data["frames"][-1]["step"] == last_step
    return data


def test_playground(tmp_path):
    text = (DEMOS / "playground.py").read_text(encoding="utf-8")
    assert "--out" in text and "manual_seed(0)" in text
    r = load("playground").main(["--steps", "150", "--points", "60", "--out", str(tmp_path)])
    assert set(r) == {"xor", "moons", "circles", "spirals"}
    for name, res in r.items():
        data = watched(res["file"], 149)
        assert data["meta"]["grid"] is not None and data["meta"]["chain"]["widths"][0] == 2
    assert r["xor"]["accuracy"] > 0.8 and r["moons"]["accuracy"] > 0.8
    again = load("playground").main(["--data", "xor", "--steps", "150", "--points", "60",
                                     "--out", str(tmp_path / "again")])
    assert again["xor"]["file"].read_bytes() == r["xor"]["file"].read_bytes()   # deterministic
    relu = load("playground").main(["--data", "circles", "--hidden", "5,3", "--activation",
                                    "relu", "--steps", "20", "--out", str(tmp_path / "relu")])
    assert watched(relu["circles"]["file"], 19)["meta"]["chain"]["acts"] == ["ReLU", "ReLU",
                                                                             "none"]


def test_xor_watch(tmp_path):
    load("xor").main(["--steps", "60", "--no-draw", "--watch", str(tmp_path / "xor.html")])
    data = watched(tmp_path / "xor.html", 59)
    assert data["meta"]["chain"]["widths"] == [2, 4, 1]


def test_lstm_sequence_watch(tmp_path):
    r = load("lstm_sequence").main(["--steps", "30", "--train", "100", "--test", "50",
                                    "--no-draw", "--watch", "--out", str(tmp_path)])
    data = watched(r["watch"], 29)
    assert [layer["name"] for layer in data["meta"]["layers"]] == ["lstm", "head"]


@needs_sklearn
def test_digits_watch(tmp_path):
    r = load("digits").main(["--epochs", "1", "--watch", "--out", str(tmp_path)])
    page = next(p for p in r["files"] if p.name == "digits_training.html")
    data = watched(page, 37)                     # one epoch: 38 batches of 32 of 1213 images
    assert data["meta"]["filters"]["shape"] == [8, 8]
    assert data["meta"]["output"]["kind"] == "classes"


def test_attention(tmp_path):
    r = load("attention").main(["--length", "6", "--vocab", "6", "--steps", "120", "--test",
                                "200", "--out", str(tmp_path)])
    assert r["token_accuracy"] > 0.95
    assert r["antidiagonal_weight"] > 0.6          # it routes by position, as a reversal must
    assert (tmp_path / "attention.png").stat().st_size > 1000


@needs_sklearn
def test_xor_lbfgs(tmp_path):
    r = load("xor_lbfgs").main(["--seeds", "3", "--adam-epochs", "10", "--tanh-epochs", "40",
                                "--no-sklearn", "--out", str(tmp_path)])
    assert r["lbfgs_score"] == 1.0 and r["seed_scores"] == [1.0, 1.0, 1.0]
    assert r["lbfgs_evaluations"] < 200 and r["gd_score"] == 1.0
    assert r["adam_accuracy"] > 0.8 and r["tanh_test_loss"] < 0.6
    for path in r["files"]:
        assert path.suffix == ".png" and path.stat().st_size > 1000


def test_xor_lbfgs_mnist_files(tmp_path):
    """--mnist reads MNIST's .npy layout (here tiny random files: only the plumbing)."""
    rng = np.random.default_rng(0)
    data = tmp_path / "mnist"
    data.mkdir()
    for split, n in (("train", 60), ("test", 20)):
        np.save(data / f"x{split}.npy", rng.integers(0, 256, (n, 784), dtype=np.uint8))
        np.save(data / f"y{split}.npy", rng.integers(0, 10, n))
    r = load("xor_lbfgs").main(["--seeds", "1", "--mnist", str(data), "--adam-epochs", "2",
                                "--tanh-epochs", "2", "--no-sklearn", "--out", str(tmp_path)])
    assert 0 <= r["adam_accuracy"] <= 1 and 0 <= r["tanh_test_loss"] <= 1


def test_locate_fault(tmp_path):
    r = load("locate_fault").main(["--out", str(tmp_path)])
    assert r["gradcheck"] == "failed"
    assert r["node"] == "Swish" and r["op"] == "swish"
    assert r["fixed_ok"] is True
    (path,) = r["files"]
    assert path.exists() and path.suffix in (".svg", ".dot")
    if path.suffix == ".svg":
        svg_ok(path)


@needs_sklearn
def test_residual_depth(tmp_path):
    # conv: 200 training images, 3 epochs (the full run: 600 and 6), to stay in seconds
    r = load("residual_depth").main(["--depths", "4", "16", "--epochs", "4",
                                     "--conv-train", "200", "--conv-epochs", "3",
                                     "--out", str(tmp_path)])
    t = r["table"]
    for block, trains in (("mlp", 0.8), ("conv", 0.7)):     # measured: 0.93 and 0.87
        assert r["first_layer_ratio"][block] > 1e4, block   # the plain net's gradient vanished
        assert t[f"{block}_residual_16"]["test_accuracy"] > trains, block  # the residual trains
        assert t[f"{block}_plain_16"]["test_accuracy"] < 0.3, block        # the plain does not
    pngs(tmp_path, "residual_depth")


def test_losses(tmp_path):
    r = load("losses").main(["--points", "51", "--steps", "4", "--out", str(tmp_path)])
    assert r["at_margin"]["hinge"] == (0.0, 2.0) and r["at_margin"]["squared"] == (0.0, 4.0)
    assert r["at_margin"]["logistic"] == pytest.approx((np.log1p(np.exp(-1)), np.log1p(np.e)))
    assert all(e < 1e-12 for e in r["max_error"].values())     # autograd == the formulas
    w, loss, _ = zip(*r["descent"])
    assert w[0] == 0.4 and round(loss[0], 4) == 0.0196 and round(loss[1], 3) == 0.004
    assert all(a > b for a, b in zip(loss, loss[1:])) and 1.2 < w[-1] < 4 / 3
    assert (tmp_path / "losses.png").stat().st_size > 1000


@needs_sklearn
def test_regularisation(tmp_path):
    r = load("regularisation").main(["--epochs", "40", "--out", str(tmp_path)])["runs"]
    none, decay, stop = r["none"], r["weight decay"], r["early stopping"]
    assert none["train_accuracy"] == 1.0 and none["train_loss"] < 0.01      # memorised
    assert none["test_loss"] > none["min_test_loss"]                        # then over-fits
    gap = {k: v["test_loss"] - v["train_loss"] for k, v in r.items()}
    assert gap["weight decay"] < gap["none"] and decay["train_loss"] > none["train_loss"]
    assert stop["kept_epoch"] < 40 and stop["test_loss"] < none["test_loss"]
    assert all(v["test_accuracy"] > 0.85 for v in r.values())
    assert (tmp_path / "regularisation.png").stat().st_size > 1000


@pytest.mark.skipif(importlib.util.find_spec("scipy") is None,
                    reason="the cluster-to-key matching uses scipy")
def test_dtmf(tmp_path):
    demo = load("dtmf")
    r = demo.main(["--train", "1600", "--test", "300", "--epochs", "12", "--snrs", "0", "20",
                   "--out", str(tmp_path)])
    assert r["accuracy"][0] >= 0.95 and r["accuracy"][20] >= 0.95
    assert (tmp_path / "dtmf.png").stat().st_size > 1000
    # the synthesis: the strongest bin of each band of a clean key is one of its tones
    rng = np.random.default_rng(1)
    s = demo.spectrum(demo.tones(np.array([13]), 800, rng))[0]    # key '0': 941 + 1336 Hz
    freqs = np.arange(len(s)) * 8000 / 800
    low, high = (freqs > 600) & (freqs < 1100), (freqs > 1100) & (freqs < 1700)
    assert (freqs[low][s[low].argmax()], freqs[high][s[high].argmax()]) == (940.0, 1340.0)


@needs_sklearn
def test_pca_digits(tmp_path):
    r = load("pca_digits").main(["--ks", "2", "16", "--epochs", "8", "--out", str(tmp_path)])
    assert r["explained"][:2].sum() > 0.25 and abs(r["explained"].sum() - 1) < 1e-9
    assert r["mlp_accuracy"][16] > 0.9 and r["logreg_accuracy"][16] > 0.9
    assert r["mlp_accuracy"][2] < r["mlp_accuracy"][16]          # two components lose a lot
    assert r["raw_accuracy"] > 0.9
    assert (tmp_path / "pca_digits.png").stat().st_size > 1000


def test_pca_digits_mnist_files(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "mnist"
    data.mkdir()
    for split, n in (("train", 80), ("test", 20)):
        np.save(data / f"x{split}.npy", rng.integers(0, 256, (n, 784), dtype=np.uint8))
        np.save(data / f"y{split}.npy", rng.integers(0, 10, n))
    r = load("pca_digits").main(["--mnist", str(data), "--ks", "2", "64", "--epochs", "1",
                                 "--out", str(tmp_path)])
    assert r["ks"] == [2, 64] and len(r["explained"]) == 80      # at most n_train components


@needs_sklearn
def test_edge_ml(tmp_path):
    r = load("edge_ml").main(["--epochs", "10", "--finetune", "2", "--levels", "0", "0.5",
                              "0.9", "--out", str(tmp_path)])
    assert r["base_accuracy"] > 0.9
    local, glob, tuned = r["curves"].values()
    assert local[0] == glob[0] == r["base_accuracy"]            # 0% pruned changes nothing
    assert glob[1] > r["base_accuracy"] - 0.03                  # half the weights are spare
    assert tuned[2] > glob[2]                                   # fine-tuning recovers some
    assert abs(r["removed_sparsity"] - 0.9) < 1e-3
    size32, acc32 = r["sizes"]["float32"]
    size8, acc8 = r["sizes"]["int8"]
    assert size8 < 0.3 * size32 and acc8 > acc32 - 0.02
    assert (tmp_path / "edge_ml.png").stat().st_size > 1000
