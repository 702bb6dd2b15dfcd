"""Where a name exists in PyTorch it means what it means there: size(), var/std,
max/min(dim), argmax, softmax(dim=), dtype and device names, .to(), Module.to()."""
import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed")


def test_size_numel_dim():
    x = mg.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and isinstance(x.size(), tuple) and isinstance(x.size(), mg.Size)
    assert x.size(1) == 3 and x.size(-1) == 4 and x.numel() == 24 and x.dim() == 3
    assert x.size().numel() == 24
    with pytest.raises(IndexError, match="size: dimension 3 is out of range"):
        x.size(3)
    with pytest.raises(TypeError, match="size: dim must be an int"):
        x.size(1.0)


def test_var_std_default_unbiased_and_their_spellings():
    a = np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
    x = mg.tensor(a, dtype=mg.float64)
    np.testing.assert_allclose(x.var().item(), a.var(ddof=1))
    np.testing.assert_allclose(x.std(1).data, a.std(1, ddof=1))
    np.testing.assert_allclose(x.var(1, False).data, a.var(1))             # (dim, unbiased)
    np.testing.assert_allclose(x.var(False).item(), a.var())               # (unbiased)
    np.testing.assert_allclose(x.var(dim=0, correction=0).data, a.var(0))
    np.testing.assert_allclose(x.std(axis=1, ddof=0, keepdims=True).data, a.std(1, keepdims=True))
    np.testing.assert_allclose(mg.var(x, 1, keepdim=True).data, a.var(1, ddof=1, keepdims=True))
    with pytest.raises(TypeError, match="var: give one of unbiased, correction"):
        x.var(unbiased=True, correction=0)


def test_std_of_constant_values_has_zero_gradient():
    for dtype in (mg.float32, mg.float64):
        x = mg.full((4,), 3.0, dtype=dtype, requires_grad=True)
        x.std().backward()
        assert x.grad.tolist() == [0.0] * 4
        x.grad = None
        mg.std(x.reshape(2, 2), 1).sum().backward()
        assert np.isfinite(x.grad.data).all() and x.grad.tolist() == [0.0] * 4


def test_var_std_do_not_overflow_in_float32():
    a = np.array([3e20, -1e20, 2e20], dtype=np.float32)
    x = mg.tensor(a, requires_grad=True)
    s = x.std()
    expected = np.std(a.astype(np.float64), ddof=1)
    assert np.isfinite(s.item())
    np.testing.assert_allclose(s.item(), expected, rtol=1e-5)
    s.backward()
    assert np.isfinite(x.grad.data).all()
    np.testing.assert_allclose(mg.tensor([1.5e19, -1.5e19]).var(correction=0).item(), 2.25e38, rtol=1e-5)
    assert mg.tensor([1e20, -1e20]).var().item() == np.inf  # beyond float32: inf, as PyTorch


@needs_torch
def test_var_std_numerics_equal_pytorch():
    for values in ([3e20, -1e20, 2e20], [5.0, 5.0, 5.0], [1.0, 2.0, 4.0]):
        x = mg.tensor(values, requires_grad=True)
        t = torch.tensor(values, requires_grad=True)
        x.std().backward()
        t.std().backward()
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-5, atol=1e-30)
        np.testing.assert_allclose(x.var().item(), t.var().item(), rtol=1e-5)


def test_max_min_over_a_dim_return_values_and_indices():
    x = mg.tensor([[1.0, 5.0], [3.0, 2.0]], requires_grad=True)
    for r in (x.max(1), x.max(dim=1), x.max(axis=1), mg.max(x, 1)):
        assert r.values.tolist() == [5, 3] and r.indices.tolist() == [1, 0]
        v, i = r
        assert i.dtype == np.int64
    assert x.max().item() == 5 and x.min().item() == 1
    assert x.min(0, keepdim=True).values.shape == (1, 2)
    assert x.max(mg.tensor([[2.0, 2.0], [2.0, 2.0]])).tolist() == [[2, 5], [3, 2]]
    x.max(1).values.sum().backward()
    assert x.grad.tolist() == [[0, 1], [1, 0]]


def test_argmax_argmin():
    x = mg.tensor([[1.0, 5.0, 0.0], [3.0, 2.0, 7.0]])
    assert x.argmax().item() == 5 and x.argmin().item() == 2  # flattened, as PyTorch
    assert x.argmax(1).tolist() == [1, 2] and x.argmin(dim=0).tolist() == [0, 1, 0]
    assert x.argmax(1, keepdim=True).shape == (2, 1) and mg.argmax(x, axis=1, keepdims=True).shape == (2, 1)
    assert mg.argmin(x).item() == 2
    with pytest.raises(ValueError, match="argmax: dimension 5 is out of range"):
        x.argmax(5)


def test_softmax_with_dim_keyword():
    x = mg.tensor([[1.0, 2.0], [3.0, 5.0]])
    for y in (x.softmax(dim=1), mg.softmax(x, dim=1), x.softmax(1), mg.softmax(x, axis=1)):
        np.testing.assert_allclose(y.data.sum(1), [1, 1], rtol=1e-6)
    for y in (x.log_softmax(dim=1), mg.log_softmax(x, dim=1)):
        np.testing.assert_allclose(np.exp(y.data).sum(1), [1, 1], rtol=1e-6)
    assert x.softmax(dim=0).data[:, 0].sum() == pytest.approx(1)
    with pytest.raises(TypeError, match="softmax: pass dim or its alias axis, not both"):
        x.softmax(dim=1, axis=0)


def test_keepdim_and_dim_everywhere_with_numpy_aliases():
    x = mg.ones(2, 3)
    assert x.sum(dim=1, keepdim=True).shape == (2, 1) == x.sum(axis=1, keepdims=True).shape
    assert x.mean(1, True).shape == (2, 1) and x.logsumexp(dim=0).shape == (3,)
    assert x.any(dim=1).shape == (2,) and x.all(axis=0, keepdims=True).shape == (1, 3)
    with pytest.raises(TypeError, match="pass dim or its alias axis"):
        x.sum(axis=0, dim=1)


def test_dtype_aliases_and_conversions():
    assert (mg.float, mg.double, mg.half) == (np.float32, np.float64, np.float16)
    assert (mg.long, mg.int, mg.short, mg.bool) == (np.int64, np.int32, np.int16, np.bool_)
    x = mg.tensor([1.5, -2.0])
    assert x.double().dtype == np.float64 and x.float().dtype == np.float32
    assert x.long().tolist() == [1, -2] and x.int().dtype == np.int32
    assert x.bool().dtype == np.bool_ and x.half().dtype == np.float16
    assert x.type(mg.float64).dtype == np.float64 and x.type() == "microgradnn.FloatTensor"
    assert x.to(mg.float64).dtype == np.float64 and x.to("cpu") is x
    assert x.to("cpu", mg.float64).dtype == np.float64
    assert x.to(mg.ones(1, dtype=mg.float64)).dtype == np.float64
    assert x.to(dtype=mg.int64, device="cpu").dtype == np.int64


def test_devices():
    assert mg.device("cpu") == "cpu" and str(mg.device("cpu:0")) == "cpu:0"
    assert mg.ones(2).device == mg.device("cpu") and not mg.ones(2).is_cuda
    assert mg.cuda.is_available() is False and mg.accelerator.is_available() is False
    mg.set_default_device("cpu")
    dev = mg.device("cuda" if mg.cuda.is_available() else "cpu")
    for make in (lambda d: mg.zeros(2, device=d), lambda d: mg.ones(2, device=d),
                 lambda d: mg.randn(2, device=d), lambda d: mg.rand(2, device=d),
                 lambda d: mg.full((2,), 1.0, device=d), lambda d: mg.arange(3, device=d),
                 lambda d: mg.linspace(0, 1, 3, device=d), lambda d: mg.eye(2, device=d),
                 lambda d: mg.tensor([1.0], device=d), lambda d: mg.zeros_like(mg.ones(2), device=d),
                 lambda d: mg.ones_like(mg.ones(2), device=d), lambda d: mg.as_tensor([1.0], device=d),
                 lambda d: mg.ones(2).to(d)):
        assert make(dev).device == dev
        assert make("cpu").device == dev
        with pytest.raises(RuntimeError, match="'cuda' is not available: .*CPU only"):
            make("cuda")
    with pytest.raises(RuntimeError, match="not available"):
        mg.device("mps")
    with pytest.raises(RuntimeError, match="not available"):
        mg.set_default_device("cuda:0")
    with pytest.raises(RuntimeError, match="CPU only"):
        mg.ones(2).cuda()


def test_module_to_float_double_cpu_keep_parameter_identity():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    w = model[0].weight
    opt = mg.optim.SGD(model.parameters(), lr=0.1)
    assert model.double() is model and w.dtype == np.float64 and model[0].weight is w
    assert all(b.dtype == np.float64 for b in model.buffers() if b.dtype.kind == "f")
    y = model(mg.ones(4, 2, dtype=mg.float64))
    assert y.dtype == np.float64
    y.sum().backward()
    opt.step()
    assert model.float().cpu().to("cpu") is model and w.dtype == np.float32
    assert model.to(mg.float64, ).to(device="cpu")[0].weight.dtype == np.float64
    with pytest.raises(RuntimeError, match="not available"):
        model.to("cuda")


def test_from_numpy_and_as_tensor_share_memory():
    a = np.zeros(3)
    t = mg.from_numpy(a)
    a[0] = 1.0
    assert t.tolist() == [1.0, 0.0, 0.0] and t.dtype == np.float64
    assert mg.as_tensor(a).data is a
    assert mg.as_tensor(a, dtype=mg.float32).data is not a
    assert mg.as_tensor([1.0, 2.0]).dtype == np.float32
    with pytest.raises(TypeError, match="from_numpy: expected np.ndarray"):
        mg.from_numpy([1.0])


# ---------------------------------------------------------------- user Functions
class Exp(mg.autograd.Function):
    """y = eˣ, saving its output (allowed: outputs are linked to the graph)."""

    @staticmethod
    def forward(ctx, x):
        assert isinstance(x, mg.Tensor) and not mg.is_grad_enabled()
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y


class SquareViaIntermediate(mg.autograd.Function):
    """y = x²; saves 2x, an intermediate: fine once, refused twice."""

    @staticmethod
    def forward(ctx, x):
        two_x = x * 2
        ctx.save_for_backward(two_x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (two_x,) = ctx.saved_tensors
        return grad * two_x


def test_user_function_forward_gets_tensors_under_no_grad_and_second_order_works():
    from microgradnn.testing import gradcheck, gradgradcheck
    x = mg.tensor([0.5, -1.0], dtype=mg.float64, requires_grad=True)
    assert gradcheck(Exp.apply, [x]) and gradgradcheck(Exp.apply, [x])


def test_saving_an_intermediate_works_once_and_raises_when_differentiated_twice():
    x = mg.tensor([0.5, -1.0], dtype=mg.float64, requires_grad=True)
    SquareViaIntermediate.apply(x).sum().backward()
    assert x.grad.tolist() == [1.0, -2.0]
    with pytest.raises(RuntimeError, match="neither an input nor the output.*silently wrong"):
        mg.autograd.grad(SquareViaIntermediate.apply(x).sum(), x, create_graph=True)


def test_once_differentiable():
    class Cube(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        @mg.autograd.once_differentiable
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return mg.tensor(3 * x.data ** 2 * grad.data)

    x = mg.tensor([2.0], dtype=mg.float64, requires_grad=True)
    Cube.apply(x).sum().backward()
    assert x.grad.tolist() == [12.0]
    (g,) = mg.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    assert g.tolist() == [12.0]
    with pytest.raises(RuntimeError, match="differentiate twice Cube.*once_differentiable"):
        g.sum().backward()


def test_next_functions():
    w = mg.tensor([1.0], requires_grad=True)
    y = (w * 2.0).exp()
    (mul, _), = y.grad_fn.next_functions
    assert type(mul).__name__ == "Mul"
    (acc, _), (const, _) = mul.next_functions
    assert acc.variable is w and const is None


# ---------------------------------------------------------------- names PyTorch programs use
def test_tensor_methods_and_functions_against_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 4))
    b = rng.standard_normal((2, 4, 5))
    x, tx = mg.tensor(a), torch.tensor(a)
    y, ty = mg.tensor(b), torch.tensor(b)
    m2, tm2 = x[0], tx[0]
    cases = [
        (m2.t(), tm2.t()), (x.view_as(mg.zeros(6, 4)), tx.view_as(torch.zeros(6, 4))),
        (x.reshape_as(mg.zeros(4, 6)), tx.reshape_as(torch.zeros(4, 6))),
        (mg.ones(3, 1).expand_as(m2[:, :1].expand(3, 4)), torch.ones(3, 1).expand_as(tm2)),
        (x.eq(0.5), tx.eq(0.5)), (x.ne(x), tx.ne(tx)), (x.lt(0), tx.lt(0)), (x.le(0), tx.le(0)),
        (x.gt(y[:, :3, :4]), tx.gt(ty[:, :3, :4])), (x.ge(0), tx.ge(0)),
        (x.clone(), tx.clone()), (x.contiguous(), tx.contiguous()),
        (x.norm(), tx.norm()), (x.norm(1, 2), tx.norm(1, 2)), (mg.norm(x, dim=1), torch.norm(tx, dim=1)),
        (m2.mm(y[0]), tm2.mm(ty[0])), (x.bmm(y), tx.bmm(ty)), (mg.mm(m2, y[0]), torch.mm(tm2, ty[0])),
        (mg.bmm(x, y), torch.bmm(tx, ty)), (mg.matmul(input=x, other=y), torch.matmul(input=tx, other=ty)),
        (x.masked_fill(x > 0, 1.5), tx.masked_fill(tx > 0, 1.5)),
        (x.cumsum(2), tx.cumsum(2)), (mg.cumsum(x, dim=1), torch.cumsum(tx, dim=1)),
        (x.prod(1), tx.prod(1)), (x.prod(), tx.prod()),
        (x.sort(1).values, tx.sort(1).values), (x.sort(2, descending=True).indices, tx.sort(2, descending=True).indices),
        (x.topk(2).values, tx.topk(2).values), (x.topk(2, dim=1, largest=False).indices, tx.topk(2, dim=1, largest=False).indices),
        (x.flip(0, 2), tx.flip(0, 2)), (x.roll(1, 2), tx.roll(1, 2)), (x.roll(2), tx.roll(2)),
        (x.gather(2, mg.tensor([[[0, 3]] * 3] * 2)), tx.gather(2, torch.tensor([[[0, 3]] * 3] * 2))),
        (mg.gather(x, 1, mg.tensor(np.zeros((2, 1, 4), np.int64))), torch.gather(tx, 1, torch.zeros((2, 1, 4), dtype=torch.int64))),
        (mg.argmax(x), torch.argmax(tx)), (mg.argmin(x, 1), torch.argmin(tx, 1)),
        (mg.einsum("bij,bjk->bik", x, y), torch.einsum("bij,bjk->bik", tx, ty)),
        (mg.einsum("bij->j", x), torch.einsum("bij->j", tx)),
        (mg.nn.functional.one_hot(mg.tensor([0, 3, 1])), torch.nn.functional.one_hot(torch.tensor([0, 3, 1]))),
        (mg.one_hot(mg.tensor([1, 0]), 4), torch.nn.functional.one_hot(torch.tensor([1, 0]), 4)),
    ]
    for i, (ours, theirs) in enumerate(cases):
        expected = theirs.numpy()
        assert ours.shape == expected.shape, i
        assert ours.dtype == expected.dtype, i
        np.testing.assert_allclose(ours.data, expected, rtol=1e-12, err_msg=str(i))
    for ours, theirs in zip(x.unbind(1), tx.unbind(1)):
        np.testing.assert_allclose(ours.data, theirs.numpy())
    assert mg.from_numpy(a).data is a and mg.as_tensor(a).dtype == np.float64


def test_mm_bmm_einsum_errors():
    with pytest.raises(RuntimeError, match="mm: input must be a matrix"):
        mg.mm(mg.ones(3), mg.ones(3, 2))
    with pytest.raises(RuntimeError, match="bmm: batch sizes differ"):
        mg.bmm(mg.ones(2, 3, 4), mg.ones(3, 4, 5))
    with pytest.raises(ValueError, match="einsum: ellipsis"):
        mg.einsum("...ij->...", mg.ones(2, 2))
    with pytest.raises(RuntimeError, match="einsum: .*float32.*float64"):
        mg.einsum("i,i->", mg.ones(2), mg.ones(2, dtype=mg.float64))
    with pytest.raises(RuntimeError, match="t: expects a tensor with <= 2 dimensions"):
        mg.ones(2, 2, 2).t()
    with pytest.raises(RuntimeError, match="topk: k"):
        mg.ones(3).topk(4)
