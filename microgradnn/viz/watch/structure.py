"""What a training view can draw of a model, found once by running it on a few inputs.

``discover`` calls the model under ``no_grad`` in eval mode with forward hooks on every
module, and reads from the calls: which modules own parameters and in what order they run
(the layers), whether those layers are a chain of ``Linear`` layers (then neurons are drawn
one by one), and which call's output holds each layer's activations (the activation module
after a ``Linear``, or the ``Linear`` itself). Everything it cannot draw is written in
``notes``, which the page shows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ... import nn
from ...autograd import grad_mode
from ...tensor import Tensor

# Layers whose parameters the view knows how to name; others are drawn as histograms only.
KNOWN = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell,
         nn.GRUCell, nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.Embedding)


@dataclass
class Layer:
    """One module that owns parameters: its name, type and parameters (name → Parameter)."""

    name: str
    module: object
    params: dict
    calls: int = 0

    @property
    def kind(self) -> str:
        return type(self.module).__name__

    @property
    def weights(self) -> list:
        """The parameters whose gradient norm is the layer's: all but the biases (all, if
        the layer has only biases)."""
        w = [p for k, p in self.params.items() if "bias" not in k]
        return w or list(self.params.values())


@dataclass
class Tap:
    """Where a chain layer's activations come from: the ``index``-th call of ``module``
    (``module`` None: the model's own output)."""

    module: object
    index: int
    label: str


@dataclass
class Structure:
    layers: list                       # Layer, in the order they first run
    chain: list | None                 # the Linear layers, when the model is a chain of them
    widths: list                       # units per column: inputs, then each chain layer
    taps: list                         # one Tap per chain layer
    activations: list                  # the label of each chain layer's activation
    output_is_probability: bool        # the model's last call is a Sigmoid/Softmax
    notes: list = field(default_factory=list)


def _own_params(module) -> dict:
    return {k: p for k, p in module._parameters.items() if p is not None}


def _shape(out):
    return out.shape if isinstance(out, Tensor) else None


def run_with_hooks(model, x: Tensor, modules) -> tuple[object, list]:
    """Call ``model(x)`` under no_grad in eval mode, hooking ``modules``; return the output
    and the calls as (module, output) in order. Each module's training flag is restored,
    so BatchNorm statistics and Dropout masks of the training loop are untouched."""
    calls: list = []
    modes = [(m, m.training) for m in model.modules()]
    handles = [m.register_forward_hook(lambda mod, args, out: calls.append((mod, out)))
               for m in modules]
    try:
        model.eval()
        with grad_mode.no_grad():
            out = model(x)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.training = mode
    return out, calls


def discover(model, sample: Tensor, in_features: int | None, max_units: int) -> Structure:
    """Find the layers of ``model`` and how to draw them, from one call on ``sample``."""
    named = {id(m): name for name, m in model.named_modules()}
    _, calls = run_with_hooks(model, sample, [m for m in model.modules() if m is not model])
    notes: list[str] = []

    layers: dict[int, Layer] = {}
    for m, _ in calls:
        if _own_params(m):
            layer = layers.get(id(m))
            if layer is None:
                layer = layers[id(m)] = Layer(named[id(m)] or "(model)", m, _own_params(m))
            layer.calls += 1
    if _own_params(model):
        layers[id(model)] = Layer("(model)", model, _own_params(model), 1)
    for name, m in model.named_modules():
        if _own_params(m) and id(m) not in layers:
            layers[id(m)] = Layer(name or "(model)", m, _own_params(m))
            notes.append(f"{name or 'the model'} ({type(m).__name__}) was not called in a "
                         "forward pass; its parameters are summarised only")
    ordered = list(layers.values())
    for layer in ordered:
        if not isinstance(layer.module, KNOWN):
            notes.append(f"{layer.name}: a custom {layer.kind}; its parameters "
                         f"({', '.join(layer.params)}) are drawn as histograms and gradient "
                         "norms, not as neurons")
        if layer.calls > 1:
            notes.append(f"{layer.name} ({layer.kind}) runs {layer.calls} times per forward "
                         "pass; drawn once")

    chain, taps, acts = _chain(model, calls, ordered, in_features, notes)
    widths = [in_features] + [m.out_features for m in chain] if chain else []
    if chain:
        wide = [f"{layers[id(m)].name} ({w} units)" for m, w in zip(chain, widths[1:])
                if w > max_units]
        if in_features > max_units:
            wide.insert(0, f"the input ({in_features} features)")
        if wide:
            notes.append(f"more than {max_units} units, drawn as a summary (weight histogram, "
                         f"mean |w|) instead of neuron by neuron: {', '.join(wide)}")
        chain = [layers[id(m)] for m in chain]
    last = calls[-1][0] if calls else None
    probability = isinstance(last, (nn.Sigmoid, nn.Softmax))
    return Structure(ordered, chain, widths, taps, acts, probability, notes)


def _chain(model, calls, ordered, in_features, notes):
    """The Linear layers as a chain (each called once, widths matching) with a Tap each,
    or (None, [], []) with a note saying why not."""
    linears = [m for m, _ in calls if isinstance(m, nn.Linear)]
    owners = [m for m, _ in calls if _own_params(m)]
    if in_features is None:
        notes.append("the inputs are not flat feature vectors: layers are drawn as summaries, "
                     "not neuron by neuron")
        return None, [], []
    if not linears or len(set(map(id, owners))) != len(set(map(id, linears))) \
            or _own_params(model):
        others = sorted({layer.kind for layer in ordered if layer.kind != "Linear"})
        notes.append("not a chain of Linear layers"
                     + (f" ({', '.join(others)} found)" if others else "")
                     + ": layers are drawn as summaries, not neuron by neuron")
        return None, [], []
    if len(linears) != len(set(map(id, linears))):
        notes.append("a Linear layer runs more than once per forward pass: layers are drawn "
                     "as summaries, not neuron by neuron")
        return None, [], []
    width = in_features
    for m in linears:
        if m.in_features != width:
            notes.append(f"the Linear layers do not form one chain ({m.in_features} inputs "
                         f"after {width} units): layers are drawn as summaries")
            return None, [], []
        width = m.out_features
    position = {id(m): i for i, (m, _) in enumerate(calls)}
    count: dict[int, int] = {}
    numbered = []
    for m, o in calls:
        numbered.append((m, count.get(id(m), 0), o))
        count[id(m)] = count.get(id(m), 0) + 1
    rows = _shape(calls[position[id(linears[0])]][1])[0]
    taps, acts = [], []
    for i, lin in enumerate(linears):
        start = position[id(lin)]
        stop = position[id(linears[i + 1])] if i + 1 < len(linears) else len(calls)
        want = (rows, lin.out_features)
        tap, label, last = Tap(lin, 0, "Linear"), "none", None
        # the last output of this layer's shape before the next layer runs is what feeds
        # it: an activation, or a block around it (Residual: x + f(x)); a container that
        # only passes its last child's output on keeps the child's name
        for m, k, o in numbered[start + 1:stop]:
            if _shape(o) == want and o is not last:
                tap, label, last = Tap(m, k, type(m).__name__), type(m).__name__, o
        if label == "none" and i + 1 < len(linears):
            notes.append(f"no activation module after the Linear layer of column {i + 1}: "
                         "its maps show the Linear layer's output (pre-activation)")
        taps.append(tap)
        acts.append(label)
    skips = sorted({name or "the model" for name, m in model.named_modules()
                    if isinstance(m, (nn.Residual, nn.ResidualBlock))})
    if skips:
        notes.append(f"skip connections ({', '.join(skips)}) are not drawn as edges; the "
                     "maps show the blocks' outputs, x + f(x)")
    return linears, taps, acts
