"""Check analytic gradients against central finite differences, in float64.

Every check here refuses to pass without having checked something: no input requiring
grad, an input that is not float64, or an input no output depends on is an error, not
a silent ``True``.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Sequence

import numpy as np

from .. import autograd
from ..tensor import Tensor, _make


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the finite-difference estimate (or cannot be
    compared: wrong shape or dtype, an input the outputs do not depend on)."""


_PRECISE = (np.dtype(np.float64), np.dtype(np.longdouble))


def _num(v) -> str:
    """A plain number for a message: ``0.25``, not ``np.float64(0.25)``."""
    return f"{float(v):.8g}"


def _label(i: int, t: Tensor, names) -> str:
    name = names[i] if names is not None else t.name
    return f"input {i}" + (f" ({name!r})" if name else "") + f" of shape {t.shape}"


def _outputs(op: str, fn: Callable, inputs: Sequence[Tensor]) -> list[Tensor]:
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for j, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"{op}: fn must return a Tensor or a tuple of Tensors; output {j} "
                            f"is a {type(o).__name__}")
    return outs


def _check_inputs(op: str, inputs: Sequence[Tensor], names) -> None:
    if names is not None and len(names) != len(inputs):
        raise ValueError(f"{op}: {len(names)} names for {len(inputs)} inputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: input {i} is a {type(t).__name__}, not a Tensor")
        if t.requires_grad and t.dtype not in _PRECISE:
            raise TypeError(f"{op}: {_label(i, t, names)} has dtype {t.dtype}; finite "
                            "differences need float64 (use dtype=mg.float64)")
    if not any(t.requires_grad for t in inputs):
        raise ValueError(f"{op}: no input requires grad, so there is nothing to check; create "
                         "the inputs to check with requires_grad=True")


def _check_outputs(op: str, outs: list[Tensor]) -> None:
    for j, o in enumerate(outs):
        if o.requires_grad and o.dtype not in _PRECISE:
            raise TypeError(f"{op}: output {j} has dtype {o.dtype}; finite differences of a "
                            f"{o.dtype} result are too coarse to check (compute in float64)")


@contextlib.contextmanager
def _writeable(t: Tensor):
    """Let finite differences perturb ``t`` in place (``fn`` may reach its inputs through a
    closure too, as a module's parameters are): a read-only array (a broadcast view) is
    swapped for a copy meanwhile; the original array object always comes back."""
    original = t.data
    if not original.flags.writeable:
        t.data = np.array(original, copy=True)
    try:
        yield t.data
    finally:
        t.data = original


def _flat_outputs(fn, inputs) -> np.ndarray:
    # Not under no_grad: fn may itself differentiate (gradgradcheck's first_grads does).
    outs = _outputs("gradcheck", fn, inputs)
    return np.concatenate([o.data.astype(np.float64).ravel() for o in outs]) if outs else np.zeros(0)


def _structure(op: str, fn, inputs, names, allow_unused: bool, rng) -> list:
    """One backward pass with a random upstream gradient: every gradient must have its
    input's shape and dtype, and each input requiring grad must be reached (unless
    ``allow_unused``). Returns the gradients (None where unused)."""
    outs = _outputs(op, fn, inputs)
    _check_outputs(op, outs)
    wrt = [t for t in inputs if t.requires_grad]
    live = [o for o in outs if o.requires_grad]
    grads = [None] * len(wrt)
    if live:
        seeds = [rng.standard_normal(o.shape).astype(o.dtype) for o in live]
        grads = list(autograd.grad(live, wrt, seeds, retain_graph=False, allow_unused=True))
    k = 0
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            continue
        g = grads[k]
        k += 1
        if g is None:
            if not allow_unused:
                raise GradcheckError(
                    f"{op}: {_label(i, t, names)} requires grad but no output depends on it, "
                    "so its gradient cannot be checked; pass allow_unused=True if that is "
                    "intended")
            continue
        if g.shape != t.shape:
            raise GradcheckError(f"{op}: the gradient of {_label(i, t, names)} has shape "
                                 f"{g.shape}")
        if g.dtype != t.dtype:
            raise GradcheckError(f"{op}: the gradient of {_label(i, t, names)} has dtype "
                                 f"{g.dtype}, the input {t.dtype}")
    return grads


def numerical_jacobian(fn: Callable, inputs: Sequence[Tensor], eps: float = 1e-6) -> list[np.ndarray]:
    """One matrix per input, shape (total output size, input size): d out / d in by central
    differences (None for inputs that do not require grad). Each element is perturbed in
    place and restored, so ``fn`` sees the change however it reaches the input."""
    n_out = _flat_outputs(fn, inputs).size
    jac = []
    for t in inputs:
        if not t.requires_grad:
            jac.append(None)
            continue
        cols = []
        with _writeable(t) as arr:
            for k in range(arr.size):
                index = np.unravel_index(k, arr.shape) if arr.ndim else ()
                orig = arr[index]
                try:
                    arr[index] = orig + eps
                    plus = _flat_outputs(fn, inputs)
                    arr[index] = orig - eps
                    minus = _flat_outputs(fn, inputs)
                finally:
                    arr[index] = orig
                cols.append((plus - minus) / (2 * eps))
        jac.append(np.stack(cols, axis=1) if cols else np.zeros((n_out, 0)))
    return jac


def analytic_jacobian(fn: Callable, inputs: Sequence[Tensor]) -> list[np.ndarray]:
    """One matrix per input, (total output size, input size), from one backward pass per
    output element (reverse mode gives a row of the Jacobian at a time)."""
    outs = _outputs("gradcheck", fn, inputs)
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
                    jac[id(t)][row] = g.data.ravel()
            row += 1
    return [jac[id(t)] if t.requires_grad else None for t in inputs]


def _mismatch(a, n, atol, rtol):
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(a - n) <= atol + rtol * np.abs(n))
    return bad & ~(np.isnan(a) & np.isnan(n))  # both undefined: they agree


def _full_check(fn, inputs, names, eps, atol, rtol) -> None:
    analytic = analytic_jacobian(fn, inputs)
    numeric = numerical_jacobian(fn, inputs, eps)
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        if a is None:
            continue
        bad = _mismatch(a, n, atol, rtol)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            shape = inputs[i].shape
            index = tuple(int(k) for k in np.unravel_index(c, shape)) if shape else ()
            av, nv = a[r, c], n[r, c]
            raise GradcheckError(
                f"gradcheck: {_label(i, inputs[i], names)}, element {index}, output element "
                f"{int(r)}: analytic {_num(av)} vs numeric {_num(nv)}, difference "
                f"{_num(abs(av - nv))} > tolerance {_num(atol + rtol * abs(nv))} (atol {atol} "
                f"+ rtol {rtol} x |numeric|); {int(bad.sum())} of {bad.size} entries differ")


def _fast_check(fn, inputs, names, eps, atol, rtol, rng, n_directions: int) -> None:
    """vᵀJu for random unit directions u (per input) and random upstream gradients v:
    one backward pass and two evaluations of fn per direction and input."""
    outs = _outputs("gradcheck", fn, inputs)
    sizes = [o.numel() for o in outs]
    for d in range(n_directions):
        vs = [rng.standard_normal(o.shape) for o in outs]
        v_flat = np.concatenate([v.ravel() for v in vs]) if vs else np.zeros(0)
        live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
        wrt = [t for t in inputs if t.requires_grad]
        grads = (autograd.grad([o for o, _ in live], wrt, [v.astype(o.dtype) for o, v in live],
                               retain_graph=True, allow_unused=True)
                 if live else [None] * len(wrt))
        k = 0
        for i, t in enumerate(inputs):
            if not t.requires_grad:
                continue
            g = grads[k]
            k += 1
            if t.numel() == 0:
                continue
            u = rng.standard_normal(t.shape)
            u /= np.linalg.norm(u)
            analytic = 0.0 if g is None else float(np.sum(g.data * u))
            with _writeable(t) as arr:
                base = arr.copy()
                try:
                    arr[...] = base + eps * u
                    plus = _flat_outputs(fn, inputs)
                    arr[...] = base - eps * u
                    minus = _flat_outputs(fn, inputs)
                finally:
                    arr[...] = base
            numeric = float(v_flat @ ((plus - minus) / (2 * eps))) if sum(sizes) else 0.0
            if _mismatch(np.array(analytic), np.array(numeric), atol, rtol):
                raise GradcheckError(
                    f"gradcheck (fast mode): {_label(i, t, names)}, random direction {d}: "
                    f"analytic vᵀJu {_num(analytic)} vs numeric {_num(numeric)}, difference "
                    f"{_num(abs(analytic - numeric))} > tolerance "
                    f"{_num(atol + rtol * abs(numeric))} (atol {atol} + rtol {rtol} x "
                    "|numeric|); run with fast_mode=False to find the element")


def gradcheck(fn: Callable, inputs: Sequence[Tensor], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, *, allow_unused: bool = False, fast_mode: bool = False,
              n_directions: int = 3, seed: int = 0, names: Sequence[str] | None = None) -> bool:
    """Compare the gradients backward() computes for ``fn(*inputs)`` with central finite
    differences over every element of every input that requires grad.

    ``inputs`` that require grad must be float64; at least one must require grad, and
    each one that does must be used by some output unless ``allow_unused=True``. Returns
    True, or raises :class:`GradcheckError` naming the input (``names[i]`` or its
    ``.name``), the element, both values and the difference against the tolerance.

    ``fast_mode=True`` checks ``n_directions`` random directional derivatives per input
    instead of the whole Jacobian: vᵀJu for a random unit vector u and random upstream
    gradient v costs one backward pass and two evaluations of ``fn``, whatever the sizes,
    where the full check costs one backward per output element and two evaluations per
    input element. Use it for large inputs (layers, whole models); use the full check
    (the default) for small ones and to find the element once fast mode has failed.

    >>> import microgradnn as mg
    >>> from microgradnn.testing import gradcheck
    >>> x = mg.tensor([0.5, -1.0], dtype=mg.float64, requires_grad=True)
    >>> gradcheck(lambda x: (x * x.sin()).sum(), [x])
    True
    """
    inputs = list(inputs)
    _check_inputs("gradcheck", inputs, names)
    rng = np.random.default_rng(seed)
    _structure("gradcheck", fn, inputs, names, allow_unused, rng)
    if fast_mode:
        if n_directions < 1:
            raise ValueError(f"gradcheck: n_directions must be at least 1, got {n_directions}")
        _fast_check(fn, inputs, names, eps, atol, rtol, rng, n_directions)
    else:
        _full_check(fn, inputs, names, eps, atol, rtol)
    return True


def gradgradcheck(fn: Callable, inputs: Sequence[Tensor], grad_outputs: Sequence | None = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  seed: int = 0, *, allow_unused: bool = False, fast_mode: bool = False,
                  n_directions: int = 3, names: Sequence[str] | None = None) -> bool:
    """Check second derivatives: gradcheck the function that maps ``inputs`` (and the seed
    gradient ``v``) to the gradients ``backward(create_graph=True)`` computes.

    ``grad_outputs`` (one per output) defaults to random float64 values (fixed ``seed``).
    The inputs must pass the same requirements as for :func:`gradcheck`; a first
    derivative that does not depend on an input (the derivative of a linear function) is
    fine: its second derivative is then checked to be zero.

    >>> import microgradnn as mg
    >>> from microgradnn.testing import gradgradcheck
    >>> x = mg.tensor([0.5, 2.0], dtype=mg.float64, requires_grad=True)
    >>> gradgradcheck(lambda x: x.tanh() * x, [x])
    True
    """
    inputs = list(inputs)
    _check_inputs("gradgradcheck", inputs, names)
    rng = np.random.default_rng(seed)
    _structure("gradgradcheck", fn, inputs, names, allow_unused, rng)
    outs = _outputs("gradgradcheck", fn, inputs)
    if grad_outputs is None:
        vs = [_make(rng.standard_normal(o.shape), True, None) for o in outs]
    else:
        if len(grad_outputs) != len(outs):
            raise ValueError(f"gradgradcheck: {len(grad_outputs)} grad_outputs for "
                             f"{len(outs)} outputs")
        vs = [_make(np.array(g.data if isinstance(g, Tensor) else g, dtype=np.float64), True, None)
              for g in grad_outputs]
    wrt_index = [i for i, t in enumerate(inputs) if t.requires_grad]
    n = len(inputs)
    base = names if names is not None else [t.name for t in inputs]
    all_names = list(base) + [f"grad_outputs[{j}]" for j in range(len(vs))]

    def first_grads(*args):
        xs, v = list(args[:n]), list(args[n:])
        outs = _outputs("gradgradcheck", fn, xs)
        keep = [(o, g) for o, g in zip(outs, v) if o.requires_grad]
        wrt = [xs[i] for i in wrt_index]
        if not keep:
            return [_make(np.zeros(xs[i].shape), False, None) for i in wrt_index]
        gs = autograd.grad([o for o, _ in keep], wrt, [g for _, g in keep], create_graph=True,
                           allow_unused=True)
        # An unused input has a zero gradient; it still must be a Tensor to be checked.
        return [g if g is not None else _make(np.zeros(w.shape), False, None)
                for g, w in zip(gs, wrt)]

    # Second order: an input may rightly not reach the first derivative (linear fn).
    return gradcheck(first_grads, inputs + vs, eps=eps, atol=atol, rtol=rtol, allow_unused=True,
                     fast_mode=fast_mode, n_directions=n_directions, seed=seed + 1,
                     names=all_names)
