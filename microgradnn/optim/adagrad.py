"""Adagrad: per-coordinate steps shrinking with the sum of squared gradients (PyTorch's rule)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer), as in PyTorch.

    Per step ``t`` (1, 2, ...), with gradient :math:`g` (negated if ``maximize``)::

        g = g + weight_decay * p
        s = s + g * g                 state 'sum', starts at initial_accumulator_value
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

    As in PyTorch the state (``step`` 0 and ``sum``) exists from construction on.

    >>> import microgradnn as mg
    >>> w = mg.nn.Parameter(mg.tensor([1.0, -2.0]))
    >>> opt = Adagrad([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()          # first step: g / |g| = sign(g), times lr
    >>> w
    Parameter containing:
    tensor([ 0.9, -1.9], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check_hparams(self, o: dict[str, Any]) -> None:
        for key, what in (("lr", "learning rate"), ("lr_decay", "lr_decay value"),
                          ("weight_decay", "weight_decay value"),
                          ("initial_accumulator_value", "initial_accumulator_value"),
                          ("eps", "epsilon value")):
            if not o[key] >= 0:
                raise self._invalid(what, o[key], f"{key} >= 0")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self._init_state(self.state[p], p, group)

    add_param_group.__doc__ = Optimizer.add_param_group.__doc__

    @staticmethod
    def _init_state(state: dict, p: Tensor, group: dict) -> None:
        if not state:
            state["step"] = Tensor(np.zeros((), dtype=np.float32))
            state["sum"] = Tensor(np.full_like(p.data, group["initial_accumulator_value"]))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
            weight_decay, maximize = group["weight_decay"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                x, g = p.data, p.grad.data
                state = self.state[p]
                self._init_state(state, p, group)  # e.g. after loading a partial state
                t = self._next_step(state)
                s = state["sum"].data
                if maximize:
                    g = -g
                if weight_decay != 0:
                    g = g + weight_decay * x
                clr = lr / (1 + (t - 1) * lr_decay)
                tmp = np.empty_like(x)  # an array even for 0-d parameters, for out=
                np.multiply(g, g, out=tmp)
                s += tmp
                np.sqrt(s, out=tmp)
                tmp += eps
                np.divide(np.multiply(g, -clr), tmp, out=tmp)
                x += tmp
        return loss
