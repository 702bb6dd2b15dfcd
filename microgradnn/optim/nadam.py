"""NAdam: Adam with Nesterov momentum and a momentum warm-up (PyTorch's rule)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), as in PyTorch.

    Per step ``t``, with gradient :math:`g` (negated if ``maximize``)::

        g = g + weight_decay * p    (or p = p * (1 - lr * weight_decay) if decoupled)
        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        P = P * mu_t                                        state 'mu_product' (float32)
        m = beta1 * m + (1 - beta1) * g                     state 'exp_avg'
        v = beta2 * v + (1 - beta2) * g * g                 state 'exp_avg_sq'
        s = sqrt(v / (1 - beta2 ** t)) + eps
        p = p - lr * (1 - mu_t) / (1 - P) * g / s - lr * mu_{t+1} / (1 - P * mu_{t+1}) * m / s

    ``mu_product`` is kept as a float32 scalar, as PyTorch keeps it, so trajectories agree.

    >>> import microgradnn as mg
    >>> w = mg.nn.Parameter(mg.tensor([1.0, -2.0]))
    >>> opt = NAdam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    Parameter containing:
    tensor([ 0.9, -1.9], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_hparams(self, o: dict[str, Any]) -> None:
        for key, what in (("lr", "learning rate"), ("eps", "epsilon value"),
                          ("weight_decay", "weight_decay value"),
                          ("momentum_decay", "momentum_decay value")):
            if not o[key] >= 0:
                raise self._invalid(what, o[key], f"{key} >= 0")
        betas = o["betas"]
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise self._invalid("betas", betas, "a pair (beta1, beta2)")
        for i, b in enumerate(betas):
            if not 0 <= b < 1:
                raise self._invalid(f"betas[{i}]", b, "0 <= beta < 1")

    def _check_state(self, where: str, p: Tensor, key: str, value: Any) -> list[str]:
        if key == "mu_product":  # one number per parameter, like 'step'
            if isinstance(value, (Tensor, np.ndarray)) and np.size(np.asarray(value)) != 1:
                return [f"{where}['mu_product'] has shape {np.shape(value)}, expected one number"]
            return []
        return super()._check_state(where, p, key, value)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            psi, maximize = group["momentum_decay"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                x, g = p.data, p.grad.data
                state = self.state[p]
                t = self._next_step(state)
                if "mu_product" not in state:
                    state["mu_product"] = Tensor(np.ones((), dtype=np.float32))
                mu_product = state["mu_product"].data
                m = self._state_tensor(state, "exp_avg", x)
                v = self._state_tensor(state, "exp_avg_sq", x)
                if maximize:
                    g = -g
                if weight_decay != 0:
                    if group["decoupled_weight_decay"]:
                        x *= 1 - lr * weight_decay
                    else:
                        g = g + weight_decay * x
                mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
                mu_product *= mu  # rounded to float32 here, as in PyTorch
                prod = float(mu_product)
                m += (1 - beta1) * (g - m)
                v *= beta2
                v += (1 - beta2) * g * g
                denom = np.sqrt(v / (1 - beta2 ** t))
                denom += eps
                x += (-lr * (1.0 - mu) / (1.0 - prod)) * g / denom
                x += (-lr * mu_next / (1.0 - prod * mu_next)) * m / denom
        return loss
