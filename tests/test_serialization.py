"""Checkpoints: round trips, every kind of damaged or hostile file, atomic writes."""
from __future__ import annotations

import hashlib
import json
import math
import os
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import microgradnn as mg
from microgradnn import serialization
from microgradnn.serialization import CheckpointError, load, save
from microgradnn.tensor import Tensor

# Profiles come from tests/conftest.py (MICROGRADNN_HYPOTHESIS_PROFILE=dev|ci); a file round
# trip costs about a millisecond, so these tests afford three times the profile's examples.
# tmp_path is shared by all examples of a test on purpose: each one overwrites the same file.
hyp = settings(max_examples=3 * settings.default.max_examples,
               suppress_health_check=[HealthCheck.function_scoped_fixture])

DTYPES = sorted(serialization.DTYPES)


# ------------------------------------------------------------------ helpers


def same(a, b) -> bool:
    """Structural equality: exact types, dtypes, shapes and bits (nan == nan)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Tensor):
        return not b.requires_grad and same(a.data, b.data)
    if isinstance(a, np.ndarray):
        native = a.dtype.newbyteorder("=")
        return (native == b.dtype and a.shape == b.shape
                and np.ascontiguousarray(a, dtype=native).tobytes() == b.tobytes())
    if isinstance(a, np.generic):
        return a.dtype.newbyteorder("=") == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return (list(a) == list(b) and all(type(k) is type(k2) for k, k2 in zip(a, b))
                and all(same(a[k], b[k]) for k in a))
    return a == b


def roundtrip(obj, path):
    save(obj, path)
    return load(path)


def craft(header, data: bytes = b"", *, version=1, flags=0, header_nbytes=None,
          data_nbytes=None, raw_header: bytes | None = None) -> bytes:
    """Build a checkpoint by hand, with a valid checksum unless the caller breaks it."""
    text = raw_header if raw_header is not None else json.dumps(header).encode()
    hn = len(text) if header_nbytes is None else header_nbytes
    dn = len(data) if data_nbytes is None else data_nbytes
    body = serialization.PREFIX.pack(serialization.MAGIC, version, flags, hn, dn) + text
    body += bytes(-len(body) % 64) + data
    return body + hashlib.sha256(body).digest()


def assert_rejected(blob: bytes, path, match: str | None = None) -> CheckpointError:
    path.write_bytes(blob)
    with pytest.raises(CheckpointError, match=match) as info:
        load(path)
    assert str(path) in str(info.value)
    return info.value


# ------------------------------------------------------------------ strategies


@st.composite
def arrays(draw):
    """Arrays of every allowed dtype, either byte order, 0-d and size-0, maybe non-contiguous."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    if dtype.itemsize > 1 and draw(st.booleans()):
        dtype = dtype.newbyteorder(">")
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    a = draw(hnp.arrays(dtype, shape))
    view = draw(st.sampled_from(["plain", "transpose", "step"]))
    if view == "transpose":
        a = a.T
    elif view == "step" and a.ndim:
        a = a[..., ::2]
    return a


leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
    arrays(), arrays().filter(lambda a: a.dtype.kind != "c").map(Tensor),  # no complex tensors
    arrays().filter(lambda a: a.ndim == 0).map(lambda a: a[()]),  # NumPy scalars
)
keys = st.one_of(st.text(max_size=6), st.integers(-5, 10**20))
trees = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.lists(inner, max_size=4).map(tuple),
                            st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)


@pytest.fixture
def ckpt(tmp_path):
    return tmp_path / "ckpt.mgnn"


# ------------------------------------------------------------------ round trips


@hyp
@given(tree=trees)
def test_roundtrip_nested_structures(tree, tmp_path):
    assert same(tree, roundtrip({"root": tree}, tmp_path / "t.mgnn")["root"])


@hyp
@given(a=arrays())
def test_roundtrip_array_is_writable_native_copy(a, tmp_path):
    back = roundtrip(a, tmp_path / "a.mgnn")
    assert same(a, back)
    assert back.flags.writeable and back.flags.c_contiguous and back.dtype.isnative


def test_tensor_comes_back_as_tensor_without_grad(ckpt):
    t = mg.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    back = roundtrip({"w": t}, ckpt)["w"]
    assert isinstance(back, Tensor) and back.requires_grad is False
    assert back.dtype == np.float32 and back.shape == (2, 3)
    np.testing.assert_array_equal(back.data, t.data)


def test_parameter_is_saved_as_its_data(ckpt):
    nn = require("microgradnn.nn", "Parameter")
    p = nn.Parameter(mg.tensor(np.ones((2, 2))).data)
    back = roundtrip({"p": p}, ckpt)["p"]
    assert type(back) is Tensor
    np.testing.assert_array_equal(back.data, np.ones((2, 2)))


def require(module: str, *names: str):
    """The module, or skip while the part of the library it belongs to is not there yet."""
    mod = pytest.importorskip(module)
    for name in names:
        if not hasattr(mod, name):
            pytest.skip(f"{module}.{name} is not available")
    return mod


def test_model_checkpoint_restores_a_fresh_model(ckpt):
    nn = require("microgradnn.nn", "Linear")
    model = nn.Linear(3, 2)
    save({"model": model.state_dict(), "epoch": 4}, ckpt)
    fresh = nn.Linear(3, 2)
    fresh.load_state_dict(load(ckpt)["model"])
    for (name, p), (name2, q) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert name == name2
        np.testing.assert_array_equal(p.data, q.data)
        assert p.dtype == q.dtype


def test_optimizer_checkpoint_restores_a_fresh_optimizer(ckpt):
    nn = require("microgradnn.nn", "Linear")
    optim = require("microgradnn.optim", "Adam")
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(mg.tensor(np.ones((4, 3), np.float32))).sum().backward()
    opt.step()
    save({"model": model.state_dict(), "optim": opt.state_dict()}, ckpt)
    back = load(ckpt)
    assert same(back["optim"], load(ckpt)["optim"])
    fresh = optim.Adam(nn.Linear(3, 2).parameters(), lr=0.5)
    fresh.load_state_dict(back["optim"])
    assert fresh.param_groups[0]["lr"] == 0.01


def test_optimizer_style_state_dict(ckpt):
    state = {
        "model": {"fc.weight": mg.tensor(np.eye(3, dtype=np.float32)),
                  "fc.bias": mg.tensor(np.zeros(3, dtype=np.float32))},
        "optim": {"state": {0: {"step": 7, "exp_avg": np.full(3, 0.5)},
                            1: {"step": 7, "exp_avg": np.zeros((3, 3))}},
                  "param_groups": [{"params": [0, 1], "lr": 0.1, "betas": (0.9, 0.999),
                                    "weight_decay": 0.0, "amsgrad": False, "name": None}]},
        "epoch": 3,
    }
    back = roundtrip(state, ckpt)
    assert same(state, back)
    assert list(back["optim"]["state"]) == [0, 1]
    assert back["optim"]["param_groups"][0]["betas"] == (0.9, 0.999)


def test_int_and_str_keys_stay_distinct(ckpt):
    back = roundtrip({1: "int", "1": "str", -3: None, 10**30: "big"}, ckpt)
    assert back == {1: "int", "1": "str", -3: None, 10**30: "big"}
    assert [type(k) for k in back] == [int, str, int, int]


def test_nonfinite_and_negative_zero_floats(ckpt):
    back = roundtrip([math.nan, math.inf, -math.inf, -0.0, 1e-310, 1.0], ckpt)
    assert math.isnan(back[0]) and back[1:3] == [math.inf, -math.inf]
    assert math.copysign(1.0, back[3]) == -1.0 and back[4] == 1e-310
    assert type(back[5]) is float


def test_numpy_str_scalar_is_saved_as_str(ckpt):
    assert roundtrip({"name": np.str_("fc1")}, ckpt) == {"name": "fc1"}


def test_numpy_scalars_keep_their_type(ckpt):
    obj = [np.float32(1.5), np.int8(-3), np.bool_(True), np.float64(2.0), np.uint64(2**64 - 1)]
    assert same(obj, roundtrip(obj, ckpt))


def test_non_contiguous_and_big_endian_arrays(ckpt):
    base = np.arange(60, dtype=">i4").reshape(3, 4, 5)
    obj = {"strided": base[:, ::2, 1::2], "t": base.T, "neg": base[::-1], "f": np.asfortranarray(base)}
    back = roundtrip(obj, ckpt)
    for k, v in obj.items():
        np.testing.assert_array_equal(back[k], v)
        assert back[k].dtype == np.dtype("int32")


def test_path_may_be_str_bytes_or_pathlike_and_overwrite_replaces(tmp_path):
    save({"a": 1}, str(tmp_path / "x.mgnn"))
    save({"a": 2}, tmp_path / "x.mgnn")
    assert load(str(tmp_path / "x.mgnn")) == {"a": 2}
    save({"a": 3}, os.fsencode(tmp_path / "x.mgnn"))
    assert load(os.fsencode(tmp_path / "x.mgnn")) == {"a": 3}
    assert sorted(os.listdir(tmp_path)) == ["x.mgnn"]


def test_arrays_are_64_byte_aligned_little_endian(ckpt):
    save({"a": np.array([1], np.uint8), "b": np.array([258], ">u2")}, ckpt)
    blob = ckpt.read_bytes()
    magic, version, flags, hn, dn = serialization.PREFIX.unpack_from(blob)
    header = json.loads(blob[32:32 + hn])
    start = -(-(32 + hn) // 64) * 64
    assert (magic, version, flags) == (serialization.MAGIC, 1, 0)
    assert [e["offset"] for e in header["arrays"]] == [0, 64]
    assert blob[start + 64:start + 66] == b"\x02\x01"
    assert len(blob) == start + dn + 32
    assert blob[-32:] == hashlib.sha256(blob[:-32]).digest()


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.mgnn")


# ------------------------------------------------------------------ unsupported values


@pytest.mark.parametrize("value, where, what", [
    ({"opt": {"x": {1, 2}}}, "state['opt']['x']", "type set"),
    ({"f": lambda x: x}, "state['f']", "type function"),
    ({"a": [1, (2, object())]}, r"state['a'][1][1]", "type object"),
    ({"o": np.array([1, None], dtype=object)}, "state['o']", "dtype object"),
    ({"s": np.array(["a"])}, "state['s']", "dtype <U1"),
    ({"d": np.array(["2020-01-01"], dtype="M8[D]")}, "state['d']", "dtype datetime64"),
    ({"l": np.zeros(2, np.longdouble)}, "state['l']", "dtype float128|dtype float64"),
    ({"r": np.zeros(2, dtype=[("x", "f4")])}, "state['r']", "dtype"),
    ({"k": {1.5: 0}}, "state['k']", "key type float"),
    ({"k": {True: 0}}, "state['k']", "key type bool"),
    ({"k": {(1, 2): 0}}, "state['k']", "key type tuple"),
])
def test_unsupported_values_raise_type_error_with_key_path(value, where, what, ckpt):
    if what.startswith("dtype float128") and np.dtype(np.longdouble).itemsize == 8:
        pytest.skip("long double is float64 on this platform")
    with pytest.raises(TypeError) as info:
        save(value, ckpt)
    message = str(info.value)
    assert message.startswith("save: ") and where in message
    assert any(w in message for w in what.split("|"))
    assert not ckpt.exists() and os.listdir(ckpt.parent) == []


def test_reference_cycle_is_a_clear_error(ckpt):
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="nesting deeper"):
        save(loop, ckpt)


def test_depth_limit_is_the_same_for_save_and_load(ckpt):
    deep = leaf = []
    for _ in range(serialization.MAX_DEPTH):
        leaf.append([])
        leaf = leaf[0]
    assert roundtrip(deep, ckpt) == deep
    with pytest.raises(ValueError):
        save([deep], ckpt)


# ------------------------------------------------------------------ damaged files


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.mgnn"
    save({"w": np.arange(4, dtype=np.float32), "step": 2, 0: (None, 1.5)}, path)
    return path.read_bytes()


def test_every_truncation_is_detected(small, tmp_path):
    path = tmp_path / "cut.mgnn"
    for n in range(len(small)):
        message = str(assert_rejected(small[:n], path))
        assert "truncated" in message or "not a microgradnn" in message, (n, message)


def test_every_flipped_byte_is_detected(small, tmp_path):
    path = tmp_path / "flip.mgnn"
    for i in range(len(small)):
        blob = bytearray(small)
        blob[i] ^= 0xFF
        assert_rejected(bytes(blob), path)


@hyp
@given(data=st.data())
def test_random_damage_is_detected(small, tmp_path, data):
    blob = bytearray(small)
    for i in data.draw(st.lists(st.integers(0, len(blob) - 1), min_size=1, max_size=4, unique=True)):
        blob[i] ^= data.draw(st.integers(1, 255))
    assert_rejected(bytes(blob), tmp_path / "damaged.mgnn")


def test_corrupted_data_reports_checksum(small, tmp_path):
    blob = bytearray(small)
    blob[-40] ^= 1  # inside the array data
    assert_rejected(bytes(blob), tmp_path / "c.mgnn", "checksum")


def test_trailing_bytes(small, tmp_path):
    assert_rejected(small + b"\0", tmp_path / "t.mgnn", "unexpected bytes")


@pytest.mark.parametrize("blob", [b"", b"PK\x03\x04", b"\x93NUMPY\x01\x00" + bytes(100),
                                  b"\x80\x04\x95" + bytes(100), b"\x89MGNX\r\n\x1a" + bytes(100)])
def test_foreign_files(blob, tmp_path):
    msg = "truncated" if not blob else "not a microgradnn checkpoint"
    assert_rejected(blob, tmp_path / "f.mgnn", msg)


def test_newer_version(tmp_path):
    err = assert_rejected(craft({"arrays": [], "root": 1}, version=2), tmp_path / "v.mgnn",
                          "version 2")
    assert "reads version 1" in str(err)


@pytest.mark.parametrize("kw, match", [
    ({"version": 0}, "malformed prefix"),
    ({"flags": 1}, "malformed prefix"),
    ({"header_nbytes": 2**63}, "exceeds"),
    ({"header_nbytes": serialization.MAX_HEADER_NBYTES + 1}, "exceeds"),
    ({"header_nbytes": serialization.MAX_HEADER_NBYTES}, "truncated"),
    ({"data_nbytes": 2**64 - 1}, "truncated"),
    ({"data_nbytes": 0}, "unexpected bytes"),
])
def test_lying_prefix(kw, match, tmp_path):
    blob = craft({"arrays": [], "root": None}, b"\0" * 64, **kw)
    assert_rejected(blob, tmp_path / "p.mgnn", match)


def entry(dtype="float32", shape=(2,), offset=0, nbytes=8):
    return {"dtype": dtype, "shape": list(shape), "offset": offset, "nbytes": nbytes}


@pytest.mark.parametrize("header, data, match", [
    # shapes that would allocate without bound, or wrap around, if trusted
    ({"arrays": [entry(shape=(2**62, 2**62))], "root": {"tensor": 0}}, bytes(8), "too large"),
    ({"arrays": [entry(shape=(2**40,) * 64)], "root": {"ndarray": 0}}, bytes(8), "too large"),
    ({"arrays": [entry(shape=(0, 2**62), nbytes=0)], "root": {"ndarray": 0}}, b"", "too large"),
    ({"arrays": [entry(shape=(2**64, 0), nbytes=0)], "root": {"ndarray": 0}}, b"", "too large"),
    ({"arrays": [entry(shape=(2**20, 0, 2**20), nbytes=0)], "root": {"ndarray": 0}}, b"", None),
    ({"arrays": [entry(shape=(3, 5), nbytes=60)], "root": {"ndarray": 0}}, bytes(8), "runs past"),
    ({"arrays": [entry(shape=(1,) * 65)], "root": {"ndarray": 0}}, bytes(8), "invalid shape"),
    ({"arrays": [entry(shape=(-2, -1))], "root": {"ndarray": 0}}, bytes(8), "invalid shape"),
    ({"arrays": [entry(shape=(2.0,))], "root": {"ndarray": 0}}, bytes(8), "invalid shape"),
    ({"arrays": [entry(shape=(True, 2))], "root": {"ndarray": 0}}, bytes(8), "invalid shape"),
    ({"arrays": [entry(nbytes=2**62, shape=(2**60,))], "root": {"ndarray": 0}}, bytes(8), "runs past"),
    ({"arrays": [entry(offset=64)], "root": {"ndarray": 0}}, bytes(8), "runs past"),
    ({"arrays": [entry(offset=-64)], "root": {"ndarray": 0}}, bytes(8), "invalid offset"),
    ({"arrays": [entry(offset=4, nbytes=4, shape=(1,))], "root": {"ndarray": 0}}, bytes(8), "multiple"),
    ({"arrays": [entry(nbytes=4)], "root": {"ndarray": 0}}, bytes(8), "does not fill"),
    ({"arrays": [entry(dtype="object")], "root": {"ndarray": 0}}, bytes(8), "dtype"),
    ({"arrays": [entry(dtype="<U2")], "root": {"ndarray": 0}}, bytes(8), "dtype"),
    ({"arrays": [entry(dtype=["f4"])], "root": {"ndarray": 0}}, bytes(8), "dtype"),
    ({"arrays": [{"dtype": "float32", "shape": [2]}], "root": {"ndarray": 0}}, bytes(8), "entry"),
    ({"arrays": {}, "root": None}, b"", "'arrays' is not a list"),
    # references
    ({"arrays": [entry()], "root": [{"tensor": 0}, {"tensor": 0}]}, bytes(8), "referenced twice"),
    ({"arrays": [entry()], "root": {"tensor": 1}}, bytes(8), "out of range"),
    ({"arrays": [entry()], "root": {"tensor": -1}}, bytes(8), "out of range"),
    ({"arrays": [entry()], "root": {"tensor": "0"}}, bytes(8), "out of range"),
    ({"arrays": [entry()], "root": {"scalar": 0}}, bytes(8), "scalar array"),
    # structure
    ({"arrays": [], "root": {"pickle": "os.system"}}, b"", "unexpected node"),
    ({"arrays": [], "root": {"tuple": 1}}, b"", "unexpected node"),
    ({"arrays": [], "root": {"tuple": [], "dict": []}}, b"", "unexpected node"),
    ({"arrays": [], "root": {"float": "1e999"}}, b"", "unexpected node"),
    ({"arrays": [], "root": {"dict": [[1, 2, 3]]}}, b"", "pair"),
    ({"arrays": [], "root": {"dict": [[1.5, 2]]}}, b"", "not a str or int"),
    ({"arrays": [], "root": {"dict": [[True, 2]]}}, b"", "not a str or int"),
    ({"arrays": [], "root": {"dict": [[1, 2], [1, 3]]}}, b"", "duplicate"),
    ({"arrays": [], "root": [[[[[[[[[[]]]]]]]]]] * 1}, b"", None),  # fine: shallow
    ({"arrays": [], "root": None, "extra": 1}, b"", "keys"),
    ([], b"", "keys"),
])
def test_malicious_headers_with_valid_checksum(header, data, match, tmp_path):
    blob = craft(header, data)
    if match is None:
        (tmp_path / "ok.mgnn").write_bytes(blob)
        load(tmp_path / "ok.mgnn")
        return
    assert_rejected(blob, tmp_path / "h.mgnn", match)


@pytest.mark.parametrize("raw, match", [
    (b"{not json", "malformed header"),
    (b'{"arrays": [], "root": NaN}', "malformed header"),
    (b'{"arrays": [], "root": 1, "root": 2}', "malformed header"),
    (b'{"arrays": [], "root": "\xff\xfe"}', "malformed header"),
    (b'{"arrays": [], "root": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "malformed header"),
    (b'{"arrays": [], "root": ' + b"[" * 70 + b"]" * 70 + b"}", "deeper"),
    (b'{"arrays": [], "root": ' + b'{"tuple": [' * 70 + b"]}" * 70 + b"}", "deeper"),
])
def test_unparsable_headers(raw, match, tmp_path):
    assert_rejected(craft(None, raw_header=raw), tmp_path / "j.mgnn", match)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5) | st.sampled_from(["tensor", "ndarray", "scalar", "dict", "tuple", "float"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["tensor", "ndarray", "scalar", "dict", "tuple", "float",
                                       "dtype", "shape", "offset", "nbytes"]), inner, max_size=2),
    max_leaves=10,
)


@hyp
@given(arrays_=json_values, root=json_values)
def test_fuzzed_headers_load_or_raise_checkpoint_error(arrays_, root, tmp_path):
    path = tmp_path / "fuzz.mgnn"
    path.write_bytes(craft({"arrays": arrays_, "root": root}, bytes(64)))
    try:
        load(path)
    except CheckpointError:
        pass


array_entries = st.fixed_dictionaries({
    "dtype": st.sampled_from(DTYPES + ["object", "<U3", "float128"]),
    "shape": st.lists(st.integers(0, 4) | st.integers(-2, 2**70), max_size=4),
    "offset": st.sampled_from([0, 64, 128, -64, 3]) | st.integers(),
    "nbytes": st.integers(0, 200) | st.integers(),
})
references = st.fixed_dictionaries({}, optional={
    tag: st.integers(-1, 3) for tag in ("tensor", "ndarray", "scalar")})


@hyp
@given(entries=st.lists(array_entries, max_size=3), root=st.lists(references, max_size=4))
def test_fuzzed_array_entries_load_or_raise_checkpoint_error(entries, root, tmp_path):
    path = tmp_path / "fuzz.mgnn"
    path.write_bytes(craft({"arrays": entries, "root": root}, bytes(192)))
    try:
        back = load(path)
    except CheckpointError:
        return
    assert len(back) == len(root)


# ------------------------------------------------------------------ atomic writes


@pytest.fixture
def previous(tmp_path):
    path = tmp_path / "model.mgnn"
    save({"version": "old", "w": np.ones(3)}, path)
    return path, path.read_bytes()


def assert_untouched(previous):
    path, before = previous
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]  # no temporary file left behind
    assert load(path)["version"] == "old"


def test_failed_replace_keeps_previous_file(previous, monkeypatch):
    def boom(src, dst):
        raise OSError("simulated rename failure")
    monkeypatch.setattr(serialization.os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        save({"version": "new", "w": np.zeros(1000)}, previous[0])
    assert_untouched(previous)


def test_failed_write_midway_keeps_previous_file(previous, monkeypatch):
    real = serialization._write_payload

    def half(f, header, enc):
        f.write(b"partial garbage")
        raise OSError("simulated disk full")
    monkeypatch.setattr(serialization, "_write_payload", half)
    with pytest.raises(OSError, match="disk full"):
        save({"version": "new"}, previous[0])
    assert_untouched(previous)
    monkeypatch.setattr(serialization, "_write_payload", real)
    save({"version": "new"}, previous[0])
    assert load(previous[0]) == {"version": "new"}


def test_failed_fsync_keeps_previous_file(previous, monkeypatch):
    def boom(fd):
        raise OSError("simulated fsync failure")
    monkeypatch.setattr(serialization.os, "fsync", boom)
    with pytest.raises(OSError, match="fsync"):
        save({"version": "new"}, previous[0])
    assert_untouched(previous)


def test_keyboard_interrupt_during_write_cleans_up(previous, monkeypatch):
    def interrupted(f, header, enc):
        raise KeyboardInterrupt
    monkeypatch.setattr(serialization, "_write_payload", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save({"version": "new"}, previous[0])
    assert_untouched(previous)


def test_unsupported_value_leaves_previous_file(previous):
    with pytest.raises(TypeError):
        save({"version": "new", "bad": {1}}, previous[0])
    assert_untouched(previous)


def test_missing_folder_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        save({}, tmp_path / "no" / "such" / "x.mgnn")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_new_file_mode_follows_umask(tmp_path):
    old = os.umask(0o027)
    try:
        save({}, tmp_path / "m.mgnn")
    finally:
        os.umask(old)
    assert (tmp_path / "m.mgnn").stat().st_mode & 0o777 == 0o640


def test_overlapping_array_regions_are_rejected(tmp_path):
    # A small file must not describe the same bytes many times (and so allocate many times).
    mib = 1 << 20
    header = json.dumps({"arrays": [{"dtype": "uint8", "shape": [mib], "offset": 0,
                                     "nbytes": mib}] * 50,
                         "root": [{"ndarray": i} for i in range(50)]}).encode()
    body = serialization.PREFIX.pack(serialization.MAGIC, 1, 0, len(header), mib) + header
    body += bytes(-len(body) % 64) + bytes(mib)
    assert_rejected(body + hashlib.sha256(body).digest(), tmp_path / "x.mgnn", match="overlaps")


def test_save_through_a_symlink_keeps_the_link_and_the_file_mode(tmp_path):
    target = tmp_path / "ck.mgnn"
    save({"a": 1}, target)
    os.chmod(target, 0o600)
    link = tmp_path / "link.mgnn"
    link.symlink_to(target)
    save({"a": 2}, link)
    assert link.is_symlink() and load(target) == {"a": 2}
    assert (os.stat(target).st_mode & 0o777) == 0o600
