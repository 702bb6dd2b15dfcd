"""``mg.accelerator``: PyTorch's device-neutral accelerator queries. microgradnn has no
accelerator, so ``is_available()`` is False and ``current_accelerator()`` is None."""
from __future__ import annotations


def is_available() -> bool:
    """False: microgradnn computes with NumPy on the CPU only."""
    return False


def current_accelerator(check_available: bool = False):
    """None: there is no accelerator."""
    return None


def device_count() -> int:
    return 0
