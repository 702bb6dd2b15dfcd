"""``Dataset``, the indexable-collection protocol, and ``TensorDataset`` over whole arrays."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor


class Dataset:
    """A collection of samples: subclasses define ``__getitem__(i)`` and ``__len__()``.

    ``__getitem__`` takes an int in ``range(len(self))`` and returns one sample: a value
    or a tuple of values (Tensors, arrays, ints, floats) that ``DataLoader`` stacks.

    >>> class Squares(Dataset):
    ...     def __len__(self):
    ...         return 4
    ...     def __getitem__(self, i):
    ...         return float(i), i * i
    >>> len(Squares()), Squares()[3]
    (4, (3.0, 9))
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} does not define __len__")


class TensorDataset(Dataset):
    """Samples are rows of equally long Tensors or arrays: sample ``i`` is ``(t[i] for t in tensors)``.

    Each input has shape ``(N, ...)`` with the same ``N``.  Indexing with an int gives one
    sample; indexing with an array of ints (or a slice) gives a whole batch with one
    NumPy fancy-indexing per tensor, which is how ``DataLoader`` reads it.

    >>> import numpy as np
    >>> ds = TensorDataset(np.arange(6.0).reshape(3, 2), np.array([0, 1, 0]))
    >>> len(ds), ds[1][0].shape, ds[np.array([2, 0])][0].shape
    (3, (2,), (2, 2))
    """

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        arrays = []
        for i, t in enumerate(tensors):
            if isinstance(t, Tensor):
                t = t.data
            if not isinstance(t, np.ndarray):
                raise TypeError(f"TensorDataset: argument {i} is {type(t).__name__}, "
                                "expected a Tensor or numpy.ndarray")
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is 0-d; "
                                 "every tensor needs a first (sample) dimension")
            arrays.append(t)
        sizes = [a.shape[0] for a in arrays]
        if len(set(sizes)) > 1:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ValueError(f"TensorDataset: tensors have different first dimensions "
                             f"{sizes} (shapes {shapes}); all must have the same size")
        self.arrays: tuple[np.ndarray, ...] = tuple(arrays)

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        """The stored data, as Tensors."""
        return tuple(Tensor(a) for a in self.arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        if isinstance(index, (int, np.integer)):
            # np.array copies: a sample must not alias the dataset's memory
            return tuple(Tensor(np.array(a[index])) for a in self.arrays)
        # fancy indexing already returns copies; slices are copied for the same reason
        return tuple(Tensor(np.array(a[index])) if isinstance(index, slice) else Tensor(a[index])
                     for a in self.arrays)
