"""microgradnn: a reverse-mode automatic-differentiation engine on NumPy, with a neural
network library, property-based gradient checks and Graphviz pictures of the graph.

>>> import microgradnn as mg
>>> x = mg.tensor(2.0, requires_grad=True)
>>> y = x * x + 3 * x
>>> y.backward()
>>> x.grad
tensor(7.)
"""
from .tensor import Size, Tensor, tensor
from .dtypes import (bool_, float16, float32, float64, get_default_dtype, int8, int16, int32,
                     int64, set_default_dtype, uint8)
from .creation import (arange, as_tensor, eye, from_numpy, full, linspace, manual_seed, ones,
                       ones_like, rand, randn, zeros, zeros_like)
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from . import autograd
from .serialization import CheckpointError, load, save
from .dlpack import from_dlpack
from . import data, func, nn, optim, testing, utils, viz
from . import accelerator, cuda, dtypes
from .device import device, get_default_device, set_default_device
from .dtypes import bool, cdouble, cfloat, double, float, half, int, long, short
from .ops import *  # noqa: F401,F403  (the operations as functions: mg.exp, mg.matmul, ...)
from .ops import __all__ as _ops_all

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "bool_", "float16", "float32", "float64", "int8", "int16", "int32",
    "int64", "uint8", "get_default_dtype", "set_default_dtype", "arange", "eye", "full",
    "linspace", "manual_seed", "ones", "ones_like", "rand", "randn", "zeros", "zeros_like",
    "enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled", "autograd",
    "save", "load", "CheckpointError", "from_dlpack", "data", "func", "nn", "optim", "testing", "utils", "viz",
    # PyTorch's names (issue 7)
    "Size", "as_tensor", "from_numpy", "accelerator", "cuda", "dtypes", "device", "get_default_device",
    "set_default_device", "cdouble", "cfloat", "double", "half", "long", "short",
] + list(_ops_all)  # mg.bool, mg.float and mg.int exist but stay out of __all__: `import *` must not shadow builtins
