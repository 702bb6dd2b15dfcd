"""Reading the graph: the nodes below some tensors, their names and modules, and the
simplified picture (module calls collapsed into one node, repeated calls folded) that
the drawing functions turn into DOT.

Everything is iterative (graphs can be 100,000 operations deep) and linear in the size
of the graph. Only attributes are read; nothing in the graph is changed.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..autograd.function import Function
from ..autograd.graph import postorder
from ..autograd.scope import Frame
from ..nn.module import Module, Parameter
from ..tensor import Tensor, _make


# ---------------------------------------------------------------------- extraction
class Graph:
    """The nodes below the roots, inputs before the operations that use them.

    ``items[k]`` is a Function node (an operation) or a leaf Tensor; ``inputs[k]`` lists
    ``(slot, j)``: positional input ``slot`` of operation ``k`` is item ``j``;
    ``consumers[j]`` the operations using item ``j``; ``roots`` the items of the roots.
    ``constants`` holds the items that are inputs needing no gradient (data, targets),
    known for operations recorded inside ``viz.keep()``; ``scalars[k]`` the Python
    numbers operation ``k`` received, as ``(slot, value)``.
    """

    __slots__ = ("items", "inputs", "consumers", "roots", "index", "constants", "scalars")

    def __init__(self) -> None:
        self.items: list = []
        self.inputs: list[tuple] = []
        self.consumers: list[list[int]] = []
        self.roots: list[int] = []
        self.index: dict[int, int] = {}
        self.constants: set[int] = set()
        self.scalars: dict[int, list] = {}

    def is_op(self, k: int) -> bool:
        return isinstance(self.items[k], Function)


def as_roots(root, op: str = "draw_graph") -> list[Tensor]:
    """``root`` (a Tensor or a sequence of them) as a list, checked."""
    roots = [root] if isinstance(root, Tensor) else list(root) if isinstance(
        root, (list, tuple)) else None
    if not roots or not all(isinstance(r, Tensor) for r in roots):
        raise TypeError(f"{op}: expected a Tensor or a non-empty list of Tensors, "
                        f"got {type(root).__name__}")
    return roots


def extract(roots: list[Tensor]) -> Graph:
    """Items numbered in post-order from the roots (``autograd.graph.postorder``), which
    puts every input before its consumers and is the same on every run."""
    g = Graph()
    index = g.index
    items = g.items
    seen: set = set()
    for r in roots:
        start = r.grad_fn if r.grad_fn is not None else r
        for obj in postorder([start], seen):
            if id(obj) in index:
                continue  # a leaf already numbered as some node's constant
            if isinstance(obj, Function):
                _add_constants(g, obj)
            index[id(obj)] = len(items)
            items.append(obj)
        g.roots.append(index[id(start)])
    g.consumers = [[] for _ in items]
    for k, obj in enumerate(items):
        if isinstance(obj, Function):
            ins = [(slot, index[id(n)]) for slot, n in enumerate(obj.next) if n is not None]
            consts = getattr(obj, "viz_constants", None)
            if consts is not None:
                for slot, c in enumerate(consts):
                    if c is None:
                        continue
                    if isinstance(c, (Tensor, np.ndarray)):
                        ins.append((slot, index[id(c)]))
                    elif isinstance(c, (int, float, complex, np.number)):
                        g.scalars.setdefault(k, []).append((slot, c))
                ins.sort()
            ins = tuple(ins)
            for _, j in ins:
                g.consumers[j].append(k)
        else:
            ins = ()
        g.inputs.append(ins)
    return g


def _add_constants(g: Graph, node: Function) -> None:
    """Number the constant inputs of ``node`` (kept inside ``viz.keep()``) before it.
    A bare array becomes an unnamed Tensor leaf (registered under the array's id)."""
    consts = getattr(node, "viz_constants", None)
    if consts is None:
        return
    for c in consts:
        if isinstance(c, (Tensor, np.ndarray)) and id(c) not in g.index:
            g.index[id(c)] = len(g.items)
            g.constants.add(len(g.items))
            g.items.append(c if isinstance(c, Tensor) else _make(c, False, None))


def value_of(item) -> Any:
    """The array a node stands for: an operation's output, a leaf's data (None for an
    operation recorded outside ``viz.keep()`` once backward has run)."""
    if isinstance(item, Function):
        return item.value if item.keeps_values else None
    return item.data


def values_kept(g: Graph) -> bool:
    """False when some operation of the graph no longer has its output value."""
    return all(item.keeps_values for item in g.items if isinstance(item, Function))


def grad_of(item) -> Any:
    """The gradient currently stored on a node (array) or None (also for an operation
    recorded outside ``viz.keep()``, which keeps none)."""
    if isinstance(item, Function) and not item.keeps_values:
        return None
    g = item.grad
    if g is None:
        return None
    return g.data if isinstance(g, Tensor) else g


# ---------------------------------------------------------------------- names
class Names:
    """Display names of parameters and modules.

    ``params`` may be a Module (parameter and module names from ``named_parameters`` and
    ``named_modules``), a mapping ``name -> Tensor``, or pairs. Without it, the outermost
    module that ran an operation of the graph names its parameters and submodules.
    """

    def __init__(self, g: Graph, params=None, op: str = "draw_graph") -> None:
        self.explicit: dict[int, str] = {}
        self.auto: dict[int, str] = {}
        self.modules: dict[int, str] = {}
        self._keep: list = []  # keep named objects alive so their ids stay unique
        if isinstance(params, Module):
            self._add_module(params, self.explicit)
        elif params is not None:
            pairs = params.items() if isinstance(params, Mapping) else params
            try:
                for name, t in pairs:
                    if not isinstance(t, Tensor):
                        raise TypeError
                    self.explicit.setdefault(id(t), str(name))
                    self._keep.append(t)
            except (TypeError, ValueError):
                raise TypeError(f"{op}: params must be a Module, a dict name -> Tensor or "
                                f"(name, Tensor) pairs, got {type(params).__name__}") from None
        seen: set[int] = set()
        for item in g.items:
            if isinstance(item, Function) and item.scope is not None:
                for outer in item.scope.path():  # the outermost module (not a composite)
                    m = outer.module
                    if isinstance(m, Module):
                        if id(m) not in seen:
                            seen.add(id(m))
                            self._add_module(m, self.auto)
                        break

    def _add_module(self, m: Module, param_table: dict) -> None:
        self._keep.append(m)
        for name, sub in m.named_modules():
            self.modules.setdefault(id(sub), name)
        for name, p in m.named_parameters():
            param_table.setdefault(id(p), name)

    def leaf(self, t: Tensor) -> str | None:
        """The name shown on a leaf: the one passed in, its own ``name``, its parameter name."""
        return self.explicit.get(id(t)) or t.name or self.auto.get(id(t))

    def is_param(self, t: Tensor) -> bool:
        return isinstance(t, Parameter) or id(t) in self.explicit or id(t) in self.auto

    def module(self, m: Any) -> str:
        """``fc1: Linear``, or the class name alone for an unnamed (or the outermost) module;
        given a Frame: the same for its module, or a composite function's name
        (``mse_loss``), or the class name of a module since garbage collected."""
        if isinstance(m, Frame):
            cls, m = m.name, m.module
        else:
            cls = type(m).__name__
        name = self.modules.get(id(m)) if m is not None else None
        return f"{name}: {cls}" if name else cls


def has_children(module: Any) -> bool:
    table = getattr(module, "_modules", None)
    return bool(table) and any(v is not None for v in table.values())


def param_count(module: Any) -> int:
    if not isinstance(module, Module):
        return 0
    return int(sum(p.data.size for p in module.parameters()))


# ---------------------------------------------------------------------- display graph
class DNode:
    """One node of the picture: a tensor, an operation, or a module call (block)."""

    __slots__ = ("kind", "item", "cluster", "block", "rep", "members")

    def __init__(self, kind: str, item, cluster: Frame | None) -> None:
        self.kind = kind          # "leaf" | "tensor" | "op" | "block"
        self.item = item          # item index; for a block: the Block
        self.cluster = cluster    # the frame whose cluster holds it (None: top level)
        self.rep = None           # set when folded into another node
        self.members = None       # on a fold representative: all the nodes it stands for


class Block:
    """A module call drawn as one node: its frame and the operations inside it."""

    __slots__ = ("frame", "items", "outputs", "number", "node")

    def __init__(self, frame: Frame, number: int) -> None:
        self.frame = frame
        self.items: list[int] = []
        self.outputs: list[int] = []
        self.number = number
        self.node = -1


class Display:
    """The picture before it is written as DOT: nodes, edges and clusters."""

    def __init__(self, g: Graph, names: Names) -> None:
        self.g = g
        self.names = names
        self.nodes: list[DNode] = []
        self.edges: list[tuple[int, int, Any]] = []
        self.tensor_node: dict[int, int] = {}   # item -> its tensor node
        self.op_node: dict[int, int] = {}       # item -> its operation (or block) node
        self.blocks: list[Block] = []
        self.block_of: dict[int, Block] = {}    # item -> block holding it
        self.frames: list[Frame] = []           # clusters in order of first appearance
        self.frame_calls: dict[int, int] = {}   # id(frame) -> call number of its module
        self.module_calls: dict[int, int] = {}  # id(module) -> number of calls seen
        self.hidden_leaves: set[int] = set()
        self.pos: dict[int, int] = {}           # item -> its position inside its block

    def add(self, kind: str, item, cluster: Frame | None) -> int:
        self.nodes.append(DNode(kind, item, cluster))
        if cluster is not None:
            self._see_frame(cluster)
        return len(self.nodes) - 1

    def _see_frame(self, frame: Frame) -> None:
        if id(frame) in self.frame_calls:
            return
        for f in frame.path():
            if id(f) not in self.frame_calls:
                n = self.module_calls.get(frame_key(f), 0) + 1
                self.module_calls[frame_key(f)] = n
                self.frame_calls[id(f)] = n
                self.frames.append(f)

    def frame_title(self, frame: Frame) -> str:
        title = self.names.module(frame)
        if self.module_calls.get(frame_key(frame), 1) > 1:
            title += f" (call {self.frame_calls[id(frame)]})"
        return title

    def final(self, u: int) -> int:
        """The node that stands for ``u`` in the picture (its fold representative)."""
        rep = self.nodes[u].rep
        return u if rep is None else rep


def frame_key(frame: Frame):
    """What repeated calls share: the module (or, for a composite, its name; for a module
    already garbage collected, the frame itself)."""
    if frame.is_composite:
        return ("composite", frame.name)
    m = frame.module
    return id(m) if m is not None else ("frame", id(frame))


def _lca(a: Frame | None, b: Frame | None) -> Frame | None:
    """Innermost frame enclosing both (None when one of them is the top level)."""
    if a is None or b is None:
        return None
    while a.depth > b.depth:
        a = a.parent
    while b.depth > a.depth:
        b = b.parent
    while a is not b:
        a, b = a.parent, b.parent
        if a is None or b is None:
            return None
    return a


def build(g: Graph, names: Names, collapse=None, op: str = "draw_graph",
          expand: bool = False) -> Display:
    """Lay out nodes, edges and clusters; ``collapse`` draws module calls as single nodes
    (None: never; an int d: every call at depth d, 0 being the outermost module called;
    ``"modules"``: the outermost call of a module that has no submodules). Composite
    functions (``mse_loss``) are single nodes too, unless ``expand``."""
    if collapse is not None and collapse != "modules" and not (
            isinstance(collapse, int) and not isinstance(collapse, bool) and collapse >= 0):
        raise ValueError(f"{op}: collapse must be None, 'modules' or a depth >= 0, "
                         f"got {collapse!r}")
    d = Display(g, names)
    items = g.items
    collapsed: dict[int, Frame | None] = {}

    def block_frame(frame: Frame | None) -> Frame | None:
        if frame is None or (collapse is None and expand):
            return None
        key = id(frame)
        if key in collapsed:
            return collapsed[key]
        found = None
        if collapse == "modules":
            for f in frame.path():
                if not f.is_composite and not has_children(f.module):
                    found = f
                    break
        elif collapse is not None and frame.depth >= collapse:
            found = frame
            while found.depth > collapse:
                found = found.parent
        if not expand:  # the outermost composite call, if it encloses the module's
            for f in frame.path():
                if f.is_composite:
                    if found is None or f.depth < found.depth:
                        found = f
                    break
        collapsed[key] = found
        return found

    # which block (if any) each operation belongs to
    by_frame: dict[int, Block] = {}
    for k, item in enumerate(items):
        if isinstance(item, Function):
            bf = block_frame(item.scope)
            if bf is not None:
                b = by_frame.get(id(bf))
                if b is None:
                    b = by_frame[id(bf)] = Block(bf, len(d.blocks))
                    d.blocks.append(b)
                d.pos[k] = len(b.items)
                b.items.append(k)
                d.block_of[k] = b
    root_set = set(g.roots)
    for b in d.blocks:
        inside = set(b.items)
        b.outputs = [k for k in b.items if k in root_set
                     or any(c not in inside for c in g.consumers[k])]

    def visible_frame(k: int) -> Frame | None:
        b = d.block_of.get(k)
        return b.frame.parent if b is not None else items[k].scope

    # nodes, in item order
    for k, item in enumerate(items):
        if not isinstance(item, Function):
            cons = g.consumers[k]
            cluster = None  # data and targets sit outside the modules that use them
            if cons and (names.is_param(item) or k in g.constants):
                blocks = {id(d.block_of.get(c)) for c in cons}
                first = d.block_of.get(cons[0])
                if first is not None and len(blocks) == 1 and k not in root_set and (
                        _internal(item, k, first, g) if k in g.constants
                        else not first.frame.is_composite):
                    # a module's parameter used only inside its block, or a constant a
                    # composite made itself (what went into a call stays visible)
                    d.hidden_leaves.add(k)
                    continue
            if cons and names.is_param(item):
                cluster = visible_frame(cons[0])
                for c in cons[1:]:
                    cluster = _lca(cluster, visible_frame(c))
            d.tensor_node[k] = d.add("leaf", k, cluster)
            continue
        b = d.block_of.get(k)
        if b is None:
            d.op_node[k] = d.add("op", k, item.scope)
            d.tensor_node[k] = d.add("tensor", k, item.scope)
            continue
        if b.node < 0:
            b.node = d.add("block", b, b.frame.parent)
            d._see_frame(b.frame)  # numbers repeated calls of its module
        d.op_node[k] = b.node
        if k in b.outputs:
            d.tensor_node[k] = d.add("tensor", k, b.frame.parent)

    # edges: input tensor -> operation (port: slot) -> output tensor
    seen: set = set()
    for k, item in enumerate(items):
        if not isinstance(item, Function):
            continue
        b = d.block_of.get(k)
        dst = d.op_node[k]
        for slot, j in g.inputs[k]:
            if j in d.hidden_leaves:
                continue
            if b is not None:
                if d.block_of.get(j) is b:
                    continue
                port = (d.pos[k], slot)
            else:
                port = slot
            src = d.tensor_node[j]
            key = (src, dst, port if b is None else None)
            if key not in seen:
                seen.add(key)
                d.edges.append((src, dst, port))
        if k in d.tensor_node:
            port = 0 if b is None else d.pos[k]
            d.edges.append((dst, d.tensor_node[k], port))
    return d


# ---------------------------------------------------------------------- folding
def _internal(item, k: int, b: Block, g: Graph) -> bool:
    """A constant made inside a composite function (not one of its arguments)."""
    return b.frame.is_composite and not any(item is t for t in b.frame.inputs)


def fold(d: Display, max_passes: int = 64) -> None:
    """Fold repeated calls of the same module (same operations inside) into one node,
    then the tensors and operations that feed or leave them in the same way, so a loop
    unrolled 50 times is drawn once, with ``×50``."""
    nodes = d.nodes
    n = len(nodes)
    cls = [-1] * n
    classes: list[list[int]] = []

    # 1. module calls: same module, same operations and output shapes inside
    groups: dict[tuple, list[int]] = {}
    items = d.g.items
    for b in d.blocks:
        sig = (frame_key(b.frame),
               tuple((type(items[k]).__name__, tuple(items[k].out_shape)) for k in b.items),
               tuple(d.pos[k] for k in b.outputs))
        groups.setdefault(sig, []).append(b.node)
    how: list[str] = []  # per class: "block", "in" (fed by folded nodes) or "out"
    for members in groups.values():
        if len(members) > 1:
            for u in members:
                cls[u] = len(classes)
            classes.append(members)
            how.append("block")
    if not classes:
        return

    # 2. neighbours that all connect to folded nodes in the same way fold too
    pred: list[list] = [[] for _ in range(n)]
    succ: list[list] = [[] for _ in range(n)]
    for s, t, port in d.edges:
        succ[s].append((t, port))
        pred[t].append((s, port))

    def desc(u: int) -> tuple:
        node = nodes[u]
        if node.kind == "block":
            return ("block", frame_key(node.item.frame))
        item = items[node.item]
        v = value_of(item)
        return (node.kind, type(item).__name__, _shape(v), None if v is None else v.dtype.str)

    for _ in range(max_passes):
        groups = {}
        for u in range(n):
            if cls[u] >= 0:
                continue
            if pred[u] and all(cls[p] >= 0 for p, _ in pred[u]):
                key = ("in", desc(u), frozenset((cls[p], port) for p, port in pred[u]))
            elif succ[u] and all(cls[s] >= 0 for s, _ in succ[u]):
                key = ("out", desc(u), frozenset((cls[s], port) for s, port in succ[u]))
            else:
                continue
            groups.setdefault(key, []).append(u)
        grown = False
        for key, members in groups.items():
            if len(members) > 1:
                for u in members:
                    cls[u] = len(classes)
                classes.append(members)
                how.append(key[0])
                grown = True
        if not grown:
            break

    # 3. each folded node shows one member: the latest call (deepest in the data flow),
    # and around it the tensors and operations of that same call
    depth = _depths(n, d.edges)
    reps: list[int] = []
    for c, members in enumerate(classes):
        rep = -1
        if how[c] != "block":
            links = pred if how[c] == "in" else succ
            for u in members:
                if any(cls[v] < c and v == reps[cls[v]] for v, _ in links[u]):
                    rep = u
                    break
        if rep < 0:
            rep = max(members, key=lambda u: (depth[u], u))
        reps.append(rep)
    for members, rep in zip(classes, reps):
        nodes[rep].members = members
        for u in members:
            if u != rep:
                nodes[u].rep = rep
    # edges between representatives, each once
    seen = set()
    edges = []
    for s, t, port in d.edges:
        s2, t2 = d.final(s), d.final(t)
        folded = s2 != s or t2 != t or nodes[t2].members is not None
        key = (s2, t2, None if folded or nodes[t2].kind == "block" else port)
        if key not in seen:
            seen.add(key)
            edges.append((s2, t2, port))
    d.edges = edges


def _shape(v):
    return None if v is None else v.shape


def _depths(n: int, edges: list) -> list[int]:
    """Longest path from a source to each node (Kahn's order; the picture is a DAG)."""
    succ: list[list[int]] = [[] for _ in range(n)]
    indeg = [0] * n
    for s, t, _ in edges:
        succ[s].append(t)
        indeg[t] += 1
    depth = [0] * n
    ready = [u for u in range(n) if indeg[u] == 0]
    while ready:
        u = ready.pop()
        for t in succ[u]:
            if depth[u] + 1 > depth[t]:
                depth[t] = depth[u] + 1
            indeg[t] -= 1
            if indeg[t] == 0:
                ready.append(t)
    return depth
