"""Watch a model learn: ``view = watch(model, inputs=X, targets=y)``, ``view.record(loss)``
in the training loop, then ``view.save("training.html")`` (or let Jupyter display it).

The page shows, frame by frame, the network (neurons, weights and biases; per-layer
summaries for wide layers), each neuron's activation over the input plane and the decision
surface for 2-D inputs, the first layer's filters for images, the loss and accuracy curves
and each layer's gradient norm. ``read_view`` decodes a saved page.
"""
from .encode import read_view
from .recorder import Frame, Watch, watch

__all__ = ["watch", "Watch", "Frame", "read_view"]
