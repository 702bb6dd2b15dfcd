"""Figures for the demos: matplotlib (Agg, no window), PNG files under the demo's --out.

``pyplot()`` is None when matplotlib is missing (the ``demos`` extra has it); each demo
then says in one line which figures it skipped and carries on.
"""
from __future__ import annotations

import shutil
from pathlib import Path


def pyplot():
    """matplotlib.pyplot with the file-only Agg backend, or None if not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def skipped(what: str, why: str) -> None:
    """The one line a demo prints for pictures it cannot make here."""
    print(f"skipped {what}: {why}")


def no_matplotlib(what: str) -> bool:
    """True (and says so) when matplotlib is missing."""
    if pyplot() is None:
        skipped(what, "matplotlib is not installed (pip install microgradnn[demos])")
        return True
    return False


def have_dot(what: str) -> bool:
    """True when Graphviz's ``dot`` can render; otherwise says in one line what is skipped."""
    if shutil.which("dot") is None:
        skipped(what, "Graphviz's `dot` is not installed (sudo apt-get install graphviz, "
                      "brew install graphviz)")
        return False
    return True


def save(fig, path: Path) -> Path:
    """Write a figure as PNG (small: 100 dpi) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    pyplot().close(fig)
    print(f"  wrote {path}")
    return path


def loss_curve(losses, path: Path, title: str, *, xlabel: str = "step",
               extra: dict | None = None, log: bool = True) -> Path | None:
    """The training loss (and any ``extra`` curves, name -> values) against the step."""
    if no_matplotlib(f"the loss curve {Path(path).name}"):
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(range(1, len(losses) + 1), losses, label="training loss", color="#3b6ea5")
    for name, values in (extra or {}).items():
        ax.plot(range(1, len(values) + 1), values, label=name)
    if log and min(losses) > 0:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if extra:
        ax.legend()
    return save(fig, path)
