"""Backpropagation step by step: a picture of the finished forward pass, then one per
node the engine processes, each with a caption stating the chain rule with its numbers;
and a self-contained HTML player for them (also inline in Jupyter).

Two sources of the numbers:

* the graph still has its saved values (no backward yet, or ``retain_graph=True``):
  ``backward_steps`` runs the engine itself (``run_backward`` with ``on_step``) with
  ``inputs=`` every leaf, so no ``.grad`` changes (node gradients are put back after);
* a plain ``backward()`` already ran on a graph recorded inside ``viz.keep()``: the
  values and gradients its nodes kept are shown, in the order the engine ran them.
"""
from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from ..autograd import engine
from ..autograd.function import Function
from ..autograd.partial_grads import IndexedGrad
from ..tensor import Tensor
from . import style, walk
from .graph import Options, emit, lay_out


class Steps(list):
    """The frames of :func:`backward_steps` (``graphviz.Digraph`` objects), with a caption
    each (``captions``); ``save(path)`` writes the HTML player, and Jupyter shows the
    player inline."""

    def __init__(self, frames, captions: Sequence[str], title: str | None = None) -> None:
        super().__init__(frames)
        self.captions = list(captions)
        self.title = title

    def html(self, title: str | None = None, interval: float = 1.5) -> str:
        """The player page as text (rendering needs Graphviz's ``dot``)."""
        return page_html(self, title=title or self.title or "Backpropagation, step by step",
                         interval=interval)

    def save(self, path, *, title: str | None = None, interval: float = 1.5) -> Path:
        """Write the player page (see :func:`save_steps`)."""
        return save_steps(self, path, title=title or self.title or
                          "Backpropagation, step by step", interval=interval)

    def _repr_html_(self) -> str:
        # an iframe keeps the page's keys, styles and ids apart from the notebook's
        return ('<iframe style="width: 100%; height: 640px; border: 1px solid #ccc" '
                f'srcdoc="{html.escape(self.html(), quote=True)}"></iframe>')


def backward_steps(root, params=None, *, gradient=None, show_values: bool = True,
                   show_shapes: bool = True, show_derivative: bool = False,
                   rankdir: str = "LR", layout: str = "slide", max_elements: int = 16,
                   precision: int = 3, collapse: str | int | None = None, fold: bool = False,
                   legend: bool = True, title: str | None = None,
                   expand_composites: bool = False) -> Steps:
    """The finished forward pass, then one picture per backward step, in engine order.

    Frame 0 shows every value and no gradient yet. Frame ``i`` shows the state after
    step ``i``: the operation just processed has a red border, the gradients it sent to
    its inputs travel back along red arrows, and every tensor whose gradient is complete
    (all its consumers have sent their part) shows it, shaded. Each frame's caption
    (``steps.captions[i]``) applies the chain rule with that step's numbers, e.g.
    ``Sub: ∂L/∂ŷ = ∂L/∂y · 1 = 0.0069 · 1 = 0.0069`` (for tensors: shapes and the
    element with the largest gradient).

    Args:
        root: a scalar Tensor (the loss), or any Tensor with ``gradient`` of its shape.
        params: names for parameters and modules, as in :func:`draw_graph`.
        gradient: the seed gradient for a non-scalar ``root``.
        layout: ``"slide"`` (default: rows that fit a 16:9 screen, large text) or
            ``"wide"`` (one line, module clusters), as in :func:`draw_graph`.

    The other arguments are those of :func:`draw_graph`.

    Works before ``backward()``, after ``backward(retain_graph=True)``, and after a plain
    ``backward()`` when the forward pass was recorded inside ``with mg.viz.keep():``.

    Returns:
        :class:`Steps`: a list of ``graphviz.Digraph`` frames with ``captions``;
        ``.save("backprop.html")`` (or :func:`save_steps`) writes the player.

    Raises:
        ValueError: a plain ``backward()`` released the graph and its values were not
            kept (record the forward pass inside ``mg.viz.keep()``).

    >>> import microgradnn as mg
    >>> x = mg.tensor(2.0, requires_grad=True)
    >>> with mg.viz.keep():
    ...     y = (x * 3).tanh()
    >>> steps = backward_steps(y)
    >>> len(steps)                 # the forward pass, Tanh, then Mul
    3
    >>> steps.captions[2].splitlines()[1]
    'Mul: receives ∂L/∂y = 2.46e-5'
    >>> x.grad is None             # drawing does not touch gradients
    True
    """
    opts = Options("backward_steps", show_values=show_values, show_grads=True,
                   show_shapes=show_shapes, show_derivative=show_derivative, rankdir=rankdir,
                   max_elements=max_elements, precision=precision, collapse=collapse,
                   fold=fold, legend=legend, title=title, expand_composites=expand_composites,
                   layout=layout)
    roots = walk.as_roots(root, "backward_steps")
    seeds = _seeds(roots, gradient)
    d = lay_out(roots, params, opts, "backward_steps")
    g = d.g
    items = g.items
    ops = [item for item in items if isinstance(item, Function)]
    if not walk.values_kept(g):
        raise ValueError(
            "backward_steps: backward() released this graph and its values were not kept; "
            "record the forward pass inside `with mg.viz.keep():` (then a plain backward() "
            "is enough), or draw the steps before calling backward()")
    if all(item.saved is not None for item in ops):
        run = _replay(d, roots, seeds)
    else:
        run = _from_kept(d, roots)

    finite = []
    for gr in run.final.values():
        a = np.abs(gr[np.isfinite(gr)]) if gr.dtype.kind in "fc" else np.abs(gr)
        if a.size:
            finite.append(float(a.mean(dtype=np.float64)))
    largest = max(finite) if finite else 0.0

    # steps of one picture node (the operations of a collapsed module or a composite)
    # that follow each other are shown as one frame
    groups: list[list[int]] = []
    for s, (k, _) in enumerate(run.steps):
        u = d.final(d.op_node[k])
        if groups and d.final(d.op_node[run.steps[groups[-1][-1]][0]]) == u:
            groups[-1].append(s)
        else:
            groups.append([s])

    # a tensor's gradient is complete once every operation using it has sent its part
    # (counting only consumers that run: one that received no gradient sends none)
    stepped = {k for k, _ in run.steps}
    waiting = [len({c for c in cons if c in stepped}) for cons in g.consumers]
    known: dict[int, np.ndarray] = {}
    frames, captions = [], []
    n = len(groups)
    namer = _Namer(d)

    root_nodes = [d.final(d.tensor_node[k]) for k in g.roots if k in d.tensor_node]
    first = _forward_caption(d, roots, namer, precision, n)
    frames.append(emit(d, opts, known.get, highlight=root_nodes, pending=True,
                       ghost=run.final.get, largest=largest,
                       subtitle="Forward pass done: every value computed, no gradient yet"))
    captions.append("\n".join(first + run.notes))
    for k in g.roots:
        if k in run.final:
            known[k] = run.final[k]

    for i, group in enumerate(groups):
        hot, highlight, lines = [], [], []
        for s in group:
            k, gr = run.steps[s]
            known[k] = gr
            for j in {j for _, j in g.inputs[k]}:
                waiting[j] -= 1
                if waiting[j] == 0 and j in run.final:
                    known[j] = run.final[j]
            op_u = d.final(d.op_node[k])
            if op_u not in highlight:
                highlight.append(op_u)
            if k in d.tensor_node:
                highlight.append(d.final(d.tensor_node[k]))
            hot.extend((d.final(d.tensor_node[j]), op_u) for _, j in g.inputs[k]
                       if j in d.tensor_node and j not in g.constants)
        node = d.nodes[highlight[0]]
        if node.kind == "block":
            name = d.frame_title(node.item.frame)
            lines = _block_caption(d, run, group, namer, precision)
        else:
            name = type(items[run.steps[group[0]][0]]).__name__
            k, gr = run.steps[group[0]]
            lines = _op_caption(d, k, gr, run.sent[group[0]], run.factors[group[0]], namer,
                                precision, run.leaf_note, run.replayed)
        captions.append(f"Backward step {i + 1} of {n}\n" + "\n".join(lines))
        frames.append(emit(d, opts, known.get, highlight=highlight, hot_edges=hot,
                           pending=True, ghost=run.final.get, largest=largest,
                           subtitle=f"Backward step {i + 1} of {n}: {name} (red arrows: "
                                    "the gradients it sends back)"))
    for f, c in zip(frames, captions):
        f.caption = c
    return Steps(frames, captions, title)


# ---------------------------------------------------------------------- the numbers
class _Run:
    """What one backward pass did: ``steps`` (item, gradient received) in order, for each
    step the gradient ``sent`` to each input slot and the local ``factors`` of an
    elementwise operation; ``final`` every node's complete gradient."""

    def __init__(self) -> None:
        self.steps: list[tuple[int, np.ndarray]] = []
        self.sent: list[dict[int, np.ndarray]] = []
        self.factors: list[dict[int, np.ndarray]] = []
        self.final: dict[int, np.ndarray] = {}
        self.notes: list[str] = []
        self.leaf_note = ""
        self.replayed = False


def _array(a) -> np.ndarray:
    if type(a) is IndexedGrad:
        a = a.dense()
    return np.array(a.data if isinstance(a, Tensor) else a, copy=True)


def _local(node: Function, grad, ones: bool = False) -> dict[int, np.ndarray] | None:
    """The gradients ``node`` sends to its inputs for ``grad`` (by slot, summed to each
    input's shape); with ``ones`` the raw local derivatives of an elementwise op. None
    when its backward cannot be run a second time (the caption then says so)."""
    if not node.array_backward:
        # a user's Function: its backward might not be safe to run twice (it runs once
        # more right after, for real), so its caption goes without these numbers
        return None
    try:
        outs = engine._call_backward(node, grad, False)
    except Exception:  # (not expected of a built-in; a caption is no place to fail)
        return None
    res = {}
    for slot, (nxt, out) in enumerate(zip(node.next, outs)):
        if nxt is None or out is None:
            continue
        if not ones:
            shape, dtype = ((nxt.out_shape, nxt.out_dtype) if isinstance(nxt, Function)
                            else (nxt.data.shape, nxt.data.dtype))
            out = engine._conform(out, shape, dtype, node)
        res[slot] = _array(out)
    return res


def _elementwise(node: Function) -> bool:
    return type(node).__module__.endswith("ops.elementwise")


def _replay(d, roots, seeds) -> _Run:
    """Run the engine on the retained graph, recording each step (no ``.grad`` changes)."""
    g = d.g
    items, index = g.items, g.index
    run = _Run()
    run.replayed = True

    def on_step(node, grad):
        ga = _array(grad)
        run.steps.append((index[id(node)], ga))
        run.sent.append(_local(node, grad))
        run.factors.append((_local(node, np.ones_like(ga), ones=True) or {})
                           if _elementwise(node) else {})

    leaf_ids = [k for k, item in enumerate(items) if not isinstance(item, Function)
                and item.requires_grad]
    saved = [(item, item.grad) for item in items if isinstance(item, Function)]
    try:
        leaf_grads = engine.run_backward(
            roots, seeds, retain_graph=True, create_graph=False,
            inputs=[items[k] for k in leaf_ids], allow_unused=True, on_step=on_step)
    finally:
        for item, old in saved:
            item.grad = old
    run.final = {k: gr for k, gr in run.steps}
    for k, gr in zip(leaf_ids, leaf_grads or ()):
        if gr is not None:
            run.final[k] = _array(gr)
    return run


def _from_kept(d, roots) -> _Run:
    """After a plain backward(): the gradients the nodes kept, in the engine's order
    (the same walk: consumer counts, a stack of ready nodes)."""
    g = d.g
    items, index = g.items, g.index
    run = _Run()
    deps = [0] * len(items)
    for item in items:
        if isinstance(item, Function):
            for nxt in item.next:
                if isinstance(nxt, Function):
                    deps[index[id(nxt)]] += 1
    edges_in = list(deps)
    order = []
    for r in roots:
        k = index[id(r.grad_fn)]
        if k not in order and deps[k] == 0:
            order.append(k)
    if any(items[k].grad is None for k in order):
        raise ValueError("backward_steps: the graph's saved values were released but its "
                         "root has no gradient: backward() did not start at this root; "
                         "call backward_steps before backward()")
    ready = list(order)
    while ready:
        k = ready.pop()
        node = items[k]
        if node.grad is not None:
            ga = _array(node.grad)
            run.steps.append((k, ga))
            sent = {}
            for slot, nxt in enumerate(node.next):
                if nxt is None:
                    continue
                j = index[id(nxt)]
                # one consumer: what it sent is the input's whole gradient
                if isinstance(nxt, Function):
                    if edges_in[j] == 1 and nxt.grad is not None:
                        sent[slot] = _array(nxt.grad)
                elif len(g.consumers[j]) == 1 and nxt.grad is not None and \
                        sum(n is nxt for n in node.next) == 1:
                    sent[slot] = _array(nxt.grad)
            run.sent.append(sent)
            run.factors.append({})
        for nxt in node.next:
            if isinstance(nxt, Function):
                j = index[id(nxt)]
                deps[j] -= 1
                if deps[j] == 0:
                    ready.append(j)
    run.final = {k: gr for k, gr in run.steps}
    for k, item in enumerate(items):
        if not isinstance(item, Function) and item.requires_grad and item.grad is not None:
            run.final[k] = _array(item.grad)
    run.leaf_note = " (its .grad)"
    run.notes.append("Shown from the values and gradients kept by viz.keep() in the last "
                     "backward(); leaf gradients are their .grad, summed over every "
                     "backward() since the last zero_grad()")
    return run


# ---------------------------------------------------------------------- captions
_RULE = re.compile(r"^(?:dy/d(\w+)|∂L/∂(\w+))\s*=\s*(.+)$")


def _rules(node: Function) -> dict[int, tuple[str, str, bool]]:
    """Per input slot: (variable, derivative, is_local) from the first docstring line:
    ``dy/da = 1`` is local (multiplied by ∂L/∂y), ``∂L/∂W = Σ gᵀ x`` is the whole rule."""
    doc = type(node).__dict__.get("__doc__") or ""
    para = " ".join(ln.strip() for ln in doc.strip().split("\n\n")[0].splitlines())
    parts = []
    for part in style._split_top_level(para.replace("``", ""), ";"):
        for piece in style._split_top_level(part):
            m = _RULE.match(piece.rstrip(",.").strip())
            if m:
                parts.append((m.group(1) or m.group(2), m.group(3).strip(), bool(m.group(1))))
    if len(parts) != len(node.next):
        return {}
    return dict(enumerate(parts))


class _Namer:
    """Short names for tensors in captions: the user's name, a parameter's name, else the
    docstring's variable."""

    def __init__(self, d) -> None:
        self.d = d

    def item(self, j: int, fallback: str) -> str:
        item = self.d.g.items[j]
        if isinstance(item, Function):
            return item.name or fallback
        return self.d.names.leaf(item) or fallback


def _num(v, precision: int) -> str:
    return style.fmt_number(v.item() if hasattr(v, "item") else v, precision)


def _factor_text(expr: str) -> str:
    expr = expr.replace("-", "−")
    simple = re.fullmatch(r"[\w²³ᵀ/]+", expr) is not None
    return expr if simple else f"({expr})"


def _element(a: np.ndarray) -> tuple:
    """The index of the element with the largest magnitude (the first, on ties)."""
    if a.ndim == 0:
        return ()
    flat = np.abs(np.nan_to_num(a, nan=0.0)).argmax() if a.size else 0
    return tuple(int(i) for i in np.unravel_index(flat, a.shape))


def _idx(idx: tuple) -> str:
    return "[" + ", ".join(str(i) for i in idx) + "]" if idx else ""


def _forward_caption(d, roots, namer, precision: int, n: int) -> list[str]:
    g = d.g
    lines = ["Forward pass done: every value is computed, no gradient yet"]
    for r, k in zip(roots, g.roots):
        name = namer.item(k, "L")
        v = walk.value_of(g.items[k])
        if v is not None and v.size == 1:
            lines.append(f"{name} = {_num(v.reshape(()), precision)}; backpropagation starts "
                         f"with ∂L/∂{name} = 1 and takes {n} step{'s' if n != 1 else ''}")
        else:
            lines.append(f"{name}: shape {style.fmt_shape(r.shape)}; backpropagation starts "
                         f"from the given gradient and takes {n} steps")
    return lines


def _op_caption(d, k: int, grad: np.ndarray, sent: dict | None, factors: dict, namer,
                precision: int, leaf_note: str, replayed: bool) -> list[str]:
    """The chain rule at one operation, with its numbers."""
    g = d.g
    node = g.items[k]
    op = type(node).__name__
    rules = _rules(node)
    out = namer.item(k, "y")
    idx = _element(grad)
    if grad.ndim == 0:
        lines = [f"{op}: receives ∂L/∂{out} = {_num(grad, precision)}"]
    else:
        lines = [f"{op}: receives ∂L/∂{out}, shape {style.fmt_shape(grad.shape)}; "
                 f"element {_idx(idx)} = {_num(grad[idx], precision)}"]
    slots = dict(g.inputs[k])
    for slot in range(len(node.next)):
        var, expr, local = rules.get(slot, (style.slot_name(node, slot), "", True))
        j = slots.get(slot)
        if j is None:
            continue  # a Python number: no gradient
        name = namer.item(j, var)
        if j in g.constants:
            rule = f" = ∂L/∂{out} · {_factor_text(expr)}" if expr and local else ""
            lines.append(f"∂L/∂{name}{rule}: not computed, {name} needs no gradient")
            continue
        s = None if sent is None else sent.get(slot)
        rule = (f"∂L/∂{out} · {_factor_text(expr)}" if local else expr) if expr else ""
        text = f"∂L/∂{name}" + (f" = {rule}" if rule else "")
        note = leaf_note if not isinstance(g.items[j], Function) else ""
        if s is None:
            lines.append(text + (
                " (no number: a user-defined backward is not run twice for a caption)"
                if sent is None else " (none sent: its backward returned None)" if replayed
                else " (summed with the other paths into it; shown once complete)"))
            continue
        f = factors.get(slot)
        if f is None and _elementwise(node) and s.shape == grad.shape and grad[idx] != 0:
            f = np.asarray(s[idx] / grad[idx])  # diagonal Jacobian: the local factor
        if s.shape == grad.shape and f is not None and np.shape(f) in (grad.shape, ()):
            fv = np.broadcast_to(f, grad.shape)[idx]
            el = _idx(idx)
            lhs = f"∂L/∂{name}{el}" if el else f"∂L/∂{name}"
            rhs = f" = {rule}" if rule else ""
            lines.append(f"{lhs}{rhs} = {_num(grad[idx], precision)} · {_num(fv, precision)}"
                         f" = {_num(s[idx], precision)}{note}")
        elif s.ndim == 0:
            lines.append(f"{text} = {_num(s, precision)}{note}")
        else:
            e = idx if s.shape == grad.shape else _element(s)
            how = " (summed over the broadcast axes)" if (
                _elementwise(node) and s.shape != grad.shape) else ""
            lines.append(f"{text}{how}: shape {style.fmt_shape(s.shape)}; element "
                         f"{_idx(e)} = {_num(s[e], precision)}{note}")
    return lines


def _block_caption(d, run: _Run, group: list[int], namer, precision: int) -> list[str]:
    """A module call or composite drawn as one node: what comes in, what goes out."""
    g = d.g
    b = d.nodes[d.final(d.op_node[run.steps[group[0]][0]])].item
    inside = set(b.items)
    k0, g0 = run.steps[group[0]]
    title = d.frame_title(b.frame)
    names = [type(g.items[run.steps[s][0]]).__name__ for s in group]
    out = namer.item(k0, "y")
    idx = _element(g0)
    head = (f"{title} ({len(group)} operation{'s' if len(group) != 1 else ''}: "
            f"{', '.join(names)}): receives ∂L/∂{out}")
    head += (f" = {_num(g0, precision)}" if g0.ndim == 0 else
             f", shape {style.fmt_shape(g0.shape)}; element {_idx(idx)} = "
             f"{_num(g0[idx], precision)}")
    lines = [head]
    for s in group:
        k, _ = run.steps[s]
        for slot, j in g.inputs[k]:
            if j in inside:
                continue
            name = namer.item(j, style.slot_name(g.items[k], slot))
            if j in g.constants:
                lines.append(f"∂L/∂{name}: not computed, {name} needs no gradient")
                continue
            sent = (run.sent[s] or {}).get(slot)
            if sent is None:
                continue
            e = _element(sent)
            val = _num(sent[e] if e else sent, precision)
            lines.append(f"sends ∂L/∂{name}" + (f", shape {style.fmt_shape(sent.shape)}; "
                                                 f"element {_idx(e)} = {val}" if e else
                                                 f" = {val}"))
    return lines


def _seeds(roots: list[Tensor], gradient) -> list[np.ndarray]:
    if gradient is None:
        gradients = [None] * len(roots)
    elif isinstance(gradient, (list, tuple)) and len(roots) > 1:
        gradients = list(gradient)
    else:
        gradients = [gradient]
    if len(gradients) != len(roots):
        raise ValueError(f"backward_steps: {len(gradients)} gradients for {len(roots)} roots")
    seeds = []
    for r, gr in zip(roots, gradients):
        if r.grad_fn is None:
            raise ValueError(f"backward_steps: the root (shape {r.shape}) was not computed "
                             "by a recorded operation, so there is no backward pass to show")
        if gr is None:
            if r.data.size != 1:
                raise ValueError(f"backward_steps: the root has shape {r.shape}; pass "
                                 "gradient= (an array of that shape) for a non-scalar root")
            seeds.append(np.ones(r.shape, dtype=r.dtype))
        else:
            a = np.asarray(gr.data if isinstance(gr, Tensor) else gr, dtype=r.dtype)
            if a.shape != r.shape:
                raise ValueError(f"backward_steps: gradient has shape {a.shape}, the root "
                                 f"has shape {r.shape}")
            seeds.append(np.array(a, copy=True))
    return seeds


# ---------------------------------------------------------------------- HTML player
_SVG_START = re.compile(r"<svg\b")
_IDS = re.compile(r'\b(id|href|xlink:href)="(#?)([^"]*)"')
_SVG_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  html, body {{ margin: 0; height: 100%; }}
  body {{ font-family: Helvetica, Arial, sans-serif; color: #222; display: flex;
         flex-direction: column; font-size: 18px; }}
  header {{ display: flex; gap: 0.5em; align-items: center; padding: 0.3em 0.8em;
           border-bottom: 1px solid #ddd; flex-wrap: wrap; }}
  h1 {{ font-size: 20px; margin: 0 1em 0 0; }}
  button {{ font-size: 18px; padding: 0.15em 0.7em; cursor: pointer; }}
  input[type=range] {{ flex: 1; min-width: 8em; max-width: 24em; }}
  #counter {{ font-weight: bold; min-width: 5em; }}
  .hint {{ color: #666; font-size: 15px; }}
  #caption {{ padding: 0.35em 0.8em; font-size: 20px; line-height: 1.35;
             background: #fbf7ee; border-bottom: 1px solid #e6dcc3; white-space: pre-wrap;
             min-height: 3.8em; }}
  #caption .head {{ font-weight: bold; }}
  #key {{ padding: 0.15em 0.8em; font-size: 15px; color: #555; }}
  #stage {{ flex: 1; overflow: auto; position: relative; }}
  .frame {{ display: none; }}
  .frame.current {{ display: block; }}
  #stage.fit .frame svg {{ width: 100%; height: 100%; }}
  #stage.fit .frame.current {{ width: 100%; height: 100%; }}
</style>
</head>
<body>
<header>
  <h1>{title}</h1>
  <button id="first" title="first frame (Home)">|&#x25C0;</button>
  <button id="prev" title="previous step (&#x2190;)">&#x25C0; prev</button>
  <button id="play" title="play / pause (space)">&#x25B6; play</button>
  <button id="next" title="next step (&#x2192;)">next &#x25B6;</button>
  <button id="last" title="last step (End)">&#x25B6;|</button>
  <input id="slider" type="range" min="1" max="{count}" value="1">
  <span id="counter">1 / {count}</span>
  <button id="zoomout" title="zoom out (-)">&#x2212;</button>
  <button id="fit" title="fit to the screen (0)">fit</button>
  <button id="zoomin" title="zoom in (+)">+</button>
  <button id="full" title="full screen (f)">full screen</button>
  <span class="hint">keys: &#x2190; &#x2192; space + &#x2212; 0 f</span>
</header>
<div id="caption"></div>
<div id="key">{key}</div>
<div id="stage" class="fit">
{frames}
</div>
<script>
(function () {{
  var frames = document.querySelectorAll(".frame");
  var captions = {captions};
  var slider = document.getElementById("slider");
  var counter = document.getElementById("counter");
  var caption = document.getElementById("caption");
  var stage = document.getElementById("stage");
  var playButton = document.getElementById("play");
  var current = 0, timer = null, interval = {interval_ms}, zoom = 0;  // 0: fit
  frames.forEach(function (f) {{
    var svg = f.querySelector("svg");
    svg.dataset.w = parseFloat(svg.getAttribute("width"));
    svg.dataset.h = parseFloat(svg.getAttribute("height"));
    svg.removeAttribute("width"); svg.removeAttribute("height");
    svg.setAttribute("preserveAspectRatio", "xMidYMin meet");  // fitted: at the top
  }});
  function applyZoom() {{
    var svg = frames[current].querySelector("svg");
    if (zoom === 0) {{
      stage.classList.add("fit");
      svg.style.width = ""; svg.style.height = "";
    }} else {{
      stage.classList.remove("fit");
      // 1 pt of the picture = 4/3 px at zoom 1
      svg.style.width = (svg.dataset.w * 4 / 3 * zoom) + "px";
      svg.style.height = (svg.dataset.h * 4 / 3 * zoom) + "px";
      var node = frames[current].querySelector("g.current");
      if (node) node.scrollIntoView({{block: "center", inline: "center"}});
    }}
  }}
  function fitScale() {{
    var svg = frames[current].querySelector("svg");
    var w = svg.dataset.w * 4 / 3, h = svg.dataset.h * 4 / 3;
    return Math.min(stage.clientWidth / w, stage.clientHeight / h);
  }}
  function show(i, fromHash) {{
    i = Math.max(0, Math.min(frames.length - 1, i));
    frames[current].classList.remove("current");
    current = i;
    frames[current].classList.add("current");
    slider.value = current + 1;
    counter.textContent = (current + 1) + " / " + frames.length;
    var lines = captions[current].split("\\n");
    caption.innerHTML = "";
    lines.forEach(function (t, n) {{
      var div = document.createElement("div");
      if (n === 0) div.className = "head";
      div.textContent = t;
      caption.appendChild(div);
    }});
    applyZoom();
    if (!fromHash && window.location.hash !== "#" + (current + 1)) {{
      // inside a notebook's iframe (srcdoc) there is no URL of its own to follow
      try {{ history.replaceState(null, "", "#" + (current + 1)); }} catch (e) {{}}
    }}
  }}
  function setZoom(z) {{ zoom = z; applyZoom(); }}
  function zoomBy(factor) {{
    var base = zoom === 0 ? fitScale() : zoom;
    setZoom(Math.max(0.1, Math.min(8, base * factor)));
  }}
  function stop() {{
    if (timer) {{ clearInterval(timer); timer = null; }}
    playButton.innerHTML = "&#x25B6; play";
  }}
  function play() {{
    if (timer) {{ stop(); return; }}
    if (current === frames.length - 1) show(0);
    playButton.innerHTML = "|| pause";
    timer = setInterval(function () {{
      if (current >= frames.length - 1) {{ stop(); return; }}
      show(current + 1);
    }}, interval);
  }}
  function fullscreen() {{
    if (document.fullscreenElement) document.exitFullscreen();
    else if (document.documentElement.requestFullscreen)
      document.documentElement.requestFullscreen();
  }}
  document.getElementById("first").onclick = function () {{ stop(); show(0); }};
  document.getElementById("prev").onclick = function () {{ stop(); show(current - 1); }};
  document.getElementById("next").onclick = function () {{ stop(); show(current + 1); }};
  document.getElementById("last").onclick = function () {{ stop(); show(frames.length - 1); }};
  document.getElementById("zoomin").onclick = function () {{ zoomBy(1.25); }};
  document.getElementById("zoomout").onclick = function () {{ zoomBy(0.8); }};
  document.getElementById("fit").onclick = function () {{ setZoom(0); }};
  document.getElementById("full").onclick = fullscreen;
  playButton.onclick = play;
  slider.oninput = function () {{ stop(); show(parseInt(slider.value, 10) - 1); }};
  document.addEventListener("keydown", function (e) {{
    if (e.key === "ArrowRight") {{ stop(); show(current + 1); }}
    else if (e.key === "ArrowLeft") {{ stop(); show(current - 1); }}
    else if (e.key === "Home") {{ stop(); show(0); }}
    else if (e.key === "End") {{ stop(); show(frames.length - 1); }}
    else if (e.key === " ") {{ e.preventDefault(); play(); }}
    else if (e.key === "+" || e.key === "=") zoomBy(1.25);
    else if (e.key === "-") zoomBy(0.8);
    else if (e.key === "0") setZoom(0);
    else if (e.key === "f") fullscreen();
  }});
  window.addEventListener("resize", applyZoom);
  // file.html#5 opens at frame 5 and the fragment follows the stepper, so a teacher can
  // link to one step; editing the fragment moves the stepper.
  function fromHash() {{
    var n = parseInt(window.location.hash.slice(1), 10);
    if (!isNaN(n)) {{ stop(); show(n - 1, true); }}
  }}
  window.addEventListener("hashchange", fromHash);
  var start = parseInt(window.location.hash.slice(1), 10);
  show(isNaN(start) ? 0 : start - 1);
}})();
</script>
</body>
</html>
"""


def page_html(frames: Sequence, *, title: str = "Backpropagation, step by step",
              interval: float = 1.5, captions: Sequence[str] | None = None) -> str:
    """The player page for ``frames`` (Digraphs or SVG text) as one string."""
    if not frames:
        raise ValueError("save_steps: no frames to save (backward_steps returned none?)")
    if not interval > 0:
        raise ValueError(f"save_steps: interval must be > 0 seconds, got {interval!r}")
    if captions is None:
        captions = getattr(frames, "captions", None) or [
            getattr(f, "caption", "") or f"Frame {i + 1} of {len(frames)}"
            for i, f in enumerate(frames)]
    parts = []
    for i, frame in enumerate(frames):
        svg = frame if isinstance(frame, str) else frame.pipe(format="svg", encoding="utf-8")
        m = _SVG_START.search(svg)
        if m is None:
            raise ValueError(f"save_steps: frame {i} is not an SVG picture")
        svg = svg[m.start():]
        # the frames share one page: keep their element ids apart
        svg = _IDS.sub(lambda mm, i=i: f'{mm.group(1)}="{mm.group(2)}s{i}_{mm.group(3)}"', svg)
        parts.append(f'<div class="frame" id="step{i + 1}">\n{svg}\n</div>')
    import json
    # "</" cannot end the script early inside a JSON string
    data = json.dumps(list(captions), ensure_ascii=False).replace("</", "<\\/")
    from .graph import slide_key
    return _PAGE.format(title=html.escape(title), count=len(frames), captions=data,
                        key=html.escape(slide_key()),
                        interval_ms=int(round(interval * 1000)), frames="\n".join(parts))


def save_steps(frames: Sequence, path, *, title: str = "Backpropagation, step by step",
               interval: float = 1.5) -> Path:
    """Write frames (from :func:`backward_steps`) as one self-contained HTML file: inline
    SVG pictures, the caption of each frame in large type, first / previous / play /
    next / last buttons, a slider and keys (← → space; + − 0 to zoom and fit; f for full
    screen). The picture fits the window by default; zoomed in, the current node is
    scrolled into view. ``file.html#5`` opens at frame 5, and the fragment follows the
    current frame. No network access needed; rendering needs Graphviz's ``dot``.

    Args:
        frames: ``graphviz.Digraph`` objects (or SVG text), one per frame.
        path: where to write, e.g. ``"backprop.html"``.
        title: the page heading. ``interval``: seconds per frame when playing.

    Returns:
        The path written.
    """
    page = page_html(frames, title=title, interval=interval)
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path
