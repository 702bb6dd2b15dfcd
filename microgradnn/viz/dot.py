"""The object the drawing functions return, and DOT text helpers.

``graphviz`` is imported only when a picture is made, so ``import microgradnn`` never needs
it. The returned :class:`graphviz.Digraph` subclass renders like any other (``.render``,
``.pipe``, inline in Jupyter) but, where Graphviz's ``dot`` program is missing, says how to
install it instead of failing with a bare "executable not found"; ``.source`` (the DOT
text) works everywhere.
"""
from __future__ import annotations

import functools

INSTALL_HINT = (
    "Graphviz's `dot` program is needed to render pictures but was not found on PATH. "
    "Install Graphviz: `sudo apt-get install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS), `conda install -c conda-forge graphviz`, or see "
    "https://graphviz.org/download/ . The DOT text is available without it: `.source`.")


class GraphvizNotFoundError(RuntimeError):
    """Rendering a picture needs Graphviz's ``dot`` program, which is not installed."""


def _import_graphviz():
    try:
        import graphviz
    except ImportError as e:  # pragma: no cover - graphviz is an install requirement
        raise ImportError("microgradnn.viz needs the `graphviz` Python package: "
                          "pip install graphviz (and Graphviz itself, for rendering: "
                          "https://graphviz.org/download/)") from e
    return graphviz


def _friendly(method):
    """Wrap a rendering method: turn graphviz.ExecutableNotFound into our hint."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        graphviz = _import_graphviz()
        try:
            return method(self, *args, **kwargs)
        except graphviz.ExecutableNotFound as e:
            raise GraphvizNotFoundError(INSTALL_HINT) from e
    return wrapper


@functools.lru_cache(maxsize=None)
def picture_class():
    """``Picture``: a ``graphviz.Digraph`` whose rendering errors say how to install dot."""
    graphviz = _import_graphviz()

    class Picture(graphviz.Digraph):
        """A Graphviz digraph drawn by microgradnn.viz (render with ``.render``/``.pipe``)."""

        pipe = _friendly(graphviz.Digraph.pipe)
        render = _friendly(graphviz.Digraph.render)
        view = _friendly(graphviz.Digraph.view)
        unflatten = _friendly(graphviz.Digraph.unflatten)

    Picture.__module__ = __name__
    Picture.__qualname__ = "Picture"
    return Picture


def new_picture(graph_attr: dict, node_attr: dict | None = None,
                edge_attr: dict | None = None):
    """An empty Picture with the given default attributes."""
    return picture_class()(graph_attr=graph_attr, node_attr=node_attr or {},
                           edge_attr=edge_attr or {})


def quote(value) -> str:
    """A DOT attribute value: HTML labels (``<...>``) as they are, other text quoted."""
    s = str(value)
    if s.startswith("<") and s.endswith(">"):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def attrs(items: dict) -> str:
    """``[key=value ...]`` for a node or edge statement (keys in the given order)."""
    if not items:
        return ""
    return " [" + " ".join(f"{k}={quote(v)}" for k, v in items.items()) + "]"


def node_line(node_id: str, items: dict, indent: str = "\t") -> str:
    return f"{indent}{node_id}{attrs(items)}\n"


def edge_line(src: str, dst: str, items: dict | None = None, indent: str = "\t") -> str:
    return f"{indent}{src} -> {dst}{attrs(items or {})}\n"
