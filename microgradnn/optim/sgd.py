"""Stochastic gradient descent, with momentum and Nesterov momentum (PyTorch's rule)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Gradient descent with optional momentum, as in PyTorch.

    Per step, with gradient :math:`g` (negated if ``maximize``)::

        g = g + weight_decay * p
        b = g                                   (first step)
        b = momentum * b + (1 - dampening) * g  (later steps)
        g = g + momentum * b   if nesterov   else   g = b      (when momentum != 0)
        p = p - lr * g

    ``state[p]['momentum_buffer']`` holds ``b`` (only when ``momentum != 0``).
    Parameters whose ``grad`` is None are skipped.

    >>> import microgradnn as mg
    >>> w = mg.nn.Parameter(mg.tensor([1.0, -2.0]))
    >>> opt = SGD([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    Parameter containing:
    tensor([ 0.8, -1.6], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_hparams(self, o: dict[str, Any]) -> None:
        if not o["lr"] >= 0:
            raise self._invalid("learning rate", o["lr"], "lr >= 0")
        if not o["momentum"] >= 0:
            raise self._invalid("momentum value", o["momentum"], "momentum >= 0")
        if not o["weight_decay"] >= 0:
            raise self._invalid("weight_decay value", o["weight_decay"], "weight_decay >= 0")
        if o["nesterov"] and (o["momentum"] <= 0 or o["dampening"] != 0):
            raise ValueError(f"SGD: nesterov momentum requires momentum > 0 and dampening "
                             f"== 0 (got momentum={o['momentum']}, "
                             f"dampening={o['dampening']})")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov = group["weight_decay"], group["nesterov"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                x, g = p.data, p.grad.data
                if maximize:
                    g = -g
                if weight_decay != 0:
                    g = g + weight_decay * x
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = Tensor(np.array(g, copy=True))
                        b = buf.data
                    else:
                        b = buf.data
                        b *= momentum
                        b += (1 - dampening) * g
                    g = g + momentum * b if nesterov else b
                x -= lr * g
        return loss
