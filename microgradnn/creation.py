"""Making tensors: zeros, ones, full, arange, linspace, eye, rand, randn, and the seed."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes
from . import device as _device
from ._validate import check_int, check_real, check_tensor, is_real, shape_args
from .tensor import Tensor, _make, _to_array

_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator behind ``rand``, ``randn`` and the initialisers.

    >>> import microgradnn as mg
    >>> mg.manual_seed(0); a = mg.rand(2)
    >>> mg.manual_seed(0); bool((mg.rand(2) == a).all())
    True
    """
    global _rng
    # PyTorch's range; a negative seed stands for seed + 2⁶⁴, as in PyTorch.
    seed = check_int("manual_seed", "seed", seed, min=-(2 ** 63), max=2 ** 64 - 1)
    _rng = np.random.default_rng(seed % 2 ** 64)


def generator() -> np.random.Generator:
    """The NumPy generator that ``manual_seed`` seeds (shared by the whole library)."""
    return _rng




def _float(dtype) -> np.dtype:
    return dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(dtype)


def _dt(dtype):
    return None if dtype is None else dtypes.as_dtype(dtype)


def _out(arr: np.ndarray, requires_grad: bool, device=None) -> Tensor:
    _device.check(device, "factory")
    t = _make(arr, False, None)
    if requires_grad:
        t.requires_grad = True
    return t


def zeros(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``.

    >>> import microgradnn as mg
    >>> mg.zeros(2, 3).shape
    (2, 3)
    """
    return _out(np.zeros(shape_args("zeros", shape), dtype=_float(dtype)), requires_grad, device)


def ones(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of ones.

    >>> import microgradnn as mg
    >>> mg.ones(3)
    tensor([1., 1., 1.])
    """
    return _out(np.ones(shape_args("ones", shape), dtype=_float(dtype)), requires_grad, device)


def full(shape, fill_value: Any, dtype=None, requires_grad: bool = False, *,
         device=None) -> Tensor:
    """A tensor filled with ``fill_value`` (float default dtype unless it is an int or bool).

    >>> import microgradnn as mg
    >>> mg.full((2,), 7.0)
    tensor([7., 7.])
    """
    shape = shape_args("full", (shape,))
    if isinstance(fill_value, Tensor) and fill_value.numel() == 1:
        fill_value = fill_value.item()
    if not (is_real(fill_value) or isinstance(fill_value, (bool, np.bool_))):
        raise TypeError(f"full: fill_value must be a real number or a bool, got "
                        f"{fill_value!r} ({type(fill_value).__name__})")
    dtype = _dt(dtype)
    if dtype is None and not isinstance(fill_value, (bool, int, np.integer, np.bool_)):
        dtype = dtypes.get_default_dtype()
    return _out(np.full(shape, fill_value, dtype=dtype), requires_grad, device)


def zeros_like(t, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    """Zeros with the shape (and dtype, unless given) of ``t``."""
    a = check_tensor("zeros_like", "input", t).data
    return _out(np.zeros(a.shape, dtype=a.dtype if dtype is None else _dt(dtype)), requires_grad,
                device)


def ones_like(t, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    """Ones with the shape (and dtype, unless given) of ``t``."""
    a = check_tensor("ones_like", "input", t).data
    return _out(np.ones(a.shape, dtype=a.dtype if dtype is None else _dt(dtype)), requires_grad,
                device)


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False, *,
           device=None) -> Tensor:
    """Evenly spaced values in [start, stop): ints stay int64, floats get the default dtype.

    >>> import microgradnn as mg
    >>> mg.arange(4)
    tensor([0, 1, 2, 3])
    """
    if stop is None:
        start, stop = 0, start
    for name, v in (("start", start), ("end", stop), ("step", step)):
        check_real("arange", name, v, allow_nan=False)
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
        dtype = np.int64 if is_int else dtypes.get_default_dtype()
    dtype = _dt(dtype)
    return _out(np.arange(start, stop, step, dtype=dtype), requires_grad, device)


def linspace(start, stop, num: int = 50, dtype=None, requires_grad: bool = False, *,
             steps: int | None = None, device=None) -> Tensor:
    """``num`` evenly spaced values from start to stop inclusive (``steps`` = PyTorch's name).

    >>> import microgradnn as mg
    >>> mg.linspace(0, 1, 3)
    tensor([0. , 0.5, 1. ])
    """
    if steps is not None:
        num = steps
    check_real("linspace", "start", start)
    check_real("linspace", "end", stop)
    num = check_int("linspace", "steps", num, min=0)
    return _out(np.linspace(start, stop, num, dtype=_float(dtype)), requires_grad, device)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False, *,
        device=None) -> Tensor:
    """The n×m identity matrix.

    >>> import microgradnn as mg
    >>> mg.eye(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    n = check_int("eye", "n", n, min=0)
    m = None if m is None else check_int("eye", "m", m, min=0)
    return _out(np.eye(n, m, dtype=_float(dtype)), requires_grad, device)


def rand(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Uniform samples in [0, 1) from the generator seeded by ``manual_seed``."""
    return _out(_sample(_rng.random, shape_args("rand", shape), _float(dtype)), requires_grad,
                device)


def randn(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Standard normal samples from the generator seeded by ``manual_seed``."""
    return _out(_sample(_rng.standard_normal, shape_args("randn", shape), _float(dtype)),
                requires_grad, device)


def _sample(draw, shape, dtype: np.dtype) -> np.ndarray:
    # NumPy's generator draws float32 and float64 only; other floats are cast from float32.
    if dtype in (np.float32, np.float64):
        return draw(shape, dtype=dtype)
    return draw(shape, dtype=np.float32).astype(dtype)


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor sharing ``a``'s memory (no copy): writes to either are seen by both.

    >>> import numpy as np, microgradnn as mg
    >>> a = np.zeros(2); t = mg.from_numpy(a); a[0] = 5; t
    tensor([5., 0.], dtype=float64)
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(a).__name__}")
    return _make(_to_array(a, None, copy=False, op="from_numpy"), False, None)


def as_tensor(data: Any, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory when it already is an array (or tensor) of
    the dtype asked for, as PyTorch's ``as_tensor``; otherwise a copy.

    >>> import numpy as np, microgradnn as mg
    >>> a = np.ones(2, dtype=np.float32); mg.as_tensor(a).data is a
    True
    """
    _device.check(device, "as_tensor")
    if isinstance(data, Tensor):
        return data if dtype is None else data.astype(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or dtypes.as_dtype(dtype) == data.dtype):
        return _make(_to_array(data, None, copy=False, op="as_tensor"), False, None)
    return _make(_to_array(data, dtype, copy=False, op="as_tensor"), False, None)
