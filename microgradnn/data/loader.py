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
    """Iterate over a dataset in mini-batches, with PyTorch's signature and meaning.

    ``len(loader)`` is the number of batches per epoch.  With ``shuffle=True`` each epoch
    draws a new permutation, from ``generator`` (a ``numpy.random.Generator``) or from
    ``np.random.default_rng(seed)`` created here, so a given seed yields the same sequence
    of epochs; with neither it draws from the library's generator, which
    ``mg.manual_seed`` seeds.  ``sampler`` (an iterable of indices) or ``batch_sampler``
    (an iterable of lists of indices) choose the samples instead, as in PyTorch.  Batches
    of a :class:`TensorDataset` are read with one fancy-indexing per tensor; other datasets
    are read sample by sample and stacked by ``collate_fn`` (default :func:`default_collate`).

    **Workers run in-process.**  ``num_workers`` is accepted with any non-negative value
    and the batches are exactly those PyTorch yields (same samples, same order), but they
    are loaded in this process, one after another: there are no worker processes, so
    ``worker_init_fn`` is never called (as in PyTorch with ``num_workers=0``).  Raising for
    ``num_workers > 0`` would stop published programs for no gain: a map-style dataset gives
    the same batches either way, only more slowly.  ``pin_memory`` is accepted and does
    nothing: there is no GPU memory to pin.

    >>> import numpy as np
    >>> ds = TensorDataset(np.arange(10).reshape(5, 2), np.arange(5))
    >>> loader = DataLoader(ds, batch_size=2, shuffle=True, seed=0, num_workers=2)
    >>> len(loader), [yb.shape for _, yb in loader]
    (3, [(2,), (2,), (1,)])
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0,
                 collate_fn: Callable[[list], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Callable | None = None,
                 multiprocessing_context: Any = None, generator: np.random.Generator | None = None,
                 *, prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True,
                 seed: int | np.random.Generator | None = None) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset {type(dataset).__name__} needs "
                            "__len__ and __getitem__ (iterable-style datasets are not supported)")
        if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"DataLoader: batch_size must be a positive int, "
                            f"got {type(batch_size).__name__} {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size}")
        shuffle = False if shuffle is None else shuffle
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last),
                           ("pin_memory", pin_memory), ("persistent_workers", persistent_workers),
                           ("in_order", in_order)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"DataLoader: {name} must be True or False, got {flag!r}")
        if isinstance(num_workers, (bool, np.bool_)) or not isinstance(num_workers, (int, np.integer)):
            raise TypeError(f"DataLoader: num_workers must be a non-negative int, got {num_workers!r}")
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be non-negative, got {num_workers} "
                             "(workers run in this process; see the docstring)")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout < 0:
            raise ValueError(f"DataLoader: timeout must be a non-negative number, got {timeout!r}")
        # the same combinations PyTorch refuses
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                             "multiprocessing; let num_workers > 0 to enable it")
        if num_workers == 0 and persistent_workers:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                          or drop_last):
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                             "batch_size, shuffle, sampler, and drop_last")
        for name, value in (("sampler", sampler), ("batch_sampler", batch_sampler)):
            if value is not None and not hasattr(value, "__iter__"):
                raise TypeError(f"DataLoader: {name} must be an iterable of indices, got "
                                f"{type(value).__name__}")
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: pass generator or seed, not both")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator, got "
                            f"{type(generator).__name__}")
        if seed is not None and not isinstance(seed, np.random.Generator):
            if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
                raise TypeError(f"DataLoader: seed must be None, a non-negative int or a "
                                f"numpy Generator, got {type(seed).__name__} {seed!r}")
            if seed < 0:
                raise ValueError(f"DataLoader: seed must be non-negative, got {seed}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError("DataLoader: collate_fn must be callable")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError("DataLoader: worker_init_fn must be callable")
        self.dataset = dataset
        self.batch_size = None if batch_sampler is not None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = int(num_workers)
        self.pin_memory = bool(pin_memory)
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.collate_fn = collate_fn
        self.generator = generator
        # No seed: shuffle from the library's generator, so mg.manual_seed() makes runs
        # repeat (as torch.manual_seed does for PyTorch's DataLoader).
        self.rng = generator if generator is not None else (
            None if seed is None else np.random.default_rng(seed))

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        if self.batch_sampler is not None:
            return (self._fetch(np.asarray(list(b), dtype=np.int64)) for b in self.batch_sampler)
        # the permutation is drawn now, when the epoch starts, not at the first batch
        if self.sampler is not None:
            order = np.asarray(list(self.sampler), dtype=np.int64)
        else:
            n = len(self.dataset)
            rng = self.rng if self.rng is not None else creation.generator()
            order = rng.permutation(n) if self.shuffle else np.arange(n)
        return self._batches(order)

    def _batches(self, order: np.ndarray) -> Iterator[Any]:
        stop = len(order) // self.batch_size * self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield self._fetch(order[start:start + self.batch_size])

    def _fetch(self, index: np.ndarray) -> Any:
        # One fancy-index per batch, unless a subclass reads its samples its own way.
        fast = (type(self.dataset).__getitem__ is TensorDataset.__getitem__
                and isinstance(self.dataset, TensorDataset) and self.collate_fn is None)
        if fast:
            return self.dataset[index]
        return (self.collate_fn or default_collate)([self.dataset[int(i)] for i in index])
