"""Adam and AdamW: momentum plus a per-coordinate step size (PyTorch's rules)."""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .optimizer import Optimizer, ParamsT

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), as in PyTorch.

    Per step ``t`` (1, 2, ...), with gradient :math:`g` (negated if ``maximize``)::

        p = p * (1 - lr * weight_decay)     if decoupled_weight_decay (AdamW)
        g = g + weight_decay * p            otherwise (L2 penalty in the gradient)
        m = beta1 * m + (1 - beta1) * g                    state 'exp_avg'
        v = beta2 * v + (1 - beta2) * g * g                state 'exp_avg_sq'
        vmax = max(vmax, v); use vmax for v   if amsgrad   state 'max_exp_avg_sq'
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    >>> import microgradnn as mg
    >>> w = mg.nn.Parameter(mg.tensor([1.0, -2.0]))
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()          # the first Adam step moves each coordinate by about lr
    >>> w
    Parameter containing:
    tensor([ 0.9, -1.9], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_hparams(self, o: dict[str, Any]) -> None:
        if not o["lr"] >= 0:
            raise self._invalid("learning rate", o["lr"], "lr >= 0")
        if not o["eps"] >= 0:
            raise self._invalid("epsilon value", o["eps"], "eps >= 0")
        betas = o["betas"]
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise self._invalid("betas", betas, "a pair (beta1, beta2)")
        for i, b in enumerate(betas):
            if not 0 <= b < 1:
                raise self._invalid(f"betas[{i}]", b, "0 <= beta < 1")
        if not o["weight_decay"] >= 0:
            raise self._invalid("weight_decay value", o["weight_decay"], "weight_decay >= 0")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            amsgrad, maximize = group["amsgrad"], group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                x, g = p.data, p.grad.data
                state = self.state[p]
                t = self._next_step(state)
                m = self._state_tensor(state, "exp_avg", x)
                v = self._state_tensor(state, "exp_avg_sq", x)
                vmax = self._state_tensor(state, "max_exp_avg_sq", x) if amsgrad else None
                if maximize:
                    g = -g
                if weight_decay != 0:
                    if decoupled:
                        x *= 1 - lr * weight_decay
                    else:
                        g = g + weight_decay * x
                tmp = np.empty_like(x)
                # m += (1 - beta1) * (g - m): the same as beta1 * m + (1 - beta1) * g
                np.subtract(g, m, out=tmp)
                tmp *= 1 - beta1
                m += tmp
                np.multiply(g, 1 - beta2, out=tmp)
                tmp *= g
                v *= beta2
                v += tmp
                if amsgrad:
                    np.maximum(vmax, v, out=vmax)
                    v = vmax
                step_size = lr / (1 - beta1 ** t)
                # One scratch array for the whole update keeps the step's peak memory at
                # one parameter-sized temporary: tmp becomes the denominator, then the step.
                np.sqrt(v, out=tmp)
                tmp /= math.sqrt(1 - beta2 ** t)
                tmp += eps
                np.divide(m, tmp, out=tmp)
                tmp *= -step_size
                x += tmp
        return loss


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter), as in PyTorch: each step
    first shrinks the parameters, ``p = p * (1 - lr * weight_decay)``, then takes the
    Adam step without any penalty in the gradient.

    >>> import microgradnn as mg
    >>> w = mg.nn.Parameter(mg.tensor([1.0, -2.0]))
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()          # shrink by 1 - 0.05, then the Adam step of about lr
    >>> w
    Parameter containing:
    tensor([ 0.85, -1.8 ], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)
