"""L-BFGS with an optional strong-Wolfe line search (PyTorch's algorithm and state).

References: Nocedal & Wright, *Numerical Optimization* (2nd ed.): algorithm 7.4 (the
two-loop recursion), algorithms 3.5/3.6 (line search and zoom) and eq. 3.59 (cubic
interpolation of the step).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT

__all__ = ["LBFGS"]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped
    to ``bounds`` (default: between x1 and x2); the midpoint if the cubic has none."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(x, lo), hi)
    return (lo + hi) / 2


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Find a step ``t`` along ``d`` satisfying the strong Wolfe conditions.

    ``evaluate(t)`` returns (loss, flat gradient) at ``x + t d``; ``f, g, gtd`` are the
    loss, gradient and directional derivative at ``t = 0``. Returns
    ``(f_new, g_new, t, evaluations)``.
    """
    d_norm = np.abs(d).max()
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    # phase 1: grow the step until an interval is known to contain a Wolfe point
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # extrapolate: somewhere in [t + 0.01 (t - t_prev), 10 t]
        t_next = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                    bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # phase 2 (zoom): shrink the bracket; `low` holds the best point found so far
    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # safeguard: keep t at least 10% of the bracket away from its ends, unless the
        # previous trial already made progress there
        b_min, b_max = min(bracket), max(bracket)
        margin = 0.1 * (b_max - b_min)
        if min(b_max - t, t - b_min) < margin:
            if insufficient_progress or t >= b_max or t <= b_min:
                t = b_max - margin if abs(t - b_max) < abs(t - b_min) else b_min + margin
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            # not enough decrease: t becomes the high end
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                # the minimum lies between low and t: the old low becomes the high end
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new, gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals


class LBFGS(Optimizer):
    r"""Limited-memory BFGS, as in PyTorch (which follows minFunc).

    Each ``step(closure)`` runs up to ``max_iter`` iterations: the search direction comes
    from the last ``history_size`` pairs (s, y) of steps and gradient changes through the
    two-loop recursion; the step length is ``lr`` (``min(1, 1/|g|_1) * lr`` on the very
    first iteration) or, with ``line_search_fn='strong_wolfe'``, the result of a
    line search with cubic interpolation. It stops early when the largest gradient entry
    is at most ``tolerance_grad``, when the loss or the step change less than
    ``tolerance_change``, or after ``max_eval`` closure calls (default
    ``max_iter * 5 // 4``). ``closure`` must zero the gradients, compute the loss, call
    ``backward()`` and return the loss. One parameter group only; the state (history,
    counters) lives in ``state[first parameter]``.

    >>> import microgradnn as mg
    >>> x = mg.nn.Parameter(mg.tensor([3.0, -1.0], dtype=mg.float64))
    >>> opt = LBFGS([x], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((x - mg.tensor([1.0, 2.0], dtype=mg.float64)) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> _ = opt.step(closure)
    >>> x.data.round(6)
    array([1., 2.])
    """

    def __init__(self, params: ParamsT, lr: float = 1, max_iter: int = 20,
                 max_eval: int | None = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(f"LBFGS: does not support parameter groups (got "
                             f"{len(self.param_groups)}); pass one list of parameters")
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if self.param_groups:
            raise ValueError("LBFGS: does not support parameter groups; pass all "
                             "parameters to the constructor")
        super().add_param_group(param_group)

    def _check_hparams(self, o: dict[str, Any]) -> None:
        if not o["lr"] >= 0:
            raise self._invalid("learning rate", o["lr"], "lr >= 0")
        for key in ("max_iter", "max_eval", "history_size"):
            if not (isinstance(o[key], (int, np.integer)) and o[key] >= 1):
                raise self._invalid(key, o[key], "an integer >= 1")
        for key in ("tolerance_grad", "tolerance_change"):
            if not o[key] >= 0:
                raise self._invalid(key, o[key], f"{key} >= 0")
        if o["line_search_fn"] not in (None, "strong_wolfe"):
            raise self._invalid("line_search_fn", o["line_search_fn"],
                                "None or 'strong_wolfe'")

    # ------------------------------------------------------------------ flat views
    def _numel(self) -> int:
        return sum(p.data.size for p in self._params)

    def _dtype(self) -> np.dtype:
        return np.result_type(*[p.data.dtype for p in self._params])

    def _gather_flat_grad(self) -> np.ndarray:
        dtype = self._dtype()
        parts = [np.zeros(p.data.size, dtype) if p.grad is None
                 else p.grad.data.reshape(-1).astype(dtype, copy=False) for p in self._params]
        return np.concatenate(parts)  # always a copy: grads may be refilled in place

    def _add_grad(self, t, d: np.ndarray) -> None:
        offset = 0
        for p in self._params:
            n = p.data.size
            p.data += t * d[offset:offset + n].reshape(p.data.shape)
            p._bump_version()
            offset += n

    def _directional_evaluate(self, closure, x0: list[np.ndarray], t, d):
        self._add_grad(t, d)
        try:
            loss = float(self._evaluate(closure))
            flat_grad = self._gather_flat_grad()
        finally:        # also when the closure or its gradients fail: back to x0
            for p, x in zip(self._params, x0):
                p.data[...] = x
                p._bump_version()
        return loss, flat_grad

    def _check_buffers(self, p: Tensor, i: int, gi: int) -> None:
        """L-BFGS keeps one history over all parameters (flat vectors and numbers held
        under the first parameter), not buffers shaped like each one: nothing to check."""

    def _check_state(self, where: str, p: Tensor, key: str, value: Any) -> list[str]:
        n = (self._numel(),)
        vectors = {"d": [value], "prev_flat_grad": [value], "old_dirs": value,
                   "old_stps": value}.get(key)
        if vectors is None:
            return []
        problems = []
        for v in vectors if isinstance(vectors, (list, tuple)) else [vectors]:
            if isinstance(v, (Tensor, np.ndarray)) and v.shape != n:
                problems.append(f"{where}[{key!r}] holds a vector of shape {v.shape}, "
                                f"expected {n} (all parameters flattened)")
        return problems

    # ------------------------------------------------------------------ the step
    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Run up to ``max_iter`` iterations; returns the loss from the first closure call."""
        if closure is None:
            raise ValueError("LBFGS.step: needs a closure that re-evaluates the model and "
                             "returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search_fn = group["history_size"], group["line_search_fn"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = self._evaluate(closure)
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if np.abs(flat_grad).max(initial=0) <= tolerance_grad:
            return orig_loss

        d = _array(state.get("d"))
        t = state.get("t")
        old_dirs = [_array(v) for v in state.get("old_dirs", [])]
        old_stps = [_array(v) for v in state.get("old_stps", [])]
        ro = [_array(v)[()] for v in state.get("ro", [])]
        h_diag = _array(state.get("H_diag"))
        h_diag = h_diag[()] if isinstance(h_diag, np.ndarray) else h_diag
        prev_flat_grad = _array(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")
        al = [None if v is None else _array(v)[()] for v in state.get("al", [])]
        if len(al) < history_size:
            al += [None] * (history_size - len(al))

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # ---- search direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                h_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:  # keep the pair only if it keeps the matrix positive definite
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / y.dot(y)  # scale of the initial inverse Hessian
                # two-loop recursion: d = -H g
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q -= al[i] * old_dirs[i]
                d = r = q * h_diag
                for i in range(len(old_dirs)):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]

            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            # ---- step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:  # not a descent direction (any more)
                break

            ls_evals = 0
            if line_search_fn is not None:
                x0 = [p.data.copy() for p in self._params]
                loss, flat_grad, t, ls_evals = _strong_wolfe(
                    lambda step: self._directional_evaluate(closure, x0, step, d),
                    t, d, loss, flat_grad, gtd)
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max(initial=0) <= tolerance_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:
                    # the loss at the new point is only needed to decide whether to go on
                    loss = float(self._evaluate(closure))
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max(initial=0) <= tolerance_grad
                    ls_evals = 1
            current_evals += ls_evals
            state["func_evals"] += ls_evals

            # ---- stopping tests
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max(initial=0) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state["al"] = [None if a is None else _scalar(a) for a in al]
        state["d"] = Tensor(d)
        state["t"] = t
        state["old_dirs"] = [Tensor(v) for v in old_dirs]
        state["old_stps"] = [Tensor(v) for v in old_stps]
        state["ro"] = [_scalar(v) for v in ro]
        state["H_diag"] = _scalar(h_diag)
        state["prev_flat_grad"] = Tensor(prev_flat_grad)
        state["prev_loss"] = prev_loss
        return orig_loss


def _array(v: Any) -> Any:
    return v.data if isinstance(v, Tensor) else v


def _scalar(v: Any) -> Tensor:
    return Tensor(np.asarray(v))
