"""Adadelta: steps scaled by the ratio of running RMS of updates and of gradients (PyTorch's rule)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .optimizer import Optimizer, ParamsT

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), as in PyTorch.

    Per step, with gradient :math:`g` (negated if ``maximize``)::

        g = g + weight_decay * p
        v = rho * v + (1 - rho) * g * g                     state 'square_avg'
        d = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * d * d                     state 'acc_delta'
        p = p - lr * d

    >>> import microgradnn as mg
    >>> w = mg.nn.Parameter(mg.tensor([1.0, -2.0]))
    >>> opt = Adadelta([w], lr=1.0)
    >>> (w * w).sum().backward()
    >>> opt.step()          # first step: sqrt(eps) / sqrt(0.1 g^2 + eps) * g, about 0.0032 sign(g)
    >>> w
    Parameter containing:
    tensor([ 0.9968, -1.9968], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_hparams(self, o: dict[str, Any]) -> None:
        for key, what in (("lr", "learning rate"), ("eps", "epsilon value"),
                          ("weight_decay", "weight_decay value")):
            if not o[key] >= 0:
                raise self._invalid(what, o[key], f"{key} >= 0")
        if not 0 <= o["rho"] <= 1:
            raise self._invalid("rho value", o["rho"], "0 <= rho <= 1")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, rho, eps = group["lr"], group["rho"], group["eps"]
            weight_decay, maximize = group["weight_decay"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                x, g = p.data, p.grad.data
                state = self.state[p]
                self._next_step(state)
                v = self._state_tensor(state, "square_avg", x)
                u = self._state_tensor(state, "acc_delta", x)
                if maximize:
                    g = -g
                if weight_decay != 0:
                    g = g + weight_decay * x
                v *= rho
                v += (1 - rho) * g * g
                delta = np.sqrt(u + eps)
                delta /= np.sqrt(v + eps)
                delta *= g
                u *= rho
                u += (1 - rho) * delta * delta
                delta *= -lr
                x += delta
        return loss
