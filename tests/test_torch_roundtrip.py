"""A model trained here continues training in PyTorch from a checkpoint, and the reverse.

A small CNN (conv, batch norm, pooling, linear) and an LSTM with a linear head train a few
Adam steps in one framework; model and optimizer go through one safetensors file (written
by ``mg.save`` or by ``safetensors.torch.save_file``, read by the other side's safetensors
loader); both frameworks then take the same further steps and must agree (float64).
"""
from __future__ import annotations

import numpy as np
import pytest

import microgradnn as mg

torch = pytest.importorskip("torch")
from safetensors.torch import load_file, save_file  # noqa: E402

STEPS = 3


class MgLSTMNet(mg.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = mg.nn.LSTM(3, 5, batch_first=True)
        self.fc = mg.nn.Linear(5, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


class TorchLSTMNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(3, 5, batch_first=True)
        self.fc = torch.nn.Linear(5, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def cnn(nn):
    # no conv bias before batch norm: its gradient is rounding noise, which Adam amplifies
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def batches(kind: str):
    rng = np.random.default_rng(0)
    for _ in range(2 * STEPS):
        if kind == "cnn":
            yield rng.standard_normal((6, 1, 8, 8)), rng.integers(0, 3, 6)
        else:
            yield rng.standard_normal((4, 7, 3)), rng.standard_normal((4, 2))


def models(kind: str):
    mg.set_default_dtype(mg.float64)
    try:
        ours = cnn(mg.nn) if kind == "cnn" else MgLSTMNet()
    finally:
        mg.set_default_dtype(mg.float32)
    theirs = (cnn(torch.nn) if kind == "cnn" else TorchLSTMNet()).double()
    return ours, theirs


def mg_step(model, opt, x, y, kind):
    out = model(mg.tensor(x))
    if kind == "cnn":
        loss = mg.nn.functional.cross_entropy(out, mg.tensor(y))
    else:
        loss = mg.nn.functional.mse_loss(out, mg.tensor(y))
    opt.zero_grad()
    loss.backward()
    opt.step()


def torch_step(model, opt, x, y, kind):
    out = model(torch.from_numpy(x))
    if kind == "cnn":
        loss = torch.nn.functional.cross_entropy(out, torch.from_numpy(y))
    else:
        loss = torch.nn.functional.mse_loss(out, torch.from_numpy(y))
    opt.zero_grad()
    loss.backward()
    opt.step()


def optimizer_state(flat: dict, groups: list) -> dict:
    """Rebuild an optimizer state dict from flat ``optim.state.<i>.<key>`` tensors."""
    state: dict = {}
    for name, value in flat.items():
        if name.startswith("optim.state."):
            index, key = name[len("optim.state."):].split(".", 1)
            state.setdefault(int(index), {})[key] = value
    return {"state": dict(sorted(state.items())), "param_groups": groups}


def model_state(flat: dict) -> dict:
    return {k[len("model."):]: v for k, v in flat.items() if k.startswith("model.")}


def assert_same_parameters(ours, theirs):
    mine, other = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(other)
    for name in mine:
        np.testing.assert_allclose(mine[name].data, other[name].numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_trained_here_continues_in_pytorch(kind, tmp_path):
    ours, theirs = models(kind)
    opt = mg.optim.Adam(ours.parameters(), lr=0.01)
    data = list(batches(kind))
    for x, y in data[:STEPS]:
        mg_step(ours, opt, x, y, kind)
    path = tmp_path / "ckpt.safetensors"
    mg.save({"model": ours.state_dict(), "optim": opt.state_dict()}, path)

    flat = load_file(str(path))  # PyTorch's side reads the file with nothing of ours
    theirs.load_state_dict(model_state(flat))  # strict: every name and shape matches
    torch_opt = torch.optim.Adam(theirs.parameters(), lr=0.01)
    torch_opt.load_state_dict(optimizer_state(flat, torch_opt.state_dict()["param_groups"]))
    assert_same_parameters(ours, theirs)
    for x, y in data[STEPS:]:
        mg_step(ours, opt, x, y, kind)
        torch_step(theirs, torch_opt, x, y, kind)
    assert_same_parameters(ours, theirs)


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_trained_in_pytorch_continues_here(kind, tmp_path):
    ours, theirs = models(kind)
    torch_opt = torch.optim.Adam(theirs.parameters(), lr=0.01)
    data = list(batches(kind))
    for x, y in data[:STEPS]:
        torch_step(theirs, torch_opt, x, y, kind)
    flat = {f"model.{k}": v for k, v in theirs.state_dict().items()}
    for index, entries in torch_opt.state_dict()["state"].items():
        flat.update({f"optim.state.{index}.{k}": v for k, v in entries.items()})
    path = tmp_path / "torch.safetensors"
    save_file(flat, str(path))

    loaded = mg.load(path)  # a foreign safetensors file: a flat dict of Tensors
    assert all(isinstance(v, mg.Tensor) for v in loaded.values())
    ours.load_state_dict(model_state(loaded))
    opt = mg.optim.Adam(ours.parameters(), lr=0.01)
    opt.load_state_dict(optimizer_state(loaded, opt.state_dict()["param_groups"]))
    assert_same_parameters(ours, theirs)
    for x, y in data[STEPS:]:
        torch_step(theirs, torch_opt, x, y, kind)
        mg_step(ours, opt, x, y, kind)
    assert_same_parameters(ours, theirs)
