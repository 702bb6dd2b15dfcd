"""Sphinx configuration for the microgradnn docs: MyST Markdown pages, the furo theme."""
import configparser
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# autodoc imports the source tree, so the docs build also without an installed package;
# the notebooks' kernels (child processes) find it through PYTHONPATH.
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])

# One place for the version number: setup.cfg.
_setup_cfg = configparser.ConfigParser(interpolation=None)
_setup_cfg.read(ROOT / "setup.cfg")

project = "microgradnn"
author = "the microgradnn authors"
copyright = f"2026, {author}"
release = _setup_cfg["metadata"]["version"]
version = ".".join(release.split(".")[:2])

# myst_nb reads MyST Markdown (it brings myst_parser) and runs the notebooks in
# docs/notebooks/ at every build. "sphinx-mathjax-offline" ships MathJax 3 in its
# package and copies it into the built site, so formulas render without a network:
# the docs build and read offline, here and in CI (LaTeX for imgmath is not installed).
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "myst_nb",
    "sphinx-mathjax-offline",
]

source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]

# Notebooks: executed on every build (they take seconds), a failing cell fails the build.
nb_execution_mode = "force"
nb_execution_timeout = 120
nb_execution_raise_on_error = True
nb_execution_show_tb = True

# Members are off unless a directive asks for them (autodoc's default). They are not set
# to False here on purpose: autodoc lets a non-string default override a directive's own
# `:members:`, and reads `"undoc-members": False` as a flag that is on.
autodoc_default_options = {"show-inheritance": True}
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = True
napoleon_numpy_docstring = True
nitpicky = False

# $...$ and $$...$$ for the derivative formulas; anchors so that [text](#heading) links resolve.
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"microgradnn {release}"
