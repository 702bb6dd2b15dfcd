"""``draw_model``: a network's architecture, one node per layer, with output shapes and
parameter counts: the figures lecture notes draw for MLPs, CNNs, RNNs, residual networks
and autoencoders.

The model runs once on zeros with the graph recorded; data-flow edges come from that
graph (so skip connections and branches are drawn as they really are), layers from the
module calls in it. The model is put in eval mode for that run and the library's random
generator is restored afterwards, so drawing changes no buffer, no mode and no seed.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import creation, dtypes
from ..autograd import enable_grad
from ..nn.module import Module
from ..tensor import Tensor
from . import dot, style, walk

# Layer families get a colour each, so a CNN reads at a glance.
_FAMILIES = (
    ("convolution", ("Conv", "Unfold", "Fold"), "#fdd9b5", "#c77c2e"),
    ("pooling", ("Pool",), "#e6d6f2", "#7f5a9e"),
    ("dense", ("Linear", "Bilinear", "Embedding"), "#cfe2f3", "#3b6ea5"),
    ("recurrent", ("RNN", "LSTM", "GRU"), "#c9ece6", "#2f8a7c"),
    ("normalisation", ("Norm",), "#fff2b3", "#b39b1f"),
    ("dropout", ("Dropout",), "#eeeeee", "#888888"),
    ("reshape", ("Flatten", "Unflatten", "Reshape", "View", "Identity"), "#f2f2f2", "#888888"),
)
_ACTIVATION = ("activation", "#d5efcf", "#4c9a3f")
_OTHER = ("other", "#e3e9f3", "#5a6f8f")


def _family(module: Any) -> tuple[str, str, str]:
    cls = type(module).__name__
    if type(module).__module__.endswith("activation"):
        return _ACTIVATION
    for name, keys, fill, border in _FAMILIES:
        if any(k in cls for k in keys):
            return name, fill, border
    return _OTHER


def draw_model(model: Module, input_shape: Sequence[int] | Sequence[Sequence[int]] | None = None,
               *, input: Tensor | Sequence[Tensor] | None = None, dtype=None,
               rankdir: str = "TB", show_repr: bool = True, legend: bool = True,
               title: str | None = None, show_defaults: bool = False):
    """Draw a network's architecture: a node per layer call with its output shape and
    parameter count, arrows where data flows, containers as labelled clusters.

    Args:
        model: the Module to draw.
        input_shape: the shape of one input including the batch axis, e.g. ``(1, 2)`` or
            ``(1, 1, 28, 28)``; a list of shapes for a model taking several inputs.
        input: alternatively, the input tensor(s) themselves (integer token ids for an
            Embedding, say).
        dtype: dtype of the zeros made from ``input_shape`` (default: the default float).
        rankdir: ``"TB"`` (top to bottom, default) or ``"LR"``, ``"BT"``, ``"RL"``.
        show_repr: write each layer's settings (``extra_repr``, e.g. ``in_features=2``).
        show_defaults: also the settings left at their defaults (``bias=True``,
            ``stride=(1, 1)``); by default they are left out, so slides stay short.
        legend: add a key of layer colours. ``title``: replaces the default caption
            (the model's class and parameter count).

    Returns:
        A ``graphviz.Digraph`` (render with ``.render(...)``; Jupyter shows it inline).

    >>> import microgradnn as mg
    >>> mlp = mg.nn.Sequential(mg.nn.Linear(10, 10), mg.nn.ReLU(), mg.nn.Linear(10, 10),
    ...                        mg.nn.ReLU(), mg.nn.Linear(10, 10))
    >>> with mg.viz.keep():
    ...     src = draw_model(mlp, (1, 10)).source
    >>> "330 parameters" in src and "0: Linear" in src
    True
    """
    if not isinstance(model, Module):
        raise TypeError(f"draw_model: model must be an nn.Module, got {type(model).__name__}")
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"draw_model: rankdir must be one of TB, LR, BT, RL, got {rankdir!r}")
    inputs = _make_inputs(input_shape, input, dtype)

    # one forward pass: eval mode (no running-statistics updates, no dropout draws), hooks
    # to see layers that pass their input through untouched, the random state put back
    modes = [(m, m.training) for m in model.modules()]
    rng = creation.generator()
    rng_state = rng.bit_generator.state
    calls: list[tuple[Module, list, Any]] = []

    def hook(module, args, output):
        calls.append((module, list(args), output))

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        model.eval()
        with enable_grad():  # record the graph even inside the caller's no_grad()
            output = model(*inputs)
    except (TypeError, ValueError, IndexError, RuntimeError) as e:
        shapes = ", ".join(str(tuple(x.shape)) for x in inputs)
        raise type(e)(f"draw_model: running {type(model).__name__} on zeros of shape "
                      f"{shapes} failed: {e}") from e
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.training = mode
        rng.bit_generator.state = rng_state

    outputs = _tensors(output)
    roots = [t for t in outputs if t.requires_grad]
    g = walk.extract(roots) if roots else walk.Graph()
    names = walk.Names(g, model, "draw_model")
    d = walk.build(g, names, "modules", "draw_model")
    return _emit(model, d, inputs, outputs, calls, rankdir, show_repr, legend, title,
                 show_defaults)


def _make_inputs(input_shape, input, dtype) -> list[Tensor]:
    if input is not None:
        if input_shape is not None:
            raise ValueError("draw_model: pass input_shape or input, not both")
        xs = [input] if isinstance(input, Tensor) else list(input)
        if not xs or not all(isinstance(x, Tensor) for x in xs):
            raise TypeError("draw_model: input must be a Tensor or a list of Tensors")
        # our own leaves, so the caller's tensors are not recorded into
        out = []
        for x in xs:
            y = Tensor(x.data)
            if y.dtype.kind in "fc":
                y.requires_grad = True
            out.append(y)
        return out
    if input_shape is None:
        raise ValueError("draw_model: pass input_shape (e.g. (1, 2), batch axis first) "
                         "or input=")
    shapes = [input_shape] if all(isinstance(s, (int, np.integer)) for s in input_shape) \
        else list(input_shape)
    out = []
    for shape in shapes:
        try:
            shape = tuple(int(s) for s in shape)
        except TypeError:
            raise TypeError(f"draw_model: input_shape must be a tuple of ints or a list of "
                            f"them, got {input_shape!r}") from None
        if any(s < 0 for s in shape):
            raise ValueError(f"draw_model: input_shape {shape} has a negative size")
        dt = np.dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
        x = Tensor(np.zeros(shape, dtype=dt))
        if dt.kind in "fc":
            x.requires_grad = True   # record the graph from the input on
        out.append(x)
    return out


def _tensors(obj) -> list[Tensor]:
    """Every Tensor in a (nested) tuple / list / dict output, in order."""
    out, stack = [], [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, Tensor):
            out.append(o)
        elif isinstance(o, (list, tuple)):
            stack.extend(reversed(o))
        elif isinstance(o, dict):
            stack.extend(reversed(list(o.values())))
    return out


def _shapes_text(shapes: list) -> str:
    if not shapes:
        return ""
    return "→ " + ", ".join(style.fmt_shape(s) for s in shapes)


def _relative(d: walk.Display, frame) -> str:
    """A layer's title without the name of the cluster it is drawn in: ``fc1: Linear``
    inside ``block1: Res`` rather than ``block1.fc1: Linear``."""
    title = d.frame_title(frame)
    parent = frame.parent
    if parent is not None and parent.depth >= 1:
        prefix = d.names.modules.get(id(parent.module))
        if prefix and title.startswith(prefix + "."):
            title = title[len(prefix) + 1:]
    return title


def _owner_frame(d: walk.Display, module, near):
    """The call of the module that owns ``module`` (by dotted name), preferring one that
    encloses ``near``; None for the model itself."""
    name = d.names.modules.get(id(module), "")
    parent_name = name.rsplit(".", 1)[0] if "." in name else ""
    if not parent_name:
        return None
    f = near
    while f is not None:
        if d.names.modules.get(id(f.module)) == parent_name:
            return f
        f = f.parent
    for f in d.frames:
        if d.names.modules.get(id(f.module)) == parent_name:
            return f
    return None


def without_defaults(module: Any, text: str) -> str:
    """``extra_repr`` text without the ``name=value`` settings equal to the default of
    the layer's constructor (``stride=(1, 1)`` for a default ``stride=1``).

    >>> from microgradnn import nn
    >>> without_defaults(nn.Linear(2, 4), "in_features=2, out_features=4, bias=True")
    'in_features=2, out_features=4'
    """
    import inspect
    try:
        params = inspect.signature(type(module).__init__).parameters
    except (TypeError, ValueError):
        return text
    kept = []
    for piece in style._split_top_level(text):
        piece = piece.rstrip(",").strip()
        key, eq, value = piece.partition("=")
        p = params.get(key.strip()) if eq else None
        if p is not None and p.default is not inspect.Parameter.empty and \
                value.strip() in _spellings(p.default):
            continue
        kept.append(piece)
    return ", ".join(kept)


def _spellings(default) -> set[str]:
    """How a default may be printed: ``1`` also as ``(1, 1)`` for a 2-d layer."""
    out = {repr(default), str(default)}
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        out.update(repr((default,) * n) for n in (1, 2, 3))
    return out


def _emit(model, d: walk.Display, inputs, outputs, calls, rankdir, show_repr, legend, title,
          show_defaults=False):
    from .graph import _clusters
    g, names, nodes = d.g, d.names, d.nodes
    items = g.items
    lines_top: list[str] = []
    cluster_lines: dict[int, list[str]] = {}
    families: dict[str, tuple[str, str]] = {}

    def place(cluster, line):
        if cluster is not None and cluster.depth == 0:
            cluster = None  # the model itself is the whole picture, not a cluster
        if cluster is None:
            lines_top.append(line)
        else:
            cluster_lines.setdefault(id(cluster), []).append(line)

    # pass-through layers (Dropout in eval, Identity): their output is their input
    passthrough: dict[int, list[Module]] = {}
    for module, args, out in calls:
        if isinstance(out, Tensor) and any(a is out for a in args) and \
                not walk.has_children(module):
            key = id(out.grad_fn) if out.grad_fn is not None else id(out)
            passthrough.setdefault(key, []).append(module)

    # the picture's nodes: inputs, layers (blocks), loose operations, loose parameters
    input_ids = {id(x): i for i, x in enumerate(inputs)}
    producer: dict[int, str] = {}    # tensor node -> the node that made it
    node_ids: dict[int, str] = {}
    for u, node in enumerate(nodes):
        if node.kind == "leaf":
            t = items[node.item]
            if id(t) in input_ids:
                nid = f"in{input_ids[id(t)]}"
                label = style.block_label(
                    "input" if len(inputs) == 1 else f"input {input_ids[id(t)]}",
                    [f"{style.fmt_shape(t.shape)} {t.dtype}"])
                place(None, dot.node_line(nid, {"label": label, "shape": "box",
                                                "style": "rounded", "penwidth": "1.5"}))
            else:
                nid = f"t{node.item}"
                label = style.block_label(names.leaf(t) or "parameter",
                                          [f"{style.fmt_shape(t.shape)}"])
                place(node.cluster, dot.node_line(nid, {"label": label, "shape": "note",
                                                        "style": "filled",
                                                        "fillcolor": "#ffffff"}))
            node_ids[u] = nid
        elif node.kind == "op":
            item = items[node.item]
            nid = f"op{node.item}"
            label = style.block_label(type(item).__name__,
                                      [_shapes_text([item.out_shape])])
            place(node.cluster, dot.node_line(nid, {
                "label": label, "shape": "ellipse", "style": "filled",
                "fillcolor": style.OP_FILL, "color": style.OP_BORDER, "margin": "0.02,0.02"}))
            node_ids[u] = nid
        elif node.kind == "block":
            b = node.item
            module = b.frame.module
            fam, fill, border = _family(module)
            families[fam] = (fill, border)
            detail = []
            if show_repr:
                rep = module.extra_repr() if hasattr(module, "extra_repr") else ""
                if rep and not show_defaults:
                    rep = without_defaults(module, rep)
                if rep:
                    detail.extend(style.wrap_items(rep, 36))
            detail.append(_shapes_text([items[k].out_shape for k in b.outputs]))
            n = walk.param_count(module)
            if n:
                detail.append(f"{n:,} parameters")
            nid = f"m{b.number}"
            place(node.cluster, dot.node_line(nid, {
                "label": style.block_label(_relative(d, b.frame), [x for x in detail if x]),
                "shape": "box", "style": "rounded,filled", "fillcolor": fill, "color": border,
                "penwidth": "1.5"}))
            node_ids[u] = nid
    for s, t, _ in d.edges:
        if nodes[t].kind == "tensor":
            producer[t] = node_ids[s]

    # pass-through layers become nodes sitting on the edges leaving their input
    through_ids: dict[int, list[str]] = {}
    n_through = 0
    for key, mods in passthrough.items():
        k = g.index.get(key)
        u = d.tensor_node.get(k) if k is not None else None
        if u is None:
            continue
        chain = []
        for module in mods:
            fam, fill, border = _family(module)
            families[fam] = (fill, border)
            nid = f"p{n_through}"
            n_through += 1
            note = {"dropout": ["(active in training only)"], "reshape": []}.get(
                fam, ["(passes its input through)"])
            label = style.block_label(names.module(module), note)
            place(_owner_frame(d, module, nodes[u].cluster), dot.node_line(nid, {
                "label": label, "shape": "box", "style": "rounded,filled,dashed",
                "fillcolor": fill, "color": border}))
            chain.append(nid)
        through_ids[u] = chain

    def source_of(u: int) -> str:
        """The node an edge leaving tensor node ``u`` starts from (after pass-throughs)."""
        chain = through_ids.get(u)
        if chain:
            return chain[-1]
        return producer.get(u) or node_ids[u]

    edge_lines: list[str] = []
    seen = set()

    def edge(a: str, b: str) -> None:
        if (a, b) not in seen:
            seen.add((a, b))
            edge_lines.append(dot.edge_line(a, b))

    for u, chain in through_ids.items():
        start = producer.get(u) or node_ids.get(u)
        for nid in chain:
            edge(start, nid)
            start = nid
    for s, t, _ in d.edges:
        if nodes[t].kind == "tensor":
            continue  # producer -> its tensor: folded into the producer's node
        src = source_of(s) if nodes[s].kind in ("tensor", "leaf") else node_ids[s]
        edge(src, node_ids[t])
    # inputs that are not in the graph (integer ids): to the layers that received them
    for i, x in enumerate(inputs):
        if id(x) in g.index:
            continue
        place(None, dot.node_line(f"in{i}", {
            "label": style.block_label("input" if len(inputs) == 1 else f"input {i}",
                                       [f"{style.fmt_shape(x.shape)} {x.dtype}"]),
            "shape": "box", "style": "rounded", "penwidth": "1.5"}))
        for module, args, _ in calls:
            if any(a is x for a in args) and not walk.has_children(module):
                for b in d.blocks:
                    if b.frame.module is module:
                        edge(f"in{i}", f"m{b.number}")
                        break
    # outputs
    for i, t in enumerate(outputs):
        oid = f"out{i}"
        place(None, dot.node_line(oid, {
            "label": style.block_label("output" if len(outputs) == 1 else f"output {i}",
                                       [f"{style.fmt_shape(t.shape)} {t.dtype}"]),
            "shape": "box", "style": "rounded", "penwidth": "1.5"}))
        k = g.index.get(id(t.grad_fn) if t.grad_fn is not None else id(t))
        u = d.tensor_node.get(k) if k is not None else None
        if u is not None:
            edge(source_of(u), oid)
        elif id(t) in {id(x) for x in inputs}:
            edge(f"in{[id(x) for x in inputs].index(id(t))}", oid)

    total = sum(p.data.size for p in model.parameters())
    trainable = sum(p.data.size for p in model.parameters() if p.requires_grad)
    caption = title
    if caption is None:
        caption = f"{type(model).__name__}: {total:,} parameters"
        if trainable != total:
            caption += f" ({trainable:,} trainable)"
    body = []
    if legend and families:
        rows = ['<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Layers</B></TD></TR>']
        for fam, (fill, border) in families.items():
            rows.append(f'<TR><TD BGCOLOR="{fill}" COLOR="{border}" BORDER="1" WIDTH="26"> </TD>'
                        f'<TD ALIGN="LEFT"><FONT POINT-SIZE="10">{fam}</FONT></TD></TR>')
        body.append(dot.node_line("legend", {
            "label": '<<TABLE BORDER="1" COLOR="#bbbbbb" CELLBORDER="0" CELLSPACING="2" '
                     'CELLPADDING="2">' + "".join(rows) + "</TABLE>>", "shape": "plain"}))
    body.extend(lines_top)
    body.extend(_clusters(d, cluster_lines, min_depth=1, title=lambda f: _relative(d, f)))
    body.extend(edge_lines)
    pic = dot.new_picture(
        {"rankdir": rankdir, "fontname": style.FONT, "fontsize": "13", "labelloc": "t",
         "label": f"<<B>{style.esc(caption)}</B>>", "nodesep": "0.3", "ranksep": "0.3"},
        {"fontname": style.FONT, "fontsize": "11", "color": "#555555",
         "fontcolor": style.INK, "margin": "0.12,0.05"},
        {"color": "#555555", "arrowsize": "0.7"})
    pic.body.extend(body)
    return pic
