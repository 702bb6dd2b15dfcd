"""PyTorch's ``torch.utils`` import paths: ``microgradnn.utils.data``."""
from . import data

__all__ = ["data"]
