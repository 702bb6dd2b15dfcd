"""``mg.cuda``: present so PyTorch's ``if torch.cuda.is_available():`` checks run; there
is no GPU support, so it always answers that none is available."""
from __future__ import annotations


def is_available() -> bool:
    """False: microgradnn computes with NumPy on the CPU only."""
    return False


def device_count() -> int:
    """0: no GPU is ever used."""
    return 0


def manual_seed(seed: int) -> None:
    """Accepted and ignored, as PyTorch does without a GPU (there is no CUDA generator)."""


manual_seed_all = manual_seed
