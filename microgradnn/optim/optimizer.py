"""``Optimizer``: parameter groups, per-parameter state and PyTorch-compatible state dicts.

Subclasses write ``step`` as in-place NumPy on ``p.data`` and on the state arrays: an
update is not part of any graph, and allocating new Tensors each step would cost more
than the arithmetic for small layers.
"""
from __future__ import annotations

import functools
import inspect
from collections import defaultdict
from typing import Any, Callable, Iterable

import numpy as np

from ..autograd import enable_grad
from ..tensor import Tensor

__all__ = ["Optimizer"]

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]


class _Required:
    """Marks a hyperparameter every parameter group must give (no default)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


def _describe(x: Any) -> str:
    if isinstance(x, Tensor):
        return f"a {type(x).__name__} of shape {x.shape}"
    return f"{type(x).__name__}"


def _bad_grad(where: str, g: Any, p: Tensor) -> None:
    """Raise the error that says how the gradient ``g`` of parameter ``p`` is wrong."""
    if not isinstance(g, Tensor):
        raise TypeError(f"{where} is {_describe(g)}, expected a Tensor of the parameter's "
                        f"shape {p.shape}")
    if g.shape != p.shape:
        raise ValueError(f"{where} has shape {g.shape}, the parameter has shape {p.shape}")
    raise TypeError(f"{where} has dtype {g.data.dtype}, the parameter has dtype "
                    f"{p.data.dtype} (shape {p.shape})")


class Optimizer:
    """Base class of optimizers: holds ``param_groups`` (a list of dicts, each with a
    ``'params'`` list and its own hyperparameters) and ``state`` (a dict per parameter).

    ``params`` is an iterable of tensors, of ``(name, tensor)`` pairs (for example
    ``model.named_parameters()``), or of dicts that each define a parameter group;
    options missing from a group are taken from ``defaults``.

    >>> import microgradnn as mg
    >>> from microgradnn.optim import SGD
    >>> w, b = mg.nn.Parameter(mg.ones(2)), mg.nn.Parameter(mg.zeros(1))
    >>> opt = SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    >>> [g["lr"] for g in opt.param_groups]
    [0.1, 0.5]
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params should be an iterable of Tensors or dicts, "
                            f"got {_describe(params)}; wrap it in a list")
        if _is_module(params):
            raise TypeError(f"{name}: params is a {type(params).__name__} module; pass "
                            "model.parameters() (or model.named_parameters())")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: params must be an ordered collection (a list), not a "
                            "set: the order of a set changes between runs")
        self._check_options(self.defaults)
        try:
            groups = list(params)
        except TypeError:
            raise TypeError(f"{name}: params should be an iterable of Tensors or dicts, "
                            f"got {_describe(params)}") from None
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def _check_hparams(self, options: dict[str, Any]) -> None:
        """Raise ValueError for invalid hyperparameters (subclasses override)."""

    def _check_options(self, options: dict[str, Any]) -> None:
        """Check the types of numeric options (a number where the default is a number,
        a tuple of numbers where it is one), then the subclass's ranges."""
        name = type(self).__name__
        # The kind of each option comes from the constructor's own default (self.defaults
        # holds the values the user gave).
        for key, default in _signature_defaults(type(self)).items():
            if key not in options or default is required or isinstance(default, bool):
                continue
            value = options[key]
            if isinstance(default, (int, float)):
                if not _is_real(value):
                    raise TypeError(f"{name}: {key} must be a real number, got {value!r} "
                                    f"({type(value).__name__})")
            elif isinstance(default, tuple) and all(_is_real(d) for d in default):
                if not (isinstance(value, (tuple, list)) and len(value) == len(default)
                        and all(_is_real(v) for v in value)):
                    raise TypeError(f"{name}: {key} must be a tuple of {len(default)} real "
                                    f"numbers, got {value!r}")
        self._check_hparams(options)

    def _invalid(self, what: str, value: Any, expected: str) -> ValueError:
        return ValueError(f"{type(self).__name__}: invalid {what} {value!r} (expected {expected})")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. a new layer to fine-tune).

        >>> import microgradnn as mg
        >>> from microgradnn.optim import SGD
        >>> opt = SGD([mg.nn.Parameter(mg.ones(2))], lr=0.1)
        >>> opt.add_param_group({"params": [mg.nn.Parameter(mg.ones(3))], "lr": 0.01})
        >>> len(opt.param_groups), opt.param_groups[1]["momentum"]
        (2, 0)
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got "
                            f"{_describe(param_group)}")
        if "params" not in param_group:
            raise ValueError(f"{name}: parameter group {len(self.param_groups)} has no "
                             "'params' entry")
        gi = len(self.param_groups)
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: the params of group {gi} must be an ordered collection "
                            "(a list), not a set: the order of a set changes between runs")
        else:
            params = list(params)
        if params and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str)
                          for p in params):
            names = [n for n, _ in params]
            params = [p for _, p in params]
            group.pop("param_names", None)
            group = {"param_names": names, **group}
        elif "param_names" in group and len(group["param_names"]) != len(params):
            raise ValueError(f"{name}: group {gi} has {len(group['param_names'])} "
                             f"param_names for {len(params)} parameters")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                hint = "; pass model.parameters()" if _is_module(p) else ""
                raise TypeError(f"{name}: can only optimize Tensors, but parameter {i} of "
                                f"group {gi} is {_describe(p)}{hint}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (parameter {i} "
                                 f"of group {gi}, shape {p.shape}, made by "
                                 f"{type(p.grad_fn).__name__}); optimize the leaf it was "
                                 "computed from, or .detach().requires_grad_() it")
            if p.data.dtype.kind not in "fc":
                raise TypeError(f"{name}: can only optimize floating-point tensors, parameter "
                                f"{i} of group {gi} has dtype {p.data.dtype}")
        seen: dict[int, int] = {}
        for i, p in enumerate(params):
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {i} of group {gi} (shape {p.shape}) is "
                                 f"the same tensor as parameter {seen[id(p)]}; give each "
                                 "parameter once")
            seen[id(p)] = i
        for j, other in enumerate(self.param_groups):
            for q in other["params"]:
                if id(q) in seen:
                    raise ValueError(f"{name}: parameter {seen[id(q)]} of group {gi} (shape "
                                     f"{q.shape}) is already in parameter group {j}")
        group["params"] = params
        for key, default in self.defaults.items():
            if key not in group:
                if default is required:
                    raise ValueError(f"{name}: parameter group {gi} does not give "
                                     f"'{key}', which has no default")
                group[key] = default
        self._check_options(group)
        self.param_groups.append(group)

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of all parameters: ``grad = None`` (default, frees the
        memory, and ``step`` then skips the parameter) or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif g.grad_fn is not None or g.requires_grad:  # recorded (create_graph)
                    p.grad = Tensor(np.zeros_like(g.data))
                else:
                    g.data.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update the parameters once. ``closure`` (optional, required by L-BFGS)
        re-evaluates the model and returns the loss; it runs with grad mode on."""
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    def _evaluate(self, closure: Callable[[], Any] | None) -> Any:
        """Run ``closure`` (if any) with grad mode on, then check every gradient.

        Every ``step`` starts here, so a bad gradient raises before any parameter or
        state changes: a step is all or nothing. The write the step is about to make to
        each parameter with a gradient is counted here too, once for every optimizer, so
        that a backward pass through values saved before the step raises instead of
        using the new parameters (see :mod:`microgradnn.autograd.versions`).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._check_grads()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p._bump_version()
        return loss

    def _check_grads(self) -> None:
        """Each ``p.grad`` must be None or a Tensor of p's shape and dtype (in-place
        updates would otherwise broadcast a wrong shape, or cast, without a word)."""
        name = type(self).__name__
        for gi, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                g = p.grad
                if g is None:
                    continue
                if not (isinstance(g, Tensor) and g.data.shape == p.data.shape
                        and g.data.dtype == p.data.dtype):
                    _bad_grad(f"{name}.step: the gradient of parameter {i} of group {gi}", g, p)
                if p in self.state:
                    self._check_buffers(p, i, gi)

    #: per-parameter state entries that are counters, not buffers shaped like the parameter
    _COUNTERS = ("step", "mu_product")

    def _check_buffers(self, p: Tensor, i: int, gi: int) -> None:
        """A buffer (momentum, running averages) must still have its parameter's dtype:
        after ``model.double()`` an optimizer made before would otherwise keep updating in
        float32 state without a word. PyTorch raises here too."""
        for key, buf in self.state.get(p, {}).items():
            if key in self._COUNTERS or not isinstance(buf, Tensor) or buf.shape != p.shape:
                continue
            if buf.data.dtype != p.data.dtype:
                raise TypeError(
                    f"{type(self).__name__}.step: state '{key}' of parameter {i} of group {gi} "
                    f"has dtype {buf.data.dtype}, the parameter has dtype {p.data.dtype} (was "
                    "the model converted with .to() / .double() after this optimizer was "
                    "made?); make the optimizer after converting the model")

    def _state_tensor(self, state: dict, key: str, like: np.ndarray,
                      fill: float = 0.0) -> np.ndarray:
        """The array behind ``state[key]``, created (filled with ``fill``) on first use."""
        t = state.get(key)
        if t is None:
            t = state[key] = Tensor(np.full_like(like, fill))
        return t.data

    @staticmethod
    def _next_step(state: dict) -> float:
        """Increment ``state['step']`` (a float32 0-d Tensor, as in PyTorch); return it."""
        t = state.get("step")
        if t is None:
            t = state["step"] = Tensor(np.zeros((), dtype=np.float32))
        t.data += 1
        return float(t.data)

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's layout::

            {'state': {0: {'step': tensor(3.), 'exp_avg': tensor(...), ...}, ...},
             'param_groups': [{'lr': 0.001, ..., 'params': [0, 1, ...]}, ...]}

        Parameters are numbered in order across the groups. As in PyTorch the tensors
        share memory with the optimizer's state: save it (``mg.save``) or
        ``copy.deepcopy`` it before stepping again if you want a snapshot.

        >>> import microgradnn as mg
        >>> from microgradnn.optim import SGD
        >>> w = mg.nn.Parameter(mg.ones(2))
        >>> SGD([w], lr=0.1).state_dict()
        {'state': {}, 'param_groups': [{'lr': 0.1, 'momentum': 0, 'dampening': 0, \
'weight_decay': 0, 'nesterov': False, 'maximize': False, 'params': [0]}]}
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def _check_state(self, where: str, p: Tensor, key: str, value: Any) -> list[str]:
        """Problems with one loaded state entry (subclasses with other layouts override)."""
        if key == "step":
            if isinstance(value, (Tensor, np.ndarray)) and np.size(np.asarray(value)) != 1:
                return [f"{where}['step'] has shape {np.shape(value)}, expected one number"]
            return []
        if isinstance(value, (Tensor, np.ndarray)) and value.shape != p.shape:
            return [f"{where}[{key!r}] has shape {value.shape}, its parameter has shape "
                    f"{p.shape}"]
        return []

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (also after ``mg.save``/``mg.load``).

        Group counts and sizes and every state tensor's shape are checked before
        anything changes. Hyperparameters come from the checkpoint, parameters stay
        this optimizer's; state arrays are copied (and cast to the parameter's dtype).
        """
        name = type(self).__name__
        if (not isinstance(state_dict, dict) or "state" not in state_dict
                or "param_groups" not in state_dict):
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and "
                             f"'param_groups', got {_describe(state_dict)}"
                             + (f" with keys {sorted(map(str, state_dict))}"
                                if isinstance(state_dict, dict) else ""))
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the checkpoint has {len(saved_groups)} "
                             f"parameter groups, this optimizer has {len(self.param_groups)}")
        by_index: dict[int, Tensor] = {}
        for gi, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            ids = saved.get("params") if isinstance(saved, dict) else None
            if not isinstance(ids, (list, tuple)):
                raise ValueError(f"{name}.load_state_dict: parameter group {gi} of the "
                                 "checkpoint has no 'params' list")
            if len(ids) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {gi} has "
                                 f"{len(ids)} parameters in the checkpoint, "
                                 f"{len(group['params'])} in this optimizer")
            for i, p in zip(ids, group["params"]):
                by_index[i] = p
        problems = []
        saved_state = state_dict["state"]
        if not isinstance(saved_state, dict):
            raise ValueError(f"{name}.load_state_dict: 'state' is {_describe(saved_state)}, "
                             "expected a dict")
        for k, s in saved_state.items():
            if isinstance(k, bool) or not isinstance(k, int) or k not in by_index:
                problems.append(f"state key {k!r} is not a parameter index "
                                f"(0..{len(by_index) - 1})")
            elif not isinstance(s, dict):
                problems.append(f"state[{k}] is {_describe(s)}, expected a dict")
            else:
                for key, value in s.items():
                    problems += self._check_state(f"state[{k}]", by_index[k], key, value)
        if problems:
            raise ValueError(f"{name}.load_state_dict: " + "; ".join(problems))

        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            new = {k: v for k, v in saved.items() if k != "params"}
            new["params"] = group["params"]
            for key, default in self.defaults.items():
                new.setdefault(key, default)
            self._check_options(new)
            new_groups.append(new)
        self.state = defaultdict(dict)
        for k, s in saved_state.items():
            p = by_index[k]
            self.state[p] = {key: _copy_state(key, value, p.data.dtype)
                             for key, value in s.items()}
        self.param_groups = new_groups

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


@functools.lru_cache(maxsize=None)
def _signature_defaults(cls: type) -> dict[str, Any]:
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def _is_real(x: Any) -> bool:
    return (isinstance(x, (int, float, np.integer, np.floating))
            and not isinstance(x, (bool, np.bool_)))


def _is_module(x: Any) -> bool:
    """A model (anything with a ``parameters()`` method) given where parameters belong."""
    return not isinstance(x, (Tensor, dict)) and callable(getattr(x, "parameters", None))


def _copy_state(key: str, value: Any, dtype: np.dtype) -> Any:
    """A copy of a loaded state value: arrays become Tensors of the parameter's dtype
    (floating ones), ``step`` becomes a float32 0-d Tensor as PyTorch keeps it."""
    if key == "step":
        arr = value.data if isinstance(value, Tensor) else np.asarray(value)
        return Tensor(np.array(arr, dtype=np.float32).reshape(()))
    if isinstance(value, (Tensor, np.ndarray)):
        arr = value.data if isinstance(value, Tensor) else value
        if arr.dtype.kind in "fc":
            return Tensor(np.array(arr, dtype=dtype, copy=True))
        return Tensor(np.array(arr, copy=True))
    if isinstance(value, list):
        return [_copy_state("", v, dtype) for v in value]
    if isinstance(value, tuple):
        return tuple(_copy_state("", v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _copy_state(k, v, dtype) for k, v in value.items()}
    return value
