"""Tools to verify gradients: finite-difference checks and Hypothesis strategies.

The project's own tests use them; use them for your own operations and models.
"""
from .gradcheck import GradcheckError, analytic_jacobian, gradcheck, gradgradcheck, numerical_jacobian

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "analytic_jacobian",
           "numerical_jacobian", "strategies"]


def __getattr__(name):
    # Hypothesis is a test dependency: import the strategies only when asked for.
    if name == "strategies":
        import importlib
        return importlib.import_module(__name__ + ".strategies")
    raise AttributeError(f"module 'microgradnn.testing' has no attribute {name!r}")
