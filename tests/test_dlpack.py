"""DLPack: tensors go to PyTorch and NumPy and come back sharing memory, never copied."""
from __future__ import annotations

import numpy as np
import pytest

import microgradnn as mg

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int8", "uint8", "bool"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_round_trip_shares_memory(dtype):
    t = mg.tensor(np.arange(6).reshape(2, 3).astype(dtype))
    a = np.from_dlpack(t)
    assert a.dtype == t.dtype and a.shape == (2, 3) and np.shares_memory(a, t.data)
    back = mg.from_dlpack(a)
    assert isinstance(back, mg.Tensor) and np.shares_memory(back.data, t.data)
    assert not back.requires_grad


def test_writes_are_seen_on_both_sides():
    t = mg.zeros(4)
    a = np.from_dlpack(t)
    a[1] = 5.0
    assert t.data[1] == 5.0
    back = mg.from_dlpack(a)
    back.data[2] = 7.0
    assert a[2] == 7.0 and t.data[2] == 7.0


def test_non_contiguous_views_keep_their_strides():
    base = mg.tensor(np.arange(12.0).reshape(3, 4))
    view = mg.Tensor(base.data[:, ::2].T)
    a = np.from_dlpack(view)
    np.testing.assert_array_equal(a, base.data[:, ::2].T)
    assert np.shares_memory(a, base.data)


def test_device_is_the_cpu():
    assert mg.ones(2).__dlpack_device__() == (1, 0)


def test_tensor_that_requires_grad_is_refused_as_in_pytorch():
    x = mg.ones(2, requires_grad=True)
    with pytest.raises(BufferError, match="requires grad; use tensor.detach"):
        np.from_dlpack(x)
    assert np.shares_memory(np.from_dlpack(x.detach()), x.data)


def test_other_devices_and_non_dlpack_objects_are_refused():
    with pytest.raises(BufferError, match="cannot export to device"):
        mg.ones(2).__dlpack__(dl_device=(2, 0))
    with pytest.raises(TypeError, match="from_dlpack: expected an object with __dlpack__"):
        mg.from_dlpack([1.0, 2.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_pytorch_round_trip_shares_memory(dtype):
    torch = pytest.importorskip("torch")
    t = mg.tensor(np.arange(6).reshape(2, 3).astype(dtype))
    tt = torch.from_dlpack(t)
    assert tt.shape == (2, 3) and str(tt.dtype) == f"torch.{dtype}"
    assert tt.data_ptr() == t.data.ctypes.data
    tt[0, 0] = 1
    assert t.data[0, 0] == 1
    back = mg.from_dlpack(tt)
    assert back.dtype == t.dtype and np.shares_memory(back.data, t.data)
    torch_made = torch.arange(5, dtype=torch.float64)
    ours = mg.from_dlpack(torch_made)
    ours.data[0] = 9.0
    assert torch_made[0].item() == 9.0


def test_pytorch_refusals_name_the_operation():
    torch = pytest.importorskip("torch")
    with pytest.raises(BufferError, match="from_dlpack: .*require gradient"):
        mg.from_dlpack(torch.ones(2, requires_grad=True))
    with pytest.raises(Exception, match="from_dlpack: cannot share Tensor torch.bfloat16"):
        mg.from_dlpack(torch.ones(2, dtype=torch.bfloat16))


def test_gradients_flow_through_a_shared_tensor():
    torch = pytest.importorskip("torch")
    w = torch.from_dlpack(mg.tensor(np.array([1.0, 2.0])))
    x = mg.from_dlpack(w).requires_grad_()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])
