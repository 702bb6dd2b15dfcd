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


def confusion_heatmap(m, path: Path, title: str) -> Path | None:
    """A confusion matrix as a heat map with the count in every cell."""
    if no_matplotlib(Path(path).name):
        return None
    import numpy as np
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    im = ax.imshow(m, cmap="Blues")
    n = len(m)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(int(m[i, j])), ha="center", va="center", fontsize=8,
                    color="white" if m[i, j] > m.max() / 2 else "#222222")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    acc = np.trace(m) / max(m.sum(), 1)
    ax.set_title(f"{title} (accuracy {acc:.3f})")
    fig.colorbar(im, ax=ax, label="test images")
    return save(fig, path)


def image_row(images, captions, path: Path, title: str, *, cmap: str = "gray_r",
              rows: int = 1, vmin=None, vmax=None) -> Path | None:
    """Small images side by side (in ``rows`` rows), each with a caption."""
    if no_matplotlib(Path(path).name):
        return None
    plt = pyplot()
    cols = max(1, -(-len(images) // rows))
    fig, axes = plt.subplots(rows, cols, figsize=(1.5 * cols, 1.75 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, cap in zip(axes.flat, images, captions):
        ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_title(cap, fontsize=8)
    fig.suptitle(title)
    return save(fig, path)


def number_grids(panels, path: Path, title: str) -> Path | None:
    """Grids with their numbers written in the cells (a lecture's worked example) and a
    colour key; ``panels`` are (caption, 2-d array) pairs drawn left to right."""
    if no_matplotlib(Path(path).name):
        return None
    import numpy as np
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(2.3 * len(panels), 2.9), squeeze=False)
    lo = min(float(np.min(a)) for _, a in panels)
    hi = max(float(np.max(a)) for _, a in panels)
    for ax, (cap, a) in zip(axes.flat, panels):
        a = np.asarray(a, dtype=float)
        im = ax.imshow(a, cmap="coolwarm", vmin=min(lo, -hi), vmax=max(hi, -lo))
        for (i, j), v in np.ndenumerate(a):
            ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(cap, fontsize=9)
    fig.colorbar(im, ax=list(axes.flat), shrink=0.8, label="value")
    fig.suptitle(title)
    return save(fig, path)


def half_planes(lines: dict, points, labels, path: Path, title: str) -> Path | None:
    """Decision half-planes w·x + b > 0 of perceptrons (name -> (w, b)), with the four
    XOR points (filled: XOR = 1): each gate is one line, XOR would need two."""
    if no_matplotlib(Path(path).name):
        return None
    import numpy as np
    plt = pyplot()
    fig, axes = plt.subplots(1, len(lines), figsize=(3.9 * len(lines), 3.6), squeeze=False)
    fig.subplots_adjust(wspace=0.35)
    g = np.linspace(-0.5, 1.5, 201)
    gx, gy = np.meshgrid(g, g)
    for ax, (name, (w, b)) in zip(axes.flat, lines.items()):
        ax.contourf(gx, gy, (w[0] * gx + w[1] * gy + b > 0).astype(float), levels=[-0.5, 0.5, 1.5],
                    colors=["#f2f2f2", "#cfe2f3"])
        ax.contour(gx, gy, w[0] * gx + w[1] * gy + b, levels=[0], colors="#3b6ea5")
        for (x1, x2), t in zip(points, labels):
            ax.scatter([x1], [x2], s=120, edgecolors="#222222",
                       facecolors="#d62728" if t else "white", zorder=3)
        ax.set_title(f"{name}: shaded where w·x + b > 0", fontsize=9)
        ax.set_xlim(-0.5, 1.5)
        ax.set_ylim(-0.5, 1.5)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        ax.set_aspect("equal")
    fig.suptitle(title)
    return save(fig, path)
