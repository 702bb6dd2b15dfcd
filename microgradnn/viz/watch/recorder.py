"""``watch(model, inputs=X, targets=y)``: a recorder for the user's own training loop.

Each ``record(loss)`` copies what the picture needs at that moment: the loss as a number,
each layer's gradient norm and, on frame steps, the weights, a weight histogram per layer
and the model's activations on a grid over the input plane (run under ``no_grad`` in eval
mode, training flags restored). It keeps no reference to the loss or to any graph, so
training memory is what it would be without it.

Frames are bounded: at most ``max_frames``; when one more arrives, every second frame is
dropped and frames are then taken half as often, so frames stay evenly spread over the
whole run, however long. The loss history is thinned the same way (``max_history``).
"""
from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...tensor import Tensor
from . import encode, page
from .structure import discover, run_with_hooks

BINS = 20


@dataclass
class Frame:
    """One moment of training. ``state`` holds copies of the parameters and buffers; the
    pictures (histograms, maps, surface, accuracy, filters) are made from it when the page
    is written, by running the model on those copies (see ``Watch._realise``)."""

    step: int
    loss: float
    grad_norms: np.ndarray
    final: bool = False
    state: list | None = None
    realised: bool = False
    histograms: np.ndarray | None = None       # layers × BINS counts over ±hist_range
    hist_range: np.ndarray | None = None
    mean_abs: np.ndarray | None = None
    accuracy: float | None = None
    weights: list = field(default_factory=list)    # chain layers: (weight, bias or None)
    maps: list = field(default_factory=list)       # chain layers: (codes, lo, hi) or None
    surface: tuple | None = None      # ("values", codes, lo, hi) or ("classes", class, p·255)
    filters: tuple | None = None                   # (codes, scale)


def _ipython_display():
    """(display, HTML) when running in a Jupyter kernel, else None."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or not hasattr(shell, "kernel"):
        return None
    from IPython.display import HTML, display
    return display, HTML


def _array(x, what: str) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.data
    try:
        return np.asarray(x)
    except Exception as exc:  # pragma: no cover - numpy's message says what
        raise TypeError(f"watch: {what} must be a Tensor or an array, got "
                        f"{type(x).__name__}") from exc


class Watch:
    """The recorder ``watch`` returns; see :func:`watch`."""

    def __init__(self, model, inputs, targets=None, *, every: int = 1, max_frames: int = 100,
                 max_history: int = 5000, grid: int = 32, extent=None, image_shape=None,
                 threshold: float | None = None, max_units: int = 16, max_points: int = 500,
                 title: str | None = None, live: bool | None = None, live_every: int = 10,
                 replay_limit: int = 50_000):
        from ... import nn
        if not isinstance(model, nn.Module):
            raise TypeError(f"watch: model must be an nn.Module, got {type(model).__name__}")
        for name, v, least in (("every", every, 1), ("max_frames", max_frames, 2),
                               ("max_history", max_history, 2), ("grid", grid, 2),
                               ("max_units", max_units, 1), ("max_points", max_points, 1),
                               ("live_every", live_every, 1)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < least:
                raise ValueError(f"watch: {name} must be an int ≥ {least}, got {v!r}")
        params = list(model.parameters())
        if not params:
            raise ValueError("watch: the model has no parameters, there is nothing to watch")
        self.model, self.every, self.max_frames, self.max_history = model, every, max_frames, \
            max_history
        self.max_units, self.title = max_units, title or f"Training {type(model).__name__}"
        dtype = params[0].data.dtype if params[0].data.dtype.kind == "f" else np.float32
        x = _array(inputs, "inputs")
        if x.ndim < 1 or len(x) == 0:
            raise ValueError(f"watch: inputs must be a batch of at least one example, got "
                             f"shape {x.shape}")
        x = x.astype(dtype, copy=False) if x.dtype.kind == "f" else x
        self.notes: list[str] = []
        rows = min(len(x), max_points)
        if rows < len(x):
            self.notes.append(f"accuracy and the points drawn use the first {rows} of the "
                              f"{len(x)} inputs")
        self.points = np.array(x[:rows])
        self.plane = x.ndim == 2 and x.shape[1] == 2
        in_features = x.shape[1] if x.ndim == 2 else None
        self.structure = discover(model, Tensor(x[:min(len(x), 8)]), in_features, max_units)
        self.layers = self.structure.layers
        self.notes.extend(self.structure.notes)

        self.targets = None if targets is None else np.array(_array(targets, "targets")[:rows])
        if targets is not None and len(_array(targets, "targets")) != len(x):
            raise ValueError(f"watch: {len(_array(targets, 'targets'))} targets for "
                             f"{len(x)} inputs; they must match one to one")
        self.grid_n = grid if self.plane else 0
        self.extent = self._extent(extent) if self.plane else None
        if not self.plane:
            self.notes.append(f"inputs of shape {tuple(x.shape[1:])} per example are not "
                              "points of a plane: no activation maps or decision surface")
        self.batch = self._batch(dtype)
        self.output = self._output_kind(threshold)
        self.image_shape = self._image_shape(x, image_shape)

        self._tensors = self._state_tensors()
        self._weights = [layer.weights for layer in self.layers]
        # small models: frames keep copies and pictures are made when the page is written,
        # so the training loop pays only for the copies
        self._replay = sum(t.data.size for t in self._tensors) <= replay_limit
        if self._replay:
            self.notes.append("each frame's pictures were made from copies of the parameters "
                              "and buffers at that step, run through the model in eval mode "
                              "(a model reading other attributes that change in training "
                              "needs watch(..., replay_limit=0))")
        self._frames: list[Frame] = []
        self._frame_stride, self._hist_stride = 1, 1
        self._steps, self._losses, self._norms = [], [], []
        self._calls, self._warned, self._last = 0, False, None
        self._live = self._start_live(live, live_every)

    # ----------------------------------------------------------------- set-up helpers
    def _extent(self, extent):
        if extent is not None:
            x0, x1, y0, y1 = map(float, extent)
            if not (x0 < x1 and y0 < y1):
                raise ValueError(f"watch: extent must be (x0, x1, y0, y1) with x0 < x1 and "
                                 f"y0 < y1, got {extent!r}")
            return x0, x1, y0, y1
        lo, hi = self.points.min(axis=0).astype(float), self.points.max(axis=0).astype(float)
        pad = np.maximum((hi - lo) * 0.15, 0.5 * (hi == lo))
        return lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1]

    def _batch(self, dtype) -> Tensor:
        """The inputs of every snapshot: the grid (row by row from the top, y falling) and
        then the points, in one forward pass."""
        if not self.plane:
            return Tensor(self.points)
        x0, x1, y0, y1 = self.extent
        n = self.grid_n
        xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
        ys = y1 - (np.arange(n) + 0.5) * (y1 - y0) / n
        gx, gy = np.meshgrid(xs, ys)
        self.grid_points = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(dtype)
        return Tensor(np.concatenate([self.grid_points, self.points.astype(dtype)]))

    def _output_kind(self, threshold) -> dict:
        """How outputs become classes for the accuracy and the surface, said in the page."""
        out, _ = run_with_hooks(self.model, Tensor(self.batch.data[-2:]), [])
        if not isinstance(out, Tensor):
            self.notes.append(f"the model returns a {type(out).__name__}, not a Tensor: no "
                              "accuracy or decision surface")
            return {"kind": "none"}
        width = int(np.prod(out.shape[1:])) if out.ndim > 1 else 1
        kind = {"kind": "values", "width": width, "prob": self.structure.output_is_probability}
        t = self.targets
        if t is None:
            return kind
        classes = t.dtype.kind in "iub" and t.ndim == 1
        binary = width == 1 and t.size == len(t) and np.isin(t, (0, 1)).all()
        if classes and width >= 2:
            kind.update(kind="classes", classes=width)
            self.notes.append("accuracy: the largest of the model's outputs is the class")
        elif binary or (classes and width == 1):
            thr = threshold if threshold is not None else (0.5 if kind["prob"] else 0.0)
            kind.update(kind="binary", threshold=float(thr))
            why = ("" if threshold is not None else " (the model ends in Sigmoid)"
                   if kind["prob"] else " (the output read as a logit)")
            self.notes.append(f"accuracy: output > {thr:g} counts as class 1{why}")
        else:
            self.notes.append("the targets are not classes: no accuracy")
        return kind

    def _image_shape(self, x, image_shape):
        first = self.layers[0].module if self.layers else None
        from ... import nn
        if image_shape is not None:
            shape = tuple(int(s) for s in image_shape)
            if not isinstance(first, nn.Linear) or first.in_features != int(np.prod(shape)):
                raise ValueError(f"watch: image_shape {shape} needs a first Linear layer with "
                                 f"{int(np.prod(shape))} inputs, the first layer is "
                                 f"{type(first).__name__}")
            return shape
        if x.ndim == 4 and isinstance(first, nn.Conv2d):
            if first.in_channels > 1:
                self.notes.append(f"filters: mean over the {first.in_channels} input channels")
            return tuple(first.kernel_size)
        return None

    def _start_live(self, live, live_every):
        self.live_every = live_every
        ipy = _ipython_display()
        if live and ipy is None:
            raise RuntimeError("watch(live=True): live updates need a Jupyter kernel "
                               "(IPython) and none is running")
        if live is False or ipy is None:
            return None
        return {"display": ipy[0], "HTML": ipy[1], "handle": None, "last": None}

    # ----------------------------------------------------------------- recording
    def record(self, loss) -> None:
        """Note this training step: call it after ``loss.backward()`` (and the update).

        ``loss`` is the step's loss (a one-element Tensor or a number); only its value is
        kept. Steps are numbered by the calls to ``record`` (0, 1, ...); every
        ``every``-th call is recorded; frames are taken on an even spread.
        """
        # kept lean: this runs in the user's loop, every step
        i = self._calls
        self._calls = i + 1
        if i % self.every:
            return
        value = self._loss_value(loss)
        norms = self._grad_norms()
        r = i // self.every
        if r % self._hist_stride == 0:
            self._steps.append(i)
            self._losses.append(value)
            self._norms.append(norms)
            if len(self._steps) > self.max_history:
                # keep every second point: the curve stays evenly sampled over the whole run
                self._steps, self._losses, self._norms = (self._steps[::2], self._losses[::2],
                                                          self._norms[::2])
                self._hist_stride *= 2
        self._last = (i, value, norms)
        if r % self._frame_stride == 0:
            # small models: a tuple of copies now, the Frame and its pictures when needed
            self._frames.append((i, value, norms, [t.data.copy() for t in self._tensors])
                                if self._replay else self._snapshot(i, value, norms))
            if len(self._frames) > self.max_frames:
                self._frames = self._frames[::2]
                self._frame_stride *= 2
            if self._live is not None:
                self._update_live(i)

    def _loss_value(self, loss) -> float:
        if type(loss) is Tensor and loss.data.size == 1:     # the usual case, fast
            return float(loss.data.reshape(()))
        if isinstance(loss, Tensor):
            if loss.data.size != 1:
                raise ValueError(f"watch.record: the loss must have one element, got shape "
                                 f"{loss.shape} (reduce it, e.g. loss.mean())")
            return float(loss.data.reshape(()))
        if isinstance(loss, (int, float, np.number)) and not isinstance(loss, bool):
            return float(loss)
        raise TypeError(f"watch.record: loss must be a Tensor or a number, got "
                        f"{type(loss).__name__}")

    def _grad_norms(self) -> tuple:
        """‖∂loss/∂W‖ of each layer (NaN where no weight has a gradient)."""
        norms = []
        for weights in self._weights:
            total, seen = 0.0, False
            for p in weights:
                g = p.grad
                if g is not None:
                    g = g.data.ravel()
                    total += float(g @ g)
                    seen = True
            norms.append(math.sqrt(total) if seen else math.nan)
        if not self._warned and all(math.isnan(n) for n in norms):
            self._warned = True
            warnings.warn("watch.record: no parameter has a gradient; call record(loss) "
                          "after loss.backward() and before the next zero_grad()",
                          stacklevel=3)
        return tuple(norms)

    def _snapshot(self, step: int, loss: float, norms: tuple, final=False) -> Frame:
        """A frame of the model as it is now. Small models: copies of their parameters
        and buffers (the pictures are made later, outside the training loop); larger ones:
        the pictures now (their copies would take too much memory)."""
        frame = Frame(step, loss, np.array(norms, dtype=np.float32), final=final)
        if self._replay:
            frame.state = [t.data.copy() for t in self._tensors]
        else:
            self._pictures(frame)
        return frame

    def _realise(self, frame) -> Frame:
        """Make a frame's pictures from its copies, with the model's parameters and buffers
        swapped for them and put back afterwards (the arrays themselves are not written).
        ``frame``: a Frame, or the (step, loss, norms, copies) tuple ``record`` keeps."""
        if isinstance(frame, tuple):
            step, loss, norms, state = frame
            frame = Frame(step, loss, np.array(norms, dtype=np.float32), state=state)
        if frame.realised or frame.state is None:
            return frame
        current = self._state_tensors()
        if [id(t) for t in current] != [id(t) for t in self._tensors]:
            raise RuntimeError("watch: the model's parameters or buffers were replaced after "
                               "watch() was called; the recorded frames no longer match it "
                               "(call watch() again after changing the model)")
        saved = [t.data for t in self._tensors]
        try:
            for t, a in zip(self._tensors, frame.state):
                t.data = a
            self._pictures(frame)
        finally:
            for t, a in zip(self._tensors, saved):
                t.data = a
        return frame

    def _state_tensors(self) -> list:
        return [t for _, t in self.model.named_parameters()] + \
            [t for _, t in self.model.named_buffers() if t is not None]

    def _pictures(self, frame: Frame) -> None:
        """Histograms, chain weights, maps, surface, accuracy and filters of the model's
        current parameters."""
        hists, ranges, means = [], [], []
        for layer in self.layers:
            w = np.concatenate([p.data.ravel() for p in layer.weights]).astype(np.float64)
            if not np.all(np.isfinite(w)):
                raise FloatingPointError(f"watch: the weights of {layer.name} are not finite "
                                         f"(NaN or inf) at step {frame.step}; the training "
                                         "has diverged")
            r = float(np.abs(w).max()) if w.size else 0.0
            idx = np.clip(((w / (r or 1.0) + 1) * (BINS / 2)).astype(np.int64), 0, BINS - 1)
            hists.append(np.bincount(idx, minlength=BINS))
            ranges.append(r)
            means.append(float(np.abs(w).mean()) if w.size else 0.0)
        frame.histograms = np.stack(hists)
        frame.hist_range = np.array(ranges, dtype=np.float32)
        frame.mean_abs = np.array(means, dtype=np.float32)
        for layer in self.structure.chain or ():
            b = layer.params.get("bias")
            frame.weights.append((layer.params["weight"].data.astype(np.float32),
                                  None if b is None else b.data.astype(np.float32)))
        self._activations(frame)
        if self.image_shape is not None:
            w = self.layers[0].params["weight"].data.astype(np.float64)
            w = w.reshape(len(w), -1, *self.image_shape).mean(axis=1)[:32]
            scale = np.abs(w).reshape(len(w), -1).max(axis=1)
            safe = np.where(scale > 0, scale, 1.0)
            codes = np.rint((w / safe[:, None, None] + 1) * 127.5).astype(np.uint8)
            frame.filters = (codes, scale.astype(np.float32))
        frame.realised = True

    def _activations(self, frame: Frame) -> None:
        """Run the model on the grid and the points: maps, surface and accuracy."""
        taps = self.structure.taps if self.plane else []
        modules = {id(t.module): t.module for t in taps if t.module is not None}
        out, calls = run_with_hooks(self.model, self.batch, list(modules.values()))
        seen: dict[int, list] = {}
        for m, o in calls:
            seen.setdefault(id(m), []).append(o)
        g2 = self.grid_n ** 2
        for tap, width in zip(taps, self.structure.widths[1:]):
            got = seen.get(id(tap.module), [])
            o = got[tap.index] if tap.index < len(got) else None
            if width > self.max_units or not isinstance(o, Tensor) \
                    or o.shape != (len(self.batch.data), width):
                frame.maps.append(None)
                continue
            frame.maps.append(encode.quantise(o.data[:g2].T.reshape(width, -1)))
        if not isinstance(out, Tensor) or self.output["kind"] == "none":
            return
        y = out.data.reshape(len(out.data), -1).astype(np.float64)
        if self.plane:
            surf = y[:g2]
            if surf.shape[1] == 1:
                frame.surface = ("values",) + encode.quantise(surf.T)
            else:
                p = surf if self.output["prob"] else _softmax(surf)
                frame.surface = ("classes", p.argmax(axis=1).astype(np.uint8),
                                 np.rint(p.max(axis=1) * 255).astype(np.uint8))
            y = y[g2:]
        kind = self.output["kind"]
        if kind == "classes":
            frame.accuracy = float((y.argmax(axis=1) == self.targets).mean())
        elif kind == "binary":
            pred = y[:, 0] > self.output["threshold"]
            frame.accuracy = float((pred == (self.targets.reshape(-1) > 0.5)).mean())

    # ----------------------------------------------------------------- output
    @property
    def frames(self) -> list[Frame]:
        """The frames kept so far, with their pictures made (evenly spread, oldest first)."""
        self._frames = [self._realise(f) for f in self._frames]    # made once, kept
        return list(self._frames)

    def _frames_for_page(self) -> list[Frame]:
        frames = self.frames
        if self._last is not None and frames[-1].step != self._last[0]:
            # the state now, after the last recorded step: the run's end is always shown
            frames.append(self._realise(self._snapshot(*self._last, final=True)))
        return frames

    def to_html(self) -> str:
        """The whole recording as one self-contained HTML page."""
        if self._last is None:
            raise RuntimeError("watch: nothing recorded yet; call view.record(loss) in the "
                               "training loop first")
        return page.render(self, self._frames_for_page())

    def save(self, path) -> Path:
        """Write the page to ``path`` (parent folders created); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_html(), encoding="utf-8")
        self.finish()
        return path

    def finish(self) -> None:
        """In Jupyter: replace the live picture with the full player of every frame."""
        live = self._live
        if live is not None and live["handle"] is not None:
            live["handle"].update(live["HTML"](page.iframe(self.to_html())))

    def _repr_html_(self) -> str:
        return page.iframe(self.to_html())

    def _update_live(self, step: int) -> None:
        live = self._live
        if live is None or (live["last"] is not None and step - live["last"] < self.live_every):
            return
        live["last"] = step
        self._frames[-1] = self._realise(self._frames[-1])
        html = page.iframe(page.render(self, [self._frames[-1]], live=True))
        if live["handle"] is None:
            live["handle"] = live["display"](live["HTML"](html), display_id=True)
        else:
            live["handle"].update(live["HTML"](html))

    def __repr__(self) -> str:
        last = "nothing recorded" if self._last is None else f"last step {self._last[0]}"
        return f"<watch of {type(self.model).__name__}: {len(self._frames)} frames, {last}>"


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def watch(model, inputs, targets=None, **options) -> Watch:
    """A live view of ``model`` learning: call ``record(loss)`` in your loop, then ``save``.

    Args:
        model: any ``nn.Module``; chains of ``Linear`` layers are drawn neuron by neuron,
            other layers as summaries (weight histogram, mean absolute weight, gradient
            norm).
        inputs: the training inputs (N, ...); for 2-D inputs the view also shows every
            neuron's activation over the plane and the decision surface with these points.
        targets: (N,) class indices or (N, 1) 0/1 values give an accuracy curve.
        every: record every ``every``-th call only.  max_frames, max_history: bounds.
        grid: the plane's resolution (grid × grid points).  extent: (x0, x1, y0, y1).
        image_shape: (H, W) to draw a first Linear layer's weights as images.
        threshold: the output above which a binary prediction is class 1.
        live: update a Jupyter display while training (None: when in a Jupyter kernel).

    >>> import microgradnn as mg
    >>> model = mg.nn.Sequential(mg.nn.Linear(2, 3), mg.nn.Tanh(), mg.nn.Linear(3, 1))
    >>> x, y = mg.randn(8, 2), mg.randn(8, 1)
    >>> view = mg.viz.watch(model, inputs=x, targets=y)
    >>> for step in range(3):
    ...     loss = ((model(x) - y) ** 2).mean()
    ...     model.zero_grad()
    ...     loss.backward()
    ...     view.record(loss)
    >>> len(view.frames), view.frames[-1].step
    (3, 2)
    """
    return Watch(model, inputs, targets, **options)
