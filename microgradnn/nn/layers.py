"""Basic layers: ``Linear``, ``Identity``, ``Flatten``, ``Dropout``, ``Embedding``.

Parameter names, shapes and default initialisation are PyTorch's, so ``state_dict``s move
between the two libraries.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from . import init
from .functional import layers as F
from .module import Module, Parameter

__all__ = ["Linear", "Identity", "Flatten", "Dropout", "Embedding"]


def _size(cls: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{cls}: {name} must be a non-negative int, got {value!r}")
    return int(value)


def _empty(shape: tuple, dtype) -> Parameter:
    dtype = dtypes.get_default_dtype() if dtype is None else np.dtype(dtype)
    return Parameter(np.zeros(shape, dtype=dtype))


class Linear(Module):
    """y = x Wᵀ + b. Input (*, in_features) → output (*, out_features).

    ``weight`` has shape (out_features, in_features) and ``bias`` (out_features,); both
    start uniform in ±1/√in_features (PyTorch's default: Kaiming uniform with a = √5).

    >>> import microgradnn as mg
    >>> layer = mg.nn.Linear(2, 3)
    >>> layer.weight.shape, layer.bias.shape, layer(mg.zeros((4, 2))).shape
    ((3, 2), (3,), (4, 3))
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 dtype=None) -> None:
        super().__init__()
        self.in_features = _size("Linear", "in_features", in_features)
        self.out_features = _size("Linear", "out_features", out_features)
        self.weight = _empty((self.out_features, self.in_features), dtype)
        if bias:
            self.bias = _empty((self.out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh weights: U(-1/√in, 1/√in) for weight and bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input unchanged (arguments to the constructor are ignored).

    >>> import microgradnn as mg
    >>> mg.nn.Identity()(mg.ones(2))
    tensor([1., 1.])
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Flatten(Module):
    """Merge axes ``start_dim..end_dim`` into one: (N, C, H, W) → (N, C·H·W) by default.

    >>> import microgradnn as mg
    >>> mg.nn.Flatten()(mg.zeros((2, 3, 4, 5))).shape
    (2, 60)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """In training mode, zero each element with probability ``p`` and scale the others by
    1/(1 - p); in evaluation mode (``model.eval()``), pass the input through.

    >>> import microgradnn as mg
    >>> drop = mg.nn.Dropout(0.5).eval()
    >>> drop(mg.ones(3))
    tensor([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = F._check_p("Dropout", p)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Embedding(Module):
    """A lookup table: integer indices of any shape → rows of ``weight``
    (num_embeddings, embedding_dim), initialised N(0, 1). The row at ``padding_idx``
    starts at zero and receives no gradient.

    >>> import microgradnn as mg
    >>> emb = mg.nn.Embedding(10, 3, padding_idx=0)
    >>> emb(mg.tensor([[1, 2], [0, 9]])).shape, emb.weight.data[0].tolist()
    ((2, 2, 3), [0.0, 0.0, 0.0])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 *, dtype=None) -> None:
        super().__init__()
        self.num_embeddings = _size("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = _size("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None:
            padding_idx = F._padding_idx(padding_idx, self.num_embeddings)
        self.padding_idx = padding_idx
        self.weight = _empty((self.num_embeddings, self.embedding_dim), dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh weights from N(0, 1); zero the padding row."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True,
                        padding_idx: int | None = None) -> "Embedding":
        """An Embedding whose weight is a copy of ``embeddings`` (2-D); frozen by default.

        >>> import microgradnn as mg
        >>> emb = mg.nn.Embedding.from_pretrained(mg.eye(3))
        >>> emb(mg.tensor([2])).tolist(), emb.weight.requires_grad
        ([[0.0, 0.0, 1.0]], False)
        """
        data = embeddings.data if isinstance(embeddings, Tensor) else np.asarray(embeddings)
        if data.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D "
                             f"(num_embeddings, embedding_dim), got shape {data.shape}")
        emb = cls(data.shape[0], data.shape[1], padding_idx=padding_idx, dtype=data.dtype)
        emb.weight.data[...] = data
        emb.weight.requires_grad = not freeze
        return emb

    def forward(self, input) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s


class Dropout2d(Module):
    """In training, zero whole channels with probability ``p`` and scale the others by
    1/(1 - p), as PyTorch's ``Dropout2d``; in evaluation mode pass the input through.

    Input ``(N, C, H, W)``: one draw per (sample, channel). A 3-d input is taken as
    ``(N, C, L)`` with a warning, as PyTorch does. The masks come from the library's
    generator (``mg.manual_seed``). ``inplace`` is accepted for PyTorch code and ignored.

    >>> import microgradnn as mg
    >>> mg.manual_seed(0)
    >>> y = mg.nn.Dropout2d(0.5)(mg.ones((1, 6, 2, 2)))
    >>> [sorted(set(c.tolist())) for c in y.data.reshape(6, 4)][:3]
    [[2.0], [0.0], [0.0]]
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = F._check_p("Dropout2d", p)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
        if x.ndim not in (3, 4):
            raise ValueError(f"Dropout2d: expected a 4-d input (N, C, H, W) (or 3-d), got "
                             f"shape {x.shape}")
        if x.ndim == 3:
            import warnings
            warnings.warn("Dropout2d: received a 3-d input; taking it as (N, C, L) and "
                          "dropping whole channels of length L, as PyTorch does (use "
                          "Dropout1d for that on purpose)", UserWarning, stacklevel=2)
        if not self.training or self.p == 0.0:
            return x
        from .. import creation
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(dtypes.get_default_dtype())
        keep = creation.generator().random(x.shape[:2]) >= self.p
        scale = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        mask = (keep * scale).astype(dtype).reshape(x.shape[:2] + (1,) * (x.ndim - 2))
        return x * Tensor(mask)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size``: (N, 60) → (N, 3, 4, 5) with
    ``Unflatten(1, (3, 4, 5))``; the inverse of :class:`Flatten`. One size may be -1.

    >>> import microgradnn as mg
    >>> mg.nn.Unflatten(1, (3, 4, 5))(mg.zeros((2, 60))).shape
    (2, 3, 4, 5)
    """

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"Unflatten: dim must be an int, got {type(dim).__name__}")
        sizes = tuple(unflattened_size) if isinstance(unflattened_size, (tuple, list)) else None
        if not sizes or any(isinstance(s, bool) or not isinstance(s, (int, np.integer))
                            or (s < 0 and s != -1) for s in sizes) or sizes.count(-1) > 1:
            raise TypeError(f"Unflatten: unflattened_size must be a non-empty tuple of "
                            f"non-negative ints (one may be -1), got {unflattened_size!r}")
        self.dim = int(dim)
        self.unflattened_size = tuple(int(s) for s in sizes)

    def forward(self, input: Tensor) -> Tensor:
        shape = input.shape
        d = self.dim + len(shape) if self.dim < 0 else self.dim
        if not 0 <= d < len(shape):
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for an input of "
                             f"shape {shape}")
        sizes = self.unflattened_size
        known = math.prod(s for s in sizes if s != -1)
        if -1 in sizes:
            if known == 0 or shape[d] % known:
                raise ValueError(f"Unflatten: cannot split dimension {self.dim} of size "
                                 f"{shape[d]} into {sizes} (input shape {shape})")
            sizes = tuple(shape[d] // known if s == -1 else s for s in sizes)
        elif known != shape[d]:
            raise ValueError(f"Unflatten: sizes {sizes} multiply to {known}, but dimension "
                             f"{self.dim} of the input {shape} has size {shape[d]}")
        return input.reshape(shape[:d] + sizes + shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


__all__ += ["Dropout2d", "Unflatten"]
