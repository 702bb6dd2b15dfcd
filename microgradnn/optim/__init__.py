"""Optimizers with PyTorch's update rules, state dicts and learning-rate schedules.

>>> import microgradnn as mg
>>> from microgradnn import optim
>>> w = mg.nn.Parameter(mg.tensor([1.0, -2.0]))
>>> opt = optim.SGD([w], lr=0.25)
>>> for _ in range(2):
...     opt.zero_grad()
...     (w * w).sum().backward()
...     opt.step()
>>> w
Parameter containing:
tensor([ 0.25, -0.5 ], requires_grad=True)
"""
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW
from .rmsprop import RMSprop
from .adagrad import Adagrad
from .lbfgs import LBFGS
from .adadelta import Adadelta
from .nadam import NAdam
from . import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LBFGS", "Adadelta", "NAdam",
           "lr_scheduler"]
