"""Bad input: public operations, factories, layers, losses, optimizers and data tools fed
wrong types, shapes, axes and values must raise TypeError, ValueError or IndexError, with a
message that starts with the name of the operation called, and change nothing: no input's
data, gradient or graph.

``CALLS`` is the table: each row names the operation, the names its messages may start
with, and a function of one drawn bad value that makes the call. Hypothesis draws the row
and the bad value; ``test_every_row_with_every_bad_value`` also runs each row with each
of its values once, so every case in the table is tried on every run.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as hst

import microgradnn as mg
from microgradnn import nn, optim
from microgradnn.nn import functional as F

ALLOWED = (TypeError, ValueError, IndexError)

# ---------------------------------------------------------------- pools of bad values
NOT_INTS = [1.5, 2.0, True, "2", None, [1], np.float64(2.0), 1 + 0j]
# Window sizes take an int or one per spatial axis; a one-element list means "the same for
# every axis" in this library, so it is not a bad value there.
NOT_INTS_OR_ONE_LIST = [v for v in NOT_INTS if v != [1]]
NOT_REALS = ["a", None, [1.0], 1 + 0j, object()]
BAD_SHAPES = [2.5, (2.5,), (2, "a"), (True, 2), None, "23", (2, None), [[2]], (-2, 3)]
BAD_DIMS = [5, -5, 1.0, "0", True, [0, 0], 10 ** 20]
NOT_TENSORS = ["abc", None, object(), {"a": 1}, [[1.0, 2.0], [3.0]], [1.0, "x"]]
BAD_REDUCTIONS = ["avg", None, 1, "MEAN"]
BAD_PROBS = [-0.1, 1.5, "0.5", None, float("nan")]


def x23():
    return mg.tensor(np.arange(6.0).reshape(2, 3) / 7, requires_grad=True)


def ones64(*shape):
    """Ones of x23's dtype: bad shapes are checked after the dtypes match, as in PyTorch."""
    return mg.ones(*shape, dtype=mg.float64)


def scalar():
    return mg.tensor(0.5, requires_grad=True)


class Row:
    """One operation: ``call(x, bad)`` with fresh inputs ``x``."""

    def __init__(self, names, bad_values, call, make=x23):
        self.names = (names,) if isinstance(names, str) else tuple(names)
        self.bad_values = list(bad_values)
        self.call = call
        self.make = make

    def __repr__(self):
        return self.names[0]


def _dims(fn):
    return Row(fn.__name__ if hasattr(fn, "__name__") else "op", BAD_DIMS, fn)


CALLS = [
    # shape and indexing
    Row("reshape", BAD_SHAPES + [(4, 2), (-1, -1)], lambda x, b: x.reshape(b)),
    Row("reshape", NOT_INTS, lambda x, b: x.reshape(b, 6)),
    Row(("view", "reshape"), BAD_SHAPES, lambda x, b: x.view(b)),     # view is reshape
    Row("transpose", BAD_DIMS, lambda x, b: x.transpose(b, 0)),
    Row("transpose", BAD_DIMS, lambda x, b: x.transpose(0, b)),
    Row("transpose", [(0,), (1, 1), (1, 1, 0), ("a",), (0, 1, 2), (0, 1.0)],
        lambda x, b: x.transpose(b)),
    Row("transpose", [(0, 1), (0, 0, 0), (1, "a")], lambda x, b: scalar().transpose(*b)),
    Row("permute", [(0,), (0, 0), (0, 5), ("a", 1), (1.0, 0)], lambda x, b: x.permute(*b)),
    Row("swapaxes", BAD_DIMS, lambda x, b: x.swapaxes(b, 0)),
    Row("flatten", BAD_DIMS, lambda x, b: x.flatten(b)),
    Row("flatten", BAD_DIMS + [0], lambda x, b: x.flatten(1, b)),
    Row("squeeze", BAD_DIMS + [1.5, (0, "a")], lambda x, b: x.squeeze(b)),
    Row("unsqueeze", BAD_DIMS, lambda x, b: x.unsqueeze(b)),
    Row(("expand", "broadcast_to"), BAD_SHAPES + [(3, 3), (2,)], lambda x, b: x.expand(b)),
    Row("broadcast_to", BAD_SHAPES + [(3, 3), (3,)], lambda x, b: x.broadcast_to(b)),
    Row("broadcast_to", BAD_SHAPES, lambda x, b: mg.broadcast_to(x, b)),
    Row("split", [1.5, 0, -1, "2", None, [1, 2], [1.5, 0.5], [3, -1], (True, 1)],
        lambda x, b: x.split(b)),
    Row("split", BAD_DIMS, lambda x, b: x.split(1, b)),
    Row("chunk", [1.5, 0, -1, "2", None], lambda x, b: x.chunk(b)),
    Row("chunk", BAD_DIMS, lambda x, b: x.chunk(1, b)),
    Row("cat", [[], "ab", None, 3], lambda x, b: mg.cat(b)),
    Row("cat", NOT_TENSORS + [mg.ones(2, 4, 1)], lambda x, b: mg.cat([x, b])),
    Row("cat", BAD_DIMS, lambda x, b: mg.cat([x, x], b)),
    Row("stack", NOT_TENSORS + [mg.ones(3, 2)], lambda x, b: mg.stack([x, b])),
    Row("stack", BAD_DIMS, lambda x, b: mg.stack([x, x], b)),
    Row("pad", [-1, 1.5, "a", None, (1, 2, 3), [(1, 1)] * 3], lambda x, b: mg.pad(x, b)),
    Row("pad", NOT_REALS[:2], lambda x, b: mg.pad(x, 1, b)),
    Row("getitem", [5, -3, (0, 5), "a", 1.5, [5], [0.5], (0, 0, 0),
                    np.array(["a"])], lambda x, b: x[b]),
    Row("setitem", [5, -3, (0, 5), "a", 1.5, [7], (0, 0, 0)],
        lambda x, b: x.detach().__setitem__(b, 1.0), make=x23),
    Row("setitem", ["a", None, object(), [1.0, 2.0], np.ones(4), mg.ones(5)],
        lambda x, b: x.detach().__setitem__(0, b)),
    # reductions
    Row("sum", BAD_DIMS, lambda x, b: x.sum(b)),
    Row("mean", BAD_DIMS, lambda x, b: x.mean(axis=b)),
    Row("max", BAD_DIMS, lambda x, b: x.max(b)),
    Row("min", BAD_DIMS, lambda x, b: x.min(dim=b)),
    # var(True) and std(True) are PyTorch's var(unbiased) overload, not a bad dim
    Row("var", [d for d in BAD_DIMS if d is not True], lambda x, b: x.var(b)),
    Row("std", [d for d in BAD_DIMS if d is not True], lambda x, b: x.std(b)),
    Row("logsumexp", BAD_DIMS, lambda x, b: x.logsumexp(b)),
    Row("softmax", BAD_DIMS, lambda x, b: x.softmax(b)),
    Row("log_softmax", BAD_DIMS, lambda x, b: mg.log_softmax(x, b)),
    Row("argmax", BAD_DIMS, lambda x, b: x.argmax(b)),
    Row("argmin", BAD_DIMS, lambda x, b: x.argmin(dim=b)),
    Row("any", BAD_DIMS, lambda x, b: x.any(b)),
    Row("all", BAD_DIMS, lambda x, b: x.all(b)),
    # elementwise and linear algebra
    Row("add", NOT_TENSORS + [mg.ones(4)], lambda x, b: x + b),
    Row("mul", NOT_TENSORS + [mg.ones(4)], lambda x, b: x * b),
    Row("sub", NOT_TENSORS, lambda x, b: mg.sub(x, b)),
    Row("div", NOT_TENSORS, lambda x, b: mg.div(b, x)),
    Row("pow", NOT_TENSORS, lambda x, b: x ** b),
    # the bad tensors are of x's dtype: a dtype mismatch is refused first (test_promotion.py)
    Row("matmul", NOT_TENSORS + [ones64(2, 2), ones64(())],
        lambda x, b: x @ b),
    Row("maximum", NOT_TENSORS, lambda x, b: mg.maximum(x, b)),
    Row("where", NOT_TENSORS + [mg.ones(5) > 0], lambda x, b: mg.where(b, x, x)),
    Row("where", NOT_TENSORS, lambda x, b: mg.where(x > 0, x, b)),
    Row("exp", NOT_TENSORS, lambda x, b: mg.exp(b)),
    Row("clip", ["a", object()], lambda x, b: x.clip(b, 1.0)),
    Row("clip", [1 + 0j, np.array([1 + 0j])], lambda x, b: x.clip(b, 1.0)),
    Row("leaky_relu", ["a", None, object()], lambda x, b: x.leaky_relu(b)),
    Row("leaky_relu", [1 + 0j], lambda x, b: x.leaky_relu(b)),
    # factories
    Row("zeros", BAD_SHAPES, lambda x, b: mg.zeros(b)),
    Row("ones", NOT_INTS, lambda x, b: mg.ones(2, b)),
    Row("rand", BAD_SHAPES, lambda x, b: mg.rand(b)),
    Row("randn", NOT_INTS, lambda x, b: mg.randn(b, 2)),
    Row("full", BAD_SHAPES, lambda x, b: mg.full(b, 1.0)),
    Row("full", [None, "a", [1, 2], object(), 1 + 2j], lambda x, b: mg.full((2,), b)),
    Row("eye", NOT_INTS + [-1], lambda x, b: mg.eye(b)),
    Row("eye", [1.5, True, "2", [1], np.float64(2.0), -1], lambda x, b: mg.eye(2, b)),
    Row("arange", NOT_REALS + [1 + 0j], lambda x, b: mg.arange(b)),
    Row("arange", [0, 0.0, "1", None], lambda x, b: mg.arange(0, 5, b)),
    Row("linspace", NOT_INTS + [-1], lambda x, b: mg.linspace(0, 1, b)),
    Row("linspace", NOT_REALS, lambda x, b: mg.linspace(b, 1, 3)),
    Row("manual_seed", [1.5, "0", None, True, 2 ** 64, -(2 ** 63) - 1],
        lambda x, b: mg.manual_seed(b)),
    Row("tensor", NOT_TENSORS[:1] + NOT_TENSORS[2:], lambda x, b: mg.tensor(b)),
    Row("zeros_like", NOT_TENSORS, lambda x, b: mg.zeros_like(b)),
    Row("ones_like", NOT_TENSORS, lambda x, b: mg.ones_like(b)),
    # layers
    Row("Linear", NOT_INTS + [-1], lambda x, b: nn.Linear(b, 2)),
    Row("Linear", NOT_INTS + [-1], lambda x, b: nn.Linear(2, b)),
    Row("linear", NOT_TENSORS + [[[1.0]], ones64(3), ones64(2, 2)],
        lambda x, b: F.linear(x, b)),
    Row("linear", NOT_TENSORS[:1] + NOT_TENSORS[2:] + [ones64(3)],
        lambda x, b: F.linear(x, ones64(4, 3), b)),
    Row("linear", NOT_TENSORS + [mg.ones(2, 4)], lambda x, b: nn.Linear(3, 2)(b)),
    Row("Conv2d", NOT_INTS_OR_ONE_LIST + [0, (1, 2, 3)],
        lambda x, b: nn.Conv2d(1, 2, b)),
    Row("Conv2d", NOT_INTS + [0, -1], lambda x, b: nn.Conv2d(b, 2, 3)),
    Row(("LayerNorm", "layer_norm"), BAD_SHAPES[:-1], lambda x, b: nn.LayerNorm(b)),
    Row("layer_norm", BAD_SHAPES + [(2,), 4], lambda x, b: F.layer_norm(x, b)),
    Row("layer_norm", NOT_REALS + [-1.0], lambda x, b: F.layer_norm(x, (3,), eps=b)),
    Row("batch_norm", NOT_TENSORS + [mg.ones(2)],
        lambda x, b: F.batch_norm(x, b, mg.ones(3), training=False)),
    Row(("BatchNorm1d", "BatchNorm"), NOT_INTS + [-1], lambda x, b: nn.BatchNorm1d(b)),
    Row("dropout", BAD_PROBS, lambda x, b: F.dropout(x, b)),
    Row("Dropout", BAD_PROBS, lambda x, b: nn.Dropout(b)),
    Row("Embedding", NOT_INTS + [-1], lambda x, b: nn.Embedding(b, 2)),
    Row("embedding", [mg.tensor([0.5]), mg.tensor([5]), "a", None, mg.tensor([-1])],
        lambda x, b: F.embedding(b, mg.ones(3, 2))),
    Row("gelu", ["exact", None, 1], lambda x, b: F.gelu(x, b)),
    Row("Flatten", BAD_DIMS, lambda x, b: nn.Flatten(b)(x)),
    Row(("Linear.load_state_dict", "load_state_dict"),
        [None, 3, "weights", [1, 2], {"weight": mg.ones(5)}, {"weight": "a", "bias": 1}],
        lambda x, b: nn.Linear(3, 2).load_state_dict(b)),
    Row("RNN", NOT_INTS, lambda x, b: nn.RNN(b, 3)),
    Row("LSTM", NOT_INTS, lambda x, b: nn.LSTM(4, b)),
    Row(("LSTM", "lstm"), NOT_TENSORS + [mg.ones(2, 3, 5)], lambda x, b: nn.LSTM(4, 3)(b)),
    Row("MaxPool2d", NOT_INTS_OR_ONE_LIST + [0, (2, -1)], lambda x, b: nn.MaxPool2d(b)),
    Row(("max_pool2d", "MaxPool2d"), NOT_TENSORS[:-2] + [mg.ones(4)],
        lambda x, b: nn.MaxPool2d(2)(b)),
    Row("conv2d", NOT_INTS_OR_ONE_LIST + [0], lambda x, b: F.conv2d(mg.ones(1, 1, 4, 4),
                                                         mg.ones(1, 1, 2, 2), stride=b)),
    Row(("Conv2d", "conv2d"), NOT_TENSORS[:-2] + [mg.ones(1, 2, 4, 4)],
        lambda x, b: nn.Conv2d(1, 1, 2)(b)),
    Row("Conv1d", NOT_INTS_OR_ONE_LIST + [0], lambda x, b: nn.Conv1d(1, 1, b)),
    Row("Sequential", [3, "a", None, np.ones(2)], lambda x, b: nn.Sequential(nn.Linear(2, 2), b)),
    Row(("Embedding", "embedding"), NOT_TENSORS[:-2] + [mg.tensor([0.5]), mg.tensor([9])],
        lambda x, b: nn.Embedding(3, 2)(b)),
    Row(("LayerNorm", "layer_norm"), NOT_TENSORS + [mg.ones(2, 4)],
        lambda x, b: nn.LayerNorm(3)(b)),
    Row(("BatchNorm1d", "batch_norm"), NOT_TENSORS + [mg.ones(2, 4)],
        lambda x, b: nn.BatchNorm1d(3)(b)),
    Row("clip_grad_norm_", ["a", None, -1.0, float("nan")],
        lambda x, b: nn.utils.clip_grad_norm_([x], b)),
    Row("StepLR", NOT_INTS + [0], lambda x, b: optim.lr_scheduler.StepLR(optim.SGD([x]), b)),
    # losses
    Row("mse_loss", NOT_TENSORS + [mg.ones(3), mg.ones(2, 1)], lambda x, b: F.mse_loss(x, b)),
    Row("l1_loss", NOT_TENSORS, lambda x, b: F.l1_loss(x, b)),
    Row("huber_loss", NOT_TENSORS, lambda x, b: F.huber_loss(x, b)),
    Row("huber_loss", NOT_REALS + [0.0, -1.0], lambda x, b: F.huber_loss(x, x.detach(), delta=b)),
    Row("smooth_l1_loss", NOT_REALS + [-1.0], lambda x, b: F.smooth_l1_loss(x, x.detach(), beta=b)),
    Row("mse_loss", BAD_REDUCTIONS, lambda x, b: F.mse_loss(x, x.detach(), reduction=b)),
    Row("cross_entropy", NOT_TENSORS + [mg.tensor([0, 5]), mg.tensor([0.5, 1.0]),
                                        mg.tensor([[0, 1]])],
        lambda x, b: F.cross_entropy(x, b)),
    Row("cross_entropy", NOT_REALS + [-0.1, 1.5],
        lambda x, b: F.cross_entropy(x, mg.tensor([0, 1]), label_smoothing=b)),
    Row("nll_loss", NOT_TENSORS + [mg.tensor([0, 3])], lambda x, b: F.nll_loss(x, b)),
    Row("binary_cross_entropy", NOT_TENSORS + [mg.ones(3)],
        lambda x, b: F.binary_cross_entropy(x.sigmoid(), b)),
    Row("binary_cross_entropy_with_logits", NOT_TENSORS + [mg.ones(3)],
        lambda x, b: F.binary_cross_entropy_with_logits(x, b)),
    Row("CrossEntropyLoss", BAD_REDUCTIONS, lambda x, b: nn.CrossEntropyLoss(reduction=b)),
    # optimizers
    Row("SGD", [nn.Linear(2, 1), 3, None, "params", [nn.Linear(2, 1)], [np.ones(2)]],
        lambda x, b: optim.SGD(b)),
    Row("SGD", NOT_REALS + [-1.0], lambda x, b: optim.SGD([x], lr=b)),
    Row("Adam", [(0.9,), (0.9, "a"), "ab", None, (1.5, 0.9)],
        lambda x, b: optim.Adam([x], betas=b)),
    # data
    Row("DataLoader", NOT_INTS + [0, -1],
        lambda x, b: mg.data.DataLoader(mg.data.TensorDataset(mg.ones(4, 2)), batch_size=b)),
    Row("TensorDataset", NOT_TENSORS + [mg.ones(3)],
        lambda x, b: mg.data.TensorDataset(mg.ones(4, 2), b)),
]


# ---------------------------------------------------------------- checking one call
def _snapshot(x):
    return (x.data.copy(), x.grad, x.requires_grad, x.grad_fn)


def _unchanged(x, snap) -> bool:
    data, grad, requires_grad, grad_fn = snap
    return (x.data.shape == data.shape and np.array_equal(x.data, data, equal_nan=True)
            and x.grad is grad and x.requires_grad == requires_grad and x.grad_fn is grad_fn)


def _starts_with_name(message: str, names) -> bool:
    return any(re.match(re.escape(n) + r"[:.(\s]", message, flags=re.IGNORECASE)
               for n in names)


def classify(row: Row, bad) -> str:
    """'ok', or what went wrong: 'no error', 'raw <Type>: ...', 'unnamed: ...', 'changed'."""
    x = row.make()
    snap = _snapshot(x)
    try:
        row.call(x, bad)
    except ALLOWED as e:
        if not _starts_with_name(str(e), row.names):
            return f"unnamed {type(e).__name__}: {e}"
        return "ok" if _unchanged(x, snap) else "changed its input"
    except Exception as e:  # noqa: BLE001 - the point is to see every other kind
        return f"raw {type(e).__name__}: {e}"
    return "no error"


def _cases():
    return [(row, b) for row in CALLS for b in row.bad_values]


def test_every_row_with_every_bad_value():
    failures = []
    for row, bad in _cases():
        verdict = classify(row, bad)
        if verdict != "ok":
            failures.append(f"{row.names[0]}({bad!r}): {verdict}")
    assert not failures, f"{len(failures)} of {len(_cases())} bad calls:\n" + "\n".join(failures)


@settings(max_examples=60)
@given(data=hst.data())
def test_bad_input_raises_named_errors_and_changes_nothing(data):
    row = data.draw(hst.sampled_from(CALLS))
    bad = data.draw(hst.sampled_from(row.bad_values))
    assert classify(row, bad) == "ok"


def test_the_table_is_large():
    assert len(_cases()) >= 800


def test_the_patterns_issue_12_found():
    x = mg.ones(3)
    with pytest.raises(IndexError, match=r"^setitem: index 5 is out of bounds"):
        x[5] = 1
    with pytest.raises(TypeError, match=r"^setitem: value of dtype <U1 is not supported"):
        x[0] = "a"
    with pytest.raises(TypeError, match=r"^setitem: value"):
        x[0] = None                     # NumPy would write nan
    assert x.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(TypeError, match=r"^full: fill_value must be a real number"):
        mg.full((2,), None)             # NumPy would fill with nan
    with pytest.raises(TypeError, match=r"^linear: weight must be a Tensor, got list"):
        F.linear(mg.ones(2, 1), [[1.0]])
    with pytest.raises(TypeError, match=r"^Linear\.load_state_dict: state_dict must be a dict"):
        nn.Linear(1, 1).load_state_dict(None)
    with pytest.raises(TypeError, match=r"^mse_loss: target must be a Tensor"):
        F.mse_loss(mg.ones(2, 2), [[1.0, 2.0], [3.0]])
    with pytest.raises(ValueError, match=r"^argmax: dimension 5 is out of range"):
        mg.ones(2, 3).argmax(axis=5)
    assert scalar().transpose(0, 0).shape == ()          # as PyTorch
    # A negative seed stands for seed + 2**64, as in PyTorch.
    mg.manual_seed(-1)
    a = mg.rand(3)
    mg.manual_seed(2 ** 64 - 1)
    assert mg.rand(3).tolist() == a.tolist()
