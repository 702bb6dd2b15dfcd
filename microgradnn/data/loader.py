"""``DataLoader``: mini-batches from a dataset, optionally shuffled with a seeded generator."""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import creation
from ..tensor import Tensor
from .dataset import TensorDataset


def _stack(values: list, where: str) -> Tensor:
    first = values[0]
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return Tensor(np.array(values, dtype=np.bool_))
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return Tensor(np.array(values, dtype=np.int64))
    if all(isinstance(v, (int, float)) and not isinstance(v, (bool, np.generic)) for v in values):
        # Python floats default to float32, the library's working precision
        return Tensor(np.array(values, dtype=np.float32))
    arrays = []
    for v in values:
        if isinstance(v, Tensor):
            v = v.data
        if not isinstance(v, (np.ndarray, np.generic)):
            raise TypeError(f"DataLoader: cannot collate {type(v).__name__} in {where}; "
                            "samples may hold Tensors, arrays, ints, floats and bools")
        arrays.append(np.asarray(v))
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"DataLoader: cannot stack {where}: samples have shapes "
                         f"{sorted(shapes)}; all must match (first {np.shape(first)})")
    return Tensor(np.stack(arrays))


def default_collate(samples: list) -> Any:
    """Stack a list of samples into one batch.

    A sample that is a tuple (or list) gives a tuple of batched Tensors, a dict gives a
    dict; each field is stacked along a new first axis.  Python ints become int64,
    Python floats float32, bools bool; Tensors and arrays keep their dtype.

    >>> batch = default_collate([(1.5, 0), (2.5, 1)])
    >>> [(t.dtype, t.shape) for t in batch]
    [(dtype('float32'), (2,)), (dtype('int64'), (2,))]
    """
    return _collate(samples, "the batch")


def _collate(samples: list, where: str) -> Any:
    first = samples[0]
    if isinstance(first, (tuple, list)):
        if any(not isinstance(s, (tuple, list)) or len(s) != len(first) for s in samples):
            raise ValueError(f"DataLoader: samples in {where} have different structures; "
                             f"expected tuples of {len(first)} fields")
        return tuple(_collate([s[i] for s in samples], f"field {i}") for i in range(len(first)))
    if isinstance(first, dict):
        if any(not isinstance(s, dict) or s.keys() != first.keys() for s in samples):
            raise ValueError(f"DataLoader: samples in {where} have different dict keys")
        return {k: _collate([s[k] for s in samples], f"field {k!r}") for k in first}
    return _stack(samples, where)


class DataLoader:
    """Iterate over a dataset in mini-batches.

    ``len(loader)`` is the number of batches per epoch.  With ``shuffle=True`` each epoch
    draws a new permutation from one ``np.random.default_rng(seed)`` created here, so a
    given seed yields the same sequence of epochs; without a seed it draws from the
    library's generator, which ``mg.manual_seed`` seeds.  Batches of a :class:`TensorDataset`
    are read with one fancy-indexing per tensor; other datasets are read sample by sample
    and stacked by ``collate_fn`` (default :func:`default_collate`).

    >>> import numpy as np
    >>> ds = TensorDataset(np.arange(10).reshape(5, 2), np.arange(5))
    >>> loader = DataLoader(ds, batch_size=2, shuffle=True, seed=0)
    >>> len(loader), [yb.shape for _, yb in loader]
    (3, [(2,), (2,), (1,)])
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int | np.random.Generator | None = None,
                 collate_fn: Callable[[list], Any] | None = None) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset {type(dataset).__name__} needs "
                            "__len__ and __getitem__")
        if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"DataLoader: batch_size must be a positive int, "
                            f"got {type(batch_size).__name__} {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size}")
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"DataLoader: {name} must be True or False, got {flag!r}")
        if seed is not None and not isinstance(seed, np.random.Generator):
            if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
                raise TypeError(f"DataLoader: seed must be None, a non-negative int or a "
                                f"numpy Generator, got {type(seed).__name__} {seed!r}")
            if seed < 0:
                raise ValueError(f"DataLoader: seed must be non-negative, got {seed}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError("DataLoader: collate_fn must be callable")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        # No seed: shuffle from the library's generator, so mg.manual_seed() makes runs
        # repeat (as torch.manual_seed does for PyTorch's DataLoader).
        self.rng = None if seed is None else np.random.default_rng(seed)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        # the permutation is drawn now, when the epoch starts, not at the first batch
        n = len(self.dataset)
        rng = self.rng if self.rng is not None else creation.generator()
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        return self._batches(order)

    def _batches(self, order: np.ndarray) -> Iterator[Any]:
        stop = len(self) * self.batch_size if self.drop_last else len(order)
        # One fancy-index per batch, unless a subclass reads its samples its own way.
        fast = (type(self.dataset).__getitem__ is TensorDataset.__getitem__
                and isinstance(self.dataset, TensorDataset) and self.collate_fn is None)
        collate = self.collate_fn or default_collate
        for start in range(0, stop, self.batch_size):
            index = order[start:start + self.batch_size]
            if fast:
                yield self.dataset[index]
            else:
                yield collate([self.dataset[int(i)] for i in index])
