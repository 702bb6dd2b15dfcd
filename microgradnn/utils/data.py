"""``microgradnn.utils.data``: PyTorch's import path for the data tools of :mod:`microgradnn.data`.

``from microgradnn.utils.data import DataLoader, TensorDataset`` works as
``from torch.utils.data import ...`` does; the names are the same objects as in
``microgradnn.data``.

>>> from microgradnn.utils.data import DataLoader, TensorDataset
>>> import microgradnn as mg
>>> DataLoader is mg.data.DataLoader
True
"""
from ..data.dataset import Dataset, Subset, TensorDataset, random_split
from ..data.loader import DataLoader, default_collate

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader",
           "default_collate"]
