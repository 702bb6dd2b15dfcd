"""Dtype names (NumPy's dtypes) and the default floating-point dtype."""
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

_default = float32


def set_default_dtype(dtype) -> None:
    """Set the dtype that Python floats and float creation functions get (float32 at start).

    >>> import microgradnn as mg
    >>> mg.set_default_dtype(mg.float64); mg.tensor(1.0).dtype
    dtype('float64')
    >>> mg.set_default_dtype(mg.float32)
    """
    global _default
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: the default must be a floating-point dtype, got {dtype}")
    _default = dtype


def get_default_dtype() -> np.dtype:
    """The dtype Python floats become (float32 unless changed)."""
    return _default
