"""Version counters: a value saved for backward and changed in place since makes
backward raise, naming the operation, the shape and both versions -- in every case where
PyTorch raises -- instead of returning wrong gradients."""
import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn

MSG = r"modified by an in-place operation: Mul saved a \(3,\) tensor at version 0, it is now at version 1"


def test_the_message_names_the_op_the_shape_and_both_versions():
    w = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (w * w).sum()
    with mg.no_grad():
        w.mul_(2)
    with pytest.raises(RuntimeError, match=MSG):
        loss.backward()
    assert w.grad is None  # nothing was delivered


def test_every_tensor_counts_its_writes_and_shares_the_count_with_views_and_aliases():
    x = mg.zeros(2, 3)
    view, alias, flat = x[0], x.detach(), x.reshape(-1)
    assert x._version == 0
    x += 1
    x[0, 0] = 5
    view.mul_(2)
    alias.zero_()
    flat.add_(1)
    assert x._version == view._version == alias._version == flat._version == 5
    assert mg.zeros(2)._version == 0


@pytest.mark.parametrize("write", [
    lambda x: x.__setitem__(0, 7.0),
    lambda x: x[1:].mul_(3.0),            # through a view
    lambda x: x.detach().add_(1.0),       # through a detached alias
    lambda x: x.reshape(3, 1).zero_(),    # through a reshape view
    lambda x: x.copy_(mg.ones(3)),
    lambda x: x.fill_(2.0),
    lambda x: x.clamp_(0.0, 1.5),
], ids=["setitem", "view", "detached_alias", "reshape_view", "copy_", "fill_", "clamp_"])
def test_writes_to_a_saved_input_raise_at_backward(write):
    w = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = mg.tensor([0.5, 1.0, 2.0])
    loss = (w * x).sum()         # Mul saved x
    with mg.no_grad():
        write(x)
    with pytest.raises(RuntimeError, match="Mul saved a \\(3,\\) tensor at version 0"):
        loss.backward()


def test_optimizer_step_between_forward_and_backward_raises():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = mg.optim.SGD(model.parameters(), lr=0.1)
    x = mg.randn(5, 3)
    model(x).sum().backward()
    loss = model(x).sum()
    opt.step()                   # writes the weights the forward saved
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


@pytest.mark.parametrize("make", [
    lambda ps: mg.optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: mg.optim.Adam(ps),
    lambda ps: mg.optim.AdamW(ps), lambda ps: mg.optim.RMSprop(ps), lambda ps: mg.optim.Adagrad(ps),
], ids=["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_every_optimizer_counts_its_writes(make):
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    opt = make([w])
    w.grad = mg.tensor([0.5, -0.5])
    opt.step()
    assert w._version == 1


def test_load_state_dict_between_forward_and_backward_raises():
    model = nn.Linear(3, 2)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    x = mg.randn(4, 3)
    v = model.weight._version  # 1, as in PyTorch: the initialiser wrote it in place
    loss = model(x).sum()
    model.load_state_dict(state)
    with pytest.raises(RuntimeError, match=f"Linear saved a \\(2, 3\\) tensor at version {v}, "
                                           f"it is now at version {v + 1}"):
        loss.backward()


def test_the_normal_training_loop_is_unaffected():
    model = nn.Linear(3, 1)
    opt = mg.optim.Adam(model.parameters(), lr=0.01)
    x, y = mg.randn(8, 3), mg.randn(8, 1)
    assert model.weight._version == 1  # the initialiser's write, as in PyTorch
    for _ in range(5):
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert model.weight._version == 1 + 5


def test_writes_through_data_and_numpy_are_not_counted_as_in_pytorch():
    w = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = mg.tensor([1.0, 1.0, 1.0])
    loss = (w * x).sum()
    x.numpy()[0] = 5.0          # unchecked: PyTorch does not see such writes either
    x.data[1] = 5.0
    loss.backward()
    assert x._version == 0
    np.testing.assert_array_equal(w.grad.data, [5.0, 5.0, 1.0])


def test_a_write_to_the_output_an_op_saved_raises():
    x = mg.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()                 # Exp saves its output
    z = y.sum()
    y.add_(1.0)                 # recorded, but Exp's saved output changed
    with pytest.raises(RuntimeError, match="Exp saved a \\(2,\\) tensor at version 0, it is now at version 1"):
        z.backward()


def test_a_view_of_a_tensor_written_later_raises_instead_of_a_stale_gradient():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1.0
    v = y[0:2]
    y.mul_(3.0)                 # v's values changed with y, its node still says y[0:2]
    with pytest.raises(RuntimeError, match="GetItem saved"):
        v.sum().backward()


def test_unrelated_writes_do_not_disturb_a_graph():
    w = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (w * w).sum()
    other = mg.zeros(3)
    other += 1                  # a write elsewhere advances the epoch only
    loss.backward()
    np.testing.assert_array_equal(w.grad.data, [2.0, 4.0, 6.0])


def test_numpy_on_a_tensor_that_requires_grad_raises():
    w = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        w.numpy()
    assert w.detach().numpy().tolist() == [1.0]


def test_grad_assignment_checks_type_shape_and_dtype():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="Tensor or None"):
        w.grad = np.ones(2)
    with pytest.raises(RuntimeError, match="shape \\(3,\\)"):
        w.grad = mg.ones(3)
    with pytest.raises(TypeError, match="dtype float64"):
        w.grad = mg.ones(2, dtype=mg.float64)
    w.grad = mg.ones(2)
    w.grad = None


def test_matches_pytorch_on_which_cases_raise():
    torch = pytest.importorskip("torch")

    def ours(case):
        w = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x = mg.tensor([0.5, 1.0, 2.0])
        if case == "mul_saved":
            loss = (w * x).sum()
        elif case == "add_unsaved":
            loss = (w + x).sum()
        elif case == "exp_output":
            loss = (w * 1.0).exp().sum()
        with mg.no_grad():
            x.add_(1.0)
            w.add_(1.0)
        try:
            loss.backward()
            return "ok"
        except RuntimeError:
            return "raised"

    def theirs(case):
        w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x = torch.tensor([0.5, 1.0, 2.0])
        if case == "mul_saved":
            loss = (w * x).sum()
        elif case == "add_unsaved":
            loss = (w + x).sum()
        elif case == "exp_output":
            loss = (w * 1.0).exp().sum()
        with torch.no_grad():
            x.add_(1.0)
            w.add_(1.0)
        try:
            loss.backward()
            return "ok"
        except RuntimeError:
            return "raised"

    for case in ["mul_saved", "add_unsaved", "exp_output"]:
        assert ours(case) == theirs(case), case
