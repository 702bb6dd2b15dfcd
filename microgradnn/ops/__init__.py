"""Differentiable operations, one file per family; each primitive is a ``Function``."""
from .functional import (abs, add, clamp, clip, cos, div, exp, heaviside, leaky_relu, log,
                         maximum, minimum, mul, neg, pow, relu, sigmoid, sin, sqrt, sub, tanh,
                         where)
from .linalg import matmul
from .special import erf
from .reduce import (log_softmax, logsumexp, max, mean, min, softmax, std, sum, sum_to, var)
from .shape import (broadcast_to, cat, chunk, concatenate, expand, flatten, pad, permute,
                    reshape, split, squeeze, stack, swapaxes, transpose, unsqueeze)

__all__ = [
    "abs", "add", "clamp", "clip", "cos", "div", "exp", "heaviside", "leaky_relu", "log",
    "maximum", "minimum", "mul", "neg", "pow", "relu", "sigmoid", "sin", "sqrt", "sub", "tanh",
    "where", "erf", "matmul", "log_softmax", "logsumexp", "max", "mean", "min", "softmax", "std",
    "sum", "sum_to", "var", "broadcast_to", "cat", "chunk", "concatenate", "expand", "flatten",
    "pad", "permute", "reshape", "split", "squeeze", "stack", "swapaxes", "transpose",
    "unsqueeze",
]
