"""Loss functions with PyTorch's formulas: ``F.mse_loss``, ``F.cross_entropy``, ...

``reduction`` is ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per element
or sample). Where PyTorch has deprecated positional arguments before ``reduction``, ours
are keyword-only, so a call written for PyTorch never lands in the wrong slot.

Targets must have the input's shape (no silent broadcasting: an (N, 1) prediction against
an (N,) target is a classic bug). Integer or boolean targets of the regression losses are
converted to the input's dtype. Class weights are constants (no gradient flows into them).
"""
from __future__ import annotations

import numpy as np

from ... import _validate as v, ops
from ...ops.loss import BinaryCrossEntropy, CrossEntropy, _along
from ...tensor import Tensor, _make, tensor
from ...autograd.scope import composite

__all__ = ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "hinge_embedding_loss", "multi_margin_loss"]

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------- argument checks
def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _input(op: str, input) -> Tensor:
    x = v.check_tensor(op, "input", input)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {x.dtype} "
                        f"(input shape {x.shape})")
    return x


def _same_shape_target(op: str, x: Tensor, target) -> Tensor:
    """The target as a Tensor of x's shape; ints, bools and Python floats become x's dtype."""
    t = v.check_tensor(op, "target", target)
    if not isinstance(target, Tensor) and t.dtype.kind == "f":
        t = _make(np.asarray(target, dtype=x.dtype), False, None)   # Python floats: x's dtype
    if t.shape != x.shape:
        raise ValueError(f"{op}: target shape {t.shape} != input shape {x.shape} (no "
                         "broadcasting: reshape one of them)")
    if t.dtype.kind in "biu":
        t = _make(t.data.astype(x.dtype), False, None)
    elif t.dtype.kind != "f":
        raise TypeError(f"{op}: target must be numeric, got dtype {t.dtype}")
    return t


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _const(op: str, name: str, value, shape: tuple, dtype) -> np.ndarray | None:
    """A weight argument as a constant array of ``shape`` (None stays None)."""
    if value is None:
        return None
    arr = v.check_tensor(op, name, value).data
    if arr.shape != shape:
        raise ValueError(f"{op}: {name} has shape {arr.shape}, expected {shape}")
    return arr.astype(dtype, copy=False)


# ---------------------------------------------------------------- regression
@composite
def mse_loss(input: Tensor, target, *, reduction: str = "mean") -> Tensor:
    """Mean squared error: (x - y)² per element, then reduced.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.mse_loss(mg.tensor([0.16]), mg.tensor([0.3]))  # the lecture's one-neuron example
    tensor(0.0196)
    """
    _check_reduction("mse_loss", reduction)
    x = _input("mse_loss", input)
    d = x - _same_shape_target("mse_loss", x, target)
    return _reduce(d * d, reduction)


@composite
def l1_loss(input: Tensor, target, *, reduction: str = "mean") -> Tensor:
    """Mean absolute error: ``|x - y|`` per element, then reduced.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.l1_loss(mg.tensor([1.0, -1.0]), mg.tensor([0.0, 0.0]))
    tensor(1.)
    """
    _check_reduction("l1_loss", reduction)
    x = _input("l1_loss", input)
    return _reduce((x - _same_shape_target("l1_loss", x, target)).abs(), reduction)


@composite
def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber loss: ½d² where ``|d| < δ``, else ``δ(|d| - ½δ)``, with d = x - y: quadratic near
    zero, linear (robust to outliers) far away. The gradient is d inside, ±δ outside, also
    at d = ±inf.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.huber_loss(mg.tensor([0.5, 3.0]), mg.zeros(2), reduction="none")
    tensor([0.125, 2.5  ])
    """
    _check_reduction("huber_loss", reduction)
    if not v.check_real("huber_loss", "delta", delta) > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta!r}")
    x = _input("huber_loss", input)
    return _reduce(_huber(x - _same_shape_target("huber_loss", x, target), delta), reduction)


@composite
def smooth_l1_loss(input: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1 loss (PyTorch): ½d²/β where ``|d| < β``, else ``|d| - ½β``, with d = x - y;
    that is the Huber loss with δ = β divided by β. β = 0 gives the L1 loss.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.smooth_l1_loss(mg.tensor([0.5, 3.0]), mg.zeros(2), reduction="none")
    tensor([0.125, 2.5  ])
    """
    _check_reduction("smooth_l1_loss", reduction)
    if not v.check_real("smooth_l1_loss", "beta", beta) >= 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta!r}")
    x = _input("smooth_l1_loss", input)
    d = x - _same_shape_target("smooth_l1_loss", x, target)
    loss = d.abs() if beta == 0 else _huber(d, beta) * (1.0 / beta)
    return _reduce(loss, reduction)


def _huber(d: Tensor, delta: float) -> Tensor:
    ad = d.abs()
    small = ad.data < delta
    # The quadratic branch sees 0 where it is not selected: where() sends a zero gradient
    # into the unselected branch, and 0·d at d = ±inf would be nan.
    d_small = ops.where(small, d, 0.0)
    return ops.where(small, d_small * d_small * 0.5, (ad - 0.5 * delta) * delta)


# ---------------------------------------------------------------- classification
def _class_targets(op: str, x: Tensor, target, ignore_index: int):
    """Check integer class targets against input (N, C, d1, ...) or (C,).

    Returns (target array, mask of targets that count, target with ignored ones set to 0).
    """
    t = v.check_tensor(op, "target", target).data
    c = x.shape[1] if x.ndim >= 2 else x.shape[0]
    want = (x.shape[:1] + x.shape[2:]) if x.ndim >= 2 else ()
    if t.shape != want:
        raise ValueError(f"{op}: target shape {t.shape} does not match input shape {x.shape}; "
                         f"class indices need shape {want}")
    if t.size and 0 <= t.min() and t.max() < c and not 0 <= ignore_index < c:
        return t, np.ones(t.shape, dtype=bool), t    # the common case: all count
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError(f"{op}: target class {int(t[bad].flat[0])} out of range for {c} classes")
    safe = np.where(valid, t, 0)
    return t, valid, safe


def _pick(x: Tensor, safe: np.ndarray) -> Tensor:
    """x[n, t[n, d...], d...]: the entry of the target class along axis 1 (or axis 0)."""
    index = _target_index(safe)
    return x[index[0] if x.ndim == 1 else index]


@composite
def nll_loss(input: Tensor, target, weight=None, *, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log likelihood: -w[y]·x[y] for log-probabilities x (N, C, d1, ...) or (C,)
    and class indices y (N, d1, ...) or (). ``'mean'`` divides by the summed weights of
    the targets that count (targets equal to ``ignore_index`` do not).

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.nll_loss(mg.tensor([[-1.0, -2.0], [-3.0, -4.0]]), mg.tensor([1, 0]))
    tensor(2.5)
    """
    _check_reduction("nll_loss", reduction)
    x = _input("nll_loss", input)
    if x.ndim == 0:
        raise ValueError("nll_loss: input must have shape (N, C, ...) or (C,), got shape ()")
    _check_int_target("nll_loss", target, x)
    _, valid, safe = _class_targets("nll_loss", x, target, ignore_index)
    c = x.shape[1] if x.ndim >= 2 else x.shape[0]
    w = _const("nll_loss", "weight", weight, (c,), x.dtype)
    return _nll(x, safe, valid, w, reduction)


def _nll(logp: Tensor, safe: np.ndarray, valid: np.ndarray, w: np.ndarray | None,
         reduction: str) -> Tensor:
    picked = _pick(logp, safe)
    if w is None and valid.all():
        # The common case: no weights, nothing ignored.
        if reduction == "none":
            return -picked
        return -(picked.mean() if reduction == "mean" else picked.sum())
    wt = (valid if w is None else w[safe] * valid).astype(logp.dtype)
    loss = picked * (-wt)
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    return _divide(total, float(wt.sum()))


def _divide(total: Tensor, denom: float) -> Tensor:
    # 0/0 (every target ignored) is nan in PyTorch, with gradient 0 (not nan); produce
    # both without NumPy's warning.
    if denom == 0.0:
        return total * np.asarray(0.0, dtype=total.dtype) + np.asarray(np.nan, dtype=total.dtype)
    return total / denom


def _check_int_target(op: str, target, x: Tensor) -> None:
    t = v.check_tensor(op, "target", target).data
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold class indices (an integer tensor), got dtype "
                        f"{t.dtype} (target shape {t.shape}, input shape {x.shape})")


@composite
def cross_entropy(input: Tensor, target, weight=None, *, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits and targets, as PyTorch computes it.

    ``input`` holds unnormalised scores (logits) of shape (N, C), (N, C, d1, ...) or (C,).
    ``target`` is either class indices (integers of shape (N,), (N, d1, ...) or ()) or
    class probabilities (floats of the input's shape). Per sample the loss is
    -Σ_c w_c q_c log softmax(x)_c, where q is the one-hot target (or the given
    probabilities) mixed with the uniform distribution by ``label_smoothing`` ε:
    q ← (1 - ε)q + ε/C. With class indices, ``'mean'`` divides by the summed weights of
    the counted targets (not ``ignore_index``); with probabilities, by the number of samples.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> logits = mg.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=mg.float64)
    >>> F.cross_entropy(logits, mg.tensor([0, 2]))  # (log(1 + 2e⁻²) + log 3) / 2
    tensor(0.6691, dtype=float64)
    """
    op = "cross_entropy"
    _check_reduction(op, reduction)
    if not 0.0 <= v.check_real(op, "label_smoothing", label_smoothing) <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be between 0 and 1, got {label_smoothing!r}")
    x = _input(op, input)
    if x.ndim == 0:
        raise ValueError(f"{op}: input must have shape (N, C, ...) or (C,), got shape ()")
    class_axis = 1 if x.ndim >= 2 else 0
    c = x.shape[class_axis]
    t = v.check_tensor(op, "target", target).data
    w = _const(op, "weight", weight, (c,), x.dtype)
    if t.dtype.kind == "f":
        if t.shape != x.shape:
            raise ValueError(f"{op}: float target of shape {t.shape} for input of shape "
                             f"{x.shape}: class probabilities need the input's shape; class "
                             "indices must be an integer tensor")
        q = (target if isinstance(target, Tensor) else tensor(t)).astype(x.dtype)
        return _cross_entropy_probs(x, q, w, class_axis, reduction, label_smoothing)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must be class indices (integers) or class "
                        f"probabilities (floats), got dtype {t.dtype}")
    if c == 0:
        raise ValueError(f"{op}: input has no classes (input shape {x.shape})")
    _, valid, safe = _class_targets(op, x, t, ignore_index)
    return CrossEntropy.apply(x, index=_target_index(safe), valid=valid, weight=w,
                              smoothing=float(label_smoothing), reduction=reduction)


def _target_index(safe: np.ndarray):
    """The fancy index of each target's entry in an (N, C, d1, ...) or (C,) input."""
    if safe.ndim == 0:
        return (safe,)
    if safe.ndim == 1:
        return (np.arange(safe.shape[0]), safe)
    grids = np.ogrid[tuple(slice(0, s) for s in safe.shape)]
    return (grids[0], safe) + tuple(grids[1:])


def _cross_entropy_probs(x: Tensor, q: Tensor, w, class_axis: int, reduction: str,
                         label_smoothing: float) -> Tensor:
    # The target stays a tensor: soft targets may themselves require gradients.
    c = x.shape[class_axis]
    if label_smoothing > 0.0:
        q = q * (1.0 - label_smoothing) + label_smoothing / c
    coef = q if w is None else q * _along(w, class_axis, x.ndim)
    loss = (x.log_softmax(axis=class_axis) * (-coef)).sum(axis=class_axis)
    return _reduce(loss, reduction)


@composite
def binary_cross_entropy(input: Tensor, target, weight=None, *,
                         reduction: str = "mean") -> Tensor:
    """-w·[y log x + (1 - y) log(1 - x)] for probabilities x in [0, 1]; each log is
    clamped at -100 (as PyTorch), so x = 0 or 1 gives a finite loss and gradient.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.binary_cross_entropy(mg.tensor([0.5, 0.0]), mg.tensor([1.0, 1.0]), reduction="none")
    tensor([  0.6931, 100.    ])
    """
    op = "binary_cross_entropy"
    _check_reduction(op, reduction)
    x = _input(op, input)
    y = _same_shape_target(op, x, target)
    if x.numel() and ((x.data < 0).any() or (x.data > 1).any() or np.isnan(x.data).any()):
        raise ValueError(f"{op}: input must hold probabilities between 0 and 1 (apply "
                         "sigmoid first, or use binary_cross_entropy_with_logits)")
    loss = BinaryCrossEntropy.apply(x, y)
    w = _broadcast_weight(op, weight, x)
    if w is not None:
        loss = loss * w
    return _reduce(loss, reduction)


def _broadcast_weight(op: str, weight, x: Tensor):
    if weight is None:
        return None
    w = v.check_tensor(op, "weight", weight).data
    try:
        np.broadcast_shapes(w.shape, x.shape)
    except ValueError:
        raise ValueError(f"{op}: weight of shape {w.shape} does not broadcast to the input "
                         f"shape {x.shape}") from None
    return w.astype(x.dtype, copy=False)


def _softplus(x: Tensor) -> Tensor:
    """log(1 + eˣ) for any finite x: max(x, 0) + log(1 + e^(-|x|)), with the kink of |x|
    at 0 handled by selection so the gradient there is ½ (σ(0)), not 0."""
    pos = x.data > 0
    neg_abs = ops.where(pos, -x, x)  # -|x| with slope -1 / +1 on each side, +1 at 0
    return ops.where(pos, x, 0.0) + (neg_abs.exp() + 1).log()


@composite
def binary_cross_entropy_with_logits(input: Tensor, target, weight=None, *,
                                     reduction: str = "mean", pos_weight=None) -> Tensor:
    """Binary cross-entropy on logits x (sigmoid folded in), stable for any x:
    p·y·log(1 + e⁻ˣ) + (1 - y)·log(1 + eˣ), with ``pos_weight`` p (default 1; broadcast
    along the last axis, one per class) weighing the positive examples.

    A term whose weight is 0 is left out, so infinite logits give the loss's limit: 0
    for a right answer (+inf with y = 1; PyTorch: nan), +inf for a wrong one.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.binary_cross_entropy_with_logits(mg.tensor([0.0, 1000.0, -1000.0]),
    ...                                    mg.tensor([1.0, 1.0, 1.0]), reduction="none").tolist()
    [0.6931, 0.0, 1000.0]
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(op, reduction)
    x = _input(op, input)
    y = _same_shape_target(op, x, target)
    pw = None if pos_weight is None else _broadcast_weight(op, pos_weight, x)
    if np.isfinite(x.data).all():
        # The short forms (PyTorch's), one softplus: log(1 + eˣ) - x·y, or
        # (1 - y)·x + (1 + (p - 1)·y)·log(1 + e⁻ˣ) with pos_weight.
        if pw is None:
            loss = _softplus(x) - x * y
        else:
            loss = (1 - y) * x + ((pw - 1) * y + 1) * _softplus(-x)
    else:
        # An infinite logit makes those nan (inf - inf, 0·inf); the sum of the two terms,
        # each dropped where its weight is 0, gives the limit.
        pos = y if pw is None else y * pw
        loss = _weighted(pos, _softplus(-x)) + _weighted(1 - y, _softplus(x))
    w = _broadcast_weight(op, weight, x)
    if w is not None:
        loss = loss * w
    return _reduce(loss, reduction)


def _weighted(c: Tensor, s: Tensor) -> Tensor:
    """c·s, where a zero c drops the term even when s is infinite (0·inf would be nan)."""
    inf = np.isinf(s.data)
    if inf.any():
        s = ops.where(inf & (c.data == 0), 0.0, s)
    return c * s


@composite
def hinge_embedding_loss(input: Tensor, target, margin: float = 1.0, *,
                         reduction: str = "mean") -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1 (x is usually a distance).

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.hinge_embedding_loss(mg.tensor([0.3, 0.3, 2.0]), mg.tensor([1, -1, -1]),
    ...                        reduction="none")
    tensor([0.3, 0.7, 0. ])
    """
    op = "hinge_embedding_loss"
    _check_reduction(op, reduction)
    x = _input(op, input)
    y = _same_shape_target(op, x, target).data
    # As PyTorch: the margin term applies where y != 1, the identity term where y != -1.
    # Selected with where(), not multiplied by 0/1 masks: 0·inf would be nan.
    margin_part = ops.where(y != 1, ops.clip(margin - x, min=0.0), 0.0)
    self_part = ops.where(y != -1, x, 0.0)
    return _reduce(margin_part + self_part, reduction)


@composite
def multi_margin_loss(input: Tensor, target, p: int = 1, margin: float = 1.0, weight=None, *,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss for scores x (N, C) or (C,) and class indices y (N,) or ():
    per sample Σ_{j≠y} w_y · max(0, margin - x_y + x_j)^p / C, with p = 1 or 2.

    >>> import microgradnn as mg
    >>> from microgradnn.nn import functional as F
    >>> F.multi_margin_loss(mg.tensor([[0.1, 0.2, 0.4, 0.8]]), mg.tensor([3]))
    tensor(0.325)
    """
    op = "multi_margin_loss"
    _check_reduction(op, reduction)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p = 1 and p = 2 are supported, got {p!r}")
    x = _input(op, input)
    if x.ndim not in (1, 2):
        raise ValueError(f"{op}: input must have shape (N, C) or (C,), got shape {x.shape}")
    _check_int_target(op, target, x)
    _, _, safe = _class_targets(op, x, target, ignore_index=-(2 ** 62))
    c = x.shape[-1]
    w = _const(op, "weight", weight, (c,), x.dtype)
    picked = _pick(x, safe)
    z = (x - picked.unsqueeze(-1)) + margin          # margin - x_y + x_j
    h = z.relu()                                     # gradient 0 at z = 0, as PyTorch
    if p == 2:
        h = h * h
    others = np.ones(x.shape, dtype=x.dtype)
    if x.ndim == 1:
        others[safe] = 0
    else:
        others[np.arange(x.shape[0]), safe] = 0
    coef = others / c
    if w is not None:
        coef = coef * w[safe][..., None]
    loss = (h * coef).sum(axis=-1)
    return _reduce(loss, reduction)

