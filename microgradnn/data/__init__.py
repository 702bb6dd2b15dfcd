"""Datasets and mini-batches: ``Dataset``, ``TensorDataset``, ``DataLoader``, MNIST and digits.

>>> import numpy as np
>>> from microgradnn.data import TensorDataset, DataLoader
>>> x, y = np.zeros((10, 3), np.float32), np.arange(10)
>>> [xb.shape for xb, yb in DataLoader(TensorDataset(x, y), batch_size=4)]
[(4, 3), (4, 3), (2, 3)]
"""
from .dataset import Dataset, Subset, TensorDataset, random_split
from .digits import load_digits
from .loader import DataLoader, default_collate
from .mnist import MNIST, load_mnist

__all__ = [
    "Dataset",
    "TensorDataset",
    "Subset",
    "random_split",
    "DataLoader",
    "default_collate",
    "MNIST",
    "load_mnist",
    "load_digits",
]
