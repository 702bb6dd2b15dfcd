"""``draw_graph``: the computational graph below a tensor, with values and gradients.

Tensors are boxes (square corners and a thick border for leaves such as parameters,
rounded for intermediate results), operations are ovals, data flows along the arrows.
Operations run inside a module are grouped in a labelled cluster; module calls can be
collapsed into one node each, and repeated calls folded into one node marked ``×N``.
"""
from __future__ import annotations

import math
import re
import shutil
from typing import Any, Callable, Sequence

import numpy as np

from . import dot, style, walk
from .walk import Display

_RANKDIRS = ("LR", "RL", "TB", "BT")
_LAYOUTS = ("wide", "slide")
SLIDE_FONT_SCALE = 1.4   # slide text: 10 pt labels become 14 pt (about 19 px on screen)


class Options:
    """The drawing options shared by ``draw_graph`` and ``backward_steps``, checked once."""

    __slots__ = ("show_values", "show_grads", "show_shapes", "show_derivative", "rankdir",
                 "max_elements", "precision", "collapse", "fold", "legend", "title",
                 "expand_composites", "layout")

    def __init__(self, op: str, *, show_values: bool = True, show_grads: bool = True,
                 show_shapes: bool = True, show_derivative: bool = False, rankdir: str = "LR",
                 max_elements: int = 16, precision: int = 3, collapse=None, fold: bool = False,
                 legend: bool = True, title: str | None = None,
                 expand_composites: bool = False, layout: str = "wide") -> None:
        if rankdir not in _RANKDIRS:
            raise ValueError(f"{op}: rankdir must be one of {', '.join(_RANKDIRS)}, "
                             f"got {rankdir!r}")
        if not isinstance(max_elements, int) or max_elements < 0:
            raise ValueError(f"{op}: max_elements must be an int >= 0, got {max_elements!r}")
        if not isinstance(precision, int) or not 1 <= precision <= 17:
            raise ValueError(f"{op}: precision must be an int from 1 to 17, got {precision!r}")
        if layout not in _LAYOUTS:
            raise ValueError(f"{op}: layout must be 'wide' or 'slide', got {layout!r}")
        if fold and collapse is None:
            raise ValueError(f"{op}: fold=True folds repeated module calls drawn as single "
                             "nodes; pass collapse='modules' (or a depth) as well")
        self.show_values = show_values
        self.show_grads = show_grads
        self.show_shapes = show_shapes
        self.show_derivative = show_derivative
        self.rankdir = rankdir
        self.max_elements = max_elements
        self.precision = precision
        self.collapse = collapse
        self.fold = fold
        self.legend = legend
        self.title = title
        self.expand_composites = bool(expand_composites)
        self.layout = layout


def draw_graph(root, params=None, *, show_values: bool = True, show_grads: bool = True,
               show_shapes: bool = True, show_derivative: bool = False, rankdir: str = "LR",
               max_elements: int = 16, precision: int = 3, collapse: str | int | None = None,
               fold: bool = False, legend: bool = True, title: str | None = None,
               expand_composites: bool = False, highlight=None, layout: str = "wide"):
    """Draw the graph that produced ``root`` (a Tensor or a list of Tensors).

    Args:
        root: the output(s) whose history is drawn, e.g. the loss.
        params: names for parameters and modules: a Module (``fc1.weight``), a dict
            ``name -> Tensor`` or ``(name, Tensor)`` pairs. Without it, tensors show their
            own ``name`` and the outermost module that ran names the rest.
        show_values, show_grads, show_shapes: what tensor nodes show. Gradients appear
            once ``backward()`` has run through the node.
        show_derivative: write each operation's function and local derivative under its
            name (from the first line of its docstring), e.g. ``dy/dx = 1 - y²``.
        rankdir: direction of data flow: ``"LR"`` (default), ``"TB"``, ``"RL"``, ``"BT"``.
        max_elements: tensors with at most this many elements show every number, larger
            ones show min / mean / max. ``precision``: significant digits.
        collapse: ``"modules"`` draws each call of a module without submodules as one
            node; an int ``d`` draws every module call at nesting depth ``d`` (0 is the
            outermost module) as one node; None (default) draws every operation.
        fold: with ``collapse``, fold repeated calls of the same module (an unrolled RNN)
            and the tensors around them into single nodes marked ``×N``.
        legend: add the colour key. ``title``: a caption above the picture.
        expand_composites: draw the operations inside functions written in primitives
            (``mse_loss``, ``softmax``, ``layer_norm``, ...) instead of one node each.
        layout: ``"wide"`` (default): data flows along one line, modules are clusters.
            ``"slide"``: for a 16:9 slide: the chain of operations wrapped into rows read
            left to right and top to bottom, parameters and data above the operation
            using them, the module of each operation written under its name, larger text.
        highlight: an object with ``.node`` (an operation node such as ``t.grad_fn``, or a
            Tensor) and ``.message`` (text), or an iterable of them: each node is drawn
            red with its message (``mg.testing`` failures are such objects).

    Values and gradients of intermediate results are shown for graphs recorded inside
    ``with mg.viz.keep():``; inputs that need no gradient (data, targets) are drawn
    (dashed, "no grad") only for those too. Outside it, once backward has run, the
    picture shows the structure and says that the values were not kept.

    Returns:
        A ``graphviz.Digraph``: ``.source`` is the DOT text; ``.render("g", format="svg")``
        writes a picture (needs Graphviz's ``dot``); Jupyter shows it inline.

    >>> import microgradnn as mg
    >>> x = mg.tensor([1.0, 2.0], requires_grad=True); x.name = "x"
    >>> with mg.viz.keep():        # nodes keep values and gradients for the picture
    ...     y = (x * x).sum()
    >>> y.backward()
    >>> src = draw_graph(y, show_derivative=True).source
    >>> "Mul" in src and "dy/da = b" in src and "x" in src
    True
    """
    opts = Options("draw_graph", show_values=show_values, show_grads=show_grads,
                   show_shapes=show_shapes, show_derivative=show_derivative, rankdir=rankdir,
                   max_elements=max_elements, precision=precision, collapse=collapse,
                   fold=fold, legend=legend, title=title, expand_composites=expand_composites,
                   layout=layout)
    d = lay_out(walk.as_roots(root), params, opts, "draw_graph")
    items = d.g.items
    marked, messages = _highlights(d, highlight)
    subtitle = None
    if not walk.values_kept(d.g):
        subtitle = ("values and gradients of intermediate results were not kept: record the "
                    "forward pass inside `with mg.viz.keep():` to see them")
    return emit(d, opts, lambda k: walk.grad_of(items[k]), highlight=marked,
                messages=messages, subtitle=subtitle)


def lay_out(roots, params, opts: Options, op: str) -> Display:
    """Read the graph and lay out its picture (no labels yet)."""
    g = walk.extract(roots)
    names = walk.Names(g, params, op)
    d = walk.build(g, names, opts.collapse, op, expand=opts.expand_composites)
    if opts.fold:
        walk.fold(d)
    return d


def _highlights(d: Display, highlight) -> tuple[list[int], dict[int, list[str]]]:
    """Picture nodes to paint red, and their messages, from objects with ``.node`` and
    ``.message`` (one, or an iterable of them)."""
    if highlight is None:
        return [], {}
    marks = [highlight] if hasattr(highlight, "node") else None
    if marks is None:
        try:
            marks = list(highlight)
        except TypeError:
            raise TypeError("draw_graph: highlight must have .node and .message, or be an "
                            f"iterable of such objects; got {type(highlight).__name__}") from None
    out: list[int] = []
    messages: dict[int, list[str]] = {}
    from ..autograd.function import Function
    from ..tensor import Tensor
    for m in marks:
        if not (hasattr(m, "node") and hasattr(m, "message")):
            raise TypeError("draw_graph: each highlight needs .node and .message; got "
                            f"{type(m).__name__}")
        node = m.node
        k = None
        if isinstance(node, Tensor):
            key = node.grad_fn if node.grad_fn is not None else node
            k = d.g.index.get(id(key))
            u = None if k is None else (d.tensor_node.get(k) if k in d.tensor_node
                                        else d.op_node.get(k))
        elif isinstance(node, Function):
            k = d.g.index.get(id(node))
            u = None if k is None else d.op_node.get(k)
        else:
            raise TypeError("draw_graph: highlight .node must be an operation node (such as "
                            f"t.grad_fn) or a Tensor; got {type(node).__name__}")
        if u is None and k is not None and d.g.consumers[k]:
            u = d.op_node.get(d.g.consumers[k][0])  # a parameter hidden in its block
        if u is None:
            raise ValueError(f"draw_graph: the highlighted node {node!r} is not part of "
                             "the graph below root")
        u = d.final(u)
        out.append(u)
        messages.setdefault(u, []).append(str(m.message))
    return out, messages


def emit(d: Display, opts: Options, grad: Callable[[int], Any], *,
         highlight: Sequence[int] = (), hot_edges: Sequence[tuple[int, int]] = (),
         pending: bool = False, ghost: Callable[[int], Any] | None = None,
         largest: float | None = None, subtitle: str | None = None,
         messages: dict[int, list[str]] | None = None):
    """Write the laid-out picture as a Graphviz digraph.

    ``grad(k)`` gives the gradient to show for item ``k`` (or None); ``highlight`` lists
    picture nodes drawn with a red border, ``hot_edges`` picture edges drawn red;
    ``pending`` keeps a grad row on tensors without a gradient, where ``ghost(k)`` (the
    gradient to come) is written invisibly so every frame has the same layout;
    ``largest`` fixes the mean |grad| that gets the strongest shade; ``messages`` adds
    red text lines to picture nodes.
    """
    g, names, nodes = d.g, d.names, d.nodes
    items = g.items
    show_grads = opts.show_grads

    # gradient summaries of the drawn tensors; the largest mean |g| sets the shading scale
    summaries: dict[int, style.GradSummary] = {}
    if show_grads:
        for u, node in enumerate(nodes):
            if node.kind in ("leaf", "tensor") and node.rep is None:
                for m in (node.members or (u,)):
                    gk = grad(nodes[m].item)
                    if gk is not None:
                        summaries[m] = style.GradSummary(gk)
    if largest is None:
        finite = [s.mean_abs for s in summaries.values() if not s.bad]
        largest = max(finite) if finite else 0.0

    hl = set(highlight)
    slide = opts.layout == "slide"
    top_lines: list[str] = []
    cluster_lines: dict[int, list[str]] = {}
    any_grad = bool(summaries)
    for u, node in enumerate(nodes):
        if node.rep is not None:
            continue
        times = len(node.members) if node.members else 1
        nid = node_id(d, u)
        if node.kind in ("leaf", "tensor"):
            k = node.item
            item = items[k]
            name = names.leaf(item) if node.kind == "leaf" else item.name
            value = walk.value_of(item)
            constant = k in g.constants
            gk = grad(k) if show_grads and not constant else None
            ghost_text = ""
            if gk is None and pending and ghost is not None and show_grads and not constant:
                gk = ghost(k)
                ghost_text = style.TENSOR_FILL if gk is not None else ""
            note = ""
            if times > 1 and show_grads:
                mags = [summaries[m].mean_abs for m in node.members
                        if m in summaries and not summaries[m].bad]
                if mags:
                    note = (f"mean |grad| over ×{times}: {style.fmt_number(min(mags), 2)}"
                            f" … {style.fmt_number(max(mags), 2)}")
            s = summaries.get(u)
            if ghost_text and gk is not None:  # same note as when it arrives: same size
                s_ghost = style.GradSummary(gk)
                if not s_ghost.bad and not s_ghost.zero and np.asarray(gk).size > \
                        opts.max_elements and s_ghost.zero_fraction > 0:
                    note = (note + "  " if note else "") + f"{s_ghost.zero_fraction:.0%} exactly 0"
            elif s is not None and not s.bad and not s.zero and gk is not None and \
                    np.asarray(gk).size > opts.max_elements and s.zero_fraction > 0:
                note = (note + "  " if note else "") + f"{s.zero_fraction:.0%} exactly 0"
            label = style.tensor_label(
                name, None if value is None else value.shape,
                None if value is None else value.dtype, value=value, grad=gk, grad_note=note,
                show_shapes=opts.show_shapes, show_values=opts.show_values,
                show_grads=show_grads and not constant, pending=pending, ghost=ghost_text,
                precision=opts.precision, max_elements=opts.max_elements, times=times,
                tag="no grad" if constant else "", messages=(messages or {}).get(u, ()))
            if constant:  # data and targets: dashed, grey, never a gradient
                at = {"label": label, "shape": "box", "style": "dashed,filled",
                      "fillcolor": style.CONST_FILL, "color": style.CONST_BORDER}
            else:
                at = {"label": label, "shape": "box",
                      "style": "filled" if node.kind == "leaf" else "rounded,filled",
                      "fillcolor": style.grad_fill(s, largest)}
                if node.kind == "leaf":
                    at["penwidth"] = "2"
        elif node.kind == "op":
            item = items[node.item]
            deriv = style.derivative_lines(type(item)) if opts.show_derivative else ()
            scalars = [f"{style.slot_name(item, slot)} = {style.fmt_number(v, opts.precision)}"
                       for slot, v in g.scalars.get(node.item, ())]
            if slide and node.cluster is not None:  # no clusters: say where it ran
                scalars.append(_module_of(d, node.cluster))
            at = {"label": style.op_label(type(item).__name__, deriv, times, scalars,
                                          (messages or {}).get(u, ())), "shape": "ellipse",
                  "style": "filled", "fillcolor": style.OP_FILL, "color": style.OP_BORDER}
        else:
            b = node.item
            title = (names.module(b.frame) if times > 1 else d.frame_title(b.frame))
            lines = []
            n_params = walk.param_count(b.frame.module)
            if n_params:
                lines.append(f"{n_params:,} parameters")
            n_ops = len(b.items)
            if b.frame.is_composite and n_ops <= 4:
                lines.append(" → ".join(type(items[k]).__name__ for k in b.items))
            else:
                lines.append(f"{n_ops} operation{'s' if n_ops != 1 else ''}")
            lines.extend((messages or {}).get(u, ()))
            composite = b.frame.is_composite
            at = {"label": style.block_label(title, lines, times,
                                             n_red=len((messages or {}).get(u, ()))),
                  "shape": "box", "style": "rounded,filled" if composite else "filled",
                  "fillcolor": style.COMPOSITE_FILL if composite else style.BLOCK_FILL,
                  "color": style.BLOCK_BORDER, "penwidth": "1.5"}
        if u in hl:
            at["color"] = style.HIGHLIGHT
            at["penwidth"] = "3"
            at["class"] = "current"   # the stepper page scrolls this node into view
        line = dot.node_line(nid, at)
        if node.cluster is None or slide:
            top_lines.append(line)
        else:
            cluster_lines.setdefault(id(node.cluster), []).append(line)

    body = []
    if opts.legend and nodes and not slide:  # a slide's key is one line (slide_key)
        body.append(dot.node_line("legend", {
            "label": style.legend_label(
                with_grads=show_grads and any_grad, with_ops=any(n.kind == "op" for n in nodes),
                with_blocks=any(not b.frame.is_composite for b in d.blocks),
                with_composites=any(b.frame.is_composite for b in d.blocks),
                with_constants=bool(g.constants) and any(
                    nodes[u].kind == "leaf" and nodes[u].item in g.constants
                    for u in d.tensor_node.values())),
            "shape": "plain"}))
    body.extend(top_lines)
    if slide:
        rows_at = len(body)
    else:
        body.extend(_clusters(d, cluster_lines))
    hot = set(hot_edges)
    for s, t, _ in d.edges:
        # a hot edge carries a gradient back to the input: arrowhead at the input's end
        at = ({"color": style.HIGHLIGHT, "penwidth": "2.5", "dir": "back"}
              if (s, t) in hot else None)
        body.append(dot.edge_line(node_id(d, s), node_id(d, t), at))

    caption = opts.title
    if subtitle:
        caption = f"{caption}\n{subtitle}" if caption else subtitle
    graph_attr = {"rankdir": "TB" if slide else opts.rankdir, "fontname": style.FONT,
                  "fontsize": "12", "nodesep": "0.25", "ranksep": "0.35"}
    if caption:
        graph_attr["label"] = "<" + "<BR/>".join(
            f"<B>{style.esc(t)}</B>" if i == 0 else style.esc(t)
            for i, t in enumerate(caption.split("\n"))) + ">"
        graph_attr["labelloc"] = "t"
    node_attr = {"fontname": style.FONT, "fontsize": "11", "color": "#555555",
                 "fontcolor": style.INK, "margin": "0.08,0.04"}
    if slide:
        body = [_scale_fonts(line, SLIDE_FONT_SCALE) for line in body]
        for at in (graph_attr, node_attr):
            at["fontsize"] = str(round(int(at["fontsize"]) * SLIDE_FONT_SCALE))
    edge_attr = {"color": "#555555", "arrowsize": "0.7"}
    if slide:
        n_rows = getattr(d, "slide_rows", None)
        if n_rows is None:  # the same rows in every frame of a stepper
            n_rows = d.slide_rows = _best_rows(d, body, rows_at, graph_attr, node_attr,
                                               edge_attr)
        body[rows_at:rows_at] = _rows(d, n_rows)
    pic = dot.new_picture(graph_attr, node_attr, edge_attr)
    pic.body.extend(body)
    return pic


#: What the slide layout aims to fill: a 1920×1080 screen less a caption and controls,
#: in points (96 px = 72 pt).
SLIDE_BOX = (1920 * 0.75, 860 * 0.75)


def _best_rows(d: Display, body, at: int, graph_attr, node_attr, edge_attr) -> int:
    """How many rows fit the slide best: Graphviz lays out the choices around an estimate
    (about twice as wide as high, from the number of levels) when ``dot`` is installed,
    and the one drawn largest inside SLIDE_BOX wins; without ``dot``, the estimate."""
    levels = len(_levels(d)[1])
    guess = max(1, round(math.sqrt(levels / 3)))
    if levels <= 1 or shutil.which("dot") is None:
        return guess
    best, best_scale = guess, 0.0
    for n_rows in range(max(1, guess - 1), min(levels, guess + 6) + 1):
        pic = dot.new_picture(graph_attr, node_attr, edge_attr)
        pic.body.extend(body[:at] + _rows(d, n_rows) + body[at:])
        try:
            head = pic.pipe(format="plain", encoding="utf-8").split("\n", 1)[0].split()
            w, h = float(head[2]) * 72, float(head[3]) * 72
        except Exception:  # a Graphviz failure here only costs the best choice
            return guess
        scale = min(SLIDE_BOX[0] / w, SLIDE_BOX[1] / h)
        if scale > best_scale * 1.02:  # fewer rows unless more are clearly better
            best, best_scale = n_rows, scale
        elif n_rows > guess:
            break  # past the best: more rows only get worse
    return best


def slide_key() -> str:
    """The one-line colour key of the slide layout (the HTML player shows it)."""
    return ("green fill: gradient (darker = larger |grad|) · grey: exactly 0 · red fill: "
            "NaN/Inf · dashed: needs no gradient · square corners: leaf · oval: operation")

_POINT_SIZE = re.compile(r'POINT-SIZE="(\d+)"')


def _scale_fonts(text: str, scale: float) -> str:
    return _POINT_SIZE.sub(lambda m: f'POINT-SIZE="{round(int(m.group(1)) * scale)}"', text)


def _module_of(d: Display, frame) -> str:
    """The innermost module call holding an operation, for the slide layout's labels."""
    while frame is not None and frame.is_composite:
        frame = frame.parent
    return "" if frame is None else f"in {d.frame_title(frame)}"


def _levels(d: Display):
    nodes = d.nodes
    depth = walk._depths(len(nodes), d.edges)
    chain = [u for u, n in enumerate(nodes) if n.rep is None and n.kind != "leaf"]
    return depth, sorted({depth[u] for u in chain}), chain


def _rows(d: Display, n_rows: int) -> list[str]:
    """The slide layout: operations and results in ``n_rows`` rows of consecutive depths
    (``rank=same`` groups, read left to right), leaves ranked just above the row that
    uses them."""
    depth, levels, chain = _levels(d)
    if not levels:
        return []
    per_row = math.ceil(len(levels) / n_rows)
    row_of = {lv: i // per_row for i, lv in enumerate(levels)}
    rows: dict[int, list[str]] = {}
    for u in sorted(chain, key=lambda u: (depth[u], u)):
        rows.setdefault(row_of[depth[u]], []).append(node_id(d, u))
    ordered = [ids for _, ids in sorted(rows.items())]
    out = ["\t{rank=same; " + "; ".join(ids) + "}\n" for ids in ordered]
    # rows start under each other, as lines of text do (not as a staircase)
    for above, below in zip(ordered, ordered[1:]):
        out.append(f"\t{above[0]} -> {below[0]} [style=invis weight=8]\n")
    return out


def node_id(d: Display, u: int) -> str:
    """Stable DOT ids from traversal order: ``t12`` (tensor), ``op12``, ``m3`` (module call)."""
    node = d.nodes[u]
    if node.kind == "op":
        return f"op{node.item}"
    if node.kind == "block":
        return f"m{node.item.number}"
    return f"t{node.item}"


def _clusters(d: Display, cluster_lines: dict[int, list[str]], min_depth: int = 0,
              title: Callable | None = None) -> list[str]:
    """Nested ``subgraph cluster_N`` blocks for the module calls that hold nodes (calls
    shallower than ``min_depth`` are not drawn as clusters); ``title(frame)`` labels them."""
    title = title or d.frame_title
    used: set[int] = set()
    for f in d.frames:
        if id(f) in cluster_lines:
            p = f
            while p is not None and p.depth >= min_depth and id(p) not in used:
                used.add(id(p))
                p = p.parent
    children: dict[int | None, list] = {}
    numbers: dict[int, int] = {}
    for f in d.frames:  # first-appearance order: parents come before their children
        if id(f) in used:
            numbers[id(f)] = len(numbers)
            top = f.parent is None or f.parent.depth < min_depth
            children.setdefault(None if top else id(f.parent), []).append(f)
    out: list[str] = []
    stack: list = [("open", f) for f in reversed(children.get(None, []))]
    while stack:
        action, f = stack.pop()
        indent = "\t" * (f.depth - min_depth + 1)
        if action == "close":
            out.append(indent + "}\n")
            continue
        fill = style.CLUSTER_FILLS[min(f.depth, len(style.CLUSTER_FILLS) - 1)]
        out.append(f"{indent}subgraph cluster_{numbers[id(f)]} {{\n")
        out.append(f"{indent}\tlabel=<<B>{style.esc(title(f))}</B>> labeljust=l "
                   f'style="rounded,filled" fillcolor="{fill}" color="#9aa9bd" '
                   f"fontsize=11\n")
        out.extend(indent + line for line in cluster_lines.get(id(f), ()))
        stack.append(("close", f))
        stack.extend(("open", c) for c in reversed(children.get(id(f), [])))
    return out
