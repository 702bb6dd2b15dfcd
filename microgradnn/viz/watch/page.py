"""The training view as one self-contained HTML page: the recorded numbers as JSON (arrays
packed by ``encode``) and a player written in plain JavaScript (``player.py``), drawing
with inline SVG and canvas. Nothing is fetched from the network.
"""
from __future__ import annotations

import html
import math

import numpy as np

from . import encode
from .player import CSS, JS

PRECISION = ("Stored precision: weights, biases, losses and gradient norms as float32; each "
             "activation map and decision surface as 8 bits over its own range (within "
             "(max − min)/510); filters as 8 bits over ±max|w| of each filter; weight "
             "histograms of 20 bins over ±max|w| of the layer.")


def _num(x):
    """A float for JSON, or None when it is not finite (the page shows 'n/a')."""
    return float(x) if x is not None and math.isfinite(x) else None


def _frame(view, f) -> dict:
    out = {"step": int(f.step), "loss": _num(f.loss), "acc": _num(f.accuracy),
           "gn": encode.pack(f.grad_norms, "f4"),
           "hist": encode.pack(f.histograms, "u4"),
           "hr": [float(r) for r in f.hist_range], "mabs": [float(m) for m in f.mean_abs]}
    if f.final:
        out["final"] = True
    if view.structure.chain:
        # only edges and rings that are drawn: a wide layer is a summary box
        small = [w <= view.max_units for w in view.structure.widths]
        out["w"] = [encode.pack(w, "f4") if small[l] and small[l + 1] else None
                    for l, (w, _) in enumerate(f.weights)]
        out["b"] = [None if b is None or not small[l + 1] else encode.pack(b, "f4")
                    for l, (_, b) in enumerate(f.weights)]
        out["maps"] = [None if m is None else encode.pack(m[0], "u1") for m in f.maps]
        out["mr"] = [[[], []] if m is None else [m[1].tolist(), m[2].tolist()]
                     for m in f.maps]
    if f.surface is not None:
        if f.surface[0] == "classes":
            out["surfc"] = encode.pack(f.surface[1], "u1")
            out["surfp"] = encode.pack(f.surface[2], "u1")
        else:
            _, codes, lo, hi = f.surface
            out["surf"] = encode.pack(codes, "u1")
            out["sr"] = [float(lo[0]), float(hi[0])]
    if f.filters is not None:
        out["filt"] = encode.pack(f.filters[0], "u1")
        out["fr"] = [float(s) for s in f.filters[1]]
    return out


def payload(view, frames, live: bool = False) -> dict:
    """Everything the player needs, as JSON-ready values."""
    s = view.structure
    layers = [{"name": l.name, "kind": l.kind,
               "shapes": [list(p.shape) for p in l.params.values()],
               "params": int(sum(p.data.size for p in l.params.values()))}
              for l in view.layers]
    chain = None
    if s.chain:
        index = {id(l): k for k, l in enumerate(view.layers)}
        chain = {"widths": [int(w) for w in s.widths], "acts": s.activations,
                 "names": [l.name for l in s.chain],
                 "layer": [index[id(l)] for l in s.chain], "max_units": view.max_units}
    grid = points = None
    if view.plane:
        grid = {"n": view.grid_n, "extent": [float(e) for e in view.extent]}
        t = view.targets
        points = {"x": encode.pack(view.points[:, :2], "f4"),
                  "t": None if t is None else encode.pack(t.reshape(len(t), -1)[:, 0], "f4")}
    steps, losses, norms = list(view._steps), list(view._losses), list(view._norms)
    if view._last is not None and steps[-1] != view._last[0]:
        # the thinned history may have skipped the last step; the curve ends there
        steps.append(view._last[0])
        losses.append(view._last[1])
        norms.append(view._last[2])
    n = len(steps)
    history = {"step": encode.pack(np.asarray(steps), "i4"),
               "loss": encode.pack(np.asarray(losses), "f4"),
               "gnorm": encode.pack(np.asarray(norms).reshape(n, len(view.layers)), "f4")}
    return {"title": view.title, "live": live, "notes": view.notes, "precision": PRECISION,
            "layers": layers, "chain": chain, "grid": grid, "points": points,
            "output": view.output,
            "filters": None if view.image_shape is None else {"shape": list(view.image_shape)},
            "history": history, "recorded": n, "every": view.every,
            "frames": [_frame(view, f) for f in frames]}


def render(view, frames, live: bool = False) -> str:
    """The page: styles, the data and the player."""
    title = html.escape(view.title)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{title}</title><style>{CSS}</style></head><body>"
            f"<script type=\"application/json\" id=\"mg-watch-data\">"
            f"{encode.embed(payload(view, frames, live))}</script>"
            f"<script>{JS}</script></body></html>\n")


def iframe(page: str, height: int = 780) -> str:
    """The page inside an iframe, for a notebook cell (its styles and ids stay apart)."""
    return (f'<iframe srcdoc="{html.escape(page, quote=True)}" style="width:100%;'
            f'height:{height}px;border:0" title="microgradnn training view"></iframe>')
