"""Anomaly mode: a NaN or infinite gradient raises, naming the operation, its shapes and
the forward call that made the node; off by default and without records when off."""
import threading

import numpy as np
import pytest

import microgradnn as mg


def _make_nan(x):
    return (x.sqrt() * 0).sum()   # backward of Sqrt at 0: 0 / 0


def test_off_by_default_and_nothing_recorded():
    assert not mg.autograd.is_anomaly_enabled()
    x = mg.tensor([0.0, 1.0], requires_grad=True)
    y = _make_nan(x)
    assert y.grad_fn.forward_stack is None
    with np.errstate(invalid="ignore"):
        y.backward()                    # as in PyTorch: no check when off
    assert np.isnan(x.grad.data[0])


def test_nan_gradient_names_the_operation_shapes_and_forward_line():
    x = mg.tensor([0.0, 1.0, 4.0], requires_grad=True)
    with mg.autograd.detect_anomaly():
        y = _make_nan(x)
        with pytest.raises(RuntimeError) as info, np.errstate(invalid="ignore"):
            y.backward()
    msg = str(info.value)
    assert msg.startswith("anomaly: the backward of Sqrt (input of shape (3,), output of "
                          "shape (3,)) returned a gradient with 1 NaN for input 0")
    assert "test_anomaly.py" in msg and "return (x.sqrt() * 0).sum()" in msg
    assert "in _make_nan" in msg
    assert "function.py" not in msg      # the recording machinery is trimmed away
    assert not mg.autograd.is_anomaly_enabled()


def test_infinite_gradient_raises_too():
    x = mg.tensor([0.0, 1.0], requires_grad=True)
    with mg.autograd.detect_anomaly():
        y = x.sqrt().sum()                 # d sqrt(x)/dx = inf at 0
        with pytest.raises(RuntimeError, match="1 infinite value for input 0"), \
                np.errstate(divide="ignore"):
            y.backward()


def test_two_inputs_are_named_with_their_shapes():
    a = mg.tensor([[1.0, 2.0]], requires_grad=True)
    b = mg.tensor([np.inf, 1.0, 2.0], requires_grad=True)
    with mg.autograd.set_detect_anomaly(True):
        y = (a.reshape(2, 1) * b).sum()
        with pytest.raises(RuntimeError, match=r"backward of Mul \(inputs of shapes \(2, 1\), "
                                               r"\(3,\), output of shape \(2, 3\)\).*input 0"):
            y.backward()


def test_check_nan_false_keeps_stacks_but_does_not_check():
    x = mg.tensor([0.0, 1.0], requires_grad=True)
    with mg.autograd.detect_anomaly(check_nan=False):
        assert mg.autograd.is_anomaly_enabled()
        assert not mg.autograd.is_anomaly_check_nan_enabled()
        y = _make_nan(x)
        assert y.grad_fn.forward_stack is not None
        with np.errstate(invalid="ignore"):
            y.backward()
    assert np.isnan(x.grad.data[0])


def test_errors_in_backward_get_the_forward_stack_as_a_note():
    class Broken(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            raise ValueError("broken backward")

    x = mg.tensor([1.0], requires_grad=True)
    with mg.autograd.detect_anomaly():
        y = Broken.apply(x).sum()   # the line the note must point at
        with pytest.raises(ValueError, match="broken backward") as info:
            y.backward()
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "Error detected in the backward of Broken" in notes
    assert "y = Broken.apply(x).sum()   # the line the note must point at" in notes


def test_node_recorded_before_anomaly_mode_says_so():
    x = mg.tensor([0.0], requires_grad=True)
    y = _make_nan(x)
    with mg.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="not recorded: the forward pass ran while "
                                               "anomaly mode was off"), \
                np.errstate(invalid="ignore"):
            y.backward()


def test_set_detect_anomaly_as_a_function_and_decorator():
    prev = mg.autograd.set_detect_anomaly(True)
    try:
        assert mg.autograd.is_anomaly_enabled()
    finally:
        mg.autograd.set_detect_anomaly(False)
    assert not mg.autograd.is_anomaly_enabled()
    del prev

    @mg.autograd.detect_anomaly()
    def inside():
        return mg.autograd.is_anomaly_enabled()

    assert inside() and not mg.autograd.is_anomaly_enabled()


def test_anomaly_mode_is_one_switch_for_the_process_as_in_pytorch():
    seen = []
    with mg.autograd.detect_anomaly():
        t = threading.Thread(target=lambda: seen.append(mg.autograd.is_anomaly_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_finite_gradients_pass_and_match_the_plain_ones():
    rng = np.random.default_rng(1)
    a = mg.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    w = mg.tensor(rng.normal(size=(4, 2)), requires_grad=True)
    (a @ w).tanh().sum().backward()
    plain = a.grad.data.copy()
    a.grad = None
    with mg.autograd.detect_anomaly():
        (a @ w).tanh().sum().backward()
    np.testing.assert_array_equal(a.grad.data, plain)


def test_recorded_backward_is_checked_too():
    x = mg.tensor([0.0, 1.0], requires_grad=True)
    with mg.autograd.detect_anomaly():
        y = (x.sqrt() * 0).sum()
        with pytest.raises(RuntimeError, match="backward of Sqrt"), \
                np.errstate(invalid="ignore"):
            mg.autograd.grad(y, x, create_graph=True)
