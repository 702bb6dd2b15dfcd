"""``keep()``: record a graph whose values and gradients stay readable for pictures.

Pictures of a graph (``draw_graph``, ``backward_steps``) show each node's output value and
the gradient it received in backward. Ordinary training should not pay the memory for that,
so a node keeps them only when it was recorded inside ``with mg.viz.keep():``.

>>> import microgradnn as mg
>>> x = mg.tensor(2.0, requires_grad=True)
>>> with mg.viz.keep():
...     y = x * x
>>> y.backward()
>>> float(y.grad_fn.grad), float(y.grad_fn.value)
(1.0, 4.0)
"""
from __future__ import annotations

from ..autograd import grad_mode


class keep:
    """Context manager (and decorator): nodes recorded inside it keep values and gradients."""

    def __enter__(self) -> "keep":
        self._prev = grad_mode.is_keeping_values()
        grad_mode.set_keep_values(True)
        return self

    def __exit__(self, *exc) -> None:
        grad_mode.set_keep_values(self._prev)

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with keep():
                return fn(*args, **kwargs)

        return wrapper
