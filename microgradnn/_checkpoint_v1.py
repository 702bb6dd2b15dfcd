"""Reader for version-1 checkpoints, the format ``mg.save`` wrote before safetensors.

Kept so that old files stay readable (``docs/checkpoints.md`` promised it); nothing writes
this format any more.  A version-1 file is a fixed 32-byte prefix, a JSON header, 64-byte
aligned little-endian array bytes and a SHA-256 digest of everything before it.  Loading
never executes anything from the file and checks every size before allocating.
"""
from __future__ import annotations

import hashlib
import json
import math
import struct
from typing import Any

import numpy as np

from .serialization import CheckpointError
from .tensor import Tensor


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


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


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



def load_v1(path: str, blob: bytes) -> Any:
    """Decode ``blob``, the whole content of the version-1 checkpoint at ``path``."""
    size = len(blob)
    prefix = blob[:PREFIX.size]
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

