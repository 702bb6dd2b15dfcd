"""Gradient clipping: ``clip_grad_norm_``, ``clip_grad_value_`` (PyTorch's rules).

Both act in place on ``p.grad`` of the given parameters, between ``backward()`` and
``optimizer.step()``; parameters without a gradient are skipped.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from .._validate import check_real
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def _grads(name: str, parameters: Tensor | Iterable[Tensor]) -> list[np.ndarray]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = []
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: expected Tensors, parameter {i} is {type(p).__name__}")
        if p.grad is not None:
            grads.append(p.grad)
    return grads


def _vector_norm(x: np.ndarray, p: float) -> float:
    """The ``p``-norm of ``x`` flattened, in float64 (0 for an empty array)."""
    x = np.abs(x.reshape(-1), dtype=np.float64)
    if x.size == 0:
        return 0.0
    if p == math.inf:
        return float(x.max())
    if p == -math.inf:
        return float(x.min())
    if p == 0:
        return float(np.count_nonzero(x))
    if p == 1:
        return float(x.sum())
    if p == 2:
        return float(math.sqrt(x.dot(x)))
    return float(np.sum(x ** p) ** (1.0 / p))


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` together, as if concatenated into one
    vector (``inf``: the largest absolute entry). Returns a 0-d Tensor.

    >>> import microgradnn as mg
    >>> get_total_norm([mg.tensor([3.0]), mg.tensor([[4.0]])])
    tensor(5.)
    """
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = [t for t in tensors if t is not None]
    norm_type = float(norm_type)
    if not tensors:
        return Tensor(np.zeros((), dtype=np.float32))
    dtype = np.result_type(*[t.data.dtype for t in tensors])
    # The norm of the per-tensor norms, as PyTorch computes it: for p > 0 that is the norm
    # of everything concatenated; for p = 0 it counts the tensors with a nonzero gradient.
    with np.errstate(over="ignore", invalid="ignore"):  # huge or inf entries: inf norm
        norms = np.array([_vector_norm(t.data, norm_type) for t in tensors])
        total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {total}, so they cannot be clipped; pass "
                           "error_if_nonfinite=False to scale them by it anyway")
    return Tensor(np.asarray(total, dtype=dtype))


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                          total_norm: Tensor | float) -> None:
    """Scale the gradients by ``min(1, max_norm / (total_norm + 1e-6))`` in place, given
    a total norm computed earlier (e.g. by :func:`get_total_norm`).

    >>> import microgradnn as mg
    >>> w = mg.nn.Parameter(mg.zeros(2))
    >>> w.grad = mg.tensor([3.0, 4.0])
    >>> clip_grads_with_norm_([w], 2.0, get_total_norm([w.grad]))
    >>> w.grad
    tensor([1.2, 1.6])
    """
    _scale(_grads("clip_grads_with_norm_", parameters), max_norm, total_norm)


def _scale(grads: list[Tensor], max_norm: float, total_norm: Tensor | float) -> None:
    total = total_norm.data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    # in the norm's dtype, as PyTorch computes the factor
    coef = np.minimum(float(max_norm) / (total + 1e-6), 1.0)
    # multiplying by 1.0 when no clipping is needed keeps one path; a non-finite norm
    # gives NaN gradients, as in PyTorch (inf * 0 is expected there, not worth a warning)
    with np.errstate(invalid="ignore"):
        for g in grads:
            np.multiply(g.data, coef.astype(g.data.dtype), out=g.data)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together so that their total ``norm_type``-norm is at most
    ``max_norm``; returns the total norm before clipping (a 0-d Tensor).

    The gradients are multiplied by ``min(1, max_norm / (total_norm + 1e-6))``, the same
    factor for all, so the direction of the full gradient is kept. ``norm_type`` may be
    ``float('inf')`` (largest absolute entry). With ``error_if_nonfinite=True`` a NaN
    or infinite total norm raises RuntimeError instead of scaling.

    >>> import microgradnn as mg
    >>> w = mg.nn.Parameter(mg.zeros(2))
    >>> w.grad = mg.tensor([3.0, 4.0])
    >>> clip_grad_norm_([w], max_norm=1.0)
    tensor(5.)
    >>> w.grad
    tensor([0.6, 0.8])
    """
    check_real("clip_grad_norm_", "max_norm", max_norm, min=0.0, allow_nan=False)
    check_real("clip_grad_norm_", "norm_type", norm_type, allow_nan=False)
    grads = _grads("clip_grad_norm_", parameters)
    if not grads:
        return Tensor(np.zeros((), dtype=np.float32))
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    _scale(grads, max_norm, total)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient entry to ``[-clip_value, clip_value]`` in place.

    >>> import microgradnn as mg
    >>> w = mg.nn.Parameter(mg.zeros(3))
    >>> w.grad = mg.tensor([-5.0, 0.5, 2.0])
    >>> clip_grad_value_([w], 1.0)
    >>> w.grad
    tensor([-1. ,  0.5,  1. ])
    """
    clip_value = float(clip_value)
    for g in _grads("clip_grad_value_", parameters):
        np.clip(g.data, -clip_value, clip_value, out=g.data)



from . import prune  # noqa: E402,F401  nn.utils.prune, as torch.nn.utils.prune
