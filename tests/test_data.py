"""Datasets, DataLoader batching and shuffling, MNIST file parsing, sklearn digits."""
from __future__ import annotations

import gzip
import math
import os
import struct
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradnn as mg
from microgradnn.data import (MNIST, DataLoader, Dataset, TensorDataset, default_collate,
                              load_digits, load_mnist)
from microgradnn.data.mnist import IDX_FILES, NPY_FILES
from microgradnn.tensor import Tensor



# ------------------------------------------------------------------ TensorDataset


def test_tensor_dataset_accepts_tensors_and_arrays():
    x = mg.tensor(np.arange(12, dtype=np.float32).reshape(4, 3))
    y = np.array([0, 1, 2, 3])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    assert isinstance(xi, Tensor) and isinstance(yi, Tensor)
    np.testing.assert_array_equal(xi.data, [6, 7, 8])
    assert yi.data == 2 and yi.shape == () and yi.dtype == np.int64
    assert not xi.requires_grad


def test_tensor_dataset_samples_do_not_alias_its_memory():
    x = np.zeros((3, 2))
    xi, = TensorDataset(x)[0]
    xi.data[:] = 5
    xb, = TensorDataset(x)[np.array([0, 1])]
    xb.data[:] = 5
    xs, = TensorDataset(x)[0:2]
    xs.data[:] = 5
    assert not x.any()


def test_tensor_dataset_batch_indexing():
    ds = TensorDataset(np.arange(10).reshape(5, 2), np.arange(5) * 10)
    xb, yb = ds[np.array([4, 0, 4])]
    np.testing.assert_array_equal(xb.data, [[8, 9], [0, 1], [8, 9]])
    np.testing.assert_array_equal(yb.data, [40, 0, 40])


def test_tensor_dataset_size_mismatch_names_sizes():
    with pytest.raises(ValueError, match=r"\[3, 4\]"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))


@pytest.mark.parametrize("args, error, match", [
    ((), ValueError, "at least one"),
    ((np.float32(1.0),), TypeError, "argument 0"),
    ((np.zeros(3), [1, 2, 3]), TypeError, "argument 1 is list"),
    ((np.array(1.0),), ValueError, "0-d"),
])
def test_tensor_dataset_rejects_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        TensorDataset(*args)


def test_base_dataset_is_abstract():
    with pytest.raises(NotImplementedError):
        Dataset()[0]
    with pytest.raises(NotImplementedError):
        len(Dataset())


# ------------------------------------------------------------------ DataLoader


def batches_of(loader):
    return [tuple(t.data.copy() for t in batch) for batch in loader]


@settings(max_examples=3 * settings.default.max_examples)  # cheap: no files
@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=st.integers(0, 2**32))
def test_batches_cover_the_dataset(n, batch_size, shuffle, drop_last, seed):
    ds = TensorDataset(np.arange(n), np.arange(n, dtype=np.float32).reshape(n, 1) * 2)
    loader = DataLoader(ds, batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed)
    got = batches_of(loader)
    assert len(got) == len(loader)
    expected_len = n // batch_size if drop_last else math.ceil(n / batch_size)
    assert len(loader) == expected_len
    full = got if drop_last else got[:-1]  # only the last batch may be short
    assert all(len(i) == batch_size for i, _ in full)
    seen = np.concatenate([i for i, _ in got]) if got else np.zeros(0, np.int64)
    assert len(seen) == (expected_len * batch_size if drop_last else n)
    assert len(set(seen.tolist())) == len(seen)  # no sample twice in an epoch
    if not shuffle:
        np.testing.assert_array_equal(seen, np.arange(len(seen)))
    for i, v in got:  # fields stay paired
        np.testing.assert_array_equal(v[:, 0], i * 2)


def test_batches_are_tensors_with_dtypes_kept():
    ds = TensorDataset(np.zeros((5, 3), np.float64), mg.tensor(np.arange(5, dtype=np.uint8)))
    xb, yb = next(iter(DataLoader(ds, batch_size=4)))
    assert isinstance(xb, Tensor) and xb.dtype == np.float64 and xb.shape == (4, 3)
    assert isinstance(yb, Tensor) and yb.dtype == np.uint8 and not yb.requires_grad


def test_shuffle_is_reproducible_and_new_each_epoch():
    ds = TensorDataset(np.arange(100))

    def epochs(seed):
        loader = DataLoader(ds, batch_size=10, shuffle=True, seed=seed)
        return [np.concatenate([b.data for b, in loader]) for _ in range(3)]

    a, b, c = epochs(7), epochs(7), epochs(8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], a[1]) and not np.array_equal(a[1], a[2])
    assert not np.array_equal(a[0], c[0])
    # the documented recipe: one default_rng(seed), one permutation per epoch
    rng = np.random.default_rng(7)
    np.testing.assert_array_equal(a[0], rng.permutation(100))
    np.testing.assert_array_equal(a[1], rng.permutation(100))


def test_no_shuffle_keeps_order():
    ds = TensorDataset(np.arange(7))
    assert [b.data.tolist() for b, in DataLoader(ds, batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.data.tolist() for b, in DataLoader(ds, 3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]


class CountingArray(np.ndarray):
    """An ndarray that counts how often it is indexed."""

    calls = 0

    def __getitem__(self, index):
        CountingArray.calls += 1
        return np.asarray(self).__getitem__(index)


def test_tensor_dataset_batches_use_one_fancy_index_per_tensor():
    x = np.zeros((1000, 4)).view(CountingArray)
    y = np.zeros(1000, np.int64).view(CountingArray)
    CountingArray.calls = 0
    n_batches = sum(1 for _ in DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=0))
    assert n_batches == 16
    assert CountingArray.calls == 2 * n_batches


def test_mnist_sized_epoch_visits_every_sample_once():
    # Speed is covered structurally (one fancy-index per batch, above), never by a clock.
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(60_000, 784), dtype=np.uint8)
    y = np.arange(60_000)
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=0)
    seen = np.concatenate([yb.data for _, yb in loader])
    assert len(loader) == 938
    np.testing.assert_array_equal(np.sort(seen), y)


class Pairs(Dataset):
    """A generic dataset: samples built one by one in Python."""

    def __init__(self, make, n=5):
        self.make, self.n = make, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.make(i)


def test_generic_dataset_collates_python_numbers():
    xb, yb, flag = next(iter(DataLoader(Pairs(lambda i: (i / 2, i, i % 2 == 0)), batch_size=4)))
    assert xb.dtype == np.float32 and xb.shape == (4,)
    assert yb.dtype == np.int64 and yb.data.tolist() == [0, 1, 2, 3]
    assert flag.dtype == np.bool_ and flag.data.tolist() == [True, False, True, False]


def test_generic_dataset_stacks_arrays_and_tensors():
    ds = Pairs(lambda i: (np.full((2, 3), i, np.float64), mg.tensor(np.array([i, i], np.int32))))
    batches = list(DataLoader(ds, batch_size=2))
    assert [b[0].shape for b in batches] == [(2, 2, 3), (2, 2, 3), (1, 2, 3)]
    assert batches[0][0].dtype == np.float64 and batches[0][1].dtype == np.int32
    np.testing.assert_array_equal(batches[1][1].data, [[2, 2], [3, 3]])


def test_generic_dataset_single_values_and_dicts():
    single = next(iter(DataLoader(Pairs(lambda i: np.array([i, -i])), batch_size=3)))
    assert isinstance(single, Tensor) and single.shape == (3, 2)
    d = next(iter(DataLoader(Pairs(lambda i: {"x": float(i), "y": i}), batch_size=2)))
    assert d["x"].dtype == np.float32 and d["y"].data.tolist() == [0, 1]


def test_generic_dataset_shuffle_matches_tensor_dataset_order():
    generic = DataLoader(Pairs(lambda i: (i,), n=20), batch_size=6, shuffle=True, seed=3)
    fast = DataLoader(TensorDataset(np.arange(20)), batch_size=6, shuffle=True, seed=3)
    for _ in range(2):  # two epochs: both loaders draw the same permutations
        a, b = batches_of(generic), batches_of(fast)
        assert len(a) == len(b) == 4
        assert all(np.array_equal(x[0], y[0]) for x, y in zip(a, b))


def test_custom_collate_fn():
    loader = DataLoader(TensorDataset(np.arange(5)), batch_size=2, collate_fn=len)
    assert list(loader) == [2, 2, 1]


@pytest.mark.parametrize("make, error, match", [
    (lambda i: np.zeros(i + 1), ValueError, "shapes"),
    (lambda i: (1, 2) if i else (1,), ValueError, "structures"),
    (lambda i: "text", TypeError, "cannot collate str"),
    (lambda i: {"a": 1} if i else {"b": 1}, ValueError, "keys"),
])
def test_collate_errors(make, error, match):
    with pytest.raises(error, match=match):
        next(iter(DataLoader(Pairs(make), batch_size=2)))


def test_default_collate_directly():
    x, y = default_collate([(np.ones(2, np.float32), 3), (np.zeros(2, np.float32), 4)])
    assert x.shape == (2, 2) and y.data.tolist() == [3, 4]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": -3}, ValueError, "batch_size"),
    ({"batch_size": 2.0}, TypeError, "batch_size"),
    ({"batch_size": True}, TypeError, "batch_size"),
    ({"batch_size": "8"}, TypeError, "batch_size"),
    ({"shuffle": "yes"}, TypeError, "shuffle"),
    ({"drop_last": 1}, TypeError, "drop_last"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"collate_fn": 3}, TypeError, "collate_fn"),
])
def test_dataloader_validates_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        DataLoader(TensorDataset(np.arange(4)), **kwargs)


def test_dataloader_needs_a_dataset():
    with pytest.raises(TypeError, match="__len__"):
        DataLoader(iter(range(3)))


def test_dataloader_accepts_numpy_ints_and_generators():
    loader = DataLoader(TensorDataset(np.arange(4)), batch_size=np.int64(2), shuffle=True,
                        seed=np.random.default_rng(0))
    assert len(loader) == 2 and loader.batch_size == 2


# ------------------------------------------------------------------ MNIST files


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    head = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return head + array.astype(np.uint8).tobytes()


def write(path, blob: bytes, gz: bool = False):
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(blob)
    else:
        path.write_bytes(blob)


@pytest.fixture
def digits():
    rng = np.random.default_rng(0)
    return MNIST(rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), rng.integers(0, 10, 5),
                 rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), rng.integers(0, 10, 3))


def write_idx_set(folder, data: MNIST, gz=(False, False, False, False)):
    for name, array, zipped in zip(IDX_FILES, data, gz):
        write(folder / name, idx_bytes(array), zipped)


@pytest.mark.parametrize("gz", [(False,) * 4, (True,) * 4, (True, False, False, True)])
def test_load_mnist_idx(gz, digits, tmp_path):
    write_idx_set(tmp_path, digits, gz)
    got = load_mnist(tmp_path)
    assert isinstance(got, MNIST)
    assert got.xtrain.shape == (5, 784) and got.xtrain.dtype == np.uint8
    assert got.xtest.shape == (3, 784) and got.ytest.dtype == np.int64 and got.ytrain.shape == (5,)
    np.testing.assert_array_equal(got.xtrain, digits.xtrain.reshape(5, 784))
    np.testing.assert_array_equal(got.ytest, digits.ytest)
    assert got.xtrain.flags.writeable
    square = load_mnist(str(tmp_path), flatten=False)
    assert square.xtrain.shape == (5, 28, 28) and square.xtest.shape == (3, 28, 28)
    np.testing.assert_array_equal(square.xtest, digits.xtest)


def test_load_mnist_npy(digits, tmp_path):
    np.save(tmp_path / "xtrain.npy", digits.xtrain.reshape(5, 784))
    np.save(tmp_path / "ytrain.npy", digits.ytrain.astype(np.uint8))
    np.save(tmp_path / "xtest.npy", digits.xtest.astype(np.float64))  # (N, 28, 28) floats 0..255
    np.save(tmp_path / "ytest.npy", digits.ytest)
    got = load_mnist(tmp_path)
    assert got.xtrain.dtype == np.uint8 and got.xtrain.shape == (5, 784)
    assert got.xtest.dtype == np.uint8 and got.xtest.shape == (3, 784)
    assert got.ytrain.dtype == np.int64 and got.ytest.dtype == np.int64
    np.testing.assert_array_equal(got.xtest, digits.xtest.reshape(3, 784))
    np.testing.assert_array_equal(got.ytrain, digits.ytrain)
    assert load_mnist(tmp_path, flatten=False).xtrain.shape == (5, 28, 28)


def test_load_mnist_feeds_a_dataloader(digits, tmp_path):
    write_idx_set(tmp_path, digits)
    xtrain, ytrain, _, _ = load_mnist(tmp_path)
    xb, yb = next(iter(DataLoader(TensorDataset(xtrain, ytrain), batch_size=4)))
    assert xb.shape == (4, 784) and yb.dtype == np.int64


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist(tmp_path / "nowhere")


def test_missing_files_are_listed(digits, tmp_path):
    write_idx_set(tmp_path, digits)
    (tmp_path / IDX_FILES[3]).unlink()
    np.save(tmp_path / "xtrain.npy", digits.xtrain)
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path)
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte[.gz]" in message
    assert all(name in message for name in IDX_FILES + NPY_FILES)
    assert "missing ytrain.npy, xtest.npy, ytest.npy" in message


def bad_idx_cases(d: MNIST):
    images, labels = d.xtrain, d.ytrain
    good = idx_bytes(images)
    return {
        "magic": (0, b"\x01\x00" + good[2:], "not an IDX file"),
        "type": (0, idx_bytes(images, type_code=0x0D), "type code 0x0d"),
        "ndim": (0, idx_bytes(images.reshape(5, 784)), "2 dimensions, expected 3"),
        "size": (0, idx_bytes(images[:, :27, :]), "27x28"),
        "truncated payload": (0, good[:-10], "truncated"),
        "truncated header": (1, b"\x00\x00\x08", "truncated"),
        "truncated dims": (0, good[:9], "truncated"),
        "trailing": (0, good + b"\x00", "extra bytes"),
        "label range": (1, idx_bytes(np.array([0, 1, 10, 2, 3])), "0..9"),
        "counts": (1, idx_bytes(labels[:4]), "5 images"),
        "lying dims": (0, bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**32 - 1, 28, 28) + bytes(100),
                       "truncated"),
    }


@pytest.mark.parametrize("case", list(bad_idx_cases(MNIST(*[np.zeros((5, 28, 28), np.uint8),
                                                            np.zeros(5, np.int64)] * 2))))
@pytest.mark.parametrize("gz", [False, True])
def test_malformed_idx_files(case, gz, digits, tmp_path):
    which, blob, match = bad_idx_cases(digits)[case]
    write_idx_set(tmp_path, digits)
    os.remove(tmp_path / IDX_FILES[which])
    write(tmp_path / IDX_FILES[which], blob, gz)
    with pytest.raises(ValueError, match=match) as info:
        load_mnist(tmp_path)
    assert IDX_FILES[which] in str(info.value)


def test_not_really_gzip(digits, tmp_path):
    write_idx_set(tmp_path, digits)
    os.rename(tmp_path / IDX_FILES[0], tmp_path / (IDX_FILES[0] + ".gz"))
    with pytest.raises(ValueError, match="gzip"):
        load_mnist(tmp_path)


def test_cut_gzip_stream(digits, tmp_path):
    write_idx_set(tmp_path, digits, (True, False, False, False))
    gz = tmp_path / (IDX_FILES[0] + ".gz")
    gz.write_bytes(gz.read_bytes()[:-20])
    with pytest.raises(ValueError, match=IDX_FILES[0]):
        load_mnist(tmp_path)


@pytest.mark.parametrize("name, array, match", [
    ("xtrain.npy", np.zeros((5, 783), np.uint8), r"shape \(5, 783\)"),
    ("xtrain.npy", np.full((5, 784), 256, np.int64), "0..255"),
    ("xtrain.npy", np.full((5, 784), 0.5), "whole numbers"),
    ("xtrain.npy", np.zeros((5, 784), np.complex64), "dtype complex64"),
    ("ytrain.npy", np.zeros((5, 1), np.int64), r"shape \(5, 1\)"),
    ("ytrain.npy", np.full(5, -1), "0..9"),
    ("ytest.npy", np.zeros(4, np.int64), "3 labels|has 4 labels"),
])
def test_malformed_npy_files(name, array, match, digits, tmp_path):
    for n, a in zip(NPY_FILES, digits):
        np.save(tmp_path / n, a)
    np.save(tmp_path / name, array)
    with pytest.raises(ValueError, match=match) as info:
        load_mnist(tmp_path)
    assert name in str(info.value)


def test_npy_never_unpickles(digits, tmp_path):
    for n, a in zip(NPY_FILES, digits):
        np.save(tmp_path / n, a)
    np.save(tmp_path / "ytest.npy", np.array([1, None], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="ytest.npy"):
        load_mnist(tmp_path)
    (tmp_path / "ytest.npy").write_bytes(b"not an npy file at all")
    with pytest.raises(ValueError, match="ytest.npy"):
        load_mnist(tmp_path)


# ------------------------------------------------------------------ sklearn digits


def test_load_digits():
    pytest.importorskip("sklearn", reason="scikit-learn not installed (pip install scikit-learn)")
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16 and set(y.tolist()) == set(range(10))


def test_load_digits_without_sklearn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install scikit-learn"):
        load_digits()


def test_unseeded_shuffle_follows_manual_seed():
    import microgradnn as mg
    ds = TensorDataset(np.arange(10))
    orders = []
    for _ in range(2):
        mg.manual_seed(0)
        orders.append(next(iter(DataLoader(ds, batch_size=10, shuffle=True)))[0].data.tolist())
    assert orders[0] == orders[1] and sorted(orders[0]) == list(range(10))


def test_a_subclass_reading_samples_its_own_way_is_read_sample_by_sample():
    class Images(TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x.reshape(1, 2, 2), y

    ds = Images(np.arange(16.0).reshape(4, 4), np.arange(4))
    xb, yb = next(iter(DataLoader(ds, batch_size=2)))
    assert xb.shape == (2, 1, 2, 2) and yb.tolist() == [0, 1]
