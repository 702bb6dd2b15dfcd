"""microgradnn.quantization: per-channel int8 weights, int32 accumulation, accuracy close
to float, sizes, and loud errors."""
import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn
from microgradnn.quantization import (QuantizedLinear, model_size_bytes, quantize_dynamic,
                                      quantize_per_channel)

rng = np.random.default_rng(0)


def test_per_channel_scales_and_range():
    w = rng.standard_normal((5, 7)) * np.array([[0.01], [0.1], [1], [10], [0]])
    q, scale = quantize_per_channel(w)
    assert q.dtype == np.int8 and scale.dtype == np.float32
    np.testing.assert_array_equal(np.abs(q[:4]).max(1), 127)       # each row uses the range
    np.testing.assert_allclose(scale[:4], np.abs(w[:4]).max(1) / 127, rtol=1e-6)
    np.testing.assert_array_equal(q[4], 0)
    err = np.abs(q * scale[:, None] - w)
    assert (err <= scale[:, None] / 2 + 1e-7).all()                  # half a step at most


def test_quantized_linear_is_the_int32_product_rescaled():
    lin = nn.Linear(6, 4)
    qlin = QuantizedLinear(lin)
    x = rng.standard_normal((3, 6)).astype(np.float32)
    y = qlin(mg.tensor(x)).data
    peak = np.abs(x).max(1, keepdims=True)
    qx = np.clip(np.rint(x / (peak / 127)), -127, 127).astype(np.int64)
    exact = qx @ qlin.weight_int8.data.astype(np.int64).T           # in int64: no overflow
    expected = exact * (peak / 127) * qlin.weight_scale.data + lin.bias.data
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    with mg.no_grad():
        ref = lin(mg.tensor(x)).data
    assert np.abs(y - ref).max() < 0.05 * np.abs(ref).max()


def test_quantize_dynamic_copies_and_shrinks():
    model = nn.Sequential(nn.Linear(64, 100), nn.ReLU(), nn.Linear(100, 10))
    q = quantize_dynamic(model)
    assert isinstance(model[0], nn.Linear) and isinstance(q[0], QuantizedLinear)
    assert model_size_bytes(model) == 4 * (64 * 100 + 100 + 100 * 10 + 10)
    assert model_size_bytes(q) == (64 * 100 + 100 * 10) + 4 * (100 + 10) * 2
    x = mg.tensor(rng.standard_normal((20, 64)).astype(np.float32))
    with mg.no_grad():
        ref = model(x).data
    assert np.abs(q(x).data - ref).max() < 0.05 * np.abs(ref).max()
    assert (q(x).data.argmax(1) == ref.argmax(1)).mean() >= 0.9


def test_pruned_zeros_stay_zero():
    lin = nn.Linear(8, 3)
    lin.weight.data[:, ::2] = 0
    assert (QuantizedLinear(lin).weight_int8.data[:, ::2] == 0).all()


def test_errors():
    with pytest.raises(ValueError, match="in_features"):
        QuantizedLinear(nn.Linear(4, 2))(mg.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        QuantizedLinear(nn.Linear(4, 2))(mg.tensor([[np.nan, 0.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="int32"):
        QuantizedLinear(nn.Linear(140_000, 1, dtype=mg.float32))
    with pytest.raises(TypeError, match="nn.Linear"):
        QuantizedLinear(nn.ReLU())
    with pytest.raises(ValueError, match="qint8"):
        quantize_dynamic(nn.Linear(2, 2), dtype="float16")
