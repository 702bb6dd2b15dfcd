"""Dtype names (NumPy's dtypes, with PyTorch's aliases) and the default float dtype.

Tensors hold booleans, integers or real floating-point numbers. Complex numbers are out
of scope: the name ``cfloat`` exists so PyTorch code reads, but using it raises.
"""
from __future__ import annotations

import numpy as np

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)

# PyTorch's aliases
half, float, double = float16, float32, float64
short, int, long = int16, int32, int64
bool = bool_


class _ComplexOutOfScope:
    """Stands for PyTorch's complex dtypes; any use raises the out-of-scope TypeError."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"microgradnn.{self.name} (complex: not supported)"


cfloat = complex64 = _ComplexOutOfScope("cfloat")
cdouble = complex128 = _ComplexOutOfScope("cdouble")

_default = float32

_NAMES = {"float16": float16, "half": float16, "float32": float32, "float": float32,
          "float64": float64, "double": float64, "int8": int8, "int16": int16,
          "short": int16, "int32": int32, "int": int32, "int64": int64, "long": int64,
          "uint8": uint8, "bool": bool_}


def check_kind(op: str, dt: np.dtype, what: str = "operand") -> np.dtype:
    """Refuse dtypes tensors cannot hold: only bool, integers and real floats enter."""
    if dt.kind in "biuf":
        return dt
    if dt.kind == "c":
        raise TypeError(f"{op}: complex {what} of dtype {dt} is not supported: microgradnn "
                        "computes with real numbers only (complex support is out of scope)")
    raise TypeError(f"{op}: {what} of dtype {dt} is not supported; tensors hold booleans, "
                    "integers or real floating-point numbers")


def as_dtype(dtype, op: str = "dtype") -> np.dtype:
    """``dtype`` (a NumPy dtype, a type such as ``float``, or a name) as a NumPy dtype.

    >>> import microgradnn as mg
    >>> mg.dtypes.as_dtype("long"), mg.dtypes.as_dtype(mg.double)
    (dtype('int64'), dtype('float64'))
    """
    if isinstance(dtype, _ComplexOutOfScope):
        raise TypeError(f"{op}: {dtype.name} is a complex dtype; microgradnn computes with real "
                        "numbers only (complex support is out of scope)")
    if isinstance(dtype, str):
        name = dtype[6:] if dtype.startswith("torch.") else dtype
        if name in _NAMES:
            return _NAMES[name]
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: {dtype!r} is not a dtype") from None
    return check_kind(op, dt, "dtype")


def is_dtype_name(x) -> bool:
    """True if the string ``x`` names a dtype (``to("float64")``) rather than a device."""
    return isinstance(x, str) and (x in _NAMES or x[6:] in _NAMES)


_TYPE_NAMES = {float16: "HalfTensor", float32: "FloatTensor", float64: "DoubleTensor",
               int8: "CharTensor", int16: "ShortTensor", int32: "IntTensor",
               int64: "LongTensor", uint8: "ByteTensor", bool_: "BoolTensor"}


def type_name(dt: np.dtype) -> str:
    """PyTorch's ``Tensor.type()`` string for ``dt`` (``'microgradnn.FloatTensor'``)."""
    return "microgradnn." + _TYPE_NAMES.get(dt, f"{dt}Tensor")


def set_default_dtype(dtype) -> None:
    """Set the dtype that Python floats and float creation functions get (float32 at start).

    >>> import microgradnn as mg
    >>> mg.set_default_dtype(mg.float64); mg.tensor(1.0).dtype
    dtype('float64')
    >>> mg.set_default_dtype(mg.float32)
    """
    global _default
    dtype = as_dtype(dtype, "set_default_dtype")
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: the default must be a floating-point dtype, got {dtype}")
    _default = dtype


def get_default_dtype() -> np.dtype:
    """The dtype Python floats become (float32 unless changed)."""
    return _default
