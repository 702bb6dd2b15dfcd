"""Filters, convolution and pooling, worked through as in the lecture with ``F.conv2d``.

1. A 5×5 image with an X on both diagonals, filtered by three 3×3 kernels (main diagonal,
   anti-diagonal, an X): each output pixel is the sum of the elementwise products of the
   kernel with the window under it (deep learning's "convolution" is cross-correlation:
   the kernel is not flipped). The maps are [[3,0,1],[0,3,0],[1,0,3]],
   [[1,0,3],[0,3,0],[3,0,1]] and [[3,0,3],[0,5,0],[3,0,3]].
2. Max pooling 2×2 with stride 2 of the 4×4 map 0..15: [[5,7],[13,15]].
3. Classic image filters, identity, Gaussian blur (σ = 2) and Laplacian edge detection,
   applied to an 8×8 handwritten digit (scikit-learn's digits; a built-in digit without
   it), printed as ASCII shades.
4. The lecture's question: a 100-pixel image into a dense layer of 10 nodes has 1,010
   parameters; a 3×3 convolution with 10 maps has 100 (weights shared across positions).

It writes demos/out/conv_filters.svg with the images, kernels and feature maps as grids.

    python demos/conv_filters.py
    python demos/conv_filters.py --digit 3 --out /tmp/pics
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the demos' _figures.py

import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402
from microgradnn.nn import functional as F  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
SHADES = " .:-=+*#%@"

X_IMAGE = np.maximum(np.eye(5), np.fliplr(np.eye(5))).astype(np.float32)
KERNELS = {
    "diagonal": np.eye(3, dtype=np.float32),
    "anti-diagonal": np.fliplr(np.eye(3)).astype(np.float32),
    "X": np.maximum(np.eye(3), np.fliplr(np.eye(3))).astype(np.float32),
}
EXPECTED = {
    "diagonal": [[3, 0, 1], [0, 3, 0], [1, 0, 3]],
    "anti-diagonal": [[1, 0, 3], [0, 3, 0], [3, 0, 1]],
    "X": [[3, 0, 3], [0, 5, 0], [3, 0, 3]],
}
# a hand-drawn 8×8 "3" (pixel values 0..16 like the digits data), used without scikit-learn
THREE = np.array([[0, 4, 14, 16, 15, 6, 0, 0], [0, 10, 9, 2, 9, 14, 0, 0],
                  [0, 0, 0, 0, 10, 12, 0, 0], [0, 0, 5, 14, 16, 5, 0, 0],
                  [0, 0, 2, 8, 13, 14, 2, 0], [0, 0, 0, 0, 2, 15, 8, 0],
                  [0, 9, 6, 3, 10, 16, 5, 0], [0, 5, 14, 16, 13, 5, 0, 0]], dtype=np.float32)


def gaussian_kernel(size: int = 5, sigma: float = 2.0) -> np.ndarray:
    """A size×size Gaussian exp(-(i² + j²) / 2σ²), normalised to sum 1 (a weighted mean)."""
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma ** 2))
    return (g / g.sum()).astype(np.float32)


FILTERS = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32),
    "blur σ=2": gaussian_kernel(5, 2.0),
    "Laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32),
}


def conv(image: np.ndarray, kernel: np.ndarray, padding: int = 0) -> np.ndarray:
    """One image (H, W) and one kernel (k, k) through F.conv2d, which wants (N, C, H, W)
    input and (out_channels, in_channels, k, k) weights."""
    x = mg.tensor(image[None, None])
    w = mg.tensor(kernel[None, None])
    return F.conv2d(x, w, padding=padding).data[0, 0]


def ascii_rows(image: np.ndarray, lo: float | None = None, hi: float | None = None) -> list[str]:
    """An image as rows of shade characters, two per pixel (pixels are about square)."""
    lo = image.min() if lo is None else lo
    hi = image.max() if hi is None else hi
    scaled = np.zeros_like(image) if hi == lo else (image - lo) / (hi - lo)
    idx = np.clip((scaled * (len(SHADES) - 1)).round().astype(int), 0, len(SHADES) - 1)
    return ["".join(SHADES[i] * 2 for i in row) for row in idx]


def side_by_side(images: dict[str, np.ndarray], gap: int = 4) -> None:
    blocks = {name: ascii_rows(img) for name, img in images.items()}
    width = max(len(b[0]) for b in blocks.values())
    print("   " + (" " * gap).join(f"{name:<{width}s}" for name in blocks))
    for row in zip(*blocks.values()):
        print("   " + (" " * gap).join(f"{r:<{width}s}" for r in row))


def worked_example() -> dict[str, np.ndarray]:
    print("1. The 5×5 X image and three 3×3 kernels (F.conv2d, stride 1, no padding)")
    print("   image:")
    for row in X_IMAGE.astype(int):
        print("     " + " ".join(map(str, row)))
    maps = {}
    for name, kernel in KERNELS.items():
        out = conv(X_IMAGE, kernel)
        maps[name] = out
        ok = "as in the lecture" if np.array_equal(out, EXPECTED[name]) else "UNEXPECTED"
        print(f"   {name} kernel {kernel.astype(int).tolist()} -> {out.astype(int).tolist()}"
              f"  ({ok})")
    window = X_IMAGE[:3, :3]
    print(f"   one window, the top-left 3×3 {window.astype(int).tolist()}: "
          f"sum(window * diagonal) = {int((window * KERNELS['diagonal']).sum())}, "
          f"sum(window * anti-diagonal) = {int((window * KERNELS['anti-diagonal']).sum())}")
    return maps


def pooling() -> np.ndarray:
    x = mg.arange(16, dtype=mg.float32).reshape(1, 1, 4, 4)
    pooled = F.max_pool2d(x, kernel_size=2, stride=2).data[0, 0]
    print("\n2. Max pooling 2×2, stride 2 (F.max_pool2d)")
    grid = x.data[0, 0].astype(int)
    for i in range(4):
        left = " ".join(f"{v:2d}" for v in grid[i])
        right = " ".join(f"{v:2d}" for v in pooled.astype(int)[i]) if i < 2 else ""
        print(f"   {left}   {'->' if i == 0 else '  '}   {right}")
    return pooled


def load_image(index: int) -> tuple[np.ndarray, str]:
    try:
        from microgradnn.data import load_digits
        images, labels = load_digits()
    except ImportError:
        return THREE, "a hand-drawn 3 (install scikit-learn for the digits data set)"
    return images[index].reshape(8, 8), f"digit #{index} of the 8×8 digits (a {labels[index]})"


def filters(index: int) -> dict[str, np.ndarray]:
    image, what = load_image(index)
    print(f"\n3. Filters on {what}, padded to keep 8×8")
    for name, k in FILTERS.items():
        rows = np.array2string(k, precision=3, suppress_small=True, prefix=" " * 17)
        print(f"   {name:<12s}  {rows}")
    results = {name: conv(image, k, padding=k.shape[0] // 2) for name, k in FILTERS.items()}
    print()
    shown = dict(results)
    shown["|Laplacian|"] = np.abs(shown.pop("Laplacian"))   # edge strength, either sign
    side_by_side(shown)
    same = np.abs(results["identity"] - image).max()
    print(f"   identity: the image itself (max difference {same:g}); blur: each pixel a "
          "weighted mean of its 5×5 neighbourhood;")
    print("   Laplacian: 4·pixel minus its 4 neighbours: 0 where the image is flat, large at "
          "the strokes' edges")
    results["image"] = image
    return results


def parameter_counts() -> tuple[int, int]:
    print("\n4. A 100-pixel (10×10) image: a dense layer of 10 nodes or a 3×3 convolution "
          "with 10 maps?")
    dense = nn.summary(nn.Sequential(nn.Flatten(), nn.Linear(100, 10)), (1, 1, 10, 10))
    convo = nn.summary(nn.Sequential(nn.Conv2d(1, 10, kernel_size=3)), (1, 1, 10, 10))
    print(dense)
    print(convo)
    print(f"   dense: 100·10 weights + 10 biases = {dense.total_params:,};  "
          f"conv: 10 maps × (3·3 weights + 1 bias) = {convo.total_params:,} "
          "(the same 3×3 weights at every position)")
    return dense.total_params, convo.total_params


def svg_grids(rows: list[list[tuple[str, np.ndarray]]], path: Path, cell: int = 14) -> None:
    """Rows of labelled grids; grey for non-negative arrays, blue/red for signed ones."""
    gap, top = 24, 18
    heights = [max(a.shape[0] for _, a in r) * cell + top + gap for r in rows]
    slot = lambda title, a: max(a.shape[1] * cell, 7 * len(title))   # noqa: E731
    width = max(sum(slot(t, a) + gap for t, a in r) for r in rows) + gap
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{sum(heights)}" '
           'font-family="Helvetica" font-size="11">',
           '<rect width="100%" height="100%" fill="white"/>']
    y0 = 0
    for r, h in zip(rows, heights):
        x0 = gap
        for title, a in r:
            out.append(f'<text x="{x0}" y="{y0 + 13}">{title}</text>')
            m = float(np.abs(a).max()) or 1.0
            for (i, j), v in np.ndenumerate(a):
                if a.min() < 0:   # signed: red positive, blue negative
                    s = int(255 * (1 - abs(v) / m))
                    colour = f"rgb(255,{s},{s})" if v > 0 else f"rgb({s},{s},255)"
                else:             # dark = large, like ink on paper
                    s = int(255 * (1 - v / m))
                    colour = f"rgb({s},{s},{s})"
                out.append(f'<rect x="{x0 + j * cell}" y="{y0 + top + i * cell}" '
                           f'width="{cell}" height="{cell}" fill="{colour}" stroke="#ddd"/>')
            x0 += slot(title, a) + gap
        y0 += h
    out.append("</svg>")
    path.write_text("\n".join(out), encoding="utf-8")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--digit", type=int, default=0, help="which of the 1797 digits to filter")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for conv_filters.svg")
    args = ap.parse_args(argv)
    mg.manual_seed(0)   # for the layers nn.summary builds (their random initial weights)

    maps = worked_example()
    pooled = pooling()
    filtered = filters(args.digit)
    dense, convo = parameter_counts()

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "conv_filters.svg"
    rows = [[("X image", X_IMAGE)] + [(f"{n} kernel", k) for n, k in KERNELS.items()]
            + [(f"{n} map", m) for n, m in maps.items()],
            [("0..15", np.arange(16.0).reshape(4, 4)), ("max pool 2×2", pooled)],
            [("digit", filtered["image"])] + [(n, filtered[n]) for n in FILTERS]]
    svg_grids(rows, path)
    print(f"\nwrote {path}")
    import _figures
    files = [
        _figures.number_grids([("X image", X_IMAGE)] + [(f"{n} kernel", k) for n, k in
                                                       KERNELS.items()],
                              args.out / "conv_filters_inputs.png",
                              "The 5×5 X image and the three 3×3 kernels"),
        _figures.number_grids([(f"{n} feature map", m) for n, m in maps.items()],
                              args.out / "conv_filters_maps.png",
                              "Convolution (stride 1, no padding): one number per window"),
        _figures.number_grids([("input 0..15", np.arange(16.0).reshape(4, 4)),
                               ("max pool 2×2, stride 2", pooled)],
                              args.out / "conv_filters_pooling.png",
                              "Max pooling keeps the largest number of each 2×2 block"),
    ]
    return {"maps": maps, "pooled": pooled, "filtered": filtered,
            "params": {"dense": dense, "conv": convo},
            "files": [path] + [f for f in files if f is not None]}


if __name__ == "__main__":
    main()
