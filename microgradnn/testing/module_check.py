"""``gradcheck_module``: check a whole module's gradients, inputs, parameters and buffers.

The check works on a float64 deep copy, so the module you pass is never changed (not its
values, its ``.grad`` nor its train/eval mode), in training and in evaluation mode.
Dropout is made deterministic by reseeding the library's generator before every
evaluation, so each finite difference sees the same mask as the backward pass.
"""
from __future__ import annotations

import copy
from typing import Sequence

import numpy as np

from .. import creation
from ..tensor import Tensor, _make
from .gradcheck import gradcheck


def _flatten(out) -> list[Tensor]:
    """The tensors in a module's output, nested tuples (an LSTM's) included."""
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flatten(o)]
    return []


def _snapshot(module) -> list:
    state = [(name, t.data.copy(), None if t.grad is None else t.grad.data.copy(), t.dtype)
             for name, t in list(module.named_parameters()) + list(module.named_buffers())]
    return [state, [m.training for m in module.modules()]]


def _same(a, b) -> bool:
    (sa, ma), (sb, mb) = a, b
    if ma != mb or len(sa) != len(sb):
        return False
    for (na, da, ga, ta), (nb, db, gb, tb) in zip(sa, sb):
        if na != nb or ta != tb or not np.array_equal(da, db, equal_nan=True):
            return False
        if (ga is None) != (gb is None) or (ga is not None and not np.array_equal(ga, gb)):
            return False
    return True


def _to_float64(module) -> None:
    for t in list(module.parameters()) + list(module.buffers()):
        if t.dtype.kind == "f":
            t.data = t.data.astype(np.float64)
        t.grad = None


def gradcheck_module(module, *inputs, modes: Sequence[str] = ("train", "eval"),
                     fast_mode: bool = False, eps: float = 1e-6, atol: float = 1e-5,
                     rtol: float = 1e-3, n_directions: int = 3, seed: int = 0) -> bool:
    """Check the gradients of ``module(*inputs)`` with respect to the floating-point
    inputs and every parameter and buffer that requires grad, in each of ``modes``.

    Works on a float64 deep copy: ``module`` and ``inputs`` are left exactly as they were
    (this is verified, and a change raises ``RuntimeError``). Integer inputs (class
    indices, token ids) are passed through unchecked. Failures raise
    :class:`GradcheckError` naming the mode and the parameter (``"0.weight"``).
    ``fast_mode`` as in :func:`gradcheck`: use it for large modules.

    >>> import microgradnn as mg
    >>> from microgradnn import nn
    >>> from microgradnn.testing import gradcheck_module
    >>> model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Dropout(0.5), nn.Linear(4, 2))
    >>> gradcheck_module(model, mg.randn(2, 3))
    True
    """
    for mode in modes:
        if mode not in ("train", "eval"):
            raise ValueError(f"gradcheck_module: modes must be 'train' or 'eval', got {mode!r}")
    if not inputs:
        raise ValueError("gradcheck_module: give the module's inputs, e.g. "
                         "gradcheck_module(model, x)")
    before = _snapshot(module)
    before_inputs = [t.data.copy() if isinstance(t, Tensor) else None for t in inputs]
    work = copy.deepcopy(module)
    _to_float64(work)
    xs, x_names = [], []
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.dtype.kind == "f":
            xs.append(_make(np.array(t.data, dtype=np.float64), True, None))
            x_names.append(f"module input {i}")
        else:
            xs.append(t)
    checked = [(f"module input {i}", x) for i, x in enumerate(xs)
               if isinstance(x, Tensor) and x.requires_grad]
    checked += [(name, t) for name, t in list(work.named_parameters()) + list(work.named_buffers())
                if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck_module: no floating-point input and no parameter or buffer "
                         "requires grad; there is nothing to check")
    tensors = [t for _, t in checked]
    position = {id(t): k for k, t in enumerate(tensors)}

    def run(*args):
        # args are the checked tensors themselves (gradcheck perturbs them in place);
        # the same seed before every evaluation: the same dropout mask each time
        creation.manual_seed(seed)
        call = [args[position[id(x)]] if isinstance(x, Tensor) and id(x) in position else x
                for x in xs]
        return tuple(_flatten(work(*call)))

    saved_rng = creation._rng  # the user's generator comes back untouched
    for mode in modes:
        work.train(mode == "train")
        try:
            gradcheck(run, tensors, eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode,
                      n_directions=n_directions, seed=seed,
                      names=[f"{name} ({mode} mode)" for name, _ in checked])
        finally:
            creation._rng = saved_rng
            for t in tensors:
                t.grad = None
    if not _same(before, _snapshot(module)) or any(
            b is not None and not np.array_equal(b, t.data, equal_nan=True)
            for b, t in zip(before_inputs, inputs)):
        raise RuntimeError("gradcheck_module: the module or its inputs changed during the "
                           "check (it should only ever touch its own copy)")
    return True
