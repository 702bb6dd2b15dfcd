"""``load_mnist``: MNIST from files the user already has (IDX, optionally gzipped, or .npy).

IDX layout (big-endian): two zero bytes, a type code (0x08 = unsigned byte), the number
of dimensions, one uint32 per dimension, then the values in C order.  Nothing is
downloaded.
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from typing import NamedTuple

import numpy as np

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
NPY_FILES = ("xtrain.npy", "ytrain.npy", "xtest.npy", "ytest.npy")
ROWS = COLS = 28
NUM_CLASSES = 10
_IDX_TYPES = {0x08: "ubyte", 0x09: "sbyte", 0x0B: "int16", 0x0C: "int32",
              0x0D: "float32", 0x0E: "float64"}
_CHUNK = 1 << 24  # read payloads in pieces so a lying header cannot force a huge allocation


class MNIST(NamedTuple):
    """MNIST split into training and test sets (images uint8, labels int64)."""

    xtrain: np.ndarray
    ytrain: np.ndarray
    xtest: np.ndarray
    ytest: np.ndarray


def _read_exact(f, n: int) -> bytearray:
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def _parse_idx(f, name: str, ndim: int) -> np.ndarray:
    head = f.read(4)
    if len(head) < 4:
        raise ValueError(f"load_mnist: {name}: truncated: {len(head)} bytes, "
                         "shorter than the 4-byte IDX magic")
    if head[:2] != b"\x00\x00":
        raise ValueError(f"load_mnist: {name}: not an IDX file "
                         f"(magic {head.hex()}, expected 0x0008{ndim:02x})")
    if head[2] != 0x08:
        kind = _IDX_TYPES.get(head[2], "unknown")
        raise ValueError(f"load_mnist: {name}: IDX type code {head[2]:#04x} ({kind}), "
                         "expected 0x08 (unsigned byte)")
    if head[3] != ndim:
        raise ValueError(f"load_mnist: {name}: IDX file has {head[3]} dimensions, expected {ndim}")
    raw = f.read(4 * ndim)
    if len(raw) < 4 * ndim:
        raise ValueError(f"load_mnist: {name}: truncated inside the dimension sizes")
    dims = struct.unpack(f">{ndim}I", raw)
    if ndim == 3 and dims[1:] != (ROWS, COLS):
        raise ValueError(f"load_mnist: {name}: images are {dims[1]}x{dims[2]}, "
                         f"expected {ROWS}x{COLS}")
    count = int(np.prod(dims, dtype=object))
    payload = _read_exact(f, count)
    if len(payload) < count:
        raise ValueError(f"load_mnist: {name}: truncated: {len(payload)} of the {count} "
                         f"data bytes its header declares (shape {dims})")
    if f.read(1):
        raise ValueError(f"load_mnist: {name}: extra bytes after the {count} data bytes "
                         f"its header declares (shape {dims})")
    return np.frombuffer(payload, dtype=np.uint8).reshape(dims)


def read_idx(path: str | os.PathLike, ndim: int) -> np.ndarray:
    """Read an unsigned-byte IDX file (gzipped when the name ends in ``.gz``) of ``ndim`` dims.

    >>> import gzip, io, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
    >>> with gzip.open(path, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
    >>> read_idx(path, 1)
    array([7, 2, 1], dtype=uint8)
    """
    path = os.fspath(path)
    name = os.path.basename(path)
    if not path.endswith(".gz"):
        with open(path, "rb") as f:
            return _parse_idx(f, name, ndim)
    try:
        with gzip.open(path, "rb") as f:
            return _parse_idx(f, name, ndim)
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise ValueError(f"load_mnist: {name}: not a valid gzip file ({e})") from None


def _whole_numbers(a: np.ndarray, name: str, high: int, what: str) -> np.ndarray:
    if a.dtype.kind not in "uif":
        raise ValueError(f"load_mnist: {name}: dtype {a.dtype}, expected integer {what}")
    if a.size and (a.min() < 0 or a.max() > high or (a.dtype.kind == "f"
                                                      and not np.all(a == np.round(a)))):
        raise ValueError(f"load_mnist: {name}: {what} must be whole numbers in 0..{high} "
                         f"(found values {a.min()}..{a.max()})")
    return a


def _read_npy(path: str, kind: str) -> np.ndarray:
    name = os.path.basename(path)
    try:
        a = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise ValueError(f"load_mnist: {name}: cannot read as a .npy array ({e})") from None
    if not isinstance(a, np.ndarray):
        raise ValueError(f"load_mnist: {name}: holds several arrays (.npz), expected one")
    if kind == "images":
        if a.ndim == 3 and a.shape[1:] == (ROWS, COLS):
            a = a.reshape(len(a), ROWS * COLS)
        if a.ndim != 2 or a.shape[1] != ROWS * COLS:
            raise ValueError(f"load_mnist: {name}: images have shape {a.shape}, "
                             f"expected (N, {ROWS * COLS}) or (N, {ROWS}, {COLS})")
        return _whole_numbers(a, name, 255, "pixel values").astype(np.uint8, copy=False)
    if a.ndim != 1:
        raise ValueError(f"load_mnist: {name}: labels have shape {a.shape}, expected (N,)")
    return _whole_numbers(a, name, NUM_CLASSES - 1, "labels").astype(np.int64, copy=False)


def _find(folder: str, name: str) -> str | None:
    for candidate in (name, name + ".gz"):
        full = os.path.join(folder, candidate)
        if os.path.isfile(full):
            return full
    return None


def load_mnist(path: str | os.PathLike, flatten: bool = True) -> MNIST:
    """Read MNIST from the folder ``path``; returns ``MNIST(xtrain, ytrain, xtest, ytest)``.

    The folder holds either the four IDX files ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``
    (each optionally gzipped, ``.gz``) or ``xtrain.npy``, ``ytrain.npy``, ``xtest.npy``,
    ``ytest.npy``.  Images come back uint8 of shape (N, 784), or (N, 28, 28) with
    ``flatten=False``; labels int64 of shape (N,).  Malformed files raise ValueError
    naming the file; a missing folder or file raises FileNotFoundError.

    >>> xtrain, ytrain, xtest, ytest = load_mnist("~/data/mnist")  # doctest: +SKIP
    >>> xtrain.shape, ytrain.dtype  # doctest: +SKIP
    ((60000, 784), dtype('int64'))
    """
    folder = os.path.expanduser(os.fspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"load_mnist: folder {folder!r} does not exist "
                                f"(expected it to hold {', '.join(IDX_FILES)} "
                                f"(each optionally .gz) or {', '.join(NPY_FILES)})")
    idx = [_find(folder, name) for name in IDX_FILES]
    npy = [os.path.join(folder, name) for name in NPY_FILES]
    if all(idx):
        xtrain, ytrain, xtest, ytest = (read_idx(p, 3 if i % 2 == 0 else 1)
                                        for i, p in enumerate(idx))
        ytrain, ytest = (_whole_numbers(y, os.path.basename(p), NUM_CLASSES - 1, "labels")
                         .astype(np.int64) for y, p in ((ytrain, idx[1]), (ytest, idx[3])))
        names = [os.path.basename(p) for p in idx]
    elif all(os.path.isfile(p) for p in npy):
        xtrain, ytrain, xtest, ytest = (_read_npy(p, "images" if i % 2 == 0 else "labels")
                                        for i, p in enumerate(npy))
        names = list(NPY_FILES)
    else:
        missing_idx = [n + "[.gz]" for n, p in zip(IDX_FILES, idx) if p is None]
        missing_npy = [n for n, p in zip(NPY_FILES, npy) if not os.path.isfile(p)]
        raise FileNotFoundError(
            f"load_mnist: no complete MNIST set in {folder!r}: looked for the IDX files "
            f"{', '.join(IDX_FILES)} (each optionally .gz; missing {', '.join(missing_idx)}) "
            f"and for the NumPy files {', '.join(NPY_FILES)} (missing {', '.join(missing_npy)})")
    for x, y, xname, yname in ((xtrain, ytrain, names[0], names[1]),
                               (xtest, ytest, names[2], names[3])):
        if len(x) != len(y):
            raise ValueError(f"load_mnist: {xname} has {len(x)} images but {yname} "
                             f"has {len(y)} labels")
    shape = (ROWS * COLS,) if flatten else (ROWS, COLS)
    # a view of freshly read data; np.require copies only if it is not writable C order
    xtrain, xtest = (np.require(x.reshape(len(x), *shape), requirements=["C", "W"])
                     for x in (xtrain, xtest))
    return MNIST(xtrain, ytrain, xtest, ytest)
