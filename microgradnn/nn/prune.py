"""Magnitude pruning with PyTorch's ``torch.nn.utils.prune`` names and meaning.

Pruning ``module.weight`` moves the original to a parameter ``weight_orig``, adds a buffer
``weight_mask`` (1 keeps, 0 prunes; the parameter's dtype) and makes ``weight`` a plain
attribute, recomputed as ``weight_orig * weight_mask`` before every forward (a forward
pre-hook). So training goes on with the pruned entries held at zero (their gradient is
zero), and ``state_dict`` holds ``weight_orig`` and ``weight_mask`` as in PyTorch.
Pruning the same tensor again prunes among the entries still kept: ``amount`` counts
what remains. ``remove`` makes it permanent: ``weight`` becomes a parameter again with
the zeros in it.

>>> import microgradnn as mg
>>> from microgradnn.nn.utils import prune
>>> layer = mg.nn.Linear(4, 3)
>>> _ = prune.l1_unstructured(layer, "weight", amount=0.5)
>>> sorted(name for name, _ in layer.named_parameters()), int(layer.weight_mask.data.sum())
(['bias', 'weight_orig'], 6)
>>> _ = prune.remove(layer, "weight")
>>> float((layer.weight.data == 0).mean())
0.5
"""
from __future__ import annotations

import numbers
from typing import Iterable

import numpy as np

from .. import creation
from ..autograd import no_grad
from ..tensor import Tensor, tensor
from .module import Module, Parameter

__all__ = ["BasePruningMethod", "L1Unstructured", "RandomUnstructured", "l1_unstructured",
           "random_unstructured", "global_unstructured", "custom_from_mask", "remove",
           "is_pruned"]


def _check_amount(amount) -> None:
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"prune: amount must be an int (a count) or a float (a fraction), "
                        f"got {amount!r}")
    if isinstance(amount, numbers.Integral):
        if amount < 0:
            raise ValueError(f"prune: amount={amount} must be a non-negative int")
    elif not 0.0 <= amount <= 1.0:
        raise ValueError(f"prune: amount={amount} must be a float in [0, 1]")


def _count(amount, size: int) -> int:
    """How many of ``size`` entries to prune (PyTorch: round(amount · size) for a
    fraction)."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"prune: amount={amount} should be smaller than the number of "
                             f"parameters to prune={size}")
        return int(amount)
    return int(round(amount * size))


class BasePruningMethod:
    """A rule that turns importance scores into a mask; ``apply`` attaches it to a module."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount) -> None:
        _check_amount(amount)
        self.amount = amount

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        """The new mask: ``default_mask`` with ``amount`` more of its kept entries zeroed
        (``amount`` counts the kept entries only)."""
        mask = default_mask.copy()
        kept = np.flatnonzero(default_mask.reshape(-1))
        k = _count(self.amount, kept.size)
        if k:
            drop = kept[self._choose(t.reshape(-1)[kept], k)]
            mask.reshape(-1)[drop] = 0
        return mask

    def _choose(self, scores: np.ndarray, k: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def apply(cls, module: Module, name: str, amount, importance_scores=None):
        method = cls(amount)
        orig = _original(module, name)
        scores = orig.data if importance_scores is None else _scores(importance_scores, orig)
        mask = method.compute_mask(scores, _current_mask(module, name, orig))
        _attach(module, name, mask)
        return method


class L1Unstructured(BasePruningMethod):
    """Prune the entries of smallest absolute value (ties: the first in memory order)."""

    def _choose(self, scores, k):
        return np.argsort(np.abs(scores), kind="stable")[:k]


class RandomUnstructured(BasePruningMethod):
    """Prune entries chosen at random (the library's generator, ``mg.manual_seed``)."""

    def _choose(self, scores, k):
        return creation.generator().permutation(scores.size)[:k]


class _PruningHook:
    """Before each forward: ``module.<name> = <name>_orig * <name>_mask``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, masked(module, self.name))


def masked(module: Module, name: str) -> Tensor:
    return getattr(module, name + "_orig") * getattr(module, name + "_mask")


def _hook(module: Module, name: str):
    for key, hook in module.__dict__.get("_forward_pre_hooks", {}).items():
        if isinstance(hook, _PruningHook) and hook.name == name:
            return key
    return None


def _original(module: Module, name: str) -> Tensor:
    if not isinstance(module, Module):
        raise TypeError(f"prune: expected a Module, got {type(module).__name__}")
    if _hook(module, name) is not None:
        return getattr(module, name + "_orig")
    param = module._parameters.get(name)
    if param is None:
        raise AttributeError(f"prune: {type(module).__name__} has no parameter {name!r} to "
                             f"prune (parameters: {sorted(module._parameters)})")
    return param


def _current_mask(module: Module, name: str, orig: Tensor) -> np.ndarray:
    if _hook(module, name) is not None:
        return getattr(module, name + "_mask").data.copy()
    return np.ones(orig.shape, dtype=orig.dtype)


def _scores(importance_scores, orig: Tensor) -> np.ndarray:
    s = importance_scores.data if isinstance(importance_scores, Tensor) \
        else np.asarray(importance_scores)
    if s.shape != orig.shape:
        raise ValueError(f"prune: importance_scores of shape {s.shape} must match the "
                         f"parameter's shape {orig.shape}")
    return s


def _attach(module: Module, name: str, mask: np.ndarray) -> None:
    """Install ``mask`` (first time: move the parameter to ``<name>_orig`` and add the
    hook), then refresh ``module.<name>``."""
    if _hook(module, name) is None:
        orig = module._parameters.pop(name)
        object.__delattr__(module, name)
        module.register_parameter(name + "_orig", orig)
        module.register_buffer(name + "_mask", tensor(mask))
        module.register_forward_pre_hook(_PruningHook(name))
    else:
        buf = getattr(module, name + "_mask")
        np.copyto(buf.data, mask)
        buf._bump_version()
    with no_grad():
        setattr(module, name, masked(module, name))


def l1_unstructured(module: Module, name: str, amount, importance_scores=None) -> Module:
    """Prune ``amount`` (an int: that many; a float: that fraction) of the entries of
    ``module.<name>`` with the smallest absolute value (or importance score). Returns the
    module."""
    L1Unstructured.apply(module, name, amount, importance_scores=importance_scores)
    return module


def random_unstructured(module: Module, name: str, amount) -> Module:
    """Prune ``amount`` of the entries of ``module.<name>`` at random. Returns the module."""
    RandomUnstructured.apply(module, name, amount)
    return module


def custom_from_mask(module: Module, name: str, mask) -> Module:
    """Prune where ``mask`` (same shape) is 0, on top of any earlier pruning."""
    orig = _original(module, name)
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.shape != orig.shape:
        raise ValueError(f"prune.custom_from_mask: mask of shape {m.shape} must match the "
                         f"parameter's shape {orig.shape}")
    _attach(module, name, _current_mask(module, name, orig) * m.astype(orig.dtype))
    return module


def global_unstructured(parameters: Iterable[tuple[Module, str]], pruning_method, *,
                        importance_scores: dict | None = None, **kwargs) -> None:
    """Prune across several tensors at once: ``parameters`` lists (module, name) pairs,
    ``pruning_method`` is a class such as ``L1Unstructured`` and ``kwargs`` its arguments
    (``amount``, counted over all the tensors' kept entries together).

    >>> import microgradnn as mg
    >>> from microgradnn.nn.utils import prune
    >>> net = mg.nn.Sequential(mg.nn.Linear(4, 8), mg.nn.Linear(8, 2))
    >>> prune.global_unstructured([(net[0], "weight"), (net[1], "weight")],
    ...                           pruning_method=prune.L1Unstructured, amount=0.5)
    >>> int(net[0].weight_mask.data.sum() + net[1].weight_mask.data.sum())
    24
    """
    pairs = list(parameters)
    if not pairs:
        raise ValueError("prune.global_unstructured: parameters is empty")
    if not (isinstance(pruning_method, type) and issubclass(pruning_method, BasePruningMethod)):
        raise TypeError(f"prune.global_unstructured: pruning_method must be a pruning class "
                        f"such as prune.L1Unstructured, got {pruning_method!r}")
    importance_scores = importance_scores or {}
    origs = [_original(m, n) for m, n in pairs]
    scores = np.concatenate([
        _scores(importance_scores[(m, n)], o).reshape(-1) if (m, n) in importance_scores
        else o.data.reshape(-1) for (m, n), o in zip(pairs, origs)])
    default = np.concatenate([_current_mask(m, n, o).reshape(-1)
                              for (m, n), o in zip(pairs, origs)])
    mask = pruning_method(**kwargs).compute_mask(scores, default)
    start = 0
    for (m, n), o in zip(pairs, origs):
        part = mask[start:start + o.numel()].reshape(o.shape)
        start += o.numel()
        _attach(m, n, part.astype(o.dtype))


def remove(module: Module, name: str) -> Module:
    """Make the pruning of ``module.<name>`` permanent: ``<name>`` becomes a parameter
    holding ``<name>_orig * <name>_mask``; the mask, the original and the hook go."""
    key = _hook(module, name)
    if key is None:
        raise ValueError(f"prune.remove: parameter {name!r} of {type(module).__name__} has to "
                         "be pruned before pruning can be removed")
    with no_grad():
        value = masked(module, name).data.copy()
    del module._forward_pre_hooks[key]
    delattr(module, name + "_orig")
    delattr(module, name + "_mask")
    object.__delattr__(module, name)
    module.register_parameter(name, Parameter(value))
    return module


def is_pruned(module: Module) -> bool:
    """True if ``module`` or any of its submodules has a pruned tensor."""
    return any(isinstance(h, _PruningHook) for m in module.modules()
               for h in m.__dict__.get("_forward_pre_hooks", {}).values())
