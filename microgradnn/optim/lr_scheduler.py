"""Learning-rate schedules: change ``group['lr']`` of an optimizer once per epoch.

Call ``scheduler.step()`` after ``optimizer.step()``, once per epoch. The rules are
PyTorch's chainable (recursive) forms, so the learning rates match PyTorch's to the
last bit of float rounding, also when you change ``lr`` by hand between steps.
"""
from __future__ import annotations

import math
from typing import Any

from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau"]


def _check_optimizer(name: str, optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")


_TORCH_PRIVATE = {"_get_lr_called_within_step", "_is_initial"}


class LRScheduler:
    """Base class: subclasses write ``get_lr()``, the learning rates for epoch
    ``last_epoch`` computed from the current ones (``group['lr']``) and ``base_lrs``.

    Constructing a scheduler records ``group['initial_lr']`` and takes the step to epoch
    0. ``last_epoch`` (default -1: a fresh start) lets you resume a schedule, which
    requires ``'initial_lr'`` in every parameter group.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        _check_optimizer(name, optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{name}: parameter group {i} has no 'initial_lr'; it is "
                                   "needed to resume a schedule at last_epoch="
                                   f"{last_epoch} (set it, or start with last_epoch=-1)")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()

    def get_lr(self) -> list[float]:
        """Learning rates for the epoch ``last_epoch`` (one per parameter group)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_lr()")

    def step(self) -> None:
        """Advance one epoch and write the new learning rates into the optimizer."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last ``step()`` (one per parameter group)."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (save that separately)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a dict, got "
                            f"{type(state_dict).__name__}")
        # PyTorch's own bookkeeping, which a state dict saved from PyTorch carries along
        state_dict = {k: v for k, v in state_dict.items() if k not in _TORCH_PRIVATE}
        unknown = sorted(set(map(str, state_dict)) - set(self.state_dict()))
        if unknown:
            raise ValueError(f"{type(self).__name__}.load_state_dict: unexpected keys "
                             f"{unknown}; was this saved from a {type(self).__name__}?")
        self.__dict__.update(state_dict)

    def _lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs:
    ``lr = initial_lr * gamma ** (epoch // step_size)``.

    >>> import microgradnn as mg
    >>> from microgradnn.optim import SGD
    >>> opt = SGD([mg.nn.Parameter(mg.zeros(1))], lr=1.0)
    >>> sched = StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for epoch in range(6):
    ...     lrs.append(sched.get_last_lr()[0])
    ...     opt.step(); sched.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        if not (isinstance(step_size, int) and not isinstance(step_size, bool)
                and step_size >= 1):
            raise ValueError(f"StepLR: invalid step_size {step_size!r} (expected an "
                             "integer >= 1)")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch: ``lr = initial_lr * gamma**epoch``.

    >>> import microgradnn as mg
    >>> from microgradnn.optim import SGD
    >>> opt = SGD([mg.nn.Parameter(mg.zeros(1))], lr=1.0)
    >>> sched = ExponentialLR(opt, gamma=0.5)
    >>> opt.step(); sched.step(); opt.step(); sched.step()
    >>> sched.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from ``initial_lr`` down to ``eta_min`` over ``T_max`` epochs
    (then back up, periodically):
    ``lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``.

    Computed with PyTorch's recursive form (each value from the previous one), so the
    values match PyTorch's.

    >>> import microgradnn as mg
    >>> from microgradnn.optim import SGD
    >>> opt = SGD([mg.nn.Parameter(mg.zeros(1))], lr=1.0)
    >>> sched = CosineAnnealingLR(opt, T_max=4)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(round(sched.get_last_lr()[0], 4))
    ...     opt.step(); sched.step()
    >>> lrs
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if not T_max > 0:
            raise ValueError(f"CosineAnnealingLR: invalid T_max {T_max!r} (expected > 0)")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        e, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if e == 0:
            return self._lrs()
        if self._step_count == 1 and e > 0:  # resumed at last_epoch > 0: closed form
            return [eta_min + (base - eta_min) * (1 + math.cos(e * math.pi / T)) / 2
                    for base in self.base_lrs]
        if (e - 1 - T) % (2 * T) == 0:  # at a minimum: the ratio below would be 0 / 0
            return [lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for lr, base in zip(self._lrs(), self.base_lrs)]
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return [ratio * (lr - eta_min) + eta_min for lr in self._lrs()]


class ReduceLROnPlateau(LRScheduler):
    """Divide the learning rate (multiply by ``factor``) when a metric stops improving.

    Call ``step(metric)`` once per epoch with, e.g., the validation loss. After more than
    ``patience`` epochs without improvement (better than the best by ``threshold``,
    relative or absolute per ``threshold_mode``; ``mode='max'`` for metrics that should
    grow) each group's lr becomes ``max(lr * factor, min_lr)`` (changes smaller than
    ``eps`` are skipped), then ``cooldown`` epochs pass before counting again.

    >>> import microgradnn as mg
    >>> from microgradnn.optim import SGD
    >>> opt = SGD([mg.nn.Parameter(mg.zeros(1))], lr=1.0)
    >>> sched = ReduceLROnPlateau(opt, patience=1, factor=0.5)
    >>> for val_loss in [3.0, 2.0, 2.0, 2.0, 2.0, 2.0]:
    ...     sched.step(val_loss)
    >>> sched.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | list[float] = 0,
                 eps: float = 1e-8) -> None:
        name = "ReduceLROnPlateau"
        _check_optimizer(name, optimizer)
        if not factor < 1.0:
            raise ValueError(f"{name}: invalid factor {factor!r} (expected < 1.0)")
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: invalid mode {mode!r} (expected 'min' or 'max')")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: invalid threshold_mode {threshold_mode!r} "
                             "(expected 'rel' or 'abs')")
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"{name}: got {len(min_lr)} min_lr values for {n} "
                                 "parameter groups")
            self.min_lrs = list(min_lr)
        else:
            self.min_lrs = [min_lr] * n
        self.optimizer = optimizer
        self.factor = factor
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.best = self.mode_worse
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = self._lrs()

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether metric value ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return a < best * (1 - self.threshold)
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1)
        return a > best + self.threshold

    def step(self, metrics: Any) -> None:  # type: ignore[override]
        """Record this epoch's metric (a number or a one-element tensor)."""
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, min_lr)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._lrs()
