"""Differentiable operations, one file per family; each primitive is a ``Function``."""
from .elementwise_fns import (abs, add, clamp, clip, cos, div, exp, heaviside, leaky_relu,
                              log, maximum, minimum, mul, neg, pow, relu, sigmoid, sin, sqrt,
                              sub, tanh, where, masked_fill)
from .linalg import bmm, einsum, matmul, mm
from .special import erf
from .reduce import (amax, amin, argmax, argmin, cumsum, log_softmax, logsumexp, max, mean,
                     min, norm, prod, softmax, std, sum, sum_to, var)
from .shape import (broadcast_to, cat, chunk, concatenate, expand, flatten, pad, permute,
                    reshape, split, squeeze, stack, swapaxes, transpose, unbind, unsqueeze,
                    flip, gather, one_hot, roll, sort, topk)

__all__ = [
    "abs", "add", "clamp", "clip", "cos", "div", "exp", "heaviside", "leaky_relu", "log",
    "maximum", "minimum", "mul", "neg", "pow", "relu", "sigmoid", "sin", "sqrt", "sub", "tanh",
    "where", "erf", "matmul", "log_softmax", "logsumexp", "max", "mean", "min", "softmax", "std",
    "sum", "sum_to", "var", "broadcast_to", "cat", "chunk", "concatenate", "expand", "flatten",
    "pad", "permute", "reshape", "split", "squeeze", "stack", "swapaxes", "transpose",
    "unsqueeze",
    # PyTorch's names (issue 7)
    "masked_fill", "bmm", "mm", "amax", "amin", "argmax", "argmin", "unbind", "einsum",
    "cumsum", "norm", "prod", "flip", "gather", "one_hot", "roll", "sort", "topk",
]
