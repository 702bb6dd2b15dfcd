"""nn.utils.prune: PyTorch's names (weight_orig, weight_mask, the hook), amounts as counts
or fractions, iterative and global pruning, remove, and errors; the same masks as PyTorch."""
import importlib.util

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn
from microgradnn.nn.utils import prune

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="compares with PyTorch")


def layer(seed=0, shape=(4, 5)):
    lin = nn.Linear(shape[1], shape[0], dtype=mg.float64)
    lin.weight.data[...] = np.random.default_rng(seed).standard_normal(shape)
    return lin


def test_l1_unstructured_names_mask_and_forward():
    lin = layer()
    w = lin.weight.data.copy()
    assert prune.l1_unstructured(lin, "weight", amount=0.25) is lin
    assert sorted(n for n, _ in lin.named_parameters()) == ["bias", "weight_orig"]
    assert list(lin.state_dict()) == ["bias", "weight_orig", "weight_mask"]
    mask = lin.weight_mask.data
    assert mask.dtype == np.float64 and mask.sum() == 15          # round(0.25 · 20) = 5 pruned
    smallest = np.argsort(np.abs(w).ravel())[:5]
    assert (mask.ravel()[smallest] == 0).all()
    x = mg.tensor(np.ones((2, 5)))
    np.testing.assert_allclose(lin(x).data, x.data @ (w * mask).T + lin.bias.data)
    assert prune.is_pruned(lin) and prune.is_pruned(nn.Sequential(lin))


def test_training_keeps_pruned_weights_at_zero():
    lin = layer()
    prune.l1_unstructured(lin, "weight", amount=8)                # an int: a count
    opt = mg.optim.SGD(lin.parameters(), lr=0.1)
    for _ in range(3):
        loss = (lin(mg.tensor(np.ones((3, 5)))) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        np.testing.assert_array_equal(lin.weight_orig.grad.data[lin.weight_mask.data == 0], 0)
        opt.step()
    lin(mg.tensor(np.ones((1, 5))))                               # the hook refreshes weight
    assert (lin.weight.data == 0).sum() == 8


def test_pruning_again_counts_the_remaining_entries():
    lin = layer()
    prune.l1_unstructured(lin, "weight", amount=0.5)              # 10 of 20
    prune.l1_unstructured(lin, "weight", amount=0.5)              # 5 of the 10 left
    assert lin.weight_mask.data.sum() == 5
    prune.random_unstructured(lin, "weight", amount=2)
    assert lin.weight_mask.data.sum() == 3


def test_global_unstructured_ranks_across_tensors():
    a, b = layer(0), layer(1)
    b.weight.data *= 10                                           # b's weights are all larger
    prune.global_unstructured([(a, "weight"), (b, "weight")],
                              pruning_method=prune.L1Unstructured, amount=0.5)
    assert a.weight_mask.data.sum() + b.weight_mask.data.sum() == 20
    assert b.weight_mask.data.sum() > a.weight_mask.data.sum()


def test_remove_makes_it_permanent():
    lin = layer()
    prune.l1_unstructured(lin, "weight", amount=0.5)
    prune.remove(lin, "weight")
    assert sorted(n for n, _ in lin.named_parameters()) == ["bias", "weight"]
    assert set(lin.state_dict()) == {"weight", "bias"}
    assert (lin.weight.data == 0).sum() == 10 and not prune.is_pruned(lin)
    assert isinstance(lin.weight, nn.Parameter)


@pytest.mark.parametrize("call, error, words", [
    (lambda m: prune.l1_unstructured(m, "weight", amount=1.5), ValueError, "in \\[0, 1\\]"),
    (lambda m: prune.l1_unstructured(m, "weight", amount=-1), ValueError, "non-negative"),
    (lambda m: prune.l1_unstructured(m, "weight", amount=21), ValueError, "smaller than"),
    (lambda m: prune.l1_unstructured(m, "weight", amount="half"), TypeError, "amount"),
    (lambda m: prune.l1_unstructured(m, "kernel", amount=0.5), AttributeError, "kernel"),
    (lambda m: prune.remove(m, "weight"), ValueError, "has to be pruned"),
    (lambda m: prune.l1_unstructured(m, "weight", 0.5, importance_scores=np.ones(3)),
     ValueError, "importance_scores"),
    (lambda m: prune.global_unstructured([(m, "weight")], pruning_method=len, amount=0.5),
     TypeError, "pruning_method"),
])
def test_errors(call, error, words):
    with pytest.raises(error, match=words):
        call(layer())


@needs_torch
def test_same_masks_as_pytorch():
    import torch
    import torch.nn.utils.prune as tprune
    ours = [layer(0), layer(1, (3, 4))]
    theirs = [torch.nn.Linear(5, 4).double(), torch.nn.Linear(4, 3).double()]
    for o, t in zip(ours, theirs):
        t.weight.data = torch.tensor(o.weight.data)
    tprune.l1_unstructured(theirs[0], "weight", amount=0.3)
    prune.l1_unstructured(ours[0], "weight", amount=0.3)
    tprune.global_unstructured([(t, "weight") for t in theirs],
                               pruning_method=tprune.L1Unstructured, amount=0.4)
    prune.global_unstructured([(o, "weight") for o in ours],
                              pruning_method=prune.L1Unstructured, amount=0.4)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.weight_mask.data, t.weight_mask.numpy())
        assert set(o.state_dict()) == set(t.state_dict())
