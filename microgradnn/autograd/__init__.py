"""Reverse-mode automatic differentiation: ``backward``, ``grad``, ``Function``, grad modes,
anomaly mode."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .anomaly import (detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled,
                      set_detect_anomaly)
from .function import Function, once_differentiable
from . import engine


def backward(tensor, gradient=None, retain_graph: bool = False,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate d(tensor)/d(leaf) into every leaf's ``.grad`` (see ``Tensor.backward``).

    ``inputs`` (a tensor or a sequence of them) limits this to those tensors: only their
    ``.grad`` changes (non-leaf ones included) and only the nodes on paths to them run.

    >>> import microgradnn as mg
    >>> a, b = mg.tensor(2.0, requires_grad=True), mg.tensor(3.0, requires_grad=True)
    >>> (a * b).backward(inputs=[a])
    >>> a.grad, b.grad
    (tensor(3.), None)
    """
    if not tensor._requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no grad_fn; "
                           "create the inputs with requires_grad=True")
    if inputs is not None:
        inputs = _as_list(inputs)
        if not inputs:
            raise RuntimeError("backward: inputs= cannot be empty (pass None to accumulate "
                               "into every leaf)")
        for t in inputs:
            if not isinstance(t, Tensor):
                raise TypeError(f"backward: inputs= must hold Tensors, got "
                                f"{type(t).__name__}")
            if not t._requires_grad:
                raise RuntimeError(f"backward: an input (shape {t.shape}) does not require "
                                   "grad, so no gradient can be accumulated into it")
    seed = _seed("backward", tensor, gradient, create_graph)
    engine.run_backward([tensor], [seed], retain_graph=retain_graph or create_graph,
                        create_graph=create_graph, inputs=inputs, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, returned (``.grad`` is untouched).

    ``outputs`` and ``inputs`` are tensors or sequences of tensors; ``grad_outputs`` gives the
    seed for each output (needed for outputs with more than one element). With
    ``create_graph=True`` the result can be differentiated again.

    >>> import microgradnn as mg
    >>> x = mg.tensor(3.0, requires_grad=True)
    >>> (dy,) = mg.autograd.grad(x ** 3, x, create_graph=True)
    >>> dy, mg.autograd.grad(dy, x)[0]
    (tensor(27., grad_fn=<Mul>), tensor(18.))
    """
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    else:
        grad_outputs = _as_list(grad_outputs)
        if len(grad_outputs) != len(outputs):
            raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs must be Tensors, got {type(t).__name__}")
        if not t._requires_grad:
            raise RuntimeError(f"grad: an input (shape {t.shape}) does not require grad")
    roots, seeds = [], []
    for out, g in zip(outputs, grad_outputs):
        if not out._requires_grad:
            raise RuntimeError(f"grad: an output (shape {out.shape}) does not require grad "
                               "(it does not depend on any input that does)")
        roots.append(out)
        seeds.append(_seed("grad", out, g, create_graph))
    if retain_graph is None:
        retain_graph = create_graph
    return engine.run_backward(roots, seeds, retain_graph=retain_graph,
                               create_graph=create_graph, inputs=inputs,
                               allow_unused=allow_unused)


def _as_list(x) -> list:
    if isinstance(x, (Tensor, np.ndarray)):
        return [x]
    return list(x)


def _seed(op: str, out, gradient, create_graph: bool):
    """The starting gradient for ``out``: ones for one-element outputs, else ``gradient``."""
    if gradient is None:
        if out.data.size != 1:
            raise RuntimeError(f"{op}: the gradient can only be implied for a tensor with one "
                               f"element; this one has shape {out.shape}, so pass "
                               "gradient= (a tensor of that shape)")
        seed = np.ones(out.shape, dtype=out.dtype)
    else:
        g = gradient.data if isinstance(gradient, Tensor) else np.asarray(gradient)
        if g.shape != out.shape:
            raise ValueError(f"{op}: gradient has shape {g.shape} but the output has shape "
                             f"{out.shape}")
        if create_graph and isinstance(gradient, Tensor):
            return gradient if g.dtype == out.dtype else gradient.astype(out.dtype)
        # Our own copy: the engine may hand this array straight to a leaf's .grad.
        seed = np.array(g, dtype=out.dtype, copy=True)
    return _make(seed, False, None) if create_graph else seed


from ..tensor import Tensor, _make  # noqa: E402
from . import functional  # noqa: E402  (torch.autograd.functional's jacobian, hessian, ...)

__all__ = ["Function", "once_differentiable", "backward", "grad", "no_grad", "enable_grad",
           "set_grad_enabled", "is_grad_enabled", "functional", "detect_anomaly",
           "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled"]
