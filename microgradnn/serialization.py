"""Checkpoints: ``save(obj, path)`` and ``load(path)`` for state dicts, without pickle.

A checkpoint holds nested dicts (str or int keys), lists, tuples, None, bool, int,
float, str, Tensors, NumPy arrays and NumPy scalars.  The file is a fixed 32-byte
prefix, a JSON header describing the structure, 64-byte-aligned little-endian array
bytes and a SHA-256 digest of everything before it; ``docs/checkpoints.md`` gives
the layout byte by byte.  Loading never executes anything from the file: the header
is JSON, array dtypes come from a fixed allow-list, and every size is checked
against the file before any memory is allocated for it.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import secrets
import struct
from typing import Any

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError"]

MAGIC = b"\x89MGNN\r\n\x1a"
VERSION = 1
PREFIX = struct.Struct("<8sIIQQ")  # magic, version, flags, header_nbytes, data_nbytes
ALIGN = 64
DIGEST_NBYTES = 32  # SHA-256

# Limits a loaded file must respect; they bound what a crafted file can make us allocate.
MAX_HEADER_NBYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
MAX_NDIM = 64  # NumPy's own limit
_INTP_MAX = int(np.iinfo(np.intp).max)

# Dtypes a checkpoint may contain, by the name written in the header.  Always stored
# little-endian.  long double is left out: its size differs between platforms.
DTYPES = {
    name: np.dtype(name)
    for name in (
        "bool",
        "int8", "int16", "int32", "int64",
        "uint8", "uint16", "uint32", "uint64",
        "float16", "float32", "float64",
        "complex64", "complex128",
    )
}
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class CheckpointError(Exception):
    """A file cannot be loaded as a checkpoint: truncated, corrupted, foreign or too new."""


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


# ---------------------------------------------------------------------------- save


class _Encoder:
    """Turns a state dict into a JSON-able tree plus a list of arrays to write."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []  # contiguous little-endian, in file order
        self.entries: list[dict[str, Any]] = []
        self.data_nbytes = 0

    def add_array(self, arr: np.ndarray, where: str) -> int:
        name = arr.dtype.name
        if name not in DTYPES:  # also rules out object, string, datetime and record dtypes
            raise TypeError(f"save: unsupported array dtype {arr.dtype} at {where} "
                            f"(supported: {', '.join(DTYPES)})")
        # one C-order little-endian copy at most; none when the array already is
        flat = np.ascontiguousarray(arr, dtype=DTYPES[name].newbyteorder("<")).reshape(-1)
        offset = _align(self.data_nbytes)
        self.entries.append({"dtype": name, "shape": list(arr.shape),
                             "offset": offset, "nbytes": flat.nbytes})
        self.arrays.append(flat)
        self.data_nbytes = offset + flat.nbytes
        return len(self.entries) - 1

    def node(self, obj: Any, where: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError(f"save: nesting deeper than {MAX_DEPTH} levels at {where} "
                             "(is there a reference cycle?)")
        if isinstance(obj, Tensor):
            data = obj.data
            if not isinstance(data, np.ndarray):
                raise TypeError(f"save: tensor at {where} holds {type(data).__name__}, "
                                "expected a numpy.ndarray")
            return {"tensor": self.add_array(data, where)}
        if isinstance(obj, np.ndarray):
            return {"ndarray": self.add_array(obj, where)}
        # before float: np.float64 subclasses float; np.str_ is saved as the str it is
        if isinstance(obj, np.generic) and not isinstance(obj, str):
            return {"scalar": self.add_array(np.asarray(obj), where)}
        if obj is None or isinstance(obj, bool):
            return obj
        if isinstance(obj, int):
            return int(obj)  # an IntEnum or other subclass is stored as its value
        if isinstance(obj, str):
            return str(obj)
        if isinstance(obj, float):
            if math.isfinite(obj):
                return float(obj)
            return {"float": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
        if isinstance(obj, list):
            return [self.node(x, f"{where}[{i}]", depth + 1) for i, x in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"tuple": [self.node(x, f"{where}[{i}]", depth + 1)
                              for i, x in enumerate(obj)]}
        if isinstance(obj, dict):
            pairs = []
            for key, value in obj.items():
                if isinstance(key, bool) or not isinstance(key, (str, int)):
                    raise TypeError(f"save: unsupported key type {type(key).__name__} "
                                    f"({key!r}) in dict at {where}; keys must be str or int")
                pairs.append([key, self.node(value, f"{where}[{key!r}]", depth + 1)])
            return {"dict": pairs}
        raise TypeError(f"save: unsupported type {type(obj).__name__} at {where}")


class _HashingWriter:
    """Writes to a binary file and feeds the same bytes to SHA-256."""

    def __init__(self, f) -> None:
        self.f = f
        self.sha = hashlib.sha256()
        self.pos = 0

    def write(self, b) -> None:
        self.sha.update(b)
        self.f.write(b)
        self.pos += memoryview(b).nbytes

    def pad_to(self, pos: int) -> None:
        self.write(bytes(pos - self.pos))


def _write_payload(f, header: bytes, enc: _Encoder) -> None:
    out = _HashingWriter(f)
    out.write(PREFIX.pack(MAGIC, VERSION, 0, len(header), enc.data_nbytes))
    out.write(header)
    data_start = _align(out.pos)
    out.pad_to(data_start)
    for entry, flat in zip(enc.entries, enc.arrays):
        out.pad_to(data_start + entry["offset"])
        out.write(flat.view(np.uint8))
    f.write(out.sha.digest())


def _fsync_dir(folder: str) -> None:
    # makes the rename itself durable; POSIX only (Windows cannot open a folder)
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write a state dict to ``path`` atomically (no pickle).

    ``obj`` may nest dicts (str or int keys), lists, tuples, None, bool, int, float,
    str, Tensors, NumPy arrays and NumPy scalars.  The file is written to a temporary
    name in the same folder, flushed to disk and renamed over ``path``, so a crash
    leaves either the old file or the new one.  Unsupported values raise TypeError
    naming where they sit, before anything touches the disk.

    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "demo.mgnn")
    >>> save({"w": np.arange(3.0), "step": 10}, path)
    >>> load(path)
    {'w': array([0., 1., 2.]), 'step': 10}
    """
    enc = _Encoder()
    root = enc.node(obj, "state", 0)
    header = json.dumps({"arrays": enc.entries, "root": root},
                        allow_nan=False, separators=(",", ":")).encode("utf-8")

    # Through a symlink: replace the file it points to, not the link itself.
    path = os.path.realpath(os.fsdecode(path))
    folder, base = os.path.split(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)  # 0o666 & ~umask, like a plain open()
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(f.fileno(), os.stat(path).st_mode & 0o7777)  # keep the old mode
            _write_payload(f, header, enc)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


# ---------------------------------------------------------------------------- load


class _Decoder:
    """Rebuilds the saved structure from a parsed header and the file's bytes."""

    def __init__(self, path: str, blob: bytes, data_start: int, data_nbytes: int,
                 entries: Any) -> None:
        self.path = path
        self.blob = blob
        self.data_start = data_start
        self.data_nbytes = data_nbytes
        if not isinstance(entries, list):
            self.fail("'arrays' is not a list")
        self.entries = entries
        self.used = [False] * len(entries)
        # save() writes arrays one after another; regions that overlap could let a small
        # file describe the same bytes many times over (and make load allocate that much).
        # (Malformed entries are reported by array() when referenced.)
        end = 0
        for index, entry in enumerate(entries):
            offset = entry.get("offset") if isinstance(entry, dict) else None
            nbytes = entry.get("nbytes") if isinstance(entry, dict) else None
            if type(offset) is not int or type(nbytes) is not int or min(offset, nbytes) < 0:
                continue
            if offset < end:
                self.fail(f"array {index} (offset {offset}) overlaps the array before it, "
                          f"which ends at {end}")
            end = offset + nbytes

    def fail(self, what: str):
        raise CheckpointError(f"load: {self.path}: malformed header: {what}")

    def array(self, index: Any) -> np.ndarray:
        if type(index) is not int or not 0 <= index < len(self.entries):
            self.fail(f"array reference {index!r} out of range")
        # one reference per array, so a small header cannot make many copies of a big array
        if self.used[index]:
            self.fail(f"array {index} referenced twice")
        self.used[index] = True
        entry = self.entries[index]
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "offset", "nbytes"}:
            self.fail(f"array {index} entry is not {{dtype, shape, offset, nbytes}}")
        dtype, shape = entry["dtype"], entry["shape"]
        offset, nbytes = entry["offset"], entry["nbytes"]
        if not isinstance(dtype, str) or dtype not in DTYPES:
            self.fail(f"array {index} has unsupported dtype {dtype!r}")
        if (not isinstance(shape, list) or len(shape) > MAX_NDIM
                or any(type(d) is not int or d < 0 for d in shape)):
            self.fail(f"array {index} has invalid shape {shape!r}")
        for name, value in (("offset", offset), ("nbytes", nbytes)):
            if type(value) is not int or value < 0:
                self.fail(f"array {index} has invalid {name} {value!r}")
        if offset % ALIGN:
            self.fail(f"array {index} offset {offset} is not a multiple of {ALIGN}")
        if offset + nbytes > self.data_nbytes:
            self.fail(f"array {index} (offset {offset}, {nbytes} bytes) runs past the "
                      f"end of the data section ({self.data_nbytes} bytes)")
        # NumPy refuses shapes whose nonzero dims span more than intp bytes, even when
        # another dim is 0; the running product only grows, so absurd shapes stop early
        extent = DTYPES[dtype].itemsize
        for d in shape:
            extent *= max(d, 1)
            if extent > _INTP_MAX:
                self.fail(f"array {index} has shape {_short(shape)}, too large for NumPy")
        size = 0 if 0 in shape else extent
        if size != nbytes:
            self.fail(f"array {index} of shape {tuple(shape)} and dtype {dtype} "
                      f"does not fill its {nbytes} bytes")
        start = self.data_start + offset
        stored = DTYPES[dtype].newbyteorder("<")
        flat = np.frombuffer(self.blob, dtype=stored, count=nbytes // stored.itemsize,
                             offset=start)
        # astype copies, giving a writable array in native byte order
        return flat.reshape(shape).astype(DTYPES[dtype])

    def node(self, node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            self.fail(f"nesting deeper than {MAX_DEPTH} levels")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.node(x, depth + 1) for x in node]
        if not isinstance(node, dict) or len(node) != 1:
            self.fail(f"unexpected node {_short(node)}")
        ((tag, value),) = node.items()
        if tag == "tuple" and isinstance(value, list):
            return tuple(self.node(x, depth + 1) for x in value)
        if tag == "dict" and isinstance(value, list):
            out: dict = {}
            for pair in value:
                if not (isinstance(pair, list) and len(pair) == 2):
                    self.fail(f"dict item {_short(pair)} is not a [key, value] pair")
                key = pair[0]
                if isinstance(key, bool) or not isinstance(key, (str, int)):
                    self.fail(f"dict key {_short(key)} is not a str or int")
                if key in out:
                    self.fail(f"duplicate dict key {key!r}")
                out[key] = self.node(pair[1], depth + 1)
            return out
        if tag == "float" and isinstance(value, str) and value in _NONFINITE:
            return _NONFINITE[value]
        if tag == "tensor":
            return Tensor(self.array(value))
        if tag == "ndarray":
            return self.array(value)
        if tag == "scalar":
            arr = self.array(value)
            if arr.ndim:
                self.fail(f"scalar array {value} has shape {arr.shape}")
            return arr[()]
        self.fail(f"unexpected node {_short(node)}")


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _reject_constant(name: str):
    raise ValueError(f"non-standard JSON constant {name}")


def _unique_object(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key in JSON object")
    return out


def load(path: str | os.PathLike) -> Any:
    """Read a checkpoint written by :func:`save`; returns the same structure.

    Tensors come back as :class:`~microgradnn.Tensor` with ``requires_grad=False``,
    arrays as ``numpy.ndarray`` (writable, native byte order), tuples as tuples and int
    keys as ints.  A truncated, corrupted, foreign, newer or malformed file raises
    :class:`CheckpointError`; a missing one raises FileNotFoundError.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "demo.mgnn")
    >>> save({"state": {0: {"step": 3}}, "betas": (0.9, 0.999)}, path)
    >>> load(path)
    {'state': {0: {'step': 3}}, 'betas': (0.9, 0.999)}
    """
    path = os.fsdecode(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        prefix = f.read(PREFIX.size)
        if not MAGIC.startswith(prefix[: len(MAGIC)]):
            raise CheckpointError(f"load: {path}: not a microgradnn checkpoint "
                                  f"(starts with {prefix[:len(MAGIC)]!r}, expected {MAGIC!r})")
        if len(prefix) < PREFIX.size:
            raise CheckpointError(f"load: {path}: truncated: file has {len(prefix)} bytes, "
                                  f"shorter than the {PREFIX.size}-byte prefix")
        _, version, flags, header_nbytes, data_nbytes = PREFIX.unpack(prefix)
        if version > VERSION:
            raise CheckpointError(f"load: {path}: written in checkpoint format version "
                                  f"{version}; this microgradnn reads version {VERSION} "
                                  "(upgrade microgradnn)")
        if version < 1 or flags != 0:
            raise CheckpointError(f"load: {path}: malformed prefix "
                                  f"(version {version}, flags {flags:#x})")
        if header_nbytes > MAX_HEADER_NBYTES:
            raise CheckpointError(f"load: {path}: declared header of {header_nbytes} bytes "
                                  f"exceeds the {MAX_HEADER_NBYTES}-byte limit")
        data_start = _align(PREFIX.size + header_nbytes)
        expected = data_start + data_nbytes + DIGEST_NBYTES
        if size < expected:
            raise CheckpointError(f"load: {path}: truncated: file has {size} bytes, "
                                  f"its prefix declares {expected}")
        if size > expected:
            raise CheckpointError(f"load: {path}: {size - expected} unexpected bytes after "
                                  f"the end of the checkpoint ({expected} bytes)")
        f.seek(0)
        blob = f.read(expected + 1)
    if len(blob) != expected:  # the file changed while we read it
        raise CheckpointError(f"load: {path}: file is {len(blob)} bytes, expected {expected}")

    body = memoryview(blob)[:-DIGEST_NBYTES]
    if hashlib.sha256(body).digest() != blob[-DIGEST_NBYTES:]:
        raise CheckpointError(f"load: {path}: corrupted: SHA-256 checksum does not match")

    try:
        text = bytes(body[PREFIX.size:PREFIX.size + header_nbytes]).decode("utf-8")
        header = json.loads(text, parse_constant=_reject_constant,
                            object_pairs_hook=_unique_object)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise CheckpointError(f"load: {path}: malformed header: {e}") from None
    if not isinstance(header, dict) or set(header) != {"arrays", "root"}:
        raise CheckpointError(f"load: {path}: malformed header: expected an object "
                              "with keys 'arrays' and 'root'")
    dec = _Decoder(path, blob, data_start, data_nbytes, header["arrays"])
    return dec.node(header["root"], 0)
