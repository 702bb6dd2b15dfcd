"""How the pictures look: colours, number formatting, node labels and the legend.

Everything here turns one node's facts (name, shape, value, gradient) into Graphviz
HTML-like label text. Each function is linear in the size of what it prints, so labels for
10,000 nodes cost 10,000 small calls.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

import numpy as np

# ---------------------------------------------------------------------- colours
FONT = "Helvetica"
MONO = "monospace"
INK = "#222222"
MUTED = "#666666"

TENSOR_FILL = "#ffffff"     # a tensor whose gradient is not known (yet)
OP_FILL = "#ece8f8"         # operation nodes: light lavender
OP_BORDER = "#7b6ba8"
BLOCK_FILL = "#dbe9f6"      # a module call drawn as one node
BLOCK_BORDER = "#3b6ea5"
ZERO_FILL = "#cfcfcf"       # gradient exactly zero everywhere (dead ReLU, unused branch)
BAD_FILL = "#ff6f6f"        # NaN or Inf in the gradient
HIGHLIGHT = "#d62728"       # the stepper's current node and the gradients it sends
CONST_FILL = "#f3f3f3"      # inputs that need no gradient (data, targets): dashed, grey
CONST_BORDER = "#8a8a8a"
COMPOSITE_FILL = "#e8f1e0"  # a function written in primitives (mse_loss) drawn as one node
DONE_EDGE = "#999999"

# Gradient shading: mean |grad| relative to the largest in the picture, on a log scale.
# 1 (the largest) is a strong green; a millionth of it or less fades to almost white.
SHADE_DECADES = 6
_SHADE_LOW = np.array([0xf7, 0xfc, 0xf0], dtype=float)    # ≤ 1e-6 of the largest
_SHADE_HIGH = np.array([0x74, 0xc4, 0x76], dtype=float)   # the largest

CLUSTER_FILLS = ("#f6f8fb", "#edf1f7", "#e4eaf3", "#dbe3ef")


def shade(relative: float) -> str:
    """Fill colour for a gradient whose mean |g| is ``relative`` times the largest one.

    >>> shade(1.0), shade(1e-6)
    ('#74c476', '#f7fcf0')
    """
    if not relative > 0:
        t = 0.0
    else:
        t = 1.0 + float(np.log10(relative)) / SHADE_DECADES
        t = min(max(t, 0.0), 1.0)
    rgb = _SHADE_LOW + t * (_SHADE_HIGH - _SHADE_LOW)
    return "#%02x%02x%02x" % tuple(int(round(c)) for c in rgb)


class GradSummary:
    """What the colour of a gradient depends on: finite or not, all zero, mean |g|."""

    __slots__ = ("bad", "zero", "mean_abs", "zero_fraction")

    def __init__(self, g: np.ndarray) -> None:
        g = np.asarray(g)
        if g.dtype.kind == "c":
            g = np.abs(g)
        if g.size == 0:
            self.bad, self.zero, self.mean_abs, self.zero_fraction = False, False, 0.0, 0.0
            return
        finite = np.isfinite(g)
        self.bad = not bool(finite.all())
        a = np.abs(g[finite]) if self.bad else np.abs(g)
        nz = int(np.count_nonzero(a))
        self.zero = not self.bad and nz == 0
        self.zero_fraction = 1.0 - nz / g.size if not self.bad else 0.0
        self.mean_abs = float(a.mean(dtype=np.float64)) if a.size else 0.0


def grad_fill(s: GradSummary | None, largest: float) -> str:
    """The fill colour of a node from its gradient summary (None: no gradient yet)."""
    if s is None:
        return TENSOR_FILL
    if s.bad:
        return BAD_FILL
    if s.zero:
        return ZERO_FILL
    return shade(s.mean_abs / largest if largest > 0 else 1.0)


# ---------------------------------------------------------------------- text
def esc(text: str) -> str:
    """Escape text for a Graphviz HTML-like label."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def fmt_number(v, precision: int = 3) -> str:
    """One number, short: 3 significant digits, exponents without padding.

    >>> fmt_number(0.123456), fmt_number(-1.5e-05), fmt_number(2.0), fmt_number(float("nan"))
    ('0.123', '-1.5e-5', '2', 'nan')
    """
    if type(v) is float:  # the common case (from .tolist()): skip the type checks
        return _fmt_float(v, precision)
    if isinstance(v, (bool, np.bool_)):
        return "T" if v else "F"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (complex, np.complexfloating)):
        return fmt_number(v.real, precision) + ("+" if v.imag >= 0 else "-") + \
            fmt_number(abs(v.imag), precision) + "j"
    return _fmt_float(float(v), precision)


def _fmt_float(v: float, precision: int) -> str:
    s = format(v, _FORMATS[precision] if precision < len(_FORMATS) else f".{precision}g")
    if "e" in s:
        mant, exp = s.split("e")
        s = mant + "e" + ("-" if exp[0] == "-" else "") + exp[1:].lstrip("0")
    elif s == "-0":
        s = "0"
    return s


_FORMATS = [f".{p}g" for p in range(18)]


def fmt_shape(shape: Sequence[int]) -> str:
    """``(4, 2)``; a 0-d tensor is a ``scalar``."""
    if len(shape) == 0:
        return "scalar"
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(s) for s in shape) + ")"


def fmt_dtype(dtype) -> str:
    return str(np.dtype(dtype))


def array_lines(a: np.ndarray, precision: int = 3, max_elements: int = 16,
                per_line: int = 8) -> list[str]:
    """The numbers of a small array as text lines (brackets as NumPy prints them), or one
    ``min … mean … max`` line for a large one.

    >>> array_lines(np.array([[1.0, -0.5], [0.25, 2.0]]))
    ['[[   1  -0.5]', ' [0.25     2]]']
    >>> array_lines(np.arange(100.0))
    ['min 0  mean 49.5  max 99']
    """
    a = np.asarray(a)
    if a.size > max_elements:
        return [stats_line(a, precision)]
    if a.ndim == 0:
        return [fmt_number(a.item(), precision)]
    if a.size == 0:
        return ["(empty)"]
    rows = a.reshape(-1, a.shape[-1]) if a.ndim >= 2 else a.reshape(1, -1)
    texts = [[fmt_number(v, precision) for v in row.tolist()] for row in rows]
    width = max(len(t) for row in texts for t in row)
    if a.ndim == 1:
        cells = [t.rjust(width) for t in texts[0]]
        chunks = [" ".join(cells[i:i + per_line]) for i in range(0, len(cells), per_line)]
        if len(chunks) == 1:
            return ["[" + chunks[0] + "]"]
        return (["[" + chunks[0]] + [" " + c for c in chunks[1:-1]] + [" " + chunks[-1] + "]"])
    lines = []
    n = len(texts)
    for i, row in enumerate(texts):
        body = " ".join(t.rjust(width) for t in row)
        lines.append(("[[" if i == 0 else " [") + body + ("]]" if i == n - 1 else "]"))
    if a.ndim > 2:
        lines.append(f"(rows along the last axis of {fmt_shape(a.shape)})")
    return lines


def stats_line(a: np.ndarray, precision: int = 3) -> str:
    """``min … mean … max`` of an array, counting NaN and Inf separately."""
    if a.size == 0:
        return "(empty)"
    if a.dtype.kind == "b":
        return f"{int(np.count_nonzero(a))} of {a.size} true"
    if a.dtype.kind == "c":
        a = np.abs(a)
    finite = np.isfinite(a)
    extra = ""
    if not finite.all():
        n_nan = int(np.isnan(a).sum())
        n_inf = a.size - n_nan - int(finite.sum())
        extra = "".join([f"  {n_nan} nan" if n_nan else "", f"  {n_inf} inf" if n_inf else ""])
        a = a[finite]
        if a.size == 0:
            return extra.strip()
    lo, hi = a.min(), a.max()
    mean = a.mean(dtype=np.float64)
    return (f"min {fmt_number(lo, precision)}  mean {fmt_number(mean, precision)}  "
            f"max {fmt_number(hi, precision)}{extra}")


# ---------------------------------------------------------------------- labels
def _mono_cell(lines: Iterable[str], colour: str = "") -> str:
    text = '<BR ALIGN="LEFT"/>'.join(esc(s) for s in lines) + '<BR ALIGN="LEFT"/>'
    return (f'<TD ALIGN="LEFT" BALIGN="LEFT"><FONT FACE="{MONO}" POINT-SIZE="10"{colour}>'
            f"{text}</FONT></TD>")


def tensor_label(name: str | None, shape, dtype, *, value=None, grad=None, grad_note: str = "",
                 show_shapes: bool = True, show_values: bool = True, show_grads: bool = True,
                 pending: bool = False, ghost: str = "", precision: int = 3,
                 max_elements: int = 16, times: int = 1, tag: str = "",
                 messages: Sequence[str] = ()) -> str:
    """HTML label of a tensor node: header (name, shape, dtype), value rows, grad rows.

    ``pending`` shows a grad row even without a gradient; ``ghost`` (a colour) draws the
    grad text invisibly, in the fill colour (the stepper keeps node sizes steady).
    ``shape`` None: not known (a value that was not kept). ``tag``: a muted word in the
    header ("no grad"); ``messages``: red lines at the bottom.
    """
    head = []
    if name:
        head.append(f"<B>{esc(name)}</B>")
    if times > 1:
        head.append(f"<B>×{times}</B>")
    if show_shapes and shape is not None:
        head.append(f'<FONT POINT-SIZE="10" COLOR="{MUTED}">{fmt_shape(shape)} '
                    f"{fmt_dtype(dtype)}</FONT>")
    if tag:
        head.append(f'<FONT POINT-SIZE="10" COLOR="{MUTED}"><I>{esc(tag)}</I></FONT>')
    rows = []
    if head:
        rows.append(f'<TR><TD ALIGN="LEFT" COLSPAN="2">{" ".join(head)}</TD></TR>')
    if show_values and value is not None:
        rows.append(f'<TR><TD ALIGN="LEFT" VALIGN="TOP"><FONT POINT-SIZE="10">value</FONT></TD>'
                    f"{_mono_cell(array_lines(value, precision, max_elements))}</TR>")
    if show_grads and (grad is not None or pending):
        lines = array_lines(grad, precision, max_elements) if grad is not None else ["·"]
        if grad_note:
            lines.append(grad_note)
        # ghost: the gradient has not arrived yet; its text is drawn in the fill colour so
        # the node already has its final size and the stepper's layout does not move.
        colour = f' COLOR="{ghost}"' if ghost else ""
        rows.append(f'<TR><TD ALIGN="LEFT" VALIGN="TOP"><FONT POINT-SIZE="10"{colour}>grad'
                    f"</FONT></TD>{_mono_cell(lines, colour)}</TR>")
    for m in messages:
        rows.append(f'<TR><TD ALIGN="LEFT" COLSPAN="2"><FONT COLOR="{HIGHLIGHT}">'
                    f"<B>{esc(m)}</B></FONT></TD></TR>")
    if not rows:
        rows.append("<TR><TD> </TD></TR>")
    return ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
            + "".join(rows) + "</TABLE>>")


def derivative_lines(fn_class: type, width: int = 32, max_lines: int = 7) -> list[str]:
    """The function and derivative stated in the first paragraph of an operation's
    docstring, split at ``;`` and wrapped to ``width`` (nothing without a docstring).

    >>> class Tanh:
    ...     '''y = tanh x;  dy/dx = 1 - y².'''
    >>> derivative_lines(Tanh)
    ['y = tanh x', 'dy/dx = 1 - y²']
    """
    doc = fn_class.__dict__.get("__doc__")
    if not doc:
        return []
    # the first paragraph: a statement may wrap onto the docstring's next lines
    para = []
    for line in doc.strip().splitlines():
        if not line.strip():
            break
        para.append(line.strip())
    first = " ".join(para).replace("``", "")
    parts = _split_top_level(first, ";")
    if parts and parts[-1].endswith("."):
        parts[-1] = parts[-1][:-1]
    lines = []
    for part in parts:
        # one derivative per line: break at the commas that start a new ∂L/∂x or dy/dx
        pieces: list[str] = []
        for piece in _split_top_level(part) if len(part) > width else [part]:
            if pieces and not _DERIV.match(piece):
                pieces[-1] += " " + piece
            else:
                pieces.append(piece)
        for piece in pieces:
            lines.extend(_wrap(piece, width))
    if len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [lines[max_lines - 1].rstrip(",") + " …"]
    return lines


_DERIV = re.compile(r"(∂|d\w*/d)")


def _split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split after ``sep`` outside parentheses (the "," is kept, a ";" is dropped)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == sep and depth == 0 and text[i + 1:i + 2] in (" ", ""):
            out.append(text[start:i + (ch == ",")].strip())
            start = i + 1
    out.append(text[start:].strip())
    return [p for p in out if p]


def wrap_items(text: str, width: int = 36) -> list[str]:
    """Wrap a comma-separated settings text (``extra_repr``) without breaking inside
    parentheses: ``stride=(1, 1)`` stays on one line.

    >>> wrap_items("1, 8, kernel_size=(3, 3), stride=(1, 1)", 26)
    ['1, 8, kernel_size=(3, 3),', 'stride=(1, 1)']
    """
    return _pack(_split_top_level(text), width)


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap (one long word stays whole)."""
    return _pack(text.split(), width)


def _pack(pieces, width: int) -> list[str]:
    """Join pieces with spaces into lines of at most ``width`` (a longer piece stays whole)."""
    lines, cur = [], ""
    for piece in pieces:
        if cur and len(cur) + 1 + len(piece) > width:
            lines.append(cur)
            cur = piece
        else:
            cur = f"{cur} {piece}" if cur else piece
    if cur:
        lines.append(cur)
    return lines


def op_label(title: str, derivative: Sequence[str] = (), times: int = 1,
             scalars: Sequence[str] = (), messages: Sequence[str] = ()) -> str:
    """HTML label of an operation node: its name, the Python numbers it received
    (``b = 2``), optionally its derivative rule, and red message lines."""
    text = f"<B>{esc(title)}</B>" + (f" <B>×{times}</B>" if times > 1 else "")
    for line in scalars:
        text += f'<BR/><FONT POINT-SIZE="10">{esc(line)}</FONT>'
    for line in derivative:
        text += f'<BR/><FONT POINT-SIZE="9">{esc(line)}</FONT>'
    for line in messages:
        text += f'<BR/><FONT COLOR="{HIGHLIGHT}"><B>{esc(line)}</B></FONT>'
    return "<" + text + ">"


def slot_name(node, slot: int) -> str:
    """The name the docstring gives input ``slot``: ``x`` for one input, ``a``/``b`` for
    two (``y = a - b``), else ``input i``."""
    n = len(node.next)
    if n == 1:
        return "x"
    if n == 2:
        return "ab"[slot]
    return f"input {slot}"


def block_label(title: str, lines: Sequence[str] = (), times: int = 1, n_red: int = 0) -> str:
    """HTML label of a module drawn as one node: ``fc1: Linear`` and small detail lines
    (the last ``n_red`` of them in red: messages)."""
    text = f"<B>{esc(title)}</B>" + (f" <B>×{times}</B>" if times > 1 else "")
    for i, line in enumerate(lines):
        if i >= len(lines) - n_red:
            text += f'<BR/><FONT COLOR="{HIGHLIGHT}"><B>{esc(line)}</B></FONT>'
        else:
            text += f'<BR/><FONT POINT-SIZE="10">{esc(line)}</FONT>'
    return "<" + text + ">"


def legend_label(with_grads: bool, with_ops: bool = True, with_blocks: bool = False,
                 with_composites: bool = False, with_constants: bool = False) -> str:
    """The colour key, as one HTML table."""
    def row(colour: str, text: str, border: str = "#888888") -> str:
        return (f'<TR><TD BGCOLOR="{colour}" COLOR="{border}" BORDER="1" WIDTH="26"> </TD>'
                f'<TD ALIGN="LEFT"><FONT POINT-SIZE="10">{esc(text)}</FONT></TD></TR>')

    rows = ['<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Legend</B></TD></TR>']
    rows.append(row(TENSOR_FILL, "tensor (square corners, thick: leaf / parameter)"))
    if with_ops:
        rows.append(row(OP_FILL, "operation (oval)", OP_BORDER))
    if with_constants:
        rows.append(row(CONST_FILL, "input needing no gradient (dashed: data, target)",
                        CONST_BORDER))
    if with_blocks:
        rows.append(row(BLOCK_FILL, "module call drawn as one node", BLOCK_BORDER))
    if with_composites:
        rows.append(row(COMPOSITE_FILL, "function of several operations, as one node",
                        BLOCK_BORDER))
    if with_grads:
        rows.append('<TR><TD COLSPAN="2" ALIGN="LEFT"><FONT POINT-SIZE="10">'
                    "fill = mean |grad|, relative to the largest:</FONT></TD></TR>")
        for rel, text in ((1.0, "1 (largest)"), (1e-2, "1e-2"), (1e-4, "1e-4"),
                          (1e-6, "≤ 1e-6 (vanishing)")):
            rows.append(row(shade(rel), text))
        rows.append(row(ZERO_FILL, "exactly 0 (dead ReLU, unused)"))
        rows.append(row(BAD_FILL, "NaN or Inf"))
    return ('<<TABLE BORDER="1" COLOR="#bbbbbb" CELLBORDER="0" CELLSPACING="2" '
            'CELLPADDING="2">' + "".join(rows) + "</TABLE>>")
