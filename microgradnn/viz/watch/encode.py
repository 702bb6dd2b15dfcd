"""How a training view stores numbers in its page, and how to read them back.

Arrays travel as base64 of their little-endian bytes: float32 for weights, losses and
gradient norms (exact copies of float32 models), uint8 for the pictures (activation maps,
decision surfaces, filters), each quantised map with its own range, so a value is known to
within (hi - lo) / 510. ``read_view`` decodes a saved page into NumPy arrays (the tests
compare them with the model).
"""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np

DTYPES = {"f4": "<f4", "i4": "<i4", "u4": "<u4", "u1": "u1"}


def pack(a, code: str) -> str:
    """``a`` as base64 of its bytes in the little-endian dtype ``code`` (f4, i4, u4, u1)."""
    return base64.b64encode(np.ascontiguousarray(a, dtype=DTYPES[code]).tobytes()).decode("ascii")


def unpack(text: str, code: str) -> np.ndarray:
    """The flat array ``pack`` wrote."""
    return np.frombuffer(base64.b64decode(text), dtype=DTYPES[code])


def quantise(a: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each slice along ``axis`` as uint8 over its own [lo, hi]: (codes, lo, hi), with
    value ≈ lo + code · (hi - lo) / 255, to within (hi - lo) / 510. Non-finite values are
    refused: a NaN map would be drawn as a plausible colour."""
    a = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise FloatingPointError("watch: activations are not finite (NaN or inf); the "
                                 "training has diverged")
    flat = np.moveaxis(a, axis, 0).reshape(a.shape[axis], -1)
    lo, hi = flat.min(axis=1), flat.max(axis=1)
    span = np.where(hi > lo, hi - lo, 1.0)
    codes = np.rint((flat - lo[:, None]) / span[:, None] * 255).astype(np.uint8)
    return codes, lo.astype(np.float32), hi.astype(np.float32)


def dequantise(codes: np.ndarray, lo, hi) -> np.ndarray:
    """Inverse of ``quantise`` (rows of ``codes``), to within half a step."""
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    return lo[:, None] + codes.reshape(len(lo), -1) * ((hi - lo) / 255)[:, None]


def embed(payload: dict) -> str:
    """JSON safe inside a <script> element (no "</" can close it)."""
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def payload_of(page: str) -> dict:
    """The JSON a saved page carries."""
    m = re.search(r'<script type="application/json" id="mg-watch-data">(.*?)</script>', page,
                  re.S)
    if m is None:
        raise ValueError("read_view: this is not a page written by microgradnn.viz.watch")
    return json.loads(m.group(1).replace("<\\/", "</"))


def read_view(path) -> dict:
    """Decode a page saved by ``Watch.save``: the payload with every array unpacked.

    Frames become dicts with ``step, loss, accuracy, grad_norms`` (one per layer),
    ``weights``/``biases`` (chain layers; None where a layer is too wide to draw),
    ``maps`` (per chain layer: units × grid × grid, dequantised, or None), ``surface``
    (grid × grid, or ``surface_class`` for several classes) and ``filters``.
    """
    data = payload_of(Path(path).read_text(encoding="utf-8"))
    n_layers = len(data["layers"])
    g = data["grid"]["n"] if data["grid"] else 0
    hist = data["history"]
    steps = unpack(hist["step"], "i4")
    out = {"meta": data, "history": {
        "step": steps, "loss": unpack(hist["loss"], "f4"),
        "grad_norms": unpack(hist["gnorm"], "f4").reshape(len(steps), n_layers)}}
    frames = []
    for f in data["frames"]:
        fr = {"step": f["step"], "loss": f["loss"], "accuracy": f["acc"],
              "final": f.get("final", False),
              "grad_norms": unpack(f["gn"], "f4"),
              "mean_abs": np.asarray(f["mabs"], np.float32),
              "histograms": unpack(f["hist"], "u4").reshape(n_layers, -1)}
        if data["chain"]:
            widths = data["chain"]["widths"]
            fr["weights"] = [None if w is None else
                             unpack(w, "f4").reshape(widths[i + 1], widths[i])
                             for i, w in enumerate(f["w"])]
            fr["biases"] = [None if b is None else unpack(b, "f4") for b in f["b"]]
            fr["maps"] = [None if m is None else
                          dequantise(unpack(m, "u1"), lo, hi).reshape(-1, g, g)
                          for m, (lo, hi) in zip(f["maps"], f["mr"])]
        if f.get("surf") is not None:
            fr["surface"] = dequantise(unpack(f["surf"], "u1"), [f["sr"][0]],
                                       [f["sr"][1]]).reshape(g, g)
        if f.get("surfc") is not None:
            fr["surface_class"] = unpack(f["surfc"], "u1").reshape(g, g)
        if f.get("filt") is not None:
            scale = np.asarray(f["fr"], np.float64)
            shape = data["filters"]["shape"]
            codes = unpack(f["filt"], "u1").reshape(len(scale), -1)
            fr["filters"] = ((codes / 127.5 - 1) * scale[:, None]).reshape(len(scale), *shape)
        frames.append(fr)
    out["frames"] = frames
    return out
