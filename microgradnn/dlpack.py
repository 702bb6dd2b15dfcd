"""DLPack exchange: hand tensors to PyTorch, NumPy, JAX, CuPy ... without copying, and back.

``Tensor.__dlpack__`` and ``Tensor.__dlpack_device__`` (defined in ``tensor.py``, which calls
these functions) make a microgradnn tensor acceptable to ``torch.from_dlpack`` and
``np.from_dlpack``; :func:`from_dlpack` wraps any object with ``__dlpack__`` as a Tensor.
Both directions share memory: a write on one side is seen on the other.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import Tensor

__all__ = ["from_dlpack"]

_CPU = (1, 0)  # DLPack's (kDLCPU, device 0): all our arrays live in host memory


def to_dlpack(t: Tensor, *, stream: Any = None, max_version: Any = None,
              dl_device: Any = None, copy: bool | None = None):
    """The DLPack capsule of ``t``'s array (what ``Tensor.__dlpack__`` returns)."""
    if t.requires_grad:
        # as PyTorch: the consumer would see the values but could never send gradients back
        raise BufferError("__dlpack__: cannot export a tensor that requires grad; use "
                          "tensor.detach() (which shares the memory) first")
    if dl_device is not None and tuple(dl_device) != _CPU:
        raise BufferError(f"__dlpack__: tensors live on the CPU {_CPU}, cannot export to "
                          f"device {tuple(dl_device)}")
    return t.data.__dlpack__(stream=stream, max_version=max_version, dl_device=dl_device,
                             copy=copy)


def dlpack_device(t: Tensor) -> tuple[int, int]:
    """``(device_type, device_id)`` as DLPack names them: always the CPU, ``(1, 0)``."""
    return _CPU


def from_dlpack(ext: Any) -> Tensor:
    """A Tensor sharing memory with ``ext``, any object with ``__dlpack__`` (a PyTorch
    tensor, a NumPy array, ...), as ``torch.from_dlpack``.

    The result does not require grad; a PyTorch tensor that requires grad must be
    ``.detach()``-ed first (PyTorch refuses to export it). Only CPU memory and the dtypes
    NumPy has can be shared (no bfloat16, no GPU tensors).

    >>> import numpy as np, microgradnn as mg
    >>> a = np.zeros(3)
    >>> t = mg.from_dlpack(a)
    >>> t.data[0] = 1.0; a
    array([1., 0., 0.])
    """
    if not hasattr(ext, "__dlpack__"):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ (a tensor or "
                        f"array), got {type(ext).__name__}")
    try:
        arr = np.from_dlpack(ext)
    except (BufferError, RuntimeError, TypeError, ValueError) as e:
        raise type(e)(f"from_dlpack: cannot share {type(ext).__name__} "
                      f"{getattr(ext, 'dtype', '')}: {e}") from e
    return Tensor(arr)
