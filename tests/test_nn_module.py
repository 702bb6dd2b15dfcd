"""nn.Module, Parameter and the containers: registration, names, state_dict, modes, hooks,
repr; PyTorch parity of names and state_dict keys when torch is installed."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as hst

import microgradnn as mg
from microgradnn import nn


class Block(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.fc = nn.Linear(n, n)
        self.bn = nn.BatchNorm1d(n)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.bn(self.fc(x)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(3, 4)
        self.blocks = nn.Sequential(Block(4), Block(4))
        self.head = nn.Linear(4, 2, bias=False)
        self.scale = nn.Parameter(mg.ones(2))

    def forward(self, x):
        return self.head(self.blocks(self.inp(x))) * self.scale


NET_PARAMS = ["scale", "inp.weight", "inp.bias",
              "blocks.0.fc.weight", "blocks.0.fc.bias", "blocks.0.bn.weight", "blocks.0.bn.bias",
              "blocks.1.fc.weight", "blocks.1.fc.bias", "blocks.1.bn.weight", "blocks.1.bn.bias",
              "head.weight"]


# ---------------------------------------------------------------- registration and names
def test_attributes_register_parameters_modules_and_buffers():
    net = Net()
    assert list(net._parameters) == ["scale"]
    assert list(net._modules) == ["inp", "blocks", "head"]
    assert [n for n, _ in net.named_parameters()] == NET_PARAMS
    assert [n for n, _ in net.named_buffers()] == [
        f"blocks.{i}.bn.{b}" for i in range(2)
        for b in ("running_mean", "running_var", "num_batches_tracked")]
    assert [n for n, _ in net.named_modules()] == [
        "", "inp", "blocks", "blocks.0", "blocks.0.fc", "blocks.0.bn", "blocks.0.act",
        "blocks.1", "blocks.1.fc", "blocks.1.bn", "blocks.1.act", "head"]
    assert [n for n, _ in net.named_children()] == ["inp", "blocks", "head"]
    assert net.head.bias is None and "bias" not in dict(net.head.named_parameters())


def test_plain_attributes_are_not_registered_and_reassignment_moves_tables():
    m = nn.Module()
    m.k = 3
    m.t = mg.zeros(2)  # a plain tensor is not a parameter
    assert list(m.parameters()) == [] and m.k == 3
    m.w = nn.Parameter(mg.zeros(2))
    m.w = nn.Linear(1, 1)  # a module replaces the parameter of the same name
    assert "w" not in m._parameters and "w" in m._modules
    del m.w
    assert "w" not in m._modules and not hasattr(m, "w")


def test_registration_errors():
    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(mg.zeros(1))

    with pytest.raises(AttributeError, match=r"super\(\)\.__init__\(\) first"):
        Early()
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        m.weight = mg.zeros((2, 2))
    m.weight = None  # allowed, like PyTorch
    assert [n for n, _ in m.named_parameters()] == ["bias"]
    with pytest.raises(TypeError, match="must be a Parameter"):
        m.register_parameter("x", mg.zeros(1))
    with pytest.raises(TypeError, match="must be a Tensor"):
        m.register_buffer("b", [1, 2])
    with pytest.raises(TypeError, match="must be a Module"):
        m.add_module("c", 3)
    bn = nn.BatchNorm1d(2)
    with pytest.raises(TypeError, match="buffer 'running_mean'"):
        bn.running_mean = np.zeros(2)


def test_shared_parameters_and_modules_are_listed_once():
    shared = nn.Linear(3, 3)
    net = nn.Sequential(shared, nn.Tanh(), shared)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(net.modules())) == 3
    # a tied Parameter held by two different modules
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    b.weight = a.weight
    pair = nn.ModuleList([a, b])
    names = [n for n, _ in pair.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.bias"]
    assert sum(p.numel() for p in pair.parameters()) == 9 + 3 + 3
    # gradients from both uses accumulate into the one tensor
    x = mg.ones((1, 3))
    net(x).sum().backward()
    assert shared.weight.grad is not None and shared.weight.grad.shape == (3, 3)


def test_parameter_basics():
    p = nn.Parameter(mg.zeros(2))
    assert p.requires_grad and p.is_leaf and isinstance(p, mg.Tensor)
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(mg.zeros(1), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)


@settings(max_examples=10)
@given(hst.lists(hst.integers(1, 5), min_size=2, max_size=5))
def test_mlp_parameter_count_and_names(sizes):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    net = nn.Sequential(*layers)
    expected = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    assert sum(p.numel() for p in net.parameters()) == expected
    names = [n for n, _ in net.named_parameters()]
    assert names == [f"{2 * i}.{k}" for i in range(len(sizes) - 1) for k in ("weight", "bias")]
    out = net(mg.zeros((2, sizes[0])))
    assert out.shape == (2, sizes[-1])


# ---------------------------------------------------------------- state_dict
def test_state_dict_keys_values_and_persistence():
    net = Net()
    sd = net.state_dict()
    keys = list(sd)
    assert keys[:3] == ["scale", "inp.weight", "inp.bias"]
    assert "blocks.0.bn.running_var" in sd and "blocks.1.bn.num_batches_tracked" in sd
    assert sd["blocks.0.bn.num_batches_tracked"].dtype == np.int64
    # detached views sharing memory with the module's tensors
    assert not sd["inp.weight"].requires_grad
    assert np.shares_memory(sd["inp.weight"].data, net.inp.weight.data)
    assert sd.__class__.__name__ == "OrderedDict"
    kept = net.state_dict(keep_vars=True)
    assert kept["inp.weight"] is net.inp.weight
    m = nn.Module()
    m.register_buffer("tmp", mg.zeros(2), persistent=False)
    m.register_buffer("keep", mg.zeros(2))
    assert list(m.state_dict()) == ["keep"] and [n for n, _ in m.named_buffers()] == ["tmp", "keep"]


def test_load_state_dict_round_trip_gives_identical_outputs():
    mg.manual_seed(0)
    a, b = Net(), Net()
    x = mg.randn(5, 3)
    a.train()
    a(x)  # moves the running statistics away from their start
    a.eval()
    b.eval()
    assert not np.allclose(a(x).data, b(x).data)
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(a(x).data, b(x).data)
    assert int(b.blocks[0].bn.num_batches_tracked.item()) == 1
    # loading copies: changing the source afterwards leaves b alone
    a.inp.weight.data += 1
    assert not np.allclose(a.inp.weight.data, b.inp.weight.data)


def test_load_state_dict_accepts_arrays():
    lin = nn.Linear(2, 3)
    lin.load_state_dict({"weight": np.ones((3, 2)), "bias": np.zeros(3)})
    assert lin.weight.dtype == np.float32 and (lin.weight.data == 1).all()


def test_load_state_dict_strict_errors_list_every_problem_and_load_nothing():
    net = Net()
    before = {k: v.data.copy() for k, v in net.state_dict().items()}
    bad = {k: mg.tensor(v.data + 1) for k, v in net.state_dict().items()}
    del bad["head.weight"]
    del bad["blocks.1.bn.running_mean"]
    bad["extra.weight"] = mg.zeros(1)
    bad["inp.weight"] = mg.zeros((5, 5))
    bad["blocks.0.fc.bias"] = mg.zeros(7)
    with pytest.raises(ValueError) as info:
        net.load_state_dict(bad)
    msg = str(info.value)
    for part in ("missing keys", "head.weight", "blocks.1.bn.running_mean",
                 "unexpected keys", "extra.weight",
                 "size mismatch for inp.weight", "(5, 5)", "(4, 3)",
                 "size mismatch for blocks.0.fc.bias"):
        assert part in msg
    for k, v in net.state_dict().items():  # nothing half-loaded
        np.testing.assert_array_equal(v.data, before[k])


def test_load_state_dict_non_strict_reports_and_loads_the_rest():
    lin = nn.Linear(2, 2)
    res = lin.load_state_dict({"weight": np.eye(2, dtype=np.float32), "junk": np.zeros(1)},
                              strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["junk"]
    np.testing.assert_array_equal(lin.weight.data, np.eye(2))
    with pytest.raises(ValueError, match="size mismatch for weight"):
        lin.load_state_dict({"weight": np.zeros((3, 3))}, strict=False)


# ---------------------------------------------------------------- modes, apply, grads
def test_train_eval_propagate_to_every_submodule():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.blocks.train()
    assert net.blocks[1].bn.training and not net.training
    net.train()
    assert all(m.training for m in net.modules())


def test_dropout_follows_the_mode():
    mg.manual_seed(1)
    net = nn.Sequential(nn.Dropout(0.5))
    x = mg.ones(200)
    assert (net(x).data == 0).any()
    net.eval()
    assert net(x) is x


def test_apply_visits_children_first_then_self():
    net = Net()
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen[-1] == "Net"
    assert seen.index("Block") > seen.index("ReLU")
    assert seen.count("Linear") == 4

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)

    net.apply(init)
    assert (net.head.weight.data == 0.5).all() and (net.blocks[1].fc.weight.data == 0.5).all()


def test_zero_grad_and_requires_grad_():
    net = nn.Sequential(nn.Linear(3, 2))
    net(mg.ones((1, 3))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and (p.grad.data == 0).all() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


# ---------------------------------------------------------------- hooks and repr
def test_forward_hook_sees_inputs_and_output_and_can_replace_it():
    lin = nn.Linear(2, 2)
    calls = []
    handle = lin.register_forward_hook(lambda m, inp, out: calls.append((m, inp, out.shape)))
    x = mg.ones((3, 2))
    lin(x)
    assert calls[0][0] is lin and calls[0][1][0] is x and calls[0][2] == (3, 2)
    h2 = lin.register_forward_hook(lambda m, inp, out: out * 0)
    assert (lin(x).data == 0).all()
    handle.remove()
    h2.remove()
    lin(x)
    assert len(calls) == 2 and (lin(x).data != 0).any()


def test_repr_is_an_indented_tree():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Dropout(0.1)),
                        nn.Linear(3, 1, bias=False))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Dropout(p=0.1, inplace=False)\n"
        "  )\n"
        "  (2): Linear(in_features=3, out_features=1, bias=False)\n"
        ")")


def test_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(mg.zeros(1))


# ---------------------------------------------------------------- containers
def test_sequential_indexing_slicing_and_ordered_dict():
    from collections import OrderedDict
    net = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.Tanh())]))
    assert [n for n, _ in net.named_parameters()] == ["fc.weight", "fc.bias"]
    assert isinstance(net[1], nn.Tanh) and isinstance(net[-1], nn.Tanh)
    assert isinstance(net[:1], nn.Sequential) and len(net[:1]) == 1
    net.append(nn.Linear(3, 1))
    assert len(net) == 3 and net(mg.zeros((4, 2))).shape == (4, 1)
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
    layers.append(nn.Linear(2, 1))
    layers.insert(0, nn.Identity())
    assert [type(m).__name__ for m in layers] == ["Identity", "Linear", "Linear", "Linear"]
    assert [n for n, _ in layers.named_parameters()][:2] == ["1.weight", "1.bias"]
    heads = nn.ModuleDict({"a": nn.Linear(2, 1)})
    heads["b"] = nn.Linear(2, 3)
    assert "b" in heads and list(heads.keys()) == ["a", "b"] and len(heads) == 2
    del heads["a"]
    assert [n for n, _ in heads.named_parameters()] == ["b.weight", "b.bias"]


# ---------------------------------------------------------------- PyTorch parity
def _torch_net(torch):
    tnn = torch.nn

    class TBlock(tnn.Module):
        def __init__(self, n):
            super().__init__()
            self.fc = tnn.Linear(n, n)
            self.bn = tnn.BatchNorm1d(n)
            self.act = tnn.ReLU()

        def forward(self, x):
            return self.act(self.bn(self.fc(x)))

    class TNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.inp = tnn.Linear(3, 4)
            self.blocks = tnn.Sequential(TBlock(4), TBlock(4))
            self.head = tnn.Linear(4, 2, bias=False)
            self.scale = tnn.Parameter(torch.ones(2))

        def forward(self, x):
            return self.head(self.blocks(self.inp(x))) * self.scale

    return TNet()


def test_names_and_state_dict_match_pytorch_and_weights_move_across():
    torch = pytest.importorskip("torch")
    ours, theirs = Net(), _torch_net(torch)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    assert {k: v.shape for k, v in ours_sd.items()} == \
        {k: tuple(v.shape) for k, v in theirs_sd.items()}
    # ours -> torch after a training-mode step, then compare in eval mode
    mg.manual_seed(3)
    x = mg.randn(6, 3)
    ours(x)
    theirs.load_state_dict({k: torch.tensor(np.array(v.data))
                            for k, v in ours.state_dict().items()})
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x.data)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    # torch -> ours
    back = Net()
    back.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    back.eval()
    np.testing.assert_allclose(back(x).data, ours(x).data, rtol=1e-6, atol=1e-7)


def test_review_findings_module_names_and_keys():
    lin = nn.Linear(1, 1)
    assert list(nn.Sequential(lin, lin).state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    with pytest.raises(KeyError, match="'train' already exists"):
        nn.ModuleDict({"train": nn.Linear(1, 1)})
    with pytest.raises(KeyError, match="no '.'"):
        nn.Module().register_buffer("a.b", None)
    seq = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
    assert list(seq[1:].state_dict()) == ["2.weight", "2.bias"]
    m = nn.Module()
    m.register_buffer("b", mg.zeros(1), persistent=False)
    m.register_buffer("b", mg.zeros(1))
    assert list(m.state_dict()) == ["b"]
