"""RMSprop: divide the step by a running root-mean-square of the gradient (PyTorch's rule)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .optimizer import Optimizer, ParamsT

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), as in PyTorch.

    Per step, with gradient :math:`g` (negated if ``maximize``)::

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g              state 'square_avg'
        a = alpha * a + (1 - alpha) * g    if centered   state 'grad_avg'
        s = sqrt(v - a * a) + eps   if centered   else   sqrt(v) + eps
        b = momentum * b + g / s;  p = p - lr * b    if momentum > 0  ('momentum_buffer')
        p = p - lr * g / s                           otherwise

    >>> import microgradnn as mg
    >>> w = mg.nn.Parameter(mg.tensor([1.0, -2.0]))
    >>> opt = RMSprop([w], lr=0.01)
    >>> (w * w).sum().backward()
    >>> opt.step()          # first step: g / sqrt(0.01 g^2) = 10 sign(g), times lr
    >>> w
    Parameter containing:
    tensor([ 0.9, -1.9], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_hparams(self, o: dict[str, Any]) -> None:
        for key, what in (("lr", "learning rate"), ("eps", "epsilon value"),
                          ("momentum", "momentum value"),
                          ("weight_decay", "weight_decay value"), ("alpha", "alpha value")):
            if not o[key] >= 0:
                raise self._invalid(what, o[key], f"{key} >= 0")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            weight_decay, momentum = group["weight_decay"], group["momentum"]
            centered, maximize = group["centered"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                x, g = p.data, p.grad.data
                state = self.state[p]
                self._next_step(state)
                v = self._state_tensor(state, "square_avg", x)
                buf = self._state_tensor(state, "momentum_buffer", x) if momentum > 0 else None
                a = self._state_tensor(state, "grad_avg", x) if centered else None
                if maximize:
                    g = -g
                if weight_decay != 0:
                    g = g + weight_decay * x
                tmp = np.empty_like(x)  # an array even for 0-d parameters, for out=
                np.multiply(g, 1 - alpha, out=tmp)
                tmp *= g
                v *= alpha
                v += tmp
                if centered:
                    np.subtract(g, a, out=tmp)  # a += (1 - alpha) * (g - a)
                    tmp *= 1 - alpha
                    a += tmp
                    np.multiply(a, a, out=tmp)
                    np.subtract(v, tmp, out=tmp)
                    np.sqrt(tmp, out=tmp)
                else:
                    np.sqrt(v, out=tmp)
                tmp += eps
                if momentum > 0:
                    buf *= momentum
                    np.divide(g, tmp, out=tmp)
                    buf += tmp
                    np.multiply(buf, -lr, out=tmp)
                else:
                    np.divide(np.multiply(g, -lr), tmp, out=tmp)
                x += tmp
        return loss
