"""Tools to verify gradients: finite-difference checks of functions and whole modules,
the search for the faulty node of a graph, mutation testing of backward code, and
Hypothesis strategies.

The project's own tests use them; use them for your own operations and models.
"""
from .gradcheck import GradcheckError, analytic_jacobian, gradcheck, gradgradcheck, numerical_jacobian
from .locate import NodeFailure, locate
from .module_check import gradcheck_module

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "gradcheck_module", "locate",
           "NodeFailure",
           "analytic_jacobian", "numerical_jacobian", "strategies"]


def __getattr__(name):
    # Hypothesis is a test dependency: import the strategies only when asked for.
    if name == "strategies":
        import importlib
        return importlib.import_module(__name__ + ".strategies")
    raise AttributeError(f"module 'microgradnn.testing' has no attribute {name!r}")
