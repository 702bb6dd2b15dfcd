"""Checkpoints: ``save(obj, path)`` and ``load(path)`` as safetensors files, without pickle.

A checkpoint holds nested dicts (str or int keys), lists, tuples, None, bool, int, float,
str, Tensors, NumPy arrays and NumPy scalars.  The file is a plain safetensors file
(written and read by the ``safetensors`` package): every array is one safetensors tensor
named by its place in the structure (``"model.0.weight"``; a bare model state dict keeps
PyTorch's names), so ``safetensors.torch.load_file`` opens it unchanged.  The structure
around the arrays (nesting, Python scalars, which names are Tensors) and a SHA-256 digest
of the whole file are text in the safetensors metadata.  ``docs/checkpoints.md`` gives
the layout.  Loading never executes anything from the file, verifies the digest before
trusting any of it, and bounds the memory a crafted header can make it allocate.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import secrets
import stat
from typing import Any

import numpy as np
import safetensors

from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError"]

FORMAT_VERSION = 2  # version 1 was our own binary layout, still read by _checkpoint_v1
KEY_VERSION = "microgradnn"
KEY_STRUCTURE = "microgradnn.structure"
KEY_DIGEST = "microgradnn.sha256"
_PLACEHOLDER = "0" * 64  # the digest's place while the file is hashed
_DIGEST_FIELD = re.compile(rb'"microgradnn\.sha256":"([0-9a-f]{64})"')
_HEX_INT = re.compile(r"-?[0-9a-f]+\Z")

MAX_DEPTH = 64
# The safetensors package refuses headers above 100 MB; save checks the same limit so it
# never writes a file that cannot be read back.
MAX_HEADER_NBYTES = 100_000_000
# What parsing a header may cost in Python objects, estimated from its text before
# parsing (see _parse_cost).  With the file's bytes and the arrays made from them this
# bounds load at about twice the file's size plus this allowance.
HEADER_ALLOWANCE = 64 * 1024 * 1024
# JSON numbers in the structure stay within int64, so any JSON reader reads them exactly;
# larger ints are written in hexadecimal (no digit limit applies to base 16).
_JSON_INT = (-(2**63), 2**63)

# NumPy dtype <-> safetensors dtype code.  Complex arrays are stored as pairs of reals
# (safetensors has no complex128), bfloat16 and float8 have no NumPy dtype.
_CODES = {"bool": "BOOL", "int8": "I8", "int16": "I16", "int32": "I32", "int64": "I64",
          "uint8": "U8", "uint16": "U16", "uint32": "U32", "uint64": "U64",
          "float16": "F16", "float32": "F32", "float64": "F64"}
_DTYPES = {code: np.dtype(name) for name, code in _CODES.items()}
_COMPLEX = {"complex64": np.dtype("float32"), "complex128": np.dtype("float64")}
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_ARRAY_TAGS = ("tensor", "ndarray", "scalar")
_TMP_NAME = r"\.{base}\.[0-9a-f]{{12}}\.tmp\Z"  # our temporary files: .<name>.<12 hex>.tmp


class CheckpointError(Exception):
    """A file cannot be loaded as a checkpoint: truncated, corrupted, foreign or too new."""


def _parse_cost(text: bytes) -> int:
    """An upper bound on the bytes of Python objects ``json.loads`` builds from ``text``.

    Every JSON value (at most one per ``, : [ {`` plus one) costs at most about 128 bytes
    of object and container slot; string characters at most 4 bytes each (UCS-4).
    """
    values = 1 + sum(text.count(c) for c in (b",", b":", b"[", b"{"))
    return 128 * values + 4 * len(text)


# ---------------------------------------------------------------------------- save


class _Encoder:
    """Turns a state dict into a JSON-able tree and a dict of named arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}  # contiguous little-endian, by tensor name

    def name(self, parts: list[str]) -> str:
        # the path in the structure, as PyTorch names state dict entries; a collision
        # ({"a.b": x, "a": {"b": y}}) or the reserved "__metadata__" gets a "#k" suffix
        base = ".".join(parts)
        try:
            base.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate in a key: safetensors names are UTF-8
            raise ValueError(f"save: the path {base!r} of an array cannot be a safetensors "
                             "tensor name (it is not valid UTF-8)") from None
        name, k = base, 1
        while name in self.arrays or name == "__metadata__":
            k += 1
            name = f"{base}#{k}"
        return name

    def add_array(self, tag: str, arr: np.ndarray, parts: list[str], where: str) -> Any:
        dtype = arr.dtype
        if dtype.name in _COMPLEX:
            c = np.asarray(arr, dtype=dtype.newbyteorder("<"), order="C")
            arr = c.reshape(c.shape + (1,)).view(_COMPLEX[dtype.name].newbyteorder("<"))
            return {"complex": self.add_array(tag, arr, parts, where)}
        if dtype.name not in _CODES or dtype.fields is not None:
            # also rules out object, string, datetime, record and long double dtypes
            raise TypeError(f"save: unsupported array dtype {dtype} at {where} (supported: "
                            f"{', '.join(list(_CODES) + list(_COMPLEX))})")
        name = self.name(parts)
        # one C-order little-endian copy at most; none when the array already is
        self.arrays[name] = np.asarray(arr, dtype=dtype.newbyteorder("<"), order="C")
        return {tag: name}

    def node(self, obj: Any, parts: list[str], where: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError(f"save: nesting deeper than {MAX_DEPTH} levels at {where} "
                             "(is there a reference cycle?)")
        if isinstance(obj, Tensor):
            if not isinstance(obj.data, np.ndarray):
                raise TypeError(f"save: tensor at {where} holds {type(obj.data).__name__}, "
                                "expected a numpy.ndarray")
            return self.add_array("tensor", obj.data, parts, where)
        if isinstance(obj, np.ndarray):
            return self.add_array("ndarray", obj, parts, where)
        # before float: np.float64 subclasses float; np.str_ is saved as the str it is
        if isinstance(obj, np.generic) and not isinstance(obj, str):
            return self.add_array("scalar", np.asarray(obj), parts, where)
        if obj is None or isinstance(obj, bool):
            return obj
        if isinstance(obj, int):
            return _encode_int(int(obj))  # an IntEnum or other subclass is stored as its value
        if isinstance(obj, str):
            return str(obj)
        if isinstance(obj, float):
            if math.isfinite(obj):
                return float(obj)
            return {"float": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
        if isinstance(obj, (list, tuple)):
            items = [self.node(x, parts + [str(i)], f"{where}[{i}]", depth + 1)
                     for i, x in enumerate(obj)]
            return items if isinstance(obj, list) else {"tuple": items}
        if isinstance(obj, dict):
            pairs = []
            for key, value in obj.items():
                if isinstance(key, bool) or not isinstance(key, (str, int)):
                    raise TypeError(f"save: unsupported key type {type(key).__name__} "
                                    f"({key!r}) in dict at {where}; keys must be str or int")
                label = str(key) if isinstance(key, str) else _int_label(int(key))
                key = str(key) if isinstance(key, str) else _encode_int(int(key))
                pairs.append([key, self.node(value, parts + [label],
                                             f"{where}[{label!r}]", depth + 1)])
            return {"dict": pairs}
        raise TypeError(f"save: unsupported type {type(obj).__name__} at {where}")


def _encode_int(n: int) -> Any:
    if _JSON_INT[0] <= n < _JSON_INT[1]:
        return n
    return {"int": format(n, "x")}  # hexadecimal: no digit limit, linear time both ways


def _int_label(n: int) -> str:
    # in tensor names and messages: decimal, or hexadecimal past int64 (no digit limit)
    return str(n) if _JSON_INT[0] <= n < _JSON_INT[1] else format(n, "#x")


def _write_payload(f, arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Serialize with a zero digest, hash those bytes, write them with the digest in place."""
    specs = {name: safetensors.TensorSpec(dtype=a.dtype.name, shape=a.shape,
                                          data_ptr=a.ctypes.data, data_len=a.nbytes)
             for name, a in arrays.items()}
    blob = safetensors.serialize(specs, metadata=metadata)  # `arrays` keeps the data alive
    header_nbytes = int.from_bytes(blob[:8], "little")
    if header_nbytes > MAX_HEADER_NBYTES:
        raise ValueError(f"save: the checkpoint's header would be {header_nbytes} bytes, "
                         f"more than safetensors reads ({MAX_HEADER_NBYTES}); store "
                         "many small values as one array")
    header = blob[8:8 + header_nbytes]
    if _parse_cost(header) > HEADER_ALLOWANCE:
        raise ValueError(f"save: the checkpoint's header ({header_nbytes} bytes, "
                         f"{len(arrays)} arrays) would cost more than load allows for "
                         f"a header ({HEADER_ALLOWANCE} bytes); store many small "
                         "values as one array")
    (field,) = list(_DIGEST_FIELD.finditer(header))  # only the metadata value can match
    start = 8 + field.start(1)
    view = memoryview(blob)
    f.write(view[:start])
    f.write(hashlib.sha256(blob).hexdigest().encode("ascii"))
    f.write(view[start + 64:])


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


def _lock(fd: int) -> bool:
    """Take an exclusive advisory lock on ``fd`` without waiting; False if someone holds it."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks, so no temporary file is ever stale
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _remove_stale_temporaries(folder: str, base: str, ours_mtime_ns: int) -> None:
    """Delete temporary files of earlier saves to ``base`` that were killed midway.

    Only names of our own pattern, only files older than this save's temporary file, and
    only when no live process holds the lock every save keeps on its temporary file.
    """
    pattern = re.compile(_TMP_NAME.format(base=re.escape(base)))
    try:
        names = [n for n in os.listdir(folder) if pattern.match(n)]
    except OSError:
        return
    for name in names:
        stale = os.path.join(folder, name)
        with contextlib.suppress(OSError):
            fd = os.open(stale, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_NONBLOCK", 0))
            try:
                st = os.fstat(fd)
                if (stat.S_ISREG(st.st_mode) and st.st_mtime_ns < ours_mtime_ns
                        and _lock(fd)):
                    # the same file we locked, not one renamed into its place meanwhile
                    now = os.stat(stale, follow_symlinks=False)
                    if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
                        os.unlink(stale)
            finally:
                os.close(fd)


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write a state dict to ``path`` atomically, as a safetensors file (no pickle).

    ``obj`` may nest dicts (str or int keys), lists, tuples, None, bool, int, float,
    str, Tensors, NumPy arrays and NumPy scalars.  The file is written to a temporary
    name in the same folder, flushed to disk and renamed over ``path``, so a crash
    leaves either the old file or the new one; temporary files that killed saves to the
    same path left behind are removed.  Unsupported values raise TypeError naming where
    they sit, before anything touches the disk.

    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "demo.safetensors")
    >>> save({"w": np.arange(3.0), "step": 10}, path)
    >>> load(path)
    {'w': array([0., 1., 2.]), 'step': 10}
    """
    enc = _Encoder()
    root = enc.node(obj, [], "state", 0)
    structure = json.dumps(root, allow_nan=False, separators=(",", ":"))
    if len(structure) > MAX_HEADER_NBYTES:
        raise ValueError(f"save: the structure takes {len(structure)} bytes of text, more "
                         f"than a safetensors header holds ({MAX_HEADER_NBYTES})")
    metadata = {"format": "pt",  # what tools that check safetensors metadata expect
                KEY_VERSION: str(FORMAT_VERSION), KEY_STRUCTURE: structure,
                KEY_DIGEST: _PLACEHOLDER}

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
        # held until this save ends, so a concurrent save does not take us for stale
        _lock(fd)
        born_ns = os.fstat(fd).st_mtime_ns
        with contextlib.suppress(FileNotFoundError):
            mode = os.stat(path).st_mode & 0o7777  # keep the old mode
            os.chmod(fd if os.chmod in os.supports_fd else tmp, mode)
        with os.fdopen(os.dup(fd), "wb") as f:
            _write_payload(f, enc.arrays, metadata)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)
    _fsync_dir(folder)
    _remove_stale_temporaries(folder, base, born_ns)


# ---------------------------------------------------------------------------- load


def _reject_constant(name: str):
    raise ValueError(f"non-standard JSON constant {name}")


def _unique_object(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key in JSON object")
    return out


def _strict_json(text: bytes | str) -> Any:
    return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_object)


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _read_regular_file(path: str) -> bytes:
    # A FIFO or device would block or never end: refuse anything but a regular file,
    # checked before opening and again on the opened file (O_NONBLOCK: opening a FIFO
    # that appeared in between does not wait for a writer).
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError(f"load: {path}: not a regular file ({_file_kind(st.st_mode)})")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb", buffering=0) as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CheckpointError(f"load: {path}: not a regular file "
                                  f"({_file_kind(st.st_mode)})")
        blob = f.readall() if st.st_size else f.read(1)
        if len(blob) != st.st_size:  # the file changed while we read it
            raise CheckpointError(f"load: {path}: the file changed size while being read")
    return blob


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a plain file"


class _Decoder:
    """Rebuilds the saved structure from the parsed metadata and the named arrays."""

    def __init__(self, path: str, arrays: dict[str, np.ndarray]) -> None:
        self.path = path
        self.arrays = arrays
        self.used: set[str] = set()

    def fail(self, what: str):
        raise CheckpointError(f"load: {self.path}: malformed structure: {what}")

    def array(self, name: Any) -> np.ndarray:
        if not isinstance(name, str) or name not in self.arrays:
            self.fail(f"reference to a tensor {_short(name)} the file does not hold")
        # one reference per array, so a small structure cannot make many copies of one
        if name in self.used:
            self.fail(f"tensor {name!r} referenced twice")
        self.used.add(name)
        return self.arrays[name]

    def integer(self, text: Any) -> int:
        if not isinstance(text, str) or not _HEX_INT.match(text):
            self.fail(f"int {_short(text)} is not a hexadecimal string")
        return int(text, 16)

    def leaf(self, tag: str, arr: np.ndarray) -> Any:
        if tag == "tensor":
            return Tensor(arr)
        if tag == "ndarray":
            return arr
        if arr.ndim:
            self.fail(f"scalar array has shape {arr.shape}")
        return arr[()]

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
                if isinstance(key, dict) and set(key) == {"int"}:
                    key = self.integer(key["int"])
                elif isinstance(key, bool) or not isinstance(key, (str, int)):
                    self.fail(f"dict key {_short(key)} is not a str or int")
                if key in out:
                    self.fail(f"duplicate dict key {_short(key)}")
                out[key] = self.node(pair[1], depth + 1)
            return out
        if tag == "float" and isinstance(value, str) and value in _NONFINITE:
            return _NONFINITE[value]
        if tag == "int":
            return self.integer(value)
        if tag in _ARRAY_TAGS:
            return self.leaf(tag, self.array(value))
        if tag == "complex" and isinstance(value, dict) and len(value) == 1:
            ((inner, name),) = value.items()
            if inner in _ARRAY_TAGS:
                arr = self.array(name)
                if arr.dtype not in (np.float32, np.float64) or arr.shape[-1:] != (2,):
                    self.fail(f"complex tensor {name!r} is not float pairs "
                              f"(dtype {arr.dtype}, shape {arr.shape})")
                return self.leaf(inner, arr.view(np.complex64 if arr.dtype == np.float32
                                                 else np.complex128)[..., 0])
        self.fail(f"unexpected node {_short(node)}")


def _check_digest(path: str, blob: bytes, header: bytes, stated: Any) -> None:
    fields = list(_DIGEST_FIELD.finditer(header))
    if len(fields) != 1:
        raise CheckpointError(f"load: {path}: corrupted: expected one SHA-256 digest in the "
                              f"metadata, found {len(fields)}")
    start = 8 + fields[0].start(1)
    view = memoryview(blob)
    sha = hashlib.sha256(view[:start])
    sha.update(_PLACEHOLDER.encode("ascii"))
    sha.update(view[start + 64:])
    view.release()
    if sha.hexdigest().encode("ascii") != fields[0].group(1) or stated != sha.hexdigest():
        raise CheckpointError(f"load: {path}: corrupted: SHA-256 checksum does not match")


def _parse_header(path: str, blob: bytes) -> tuple[bytes, dict]:
    size = len(blob)
    if size < 8:
        raise CheckpointError(f"load: {path}: truncated: file has {size} bytes, shorter "
                              "than the 8-byte safetensors prefix")
    header_nbytes = int.from_bytes(blob[:8], "little")
    if blob[8:9] not in (b"{", b""):
        raise CheckpointError(f"load: {path}: not a safetensors checkpoint (starts with "
                              f"{bytes(blob[:9])!r})")
    if header_nbytes > MAX_HEADER_NBYTES:
        raise CheckpointError(f"load: {path}: declared header of {header_nbytes} bytes "
                              f"exceeds the {MAX_HEADER_NBYTES}-byte limit")
    if 8 + header_nbytes > size:
        raise CheckpointError(f"load: {path}: truncated: file has {size} bytes, its "
                              f"prefix declares a header ending at {8 + header_nbytes}")
    header = bytes(blob[8:8 + header_nbytes])
    if _parse_cost(header) > HEADER_ALLOWANCE:
        raise CheckpointError(f"load: {path}: header of {header_nbytes} bytes describes "
                              f"too many values (limit: {HEADER_ALLOWANCE} bytes of parsed "
                              "objects)")
    try:
        parsed = _strict_json(header.decode("utf-8"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise CheckpointError(f"load: {path}: malformed header: {e}") from None
    if not isinstance(parsed, dict):
        raise CheckpointError(f"load: {path}: malformed header: not a JSON object")
    metadata = parsed.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
            isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"load: {path}: malformed header: '__metadata__' is not an "
                              "object of strings")
    return header, metadata


def load(path: str | os.PathLike) -> Any:
    """Read a checkpoint written by :func:`save`; returns the same structure.

    Tensors come back as :class:`~microgradnn.Tensor` with ``requires_grad=False``,
    arrays as ``numpy.ndarray`` (writable, native byte order), tuples as tuples and int
    keys as ints.  A safetensors file written elsewhere (without our metadata, e.g. by
    ``safetensors.torch.save_file``) loads as a flat dict of name -> Tensor; it carries
    no digest, so damage to it cannot be detected.  A truncated, corrupted, foreign,
    newer or malformed file raises :class:`CheckpointError`; a missing one raises
    FileNotFoundError.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "demo.safetensors")
    >>> save({"state": {0: {"step": 3}}, "betas": (0.9, 0.999)}, path)
    >>> load(path)
    {'state': {0: {'step': 3}}, 'betas': (0.9, 0.999)}
    """
    path = os.fsdecode(path)
    blob = _read_regular_file(path)
    from . import _checkpoint_v1
    if blob[:8] == _checkpoint_v1.MAGIC:
        return _checkpoint_v1.load_v1(path, bytes(blob))

    header, metadata = _parse_header(path, blob)
    # A bit flip cannot make our file look foreign: all three of our keys would have to go.
    ours = any(KEY_VERSION in key.lower() for key in metadata)
    if ours:
        version = metadata.get(KEY_VERSION)
        if version is None or not version.isdigit() or version.startswith("0"):
            raise CheckpointError(f"load: {path}: malformed metadata: format version "
                                  f"{_short(version)}")
        if int(version) > FORMAT_VERSION:
            raise CheckpointError(f"load: {path}: written in checkpoint format version "
                                  f"{version}; this microgradnn reads versions 1 to "
                                  f"{FORMAT_VERSION} (upgrade microgradnn)")
        _check_digest(path, blob, header, metadata.get(KEY_DIGEST))
    del header
    try:
        # safetensors checks that the tensors tile the data exactly, with sizes that
        # match their shapes and dtypes, so no entry can claim more than the file holds
        flat = safetensors.deserialize(blob)
    except Exception as e:  # the package raises its own SafetensorError
        raise CheckpointError(f"load: {path}: not a valid safetensors file: {e}") from None
    del blob
    arrays: dict[str, np.ndarray] = {}
    flat.reverse()
    while flat:  # in file order, dropping safetensors' list entries as we go
        name, info = flat.pop()
        code = info["dtype"]
        if code not in _DTYPES:
            raise CheckpointError(f"load: {path}: tensor {name!r} has dtype {code}, which "
                                  "NumPy cannot hold (convert it to float32 before saving)")
        # views of the writable bytearrays safetensors returns: no copy
        dtype = _DTYPES[code].newbyteorder("<")
        arrays[name] = np.frombuffer(info["data"], dtype=dtype).reshape(info["shape"]) \
            .astype(_DTYPES[code], copy=False)
    if not ours:
        return {name: Tensor(arr) for name, arr in arrays.items()}

    text = metadata.get(KEY_STRUCTURE)
    if text is None:
        raise CheckpointError(f"load: {path}: malformed metadata: no {KEY_STRUCTURE!r}")
    try:
        root = _strict_json(text)
    except (ValueError, RecursionError) as e:
        raise CheckpointError(f"load: {path}: malformed structure: {e}") from None
    dec = _Decoder(path, arrays)
    out = dec.node(root, 0)
    unused = set(arrays) - dec.used
    if unused:
        dec.fail(f"tensor {_short(sorted(unused)[0])} is not referenced by the structure")
    return out
