"""Functional forms of the layers, activations and losses: ``F.relu(x)``, ``F.conv2d(x, w)``.

Each file below exports its public names through ``__all__``.
"""
from .activation import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from ...ops.shape import one_hot  # noqa: F401,E402  (PyTorch's F.one_hot)
