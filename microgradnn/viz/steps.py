"""Backpropagation step by step: one picture per node the engine processes, and a
self-contained HTML player for them.

``backward_steps`` runs the engine itself (``run_backward`` with ``on_step``) on the
user's graph with ``retain_graph=True`` and ``inputs=`` every leaf, so no ``.grad`` of
any tensor changes; the gradients the engine writes on the graph's nodes are put back
afterwards. Tensor hooks registered by the user do run, as in any backward pass.
"""
from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from ..autograd import engine
from ..autograd.function import Function
from ..tensor import Tensor
from . import walk
from .graph import Options, emit, layout


def backward_steps(root, params=None, *, gradient=None, show_values: bool = True,
                   show_shapes: bool = True, show_derivative: bool = False,
                   rankdir: str = "LR", max_elements: int = 16, precision: int = 3,
                   collapse: str | int | None = None, fold: bool = False,
                   legend: bool = True, title: str | None = None) -> list:
    """One picture per backward step, in the order the engine runs them.

    Frame ``i`` shows the state after step ``i``: the operation just processed has a red
    border, the gradients it sent to its inputs travel back along red arrows, and every
    tensor whose gradient is complete (all its consumers have sent their part) shows it,
    shaded; the others are still blank.

    Args:
        root: a scalar Tensor (the loss), or any Tensor with ``gradient`` of its shape.
        params: names for parameters and modules, as in :func:`draw_graph`.
        gradient: the seed gradient for a non-scalar ``root``.

    The other arguments are those of :func:`draw_graph`.

    Returns:
        A list of ``graphviz.Digraph`` frames; :func:`save_steps` writes them as HTML.

    Raises:
        RuntimeError: the graph was released by ``backward()`` (call it with
            ``retain_graph=True``, or draw the steps before calling it).

    >>> import microgradnn as mg
    >>> x = mg.tensor(2.0, requires_grad=True)
    >>> with mg.viz.keep():
    ...     y = (x * 3).tanh()
    >>> len(backward_steps(y))     # Tanh, then Mul
    2
    >>> x.grad is None             # drawing does not touch gradients
    True
    """
    opts = Options("backward_steps", show_values=show_values, show_grads=True,
                   show_shapes=show_shapes, show_derivative=show_derivative, rankdir=rankdir,
                   max_elements=max_elements, precision=precision, collapse=collapse,
                   fold=fold, legend=legend, title=title)
    roots = walk.as_roots(root, "backward_steps")
    seeds = _seeds(roots, gradient)
    d = layout(roots, params, opts, "backward_steps")
    g = d.g
    items = g.items
    for item in items:
        if isinstance(item, Function) and item.saved is None:
            raise RuntimeError(
                "backward_steps: the graph's saved values were released by backward(); "
                "call backward(retain_graph=True), or draw the steps before calling "
                "backward()")

    # run the engine once, recording each step; .grad of leaves is untouched (inputs=)
    # and the node gradients it stores are restored afterwards
    steps: list[tuple[int, np.ndarray]] = []
    index = g.index

    def on_step(node, grad):
        steps.append((index[id(node)], np.array(grad, copy=True)))

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

    final: dict[int, np.ndarray] = {k: gr for k, gr in steps}
    for k, gr in zip(leaf_ids, leaf_grads or ()):
        if gr is not None:
            final[k] = gr.data if isinstance(gr, Tensor) else np.asarray(gr)
    finite = []
    for gr in final.values():
        a = np.abs(gr[np.isfinite(gr)]) if gr.dtype.kind in "fc" else np.abs(gr)
        if a.size:
            finite.append(float(a.mean(dtype=np.float64)))
    largest = max(finite) if finite else 0.0

    # a tensor's gradient is complete once every operation using it has sent its part
    # (counting only consumers that run: one that received no gradient sends none)
    stepped = {k for k, _ in steps}
    waiting = [len({c for c in cons if c in stepped}) for cons in g.consumers]
    known: dict[int, np.ndarray] = {k: final[k] for k in g.roots if k in final}
    frames = []
    n = len(steps)
    for s, (k, gr) in enumerate(steps):
        known[k] = gr
        for j in {j for _, j in g.inputs[k]}:
            waiting[j] -= 1
            if waiting[j] == 0 and j in final:
                known[j] = final[j]
        op_u = d.final(d.op_node[k])
        highlight = [op_u]
        if k in d.tensor_node:
            highlight.append(d.final(d.tensor_node[k]))
        hot = [(d.final(d.tensor_node[j]), op_u) for _, j in g.inputs[k]
               if j in d.tensor_node]
        name = type(items[k]).__name__
        ins = len(g.inputs[k])
        to = "its input" if ins == 1 else f"each of its {ins} inputs"
        subtitle = (f"Backward step {s + 1} of {n}: {name} takes the gradient of its output "
                    f"and sends one back to {to} (red arrows)")
        frames.append(emit(d, opts, known.get, highlight=highlight, hot_edges=hot,
                           pending=True, ghost=final.get, largest=largest,
                           subtitle=subtitle))
    return frames


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

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ font-family: Helvetica, Arial, sans-serif; margin: 1em; color: #222; }}
  h1 {{ font-size: 1.2em; margin: 0 0 0.5em 0; }}
  .controls {{ position: sticky; top: 0; background: #fff; padding: 0.4em 0;
              display: flex; gap: 0.5em; align-items: center; z-index: 1; }}
  button {{ font-size: 1em; padding: 0.25em 0.8em; cursor: pointer; }}
  input[type=range] {{ flex: 1; max-width: 30em; }}
  .frame {{ display: none; }}
  .frame.current {{ display: block; }}
  .frame svg {{ max-width: 100%; height: auto; }}
  .hint {{ color: #666; font-size: 0.85em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<div class="controls">
  <button id="first" title="first step (Home)">|&#x25C0;</button>
  <button id="prev" title="previous step (&#x2190;)">&#x25C0; prev</button>
  <button id="play" title="play / pause (space)">&#x25B6; play</button>
  <button id="next" title="next step (&#x2192;)">next &#x25B6;</button>
  <button id="last" title="last step (End)">&#x25B6;|</button>
  <input id="slider" type="range" min="1" max="{count}" value="1">
  <span id="counter">1 / {count}</span>
  <span class="hint">keys: &#x2190; &#x2192; space</span>
</div>
{frames}
<script>
(function () {{
  var frames = document.querySelectorAll(".frame");
  var slider = document.getElementById("slider");
  var counter = document.getElementById("counter");
  var playButton = document.getElementById("play");
  var current = 0, timer = null, interval = {interval_ms};
  function show(i) {{
    i = Math.max(0, Math.min(frames.length - 1, i));
    frames[current].classList.remove("current");
    current = i;
    frames[current].classList.add("current");
    slider.value = current + 1;
    counter.textContent = (current + 1) + " / " + frames.length;
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
  document.getElementById("first").onclick = function () {{ stop(); show(0); }};
  document.getElementById("prev").onclick = function () {{ stop(); show(current - 1); }};
  document.getElementById("next").onclick = function () {{ stop(); show(current + 1); }};
  document.getElementById("last").onclick = function () {{ stop(); show(frames.length - 1); }};
  playButton.onclick = play;
  slider.oninput = function () {{ stop(); show(parseInt(slider.value, 10) - 1); }};
  document.addEventListener("keydown", function (e) {{
    if (e.key === "ArrowRight") {{ stop(); show(current + 1); }}
    else if (e.key === "ArrowLeft") {{ stop(); show(current - 1); }}
    else if (e.key === "Home") {{ stop(); show(0); }}
    else if (e.key === "End") {{ stop(); show(frames.length - 1); }}
    else if (e.key === " ") {{ e.preventDefault(); play(); }}
  }});
  // file.html#5 opens at step 5, so a teacher can link to one step.
  var start = parseInt(window.location.hash.slice(1), 10);
  show(isNaN(start) ? 0 : start - 1);
}})();
</script>
</body>
</html>
"""


def save_steps(frames: Sequence, path, *, title: str = "Backpropagation, step by step",
               interval: float = 1.5) -> Path:
    """Write frames (from :func:`backward_steps`) as one self-contained HTML file: inline
    SVG pictures with first / previous / play / next / last buttons, a slider and arrow
    keys; no network access needed; ``file.html#5`` opens at step 5. Rendering needs
    Graphviz's ``dot``.

    Args:
        frames: ``graphviz.Digraph`` objects (or SVG text), one per step.
        path: where to write, e.g. ``"backprop.html"``.
        title: the page heading. ``interval``: seconds per frame when playing.

    Returns:
        The path written.
    """
    if not frames:
        raise ValueError("save_steps: no frames to save (backward_steps returned none?)")
    if not interval > 0:
        raise ValueError(f"save_steps: interval must be > 0 seconds, got {interval!r}")
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
    page = _PAGE.format(title=html.escape(title), count=len(frames),
                        interval_ms=int(round(interval * 1000)), frames="\n".join(parts))
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path
