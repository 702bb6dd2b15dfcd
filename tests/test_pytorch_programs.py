"""PyTorch programs in the style of the tutorials run unchanged with ``torch`` = microgradnn.

Each program below is written once against a module named ``torch`` and run twice: with
microgradnn and, where it is installed, with PyTorch, from the same starting values (only
the random initialisation is replaced by values both can take). The results must agree to
float32 rounding, in values and dtypes. The programs follow the shape of "Learning
PyTorch with Examples" (a cubic fitted to sin x: by hand, with autograd and manual
updates, with ``nn`` and a manual loop over ``model.parameters()``, with an optimizer,
with a custom ``autograd.Function``) and of the MNIST example's training step.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import microgradnn

STEPS = 200
LR = 1e-6


def _start(seed=0):
    return np.random.default_rng(seed).standard_normal(4).astype(np.float32)


def autograd_manual_update(torch, start, steps=STEPS):
    """Tensors that require grad, loss.backward(), updates under no_grad, grads cleared."""
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    a, b, c, d = (torch.tensor(float(v), requires_grad=True) for v in start)
    for _ in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            a -= LR * a.grad
            b -= LR * b.grad
            c -= LR * c.grad
            d -= LR * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return [a, b, c, d], loss


def _cubic_model(torch, start):
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    p = torch.tensor([1, 2, 3])                    # int64: x ** p must stay float32
    xx = x.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    with torch.no_grad():                          # the same start in both libraries
        model[0].bias.copy_(torch.tensor(start[:1]))
        model[0].weight.copy_(torch.tensor(start[1:].reshape(1, 3)))
    return xx, y, model


def nn_manual_parameter_loop(torch, start, steps=STEPS):
    """nn.Sequential, MSELoss(reduction='sum'), zero_grad, `param -= lr * param.grad`."""
    xx, y, model = _cubic_model(torch, start)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    for _ in range(steps):
        loss = loss_fn(model(xx), y)
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= LR * param.grad
    layer = model[0]
    return [layer.bias, layer.weight[:, 0], layer.weight[:, 1], layer.weight[:, 2]], loss


def nn_with_optimizer(torch, start, steps=STEPS):
    """The same with torch.optim.RMSprop doing the update."""
    xx, y, model = _cubic_model(torch, start)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    for _ in range(steps):
        loss = loss_fn(model(xx), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return list(model.parameters()), loss


def custom_function(torch, start, steps=STEPS):
    """A user autograd.Function (Legendre P3) whose forward gets Tensors."""

    class P3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    a, b, c, d = (torch.tensor(float(v) * s, requires_grad=True)
                  for v, s in zip(start, (0.0, -1.0, 0.0, 0.3)))
    for _ in range(steps):
        y_pred = a + b * P3.apply(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            for t in (a, b, c, d):
                t -= 5e-6 * t.grad
                t.grad = None
    return [a, b, c, d], loss


def mnist_style_step(torch, start, steps=5):
    """A small CNN step as in the MNIST example: conv, relu, max_pool2d, dropout in eval,
    flatten, log_softmax and nll_loss, SGD with momentum, `output.argmax(dim=1,
    keepdim=True)` and `pred.eq(target.view_as(pred)).sum().item()`."""
    F = torch.nn.functional
    rng = np.random.default_rng(1)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(1, 4, 3, 1)
            self.fc1 = torch.nn.Linear(4 * 3 * 3, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.max_pool2d(x, 2)
            x = torch.flatten(x, 1)
            return F.log_softmax(self.fc1(x), dim=1)

    model = Net()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.3))
    model.eval()
    data = torch.tensor(rng.standard_normal((8, 1, 8, 8)).astype(np.float32))
    target = torch.tensor(rng.integers(0, 10, 8))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    for _ in range(steps):
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
    pred = output.argmax(dim=1, keepdim=True)
    correct = pred.eq(target.view_as(pred)).sum().item()
    return list(model.parameters()) + [torch.tensor(float(correct))], loss


PROGRAMS = [autograd_manual_update, nn_manual_parameter_loop, nn_with_optimizer,
            custom_function, mnist_style_step]


def _arrays(values):
    return [np.asarray(v.detach().numpy()) for v in values]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_program_trains_with_microgradnn(program):
    """Every update lands (no silently rebound name): the loss falls and every parameter
    moved from its start, and everything stays float32."""
    start = _start()
    before, loss0 = program(microgradnn, start, steps=1)   # the loss at the start
    before = _arrays(before)
    after, loss = program(microgradnn, start)
    assert loss.item() < loss0.item()
    for a, b in zip(before[:4], _arrays(after)[:4]):
        assert not np.array_equal(a, b)
    assert all(v.dtype == np.float32 for v in after), [v.dtype for v in after]
    assert loss.dtype == np.float32


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_program_agrees_with_pytorch(program):
    torch = pytest.importorskip("torch")
    start = _start()
    ours, our_loss = program(microgradnn, start)
    theirs, their_loss = program(torch, start)
    assert str(our_loss.dtype).endswith("float32") and their_loss.dtype == torch.float32
    np.testing.assert_allclose(our_loss.item(), their_loss.item(), rtol=2e-4)
    for a, b in zip(_arrays(ours), _arrays(theirs)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-5)
