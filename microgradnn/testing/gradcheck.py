"""Check analytic gradients against central finite differences, in float64."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .. import autograd
from ..tensor import Tensor, _make


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the finite-difference estimate."""


def _outputs(fn: Callable, inputs: Sequence[Tensor]) -> list[Tensor]:
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: fn must return Tensors, got {type(o).__name__}")
    return outs


def _check_inputs(inputs: Sequence[Tensor]) -> None:
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"gradcheck: input {i} is a {type(t).__name__}, not a Tensor")
        if t.requires_grad and t.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} has dtype {t.dtype}; finite differences "
                            "need float64 (use dtype=mg.float64)")


def _flat_outputs(fn, inputs) -> np.ndarray:
    # Not under no_grad: fn may itself differentiate (gradgradcheck's first_grads does).
    outs = _outputs(fn, inputs)
    return np.concatenate([o.data.astype(np.float64).ravel() for o in outs]) if outs else np.zeros(0)


def numerical_jacobian(fn: Callable, inputs: Sequence[Tensor], eps: float = 1e-6) -> list[np.ndarray]:
    """One matrix per input, shape (total output size, input size): d out / d in by central
    differences, perturbing each element of ``inputs`` in place and restoring it."""
    jac = []
    for t in inputs:
        if not t.requires_grad:
            jac.append(None)
            continue
        if not t.data.flags.c_contiguous or not t.data.flags.writeable:
            t.data = np.array(t.data, order="C")
        flat = t.data.reshape(-1)  # a view: writing perturbs the input itself
        cols = []
        for k in range(flat.size):
            orig = flat[k]
            try:
                flat[k] = orig + eps
                plus = _flat_outputs(fn, inputs)
                flat[k] = orig - eps
                minus = _flat_outputs(fn, inputs)
            finally:
                flat[k] = orig
            cols.append((plus - minus) / (2 * eps))
        n_out = _flat_outputs(fn, inputs).size
        jac.append(np.stack(cols, axis=1) if cols else np.zeros((n_out, 0)))
    return jac


def analytic_jacobian(fn: Callable, inputs: Sequence[Tensor]) -> list[np.ndarray]:
    """One matrix per input, (total output size, input size), from one backward pass per
    output element (reverse mode gives a row of the Jacobian at a time)."""
    outs = _outputs(fn, inputs)
    wrt = [t for t in inputs if t.requires_grad]
    sizes = [o.numel() for o in outs]
    n_out = sum(sizes)
    jac = {id(t): np.zeros((n_out, t.numel())) for t in wrt}
    row = 0
    for j, o in enumerate(outs):
        for k in range(o.numel()):
            if not o.requires_grad:
                row += 1
                continue
            seed = np.zeros(o.numel(), dtype=o.dtype)
            seed[k] = 1
            grads = autograd.grad([o], wrt, [seed.reshape(o.shape)], retain_graph=True,
                                  allow_unused=True)
            for t, g in zip(wrt, grads):
                if g is not None:
                    if g.shape != t.shape:
                        raise GradcheckError(f"gradcheck: gradient of shape {g.shape} for an "
                                             f"input of shape {t.shape}")
                    if g.dtype != t.dtype:
                        raise GradcheckError(f"gradcheck: gradient of dtype {g.dtype} for an "
                                             f"input of dtype {t.dtype}")
                    jac[id(t)][row] = g.data.ravel()
            row += 1
    return [jac[id(t)] if t.requires_grad else None for t in inputs]


def gradcheck(fn: Callable, inputs: Sequence[Tensor], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3) -> bool:
    """Compare the gradients backward() computes for ``fn(*inputs)`` with central finite
    differences over every element of every input that requires grad.

    ``inputs`` must be float64 tensors. Returns True, or raises :class:`GradcheckError`
    naming the input, the element, and both values.

    >>> import microgradnn as mg
    >>> from microgradnn.testing import gradcheck
    >>> x = mg.tensor([0.5, -1.0], dtype=mg.float64, requires_grad=True)
    >>> gradcheck(lambda x: (x * x.sin()).sum(), [x])
    True
    """
    inputs = list(inputs)
    _check_inputs(inputs)
    analytic = analytic_jacobian(fn, inputs)
    numeric = numerical_jacobian(fn, inputs, eps)
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        if a is None:
            continue
        with np.errstate(invalid="ignore"):
            bad = ~(np.abs(a - n) <= atol + rtol * np.abs(n))
        bad &= ~(np.isnan(a) & np.isnan(n))  # both undefined: they agree
        if bad.any():
            r, c = np.argwhere(bad)[0]
            index = np.unravel_index(c, inputs[i].shape) if inputs[i].ndim else ()
            raise GradcheckError(
                f"gradcheck: input {i} (shape {inputs[i].shape}), element {tuple(map(int, index))}, "
                f"output element {int(r)}: analytic {a[r, c]!r} vs numeric {n[r, c]!r} "
                f"(atol={atol}, rtol={rtol}); {int(bad.sum())} of {bad.size} entries differ")
    return True


def gradgradcheck(fn: Callable, inputs: Sequence[Tensor], grad_outputs: Sequence | None = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  seed: int = 0) -> bool:
    """Check second derivatives: gradcheck the function that maps ``inputs`` (and the seed
    gradient ``v``) to the gradients ``backward(create_graph=True)`` computes.

    ``grad_outputs`` (one per output) defaults to random float64 values (fixed ``seed``).

    >>> import microgradnn as mg
    >>> from microgradnn.testing import gradgradcheck
    >>> x = mg.tensor([0.5, 2.0], dtype=mg.float64, requires_grad=True)
    >>> gradgradcheck(lambda x: x.tanh() * x, [x])
    True
    """
    inputs = list(inputs)
    _check_inputs(inputs)
    outs = _outputs(fn, inputs)
    rng = np.random.default_rng(seed)
    if grad_outputs is None:
        vs = [_make(rng.standard_normal(o.shape), True, None) for o in outs]
    else:
        vs = [_make(np.array(g.data if isinstance(g, Tensor) else g, dtype=np.float64), True, None)
              for g in grad_outputs]
    wrt_index = [i for i, t in enumerate(inputs) if t.requires_grad]
    n = len(inputs)

    def first_grads(*args):
        xs, v = list(args[:n]), list(args[n:])
        outs = _outputs(fn, xs)
        keep = [(o, g) for o, g in zip(outs, v) if o.requires_grad]
        wrt = [xs[i] for i in wrt_index]
        if not keep or not wrt:
            return [_make(np.zeros(xs[i].shape), False, None) for i in wrt_index]
        gs = autograd.grad([o for o, _ in keep], wrt, [g for _, g in keep], create_graph=True,
                           allow_unused=True)
        # An unused input has a zero gradient; it still must be a Tensor to be checked.
        return [g if g is not None else _make(np.zeros(w.shape), False, None)
                for g, w in zip(gs, wrt)]

    return gradcheck(first_grads, inputs + vs, eps=eps, atol=atol, rtol=rtol)
