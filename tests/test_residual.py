"""Skip connections: Residual(module) and ResNet's basic ResidualBlock (torchvision names)."""
from __future__ import annotations

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn
from microgradnn.testing import gradcheck


def leaf(a):
    return mg.tensor(a, requires_grad=True)


# ---------------------------------------------------------------- Residual
def test_residual_adds_the_input():
    mg.manual_seed(0)
    inner = nn.Linear(3, 3)
    block = nn.Residual(inner)
    x = mg.randn(4, 3)
    np.testing.assert_allclose(block(x).data, x.data + inner(x).data, rtol=1e-6)
    assert [n for n, _ in block.named_parameters()] == ["module.weight", "module.bias"]


def test_residual_gradient_has_the_identity_path():
    """d/dx (x + f(x)) = 1 + f'(x): with f = 0 the gradient is exactly 1."""
    inner = nn.Linear(2, 2, dtype=np.float64)
    with mg.no_grad():
        inner.weight.data[...] = 0
        inner.bias.data[...] = 0
    x = leaf(np.array([[0.5, -1.0]]))
    nn.Residual(inner)(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1.0, 1.0]])
    assert gradcheck(nn.Residual(nn.Sequential(nn.Linear(2, 2, dtype=np.float64), nn.Tanh())),
                     [leaf(np.array([[0.3, -0.2], [1.0, 2.0]]))])


def test_residual_errors():
    with pytest.raises(TypeError, match="Residual: expected a Module"):
        nn.Residual(lambda x: x)
    with pytest.raises(ValueError, match=r"Residual: the wrapped Linear changed the shape from "
                                         r"\(2, 3\) to \(2, 4\)"):
        nn.Residual(nn.Linear(3, 4))(mg.zeros((2, 3)))


# ---------------------------------------------------------------- ResidualBlock
BN_KEYS = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def test_block_structure_and_state_dict_keys():
    same = nn.ResidualBlock(8, 8)
    assert same.downsample is None
    assert [n for n, _ in same.named_children()] == ["conv1", "bn1", "relu", "conv2", "bn2"]
    assert list(same.state_dict()) == (["conv1.weight"] + [f"bn1.{k}" for k in BN_KEYS]
                                       + ["conv2.weight"] + [f"bn2.{k}" for k in BN_KEYS])
    down = nn.ResidualBlock(4, 8, stride=2)
    assert list(down.state_dict())[-6:] == (["downsample.0.weight"]
                                            + [f"downsample.1.{k}" for k in BN_KEYS])
    assert down.conv1.weight.shape == (8, 4, 3, 3) and down.conv1.bias is None
    assert down.conv1.stride == (2, 2) and down.conv1.padding == (1, 1)
    assert down.conv2.stride == (1, 1)
    assert down.downsample[0].weight.shape == (8, 4, 1, 1)
    assert down.downsample[0].stride == (2, 2)
    assert nn.ResidualBlock(4, 8).downsample is not None   # channels change: projection


@pytest.mark.parametrize("cin, cout, stride, in_shape, out_shape", [
    (3, 3, 1, (2, 3, 6, 6), (2, 3, 6, 6)), (3, 6, 1, (2, 3, 6, 6), (2, 6, 6, 6)),
    (3, 6, 2, (2, 3, 6, 6), (2, 6, 3, 3)), (2, 2, 2, (1, 2, 7, 6), (1, 2, 4, 3))])
def test_block_output_shape(cin, cout, stride, in_shape, out_shape):
    assert nn.ResidualBlock(cin, cout, stride)(mg.randn(*in_shape)).shape == out_shape


def test_block_forward_is_the_basic_block_formula():
    mg.manual_seed(1)
    for block in (nn.ResidualBlock(3, 3), nn.ResidualBlock(3, 5, stride=2)):
        block.eval()
        x = mg.randn(2, 3, 6, 6)
        out = block.bn2(block.conv2(block.bn1(block.conv1(x)).relu()))
        short = x if block.downsample is None else block.downsample(x)
        np.testing.assert_allclose(block(x).data, (out + short).relu().data, rtol=1e-5,
                                   atol=1e-6)


def test_block_gradients():
    mg.manual_seed(2)
    block = nn.ResidualBlock(2, 3, stride=2, dtype=np.float64)
    x = leaf(np.random.default_rng(0).standard_normal((2, 2, 5, 5)))
    block(x).sum().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
    # finite differences through convs, batch norm (batch statistics) and the skip path;
    # outputs weighted unevenly, since a plain sum after batch norm has a tiny gradient
    x = leaf(np.random.default_rng(1).standard_normal((2, 2, 4, 4)))
    assert gradcheck(lambda t: block(t) * mg.tensor(np.linspace(0.5, 1.5, 24).reshape(2, 3, 2, 2)),
                     [x])
    block.eval()
    assert gradcheck(lambda t: block(t), [x])


# ---------------------------------------------------------------- PyTorch
def torch_basic_block(torch, cin, cout, stride):
    """torchvision's BasicBlock written out (torchvision may not be installed)."""
    tnn = torch.nn

    class BasicBlock(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(cout)
            self.relu = tnn.ReLU(inplace=True)
            self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride, bias=False),
                                                 tnn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    return BasicBlock().double()


@pytest.mark.parametrize("cin, cout, stride", [(4, 4, 1), (4, 8, 2)])
def test_matches_pytorch_basic_block(cin, cout, stride):
    torch = pytest.importorskip("torch")
    theirs = torch_basic_block(torch, cin, cout, stride)
    ours = nn.ResidualBlock(cin, cout, stride, dtype=np.float64)
    state = {k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()}
    assert list(state) == list(ours.state_dict())
    rng = np.random.default_rng(4)
    for k in state:  # non-trivial batch-norm affine parameters and statistics
        if "bn" in k or "downsample.1" in k:
            if k.endswith(("weight", "bias", "running_mean")):
                state[k] = rng.uniform(0.5, 1.5, state[k].shape)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    ours.load_state_dict(state)
    x = rng.standard_normal((2, cin, 6, 6))
    for mode in ("train", "eval"):
        getattr(theirs, mode)()
        getattr(ours, mode)()
        xm, xt = leaf(x), torch.tensor(x, requires_grad=True)
        ym, yt = ours(xm), theirs(xt)
        np.testing.assert_allclose(ym.data, yt.detach().numpy(), atol=1e-10)
        ym.sum().backward()
        yt.sum().backward()
        np.testing.assert_allclose(xm.grad.data, xt.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(ours.conv1.weight.grad.data,
                                   theirs.conv1.weight.grad.numpy(), atol=1e-9)
        ours.zero_grad()
        theirs.zero_grad()
    np.testing.assert_allclose(ours.bn1.running_mean.data, theirs.bn1.running_mean.numpy(),
                               atol=1e-12)
