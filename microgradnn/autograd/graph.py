"""Walking a recorded graph in the order it was built.

>>> import microgradnn as mg
>>> x = mg.tensor(2.0, requires_grad=True)
>>> [type(n).__name__ for n in postorder([(x.exp() * x).grad_fn])]
['Tensor', 'Exp', 'Mul']
"""
from __future__ import annotations

from typing import Iterable, Iterator

from .function import Function


def postorder(starts: Iterable, seen: set | None = None) -> Iterator:
    """Every node and leaf tensor reachable from ``starts`` (nodes or leaves), each once,
    inputs before the nodes that consume them, in the same order on every run.

    Depth-first with an explicit stack, so graphs a million nodes deep are fine. ``seen``
    (ids) may be shared between calls to walk several roots without repeats. Pictures
    (``viz``) and ``testing.locate`` walk graphs with it; the engine's backward pass
    counts consumers instead, which needs no order.
    """
    seen = set() if seen is None else seen
    for start in starts:
        if start is None or id(start) in seen:
            continue
        seen.add(id(start))
        stack = [(start, iter(start.next if isinstance(start, Function) else ()))]
        while stack:
            obj, inputs = stack[-1]
            for nxt in inputs:
                if nxt is not None and id(nxt) not in seen:
                    seen.add(id(nxt))
                    stack.append((nxt, iter(nxt.next if isinstance(nxt, Function) else ())))
                    break
            else:
                stack.pop()
                yield obj
