"""gradcheck_module: whole models checked on a float64 copy, the model left untouched;
module_inputs draws inputs our layers accept; fast mode catches wrong gradients."""
import numpy as np
import pytest
from hypothesis import find, given, settings

import microgradnn as mg
from microgradnn import nn
from microgradnn.testing import GradcheckError, gradcheck, gradcheck_module
from microgradnn.testing import strategies as st


def state(module):
    return {k: (v.data.copy(), v.dtype) for k, v in module.state_dict().items()}


def assert_untouched(module, before, training):
    after = state(module)
    assert after.keys() == before.keys()
    for k in before:
        assert after[k][1] == before[k][1]
        np.testing.assert_array_equal(after[k][0], before[k][0])
    assert all(p.grad is None for p in module.parameters())
    assert [m.training for m in module.modules()] == training


MODELS = {
    "sequential": lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Dropout(0.3),
                                        nn.Linear(4, 2), nn.LayerNorm(2)),
    "residual_block": lambda: nn.ResidualBlock(2, 3, stride=2),
    "lstm": lambda: nn.LSTM(2, 3, num_layers=2),
    "conv_pool": lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(),
                                       nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 2)),
    "gru_batch_first": lambda: nn.GRU(2, 2, batch_first=True),
}


@pytest.mark.parametrize("name", MODELS)
def test_one_call_checks_a_whole_model_and_leaves_it_alone(name):
    mg.manual_seed(0)
    model = MODELS[name]()
    model.train()
    # the smallest drawn shape with at least 4 values, filled with random values (the
    # minimal example is all zeros: every ReLU and max_pool would sit on its kink)
    shape = find(st.module_inputs(model), lambda args: args[0].numel() >= 4)[0].shape
    if name == "conv_pool":
        shape = (2, 1, 4, 4)
    args = (mg.randn(*shape),)
    before, training = state(model), [m.training for m in model.modules()]
    rng_before = mg.creation.generator().bit_generator.state
    assert gradcheck_module(model, *args)
    assert_untouched(model, before, training)
    assert mg.creation.generator().bit_generator.state == rng_before


def test_module_check_covers_parameters_and_finds_a_wrong_one():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)

        def forward(self, x):
            # the bias gradient is cut off: detached through a constant copy
            return x @ self.lin.weight.T + mg.tensor(self.lin.bias.data) * self.lin.bias.data.sum()

    with pytest.raises(GradcheckError, match="lin.bias"):
        gradcheck_module(Broken(), mg.randn(2, 3))


def test_module_check_finds_a_wrong_gradient_in_eval_mode_only():
    class EvalOnly(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, grad):
            return grad  # should be 2 * grad

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            y = self.lin(x)
            return y * 2 if self.training else EvalOnly.apply(y)

    with pytest.raises(GradcheckError, match="eval mode"):
        gradcheck_module(Layer(), mg.randn(3, 2))
    assert gradcheck_module(Layer(), mg.randn(3, 2), modes=("train",))


def test_dropout_is_deterministic_within_the_check():
    model = nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.5), nn.Linear(6, 1))
    assert gradcheck_module(model, mg.randn(5, 4), modes=("train",))


def test_embedding_ids_are_passed_through():
    model = nn.Sequential(nn.Embedding(5, 3), nn.Linear(3, 2))
    (ids,) = find(st.module_inputs(model), lambda args: args[0].numel() >= 3)
    assert ids.dtype == np.int64
    assert gradcheck_module(model, ids)


def test_nothing_to_check_is_an_error():
    with pytest.raises(ValueError, match="nothing to check"):
        gradcheck_module(nn.ReLU(), mg.tensor([1, 2]))


LAYERS = {
    "linear": lambda: nn.Linear(3, 2), "conv1d": lambda: nn.Conv1d(2, 3, 2, dilation=2),
    "conv2d": lambda: nn.Conv2d(1, 2, 3, padding=1), "lstm": lambda: nn.LSTM(2, 3, batch_first=True),
    "lstm_cell": lambda: nn.LSTMCell(2, 3), "embedding": lambda: nn.Embedding(4, 2),
    "layer_norm": lambda: nn.LayerNorm((2, 3)), "batch_norm1d": lambda: nn.BatchNorm1d(3),
    "batch_norm2d": lambda: nn.BatchNorm2d(2), "residual_block": lambda: nn.ResidualBlock(1, 2, 2),
    "sequential": lambda: nn.Sequential(nn.ReLU(), nn.Linear(2, 2)),
}


@pytest.mark.parametrize("name", LAYERS)
def test_module_inputs_are_accepted_by_the_layer(name):
    layer = LAYERS[name]()

    @settings(max_examples=5)
    @given(st.module_inputs(layer))
    def run(args):
        layer(*args)

    run()


def test_module_inputs_refuses_a_module_it_cannot_read():
    with pytest.raises(TypeError, match="cannot tell the input shape of a ReLU"):
        st.module_inputs(nn.ReLU())


# ---------------------------------------------------------------- fast mode
class OffByOnePercent(mg.autograd.Function):
    """y = x·w with an input gradient 1% too large (a typical slip: a wrong constant)."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        return grad * w * 1.01, grad * x


def test_fast_mode_catches_a_wrong_gradient_in_a_large_input():
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal(2000), dtype=mg.float64, requires_grad=True)
    w = mg.tensor(rng.standard_normal(2000), dtype=mg.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="fast mode.*input 0"):
        gradcheck(OffByOnePercent.apply, [x, w], fast_mode=True)
    assert gradcheck(lambda x, w: x * w, [x, w], fast_mode=True)


def test_fast_mode_checks_a_conv_layer_with_a_hundred_thousand_parameters():
    mg.manual_seed(0)
    conv = nn.Conv2d(64, 64, 5, padding=2)  # 64·64·25 + 64 = 102,464 parameters
    assert sum(p.numel() for p in conv.parameters()) > 100_000
    assert gradcheck_module(conv, mg.randn(1, 64, 6, 6), fast_mode=True, modes=("train",))


def test_fast_mode_catches_a_wrong_conv_weight_gradient():
    from microgradnn.ops import conv as C
    original = C.ConvNd.backward

    def wrong(ctx, grad):
        gx, gw, gb = original(ctx, grad)
        return gx, gw * 1.01, gb

    mg.manual_seed(0)
    layer = nn.Conv2d(8, 8, 3, padding=1)
    C.ConvNd.backward = staticmethod(wrong)
    try:
        with pytest.raises(GradcheckError, match="weight"):
            gradcheck_module(layer, mg.randn(1, 8, 5, 5), fast_mode=True, modes=("train",))
    finally:
        C.ConvNd.backward = staticmethod(original)
