"""``Module`` and ``Parameter``: the building blocks of networks, plus the containers.

A module registers every ``Parameter``, submodule and buffer assigned to it as an
attribute, so ``parameters()``, ``state_dict()`` and ``train()/eval()`` reach the whole
tree. Names and ``state_dict`` keys follow PyTorch (``"0.weight"``, ``"fc1.bias"``).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np

from ..autograd import no_grad, scope
from ..tensor import Tensor, _to_array


class Parameter(Tensor):
    """A tensor that is a learnable part of a module (``requires_grad=True`` by default).

    >>> import microgradnn as mg
    >>> p = mg.nn.Parameter(mg.zeros(2))
    >>> p.requires_grad, p.is_leaf
    (True, True)
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.zeros(0, dtype=np.float32)
        super().__init__(_to_array(data, None, copy=False), requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class _IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of all layers and models: subclass it and write ``forward``.

    >>> import microgradnn as mg
    >>> class Affine(mg.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.scale = mg.nn.Parameter(mg.ones(3))
    ...     def forward(self, x):
    ...         return x * self.scale
    >>> m = Affine()
    >>> [name for name, _ in m.named_parameters()], m(mg.ones(3)).shape
    (['scale'], (3,))
    """

    training: bool

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_modules"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        pre_hooks = self.__dict__.get("_forward_pre_hooks")
        if pre_hooks:  # tested first: most calls have none, and a copy per call adds up
            for hook in list(pre_hooks.values()):
                new = hook(self, args)
                if new is not None:
                    args = new if isinstance(new, tuple) else (new,)
        # Operations made inside are recorded as belonging to this module (for pictures).
        with scope.enter(self):
            out = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                new = hook(self, args, out)
                if new is not None:
                    out = new
        return out

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() is called "
                                 f"(call super().__init__() first in {type(self).__name__})")
        params, modules, buffers = self._parameters, self._modules, self._buffers
        if isinstance(value, Parameter):
            modules.pop(name, None)
            buffers.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer {name!r} "
                                "(a Tensor or None expected)")
            buffers[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to parameter {name!r} "
                                "(a Parameter or None expected)")
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to submodule {name!r} "
                                "(a Module or None expected)")
            modules[name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._modules, self._buffers):
            table.pop(name, None)
        object.__delattr__(self, name)

    def _check_name(self, op: str, name: str, table: dict) -> None:
        """PyTorch's rules for a registered name: a non-empty string without dots that
        does not hide an existing attribute (a method such as ``train``)."""
        if not isinstance(name, str):
            raise TypeError(f"{op}: name must be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{op}: name {name!r} must be non-empty and contain no '.'")
        if hasattr(self, name) and name not in table:
            raise KeyError(f"{op}: attribute {name!r} already exists on {type(self).__name__}")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a None placeholder, like a missing bias) under ``name``."""
        self._check_name("register_parameter", name, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got "
                            f"{type(param).__name__}")
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add state that is not learned (e.g. BatchNorm's running mean); it is saved in
        ``state_dict`` unless ``persistent=False``."""
        self._check_name("register_buffer", name, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: "Module | None") -> None:
        """Register ``module`` as a child called ``name``."""
        self._check_name("add_module", name, self._modules)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        self._modules[name] = module
        object.__setattr__(self, name, module)

    def register_forward_hook(self, hook: Callable) -> "_HookHandle":
        """Call ``hook(module, inputs, output)`` after every forward; a returned value
        replaces the output. Returns a handle with ``remove()``."""
        key = object()
        self._forward_hooks[key] = hook
        return _HookHandle(self._forward_hooks, key)

    def register_forward_pre_hook(self, hook: Callable) -> "_HookHandle":
        """Call ``hook(module, inputs)`` before every forward (pruning recomputes its
        masked weight here); a returned value replaces the inputs. Returns a handle with
        ``remove()``."""
        key = object()
        self.__dict__.setdefault("_forward_pre_hooks", OrderedDict())[key] = hook
        return _HookHandle(self._forward_pre_hooks, key)

    # ------------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = "", memo: set | None = None) -> Iterator[tuple[str, "Module"]]:
        """This module and every descendant once, with dotted names ("" for this one)."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in memo:
                continue
            memo.add(id(m))
            yield name, m
            children = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()
                        if c is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Every parameter once (shared ones under their first name), with dotted names."""
        yield from self._named("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def _named(self, table: str, prefix: str, recurse: bool):
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for k, v in getattr(m, table).items():
                if v is None or id(v) in seen:
                    continue
                seen.add(id(v))
                yield (f"{mname}.{k}" if mname else k), v

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> "Module":
        """Training mode (dropout active, batch norm uses batch statistics); returns self."""
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to None, or to zeros)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor(np.zeros_like(p.data))

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def to(self, *args, dtype=None, device=None, non_blocking: bool = False) -> "Module":
        """PyTorch's ``Module.to(dtype)`` / ``to(device)`` / ``to(device, dtype)``: cast the
        floating-point parameters, their gradients and buffers in place (the tensors keep
        their identity, so an optimizer made before still holds them). Only the CPU exists.

        >>> import microgradnn as mg
        >>> from microgradnn import nn
        >>> nn.Linear(2, 3).to(mg.float64).weight.dtype
        dtype('float64')
        """
        from ..device import check as _check_device
        from ..dtypes import as_dtype, is_dtype_name
        from ..device import device as _device_type
        for a in args:
            if isinstance(a, (str, _device_type)) and not is_dtype_name(a):
                device = a
            elif isinstance(a, Tensor):
                dtype = a.dtype
            else:
                dtype = a
        _check_device(device, "Module.to")
        if dtype is None:
            return self
        dtype = as_dtype(dtype, "Module.to")
        if dtype.kind != "f":
            raise TypeError(f"Module.to: only floating-point dtypes are accepted, got {dtype}")
        for t in list(self.parameters()) + list(self.buffers()):
            if t.data.dtype.kind == "f" and t.data.dtype != dtype:
                t.data = t.data.astype(dtype)
                if t.grad is not None:
                    t.grad = Tensor(t.grad.data.astype(dtype))
        return self

    def float(self) -> "Module":
        return self.to(np.float32)

    def double(self) -> "Module":
        return self.to(np.float64)

    def half(self) -> "Module":
        return self.to(np.float16)

    def cpu(self) -> "Module":
        return self

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call ``fn`` on every submodule (children first) and on this module; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ state
    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> "OrderedDict[str, Tensor]":
        """Parameters and persistent buffers by dotted name (PyTorch's keys). The tensors
        share memory with the module's but are detached (unless ``keep_vars``)."""
        out: OrderedDict[str, Tensor] = OrderedDict()
        # Every path to a module, even one shared by two parents, as PyTorch: a checkpoint
        # of Sequential(l, l) has both 0.weight and 1.weight.
        stack = [(prefix.rstrip("."), self)]
        while stack:
            mname, m = stack.pop()
            base = f"{mname}." if mname else ""
            for k, p in m._parameters.items():
                if p is not None:
                    out[base + k] = p if keep_vars else p.detach()
            for k, b in m._buffers.items():
                if b is not None and k not in m._non_persistent:
                    out[base + k] = b if keep_vars else b.detach()
            stack.extend(reversed([(base + k, c) for k, c in m._modules.items()
                                   if c is not None]))
        return out

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> _IncompatibleKeys:
        """Copy values from ``state_dict`` into parameters and buffers.

        Every key and shape is checked before anything is written, so on error nothing is
        half-loaded. With ``strict=True`` missing or unexpected keys are errors; otherwise
        they are returned as ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{type(self).__name__}.load_state_dict: state_dict must be a dict "
                            f"of names to tensors, got {type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        values = {}
        for k, target in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            try:
                arr = v.data if isinstance(v, Tensor) else np.asarray(v)
            except Exception:
                problems.append(f"{k}: cannot read a value of type {type(v).__name__}")
                continue
            if arr.shape != target.shape:
                problems.append(f"size mismatch for {k}: checkpoint shape {arr.shape}, "
                                f"model shape {target.shape}")
            elif not np.can_cast(arr.dtype, target.dtype, casting="same_kind"):
                problems.append(f"dtype mismatch for {k}: checkpoint {arr.dtype}, model "
                                f"{target.dtype}")
            else:
                values[k] = arr
        if strict:
            if missing:
                problems.insert(0, "missing keys: " + ", ".join(missing))
            if unexpected:
                problems.insert(1 if missing else 0, "unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise ValueError(f"load_state_dict: could not load into {type(self).__name__}:\n  "
                             + "\n  ".join(problems))
        with no_grad():
            for k, arr in values.items():
                target = own[k]
                if target.data.flags.writeable:
                    np.copyto(target.data, arr, casting="same_kind")
                    target._bump_version()  # values saved for backward see the change
                else:
                    target.data = np.array(arr, dtype=target.dtype)
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ display
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's ``repr`` line."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {sub}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()))


class _HookHandle:
    def __init__(self, hooks: dict, key: object) -> None:
        self.hooks, self.key = hooks, key

    def remove(self) -> None:
        self.hooks.pop(self.key, None)


class Sequential(Module):
    """Modules applied one after another; indexable like a list.

    >>> import microgradnn as mg
    >>> net = mg.nn.Sequential(mg.nn.Linear(2, 4), mg.nn.Tanh(), mg.nn.Linear(4, 1))
    >>> net(mg.zeros((5, 2))).shape, len(net)
    ((5, 1), 3)
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, m in modules[0].items():
                self.add_module(str(name), m)
        else:
            for i, m in enumerate(modules):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, not a Module")
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def append(self, module: Module) -> "Sequential":
        self.add_module(str(len(self._modules)), module)
        return self

    def __getitem__(self, i):
        if isinstance(i, slice):  # keeps the names, so state_dict keys stay as they were
            return Sequential(OrderedDict(list(self._modules.items())[i]))
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleList(Module):
    """A list of modules, registered so their parameters are found.

    >>> import microgradnn as mg
    >>> layers = mg.nn.ModuleList([mg.nn.Linear(3, 3) for _ in range(2)])
    >>> len(list(layers.parameters()))
    4
    """

    def __init__(self, modules=()) -> None:
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules) -> "ModuleList":
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        mods = list(self._modules.values())
        mods.insert(index, module)
        for key in list(self._modules):  # renumbered below
            del self._modules[key]
            object.__delattr__(self, key)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __getitem__(self, i):
        mods = list(self._modules.values())
        if isinstance(i, slice):
            return ModuleList(mods[i])
        return mods[i]

    def __setitem__(self, i: int, module: Module) -> None:
        key = list(self._modules)[i]
        self.add_module(key, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleDict(Module):
    """A dict of modules, registered so their parameters are found.

    >>> import microgradnn as mg
    >>> heads = mg.nn.ModuleDict({"a": mg.nn.Linear(2, 1)})
    >>> list(heads.keys())
    ['a']
    """

    def __init__(self, modules: dict | None = None) -> None:
        super().__init__()
        for k, m in (modules or {}).items():
            self[k] = m

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]
        object.__delattr__(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()
