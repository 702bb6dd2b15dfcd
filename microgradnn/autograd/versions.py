"""Version counters: how a saved value notices that it was changed in place.

PyTorch gives every storage a counter that each in-place operation increments; a value
saved for backward remembers the count, and backward refuses a changed value. Here the
storage is the NumPy array at the root of a chain of views (``a.base.base...``), so a
tensor, its views (slices, reshapes, transposes) and its ``detach()`` aliases share
one counter, as in PyTorch.

Saving must stay cheap (it happens in almost every operation), so a node records only
the global *epoch* at which it saved (one integer). Every in-place write advances the
epoch and notes it on the storage's counter. A node whose epoch is still current was
not touched by any write; otherwise its saved arrays are looked up, and a storage
written after the node's epoch is reported with the version it had and has.

Writes through ``.data`` or through the array ``.numpy()`` returns are not seen, as in
PyTorch: they bypass the counter by design.
"""
from __future__ import annotations

import bisect
import threading
import weakref

import numpy as np

#: advanced by every in-place write anywhere; a node saved at this epoch is unchanged
epoch = 0

_HISTORY = 64  # epochs of the latest writes kept per storage, to name the saved version
_counters: dict[int, "_Counter"] = {}
_lock = threading.Lock()


class _Counter:
    """The writes to one storage: how many, and the epochs of the latest ones."""

    __slots__ = ("version", "epochs")

    def __init__(self) -> None:
        self.version = 0
        self.epochs: list[int] = []

    def version_at(self, at_epoch: int) -> tuple[int, bool]:
        """The version this storage had at ``at_epoch``, and whether that is exact."""
        later = len(self.epochs) - bisect.bisect_right(self.epochs, at_epoch)
        exact = later < len(self.epochs) or len(self.epochs) < _HISTORY
        return self.version - later, exact


def storage(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (``a`` itself unless it is a view)."""
    b = a.base
    while b is not None:
        if isinstance(b, np.ndarray):
            a = b
        b = getattr(b, "base", None)  # as_strided's views hide the array behind a shim
    return a


def version(a: np.ndarray) -> int:
    """How many in-place writes went to ``a``'s storage."""
    c = _counters.get(id(storage(a)))
    return 0 if c is None else c.version


def bump(a: np.ndarray) -> None:
    """Count one in-place write to ``a``'s storage (call it before or after writing)."""
    global epoch
    root = storage(a)
    key = id(root)
    with _lock:
        c = _counters.get(key)
        if c is None:
            c = _counters[key] = _Counter()
            # forget the counter with its storage, before the id can be reused
            weakref.finalize(root, _counters.pop, key, None)
        epoch += 1
        c.version += 1
        c.epochs.append(epoch)
        if len(c.epochs) > _HISTORY:
            del c.epochs[0]


def check(node, saved: tuple, saved_epoch: int) -> None:
    """Raise if an array in ``saved`` (kept by ``node`` at ``saved_epoch``) was written since."""
    for i, s in enumerate(saved):
        if type(s) is not np.ndarray:
            continue
        c = _counters.get(id(storage(s)))
        if c is None or not c.epochs or c.epochs[-1] <= saved_epoch:
            continue
        then, exact = c.version_at(saved_epoch)
        out = getattr(node, "_out", None)  # a weak reference to the node's output array
        what = "its output" if out is not None and s is out() else f"saved value {i}"
        raise RuntimeError(
            "backward: one of the tensors needed for gradient computation was modified by "
            f"an in-place operation: {type(node).__name__} saved a {tuple(s.shape)} tensor "
            f"at version {then}{'' if exact else ' or earlier'}, it is now at version "
            f"{c.version} ({what}, dtype {s.dtype}). Do the in-place update after "
            "backward(), use the out-of-place form (x = x * 2 instead of x *= 2), or "
            "clone() the tensor before changing it")
