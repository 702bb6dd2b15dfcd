"""Neural-network modules, layers, losses and initialisers, with PyTorch's names and shapes.

Each file below exports its public names through ``__all__``.
"""
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential
from .layers import *  # noqa: F401,F403  Linear, Identity, Flatten, Dropout, Embedding
from .activation import *  # noqa: F401,F403  Step, Sigmoid, Tanh, ReLU, ...
from .normalization import *  # noqa: F401,F403  BatchNorm1d/2d, LayerNorm
from .loss import *  # noqa: F401,F403  MSELoss, CrossEntropyLoss, ...
from .conv import *  # noqa: F401,F403  Conv1d, Conv2d
from .pooling import *  # noqa: F401,F403  MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool2d
from .residual import *  # noqa: F401,F403  ResidualBlock, Residual
from .rnn import *  # noqa: F401,F403  RNNCell, LSTMCell, GRUCell, RNN, LSTM
from .attention import *  # noqa: F401,F403  MultiheadAttention
from .summary import Summary, summary
from . import functional, init, utils
