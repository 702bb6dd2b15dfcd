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


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: ``subset[i]`` is
    ``dataset[indices[i]]``, as PyTorch's ``Subset``.

    >>> import numpy as np
    >>> sub = Subset(TensorDataset(np.arange(10) * 10), [7, 2])
    >>> len(sub), sub[0][0].item()
    (2, 70)
    """

    def __init__(self, dataset: Any, indices: Any) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"Subset: dataset {type(dataset).__name__} needs __len__ and "
                            "__getitem__")
        indices = [int(i) if isinstance(i, (int, np.integer)) and not isinstance(i, bool)
                   else _bad_index(i) for i in indices]
        n = len(dataset)
        for i in indices:
            if not -n <= i < n:
                raise IndexError(f"Subset: index {i} is out of range for a dataset of {n} samples")
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, (list, tuple, np.ndarray)):
            return [self.dataset[self.indices[int(i)]] for i in idx]
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)


def _bad_index(i: Any):
    raise TypeError(f"Subset: indices must be ints, got {type(i).__name__} {i!r}")


def random_split(dataset: Any, lengths: Any,
                 generator: np.random.Generator | None = None) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping :class:`Subset` s of the given lengths.

    ``lengths`` are sample counts that sum to ``len(dataset)``, or fractions that sum to
    1: then each part gets ``floor(fraction * len)`` samples and the remainder goes one by
    one to the parts in order (PyTorch's rule).  The permutation comes from ``generator``
    (a ``numpy.random.Generator``) or, without one, from the library's generator, which
    ``mg.manual_seed`` seeds.  (The split differs from PyTorch's for the same seed: the two
    libraries draw different random numbers.)

    >>> import numpy as np
    >>> train, test = random_split(TensorDataset(np.arange(10)), [0.7, 0.3],
    ...                            generator=np.random.default_rng(0))
    >>> len(train), len(test), sorted(train.indices + test.indices) == list(range(10))
    (7, 3, True)
    """
    import math

    from .. import creation

    if not hasattr(dataset, "__len__"):
        raise TypeError(f"random_split: dataset {type(dataset).__name__} needs __len__")
    lengths = list(lengths)
    n = len(dataset)
    if not lengths or any(isinstance(x, bool) or not isinstance(x, (int, float, np.number))
                          for x in lengths):
        raise TypeError(f"random_split: lengths must be a non-empty list of ints or fractions, "
                        f"got {lengths!r}")
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:  # PyTorch's test for fractions
        if any(not 0 <= x <= 1 for x in lengths):
            raise ValueError(f"random_split: fraction lengths must be in [0, 1], got {lengths}")
        counts = [int(math.floor(n * x)) for x in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:  # as PyTorch: a fraction too small for this dataset
                import warnings
                warnings.warn(f"random_split: length of split at index {i} is 0; this "
                              "gives an empty dataset", UserWarning, stacklevel=2)
        lengths = counts
    elif any(not isinstance(x, (int, np.integer)) for x in lengths):
        raise ValueError(f"random_split: lengths {lengths} are neither ints nor fractions "
                         "that sum to 1")
    if any(x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: the lengths {lengths} sum to {sum(lengths)}, not to "
                         f"the dataset's {n} samples")
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError(f"random_split: generator must be a numpy.random.Generator, got "
                        f"{type(generator).__name__}")
    order = (generator or creation.generator()).permutation(n).tolist()
    parts, start = [], 0
    for length in lengths:
        parts.append(Subset(dataset, order[start:start + int(length)]))
        start += int(length)
    return parts
