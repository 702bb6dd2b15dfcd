"""``draw_graph``: the computational graph below a tensor, with values and gradients.

Tensors are boxes (square corners and a thick border for leaves such as parameters,
rounded for intermediate results), operations are ovals, data flows along the arrows.
Operations run inside a module are grouped in a labelled cluster; module calls can be
collapsed into one node each, and repeated calls folded into one node marked ``×N``.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import dot, style, walk
from .walk import Display

_RANKDIRS = ("LR", "RL", "TB", "BT")


class Options:
    """The drawing options shared by ``draw_graph`` and ``backward_steps``, checked once."""

    __slots__ = ("show_values", "show_grads", "show_shapes", "show_derivative", "rankdir",
                 "max_elements", "precision", "collapse", "fold", "legend", "title")

    def __init__(self, op: str, *, show_values: bool = True, show_grads: bool = True,
                 show_shapes: bool = True, show_derivative: bool = False, rankdir: str = "LR",
                 max_elements: int = 16, precision: int = 3, collapse=None, fold: bool = False,
                 legend: bool = True, title: str | None = None) -> None:
        if rankdir not in _RANKDIRS:
            raise ValueError(f"{op}: rankdir must be one of {', '.join(_RANKDIRS)}, "
                             f"got {rankdir!r}")
        if not isinstance(max_elements, int) or max_elements < 0:
            raise ValueError(f"{op}: max_elements must be an int >= 0, got {max_elements!r}")
        if not isinstance(precision, int) or not 1 <= precision <= 17:
            raise ValueError(f"{op}: precision must be an int from 1 to 17, got {precision!r}")
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


def draw_graph(root, params=None, *, show_values: bool = True, show_grads: bool = True,
               show_shapes: bool = True, show_derivative: bool = False, rankdir: str = "LR",
               max_elements: int = 16, precision: int = 3, collapse: str | int | None = None,
               fold: bool = False, legend: bool = True, title: str | None = None):
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
                   fold=fold, legend=legend, title=title)
    d = layout(walk.as_roots(root), params, opts, "draw_graph")
    items = d.g.items
    return emit(d, opts, lambda k: walk.grad_of(items[k]))


def layout(roots, params, opts: Options, op: str) -> Display:
    """Read the graph and lay out its picture (no labels yet)."""
    g = walk.extract(roots)
    names = walk.Names(g, params, op)
    d = walk.build(g, names, opts.collapse, op)
    if opts.fold:
        walk.fold(d)
    return d


def emit(d: Display, opts: Options, grad: Callable[[int], Any], *,
         highlight: Sequence[int] = (), hot_edges: Sequence[tuple[int, int]] = (),
         pending: bool = False, ghost: Callable[[int], Any] | None = None,
         largest: float | None = None, subtitle: str | None = None):
    """Write the laid-out picture as a Graphviz digraph.

    ``grad(k)`` gives the gradient to show for item ``k`` (or None); ``highlight`` lists
    picture nodes drawn with a red border, ``hot_edges`` picture edges drawn red;
    ``pending`` keeps a grad row on tensors without a gradient, where ``ghost(k)`` (the
    gradient to come) is written invisibly so every frame has the same layout;
    ``largest`` fixes the mean |grad| that gets the strongest shade.
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
            gk = grad(k) if show_grads else None
            ghost_text = ""
            if gk is None and pending and ghost is not None and show_grads:
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
                name, value.shape, value.dtype, value=value, grad=gk, grad_note=note,
                show_shapes=opts.show_shapes, show_values=opts.show_values,
                show_grads=show_grads, pending=pending, ghost=ghost_text,
                precision=opts.precision,
                max_elements=opts.max_elements, times=times)
            at = {"label": label, "shape": "box",
                  "style": "filled" if node.kind == "leaf" else "rounded,filled",
                  "fillcolor": style.grad_fill(s, largest)}
            if node.kind == "leaf":
                at["penwidth"] = "2"
        elif node.kind == "op":
            item = items[node.item]
            deriv = style.derivative_lines(type(item)) if opts.show_derivative else ()
            at = {"label": style.op_label(type(item).__name__, deriv, times), "shape": "ellipse",
                  "style": "filled", "fillcolor": style.OP_FILL, "color": style.OP_BORDER}
        else:
            b = node.item
            title = (names.module(b.frame.module) if times > 1 else d.frame_title(b.frame))
            lines = []
            n_params = walk.param_count(b.frame.module)
            if n_params:
                lines.append(f"{n_params:,} parameters")
            lines.append(f"{len(b.items)} operation{'s' if len(b.items) != 1 else ''}")
            at = {"label": style.block_label(title, lines, times), "shape": "box",
                  "style": "filled", "fillcolor": style.BLOCK_FILL, "color": style.BLOCK_BORDER,
                  "penwidth": "1.5"}
        if u in hl:
            at["color"] = style.HIGHLIGHT
            at["penwidth"] = "3"
        line = dot.node_line(nid, at)
        if node.cluster is None:
            top_lines.append(line)
        else:
            cluster_lines.setdefault(id(node.cluster), []).append(line)

    body = []
    if opts.legend and nodes:
        body.append(dot.node_line("legend", {
            "label": style.legend_label(with_grads=show_grads and any_grad,
                                        with_ops=any(n.kind == "op" for n in nodes),
                                        with_blocks=bool(d.blocks)),
            "shape": "plain"}))
    body.extend(top_lines)
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
    graph_attr = {"rankdir": opts.rankdir, "fontname": style.FONT, "fontsize": "12",
                  "nodesep": "0.25", "ranksep": "0.35"}
    if caption:
        graph_attr["label"] = "<" + "<BR/>".join(
            f"<B>{style.esc(t)}</B>" if i == 0 else style.esc(t)
            for i, t in enumerate(caption.split("\n"))) + ">"
        graph_attr["labelloc"] = "t"
    pic = dot.new_picture(graph_attr,
                          {"fontname": style.FONT, "fontsize": "11", "color": "#555555",
                           "fontcolor": style.INK, "margin": "0.08,0.04"},
                          {"color": "#555555", "arrowsize": "0.7"})
    pic.body.extend(body)
    return pic


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
